"""Daily check-in (§3.1): ONS happy and anxious yesterday, craving, use; in the vulnerability
window the safety item; a call offer after an AMBER finding; an optional note."""

from __future__ import annotations

from datetime import timedelta

from flows import questions as q
from flows.builtin.common import CALL_ANSWER, NO1_YES2, SAFE_ANSWER, ZERO_TEN, goto
from flows.model import Flow, FreeTextAnswer, RaiseOn, State, states

DAILY_CHECKIN_V1 = Flow(
    id="daily_checkin",
    version=1,
    kind="checkin",
    title="Daily check-in",
    priority=10,
    when_busy="wait",
    initial="happy",
    states=states(
        State("happy", "checkin.happy", ZERO_TEN, q.ONS_HAPPY, goto("anxious"),
              scale_item=("ons4", "happy")),
        State("anxious", "checkin.anxious", ZERO_TEN, q.ONS_ANXIOUS, goto("craving"),
              scale_item=("ons4", "anxious")),
        State("craving", "checkin.craving", ZERO_TEN, q.CRAVING, goto("used"),
              codeword_message_key="checkin.craving_codeword"),
        State("used", "checkin.used", NO1_YES2, q.USED, goto("safe")),
        # Asked after "used" so a reported use is followed by the safety check. "2" is RED.
        State("safe", "checkin.safe", SAFE_ANSWER, q.SAFE_NOW, goto("call_offer"),
              safety_question=True, only_if="heightened_window"),
        State("call_offer", "checkin.call_offer", CALL_ANSWER, q.CALL_WANTED, goto("note"),
              only_if="amber_raised", raises=(RaiseOn("yes", "ROUTINE", "call_wanted"),)),
        State("note", "checkin.note", FreeTextAnswer(optional=True), q.NOTE, goto("thanks"),
              raises=(RaiseOn("answered", "ROUTINE", "client_note"),)),
        State("thanks", "checkin.thanks"),
    ),
    reprompt_after=timedelta(hours=2),
    expire_after=timedelta(hours=6),
    safety=True,
)
