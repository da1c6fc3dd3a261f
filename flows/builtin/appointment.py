"""Appointment confirmation. Caller params: {when} and {place} (texts), {what} (shown only in
the non-discreet text), and ask_travel (truthy: ask "How will you get there?")."""

from __future__ import annotations

from datetime import timedelta

from flows import questions as q
from flows.builtin.common import goto
from flows.model import Choice, ChoiceAnswer, Flow, RaiseOn, State, states
from flows.parsers import YES_WORDS

CONFIRM = ChoiceAnswer(
    (
        Choice("yes", (*YES_WORDS, "ok", "okay", "sure", "will do", "i will", "see you there")),
        Choice("no", ("no", "n", "nah", "nope")),
        Choice("cant", ("cant make it", "cant", "cannot", "cant come", "need to change",
                        "change it", "rearrange", "reschedule")),
    ),
    # "No, I can't make it" holds words of two options; both are declines, a human follows up.
    on_conflict="cant",
)

TRAVEL = ChoiceAnswer(
    (
        Choice("bus", ("bus", "train", "tram", "metro", "public transport")),
        Choice("lift", ("lift", "car", "drive", "driving", "taxi", "getting a lift")),
        Choice("walk", ("walk", "walking", "on foot", "bike", "cycle", "cycling")),
        Choice("need_help", ("need help", "help", "dont know", "not sure", "no money",
                             "cant get there")),
    )
)

APPOINTMENT_CONFIRMATION_V1 = Flow(
    id="appointment_confirmation",
    version=1,
    kind="appointment",
    title="Appointment confirmation",
    priority=20,
    when_busy="wait",
    initial="confirm",
    states=states(
        State("confirm", "appointment.confirm", CONFIRM, q.APPOINTMENT,
              goto("travel", no="declined", cant="declined", unanswered="unclear"),
              raises=(RaiseOn("no", "ROUTINE", "appointment_declined"),
                      RaiseOn("cant", "ROUTINE", "appointment_declined"))),
        State("travel", "appointment.travel", TRAVEL, q.TRAVEL,
              goto("thanks", need_help="travel_help"), only_if="param:ask_travel",
              raises=(RaiseOn("need_help", "ROUTINE", "needs_help_getting_there"),)),
        State("thanks", "appointment.thanks"),
        State("travel_help", "appointment.travel_help"),
        State("declined", "appointment.declined"),
        State("unclear", "appointment.unclear"),
    ),
    reprompt_after=timedelta(hours=3),
    expire_after=timedelta(hours=12),
    safety=False,
)
