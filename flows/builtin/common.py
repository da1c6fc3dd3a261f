"""Building blocks shared by the built-in flows."""

from __future__ import annotations

from flows.model import (
    DEFAULT,
    Choice,
    ChoiceAnswer,
    NumberAnswer,
    State,
    YesNoAnswer,
)
from flows.parsers import NO_WORDS, YES_WORDS
from flows.scales import Scale

ZERO_TEN = NumberAnswer(0, 10)
# "Reply 1 = no, 2 = yes" (§3.1 wording: "no" first, so a quick "1" is the common answer).
NO1_YES2 = YesNoAnswer(yes_number="2", no_number="1")
YES1_NO2 = YesNoAnswer(yes_number="1", no_number="2")

# "Are you safe right now? 1 = yes, 2 = I need to talk". A reply mixing both ("yes but I need to
# talk") resolves to need_to_talk: on a safety item, doubt goes to a human.
SAFE_ANSWER = ChoiceAnswer(
    (
        Choice("safe", ("yes", "y", "yeah", "yep", "yup", "safe", "ok", "okay", "fine",
                        "im ok", "im fine", "im safe", "all good")),
        Choice("need_to_talk", ("no", "n", "nah", "nope", "need to talk", "talk", "not safe",
                                "not ok", "not okay", "not fine", "help", "call")),
    ),
    on_conflict="need_to_talk",
)

# AMBER bot action (§5.5): "Want a call today? 1 yes 2 not now".
CALL_ANSWER = ChoiceAnswer(
    (
        Choice("yes", (*YES_WORDS, "please", "yes please", "ok", "okay")),
        Choice("not_now", (*NO_WORDS, "not now", "later", "not today")),
    )
)


# Words for non-numeric scale answers (BARC-10 item 7 for people with nowhere to live).
ALIAS_WORDS: dict[str, tuple[str, ...]] = {
    "no_living_space": ("0", "none", "nowhere", "no living space", "no place", "homeless",
                        "n/a", "na", "on the street", "streets", "sleeping rough"),
}


def goto(default: str | None, **by_value: str | None) -> dict[str, str | None]:
    """Transitions: `default` for any value, plus per-value targets (None ends the flow)."""
    return {DEFAULT: default, **by_value}


def scale_states(scale: Scale, message_prefix: str, then: str | None) -> list[State]:
    """One question per scale item, in the scale's order, answers stored as "<scale>_<item>".
    Message keys are "<message_prefix>.<item id>"."""
    ids = scale.item_ids
    out: list[State] = []
    for i, item in enumerate(scale.items):
        specials = ()
        if item.aliases:
            specials = tuple((alias, ALIAS_WORDS[alias]) for alias in item.aliases)
        out.append(State(
            key=f"{scale.id}_{item.id}",
            message_key=f"{message_prefix}.{item.id}",
            answer=NumberAnswer(scale.lo, scale.hi, specials=specials),
            question_key=f"{scale.id}_{item.id}",
            next=goto(f"{scale.id}_{ids[i + 1]}" if i + 1 < len(ids) else then),
            scale_item=(scale.id, item.id),
        ))
    return out
