"""Weekly check-in (§3.2): PHQ-4, PHQ-9 item 9 on its own, ONS life satisfaction and
worthwhile, readiness and confidence rulers, housing loss and time with people who use."""

from __future__ import annotations

from datetime import timedelta

from flows import questions as q
from flows.builtin.common import CALL_ANSWER, NO1_YES2, ZERO_TEN, goto, scale_states
from flows.model import Flow, NumberAnswer, RaiseOn, State, states
from flows.scales import PHQ4

WEEKLY_CHECKIN_V1 = Flow(
    id="weekly_checkin",
    version=1,
    kind="scale",
    title="Weekly check-in",
    priority=10,
    when_busy="wait",
    initial="intro",
    states=states(
        State("intro", "weekly.intro", next=goto("phq4_nervous")),
        # PHQ items keep their verbatim wording; the stem is shortened to "Last 2 weeks" for
        # SMS (an administration change, kept constant: §2.15).
        *scale_states(PHQ4, "weekly.phq4", then="item9"),
        State("item9", "weekly.item9", NumberAnswer(0, 3), q.PHQ9_ITEM9, goto("satisfied"),
              safety_question=True, scale_item=("phq9_item9", "self_harm")),
        State("satisfied", "weekly.satisfied", ZERO_TEN, q.ONS_SATISFIED, goto("worthwhile"),
              scale_item=("ons4", "satisfied")),
        State("worthwhile", "weekly.worthwhile", ZERO_TEN, q.ONS_WORTHWHILE, goto("readiness"),
              scale_item=("ons4", "worthwhile")),
        State("readiness", "weekly.readiness", ZERO_TEN, q.READINESS, goto("confidence"),
              scale_item=("readiness_ruler", "ready")),
        State("confidence", "weekly.confidence", ZERO_TEN, q.CONFIDENCE, goto("housing")),
        State("housing", "weekly.housing", NO1_YES2, q.HOUSING_LOST, goto("peers")),
        State("peers", "weekly.peers", NO1_YES2, q.TIME_WITH_USERS, goto("call_offer")),
        State("call_offer", "checkin.call_offer", CALL_ANSWER, q.CALL_WANTED, goto("thanks"),
              only_if="amber_raised", raises=(RaiseOn("yes", "ROUTINE", "call_wanted"),)),
        State("thanks", "weekly.thanks"),
    ),
    reprompt_after=timedelta(hours=3),
    expire_after=timedelta(hours=12),
    safety=True,
)
