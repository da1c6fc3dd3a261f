"""Aftercare meetings: written out from each group's weekly rule, reminded through the reminders
machinery, registers for the mentors, attendance, and the note for the officer after two misses.

Reminders reuse the reminders package as it is: the "aftercare_meeting" plan in reminders.toml,
the pure planner (`aftercare_meeting_reminders`, keys 'meeting:<meeting>:<client>:<label>'),
per-client quiet hours, and the catch-up rules after downtime (`decide_late`, `superseded`).
Only the last step differs: a member's reminder checks that the meeting and the membership still
stand, and the group's neutral post goes to its Telegram chat ('meeting:<meeting>:group:<label>').
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from bot.aftercare.groups import post_to_group, roster
from bot.aftercare.mentors import schedule_prompts
from bot.aftercare.rules import MeetingRule, load_config, local_today, meeting_times, note_officer
from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.messaging import say
from bot.core.quiet import client_quiet
from bot.core.texts import format_when, has_text
from bot.escalation.findings import raise_finding
from reminders import due
from reminders.schedule.catchup import superseded
from reminders.schedule.clock import local_instant, parse_clock
from reminders.schedule.events import aftercare_meeting_reminders, event_reminders
from reminders.schedule.model import PlannedSend
from reminders.texts import reminder_params
from reminders.timer_rows import config as reminders_config
from reminders.timer_rows import payload, utc

PLAN_KIND = "aftercare_plan"
MEMBER_KIND = "meeting_reminder"
GROUP_KIND = "meeting_group_post"
REGISTER_KIND = "meeting_register"
PLAN = "aftercare_meeting"
# /attendance reaches back this far for the meeting it is about.
REGISTER_LOOKBACK = timedelta(days=7)

async def _store(tx: Tx, now: datetime, sends: Iterable[PlannedSend], kind: str,
                 extra: dict[str, Any]) -> int:
    # Insert what is missing; bring back a row cancelled earlier (a member who left and came
    # back); never re-arm one that was sent.
    return await timers.schedule_many(tx, [
        timers.row(now, s.key, kind, s.due_at, None if s.client_id is None else int(s.client_id),
                   payload(s, extra)) for s in sends], "revive")


# Planning ------------------------------------------------------------------------------------

async def top_up_group(tx: Tx, now: datetime, group_id: int) -> int:
    """Write the group's meetings out to `plan_ahead` and plan each new one. Returns how many."""
    g = await tx.one("SELECT * FROM aftercare_groups WHERE id = ? AND status = 'active'",
                     (group_id,))
    if g is None:
        return 0
    tz = tx.settings.timezone
    today = local_today(now, tz)
    last = today + timedelta(days=load_config().plan_ahead.days)
    first = max(date.fromisoformat(g["planned_until"]) + timedelta(days=1), today)
    created = 0
    rule = MeetingRule(g["weekday"], parse_clock(g["meets_at"]))
    for day, starts in meeting_times(rule, first, last, tz):
        if starts <= now:
            continue
        meeting_id = await tx.execute(
            "INSERT INTO group_meetings (group_id, starts_at, occurrence_on, place, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, occurrence_on) DO NOTHING",
            (group_id, iso(starts), day.isoformat(), g["place"], iso(now)))
        if meeting_id:
            created += 1
            await _plan_meeting(tx, now, meeting_id)
    if last > date.fromisoformat(g["planned_until"]):
        await tx.execute("UPDATE aftercare_groups SET planned_until = ? WHERE id = ?",
                         (last.isoformat(), group_id))
    return created


async def move_ahead(tx: Tx, now: datetime, group_id: int) -> int:
    """The group's day, time or place changed: each meeting still ahead (no register closed)
    moves to the new day of its own week, keeping its id so every reminder and the register
    follow it: pending reminders are cancelled and planned again at the new time (one already
    sent stays sent), and a meeting whose new time has passed is cancelled. Returns how many
    moved."""
    g = await tx.one("SELECT weekday, meets_at, place FROM aftercare_groups WHERE id = ?",
                     (group_id,))
    rule = MeetingRule(g["weekday"], parse_clock(g["meets_at"]))
    tz = tx.settings.timezone
    moved = 0
    for m in await tx.all(
            "SELECT id, occurrence_on FROM group_meetings WHERE group_id = ?"
            " AND status = 'scheduled' AND starts_at > ? AND register_closed_at IS NULL"
            " ORDER BY starts_at", (group_id, iso(now))):
        await timers.cancel(tx, now, f"meeting:{m['id']}:", "meeting moved")
        old = date.fromisoformat(m["occurrence_on"])
        day = old - timedelta(days=old.weekday()) + timedelta(days=rule.weekday)
        starts = meeting_times(rule, day, day, tz)
        if not starts or starts[0][1] <= now:
            await tx.execute("UPDATE group_meetings SET status = 'cancelled' WHERE id = ?",
                             (m["id"],))
            await timers.cancel(tx, now, f"register:{m['id']}", "meeting moved")
            continue
        await tx.execute("UPDATE group_meetings SET starts_at = ?, occurrence_on = ?, place = ?"
                         " WHERE id = ?", (iso(starts[0][1]), day.isoformat(), g["place"],
                                           m["id"]))
        await _plan_meeting(tx, now, m["id"], move=True)
        moved += 1
    return moved


async def _plan_meeting(tx: Tx, now: datetime, meeting_id: int, move: bool = False) -> None:
    m = await tx.one("SELECT group_id, starts_at FROM group_meetings WHERE id = ?", (meeting_id,))
    for member in await roster(tx, [m["group_id"]]):
        await _plan_member_meeting(tx, now, meeting_id, m["starts_at"], member["client_id"])
    cfg = reminders_config()
    sends = event_reminders(f"meeting:{meeting_id}:group", utc(m["starts_at"]), cfg.plan(PLAN),
                            cfg.quiet, tx.settings.timezone, now, late_grace=cfg.late_grace)
    await _store(tx, now, sends, GROUP_KIND, {"meeting": meeting_id})
    due = utc(m["starts_at"]) + load_config().register_after
    await timers.schedule(tx, now, f"register:{meeting_id}", REGISTER_KIND, due,
                          payload={"meeting": meeting_id}, replace=move)


async def _plan_member_meeting(tx: Tx, now: datetime, meeting_id: int, starts_at: str,
                               client_id: int) -> int:
    cfg = reminders_config()
    sends = aftercare_meeting_reminders(
        meeting_id, client_id, utc(starts_at), cfg.plan(PLAN), await client_quiet(tx, client_id),
        tx.settings.timezone, now, late_grace=cfg.late_grace)
    return await _store(tx, now, sends, MEMBER_KIND, {"meeting": meeting_id})


async def plan_member(tx: Tx, now: datetime, client_id: int) -> int:
    """A new member: reminders for their group's meetings already written out."""
    rows = await tx.all(
        "SELECT m.id, m.starts_at FROM group_members g JOIN group_meetings m"
        " ON m.group_id = g.group_id WHERE g.client_id = ? AND g.status = 'active'"
        " AND m.status = 'scheduled' AND m.starts_at > ?", (client_id, iso(now)))
    return sum([await _plan_member_meeting(tx, now, r["id"], r["starts_at"], client_id)
                for r in rows])


async def top_up_all(tx: Tx, now: datetime) -> int:
    return sum([await top_up_group(tx, now, r[0]) for r in await tx.all(
        "SELECT id FROM aftercare_groups WHERE status = 'active'")])


def _plan_key(day: date) -> str:
    return f"{PLAN_KIND}:{day.isoformat()}"


async def ensure_plan(tx: Tx, now: datetime) -> None:
    """At start: today's top-up runs now unless it already did; it chains the next one."""
    await timers.schedule(tx, now, _plan_key(local_today(now, tx.settings.timezone)), PLAN_KIND,
                          now, replace=False)


@timers.handles(PLAN_KIND)
async def _daily(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    """Top up every group's meetings, keep every mentor's prompts scheduled, chain tomorrow."""
    created = await top_up_all(tx, now)
    for (staff_id,) in await tx.all("SELECT m.staff_id FROM mentors m JOIN staff s"
                                    " ON s.id = m.staff_id WHERE m.status = 'active'"
                                    " AND s.active = 1"):
        await schedule_prompts(tx, now, staff_id)
    tomorrow = local_today(now, tx.settings.timezone) + timedelta(days=1)
    await timers.schedule(tx, now, _plan_key(tomorrow), PLAN_KIND,
                          local_instant(tomorrow, load_config().plan_at, tx.settings.timezone),
                          replace=False)
    return f"{created} new meetings"


# Sending -------------------------------------------------------------------------------------

def _base(key: str) -> str:
    return key.split("#", 1)[0]


async def _meeting(tx: Tx, timer: timers.Timer) -> Any:
    """The meeting a reminder is about, or why it no longer applies."""
    m = await tx.one(
        "SELECT m.*, a.name, a.status AS group_status FROM group_meetings m"
        " JOIN aftercare_groups a ON a.id = m.group_id WHERE m.id = ?",
        (timer.payload["meeting"],))
    if m is None or m["status"] != "scheduled" or m["group_status"] != "active":
        return "meeting cancelled"
    if m["starts_at"] != timer.payload["event_at"]:
        return "meeting moved"
    return m


async def _superseded(tx: Tx, timer: timers.Timer, now: datetime) -> bool:
    """After downtime, of several due reminders for one meeting only the latest goes."""
    base = _base(timer.key)
    event = base.rsplit(":", 1)[0] + ":"
    rows = await tx.all("SELECT key, due_at FROM timers WHERE status = 'pending' AND key >= ?"
                        " AND key < ? AND due_at <= ? AND id <> ?",
                        (event, event + "\uffff", iso(now), timer.id))
    due = [(base, timer.due_at)] + [(_base(r[0]), parse_iso(r[1])) for r in rows]
    return base in superseded(due)


@timers.handles(MEMBER_KIND)
async def _member_reminder(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    meeting = await _meeting(tx, timer)
    if isinstance(meeting, str):
        return f"dropped: {meeting}"
    cid = int(timer.client_id or 0)
    if not await tx.value("SELECT 1 FROM group_members WHERE client_id = ? AND group_id = ?"
                          " AND status = 'active'", (cid, meeting["group_id"])):
        return "dropped: no longer in the group"
    late = await due.late(tx, timer, now, "reminder", utc(timer.payload["event_at"]), None)
    if late is not None:
        return late
    if await _superseded(tx, timer, now):
        return "skipped: a later reminder for the same meeting is due"
    reach = await due.reach(tx, now, cid, "reminder", f"meeting reminder {meeting['name']}")
    if isinstance(reach, str):
        return reach
    client, ident = reach
    event_at = utc(timer.payload["event_at"])
    params = reminder_params(client.first_name, event_at, tx.settings.timezone, client.language,
                             meeting["place"])
    sent = await say(tx, now, ident, timer.payload["message"], params, client=client,
                     purpose="reminder",
                     cause=f"timer:{_base(timer.key)}",
                     dedupe_key=f"{_base(timer.key)}@{timer.payload['event_at']}")
    return "sent" if sent else "skipped: already sent"


@timers.handles(GROUP_KIND)
async def _group_post(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    meeting = await _meeting(tx, timer)
    if isinstance(meeting, str):
        return f"dropped: {meeting}"
    late = await due.late(tx, timer, now, "reminder", utc(timer.payload["event_at"]), None,
                          quiet=reminders_config().quiet)
    if late is not None:
        return late
    if await _superseded(tx, timer, now):
        return "skipped: a later post for the same meeting is due"
    label = _base(timer.key).rsplit(":", 1)[1]
    key = f"group.meeting.{label}" if has_text(f"group.meeting.{label}") else "group.meeting"
    event_at = utc(timer.payload["event_at"])
    params = reminder_params("", event_at, tx.settings.timezone, None, meeting["place"])
    row = await post_to_group(tx, now, meeting["group_id"], key, params,
                              dedupe_key=f"{_base(timer.key)}@{timer.payload['event_at']}",
                              cause=f"timer:{_base(timer.key)}")
    return "posted" if row else "skipped: no group chat"


# Attendance ----------------------------------------------------------------------------------

async def latest_meeting(tx: Tx, group_id: int, now: datetime) -> Any:
    """The meeting a register is about: the last one that has started, this past week."""
    return await tx.one(
        "SELECT m.*, a.name FROM group_meetings m JOIN aftercare_groups a ON a.id = m.group_id"
        " WHERE m.group_id = ? AND m.status = 'scheduled' AND m.starts_at <= ?"
        " AND m.starts_at > ? ORDER BY m.starts_at DESC LIMIT 1",
        (group_id, iso(now), iso(now - REGISTER_LOOKBACK)))


async def marked(tx: Tx, meeting_id: int) -> set[int]:
    return {r[0] for r in await tx.all("SELECT client_id FROM meeting_attendance WHERE"
                                       " meeting_id = ? AND outcome = 'attended'", (meeting_id,))}


async def _record(tx: Tx, now: datetime, meeting_id: int, client_id: int, outcome: str,
                  actor: str) -> None:
    await tx.execute(
        "INSERT INTO meeting_attendance (meeting_id, client_id, outcome, recorded_by, at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (meeting_id, client_id) DO UPDATE SET"
        " outcome = excluded.outcome, recorded_by = excluded.recorded_by, at = excluded.at",
        (meeting_id, client_id, outcome, actor, iso(now)))


async def toggle(tx: Tx, now: datetime, meeting_id: int, client_id: int, actor: str) -> bool:
    """A name tapped on the register: came <-> not marked. Returns True if now marked as came."""
    if client_id in await marked(tx, meeting_id):
        await tx.execute("DELETE FROM meeting_attendance WHERE meeting_id = ? AND client_id = ?",
                         (meeting_id, client_id))
        return False
    await _record(tx, now, meeting_id, client_id, "attended", actor)
    return True


async def close_register(tx: Tx, now: datetime, meeting_id: int, members: Iterable[int],
                         came: set[int], actor: str) -> tuple[int, int]:
    """Record who came and, for everyone else on the register, a miss; then the two-misses
    rule. Returns (came, missed)."""
    counts = [0, 0]
    for cid in members:
        outcome = "attended" if cid in came else "missed"
        await _record(tx, now, meeting_id, cid, outcome, actor)
        counts[outcome == "missed"] += 1
        if outcome == "missed":
            await _two_misses(tx, now, cid, meeting_id)
    await tx.execute("UPDATE group_meetings SET register_closed_at = ? WHERE id = ?",
                     (iso(now), meeting_id))
    await audit(tx, now, actor, "meeting.register_taken", "meeting", meeting_id,
                came=counts[0], missed=counts[1])
    return counts[0], counts[1]


async def _two_misses(tx: Tx, now: datetime, client_id: int, meeting_id: int) -> None:
    outcomes = [r[0] for r in await tx.all(
        "SELECT a.outcome FROM meeting_attendance a JOIN group_meetings m ON m.id = a.meeting_id"
        " WHERE a.client_id = ? AND m.starts_at <= (SELECT starts_at FROM group_meetings"
        " WHERE id = ?) ORDER BY m.starts_at DESC LIMIT 3", (client_id, meeting_id))]
    if not note_officer(outcomes):
        return
    mark = f"meeting:{meeting_id}:"
    if await tx.value("SELECT 1 FROM findings WHERE client_id = ? AND reason ="
                      " 'missed_group_meetings' AND detail LIKE ?", (client_id, mark + "%")):
        return  # the register was taken again: one note per streak
    await raise_finding(tx, now, client_id, "ROUTINE", "missed_group_meetings",
                        source="aftercare", detail=f"{mark} missed two group meetings in a row")


def meeting_day(starts_at: str, tz: str, locale: str | None = None) -> str:
    return format_when(parse_iso(starts_at), tz, locale)
