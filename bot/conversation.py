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
from bot.core.messaging import (
    ClientInfo,
    client_identity,
    client_params,
    load_client,
    say,
    set_language,
)
from bot.core.outbox import PRIORITY_SAFETY, enqueue
from bot.core.quiet import allowed_from
from bot.core.texts import available_locales, rendered
from bot.escalation import inbox
from bot.escalation.alerts import file_under_client
from bot.escalation.findings import raise_finding
from bot.inbound import StoredInbound
from flows import engine, registry, risk_language
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
from flows.intents import Intent, classify, detect, possible_crisis
from flows.model import Flow
from flows.risk_language import is_more_than_a_typo
from flows.session import Expire, Reply, Reprompt, SessionState

log = logging.getLogger(__name__)

# The appointment confirmation question belongs with its reminder (contact purpose "reminder").
CONFIRM_FLOW = "appointment_confirmation"

ONBOARDING = "onboarding_consent"
CLIENT_FIELDS = {"preferred_channel", "checkin_time", "language", "discreet", "codeword"}


def crisis_params() -> dict[str, str]:
    return _crisis_params()


def view(client: ClientInfo, now: datetime) -> ClientView:
    heightened = client.heightened(now)
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
        " UNION ALL SELECT * FROM (SELECT 'phq4', detail, at FROM scores WHERE client_id = ?"
        " AND scale_id = 'phq4' AND COALESCE(session_id, -1) <> ? ORDER BY at DESC, id DESC"
        " LIMIT 1) AS last_phq4"
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
            text, language = rendered(effect.message_key, {**_params(client), **effect.params},
                                      locale=client.language,
                                      discreet=effect.discreet or discreet)
            await enqueue(tx, now, ident, text, message_key=effect.message_key,
                          safety=effect.safety, language=language,
                          priority=PRIORITY_SAFETY if effect.safety else 0,
                          cause=f"flow:{session_id}", reply=inbound_id is not None,
                          purpose=await _purpose(tx, session_id, flow_id, effect.safety,
                                                 inbound_id is not None))
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
        elif isinstance(effect, UpdateClient) and effect.field == "language":
            # The onboarding choice: later texts of this step already speak the language.
            if effect.value in available_locales():
                client = await set_language(tx, now, client, str(effect.value))
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
            await next_turn(tx, now, client.id)


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

        await plan_client(tx, now, client.id, move=True)
    await audit(tx, now, f"client:{client.id}", "client.updated", "client", client.id,
                field=effect.field)
    return discreet


async def _purpose(tx: Tx, session_id: int, flow_id: str | None, safety: bool, reply: bool) -> str:
    """Why a flow writes, for the contact policy: crisis text, an answer to the client, or the
    question of a flow we started (officer-started, a confirmation, onboarding, a check-in)."""
    if safety:
        return "crisis"
    if reply:
        return "reply"
    if await tx.value("SELECT officer_started FROM flow_sessions WHERE id = ?", (session_id,)):
        return "officer"
    flow = registry.latest(flow_id) if flow_id else None
    if flow is not None and not flow.requires_consent:
        return "onboarding"
    return "reminder" if flow_id == CONFIRM_FLOW else "checkin"


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
    if flow_id == CONFIRM_FLOW:
        why = await _confirmation_not_needed(tx, now, client_id, params or {})
        if why:
            return why
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
    if decision == "start" and await open_prompt(tx, client_id, now) and not (
            flow.safety and client.heightened(now)):
        # A question outside the flows is open: this one waits its turn. Only a safety check
        # in the weeks after a discharge (the heightened window) goes at once.
        decision = "wait"
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


# An appointment's confirmation question is asked at most this often (issue 16: the same
# question three times before the event was nagging, not a plan prompt).
MAX_CONFIRMATIONS = 2


async def _confirmation_not_needed(tx: Tx, now: datetime, client_id: int,
                                   params: Mapping[str, Any]) -> str | None:
    """Why a confirmation question must not be asked now: its event has passed (a question
    that waited behind a check-in), or it was asked MAX_CONFIRMATIONS times already about this
    event (the same appointment or session at the same time)."""
    event_at = params.get("event_at")
    if not event_at:
        return None
    if parse_iso(str(event_at)) <= now:
        return "skipped: the event has passed"
    ref = ("appointment", params["appointment"]) if "appointment" in params else \
        ("session", params.get("session"))
    # The event is matched in Python: JSON functions differ between SQLite and PostgreSQL,
    # and a client has only a handful of these sessions.
    asked = 0
    for row in await tx.all(
            "SELECT state FROM flow_sessions WHERE client_id = ? AND flow_id = ?"
            " AND status NOT IN ('waiting', 'skipped')", (client_id, CONFIRM_FLOW)):
        asked_params = json.loads(row[0] or "{}").get("params") or {}
        asked += (asked_params.get("event_at") == event_at
                  and asked_params.get(ref[0]) == ref[1])
    return "skipped: asked enough times" if asked >= MAX_CONFIRMATIONS else None


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


# One open question per person (issue 11) ---------------------------------------------------
# Questions asked outside the flows (bot/aftercare/prompts.py: a mentor's register, concern and
# wellbeing check, a recovery date) share the person's turn with the flows. A prompt we start
# while another question is open is stored with `pending` (what to send) and waits; a flow that
# would start while a prompt is open waits in `flow_sessions` as usual. When the turn frees, the
# highest rank goes next: officer-started flows (30), appointment confirmations (20), prompts
# (PROMPT_RANK), scheduled check-ins and scales (10); oldest first within a rank. Only crisis
# handling, and a flow with a safety question in the heightened window after a discharge, go
# at once. Something that waited past its own expiry is skipped,
# with an audit row, and the next one goes.
PROMPT_RANK = 15
# The crisis contacts after an AMBER possible-crisis match go at most once in this window (any
# crisis reply counts, a RED one too): someone repeating the same words is not sent them each
# time, and someone who wrote them yesterday is sent them again.
POSSIBLE_CRISIS_REPLY_EVERY = timedelta(hours=4)


async def open_prompt(tx: Tx, client_id: int, now: datetime) -> bool:
    """A question outside the flows that this person has been sent and not yet answered."""
    return bool(await tx.value(
        "SELECT 1 FROM aftercare_prompts WHERE client_id = ? AND answered_at IS NULL"
        " AND pending IS NULL AND expires_at > ? LIMIT 1", (client_id, iso(now))))


async def busy(tx: Tx, client_id: int, now: datetime) -> bool:
    """Does this person have an open question (a running flow or a prompt sent)?"""
    return await active_session(tx, client_id) is not None or await open_prompt(tx, client_id,
                                                                               now)


async def send_prompt(tx: Tx, now: datetime, prompt_id: int, ident: Identity,
                      client: ClientInfo, pending: Mapping[str, Any], *,
                      reply: bool = False) -> int:
    """Send a prompt's question (now, or when its turn came): its expiry starts now, and a
    timer at the expiry frees the turn if nobody answers. Returns the outbox id."""
    outbox_id = await say(tx, now, ident, pending["key"], pending["params"], client=client,
                          reply_markup=pending.get("markup"), cause=f"prompt:{prompt_id}",
                          reply=reply, purpose="reply" if reply else "group")
    expires = now + timedelta(seconds=int(pending["ttl"]))
    await tx.execute("UPDATE aftercare_prompts SET outbox_id = ?, pending = NULL, asked_at = ?,"
                     " expires_at = ? WHERE id = ?", (outbox_id, iso(now), iso(expires),
                                                      prompt_id))
    await timers.schedule(tx, now, f"prompt:{prompt_id}:expiry", "prompt_expiry", expires,
                          client_id=client.id, payload={"prompt": prompt_id})
    return outbox_id


@timers.handles("prompt_expiry")
async def _prompt_expired(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    """An unanswered prompt ran out: whatever waits behind it gets its turn."""
    if timer.client_id is not None:
        await next_turn(tx, now, timer.client_id)
    return "turn freed"


async def resume_after_prompt(tx: Tx, now: datetime, client_id: int,
                              prompt_outbox: int | None) -> None:
    """A prompt was answered. If it was asked in the middle of a flow (the person sent a keyword
    such as CONCERN), the flow's question is asked again so it is the latest question and the
    next bare reply answers it; otherwise the next waiting question gets its turn."""
    active = await active_session(tx, client_id)
    if active is None:
        await next_turn(tx, now, client_id)
        return
    last = await tx.one("SELECT * FROM outbox WHERE client_id = ? AND cause = ? AND op = 'send'"
                        " ORDER BY id DESC LIMIT 1", (client_id, f"flow:{active[0]}"))
    if last is None or prompt_outbox is None or last["id"] > prompt_outbox:
        return
    ident = await client_identity(tx, await load_client(tx, client_id))  # type: ignore[arg-type]
    if ident is not None:
        await enqueue(tx, now, ident, last["body"], message_key=last["message_key"],
                      cause=f"flow:{active[0]}", reply=True, purpose="reply",
                      language=last["language"])


async def next_turn(tx: Tx, now: datetime, client_id: int) -> None:
    """The person's turn is free (a flow or a prompt ended): the next waiting question goes."""
    while not await busy(tx, client_id, now):
        flows = await tx.all("SELECT id, flow_id, officer_started, state, cause, started_at"
                             " FROM flow_sessions WHERE client_id = ? AND status = 'waiting'"
                             " ORDER BY id", (client_id,))
        prompt = await tx.one("SELECT * FROM aftercare_prompts WHERE client_id = ?"
                              " AND pending IS NOT NULL AND answered_at IS NULL"
                              " ORDER BY id LIMIT 1", (client_id,))
        best = max(flows, key=lambda r: (engine.effective_priority(registry.latest(r[1]),
                                                                   bool(r[2])), -r[0]),
                   default=None)
        rank = engine.effective_priority(registry.latest(best[1]), bool(best[2])) \
            if best is not None else -1
        if prompt is not None and (PROMPT_RANK > rank or best is None):
            if not await _send_pending(tx, now, prompt):
                continue
            return
        if best is None:
            return
        expired = parse_iso(best["started_at"]) + registry.latest(best[1]).expire_after <= now
        await tx.execute("UPDATE flow_sessions SET status = ?, ended_at = ? WHERE id = ?",
                         ("expired" if expired else "skipped", iso(now), best[0]))
        if expired:
            # Waited past its own expiry (a check-in behind a long questionnaire): not asked.
            await audit(tx, now, "system", "flow.waiting_expired", "client", client_id,
                        flow=best[1], session=best[0])
            continue
        await start_flow(tx, now, client_id, best[1], officer_started=bool(best[2]),
                         params=json.loads(best[3] or "{}"), cause=best[4])
        return


async def _send_pending(tx: Tx, now: datetime, prompt: Any) -> bool:
    """Send a waiting prompt; False if it waited past its expiry (skipped, audited) or the
    person cannot be reached."""
    client = await load_client(tx, prompt["client_id"])
    ident = await client_identity(tx, client) if client is not None else None
    if prompt["expires_at"] <= iso(now) or client is None or ident is None:
        await tx.execute("UPDATE aftercare_prompts SET pending = NULL, expires_at = ?"
                         " WHERE id = ?", (iso(min(now, parse_iso(prompt["expires_at"]))),
                                           prompt["id"]))
        await audit(tx, now, "system", "prompt.waiting_expired", "client", prompt["client_id"],
                    prompt=prompt["id"], kind=prompt["kind"])
        return False
    await send_prompt(tx, now, prompt["id"], ident, client, json.loads(prompt["pending"]))
    return True


async def after_client_added(tx: Tx, now: datetime, client_id: int) -> None:
    """A client without recorded consent gets the onboarding flow, and nothing else, first."""
    client = await load_client(tx, client_id)
    if client and not client.consented and await client_identity(tx, client) is not None:
        await start_flow(tx, now, client_id, ONBOARDING, cause="client_added")


async def after_number_linked(tx: Tx, now: datetime, client_id: int,
                              inbound_ids: list[int]) -> None:
    """Messages a number sent before staff linked it to this client: crisis words raise the
    client's RED escalation (full chain and deadline), other words reach the officer inbox.
    Only the last week counts: an old message is history, not a live crisis."""
    since = iso(now - timedelta(days=7))
    # Their crisis is already an escalation without a client (migration 013): it becomes theirs.
    filed = await file_under_client(tx, now, inbound_ids, client_id)
    for inbound_id in inbound_ids:
        row = await tx.one("SELECT body, kind, received_at FROM inbound WHERE id = ?",
                           (inbound_id,))
        if row is None or row["kind"] not in ("text", "media"):
            continue
        if row["kind"] == "text" and detect(row["body"]) is Intent.CRISIS:
            if not filed and row["received_at"] >= since:
                await raise_finding(tx, now, client_id, "RED", "crisis_text", source="unmatched",
                                    detail="crisis words before the number was linked",
                                    inbound_id=inbound_id)
            continue
        await inbox.file(tx, now, inbound_id, client_id, "outside_flow")


async def after_linked(tx: Tx, now: datetime, client_id: int) -> None:
    if await active_session(tx, client_id) is None:
        await after_client_added(tx, now, client_id)


# Inbound from a client -------------------------------------------------------------------------

async def client_reply(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                       now: datetime, active: tuple[int, SessionState, Flow] | None) -> None:
    text = stored.message.body
    if active is not None:
        sid, session, flow = active
        if not fits_question(active, text) and is_more_than_a_typo(text):
            # Words where the question wanted a number: a person reads them, the flow re-asks.
            await inbox.file(tx, now, stored.id, client.id, "misfit")
            await _risk_language(tx, now, client, stored, ident)
        step = engine.step(flow, session, Reply(text), view(client, now), now,
                           history=await history(tx, client.id, now, sid))
        await apply(tx, now, client, sid, step, identity=ident, inbound_id=stored.id)
        return
    if not client.consented:
        # They wrote to us: the onboarding question is a reply, whatever the hour.
        await start_flow(tx, now, client.id, ONBOARDING, cause=f"inbound:{stored.id}",
                         inbound_id=stored.id)
        return
    await unprompted(tx, stored, ident, client, now, "outside_flow")


async def unprompted(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                     now: datetime, why: str) -> None:
    """Not an answer to anything (or a photo / voice note): filed in the officer inbox, risk
    language raised as AMBER, and a reply that says truly who reads it and when."""
    filed = await inbox.file(tx, now, stored.id, client.id, why)
    await _risk_language(tx, now, client, stored, ident)
    key = "media.only_text" if why == "media" else (
        "free_text.read_by" if filed.now_open else "free_text.read_by_night")
    await say(tx, now, ident, key, {**crisis_params(), "reader": filed.reader_first_name,
                                    "when": filed.read_when},
              client=client, cause=f"inbound:{stored.id}", reply=True)


async def not_a_reply(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                      now: datetime) -> None:
    """A photo / voice note / sticker with no words, or an edited message."""
    if stored.message.kind == "media":
        await unprompted(tx, stored, ident, client, now, "media")
        return
    if detect(stored.message.body) is Intent.CRISIS:
        await crisis(tx, stored, ident, client, now)
        return
    await inbox.file(tx, now, stored.id, client.id, "edited")
    await _risk_language(tx, now, client, stored, ident)


async def file_media(tx: Tx, stored: StoredInbound, client: ClientInfo, now: datetime) -> None:
    """A captioned photo: the caption was routed as text; the picture still needs a person."""
    if not await tx.value("SELECT inbox FROM inbound WHERE id = ?", (stored.id,)):
        await inbox.file(tx, now, stored.id, client.id, "media")


async def _risk_language(tx: Tx, now: datetime, client: ClientInfo, stored: StoredInbound,
                         ident: Identity) -> None:
    """Words an officer should hear about the same working day (AMBER): English risk language,
    and each language's AMBER net for possible crisis words the crisis screen was not sure of
    (those also send the crisis contacts, at most once per POSSIBLE_CRISIS_REPLY_EVERY)."""
    body = stored.message.body
    found = risk_language.match(body)
    if found:
        await raise_finding(tx, now, client.id, "AMBER", "risk_language", source="message",
                            detail=", ".join(found), inbound_id=stored.id)
    possible = possible_crisis(body)
    if possible is None:
        return
    await raise_finding(tx, now, client.id, "AMBER", "possible_crisis", source="message",
                        detail=f'{possible.label} ("{possible.words}")', inbound_id=stored.id)
    since = iso(now - POSSIBLE_CRISIS_REPLY_EVERY)
    if await tx.value("SELECT COUNT(*) FROM outbox WHERE client_id = ? AND message_key = ?"
                      " AND created_at >= ?", (client.id, "crisis.reply", since)):
        return
    await say(tx, now, ident, "crisis.reply", crisis_params(), client=client, safety=True,
              priority=PRIORITY_SAFETY, cause=f"inbound:{stored.id}", reply=True)


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
            text, language = rendered(effect.message_key, {**_params(client), **effect.params},
                                      locale=client.language,
                                      discreet=effect.discreet or client.discreet)
            await enqueue(tx, now, ident, text, message_key=effect.message_key,
                          safety=effect.safety, language=language,
                          priority=PRIORITY_SAFETY if effect.safety else 0,
                          cause=f"inbound:{inbound_id}", reply=True)


def fits_question(active: tuple[int, SessionState, Flow], text: str) -> bool:
    """Is `text` a valid answer to the running flow's open question (any text is, for a question
    that asks for words)?"""
    _, session, flow = active
    question = flow.states.get(session.state)
    parse = getattr(question.answer, "parse", None) if question is not None else None
    return parse is None or parse(text).ok


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
