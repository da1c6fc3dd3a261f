"""Property tests over every built-in flow version: whatever the client sends and whenever the
timers fire, a flow never crashes, never sends two questions at once, and always ends within
two replies per question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.texts import render
from flows import engine
from flows.client import ClientView, History
from flows.effects import FlowEnded, RaiseFinding, Say, Step
from flows.model import Flow
from flows.registry import REGISTRY
from flows.session import Event, Expire, Reply, Reprompt, SessionState

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
PARAMS = {"when": "Tuesday 3 March at 10:00", "place": "Hope Centre", "ask_travel": True}
HISTORY = History(craving_last_7_days=(1, 2, 3), previous_ons_anxious=9,
                  last_use_at=NOW - timedelta(days=30), last_readiness=9, last_phq4_anxiety=0,
                  last_phq4_depression=0, last_barc10_total=60, last_spane_b=24,
                  ons_happy_last_7_days=(1, 1, 1))

TYPICAL = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "-1", "7.5", "seven",
           "yes", "no", "y", "n", "yeah", "nah", "2 yes", "skip", "not sure", "bus", "need help",
           "6pm", "10:00", "3am", "English", "other", "text", "telegram", "the itch",
           "can't make it", "No, I can't make it", "nowhere", "help", "call me", "STOP",
           "I want to die", "he's gone over", "x" * 40, "", " ", "💊", "ok", "fine", "2 need to talk"]

replies = st.one_of(st.sampled_from(TYPICAL), st.text(max_size=25)).map(Reply)
timers = st.sampled_from(["reprompt", "expire", "stale_reprompt", "stale_expire"])
events = st.lists(st.one_of(replies, replies, replies, timers), max_size=40)
clients = st.builds(
    ClientView,
    first_name=st.sampled_from(["Sam", "Łukasz"]),
    discreet=st.booleans(),
    in_heightened_window=st.booleans(),
    codeword=st.sampled_from([None, "the itch"]),
    consented=st.just(True),
    officer_first_name=st.sampled_from(["", "Jo"]),
)


def check(st_: Step) -> None:
    says = st_.of(Say)
    assert sum(s.question for s in says) <= 1, "two questions in one step"
    for s in says:
        render(s.message_key, s.params, discreet=s.discreet)
        if s.message_key.startswith("crisis."):
            assert s.safety
    ended = st_.of(FlowEnded)
    assert len(ended) == (1 if st_.session is None else 0)
    if ended:
        assert st_.effects[-1] == ended[0]
    if any(f.severity == "RED" for f in st_.of(RaiseFinding)):
        assert st_.session is None, "RED must stop the questionnaire"
    if st_.session is not None:
        assert SessionState.from_json(st_.session.to_json()) == st_.session


def to_event(item: Reply | str, session: SessionState) -> Event:
    if isinstance(item, Reply):
        return item
    seq = session.seq - 1 if item.startswith("stale") else session.seq
    return Reprompt(seq) if item.endswith("reprompt") else Expire(seq)


@pytest.mark.parametrize("flow", REGISTRY.all_versions(), ids=lambda f: f"{f.id}-v{f.version}")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(client=clients, script=events, with_history=st.booleans())
def test_any_events_end_the_flow_without_loops(
    flow: Flow, client: ClientView, script: list[Reply | str], with_history: bool
) -> None:
    history = HISTORY if with_history else None
    step_ = engine.start(flow, client, NOW, params=PARAMS, history=history)
    check(step_)
    session = step_.session
    limit = 2 * len(flow.questions)
    n_replies = 0
    for item in script:
        if session is None:
            break
        event = to_event(item, session)
        n_replies += isinstance(event, Reply)
        assert n_replies <= limit, f"{flow.id}: still running after {n_replies} replies"
        step_ = engine.step(flow, session, event, client, NOW, history=history)
        check(step_)
        session = step_.session
    # Whatever happened so far, unhelpful replies alone must finish the flow in bounded steps.
    while session is not None:
        n_replies += 1
        assert n_replies <= limit, f"{flow.id}: still running after {n_replies} replies"
        step_ = engine.step(flow, session, Reply("hmm?"), client, NOW, history=history)
        check(step_)
        session = step_.session
