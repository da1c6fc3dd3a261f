"""The retention purge: a daily timer that deletes or blanks what is past its period in
config/retention.toml, in batches, idempotently, audited by count.

Each kind is one or more *parts*: an SQL query of the rows it may take, as (id, event_at),
already leaving out anything protected (a client under legal hold or with an open escalation,
an alert of an open escalation, an unmatched crisis still being chased, an unread inbox
message, a message not yet routed or sent), and the statements that purge a batch of ids.
Every statement leaves a row it has done unselectable again (a marker, NULL, or gone), so a
second run, or a crash between batches, repeats nothing. `report` reads the same queries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx
from bot.privacy import erase
from bot.privacy.schedule import OPERATOR_KINDS, Schedule, current

log = logging.getLogger(__name__)

TIMER_KEY = "retention:daily"
TIMER_KIND = "retention_purge"
AGAIN_AFTER = timedelta(minutes=1)   # a full batch: the next one a minute later, not tomorrow

# Clients whose data is never purged: under legal hold, or with an escalation still open.
PROTECTED = ("(SELECT id FROM clients WHERE legal_hold_at IS NOT NULL"
             " UNION SELECT client_id FROM escalations WHERE status <> 'resolved'"
             " AND client_id IS NOT NULL)")
OPEN_ALERT_ROWS = ("(SELECT n.outbox_id FROM escalation_notices n JOIN escalations e"
                   " ON e.id = n.escalation_id WHERE e.status <> 'resolved'"
                   " AND n.outbox_id IS NOT NULL UNION SELECT n.fallback_outbox_id"
                   " FROM escalation_notices n JOIN escalations e ON e.id = n.escalation_id"
                   " WHERE e.status <> 'resolved' AND n.fallback_outbox_id IS NOT NULL)")
OPEN_FINDING_INBOUND = ("(SELECT f.inbound_id FROM findings f JOIN escalations e"
                        " ON e.id = f.escalation_id WHERE e.status <> 'resolved'"
                        " AND f.inbound_id IS NOT NULL)")


def closed_cases(schedule: Schedule) -> str:
    """(cid, closed_at) of clients whose case is closed, not erased and not protected.
    The stages come from the checked schedule (names from people.STAGES), never from input."""
    stages = ", ".join(f"'{s}'" for s in schedule.closed_stages)
    return ("SELECT c.id AS cid, COALESCE((SELECT MAX(h.at) FROM stage_history h"
            " WHERE h.client_id = c.id AND h.to_stage = c.stage), c.created_at) AS closed_at"
            f" FROM clients c WHERE c.stage IN ({stages}) AND c.erased_at IS NULL"
            f" AND c.id NOT IN {PROTECTED}")


@dataclass(frozen=True)
class Part:
    label: str          # what the report calls it
    eligible: str       # SELECT id, event_at ... (protected rows already left out)
    purge: tuple[str, ...]   # statements over {ids}; :now is bound


def parts(kind: str, schedule: Schedule) -> tuple[Part, ...]:
    closed = closed_cases(schedule)
    if kind == "unmatched":
        return (Part(
            "texts from unknown numbers",
            "SELECT i.id, i.received_at AS event_at FROM inbound i WHERE i.status = 'unmatched'"
            " AND i.client_id IS NULL AND i.staff_id IS NULL AND i.purged_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.key = 'unmatched_crisis:' || i.id"
            "                 AND t.status = 'pending')"
            f" AND i.id NOT IN {OPEN_FINDING_INBOUND}"
            # a stranger's crisis is an escalation of its own until someone resolves it
            " AND i.id NOT IN (SELECT e.inbound_id FROM escalations e"
            "                  WHERE e.inbound_id IS NOT NULL AND e.status <> 'resolved')",
            ("UPDATE inbound SET body = '', payload = NULL, address = 'removed',"
             " status = 'ignored', error = 'removed under the retention schedule',"
             " purged_at = :now WHERE id IN ({ids})",)),)
    if kind == "delivery_receipts":
        return (Part(
            "send attempts and receipts",
            "SELECT a.id, a.at AS event_at FROM outbox_attempts a JOIN outbox o"
            " ON o.id = a.outbox_id WHERE o.status NOT IN ('queued', 'sending')"
            f" AND (o.client_id IS NULL OR o.client_id NOT IN {PROTECTED})"
            f" AND o.id NOT IN {OPEN_ALERT_ROWS}",
            ("DELETE FROM outbox_attempts WHERE id IN ({ids})",)),)
    if kind == "message_bodies":
        return (
            Part("text of messages received",
                 "SELECT i.id, i.received_at AS event_at FROM inbound i"
                 " WHERE i.purged_at IS NULL AND i.status IN ('processed', 'ignored')"
                 " AND (i.client_id IS NOT NULL OR i.staff_id IS NOT NULL)"
                 " AND NOT (i.inbox IS NOT NULL AND i.read_at IS NULL)"
                 f" AND (i.client_id IS NULL OR i.client_id NOT IN {PROTECTED})"
                 f" AND i.id NOT IN {OPEN_FINDING_INBOUND}",
                 ("UPDATE inbound SET body = '', payload = NULL, purged_at = :now"
                  " WHERE id IN ({ids})",)),
            Part("text of messages sent",
                 "SELECT o.id, o.created_at AS event_at FROM outbox o WHERE o.purged_at IS NULL"
                 " AND o.status IN ('sent', 'failed', 'cancelled')"
                 f" AND (o.client_id IS NULL OR o.client_id NOT IN {PROTECTED})"
                 f" AND o.id NOT IN {OPEN_ALERT_ROWS}",
                 ("UPDATE outbox SET body = '', reply_markup = NULL, purged_at = :now"
                  " WHERE id IN ({ids})",)),
        )
    if kind == "answers":
        return (
            Part("free-text answers",
                 f"SELECT a.id, cl.closed_at AS event_at FROM answers a JOIN ({closed}) cl"
                 " ON cl.cid = a.client_id WHERE a.raw_text IS NOT NULL",
                 ("UPDATE answers SET raw_text = NULL WHERE id IN ({ids})",)),
            Part("scale item detail",
                 f"SELECT s.id, cl.closed_at AS event_at FROM scores s JOIN ({closed}) cl"
                 " ON cl.cid = s.client_id WHERE s.detail <> '{}'",
                 ("UPDATE scores SET detail = '{}' WHERE id IN ({ids})",)),
        )
    if kind == "notes":
        return (Part(
            "officers' notes",
            f"SELECT n.id, cl.closed_at AS event_at FROM client_notes n JOIN ({closed}) cl"
            " ON cl.cid = n.client_id",
            (_TALLY.format(metric="'note'", day="substr(at, 1, 10)", dim="''",
                           table="client_notes"),
             "DELETE FROM client_notes WHERE id IN ({ids})")),)
    if kind == "escalations":
        return (Part(
            "escalation outcomes and finding detail",
            f"SELECT e.id, cl.closed_at AS event_at FROM escalations e JOIN ({closed}) cl"
            " ON cl.cid = e.client_id WHERE e.status = 'resolved' AND (e.outcome IS NOT NULL"
            " OR e.note IS NOT NULL OR EXISTS (SELECT 1 FROM findings f"
            " WHERE f.escalation_id = e.id AND f.detail IS NOT NULL))",
            ("UPDATE findings SET detail = NULL WHERE escalation_id IN ({ids})",
             "UPDATE escalations SET outcome = NULL, note = NULL WHERE id IN ({ids})")),)
    if kind == "client_records":
        # Purged by erase.erase, one client at a time (see purge_batch).
        return (Part("client records (erased)", f"SELECT cid AS id, closed_at AS event_at"
                     f" FROM ({closed}) AS closed", ()),)
    if kind == "audit_log":
        return (Part(
            "audit entries",
            "SELECT a.id, a.at AS event_at FROM audit_log a WHERE NOT (a.object_kind = 'client'"
            " AND a.object_id IN (SELECT id FROM clients WHERE legal_hold_at IS NOT NULL))",
            (_TALLY.format(metric="'audit'", day="substr(at, 1, 10)", dim="action",
                           table="audit_log"),
             "DELETE FROM audit_log WHERE id IN ({ids})")),)
    if kind in OPERATOR_KINDS:
        return ()
    raise LookupError(kind)


# Deleted rows leave their count behind (metric, UTC day, dimension). The table's name on `n`:
# PostgreSQL finds a bare `n` ambiguous (the row's or excluded's).
_TALLY = ("INSERT INTO retention_tallies (metric, day, dimension, n)"
          " SELECT {metric}, {day}, {dim}, COUNT(*) FROM {table} WHERE id IN ({{ids}})"
          " GROUP BY 2, 3 ON CONFLICT (metric, day, dimension) DO UPDATE SET"
          " n = retention_tallies.n + excluded.n")


class Reader(Protocol):
    async def all(self, sql: str, params: Any = ()) -> list[Any]: ...
    async def value(self, sql: str, params: Any = ()) -> Any: ...


async def purge_batch(tx: Tx, now: datetime, schedule: Schedule | None = None
                      ) -> tuple[dict[str, int], bool]:
    """One batch of every kind past its period. Returns (count per kind, more left)."""
    schedule = schedule or current()
    counts: dict[str, int] = {}
    more = False
    for name, kind in schedule.kinds.items():
        cutoff = iso(kind.cutoff(now))
        for part in parts(name, schedule):
            ids = [r[0] for r in await tx.all(
                f"SELECT id FROM ({part.eligible}) AS eligible WHERE event_at < ? ORDER BY event_at, id"
                " LIMIT ?", (cutoff, schedule.batch))]
            if not ids:
                continue
            more = more or len(ids) == schedule.batch
            if name == "client_records":
                done = 0
                for cid in ids:
                    try:
                        await erase.erase(tx, now, cid, None,
                                          f"retention schedule: {kind.days} days after the"
                                          " case closed")
                        done += 1
                    except erase.Refused:
                        continue
                counts[name] = counts.get(name, 0) + done
                continue
            # ids are integers just read from the database: written inline, :now bound.
            id_list = ", ".join(str(int(i)) for i in ids)
            for sql in part.purge:
                await tx.execute(sql.format(ids=id_list),
                                 {"now": iso(now)} if ":now" in sql else ())
            counts[name] = counts.get(name, 0) + len(ids)
    if counts:
        await audit(tx, now, "system", "retention.purged", None, None, counts=counts, more=more)
    return counts, more


async def report(db: Reader, now: datetime, schedule: Schedule | None = None
                 ) -> list[dict[str, Any]]:
    """Per kind: its rule, how many rows would go now, and when the next ones fall due."""
    schedule = schedule or current()
    out: list[dict[str, Any]] = []
    for name, kind in schedule.kinds.items():
        cutoff = iso(kind.cutoff(now))
        due = 0
        next_event: str | None = None
        for part in parts(name, schedule):
            due += int(await db.value(
                f"SELECT COUNT(*) FROM ({part.eligible}) AS eligible WHERE event_at < ?", (cutoff,)) or 0)
            first = await db.value(
                f"SELECT MIN(event_at) FROM ({part.eligible}) AS eligible WHERE event_at >= ?", (cutoff,))
            if first and (next_event is None or first < next_event):
                next_event = first
        next_at = (iso(parse_iso(next_event) + timedelta(days=kind.days))
                   if next_event else None)
        out.append({"kind": name, "from": kind.event, "days": kind.days, "reason": kind.reason,
                    "purged_by": "operator" if name in OPERATOR_KINDS else "o2r",
                    "due_now": due, "next_due_at": next_at})
    return out


def next_run(now: datetime, schedule: Schedule, tz: str) -> datetime:
    """The next daily run time (local `run_at`) strictly after `now`."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), schedule.run_at, tzinfo=zone)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), schedule.run_at, tzinfo=zone)
    return at.astimezone(now.tzinfo)


async def on_start(db: Database, now: datetime) -> None:
    """Service start: the daily purge is planned (bot.service START_MODULES)."""
    async def plan(tx: Tx) -> None:
        await timers.schedule(tx, now, TIMER_KEY, TIMER_KIND,
                              next_run(now, current(), tx.settings.timezone), replace=False)
    await db.write(plan)


@timers.handles(TIMER_KIND)
async def _daily(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    schedule = current()
    counts, more = await purge_batch(tx, now, schedule)
    due = now + AGAIN_AFTER if more else next_run(now, schedule, tx.settings.timezone)
    await timers.schedule(tx, now, TIMER_KEY, TIMER_KIND, due)
    total = sum(counts.values())
    return f"purged {total}" + (" (more to go)" if more else "")
