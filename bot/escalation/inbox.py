"""The officer inbox: client messages a person must read (issue 11).

A message outside a flow, a misfit answer that is words rather than a typo, and a photo, voice
note or sticker are filed here: `inbound.inbox` says why, `inbox_staff_id` who will read it
(the escalation routing: the assigned officer, or the duty officer / a supervisor when they are
unavailable), `read_at` when someone did. The reader is told at once in working hours, or by a
morning digest at the next opening (config/escalation.toml [working_hours]). The client's reply
says who will read it and when, and outside working hours carries the emergency line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.outbox import PRIORITY_ESCALATION, enqueue
from bot.core.texts import render
from bot.escalation.alerts import people_for, staff_identity
from bot.escalation.rules import in_working_hours, load_config, next_opening, targets_at

# "reschedule": the RESCHEDULE keyword; its notice links to the move form (issue 16).
WHY = ("outside_flow", "misfit", "media", "edited", "reschedule")
# One notice per client and reader within this window: a burst of texts is one nudge.
NOTICE_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class Filed:
    staff_id: int
    reader_first_name: str
    now_open: bool  # working hours: they are told now
    read_when: str  # "today", "after 08:00 tomorrow", "on Monday after 08:00"


def _when(now: datetime, opening: datetime, tz: ZoneInfo) -> str:
    local, at = now.astimezone(tz), opening.astimezone(tz)
    if at <= now:
        return render("inbox.when_today")
    days = (at.date() - local.date()).days
    key = {0: "inbox.when_later_today", 1: "inbox.when_tomorrow"}.get(days, "inbox.when_day")
    return render(key, {"time": at.strftime("%H:%M"), "day": at.strftime("%A")})


async def file(tx: Tx, now: datetime, inbound_id: int, client_id: int, why: str,
               appointment: tuple[int, str, str] | None = None) -> Filed:
    """Put inbound `inbound_id` in the inbox and tell its reader (now, or in the morning).
    `appointment` (id, local day YYYY-MM-DD, when): a RESCHEDULE request about it."""
    if why not in WHY:
        raise ValueError(f"why: {why!r} must be one of {WHY}")
    people = await people_for(tx, now, client_id)
    _, targets = targets_at(0, "AMBER", people, set())
    reader = targets[0]
    await tx.execute("UPDATE inbound SET inbox = ?, inbox_staff_id = ? WHERE id = ?",
                     (why, reader, inbound_id))
    cfg = load_config()
    tz = ZoneInfo(tx.settings.timezone)
    opening = next_opening(now, cfg.working_hours, tz)
    open_now = in_working_hours(now, cfg.working_hours, tz)
    if open_now:
        await _notice(tx, now, inbound_id, client_id, reader, appointment)
    else:
        await timers.schedule(tx, now, f"inbox_digest:{reader}", "inbox_digest", opening,
                              payload={"staff": reader}, replace=False)
    name = await tx.value("SELECT name FROM staff WHERE id = ?", (reader,))
    await audit(tx, now, "system", "inbox.filed", "inbound", inbound_id, why=why,
                staff_id=reader)
    return Filed(reader, str(name).split()[0], open_now, _when(now, opening, tz))


async def _notice(tx: Tx, now: datetime, inbound_id: int, client_id: int, staff_id: int,
                  appointment: tuple[int, str, str] | None = None) -> None:
    if appointment is not None:
        await _reschedule_notice(tx, now, inbound_id, client_id, staff_id, appointment)
        return
    recent = await tx.value(
        "SELECT 1 FROM inbound WHERE client_id = ? AND inbox_staff_id = ? AND id <> ?"
        " AND read_at IS NULL AND received_at > ? LIMIT 1",
        (client_id, staff_id, inbound_id, iso(now - NOTICE_GAP)))
    if recent:
        return
    chat, sms = await staff_identity(tx, staff_id)
    ident = chat or sms
    if ident is None:
        return  # the panel's unread count still shows it
    client = await tx.one("SELECT ref, first_name FROM clients WHERE id = ?", (client_id,))
    await enqueue(tx, now, ident, render("inbox.notice", {
        "ref": client["ref"], "first_name": client["first_name"],
        "url": _url(tx, client_id)}), message_key="inbox.notice", safety=True,
        priority=PRIORITY_ESCALATION, cause=f"inbox:{inbound_id}")


async def _reschedule_notice(tx: Tx, now: datetime, inbound_id: int, client_id: int,
                             staff_id: int, appointment: tuple[int, str, str]) -> None:
    """One tap from the notice to the appointment's move form in the calendar."""
    chat, sms = await staff_identity(tx, staff_id)
    ident = chat or sms
    if ident is None:
        return
    appt_id, day, when = appointment
    client = await tx.one("SELECT ref, first_name FROM clients WHERE id = ?", (client_id,))
    base = (tx.settings.public_url or "").rstrip("/")
    await enqueue(tx, now, ident, render("inbox.notice_reschedule", {
        "ref": client["ref"], "first_name": client["first_name"], "when": when,
        "url": f"{base}/admin/calendar?from={day}#move-{appt_id}"}),
        message_key="inbox.notice_reschedule", safety=True, priority=PRIORITY_ESCALATION,
        cause=f"inbox:{inbound_id}")


def _url(tx: Tx, client_id: int) -> str:
    base = (tx.settings.public_url or "").rstrip("/")
    return f"{base}/admin/clients/{client_id}#messages"


@timers.handles("inbox_digest")
async def _digest(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    staff_id = int(timer.payload["staff"])
    rows = await tx.all(
        "SELECT c.ref, c.first_name, COUNT(*) AS n FROM inbound i"
        " JOIN clients c ON c.id = i.client_id WHERE i.inbox_staff_id = ? AND i.inbox IS NOT NULL"
        " AND i.read_at IS NULL GROUP BY c.id ORDER BY MIN(i.id)", (staff_id,))
    if not rows:
        return "nothing unread"
    chat, sms = await staff_identity(tx, staff_id)
    ident = chat or sms
    if ident is None:
        return "no contact; the panel shows them"
    lines = "\n".join(render("inbox.digest_line", {"ref": r["ref"], "first_name": r["first_name"],
                                                   "count": r["n"]}) for r in rows)
    base = (tx.settings.public_url or "").rstrip("/")
    await enqueue(tx, now, ident, render("inbox.digest", {
        "count": sum(r["n"] for r in rows), "lines": lines, "url": f"{base}/admin/inbox"}),
        message_key="inbox.digest", safety=True, priority=PRIORITY_ESCALATION,
        cause=f"inbox_digest:{staff_id}")
    return f"digest of {len(rows)} clients"


async def mark_read(tx: Tx, now: datetime, inbound_id: int, staff_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE inbound SET read_at = ?, read_by = ? WHERE id = ? AND inbox IS NOT NULL"
        " AND read_at IS NULL", (iso(now), staff_id, inbound_id))
    if changed:
        await audit(tx, now, f"staff:{staff_id}", "inbox.read", "inbound", inbound_id)
    return bool(changed)
