"""Programme feedback: the evaluation's three 1-10 questions (1 = not at all, 10 = a lot)."""

from __future__ import annotations

from datetime import timedelta

from flows import questions as q
from flows.builtin.common import goto
from flows.model import Flow, NumberAnswer, State, states

ONE_TEN = NumberAnswer(1, 10)

PROGRAMME_FEEDBACK_V1 = Flow(
    id="programme_feedback",
    version=1,
    kind="feedback",
    title="Programme feedback",
    priority=10,
    when_busy="skip",  # low value: not worth queueing behind another questionnaire
    initial="listened",
    states=states(
        State("listened", "feedback.listened", ONE_TEN, q.FEEDBACK_LISTENED, goto("think")),
        State("think", "feedback.think_differently", ONE_TEN, q.FEEDBACK_THINK, goto("changed")),
        State("changed", "feedback.changed", ONE_TEN, q.FEEDBACK_CHANGED, goto("thanks")),
        State("thanks", "feedback.thanks"),
    ),
    reprompt_after=timedelta(hours=3),
    expire_after=timedelta(hours=24),
    safety=False,
)
