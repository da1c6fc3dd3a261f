"""The daily planner: one day's check-ins and scales for every client, written in bulk as timer
rows, plus the daily top-ups (recurring appointments, course invitations).

It runs as the timer 'plan_day:<YYYY-MM-DD>' (the local day it plans), due at `day_plan_at` the
day before, and chains the next one. Re-running it is harmless: check-in keys are stable
('checkin:<client>:<day>') and stored in "keep" mode, so nothing is inserted twice and nothing
already sent is re-armed. At service start `ensure_plans` makes sure today and tomorrow are
covered, whatever happened while the service was down.

The plan is written a slice of clients at a time (PLAN_SLICE, by client id), each slice in its
own transaction: the timer re-arms itself with the last client planned until the slice comes up
short. Planning 10,000 clients in one transaction held the writer for about 0.4 s, and a
crisis message arriving meanwhile waited behind it.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import timers
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.pg import LOCK_PLAN
from bot.core.quiet import quiet_override
from reminders.calendar import extend_series, invite_all
from reminders.schedule import checkins_for_day
from reminders.schedule.clock import local_instant, parse_clock
from reminders.schedule.model import ClientSchedule, PlannedSend
from reminders.timer_rows import config, store

log = logging.getLogger(__name__)

PLAN_KIND = "plan_day"
PLAN_SLICE = 500  # clients a transaction: ~35 ms of the writer's time


def plan_key(day: date) -> str:
    return f"{PLAN_KIND}:{day.isoformat()}"


def plan_due(day: date, tz: str | ZoneInfo) -> datetime:
    """When the plan for `day` is made: `day_plan_at` local time on the day before."""
    return local_instant(day - timedelta(days=1), config().day_plan_at, tz)


_CLIENTS = (
    "SELECT c.id, c.stage, c.checkin_time, c.quiet_start, c.quiet_end, c.heightened_until, c.paused_until,"
    " COALESCE((SELECT MAX(h.at) FROM stage_history h WHERE h.client_id = c.id"
    " AND h.to_stage = c.stage), c.created_at) AS stage_at"
    " FROM clients c WHERE c.consent_at IS NOT NULL"
)


def _schedule_of(r: sqlite3.Row, z: ZoneInfo) -> ClientSchedule:
    checkin = r["checkin_time"]
    if checkin is not None:
        try:
            parse_clock(checkin)
        except ValueError:  # one bad value must not stop everyone's plan
            log.warning("client %s: bad check-in time %r, using the default", r["id"], checkin)
            checkin = None
    until = r["heightened_until"]
    return ClientSchedule(
        client_id=r["id"],
        stage=r["stage"],
        stage_started=parse_iso(r["stage_at"]).astimezone(z).date(),
        checkin_time=checkin,
        heightened_until=parse_iso(until).astimezone(z).date() if until else None,
        quiet=quiet_override(r["quiet_start"], r["quiet_end"]),
        paused_until=date.fromisoformat(r["paused_until"]) if r["paused_until"] else None,
    )


async def client_schedules(tx: Tx, client_id: int | None = None, *, after: int | None = None,
                           limit: int | None = None) -> list[ClientSchedule]:
    """What checkins_for_day needs, for every consented client (or one, or the next `limit`
    clients after id `after`, in id order)."""
    z = ZoneInfo(tx.settings.timezone)
    if client_id is not None:
        rows = await tx.all(_CLIENTS + " AND c.id = ?", (client_id,))
    elif after is not None and limit is not None:
        rows = await tx.all(_CLIENTS + " AND c.id > ? ORDER BY c.id LIMIT ?", (after, limit))
    else:
        rows = await tx.all(_CLIENTS)
    return [_schedule_of(r, z) for r in rows]


async def plan_day(tx: Tx, now: datetime, day: date,
                   schedules: list[ClientSchedule] | None = None) -> int:
    """Write `day`'s check-ins and scales for all clients, or for `schedules` ("keep": re-runs
    insert nothing)."""
    cfg = config()
    if schedules is None:
        schedules = await client_schedules(tx)
    sends = checkins_for_day(schedules, day, tx.settings.timezone, cfg.checkins, cfg.quiet)
    return await store(tx, now, sends, "keep", {"day": day.isoformat()})


async def plan_client(tx: Tx, now: datetime, client_id: int, *, move: bool = False) -> int:
    """Plan one client's check-ins for the rest of today and for tomorrow, at once. For changes
    the daily run would only see a day late: a discharge (heightened window), a stage move, a
    new check-in time, a new client. "keep" mode: nothing already planned is touched, unless
    `move` (a new check-in time or quiet hours): then sends planned but not yet made go to the
    new times; one already made (or running) stays as it was, so nothing is sent twice."""
    written = 0
    for day, sends in await _ahead(tx, now, client_id):
        if move and sends:
            await tx.executemany("DELETE FROM timers WHERE key = ? AND status = 'pending'",
                                 [(s.key,) for s in sends])
        written += await store(tx, now, sends, "keep", {"day": day.isoformat()})
    return written


async def _ahead(tx: Tx, now: datetime, client_id: int) -> list[tuple[date, list[PlannedSend]]]:
    """The client's check-ins and scales for today and tomorrow whose window is still open."""
    cfg = config()
    tz = tx.settings.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    schedules = await client_schedules(tx, client_id)
    return [(day, [s for s in checkins_for_day(schedules, day, tz, cfg.checkins, cfg.quiet)
                   if s.window_end is None or s.window_end > now])
            for day in (today, today + timedelta(days=1))]


async def replan_client(tx: Tx, now: datetime, client_id: int, reason: str) -> int:
    """Re-plan one client's check-ins and scales not yet sent (TIME, PAUSE): the pending ones
    are cancelled (kept, with `reason`), and today's and tomorrow's plan is written again, so a
    key still wanted comes back at its new time. Rows that ran, or were cancelled for some other
    reason earlier, are left alone: re-planning never re-sends."""
    pending = await tx.all(
        "SELECT key FROM timers WHERE status = 'pending' AND client_id = ?"
        " AND kind IN ('checkin', 'scale') AND due_at > ?", (client_id, iso(now)))
    cancelled = {r[0] for r in pending}
    await tx.executemany(
        "UPDATE timers SET status = 'cancelled', outcome = ?, done_at = ? WHERE key = ?",
        [(reason, iso(now), k) for k in cancelled])
    written = 0
    for day, sends in await _ahead(tx, now, client_id):
        keys = [s.key for s in sends]
        marks = ",".join("?" * len(keys))
        known = {r[0] for r in await tx.all(
            f"SELECT key FROM timers WHERE key IN ({marks})", keys)} if keys else set()
        fresh = [s for s in sends if s.key in cancelled or s.key not in known]
        written += await store(tx, now, fresh, "revive", {"day": day.isoformat()})
    return written


async def top_up(tx: Tx, now: datetime) -> tuple[int, int]:
    """Recurring appointments written out to the horizon; every enrolled client invited to their
    next session. Returns (new occurrences, clients invited)."""
    horizon = now.astimezone(ZoneInfo(tx.settings.timezone)).date() + config().series_horizon
    series = await tx.all("SELECT id FROM appointment_series WHERE status = 'active'"
                          " AND planned_until < ?", (horizon.isoformat(),))
    created = 0
    for s in series:
        created += len(await extend_series(tx, now, s[0]))
    return created, await invite_all(tx, now)


async def _planned(tx: Tx, day: date) -> bool:
    return bool(await tx.value("SELECT 1 FROM timers WHERE key = ? AND status = 'done'",
                               (plan_key(day),)))


async def run_plan(tx: Tx, now: datetime, day: date, *, after: int = 0,
                   so_far: int = 0) -> str:
    """The 'plan_day' timer for `day`, one slice of clients (those after id `after`). Late (after
    downtime) it plans today and tomorrow instead of walking through the missed days, which have
    nothing left to send. While clients remain, the timer re-arms itself a second later with the
    last client planned; the last slice does the daily top-ups and chains the next day's plan."""
    # Instances sharing PostgreSQL: the plan_day row itself is claimed by one (SKIP LOCKED);
    # this lock also keeps a plan and another instance's start-up ensure_plans apart.
    await tx.advisory_lock(LOCK_PLAN, 0)
    tz = tx.settings.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    tomorrow = today + timedelta(days=1)
    days = [d for d in sorted({d for d in (day, today, tomorrow) if d >= today})
            if d == day or not await _planned(tx, d)]
    schedules = await client_schedules(tx, after=after, limit=PLAN_SLICE)
    total = so_far
    for d in days:
        total += await plan_day(tx, now, d, schedules)
    if len(schedules) == PLAN_SLICE:
        last = max(int(s.client_id) for s in schedules)
        await timers.schedule(tx, now, plan_key(day), PLAN_KIND, now + timedelta(seconds=1),
                              payload={"after": last, "sends": total})
        return f"planned clients up to #{last}; more to come"
    occurrences, invited = await top_up(tx, now)
    nxt = max(day, today) + timedelta(days=1)
    await timers.schedule(tx, now, plan_key(nxt), PLAN_KIND, plan_due(nxt, tz), replace=False)
    planned = ", ".join(d.isoformat() for d in days) or "nothing"
    return (f"planned {planned}: {total} sends; {occurrences} new occurrences;"
            f" {invited} invited")


async def ensure_plans(tx: Tx, now: datetime) -> None:
    """At start: today's plan runs now if it never ran; tomorrow's is scheduled (idempotent)."""
    await tx.advisory_lock(LOCK_PLAN, 0)
    tz = tx.settings.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    await timers.schedule(tx, now, plan_key(today), PLAN_KIND, now, replace=False)
    tomorrow = today + timedelta(days=1)
    await timers.schedule(tx, now, plan_key(tomorrow), PLAN_KIND,
                          max(now, plan_due(tomorrow, tz)), replace=False)


def day_of_key(key: str) -> date:
    return date.fromisoformat(key.rsplit(":", 1)[1])

