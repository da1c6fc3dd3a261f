"""Monthly / milestone scales (§3.3), split into three flows the scheduler sends on different
days (≈10-12 messages each): SPANE-12, BARC-10, K10. PHQ-9 and GAD-7 are scored in
flows/scales.py but not sent as bot flows: K10 is the single distress score (§3.3 "or K10")."""

from __future__ import annotations

from datetime import timedelta

from flows.builtin.common import goto, scale_states
from flows.model import Flow, State, states
from flows.scales import BARC10, K10, SPANE


def _monthly(flow_id: str, title: str, part: str, scale_states_: list[State]) -> Flow:
    first = scale_states_[0].key
    return Flow(
        id=flow_id,
        version=1,
        kind="scale",
        title=title,
        priority=10,
        when_busy="wait",
        initial="intro",
        states=states(State("intro", f"{part}.intro", next=goto(first)), *scale_states_,
                      State("thanks", f"{part}.thanks")),
        reprompt_after=timedelta(hours=3),
        expire_after=timedelta(hours=24),
        safety=False,
    )


MONTHLY_SPANE_V1 = _monthly("monthly_spane", "Monthly part 1: SPANE-12", "spane",
                            scale_states(SPANE, "spane", then="thanks"))
MONTHLY_BARC_V1 = _monthly("monthly_barc", "Monthly part 2: BARC-10", "barc",
                           scale_states(BARC10, "barc", then="thanks"))
MONTHLY_K10_V1 = _monthly("monthly_k10", "Monthly part 3: K10", "k10",
                          scale_states(K10, "k10", then="thanks"))
