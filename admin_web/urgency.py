"""How urgent an open escalation is, in words a duty officer reads at a glance: its deadline
(the `ack:<id>` timer that bot.escalation.alerts keeps), whether it was missed, and what the
client said that raised it. The rule is pure (`urgency`); `add_urgency` does the one read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.clock import parse_iso

# Within this long of its deadline an escalation is "due soon" (shown, and coloured, as such).
DUE_SOON_SECONDS = 15 * 60


@dataclass(frozen=True)
class Urgency:
    state: str  # "overdue" | "due_soon" | "on_time" | "none": a CSS class and a test hook
    words: str  # the same in words: colour is never the only signal


def _span(seconds: float) -> str:
    minutes = max(1, int(seconds // 60))
    hours, mins = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def urgency(status: str, level: int, deadline_at: str | None, deadline_kind: str | None,
            now: datetime, tz: str) -> Urgency:
    """`level` > 0 means an acknowledgement deadline has already passed at least once (the alert
    went on to the next person in line): overdue, whatever the next deadline says."""
    if status == "resolved" or deadline_at is None:
        return Urgency("none", "")
    due = parse_iso(deadline_at)
    when = due.astimezone(ZoneInfo(tz)).strftime("%H:%M" if abs(
        (due - now).total_seconds()) < 18 * 3600 else "%a %d %b %H:%M")
    waiting_ack = status in ("open", "notified") and deadline_kind != "followup_deadline"
    verb = "acknowledge" if waiting_ack else "resolve or update"
    left = (due - now).total_seconds()
    if left <= 0:
        return Urgency("overdue", f"Overdue by {_span(-left)}: {verb} was due at {when}")
    if waiting_ack and level > 0:
        return Urgency("overdue", "Overdue: not acknowledged in time, passed on to the next in"
                                  f" line; {verb} by {when} ({_span(left)} left)")
    if left <= DUE_SOON_SECONDS:
        return Urgency("due_soon", f"Due soon: {verb} by {when} ({_span(left)} left)")
    return Urgency("on_time", f"{verb.capitalize()} by {when} ({_span(left)} left)")


def version(items: list[dict[str, Any]]) -> str:
    """Changes when an escalation arrives, moves on or changes state: the live queue polls it."""
    basis = ";".join(f"{i['id']}:{i['status']}:{i['level']}:{i['severity']}" for i in items)
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


async def add_urgency(database: Any, items: list[dict[str, Any]], now: datetime,
                      tz: str) -> list[dict[str, Any]]:
    """Each item gains `urgency` and `said` (the client's own words that raised it, if any)."""
    if not items:
        return items
    ids = [i["id"] for i in items]
    marks = ",".join("?" * len(ids))
    deadlines = {r["key"]: r for r in await database.all(
        "SELECT key, due_at, kind FROM timers WHERE key IN (" + marks + ")",
        [f"ack:{i}" for i in ids])}
    # The latest words behind each escalation: a message, or a typed answer in a check-in.
    said = {r["escalation_id"]: r["words"] for r in await database.all(
        "SELECT f.escalation_id, COALESCE(i.body, (SELECT a.raw_text FROM answers a"
        "  WHERE a.session_id = f.session_id AND a.raw_text IS NOT NULL AND a.raw_text <> ''"
        "  ORDER BY a.at DESC, a.id DESC LIMIT 1)) AS words"
        " FROM findings f LEFT JOIN inbound i ON i.id = f.inbound_id"
        " WHERE f.id IN (SELECT MAX(id) FROM findings"
        f" WHERE escalation_id IN ({marks}) GROUP BY escalation_id)", ids)}
    for item in items:
        timer = deadlines.get(f"ack:{item['id']}")
        item["urgency"] = urgency(item["status"], item["level"] or 0,
                                  timer["due_at"] if timer else None,
                                  timer["kind"] if timer else None, now, tz)
        item["said"] = said.get(item["id"])
    return items
