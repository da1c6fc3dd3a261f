"""Where the pure flow engine meets the database: load a session, step it, apply its effects.

Everything here runs inside the caller's transaction, so a step's answers, scores, findings,
timers, outbox rows and new session state commit together or not at all. One client's messages
are handled strictly in order because every write goes through the single writer, in arrival
order, and the database allows one active session per client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, client_identity, client_params, load_client, say
from bot.core.outbox import PRIORITY_ESCALATION, PRIORITY_SAFETY, allowed_from, enqueue
from bot.core.phones import mask_phone
from bot.core.texts import render
from bot.escalation.findings import raise_finding
from bot.inbound import StoredInbound
from flows import engine, registry
from flows.client import ClientView, History
from flows.crisis import crisis_params as _crisis_params
from flows.effects import (
    CancelTimers,
    FlowEnded,
    RaiseFinding,
    SaveAnswer,
    SaveScore,
    Say,
    SetTimer,
    Step,
    UpdateClient,
)
from flows.intents import Intent, classify
from flows.model import Flow
from flows.session import Expire, Reply, Reprompt, SessionState

log = logging.getLogger(__name__)

ONBOARDING = "onboarding_consent"
CLIENT_FIELDS = {"preferred_channel", "checkin_time", "language", "discreet", "codeword"}


def crisis_params() -> dict[str, str]:
    return _crisis_params()


def view(client: ClientInfo, now: datetime) -> ClientView:
    heightened = bool(client.heightened_until and parse_iso(client.heightened_until) > now)
    return ClientView(first_name=client.first_name, language=client.language,
                      discreet=client.discreet, in_heightened_window=heightened,
                      codeword=client.codeword, consented=client.consented,
                      officer_first_name=client.officer_first_name)


HISTORY_KEYS = ("craving_24h", "ons_happy", "ons_anxious", "time_with_users")


async def history(tx: Tx, client_id: int, now: datetime, before_session: int | None) -> History:
    """Earlier answers for the within-person risk rules (not those of the running session).

    One statement: this runs on every step of every flow, on the hot path.
    """
    week_ago = iso(now - timedelta(days=7))
    skip = before_session or -1
    rows = await tx.all(
        "SELECT question_key, value, at FROM answers WHERE client_id = ? AND at >= ?"
        " AND question_key IN (?, ?, ?, ?) AND status = 'answered'"
        " AND COALESCE(session_id, -1) <> ?"
        " UNION ALL SELECT 'last_use', NULL, MAX(at) FROM answers WHERE client_id = ?"
        " AND question_key = 'used_since_last' AND value = 'true'"
        " UNION ALL SELECT 'phq4', detail, MAX(at) FROM scores WHERE client_id = ?"
        " AND scale_id = 'phq4' AND COALESCE(session_id, -1) <> ?"
        " ORDER BY 3",
        (client_id, week_ago, *HISTORY_KEYS, skip, client_id, client_id, skip))
    series: dict[str, list[Any]] = {k: [] for k in HISTORY_KEYS}
    last_use: str | None = None
    subs: dict[str, int] = {}
    two_days_ago = iso(now - timedelta(days=2))
    for key, value, at in rows:
        if key == "last_use":
            last_use = at
        elif key == "phq4":
            subs = json.loads(value).get("subscales", {}) if value else {}
        elif value is not None and (key != "ons_anxious" or at >= two_days_ago):
            series[key].append(json.loads(value))
    cravings = [v for v in series["craving_24h"] if isinstance(v, int)]
    happy = [v for v in series["ons_happy"] if isinstance(v, int)]
    anxious, users = series["ons_anxious"], series["time_with_users"]
    return History(
        craving_last_7_days=tuple(cravings),
        ons_happy_last_7_days=tuple(happy),
        previous_ons_anxious=anxious[-1] if anxious else None,
        last_use_at=parse_iso(last_use) if last_use else None,
        last_phq4_anxiety=subs.get("anxiety"),
        last_phq4_depression=subs.get("depression"),
        recent_time_with_users=users[-1] if users else None,
    )


async def active_session(tx: Tx, client_id: int) -> tuple[int, SessionState, Flow] | None:
    row = await tx.one("SELECT id, state FROM flow_sessions WHERE client_id = ?"
                       " AND status = 'active'", (client_id,))
    if row is None:
        return None
    session = SessionState.from_json(row[1])
    return row[0], session, registry.get(session.flow_id, session.flow_version)


async def apply(tx: Tx, now: datetime, client: ClientInfo, session_id: int, step: Step, *,
                identity: Identity | None = None, inbound_id: int | None = None) -> None:
    """Apply a step's effects in order, then store the new session state (or close it)."""
    ident = identity or await client_identity(tx, client)
    discreet = client.discreet
    ended: str | None = None
    flow_id = step.session.flow_id if step.session else next(
        (e.flow_id for e in step.effects if isinstance(e, FlowEnded)), None)
    # A question's reprompt and expiry share one timer row that re-arms itself: one write
    # per step instead of three (this is the hot path).
    set_timers = sorted((e for e in step.effects if isinstance(e, SetTimer)),
                        key=lambda e: e.due_at)
    for effect in step.effects:
        if isinstance(effect, Say):
            if ident is None:
                continue  # no way to reach them; the answers and findings still stand
            text = render(effect.message_key, {**_params(client), **effect.params},
                          locale=client.language, discreet=effect.discreet or discreet)
            await enqueue(tx, now, ident, text, message_key=effect.message_key,
                          safety=effect.safety,
                          priority=PRIORITY_SAFETY if effect.safety else 0,
                          cause=f"flow:{session_id}", reply=inbound_id is not None)
        elif isinstance(effect, SaveAnswer):
            await tx.execute(
                "INSERT INTO answers (client_id, session_id, flow_id, question_key, raw_text,"
                " value, status, inbound_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client.id, session_id, flow_id or await _flow_id(tx, session_id),
                 effect.question_key,
                 effect.raw_text, None if effect.value is None else json.dumps(effect.value),
                 effect.status, inbound_id, iso(now)))
        elif isinstance(effect, SaveScore):
            await tx.execute(
                "INSERT INTO scores (client_id, session_id, scale_id, total, detail, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (client.id, session_id, effect.scale_id, effect.total,
                 json.dumps({"subscales": dict(effect.subscales), "bands": dict(effect.bands),
                             "flags": dict(effect.flags)}, sort_keys=True), iso(now)))
        elif isinstance(effect, RaiseFinding):
            detail = effect.detail + (" [safety follow-up]" if effect.safety_followup else "")
            await raise_finding(tx, now, client.id, effect.severity, effect.reason,
                                source="answer", detail=detail, session_id=session_id,
                                inbound_id=inbound_id)
        elif isinstance(effect, SetTimer):
            if effect is set_timers[0]:
                await timers.schedule(
                    tx, now, f"flow:{session_id}:timeout", "flow_timeout", effect.due_at,
                    client_id=client.id, payload={"session": session_id, "events": [
                        [e.timer, iso(e.due_at), e.seq] for e in set_timers]})
        elif isinstance(effect, CancelTimers):
            if not set_timers:
                await timers.cancel(tx, now, f"flow:{session_id}:")
        elif isinstance(effect, UpdateClient):
            discreet = await _update_client(tx, now, client, effect, discreet)
        elif isinstance(effect, FlowEnded):
            ended = effect.outcome
    if step.session is not None and ended is None:
        await tx.execute("UPDATE flow_sessions SET state = ?, updated_at = ? WHERE id = ?",
                         (step.session.to_json(), iso(now), session_id))
    else:
        status = {"escalated": "stopped"}.get(ended or "completed", ended or "completed")
        await tx.execute(
            "UPDATE flow_sessions SET status = ?, updated_at = ?, ended_at = ? WHERE id = ?",
            (status, iso(now), iso(now), session_id))
        await timers.cancel(tx, now, f"flow:{session_id}:")
        # After a crisis nothing resumes; an interrupted flow makes way for its interrupter.
        if ended not in ("escalated", "interrupted"):
            await _start_next_waiting(tx, now, client.id)


async def _flow_id(tx: Tx, session_id: int) -> str:
    return str(await tx.value("SELECT flow_id FROM flow_sessions WHERE id = ?", (session_id,)))


def _params(client: ClientInfo) -> dict[str, Any]:
    return client_params(client)


async def _update_client(tx: Tx, now: datetime, client: ClientInfo, effect: UpdateClient,
                         discreet: bool) -> bool:
    """Returns the discreet flag to use for the rest of this step's texts."""
    if effect.field == "consent":
        value = effect.value if isinstance(effect.value, Mapping) else {"given": effect.value}
        given = bool(value.get("given"))
        await tx.execute(
            "UPDATE clients SET consent_at = ?, consent_wording = ?, consent_method = ?"
            " WHERE id = ?",
            (iso(now) if given else None, value.get("wording_version") if given else None,
             "message" if given else None, client.id))
        await audit(tx, now, f"client:{client.id}", "client.consent", "client", client.id,
                    given=given, wording=value.get("wording_version"))
        if given:
            from reminders.planner import plan_client

            await plan_client(tx, now, client.id)
        return discreet
    if effect.field not in CLIENT_FIELDS:
        raise ValueError(f"flows may not set client field {effect.field!r}")
    value = effect.value
    if effect.field == "discreet":
        value = int(bool(value))
        discreet = bool(value)
    await tx.execute(f"UPDATE clients SET {effect.field} = ? WHERE id = ?", (value, client.id))
    if effect.field == "checkin_time":
        from reminders.planner import plan_client

        await plan_client(tx, now, client.id)
    await audit(tx, now, f"client:{client.id}", "client.updated", "client", client.id,
                field=effect.field)
    return discreet


# Starting flows ------------------------------------------------------------------------------

async def start_flow(tx: Tx, now: datetime, client_id: int, flow_id: str, *,
                     officer_started: bool = False, params: Mapping[str, Any] | None = None,
                     cause: str | None = None, inbound_id: int | None = None) -> str:
    """Start `flow_id` now, or queue it, or skip it, by priority. Returns what happened."""
    flow = registry.latest(flow_id)
    client = await load_client(tx, client_id)
    if client is None:
        raise LookupError(f"no client {client_id}")
    if flow.requires_consent and not client.consented:
        return "skipped: no consent"
    if inbound_id is None:
        # Not a reply to the client: a questionnaire never starts in their quiet hours, or its
        # timeouts would run out overnight. It starts when quiet hours end.
        allowed = await allowed_from(tx, client_id, now)
        if allowed > now:
            await timers.schedule(tx, now, f"flowstart:{client_id}:{flow_id}", "flow_start",
                                  allowed, client_id=client_id,
                                  payload={"flow": flow_id, "officer": officer_started,
                                           "params": dict(params or {}), "cause": cause})
            return "deferred"
    active = await active_session(tx, client_id)
    decision = engine.decide_start(active[1] if active else None, active[2] if active else None,
                                   flow, officer_started)
    if decision in ("wait", "skip"):
        if decision == "wait":
            await tx.execute(
                "INSERT INTO flow_sessions (client_id, flow_id, flow_version, state, status,"
                " officer_started, cause, started_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'waiting', ?, ?, ?, ?)",
                (client_id, flow.id, flow.version, json.dumps(dict(params or {})),
                 int(officer_started), cause, iso(now), iso(now)))
        return decision
    if decision == "replace" and active is not None:
        sid, session, running = active
        await apply(tx, now, client, sid, engine.end(running, session, now, "interrupted"))
    return await _begin(tx, now, client, flow, officer_started, params, cause, inbound_id)


async def _begin(tx: Tx, now: datetime, client: ClientInfo, flow: Flow, officer_started: bool,
                 params: Mapping[str, Any] | None, cause: str | None,
                 inbound_id: int | None = None) -> str:
    session_id = await tx.execute(
        "INSERT INTO flow_sessions (client_id, flow_id, flow_version, state, status,"
        " officer_started, cause, started_at, updated_at) VALUES (?, ?, ?, '{}', 'active', ?, ?,"
        " ?, ?)", (client.id, flow.id, flow.version, int(officer_started), cause, iso(now),
                   iso(now)))
    step = engine.start(flow, view(client, now), now, params=params,
                        officer_started=officer_started,
                        history=await history(tx, client.id, now, session_id))
    await apply(tx, now, client, session_id, step, inbound_id=inbound_id)
    return "started"


async def _start_next_waiting(tx: Tx, now: datetime, client_id: int) -> None:
    row = await tx.one("SELECT id, flow_id, officer_started, state, cause FROM flow_sessions"
                       " WHERE client_id = ? AND status = 'waiting' ORDER BY id LIMIT 1",
                       (client_id,))
    if row is None:
        return
    await tx.execute("UPDATE flow_sessions SET status = 'skipped', ended_at = ? WHERE id = ?",
                     (iso(now), row[0]))
    await start_flow(tx, now, client_id, row[1], officer_started=bool(row[2]),
                     params=json.loads(row[3] or "{}"), cause=row[4])


async def after_client_added(tx: Tx, now: datetime, client_id: int) -> None:
    """A client without recorded consent gets the onboarding flow, and nothing else, first."""
    client = await load_client(tx, client_id)
    if client and not client.consented and await client_identity(tx, client) is not None:
        await start_flow(tx, now, client_id, ONBOARDING, cause="client_added")


async def after_linked(tx: Tx, now: datetime, client_id: int) -> None:
    if await active_session(tx, client_id) is None:
        await after_client_added(tx, now, client_id)


# Inbound from a client -------------------------------------------------------------------------

async def client_reply(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                       now: datetime, active: tuple[int, SessionState, Flow] | None) -> None:
    if active is not None:
        sid, session, flow = active
        step = engine.step(flow, session, Reply(stored.message.body), view(client, now), now,
                           history=await history(tx, client.id, now, sid))
        await apply(tx, now, client, sid, step, identity=ident, inbound_id=stored.id)
        return
    if not client.consented:
        # They wrote to us: the onboarding question is a reply, whatever the hour.
        await start_flow(tx, now, client.id, ONBOARDING, cause=f"inbound:{stored.id}",
                         inbound_id=stored.id)
        return
    # Not an answer to anything: it is on the officer's timeline; tell the client so.
    await say(tx, now, ident, "free_text.thanks", client=client, cause=f"inbound:{stored.id}",
              reply=True)


async def crisis(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                 now: datetime) -> None:
    """Crisis words: the crisis text at once, the questionnaire stops, a RED finding."""
    active = await active_session(tx, client.id)
    found = classify(stored.message.body,
                     safety_question_pending=bool(active and engine.safety_question_pending(
                         active[2], active[1])))
    assert found is not None and found.intent is Intent.CRISIS
    # No more survey items after a RED: queued questionnaires are dropped, not just paused.
    await tx.execute("UPDATE flow_sessions SET status = 'skipped', ended_at = ?"
                     " WHERE client_id = ? AND status = 'waiting'", (iso(now), client.id))
    step = engine.crisis(found, view(client, now), now,
                         flow=active[2] if active else None, session=active[1] if active else None)
    if active is not None:
        await apply(tx, now, client, active[0], step, identity=ident, inbound_id=stored.id)
    else:
        await apply_loose(tx, now, client, step, ident, stored.id)


async def apply_loose(tx: Tx, now: datetime, client: ClientInfo, step: Step, ident: Identity,
                      inbound_id: int) -> None:
    """Effects that come with no flow session (a crisis or call-me outside any flow)."""
    for effect in step.effects:
        if isinstance(effect, RaiseFinding):
            await raise_finding(tx, now, client.id, effect.severity, effect.reason,
                                source="answer", detail=effect.detail, inbound_id=inbound_id)
        elif isinstance(effect, Say):
            text = render(effect.message_key, {**_params(client), **effect.params},
                          locale=client.language, discreet=effect.discreet or client.discreet)
            await enqueue(tx, now, ident, text, message_key=effect.message_key,
                          safety=effect.safety,
                          priority=PRIORITY_SAFETY if effect.safety else 0,
                          cause=f"inbound:{inbound_id}", reply=True)


def safety_pending(active: tuple[int, SessionState, Flow] | None) -> bool:
    return bool(active and engine.safety_question_pending(active[2], active[1]))


async def callback_request(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                           now: datetime) -> None:
    found = classify(stored.message.body)
    assert found is not None
    active = await active_session(tx, client.id)
    step = engine.callback(found, view(client, now), session=active[1] if active else None)
    if active is not None:
        await apply(tx, now, client, active[0], step, identity=ident, inbound_id=stored.id)
    else:
        await apply_loose(tx, now, client, step, ident, stored.id)


async def crisis_unmatched(tx: Tx, stored: StoredInbound, now: datetime) -> None:
    """Crisis words from a number we do not know (often a client's new phone): the crisis
    contacts to them, and an alert to the duty officer and supervisors to check who it is."""
    msg = stored.message
    nobody = Identity(None, msg.channel, msg.address, None, None, False)
    await say(tx, now, nobody, "crisis.reply", crisis_params(), safety=True,
              priority=PRIORITY_SAFETY, cause=f"inbound:{stored.id}")
    from bot.escalation.alerts import duty

    staff = {await duty(tx, now, "duty_officer")}
    staff |= {r[0] for r in await tx.all(
        "SELECT id FROM staff WHERE role = 'supervisor' AND active = 1")}
    label = mask_phone(msg.address) if msg.channel == "sms" else f"{msg.channel} {msg.address}"
    for staff_id in staff - {None}:
        from bot.core.identities import identities_of

        for target in (await identities_of(tx, staff_id=staff_id))[:1]:
            await say(tx, now, target, "escalation.unmatched_crisis",
                      {"from": label, "inbound": stored.id}, safety=True,
                      priority=PRIORITY_ESCALATION, cause=f"inbound:{stored.id}")
    await audit(tx, now, "system", "crisis.unmatched", "inbound", stored.id)


# Timers -------------------------------------------------------------------------------------

async def _timer_step(tx: Tx, timer: timers.Timer, now: datetime, event: Reprompt | Expire) -> str:
    sid = int(timer.payload["session"])
    row = await tx.one("SELECT client_id, state, status FROM flow_sessions WHERE id = ?", (sid,))
    if row is None or row["status"] != "active":
        return "stale"
    session = SessionState.from_json(row["state"])
    flow = registry.get(session.flow_id, session.flow_version)
    client = await load_client(tx, row["client_id"])
    assert client is not None
    step = engine.step(flow, session, event, view(client, now), now,
                       history=await history(tx, client.id, now, sid))
    await apply(tx, now, client, sid, step)
    return "stepped"


@timers.handles("flow_start")
async def _deferred_start(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    p = timer.payload
    assert timer.client_id is not None
    return await start_flow(tx, now, timer.client_id, p["flow"], officer_started=p["officer"],
                            params=p["params"], cause=p["cause"])


@timers.handles("flow_timeout")
async def _timeout(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    (kind, _, seq), *rest = timer.payload["events"]
    if rest:
        # Re-arm for the next event first; if this step sets new timers, they replace it.
        await timers.schedule(tx, now, timer.key, timer.kind, parse_iso(rest[0][1]),
                              client_id=timer.client_id,
                              payload={**timer.payload, "events": rest})
    if kind == "reprompt":
        # A nudge that would land in quiet hours is dropped, not held till morning: by then
        # the question may have expired and a stray question would only confuse.
        if timer.client_id is not None and await allowed_from(tx, timer.client_id, now) > now:
            return "skipped: quiet hours"
        return await _timer_step(tx, timer, now, Reprompt(seq))
    return await _timer_step(tx, timer, now, Expire(seq))


# Staff --------------------------------------------------------------------------------------

async def officer_message(tx: Tx, now: datetime, client_id: int, text: str, actor: str) -> int:
    """An officer's own words to a client, sent as written on the client's usual channel."""
    text = text.strip()
    if not text or len(text) > 1000:
        raise ValueError("text: 1-1000 characters")
    client = await load_client(tx, client_id)
    if client is None:
        raise LookupError(f"no client {client_id}")
    ident = await client_identity(tx, client)
    if ident is None:
        raise ValueError("this client has no phone or Telegram linked")
    row = await enqueue(tx, now, ident, text, message_key="officer.free_text",
                        cause=f"officer:{actor}")
    await audit(tx, now, actor, "client.message_sent", "client", client_id, outbox_id=row)
    return int(row or 0)


async def staff_message(tx: Tx, stored: StoredInbound, ident: Identity, now: datetime) -> str:
    from bot.escalation import alerts as escalation

    role = await tx.value("SELECT role FROM staff WHERE id = ?", (ident.staff_id,))
    if role == "mentor":
        # Mentors never reach /open or ACK: only their own mentor commands.
        from bot.aftercare import mentor_chat

        return await mentor_chat.staff_message(tx, stored, ident, now)
    text = stored.message.body.strip()
    words = text.split()
    if text.lower().startswith("/open"):
        await escalation.list_open_to(tx, now, ident)
        return "processed"
    raw_id = words[1].lstrip("#") if len(words) == 2 else ""
    if words and words[0].lower() == "ack" and raw_id.isascii() and raw_id.isdigit() \
            and len(raw_id) <= 12:
        esc_id = int(words[1].lstrip("#"))
        try:
            done = await escalation.acknowledge(tx, now, esc_id, ident.staff_id or 0, "sms")
            await say(tx, now, ident, "escalation.sms_acked" if done
                      else "escalation.button_already", {"id": esc_id})
        except escalation.EscalationError:
            await say(tx, now, ident, "escalation.sms_refused", {"id": esc_id})
        return "processed"
    await say(tx, now, ident, "help.staff")
    return "processed"


async def callback(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """An inline button pressed in a private chat (escalation buttons; aftercare ones are
    'ag:...', see bot/mentor_chat.py)."""
    from bot.escalation import alerts as escalation

    if stored.message.body.startswith("ag:"):
        from bot.aftercare import mentor_chat

        return await mentor_chat.button(tx, stored, now)
    ident = stored.identity
    staff_id = ident.staff_id if ident else None
    payload = stored.message.payload
    chat = ident or Identity(None, stored.message.channel, stored.message.address, None, None,
                             False)
    return await escalation.button(tx, now, staff_id, stored.message.body,
                                   payload.get("callback_id"), chat)


async def group_message(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """Messages in group chats are never a client's answers; aftercare groups use them."""
    from bot.aftercare import groups

    return await groups.group_message(tx, stored, now)
