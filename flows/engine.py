"""The flow engine: pure functions from (flow, session, event, client, now) to a Step.

No I/O, no clock: `now` is passed in (aware UTC). The I/O layer loads the session row, calls
`start`/`step`/`end`/`crisis`/`callback`, and applies `Step.effects` in order in the same
transaction that stores `Step.session` (None: delete the session, the flow is over).

Guarantees (tested by property tests over every built-in flow):
- at most one question (`Say.question`) per step, never two questions at once;
- a misfit reply gets a re-ask showing the valid answers; the second misfit records the
  question as unanswered and moves on; flows are acyclic, so every flow ends;
- a RED finding suspends the questionnaire at once (crisis texts, FlowEnded "escalated");
- scores are saved (SaveScore), never texted back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from flows import risk
from flows.client import ClientView, History
from flows.crisis import CrisisConfig, load_crisis_config
from flows.effects import (
    AnswerStatus,
    CancelTimers,
    Effect,
    FlowEnded,
    Outcome,
    RaiseFinding,
    SaveAnswer,
    SaveScore,
    Say,
    SetTimer,
    Step,
    UpdateClient,
)
from flows.intents import Detection, Intent, classify
from flows.language_keyword import OTHER
from flows.model import (
    DEFAULT,
    UNANSWERED,
    Flow,
    LanguageAnswer,
    NumberAnswer,
    State,
    TimeAnswer,
    transition_key,
)
from flows.risk import Finding, Thresholds, load_thresholds
from flows.scales import SCALES, score
from flows.session import Event, Expire, Reply, Reprompt, SessionState

OFFICER_PRIORITY = 30
Decision = Literal["start", "replace", "wait", "skip"]


@dataclass(frozen=True)
class EngineConfig:
    """The reviewed configuration the engine needs: risk thresholds and crisis contacts."""

    thresholds: Thresholds
    crisis: CrisisConfig

    @classmethod
    def load(
        cls, risk_path: Path | str | None = None, crisis_path: Path | str | None = None
    ) -> EngineConfig:
        return cls(load_thresholds(risk_path), load_crisis_config(crisis_path))


@lru_cache(maxsize=1)
def default_config() -> EngineConfig:
    """config/risk.toml + config/crisis.toml, read once per process."""
    return EngineConfig.load()


def effective_priority(flow: Flow, officer_started: bool) -> int:
    return max(flow.priority, OFFICER_PRIORITY) if officer_started else flow.priority


def decide_start(
    active: SessionState | None,
    active_flow: Flow | None,
    new_flow: Flow,
    officer_started: bool = False,
) -> Decision:
    """Whether `new_flow` may start now, so two questionnaires never interleave.

    start: nothing running. wait: the new flow outranks the running one, which finishes first
    (the waiting queue is served highest rank first). wait / skip: per `new_flow.when_busy` when
    the running flow ranks equal or higher. "replace" is no longer returned. The same flow
    already running is always "skip" (a double trigger must not restart a questionnaire half
    answered). Crisis handling is outside flows and always wins.
    """
    if active is None:
        return "start"
    if active_flow is not None and active_flow.id != active.flow_id:
        raise ValueError("active_flow does not match the active session")
    if active.flow_id == new_flow.id:
        return "skip"
    if effective_priority(new_flow, officer_started) > active.priority:
        # At most one open question per person (issue 11): a higher-ranked flow no longer cuts
        # a running one off half-answered; it waits and goes first once this one ends. Only
        # crisis handling (outside flows) preempts.
        return "wait"
    return new_flow.when_busy


def start(
    flow: Flow,
    client: ClientView,
    now: datetime,
    *,
    params: Mapping[str, Any] | None = None,
    officer_started: bool = False,
    history: History | None = None,
    config: EngineConfig | None = None,
) -> Step:
    """Start `flow`: its first message(s) and first question. Without recorded consent only
    onboarding starts (Step(None, ()) otherwise: nothing is sent)."""
    if flow.requires_consent and not client.consented:
        return Step(None, ())
    session = SessionState(
        flow_id=flow.id,
        flow_version=flow.version,
        state=flow.initial,
        priority=effective_priority(flow, officer_started),
        officer_started=officer_started,
        started_at=now,
        asked_at=now,
        params=dict(params or {}),
    )
    return _Run(flow, session, client, now, history, config).advance(flow.initial)


def step(
    flow: Flow,
    session: SessionState,
    event: Event,
    client: ClientView,
    now: datetime,
    *,
    history: History | None = None,
    config: EngineConfig | None = None,
) -> Step:
    """Apply one event (a reply, or a reprompt/expire timer) to a running session.

    `flow` must be the version the session started on (registry.get(id, version)).
    """
    if (session.flow_id, session.flow_version) != (flow.id, flow.version):
        raise ValueError(f"session is on {session.flow_id} v{session.flow_version}, "
                         f"not {flow.id} v{flow.version}")
    if session.state not in flow.states or not flow.states[session.state].is_question:
        raise ValueError(f"session state {session.state!r} is not a question of {flow.id}")
    run = _Run(flow, session, client, now, history, config)
    if isinstance(event, Reply):
        return run.reply(event.text)
    if isinstance(event, Reprompt):
        return run.reprompt(event.seq)
    if isinstance(event, Expire):
        return run.expire(event.seq)
    raise TypeError(f"unknown event {event!r}")


def end(flow: Flow, session: SessionState, now: datetime, outcome: Outcome) -> Step:
    """End a running session from outside: "interrupted" (replaced by a higher-priority
    flow), "stopped" (client opted out) or "escalated" (crisis text). The pending question is
    recorded as unanswered."""
    pending = flow.states.get(session.state)
    effects: list[Effect] = []
    if pending is not None and pending.question_key:
        effects.append(SaveAnswer(pending.question_key, None, None, "unanswered"))
    effects += [CancelTimers(), FlowEnded(flow.id, flow.version, outcome)]
    return Step(None, tuple(effects))


def safety_question_pending(flow: Flow, session: SessionState | None) -> bool:
    """For intents.detect(..., safety_question_pending=...): is a safety question awaiting
    an answer ("help" / "call me" then count as crisis)?"""
    if session is None or session.state not in flow.states:
        return False
    return flow.states[session.state].safety_question


def crisis(
    found: Detection,
    client: ClientView,
    now: datetime,
    *,
    flow: Flow | None = None,
    session: SessionState | None = None,
    config: EngineConfig | None = None,
) -> Step:
    """A crisis intent (intents.classify): end any running flow ("escalated"), raise RED and
    send the acknowledgement and crisis numbers. Session is None afterwards."""
    effects: list[Effect] = []
    if flow is not None and session is not None:
        effects += end(flow, session, now, "escalated").effects
    finding = risk.crisis_finding(found)
    effects.append(_finding_effect(finding))
    cfg = config or default_config()
    params = _base_params(client, cfg)
    effects += [Say(k, params, safety=True, discreet=client.discreet) for k in finding.messages]
    return Step(None, tuple(effects))


def callback(
    found: Detection,
    client: ClientView,
    *,
    session: SessionState | None = None,
    config: EngineConfig | None = None,
) -> Step:
    """A "call me" intent: AMBER finding and a short acknowledgement. A running flow is left
    as it is (its pending question and timers stand)."""
    finding = risk.callback_finding(found)
    params = _base_params(client, config or default_config())
    says = [Say(k, params, discreet=client.discreet) for k in finding.messages]
    return Step(session, (_finding_effect(finding), *says))


def _finding_effect(f: Finding) -> RaiseFinding:
    return RaiseFinding(f.severity, f.reason, f.detail, f.safety_followup)


def _base_params(client: ClientView, config: EngineConfig) -> dict[str, Any]:
    return {
        **config.crisis.message_params(),
        "first_name": client.first_name,
        "officer_first_name": client.officer_first_name or "the team",
        "codeword": client.codeword or "",
    }


class _Run:
    """One call's worth of work: accumulates effects and the evolving session."""

    def __init__(
        self,
        flow: Flow,
        session: SessionState,
        client: ClientView,
        now: datetime,
        history: History | None,
        config: EngineConfig | None,
    ) -> None:
        self.flow = flow
        self.s = session
        self.client = client
        self.now = now
        self.history = history or History()
        self.config = config or default_config()
        self.effects: list[Effect] = []
        # Choices made earlier in this same step apply to the texts that follow it.
        self.discreet = client.discreet
        self.codeword = client.codeword

    # --- events -------------------------------------------------------------------------

    def reply(self, text: str) -> Step:
        state = self.flow.states[self.s.state]
        found = classify(text, self.config.crisis.phrases,
                         safety_question_pending=state.safety_question)
        if found and found.intent is Intent.CRISIS:
            # Normally caught by the router first; never let a crisis text be read as an answer.
            self.resolve(state, "unanswered", text, None)
            self.raise_finding(risk.crisis_finding(found))
            return self.finish("escalated")
        parsed = state.answer.parse(text)
        if parsed.ok:
            self.resolve(state, "answered", text, parsed.value)
            self.update_client(state, parsed.value)
            if self.after_answer(state, parsed.value):
                return self.finish("escalated")
            return self.advance(state.target(transition_key(state.answer, parsed.value)))
        misfits = (*self.s.misfits, text)
        if len(misfits) < 2:
            self.s = replace(self.s, misfits=misfits)
            key, extra = state.answer.reask()
            self.say(key, question=True, extra=extra)
            return self.done()
        self.resolve(state, "unanswered", text, None)
        detail = f"{state.question_key}: replies {list(misfits)!r}"
        if state.safety_question:
            self.raise_finding(Finding("AMBER", "unanswered_safety_question", detail, True),
                               dedupe=f"unanswered_safety_question:{state.question_key}")
        else:
            self.raise_finding(Finding("ROUTINE", "unparsed_reply", detail),
                               dedupe=f"unparsed_reply:{state.question_key}")
        return self.advance(state.target(UNANSWERED))

    def reprompt(self, seq: int | None) -> Step:
        if (seq is not None and seq != self.s.seq) or self.s.reprompted:
            return self.done()  # stale timer, or already re-sent once
        self.s = replace(self.s, reprompted=True)
        state = self.flow.states[self.s.state]
        self.say(self.message_key(state), question=True, extra=_spec_params(state))
        return self.done()

    def expire(self, seq: int | None) -> Step:
        if seq is not None and seq != self.s.seq:
            return self.done()
        state = self.flow.states[self.s.state]
        self.resolve(state, "expired", None, None)
        if state.safety_question:
            self.raise_finding(
                Finding("AMBER", "unanswered_safety_question",
                        f"{state.question_key}: no reply before expiry", True),
                dedupe=f"unanswered_safety_question:{state.question_key}",
            )
        return self.finish("expired")

    # --- moving through the graph -------------------------------------------------------

    def advance(self, key: str | None) -> Step:
        # The graph is acyclic (validated), so this visits each state at most once.
        for _ in range(len(self.flow.states) + 1):
            if key is None:
                return self.finish("completed")
            state = self.flow.states[key]
            if state.only_if and not self.condition(state.only_if):
                key = state.target(DEFAULT)
                continue
            if state.is_question:
                self.ask(state)
                return self.done()
            self.say(state.message_key)
            key = state.target(DEFAULT)
        raise AssertionError(f"{self.flow.id}: transition loop")  # unreachable

    def ask(self, state: State) -> None:
        seq = self.s.seq + 1
        self.s = replace(self.s, state=state.key, seq=seq, asked_at=self.now, misfits=(),
                         reprompted=False)
        self.say(self.message_key(state), question=True, extra=_spec_params(state))
        self.effects += [
            CancelTimers(),
            SetTimer("reprompt", self.now + self.flow.reprompt_after, seq),
            SetTimer("expire", self.now + self.flow.expire_after, seq),
        ]

    def condition(self, cond: str) -> bool:
        if cond == "heightened_window":
            return self.client.in_heightened_window
        if cond == "amber_raised":
            return any(tag.startswith("AMBER:") for tag in self.s.raised)
        if cond.startswith("param:"):
            return bool(self.s.params.get(cond.removeprefix("param:")))
        raise ValueError(f"unknown condition {cond!r}")  # validated at flow construction

    def finish(self, outcome: Outcome) -> Step:
        self.effects += [CancelTimers(), FlowEnded(self.flow.id, self.flow.version, outcome)]
        return Step(None, tuple(self.effects))

    def done(self) -> Step:
        return Step(self.s, tuple(self.effects))

    # --- answers, scores, findings ------------------------------------------------------

    def resolve(self, state: State, status: AnswerStatus, raw: str | None, value: Any) -> None:
        assert state.question_key is not None
        self.effects.append(SaveAnswer(state.question_key, raw, value, status))
        if status == "answered":
            self.s = replace(self.s, answers={**self.s.answers, state.question_key: value})
        else:
            self.s = replace(self.s, unanswered=(*self.s.unanswered, state.question_key))
        if state.scale_item:
            self.maybe_score(state.scale_item[0])

    def maybe_score(self, scale_id: str) -> None:
        """SaveScore once every item of the scale in this flow is resolved (no pro-rating)."""
        items = [s for s in self.flow.states.values()
                 if s.scale_item and s.scale_item[0] == scale_id]
        keys = [s.question_key for s in items]
        if any(k not in self.s.answers and k not in self.s.unanswered for k in keys):
            return
        scale = SCALES[scale_id]
        values: dict[str, int] = {}
        for s in items:
            assert s.scale_item is not None and s.question_key is not None
            if s.question_key in self.s.answers:
                v = self.s.answers[s.question_key]
                values[s.scale_item[1]] = scale.item(s.scale_item[1]).aliases.get(v, v) \
                    if isinstance(v, str) else v
        if len(values) < len(scale.items) and not (scale.partial_ok and values):
            return
        result = score(scale_id, values)
        self.effects.append(SaveScore(scale_id, result.total, result.subscales, result.bands,
                                      result.flags))

    def update_client(self, state: State, value: Any) -> None:
        if not state.client_field:
            return
        field = state.client_field
        if field == "consent":
            # Consent is recorded with its moment and the exact wording the client saw: the
            # message key carries the wording version (a new wording gets a new key).
            stored: Any = {"given": bool(value), "at": self.now.isoformat(),
                           "wording_version": state.message_key}
        elif state.client_values is not None:
            key = transition_key(state.answer, value)
            if key not in state.client_values:
                return
            stored = state.client_values[key]
        elif value is None or (isinstance(state.answer, LanguageAnswer) and value == OTHER):
            return  # skipped, or a language we have no texts for: leave the field as it was
        else:
            stored = value
        self.effects.append(UpdateClient(field, stored))
        if field == "discreet":
            self.discreet = bool(stored)
        elif field == "codeword":
            self.codeword = str(stored)

    def after_answer(self, state: State, value: Any) -> bool:
        """Declared findings, then the risk rules; True when a RED finding stops the flow."""
        before = len(self.s.raised)
        tkey = transition_key(state.answer, value)
        for r in state.raises:
            if r.when == tkey or (r.when == "answered" and value is not None):
                self.raise_finding(
                    Finding(r.severity, r.reason, f"{state.question_key}={value!r}",
                            r.safety_followup),
                    dedupe=f"{r.reason}:{state.question_key}",
                )
        for f in risk.evaluate(self.s.answers, self.history, self.config.thresholds,
                               self.client, self.now):
            self.raise_finding(f)
        return any(tag.startswith("RED:") for tag in self.s.raised[before:])

    def raise_finding(self, f: Finding, dedupe: str | None = None) -> None:
        tag = f"{f.severity}:{dedupe or f.reason}"
        if tag in self.s.raised:
            return
        self.s = replace(self.s, raised=(*self.s.raised, tag))
        self.effects.append(_finding_effect(f))
        for key in f.messages:
            if key in self.s.sent:
                continue
            self.s = replace(self.s, sent=(*self.s.sent, key))
            self.say(key, safety=key.startswith(("crisis.", "safety.")))

    # --- texts --------------------------------------------------------------------------

    def message_key(self, state: State) -> str:
        if state.codeword_message_key and self.codeword:
            return state.codeword_message_key
        return state.message_key

    def say(self, key: str, *, question: bool = False, safety: bool = False,
            extra: Mapping[str, Any] | None = None) -> None:
        # Caller params and client/crisis params only: answers and scores are never echoed.
        params = dict(self.s.params)
        params.update(_base_params(replace(self.client, codeword=self.codeword), self.config))
        params.update(extra or {})
        self.effects.append(Say(key, params, safety=safety, question=question,
                                discreet=self.discreet))


def _spec_params(state: State) -> dict[str, Any]:
    a = state.answer
    if isinstance(a, NumberAnswer):
        return {"lo": a.lo, "hi": a.hi}
    if isinstance(a, TimeAnswer):
        return {"earliest": a.earliest, "latest": a.latest}
    if isinstance(a, LanguageAnswer):
        return a.params()
    return {}
