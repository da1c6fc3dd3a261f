"""The flow engine, end to end, with conversations written as readable transcripts.

A transcript is a list of lines:
  ("service", key)        the next text sent (catalog key)
  ("finding", "AMBER:x")  the next finding raised
  ("ended", outcome)      the flow ended
  ("client", text)        the client replies
  ("timer", "reprompt" | "expire")  a timer fires
Every service output must be listed before the next client line.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.texts import render
from flows import engine, registry
from flows import questions as q
from flows.client import ClientView, History
from flows.effects import (
    CancelTimers,
    Effect,
    FlowEnded,
    RaiseFinding,
    SaveAnswer,
    SaveScore,
    Say,
    SetTimer,
    Step,
    UpdateClient,
)
from flows.intents import classify
from flows.model import Flow
from flows.registry import Registry
from flows.session import Expire, Reply, Reprompt, SessionState

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
CLIENT = ClientView("Sam", consented=True, officer_first_name="Jo")
WINDOW = dataclasses.replace(CLIENT, in_heightened_window=True)

Line = tuple[str, str]


@dataclasses.dataclass
class Result:
    effects: list[Effect]
    session: SessionState | None

    def of(self, cls: type[Any]) -> list[Any]:
        return [e for e in self.effects if isinstance(e, cls)]


def check_step(st: Step) -> None:
    says = st.of(Say)
    assert sum(1 for s in says if s.question) <= 1, "two questions in one step"
    for s in says:
        render(s.message_key, s.params, discreet=s.discreet)  # every text renders
    ended = st.of(FlowEnded)
    assert (st.session is None) == bool(ended), "FlowEnded iff the session is gone"


def apply_updates(client: ClientView, st: Step) -> ClientView:
    """What the I/O layer does: store UpdateClient, then reload the client for the next step."""
    for u in st.of(UpdateClient):
        if u.field == "consent":
            client = dataclasses.replace(client, consented=u.value["given"])
        elif u.field in ("discreet", "codeword", "language"):
            client = dataclasses.replace(client, **{u.field: u.value})
    return client


def run(flow: Flow, script: list[Line], client: ClientView = CLIENT,
        history: History | None = None, params: dict[str, Any] | None = None) -> Result:
    queue: deque[Line] = deque()
    effects: list[Effect] = []

    def feed(st: Step) -> None:
        check_step(st)
        effects.extend(st.effects)
        for e in st.effects:
            if isinstance(e, Say):
                queue.append(("service", e.message_key))
            elif isinstance(e, RaiseFinding):
                queue.append(("finding", f"{e.severity}:{e.reason}"))
            elif isinstance(e, FlowEnded):
                queue.append(("ended", e.outcome))

    st = engine.start(flow, client, NOW, params=params, history=history)
    feed(st)
    session = st.session
    client = apply_updates(client, st)
    for n, (kind, arg) in enumerate(script):
        if kind in ("service", "finding", "ended"):
            assert queue, f"line {n}: expected {kind} {arg!r}, nothing more was sent"
            got = queue.popleft()
            assert got == (kind, arg), f"line {n}: expected {(kind, arg)}, got {got}"
            continue
        assert not queue, f"line {n}: unchecked output {list(queue)}"
        assert session is not None, f"line {n}: the flow already ended"
        session = SessionState.from_json(session.to_json())  # as the I/O layer stores it
        event = Reply(arg) if kind == "client" else Reprompt() if arg == "reprompt" else Expire()
        st = engine.step(flow, session, event, client, NOW, history=history)
        feed(st)
        session = st.session
        client = apply_updates(client, st)
    assert not queue, f"unchecked output at the end: {list(queue)}"
    return Result(effects, session)


DAILY = registry.latest("daily_checkin")
WEEKLY = registry.latest("weekly_checkin")
ONBOARDING = registry.latest("onboarding_consent")
APPOINTMENT = registry.latest("appointment_confirmation")


# --- onboarding ------------------------------------------------------------------------------

def test_onboarding_transcript() -> None:
    r = run(ONBOARDING, [
        ("service", "onboarding.consent_v1"),
        ("client", "1"),
        ("service", "onboarding.language_list"),
        ("client", "English"),
        ("service", "onboarding.shared_phone"),
        ("client", "yes my sister uses it"),
        ("service", "onboarding.channel"),
        ("client", "2"),
        ("service", "onboarding.checkin_time"),
        ("client", "6pm"),
        ("service", "onboarding.codeword"),
        ("client", "the itch"),
        ("service", "onboarding.done"),
        ("ended", "completed"),
    ], client=ClientView("Sam", officer_first_name="Jo"))  # not yet consented
    updates = {u.field: u.value for u in r.of(UpdateClient)}
    assert updates == {
        "consent": {"given": True, "at": NOW.isoformat(), "wording_version": "onboarding.consent_v1"},
        "language": "en_GB",
        "discreet": True,
        "preferred_channel": "telegram",
        "checkin_time": "18:00",
        "codeword": "the itch",
    }
    says = r.of(Say)
    assert [s.discreet for s in says] == [False, False, False, True, True, True, True]


def test_onboarding_declined_records_refusal() -> None:
    r = run(ONBOARDING, [
        ("service", "onboarding.consent_v1"),
        ("client", "no thanks"),
        ("service", "onboarding.no_consent"),
        ("ended", "completed"),
    ])
    assert [(u.field, u.value["given"]) for u in r.of(UpdateClient)] == [("consent", False)]


def test_onboarding_unclear_consent_records_nothing() -> None:
    r = run(ONBOARDING, [
        ("service", "onboarding.consent_v1"),
        ("client", "what is this"),
        ("service", "reask.yes_no_numbers"),
        ("client", "who are you"),
        ("finding", "ROUTINE:unparsed_reply"),
        ("service", "onboarding.unclear"),
        ("ended", "completed"),
    ])
    assert r.of(UpdateClient) == []


def test_onboarding_other_language_asks_a_human_and_skipped_codeword_keeps_none() -> None:
    r = run(ONBOARDING, [
        ("service", "onboarding.consent_v1"), ("client", "yes"),
        ("service", "onboarding.language_list"), ("client", "6"),
        ("finding", "ROUTINE:language_request"),
        ("service", "onboarding.shared_phone"), ("client", "no"),
        ("service", "onboarding.channel"), ("client", "text"),
        ("service", "onboarding.checkin_time"), ("client", "10"),
        ("service", "onboarding.codeword"), ("client", "0"),
        ("service", "onboarding.done"), ("ended", "completed"),
    ])
    assert {u.field for u in r.of(UpdateClient)} == {
        "consent", "discreet", "preferred_channel", "checkin_time"}


def test_onboarding_v1_still_reads_its_own_question() -> None:
    """Sessions asked "1 English, 2 another language" before version 2 shipped keep that meaning."""
    run(registry.get("onboarding_consent", 1), [
        ("service", "onboarding.consent_v1"), ("client", "yes"),
        ("service", "onboarding.language"), ("client", "2"),
        ("finding", "ROUTINE:language_request"),
        ("service", "onboarding.shared_phone"),
    ])


# --- daily check-in --------------------------------------------------------------------------

def test_daily_outside_the_window() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "7"),
        ("service", "checkin.anxious"), ("client", " 3 "),
        ("service", "checkin.craving"), ("client", "2"),
        ("service", "checkin.used"), ("client", "1"),
        ("service", "checkin.note"), ("client", "no"),
        ("service", "checkin.thanks"), ("ended", "completed"),
    ])
    assert {a.question_key: a.value for a in r.of(SaveAnswer)} == {
        q.ONS_HAPPY: 7, q.ONS_ANXIOUS: 3, q.CRAVING: 2, q.USED: False, q.NOTE: None}
    assert r.of(SaveScore) == [SaveScore("ons4", None, {}, {"happy": "high", "anxious": "low"}, {})]
    assert r.of(RaiseFinding) == []


def test_daily_note_goes_to_the_worker_queue() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "5"),
        ("service", "checkin.anxious"), ("client", "5"),
        ("service", "checkin.craving"), ("client", "5"),
        ("service", "checkin.used"), ("client", "no"),
        ("service", "checkin.note"), ("client", "Lost my phone charger, battery low"),
        ("finding", "ROUTINE:client_note"),
        ("service", "checkin.thanks"), ("ended", "completed"),
    ])
    assert "Lost my phone charger" in r.of(RaiseFinding)[0].detail


def test_daily_in_window_need_to_talk_is_red_and_stops() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "2"),
        ("service", "checkin.anxious"), ("client", "6"),
        ("service", "checkin.craving"), ("client", "3"),
        ("service", "checkin.used"), ("client", "1"),
        ("service", "checkin.safe"), ("client", "2"),
        ("finding", "RED:safety_need_to_talk"),
        ("service", "crisis.ack"), ("service", "crisis.reply"),
        ("ended", "escalated"),
    ], client=WINDOW)
    red = r.of(RaiseFinding)[0]
    assert red.safety_followup
    assert all(s.safety for s in r.of(Say)[-2:])
    assert r.session is None


def test_daily_in_window_use_gets_tolerance_text_and_a_call_offer() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "6"),
        ("service", "checkin.anxious"), ("client", "4"),
        ("service", "checkin.craving"), ("client", "5"),
        ("service", "checkin.used"), ("client", "2"),
        ("finding", "AMBER:use_after_abstinence"),
        ("service", "safety.tolerance"),
        ("service", "checkin.safe"), ("client", "yes I'm ok"),
        ("service", "checkin.call_offer"), ("client", "1"),
        ("finding", "ROUTINE:call_wanted"),
        ("service", "checkin.note"), ("client", "skip"),
        ("service", "checkin.thanks"), ("ended", "completed"),
    ], client=WINDOW)
    tolerance = r.of(Say)[4]
    assert tolerance.safety and not tolerance.question
    assert "From Jo:" in render(tolerance.message_key, tolerance.params)


def test_daily_craving_above_own_mean_uses_history() -> None:
    run(DAILY, [
        ("service", "checkin.happy"), ("client", "6"),
        ("service", "checkin.anxious"), ("client", "4"),
        ("service", "checkin.craving"), ("client", "6"),
        ("finding", "AMBER:craving_above_mean"),
        ("service", "checkin.used"), ("client", "1"),
        ("service", "checkin.call_offer"), ("client", "not now"),
        ("service", "checkin.note"), ("client", "0"),
        ("service", "checkin.thanks"), ("ended", "completed"),
    ], history=History(craving_last_7_days=(2, 3, 3, 4)))


def test_crisis_words_inside_a_number_reply_stop_the_flow() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "7"),
        ("service", "checkin.anxious"), ("client", "7 I want to end it all"),
        ("finding", "RED:crisis_text"),
        ("service", "crisis.ack"), ("service", "crisis.reply"),
        ("ended", "escalated"),
    ])
    assert r.of(SaveAnswer)[-1] == SaveAnswer(q.ONS_ANXIOUS, "7 I want to end it all", None,
                                              "unanswered")


def test_overdose_words_get_the_overdose_acknowledgement() -> None:
    run(DAILY, [
        ("service", "checkin.happy"), ("client", "my mate's gone over"),
        ("finding", "RED:overdose"),
        ("service", "crisis.ack_overdose"), ("service", "crisis.reply"),
        ("ended", "escalated"),
    ])


def test_codeword_and_discreet_texts() -> None:
    client = dataclasses.replace(CLIENT, discreet=True, codeword="the itch")
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "5"),
        ("service", "checkin.anxious"), ("client", "5"),
        ("service", "checkin.craving_codeword"), ("client", "5"),
        ("service", "checkin.used"), ("client", "1"),
        ("service", "checkin.note"), ("client", "0"),
        ("service", "checkin.thanks"), ("ended", "completed"),
    ], client=client)
    says = r.of(Say)
    assert all(s.discreet for s in says)
    assert "'the itch'" in render(says[2].message_key, says[2].params)
    used = render(says[3].message_key, says[3].params, discreet=True)
    assert "slips" in used and "used" not in used


# --- weekly ----------------------------------------------------------------------------------

WEEKLY_START: list[Line] = [
    ("service", "weekly.intro"), ("service", "weekly.phq4.nervous"), ("client", "1"),
    ("service", "weekly.phq4.worry"), ("client", "1"),
    ("service", "weekly.phq4.interest"), ("client", "2"),
    ("service", "weekly.phq4.down"), ("client", "2"),
    ("service", "weekly.item9"),
]
WEEKLY_REST: list[Line] = [
    ("service", "weekly.satisfied"), ("client", "5"),
    ("service", "weekly.worthwhile"), ("client", "6"),
    ("service", "weekly.readiness"), ("client", "8"),
    ("service", "weekly.confidence"), ("client", "7"),
    ("service", "weekly.housing"), ("client", "1"),
    ("service", "weekly.peers"), ("client", "1"),
]


def test_weekly_full() -> None:
    r = run(WEEKLY, [*WEEKLY_START, ("client", "0"), *WEEKLY_REST,
                     ("service", "weekly.thanks"), ("ended", "completed")])
    scores = {s.scale_id: s for s in r.of(SaveScore)}
    assert set(scores) == {"phq4", "phq9_item9", "ons4", "readiness_ruler"}
    assert (scores["phq4"].total, scores["phq4"].bands) == (6, {"total": "moderate"})
    assert scores["phq4"].flags == {"anxiety_positive": False, "depression_positive": True}
    assert scores["phq9_item9"].flags == {"positive": False}
    assert scores["ons4"].bands == {"satisfied": "medium", "worthwhile": "medium"}
    assert scores["readiness_ruler"].bands == {"total": "ready"}
    assert r.of(RaiseFinding) == []


def test_weekly_item9_of_one_is_amber_sends_numbers_and_continues() -> None:
    r = run(WEEKLY, [
        *WEEKLY_START, ("client", "1"),
        ("finding", "AMBER:phq9_item9"),
        ("service", "crisis.reply"), ("service", "safety.followup_today"),
        *WEEKLY_REST,
        ("service", "checkin.call_offer"), ("client", "2"),
        ("service", "weekly.thanks"), ("ended", "completed"),
    ])
    assert r.of(RaiseFinding)[0].safety_followup


@pytest.mark.parametrize("answer", ["2", "3"])
def test_weekly_item9_of_two_or_more_is_red_and_stops(answer: str) -> None:
    r = run(WEEKLY, [
        *WEEKLY_START, ("client", answer),
        ("finding", "RED:phq9_item9"),
        ("service", "crisis.ack"), ("service", "crisis.reply"),
        ("ended", "escalated"),
    ])
    # The score is still saved for the officer; it is never texted.
    assert [s.scale_id for s in r.of(SaveScore)] == ["phq4", "phq9_item9"]


def test_weekly_housing_loss_is_amber() -> None:
    rest = [*WEEKLY_REST]
    rest[-3] = ("client", "2")  # housing: yes
    run(WEEKLY, [*WEEKLY_START, ("client", "0"), *rest[:-2], ("finding", "AMBER:housing_lost"),
                 *rest[-2:], ("service", "checkin.call_offer"), ("client", "1"),
                 ("finding", "ROUTINE:call_wanted"),
                 ("service", "weekly.thanks"), ("ended", "completed")])


# --- monthly, feedback, appointments ---------------------------------------------------------

def scale_transcript(flow_id: str, prefix: str, replies: list[str]) -> list[Line]:
    flow = registry.latest(flow_id)
    items = [s for s in flow.states.values() if s.is_question]
    lines: list[Line] = [("service", f"{prefix}.intro")]
    for state, reply in zip(items, replies, strict=True):
        lines += [("service", state.message_key), ("client", reply)]
    return [*lines, ("service", f"{prefix}.thanks"), ("ended", "completed")]


def test_monthly_spane_scores_the_doc_vector() -> None:
    replies = "2,4,2,4,2,4,1,5,4,1,4,2".split(",")
    r = run(registry.latest("monthly_spane"), scale_transcript("monthly_spane", "spane", replies))
    assert r.of(SaveScore)[0].subscales == {"P": 10, "N": 25, "B": -15}


def test_monthly_barc_accepts_no_living_space() -> None:
    replies = ["5", "5", "5", "5", "5", "4", "nowhere, I'm on the streets", "4", "5", "5"]
    r = run(registry.latest("monthly_barc"), scale_transcript("monthly_barc", "barc", replies))
    answers = {a.question_key: a.value for a in r.of(SaveAnswer)}
    assert answers["barc10_living_space"] == "no_living_space"
    score = r.of(SaveScore)[0]
    assert (score.total, score.flags) == (44, {"remission_likely": False})


def test_monthly_k10() -> None:
    replies = "3,3,3,3,2,2,2,2,1,1".split(",")
    r = run(registry.latest("monthly_k10"), scale_transcript("monthly_k10", "k10", replies))
    assert (r.of(SaveScore)[0].total, r.of(SaveScore)[0].bands) == (22, {"total": "high"})


def test_programme_feedback() -> None:
    r = run(registry.latest("programme_feedback"), [
        ("service", "feedback.listened"), ("client", "10"),
        ("service", "feedback.think_differently"), ("client", "9"),
        ("service", "feedback.changed"), ("client", "0"),
        ("service", "reask.number"), ("client", "7"),
        ("service", "feedback.thanks"), ("ended", "completed"),
    ])
    assert [a.value for a in r.of(SaveAnswer)] == [10, 9, 7]


APPT = {"when": "Tuesday 3 March at 10:00", "place": "Hope Centre"}


def test_appointment_yes_and_needs_help_getting_there() -> None:
    r = run(APPOINTMENT, [
        ("service", "appointment.confirm"), ("client", "yes"),
        ("service", "appointment.travel"), ("client", "4"),
        ("finding", "ROUTINE:needs_help_getting_there"),
        ("service", "appointment.travel_help"), ("ended", "completed"),
    ], params={**APPT, "ask_travel": True})
    first = r.of(Say)[0]
    assert "Hope Centre" in render(first.message_key, first.params)
    assert "Hope Centre" not in render(first.message_key, first.params, discreet=True)


def test_appointment_yes_without_travel_plan() -> None:
    run(APPOINTMENT, [("service", "appointment.confirm"), ("client", "1"),
                      ("service", "appointment.thanks"), ("ended", "completed")], params=APPT)


@pytest.mark.parametrize("reply", ["2", "no", "3", "can't make it", "No, I can't make it"])
def test_appointment_declined(reply: str) -> None:
    run(APPOINTMENT, [
        ("service", "appointment.confirm"), ("client", reply),
        ("finding", "ROUTINE:appointment_declined"),
        ("service", "appointment.declined"), ("ended", "completed"),
    ], params=APPT)


# --- misfits and timers ----------------------------------------------------------------------

def test_two_misfits_record_unanswered_and_move_on() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "seven"),
        ("service", "reask.number"), ("client", "11"),
        ("finding", "ROUTINE:unparsed_reply"),
        ("service", "checkin.anxious"), ("timer", "expire"),
        ("ended", "expired"),
    ])
    reask = r.of(Say)[1]
    assert reask.question and render(reask.message_key, reask.params).endswith("from 0 to 10.")
    assert [(a.question_key, a.status, a.raw_text) for a in r.of(SaveAnswer)] == [
        (q.ONS_HAPPY, "unanswered", "11"), (q.ONS_ANXIOUS, "expired", None)]
    assert "'seven', '11'" in r.of(RaiseFinding)[0].detail


def test_unanswerable_safety_question_asks_a_human_to_follow_up() -> None:
    r = run(DAILY, [
        ("service", "checkin.happy"), ("client", "5"),
        ("service", "checkin.anxious"), ("client", "5"),
        ("service", "checkin.craving"), ("client", "1"),
        ("service", "checkin.used"), ("client", "1"),
        ("service", "checkin.safe"), ("client", "dunno"),
        ("service", "reask.choice"), ("client", "whatever"),
        ("finding", "AMBER:unanswered_safety_question"),
        ("service", "checkin.call_offer"), ("client", "2"),
        ("service", "checkin.note"), ("client", "0"),
        ("service", "checkin.thanks"), ("ended", "completed"),
    ], client=WINDOW)
    assert r.of(RaiseFinding)[0].safety_followup


def test_help_to_the_safety_question_is_crisis() -> None:
    run(DAILY, [
        ("service", "checkin.happy"), ("client", "5"),
        ("service", "checkin.anxious"), ("client", "5"),
        ("service", "checkin.craving"), ("client", "1"),
        ("service", "checkin.used"), ("client", "1"),
        ("service", "checkin.safe"), ("client", "help"),
        ("finding", "RED:crisis_text"),
        ("service", "crisis.ack"), ("service", "crisis.reply"), ("ended", "escalated"),
    ], client=WINDOW)


def test_expired_safety_question_is_amber() -> None:
    run(WEEKLY, [*WEEKLY_START, ("timer", "expire"),
                 ("finding", "AMBER:unanswered_safety_question"), ("ended", "expired")])


def test_reprompt_resends_the_question_once() -> None:
    run(DAILY, [
        ("service", "checkin.happy"), ("timer", "reprompt"),
        ("service", "checkin.happy"), ("timer", "reprompt"),  # second reprompt: nothing
        ("client", "4"),
        ("service", "checkin.anxious"), ("timer", "reprompt"),
        ("service", "checkin.anxious"), ("timer", "expire"),
        ("ended", "expired"),
    ])


def test_timers_per_question_and_stale_timers_are_ignored() -> None:
    st = engine.start(DAILY, CLIENT, NOW)
    assert st.effects[1:] == (
        CancelTimers(),
        SetTimer("reprompt", NOW + DAILY.reprompt_after, 1),
        SetTimer("expire", NOW + DAILY.expire_after, 1),
    )
    later = NOW + timedelta(minutes=5)
    st2 = engine.step(DAILY, st.session, Reply("5"), CLIENT, later)  # type: ignore[arg-type]
    assert SetTimer("expire", later + DAILY.expire_after, 2) in st2.effects
    assert st2.session is not None
    assert engine.step(DAILY, st2.session, Reprompt(seq=1), CLIENT, later) == Step(st2.session)
    assert engine.step(DAILY, st2.session, Expire(seq=1), CLIENT, later) == Step(st2.session)
    ended = engine.step(DAILY, st2.session, Expire(seq=2), CLIENT, later)
    assert ended.session is None


# --- starting, priorities, ending ------------------------------------------------------------

def test_no_consent_no_flow() -> None:
    assert engine.start(DAILY, ClientView("Sam"), NOW) == Step(None, ())
    assert engine.start(ONBOARDING, ClientView("Sam"), NOW).session is not None


def session_of(flow: Flow, officer_started: bool = False) -> SessionState:
    st = engine.start(flow, CLIENT, NOW, officer_started=officer_started, params=APPT)
    assert st.session is not None
    return st.session


@pytest.mark.parametrize(
    ("active_id", "active_by_officer", "new_id", "new_by_officer", "decision"),
    [
        (None, False, "daily_checkin", False, "start"),
        # Issue 11: a higher rank no longer interrupts; it waits and goes first.
        ("daily_checkin", False, "appointment_confirmation", False, "wait"),
        ("daily_checkin", False, "weekly_checkin", True, "wait"),
        ("daily_checkin", False, "onboarding_consent", False, "wait"),
        ("appointment_confirmation", False, "daily_checkin", False, "wait"),
        ("appointment_confirmation", False, "programme_feedback", False, "skip"),
        ("weekly_checkin", False, "daily_checkin", False, "wait"),  # equal priority waits
        ("weekly_checkin", False, "programme_feedback", False, "skip"),
        ("daily_checkin", True, "appointment_confirmation", False, "wait"),  # officer's wins
        ("daily_checkin", True, "weekly_checkin", True, "wait"),  # equal: no interleaving
        ("daily_checkin", False, "daily_checkin", False, "skip"),  # never restart half-way
        ("daily_checkin", False, "daily_checkin", True, "skip"),
    ],
)
def test_decide_start(active_id: str | None, active_by_officer: bool, new_id: str,
                      new_by_officer: bool, decision: str) -> None:
    active_flow = registry.latest(active_id) if active_id else None
    active = session_of(active_flow, active_by_officer) if active_flow else None
    assert engine.decide_start(active, active_flow, registry.latest(new_id),
                               new_by_officer) == decision


def test_replaced_flow_is_recorded_as_interrupted() -> None:
    st = engine.end(DAILY, session_of(DAILY), NOW, "interrupted")
    assert st == Step(None, (SaveAnswer(q.ONS_HAPPY, None, None, "unanswered"), CancelTimers(),
                             FlowEnded("daily_checkin", 1, "interrupted")))


def test_crisis_from_the_router_ends_the_flow_and_sends_numbers() -> None:
    found = classify("I've taken all my tablets")
    assert found is not None
    st = engine.crisis(found, CLIENT, NOW, flow=DAILY, session=session_of(DAILY))
    assert st.session is None
    assert [type(e).__name__ for e in st.effects] == [
        "SaveAnswer", "CancelTimers", "FlowEnded", "RaiseFinding", "Say", "Say"]
    assert st.of(FlowEnded)[0].outcome == "escalated"
    assert [s.message_key for s in st.of(Say)] == ["crisis.ack", "crisis.reply"]
    assert all(s.safety for s in st.of(Say))
    no_flow = engine.crisis(found, CLIENT, NOW)
    assert [type(e).__name__ for e in no_flow.effects] == ["RaiseFinding", "Say", "Say"]


def test_callback_keeps_the_flow_running() -> None:
    session = session_of(DAILY)
    found = classify("can someone call me")
    assert found is not None
    st = engine.callback(found, CLIENT, session=session)
    assert st.session == session
    assert st.of(RaiseFinding)[0].reason == "callback_requested"
    assert [s.message_key for s in st.of(Say)] == ["callback.ack"]


def test_safety_question_pending() -> None:
    s = session_of(WEEKLY)
    assert not engine.safety_question_pending(WEEKLY, s)
    assert engine.safety_question_pending(WEEKLY, dataclasses.replace(s, state="item9"))
    assert not engine.safety_question_pending(WEEKLY, None)


# --- versions and storage --------------------------------------------------------------------

def test_a_session_on_v1_still_steps_after_v2_ships() -> None:
    v1 = DAILY
    states = dict(v1.states)
    states["anxious"] = dataclasses.replace(states["anxious"], message_key="checkin.anxious_v2")
    v2 = dataclasses.replace(v1, version=2, states=states)
    reg = Registry([v1, v2])
    st = engine.start(reg.latest("daily_checkin"), CLIENT, NOW)
    assert st.session is not None and st.session.flow_version == 2
    old = session_of(v1)  # started before v2 existed
    flow = reg.get(old.flow_id, old.flow_version)
    nxt = engine.step(flow, old, Reply("5"), CLIENT, NOW)
    assert [s.message_key for s in nxt.of(Say)] == ["checkin.anxious"]  # v1's text
    with pytest.raises(ValueError, match="v1"):
        engine.step(v2, old, Reply("5"), CLIENT, NOW)
    with pytest.raises(KeyError):
        reg.get("daily_checkin", 3)
    with pytest.raises(ValueError, match="new version"):
        reg.register(dataclasses.replace(v1, title="edited in place"))


def test_registry_lists_latest_versions() -> None:
    ids = [f.id for f in registry.all_flows()]
    assert ids == ["onboarding_consent", "daily_checkin", "weekly_checkin", "monthly_spane",
                   "monthly_barc", "monthly_k10", "programme_feedback",
                   "appointment_confirmation"]
    assert registry.get("daily_checkin", 1) is registry.latest("daily_checkin")


def test_session_json_round_trip() -> None:
    st = engine.step(WEEKLY, session_of(WEEKLY, officer_started=True), Reply("2"), CLIENT, NOW)
    assert st.session is not None
    assert SessionState.from_json(st.session.to_json()) == st.session
    assert st.session.priority == 30 and st.session.answers == {q.PHQ4_NERVOUS: 2}


def test_flow_validation_rejects_loops_and_dangling_targets() -> None:
    states = dict(DAILY.states)
    states["thanks"] = dataclasses.replace(states["thanks"], next={"*": "happy"})
    with pytest.raises(ValueError, match="cycle"):
        dataclasses.replace(DAILY, version=9, states=states)
    states["thanks"] = dataclasses.replace(states["thanks"], next={"*": "nowhere"})
    with pytest.raises(ValueError, match="unknown target"):
        dataclasses.replace(DAILY, version=9, states=states)
    with pytest.raises(ValueError, match="safety"):
        dataclasses.replace(DAILY, version=9, safety=False)
