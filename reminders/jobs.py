"""Timer handlers for reminders, check-ins and the daily planner (imported at service start).

Each runs inside the clock loop's claim transaction (bot.core.timers.run_due), so what it sends and
the row's 'done' commit together: a restart or a second claimer never sends twice. Every
non-safety send first asks reminders.schedule.catchup.decide_late, which covers late rows after downtime
and quiet hours: a reminder whose event has passed is dropped (outcome + audit), one still
before its event goes late; a check-in past its window is skipped, never sent at night.

Reminder + confirmation: a reminder that invites confirmation sends its own text (reminders.po:
date, place, consequence, a nudge to plan, no question) and then starts the
appointment_confirmation flow, whose first message is the one question ("OK for <when> at
<place>? 1 yes 2 no 3 can't make it"; then "How will you get there?" when the plan entry has
plan_prompt). One question, with the flow's own answer options; "no" / "can't make it" raise the
flow's ROUTINE finding, which tells the officer.

Timer kinds: reminder, checkin, scale, missed_session, missed_checkin, plan_day.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.conversation import CONFIRM_FLOW, active_session, apply, start_flow
from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx
from bot.core.messaging import ClientInfo, say, under_watch
from bot.core.texts import format_when, render
from bot.escalation.findings import raise_finding
from flows import engine, registry
from reminders import calendar, due, planner
from reminders.schedule import checkins_for_day, missed_checkin_deadline, missed_checkin_finding
from reminders.schedule.budget import scale_gate
from reminders.schedule.catchup import superseded
from reminders.schedule.model import MONTHLY_PARTS, SendKind
from reminders.texts import reminder_params
from reminders.timer_rows import config, utc

log = logging.getLogger(__name__)

# Outcomes of a check-in row that count as "asked" for missed-check-in counting.
ASKED = ("started", "queued")
MISSED_SESSION_TEXT = "reminder.course_session.missed"
MISSED_SESSION_NO_NEXT = "reminder.course_session.missed_no_next"


async def on_start(db: Database, now: datetime) -> None:
    """Service start: today's and tomorrow's plans exist or are due (bot.service START_MODULES)."""
    await db.write(lambda tx: planner.ensure_plans(tx, now))


# Shared steps ---------------------------------------------------------------------------------

def _flow_outcome(result: str) -> str:
    """start_flow's answer as a row outcome: started, queued, or skipped (and why)."""
    if result in ("started", "wait", "deferred"):
        # wait / deferred: it starts when the running flow ends, or when quiet hours end.
        return "started" if result == "started" else "queued"
    if result == "skip":
        return "skipped: the same flow is already running"
    return result if result.startswith("skipped") else f"skipped: {result}"


def _confirm_params(client: ClientInfo, event_at: datetime, place: str | None, kind: str,
                    plan_prompt: bool, ref: dict[str, Any], tz: str) -> dict[str, Any]:
    """Params of appointment_confirmation: {when}, {place} (the kind's label when no place
    was recorded: "OK for ... at court?"), {what}, ask_travel; event_at and the calendar ref
    are kept with the session."""
    label = render(f"reminder.place.{kind}", locale=client.language)
    return {"when": format_when(event_at, tz, client.language), "place": place or label,
            "what": label, "ask_travel": plan_prompt, "event_at": iso(event_at), **ref}


async def _confirm(tx: Tx, now: datetime, client: ClientInfo, params: dict[str, Any],
                   cause: str) -> str:
    """Start the confirmation flow. A confirmation still open about an event that has passed
    (no reply, not yet expired) makes way: otherwise the new question would be skipped."""
    active = await active_session(tx, client.id)
    if active is not None:
        sid, session, flow = active
        asked_about = session.params.get("event_at")
        if flow.id == CONFIRM_FLOW and asked_about and parse_iso(asked_about) <= now:
            await apply(tx, now, client, sid, engine.end(flow, session, now, "interrupted"))
    return _flow_outcome(await start_flow(tx, now, client.id, CONFIRM_FLOW, params=params,
                                          cause=cause))


# Reminders ------------------------------------------------------------------------------------

async def _event(tx: Tx, timer: timers.Timer) -> dict[str, Any] | str:
    """What the reminder is about, checked against the calendar now: a dict (kind, place), or
    why it no longer applies. Cancels and reschedules already cancel rows in their own
    transaction; this re-check makes "a stale reminder is never sent" hold regardless."""
    p = timer.payload
    if "appointment" in p:
        a = await tx.one("SELECT kind, at, place, status FROM appointments WHERE id = ?",
                         (p["appointment"],))
        if a is None or a["status"] != "scheduled":
            return "appointment no longer scheduled"
        if a["at"] != p["event_at"]:
            return "appointment moved"
        return {"kind": a["kind"], "place": a["place"], "ref": {"appointment": p["appointment"]}}
    s = await tx.one("SELECT starts_at, place, status FROM course_sessions WHERE id = ?",
                     (p["session"],))
    if s is None or s["status"] != "scheduled":
        return "session cancelled"
    if s["starts_at"] != p["event_at"]:
        return "session moved"
    if await tx.value("SELECT 1 FROM course_attendance WHERE session_id = ? AND client_id = ?",
                      (p["session"], timer.client_id)):
        return "attendance recorded"
    stage = await tx.value(
        "SELECT c.stage FROM course_enrolments e JOIN clients c ON c.id = e.client_id"
        " WHERE e.client_id = ? AND e.status = 'active'", (timer.client_id,))
    if stage is None:
        return "not enrolled"
    if stage not in calendar.INVITED_STAGES:
        return f"client is {stage}"
    return {"kind": "course_session", "place": s["place"], "ref": {"session": p["session"]}}


async def _superseded(tx: Tx, timer: timers.Timer, now: datetime) -> bool:
    """After downtime, of several due reminders for one event only the latest is sent."""
    event = timer.key.rsplit(":", 1)[0] + ":"
    rows = await tx.all("SELECT key, due_at FROM timers WHERE status = 'pending' AND key >= ?"
                        " AND key < ? AND due_at <= ? AND id <> ?",
                        (event, event + "\uffff", iso(now), timer.id))
    due = [(timer.key, timer.due_at)] + [(r[0], parse_iso(r[1])) for r in rows]
    return timer.key in superseded(due)


@timers.handles("reminder")
async def reminder(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    p = timer.payload
    event_at = utc(p["event_at"])
    event = await _event(tx, timer)
    if isinstance(event, str):
        await audit(tx, now, "system", "reminder.dropped", "timer", timer.id, key=timer.key,
                    reason=event)
        return f"dropped: {event}"
    late = await due.late(tx, timer, now, "reminder", event_at, None)
    if late is not None:
        return late
    if await _superseded(tx, timer, now):
        return "skipped: a later reminder for the same event is due"
    reach = await due.reach(tx, now, int(timer.client_id or 0), "reminder",
                            f"reminder {p['message']}")
    if isinstance(reach, str):
        return reach
    client, ident = reach
    tz = tx.settings.timezone
    sent = await say(tx, now, ident, p["message"],
                     reminder_params(client.first_name, event_at, tz, client.language,
                                     event["place"], event["kind"],
                                     await calendar.place_alias(tx, client.id, event["place"])),
                     client=client, cause=f"timer:{timer.key}", purpose="reminder",
                     dedupe_key=f"{timer.key}@{p['event_at']}")
    if sent is None:
        return "skipped: already sent"
    if not p.get("confirm"):
        return "sent"
    params = _confirm_params(client, event_at, event["place"], event["kind"],
                             bool(p.get("plan_prompt")), event["ref"], tz)
    result = await _confirm(tx, now, client, params, f"reminder:{timer.key}")
    return f"sent; confirmation {result}"


# Check-ins and scales -------------------------------------------------------------------------

async def _still_planned(tx: Tx, timer: timers.Timer) -> bool:
    """The client's stage or cadence may have changed since the plan: ask the planner again."""
    day = timer.payload.get("day")
    if day is None:
        return True
    schedules = await planner.client_schedules(tx, timer.client_id)
    cfg = config()
    keys = {s.key for s in checkins_for_day(schedules, date.fromisoformat(day),
                                            tx.settings.timezone, cfg.checkins, cfg.quiet)}
    return timer.key in keys


QUESTIONNAIRES = ("daily_checkin", "weekly_checkin", *MONTHLY_PARTS)


def _questions(flow_id: str) -> int:
    return sum(1 for s in registry.latest(flow_id).questions if not s.safety_question)


async def _scale_budget(tx: Tx, timer: timers.Timer, now: datetime, client_id: int) -> str | None:
    """The question budget and spacing (reminders.schedule.budget): None to go ahead, or the
    row's outcome after re-arming it later (same key, window moved with it) or skipping it."""
    cfg = config().checkins
    z = ZoneInfo(tx.settings.timezone)
    midnight = datetime.combine(now.astimezone(z).date(), time(0), z)
    marks = ",".join("?" * len(QUESTIONNAIRES))
    rows = await tx.all(
        f"SELECT flow_id, status, started_at, ended_at FROM flow_sessions WHERE client_id = ?"
        f" AND flow_id IN ({marks}) AND status NOT IN ('waiting', 'skipped')"
        f" AND (status = 'active' OR ended_at >= ?)",
        (client_id, *QUESTIONNAIRES, iso(midnight - cfg.scale_gap)))
    ends = [parse_iso(r["ended_at"]) for r in rows if r["ended_at"]]
    gate = scale_gate(
        now, running=any(r["status"] == "active" for r in rows),
        last_end=max(ends) if ends else None,
        asked_today=sum(_questions(r["flow_id"]) for r in rows
                        if parse_iso(r["started_at"]) >= midnight),
        questions=_questions(timer.payload["flow"]), budget=cfg.question_budget,
        gap=cfg.scale_gap)
    if gate.action == "go":
        return None
    p = dict(timer.payload)
    deferred = int(p.get("deferred", 0))
    if gate.action == "next_day":
        if deferred >= cfg.scale_defer_days:
            await audit(tx, now, "system", "scale.skipped_budget", "timer", timer.id,
                        key=timer.key)
            return "skipped: question budget"
        at, p["deferred"] = timer.due_at + timedelta(days=1), deferred + 1
    else:
        at = gate.until or now
    shift = at - timer.due_at
    p["window_end"] = iso(utc(p["window_end"]) + shift)
    await timers.schedule(tx, now, timer.key, timer.kind, at, client_id=client_id, payload=p)
    return f"held until {iso(at)}: " + ("question budget" if gate.action == "next_day"
                                        else "another questionnaire")


async def _scale_today(tx: Tx, now: datetime, client_id: int) -> bool:
    """A scale is due today, or already asked today: it stands in for the check-in, which
    would break the question budget (never "that's all for today" and then 10 more questions).
    The watch's check-in, with its safety question, always goes."""
    z = ZoneInfo(tx.settings.timezone)
    midnight = datetime.combine(now.astimezone(z).date(), time(0), z)
    scales = QUESTIONNAIRES[1:]
    if await tx.value(
            "SELECT 1 FROM timers WHERE client_id = ? AND kind = 'scale' AND status = 'pending'"
            " AND due_at < ? LIMIT 1", (client_id, iso(midnight + timedelta(days=1)))):
        return True
    return bool(await tx.value(
        f"SELECT 1 FROM flow_sessions WHERE client_id = ? AND flow_id IN"
        f" ({','.join('?' * len(scales))}) AND status NOT IN ('waiting', 'skipped')"
        f" AND started_at >= ? LIMIT 1", (client_id, *scales, iso(midnight))))


async def _checkin(tx: Tx, timer: timers.Timer, now: datetime, kind: SendKind) -> str:
    p = timer.payload
    late = await due.late(tx, timer, now, kind, None, utc(p["window_end"]))
    if late is not None:
        return late
    if not await _still_planned(tx, timer):
        return "skipped: no longer planned"
    reach = await due.reach(tx, now, int(timer.client_id or 0), "checkin", f"{kind} {p['flow']}")
    if isinstance(reach, str):
        return reach
    client, _ = reach
    if kind == "scale":
        held = await _scale_budget(tx, timer, now, client.id)
        if held is not None:
            return held
    elif not p.get("safety_question") and await _scale_today(tx, now, client.id):
        return "skipped: a scale stood in for today's check-in"
    outcome = _flow_outcome(await start_flow(tx, now, client.id, p["flow"],
                                             cause=f"timer:{timer.key}"))
    if kind == "checkin" and outcome in ASKED:
        heightened = client.heightened(now)
        deadline = missed_checkin_deadline(now, heightened, config().checkins)
        await timers.schedule(tx, now, f"missed_checkin:{client.id}:{p.get('day', iso(now)[:10])}",
                              "missed_checkin", deadline, client_id=client.id,
                              payload={"sent_at": iso(now), "checkin": timer.key},
                              replace=False)
    return outcome


@timers.handles("checkin")
async def checkin(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    return await _checkin(tx, timer, now, "checkin")


@timers.handles("scale")
async def scale(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    return await _checkin(tx, timer, now, "scale")


@timers.handles("missed_checkin")
async def missed_checkin(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    """Silence since a check-in was sent, 24h in the heightened window (72h otherwise): the
    check-ins asked since the last reply count as consecutive misses, and an AMBER finding
    "missed_checkins" goes to escalation, once per silence."""
    cid = int(timer.client_id or 0)
    sent_at = utc(timer.payload["sent_at"])
    last_reply = await tx.value("SELECT MAX(received_at) FROM inbound WHERE client_id = ?",
                                (cid,))
    if last_reply is not None and parse_iso(last_reply) >= sent_at:
        return "answered"
    began = await tx.value(
        "SELECT MIN(done_at) FROM timers WHERE client_id = ? AND kind = 'checkin'"
        " AND status = 'done' AND outcome IN (?, ?)", (cid, *ASKED))
    since = parse_iso(last_reply or began or iso(sent_at))
    heightened_until = await tx.value("SELECT heightened_until FROM clients WHERE id = ?", (cid,))
    heightened = under_watch(heightened_until, now)
    cfg = config().checkins
    # Never replied: the silence counts from the first check-in, which is itself "asked".
    asked = sent_at if last_reply is not None else None
    if not missed_checkin_finding(since, now, heightened, cfg, last_sent_at=asked):
        return "missed; silence below the threshold"
    misses = await tx.value(
        "SELECT COUNT(*) FROM timers WHERE client_id = ? AND kind = 'checkin' AND status = 'done'"
        " AND outcome IN (?, ?) AND done_at >= ? AND done_at <= ?",
        (cid, *ASKED, iso(since), iso(now - cfg.window)))
    if await tx.value("SELECT 1 FROM findings WHERE client_id = ? AND reason = 'missed_checkins'"
                      " AND at > ?", (cid, iso(since))):
        return f"missed ({misses} in a row); already raised"
    hours = int((now - since) / timedelta(hours=1))
    await raise_finding(tx, now, cid, "AMBER", "missed_checkins", source="reminders",
                        detail=f"{misses} check-ins in a row unanswered; no reply for {hours}h")
    return f"missed ({misses} in a row); finding raised"


# Course follow-up -----------------------------------------------------------------------------

@timers.handles("missed_session")
async def missed_session(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    """"Things happen": sent after a recorded miss, then the confirmation flow for the next
    session, so a reply rebooks (yes) or tells the officer (no / can't make it)."""
    cid = int(timer.client_id or 0)
    session_id = int(timer.payload["session"])
    recorded = await tx.value("SELECT outcome FROM course_attendance WHERE session_id = ?"
                              " AND client_id = ?", (session_id, cid))
    if recorded != "missed":
        return f"stale: attendance is {recorded}"
    late = await due.late(tx, timer, now, "followup", None, None)
    if late is not None:
        return late
    reach = await due.reach(tx, now, cid, "reminder", "after a missed course session")
    if isinstance(reach, str):
        return reach
    client, ident = reach
    nxt_id = await calendar.invite_next(tx, now, cid)
    nxt = await tx.one("SELECT starts_at, place FROM course_sessions WHERE id = ?",
                       (nxt_id,)) if nxt_id else None
    cause = f"timer:{timer.key}"
    if nxt is None:
        await say(tx, now, ident, MISSED_SESSION_NO_NEXT, client=client, cause=cause,
                  purpose="reminder")
        return "sent; no next session"
    await say(tx, now, ident, MISSED_SESSION_TEXT, client=client, cause=cause, purpose="reminder")
    tz = tx.settings.timezone
    params = _confirm_params(client, utc(nxt["starts_at"]), nxt["place"], "course_session",
                             True, {"session": nxt_id}, tz)
    return f"sent; rebooking {await _confirm(tx, now, client, params, cause)}"


# The daily planner ----------------------------------------------------------------------------

@timers.handles(planner.PLAN_KIND)
async def plan_day(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    return await planner.run_plan(tx, now, planner.day_of_key(timer.key),
                                  after=int(timer.payload.get("after", 0)),
                                  so_far=int(timer.payload.get("sends", 0)))

