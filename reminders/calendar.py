"""The programme calendar: appointments (one-off and recurring) and the pre-admission course.

These are the operations the CLI and the admin panel call. Each runs inside the caller's write
transaction, audits what it did, and re-plans or cancels the reminder rows it affects in that
same transaction, so a changed or cancelled appointment can never leave a stale reminder behind.
Bad input raises bot.core.people.InputError naming the field. Times are aware datetimes; text
timestamps are UTC (bot.core.clock.iso).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.people import STAGES, InputError
from bot.core.quiet import client_quiet
from bot.escalation.findings import raise_finding
from reminders.schedule.clock import local_instant
from reminders.schedule.events import missed_session_followup
from reminders.schedule.plans import APPOINTMENT_KINDS
from reminders.schedule.recurrence import Recurrence, recurring
from reminders.timer_rows import (
    appointment_prefix,
    cancel_client_sessions,
    config,
    plan_appointment,
    plan_session_for,
    session_prefix,
    store,
)

# Invited to the course until admitted: every stage before in_rehab. in_rehab and everything
# after it (completed, aftercare, the side exits) ends the enrolment.
INVITED_STAGES = frozenset(STAGES[:STAGES.index("in_rehab")])
OUTCOMES = ("attended", "missed")
MAX_PLACE = 120
MAX_WITH = 80
MAX_ALIAS = 40  # a discreet reminder with the longest alias still fits one SMS


# Validation ---------------------------------------------------------------------------------

def _text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > limit:
        raise InputError(f"{field}: at most {limit} characters")
    return value or None


def _future(at: datetime, now: datetime, field: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{field}: give a date-time with its time zone")
    if at <= now:
        raise InputError(f"{field}: {at.isoformat()} has already passed")
    return at


def _kind(kind: str) -> str:
    if kind not in APPOINTMENT_KINDS:
        raise InputError(f"kind: {kind!r} must be one of {', '.join(APPOINTMENT_KINDS)}")
    return kind


async def _client(tx: Tx, client_id: int) -> sqlite3.Row:
    row = await tx.one("SELECT id, stage FROM clients WHERE id = ?", (client_id,))
    if row is None:
        raise InputError(f"client: no client {client_id}")
    return row


def _zone(tx: Tx) -> ZoneInfo:
    return ZoneInfo(tx.settings.timezone)


# Appointments -------------------------------------------------------------------------------

async def add_appointment(tx: Tx, now: datetime, *, client_id: int, kind: str, at: datetime,
                          place: str | None = None, with_whom: str | None = None,
                          repeat: str | None = None, actor: str = "cli") -> int:
    """Add an appointment and plan its reminders. With `repeat` ("monthly on day 15 at 10:00",
    "every 28 days at 10:00", "weekly on tuesday at 18:00") it starts a series: `at` gives the
    first date, the rule the day and time; occurrences are written `series_horizon` ahead and
    topped up daily. Returns the (first) appointment id."""
    await _client(tx, client_id)
    kind = _kind(kind)
    at = _future(at, now)
    place = _text(place, "place", MAX_PLACE)
    with_whom = _text(with_whom, "with", MAX_WITH)
    if repeat is not None:
        return await _add_series(tx, now, client_id, kind, at, place, with_whom, repeat, actor)
    appt_id = await tx.execute(
        "INSERT INTO appointments (client_id, kind, at, place, with_whom, created_by,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (client_id, kind, iso(at), place, with_whom, actor, iso(now), iso(now)))
    planned = await plan_appointment(tx, now, appt_id)
    await audit(tx, now, actor, "appointment.added", "appointment", appt_id, client_id=client_id,
                kind=kind, at=iso(at), reminders=planned)
    return appt_id


async def _add_series(tx: Tx, now: datetime, client_id: int, kind: str, at: datetime,
                      place: str | None, with_whom: str | None, repeat: str, actor: str) -> int:
    try:
        rule = Recurrence.parse(repeat)
    except ValueError as exc:
        raise InputError(f"repeat: {exc}") from None
    starts_on = at.astimezone(_zone(tx)).date()
    series_id = await tx.execute(
        "INSERT INTO appointment_series (client_id, kind, rule, place, with_whom, starts_on,"
        " planned_until, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (client_id, kind, " ".join(repeat.lower().split()), place, with_whom,
         starts_on.isoformat(), (starts_on - timedelta(days=1)).isoformat(), actor, iso(now),
         iso(now)))
    created = await extend_series(tx, now, series_id, rule=rule)
    if not created:
        raise InputError(f"repeat: no occurrence of {repeat!r} within the planning horizon")
    await audit(tx, now, actor, "appointment.series_added", "appointment_series", series_id,
                client_id=client_id, kind=kind, rule=repeat, first=created[0])
    return created[0]


async def extend_series(tx: Tx, now: datetime, series_id: int,
                        rule: Recurrence | None = None) -> list[int]:
    """Write a series' occurrences up to `series_horizon` ahead (idempotent: an occurrence date
    is written once, even if that occurrence was later moved). Returns the new ids."""
    s = await tx.one("SELECT * FROM appointment_series WHERE id = ?", (series_id,))
    if s is None or s["status"] != "active":
        return []
    z = _zone(tx)
    starts_on = date.fromisoformat(s["starts_on"])
    # The horizon counts from today, or from the first date of a series that starts later.
    until = max(now.astimezone(z).date(), starts_on) + config().series_horizon
    start = max(starts_on, date.fromisoformat(s["planned_until"]) + timedelta(days=1))
    if start > until:
        return []
    created: list[int] = []
    for moment in recurring(rule or s["rule"], start, until, z):
        if moment <= now:
            continue
        appt_id = await tx.execute(
            "INSERT INTO appointments (client_id, kind, at, place, with_whom, recurrence,"
            " series_id, occurrence_on, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (series_id, occurrence_on) DO NOTHING",
            (s["client_id"], s["kind"], iso(moment), s["place"], s["with_whom"], s["rule"],
             series_id, moment.astimezone(z).date().isoformat(), s["created_by"], iso(now),
             iso(now)))
        if appt_id:
            await plan_appointment(tx, now, appt_id)
            created.append(appt_id)
    await tx.execute("UPDATE appointment_series SET planned_until = ?, updated_at = ? WHERE id = ?",
                     (until.isoformat(), iso(now), series_id))
    return created


async def _appointment(tx: Tx, appointment_id: int) -> sqlite3.Row:
    row = await tx.one("SELECT * FROM appointments WHERE id = ?", (appointment_id,))
    if row is None:
        raise InputError(f"appointment: no appointment {appointment_id}")
    return row


# Place aliases -------------------------------------------------------------------------------

def _fold(place: str) -> str:
    return " ".join(place.split()).lower()


async def place_alias(tx: Tx, client_id: int, place: str | None) -> str | None:
    """What a discreet text calls `place`: the client's own alias, else everyone's, else None
    (a discreet text then names no place at all)."""
    if not place or not place.strip():
        return None
    row = await tx.one(
        "SELECT alias FROM place_aliases WHERE place = ? AND (client_id = ? OR client_id IS NULL)"
        " ORDER BY client_id IS NULL LIMIT 1", (_fold(place), client_id))
    return str(row[0]) if row else None


async def set_place_alias(tx: Tx, now: datetime, place: str, alias: str, *,
                          client_id: int | None = None, actor: str = "cli") -> int:
    """Set (or replace) the alias of a place, for one client or everyone. Returns its id."""
    folded = _fold(_text(place, "place", MAX_PLACE) or "")
    words = _text(alias, "alias", MAX_ALIAS)
    if not folded or not words:
        raise InputError("place and alias: both are needed")
    if client_id is not None:
        await _client(tx, client_id)
    await tx.execute(
        "INSERT INTO place_aliases (place, client_id, alias, updated_at, updated_by)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (place, COALESCE(client_id, 0)) DO UPDATE SET"
        " alias = excluded.alias, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by", (folded, client_id, words, iso(now), actor))
    alias_id = int(await tx.value(
        "SELECT id FROM place_aliases WHERE place = ? AND COALESCE(client_id, 0) = ?",
        (folded, client_id or 0)))
    await audit(tx, now, actor, "place.alias_set", "place_alias", alias_id, client_id=client_id)
    return alias_id


async def _tell_change(tx: Tx, now: datetime, client_id: int, key: str, kind: str,
                       at: datetime, place: str | None, event: str) -> None:
    """A change notice to the client, once per event and change (the dedupe key), in their
    wording (discreet: no kind, no place), through the contact policy (custody: the officer is
    told instead). Only for an event still ahead: nobody needs news of a past one."""
    from bot.core.messaging import say
    from bot.core.texts import render
    from reminders.due import reach
    from reminders.texts import reminder_params

    if at <= now:
        return
    found = await reach(tx, now, client_id, "reminder", f"change notice {key}")
    if isinstance(found, str):
        return
    client, ident = found
    params = reminder_params(client.first_name, at, tx.settings.timezone, client.language, place,
                             kind, await place_alias(tx, client_id, place))
    if not client.discreet:  # the discreet label is already in params
        params["what"] = render(f"reminder.place.{kind}", locale=client.language)
    await say(tx, now, ident, key, params, client=client, purpose="reminder",
              cause=event, dedupe_key=f"change:{event}:{client_id}:{key}:{iso(at)}")


async def reschedule_appointment(tx: Tx, now: datetime, appointment_id: int, at: datetime, *,
                                 place: str | None = None, actor: str = "cli") -> int:
    """Move a scheduled appointment; its old reminders are cancelled and new ones planned in this
    transaction. `place` None keeps the place. Returns how many reminders were planned."""
    row = await _appointment(tx, appointment_id)
    if row["status"] != "scheduled":
        raise InputError(f"appointment {appointment_id} is {row['status']}, not scheduled")
    at = _future(at, now)
    new_place = _text(place, "place", MAX_PLACE) if place is not None else row["place"]
    await timers.cancel(tx, now, appointment_prefix(appointment_id), "rescheduled")
    await tx.execute("UPDATE appointments SET at = ?, place = ?, updated_at = ? WHERE id = ?",
                     (iso(at), new_place, iso(now), appointment_id))
    planned = await plan_appointment(tx, now, appointment_id, "replace")
    await audit(tx, now, actor, "appointment.rescheduled", "appointment", appointment_id,
                old_at=row["at"], at=iso(at), reminders=planned)
    if iso(at) != row["at"] or new_place != row["place"]:
        await _tell_change(tx, now, row["client_id"], "change.moved", row["kind"], at,
                           new_place, f"appointment:{appointment_id}")
    return planned


async def cancel_appointment(tx: Tx, now: datetime, appointment_id: int, *, series: bool = False,
                             actor: str = "cli") -> int:
    """Cancel an appointment and its pending reminders. `series`: also end its series and cancel
    every later occurrence. Returns how many appointments were cancelled."""
    row = await _appointment(tx, appointment_id)
    targets = [appointment_id] if row["status"] == "scheduled" else []
    if series:
        if row["series_id"] is None:
            raise InputError(f"appointment {appointment_id} is not part of a series")
        await tx.execute("UPDATE appointment_series SET status = 'ended', updated_at = ?"
                         " WHERE id = ?", (iso(now), row["series_id"]))
        later = await tx.all(
            "SELECT id FROM appointments WHERE series_id = ? AND status = 'scheduled' AND at > ?",
            (row["series_id"], row["at"]))
        targets += [r[0] for r in later]
    elif not targets:
        raise InputError(f"appointment {appointment_id} is {row['status']}, not scheduled")
    for appt_id in targets:
        await timers.cancel(tx, now, appointment_prefix(appt_id), "appointment cancelled")
        await tx.execute("UPDATE appointments SET status = 'cancelled', updated_at = ?"
                         " WHERE id = ?", (iso(now), appt_id))
        await audit(tx, now, actor, "appointment.cancelled", "appointment", appt_id,
                    series=series)
        if appt_id == appointment_id:  # a series' later dates: the officer says, not 12 texts
            await _tell_change(tx, now, row["client_id"], "change.cancelled", row["kind"],
                               parse_iso(row["at"]), None, f"appointment:{appt_id}")
    return len(targets)


async def record_appointment_outcome(tx: Tx, now: datetime, appointment_id: int, outcome: str,
                                     *, actor: str = "cli") -> None:
    """Attended or missed: any reminder still pending stops; a miss tells the officer."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome: {outcome!r} must be attended or missed")
    row = await _appointment(tx, appointment_id)
    if row["status"] == "cancelled":
        raise InputError(f"appointment {appointment_id} was cancelled")
    await timers.cancel(tx, now, appointment_prefix(appointment_id), f"recorded {outcome}")
    await tx.execute("UPDATE appointments SET status = ?, updated_at = ? WHERE id = ?",
                     (outcome, iso(now), appointment_id))
    await audit(tx, now, actor, f"appointment.{outcome}", "appointment", appointment_id)
    if outcome == "missed" and row["status"] != "missed":
        await raise_finding(tx, now, row["client_id"], "ROUTINE", "missed_appointment",
                            source="calendar", detail=f"{row['kind']} appointment {appointment_id}")


# Course ---------------------------------------------------------------------------------------

async def _cohort_id(tx: Tx, now: datetime, name: str | None, create: bool) -> int | None:
    if name is None:
        return None
    clean = _text(name, "cohort", 40)
    if clean is None:
        raise InputError("cohort: give a name")
    cid = await tx.value("SELECT id FROM course_cohorts WHERE name = ?", (clean,))
    if cid is None:
        if not create:
            raise InputError(f"cohort: no cohort {clean!r}")
        cid = await tx.execute("INSERT INTO course_cohorts (name, created_at) VALUES (?, ?)",
                               (clean, iso(now)))
    return int(cid)


async def add_session(tx: Tx, now: datetime, *, at: datetime, place: str | None = None,
                      cohort: str | None = None, actor: str = "cli") -> int:
    """Add one course session (two hours by default; a named cohort is created on first use and
    holds at most `sessions_per_cohort`). Enrolled clients whose next session this is are
    invited at once."""
    at = _future(at, now)
    place = _text(place, "place", MAX_PLACE)
    cohort_id = await _cohort_id(tx, now, cohort, create=True)
    course = config().course
    if cohort_id is not None:
        count = await tx.value("SELECT COUNT(*) FROM course_sessions WHERE cohort_id = ?"
                               " AND status = 'scheduled'", (cohort_id,))
        if count >= course.sessions_per_cohort:
            raise InputError(f"cohort: {cohort!r} already has {count} sessions")
    session_id = await tx.execute(
        "INSERT INTO course_sessions (cohort_id, starts_at, ends_at, place, created_by,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (cohort_id, iso(at), iso(at + course.session_length), place, actor, iso(now), iso(now)))
    await audit(tx, now, actor, "course.session_added", "course_session", session_id,
                at=iso(at), cohort=cohort)
    await invite_all(tx, now)
    return session_id


async def add_cohort(tx: Tx, now: datetime, *, name: str, first_at: datetime,
                     place: str | None = None, actor: str = "cli") -> list[int]:
    """A cohort of `sessions_per_cohort` weekly sessions at the same local time (DST-safe)."""
    first_at = _future(first_at, now, "first")
    if await tx.value("SELECT 1 FROM course_cohorts WHERE name = ?", (" ".join(name.split()),)):
        raise InputError(f"cohort: {name!r} already exists")
    z = _zone(tx)
    local = first_at.astimezone(z)
    ids = []
    for week in range(config().course.sessions_per_cohort):
        at = local_instant(local.date() + timedelta(weeks=week), local.time(), z)
        ids.append(await add_session(tx, now, at=at, place=place, cohort=name, actor=actor))
    return ids


async def _session(tx: Tx, session_id: int) -> sqlite3.Row:
    row = await tx.one("SELECT * FROM course_sessions WHERE id = ?", (session_id,))
    if row is None:
        raise InputError(f"session: no course session {session_id}")
    return row


async def reschedule_session(tx: Tx, now: datetime, session_id: int, at: datetime, *,
                             actor: str = "cli") -> None:
    """Move a session (same length); every invitee's reminders are re-planned in this
    transaction."""
    row = await _session(tx, session_id)
    if row["status"] != "scheduled":
        raise InputError(f"session {session_id} was cancelled")
    at = _future(at, now)
    told = await _invitees(tx, now, session_id)
    await timers.cancel(tx, now, session_prefix(session_id), "session rescheduled")
    length = datetime.fromisoformat(row["ends_at"]) - datetime.fromisoformat(row["starts_at"])
    await tx.execute("UPDATE course_sessions SET starts_at = ?, ends_at = ?, updated_at = ?"
                     " WHERE id = ?", (iso(at), iso(at + length), iso(now), session_id))
    for client_id in await _enrolled(tx):
        nxt = await next_session(tx, now, client_id)
        if nxt is not None and nxt["id"] == session_id:
            await plan_session_for(tx, now, session_id, client_id, "replace")
        else:
            await invite_next(tx, now, client_id)
    await audit(tx, now, actor, "course.session_rescheduled", "course_session", session_id,
                old_at=row["starts_at"], at=iso(at))
    for client_id in told:
        await _tell_change(tx, now, client_id, "change.moved", "course_session", at,
                           row["place"], f"session:{session_id}")


async def _invitees(tx: Tx, now: datetime, session_id: int) -> list[int]:
    """Enrolled clients for whom this is the next session: those who were told about it."""
    out = []
    for client_id in await _enrolled(tx):
        nxt = await next_session(tx, now, client_id)
        if nxt is not None and nxt["id"] == session_id:
            out.append(client_id)
    return out


async def cancel_session(tx: Tx, now: datetime, session_id: int, *, actor: str = "cli") -> None:
    row = await _session(tx, session_id)
    if row["status"] != "scheduled":
        raise InputError(f"session {session_id} is already cancelled")
    told = await _invitees(tx, now, session_id)
    await tx.execute("UPDATE course_sessions SET status = 'cancelled', updated_at = ?"
                     " WHERE id = ?", (iso(now), session_id))
    await timers.cancel(tx, now, session_prefix(session_id), "session cancelled")
    await timers.cancel(tx, now, f"missed_session:{session_id}:", "session cancelled")
    await audit(tx, now, actor, "course.session_cancelled", "course_session", session_id)
    for client_id in told:
        await _tell_change(tx, now, client_id, "change.cancelled", "course_session",
                           parse_iso(row["starts_at"]), None, f"session:{session_id}")
    await invite_all(tx, now)  # the next session becomes theirs


async def enrol_client(tx: Tx, now: datetime, client_id: int, *, cohort: str | None = None,
                       actor: str = "cli") -> int:
    """Enrol a client in the pre-admission course: invited to their next session (their cohort's
    first, if named) and each one after, until admitted. Returns the enrolment id."""
    client = await _client(tx, client_id)
    if client["stage"] not in INVITED_STAGES:
        raise InputError(f"client: stage {client['stage']} is past the pre-admission course")
    if await tx.value("SELECT 1 FROM course_enrolments WHERE client_id = ? AND status = 'active'",
                      (client_id,)):
        raise InputError("client: already enrolled in the course")
    cohort_id = await _cohort_id(tx, now, cohort, create=False)
    enrolment = await tx.execute(
        "INSERT INTO course_enrolments (client_id, cohort_id, enrolled_at, created_by)"
        " VALUES (?, ?, ?, ?)", (client_id, cohort_id, iso(now), actor))
    await audit(tx, now, actor, "course.enrolled", "client", client_id, enrolment=enrolment,
                cohort=cohort)
    await invite_next(tx, now, client_id)
    return enrolment


async def end_enrolment(tx: Tx, now: datetime, client_id: int, reason: str, *,
                        actor: str = "cli") -> bool:
    """Stop inviting a client (admitted, withdrawn ...); their pending session reminders stop."""
    changed = await tx.execute(
        "UPDATE course_enrolments SET status = 'ended', ended_at = ?, end_reason = ?"
        " WHERE client_id = ? AND status = 'active'", (iso(now), reason, client_id))
    if changed:
        await cancel_client_sessions(tx, now, client_id, f"enrolment ended: {reason}")
        await audit(tx, now, actor, "course.enrolment_ended", "client", client_id, reason=reason)
    return bool(changed)


async def record_attendance(tx: Tx, now: datetime, session_id: int, client_id: int,
                            outcome: str, *, actor: str = "cli") -> None:
    """Attended or missed, per session per client. Either stops that session's remaining
    reminders; a miss tells the officer (ROUTINE finding "missed_session") and schedules the
    "things happen" follow-up. The client is then invited to their next session."""
    if outcome not in OUTCOMES:
        raise InputError(f"outcome: {outcome!r} must be attended or missed")
    session = await _session(tx, session_id)
    if session["status"] != "scheduled":
        raise InputError(f"session {session_id} was cancelled")
    await _client(tx, client_id)
    before = await tx.value("SELECT outcome FROM course_attendance WHERE session_id = ?"
                            " AND client_id = ?", (session_id, client_id))
    if before == outcome:
        return
    await tx.execute(
        "INSERT INTO course_attendance (session_id, client_id, outcome, recorded_by, at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, client_id) DO UPDATE SET"
        " outcome = excluded.outcome, recorded_by = excluded.recorded_by, at = excluded.at",
        (session_id, client_id, outcome, actor, iso(now)))
    await audit(tx, now, actor, f"course.{outcome}", "course_session", session_id,
                client_id=client_id, corrected_from=before)
    await timers.cancel(tx, now, session_prefix(session_id, client_id), f"recorded {outcome}")
    followup_key = f"missed_session:{session_id}:{client_id}"
    if outcome == "missed":
        local = datetime.fromisoformat(session["starts_at"]).astimezone(_zone(tx))
        await raise_finding(tx, now, client_id, "ROUTINE", "missed_session", source="course",
                            detail=f"course session {session_id} on {local:%a %d %b %H:%M}")
        followup = missed_session_followup(
            session_id, client_id, datetime.fromisoformat(session["ends_at"]),
            config().followup_after, await client_quiet(tx, client_id), _zone(tx), now)
        await store(tx, now, [followup], "replace", {"session": session_id})
    else:
        await timers.cancel(tx, now, followup_key, "recorded attended")
    await invite_next(tx, now, client_id)


async def _enrolled(tx: Tx) -> list[int]:
    rows = await tx.all("SELECT client_id FROM course_enrolments WHERE status = 'active'"
                        " ORDER BY client_id")
    return [r[0] for r in rows]


async def next_session(tx: Tx, now: datetime, client_id: int) -> sqlite3.Row | None:
    """The session a client is invited to next: the first not yet started and not yet recorded
    for them, from their own cohort while it has sessions left, else from any cohort."""
    cohort = await tx.value("SELECT cohort_id FROM course_enrolments WHERE client_id = ?"
                            " AND status = 'active'", (client_id,))
    return await tx.one(
        "SELECT s.* FROM course_sessions s WHERE s.status = 'scheduled' AND s.starts_at > ?"
        " AND NOT EXISTS (SELECT 1 FROM course_attendance a WHERE a.session_id = s.id"
        " AND a.client_id = ?) ORDER BY CASE WHEN s.cohort_id = ? THEN 0 ELSE 1 END,"
        " s.starts_at, s.id LIMIT 1", (iso(now), client_id, cohort))


async def invite_next(tx: Tx, now: datetime, client_id: int) -> int | None:
    """Make sure an enrolled client has reminders for their next session (revive mode: never
    re-sends). An admitted client's enrolment ends instead. Returns the session id invited to."""
    stage = await tx.value(
        "SELECT c.stage FROM course_enrolments e JOIN clients c ON c.id = e.client_id"
        " WHERE e.client_id = ? AND e.status = 'active'", (client_id,))
    if stage is None:
        return None
    if stage not in INVITED_STAGES:
        await end_enrolment(tx, now, client_id, "admitted" if stage in _ADMITTED else stage,
                            actor="system")
        return None
    nxt = await next_session(tx, now, client_id)
    if nxt is None:
        return None
    await plan_session_for(tx, now, nxt["id"], client_id, "revive")
    return int(nxt["id"])


async def invite_all(tx: Tx, now: datetime) -> int:
    """invite_next for every active enrolment (after a session is added or cancelled, and daily)."""
    invited = 0
    for client_id in await _enrolled(tx):
        invited += await invite_next(tx, now, client_id) is not None
    return invited


_ADMITTED = frozenset({"in_rehab", "completed", "discharged_early", "aftercare"})
