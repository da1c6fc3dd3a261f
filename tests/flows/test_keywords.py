"""Self-service keywords (flows/keywords.py): whole message only, any case, with their argument."""

from __future__ import annotations

from datetime import time

import pytest

from flows.intents import Intent, detect
from flows.keywords import Keyword, KeywordKind, parse_keyword

K = KeywordKind


@pytest.mark.parametrize(("text", "expected"), [
    ("TIME 18:00", Keyword(K.TIME, time=time(18, 0))),
    ("time 6.30pm", Keyword(K.TIME, time=time(18, 30))),
    ("Time 9am!", Keyword(K.TIME, time=time(9, 0))),
    ("time 0900", Keyword(K.TIME, time=None)),  # a shape we do not read: told the form
    ("TIME 23:00", Keyword(K.TIME, time=None)),  # outside 08:00-21:00: told the range
    ("TIME 7:59", Keyword(K.TIME, time=None)),
    ("time", Keyword(K.TIME, time=None)),
    ("PAUSE", Keyword(K.PAUSE, days=1)),
    ("pause 3.", Keyword(K.PAUSE, days=3)),
    ("Pause 14", Keyword(K.PAUSE, days=14)),
    ("pause 15", Keyword(K.PAUSE, days=None)),
    ("pause 0", Keyword(K.PAUSE, days=None)),
    ("plain", Keyword(K.PLAIN)),
    ("DISCREET", Keyword(K.DISCREET)),
    ("Reschedule", Keyword(K.RESCHEDULE)),
    ("/reschedule@o2r_bot", Keyword(K.RESCHEDULE)),
])
def test_keyword_alone_or_with_its_argument(text: str, expected: Keyword | None) -> None:
    assert parse_keyword(text) == expected


@pytest.mark.parametrize("text", [
    "I need to pause for a bit", "pause for now please", "what time is it", "plain crisps",
    "can we reschedule", "the discreet one", "", "   ", "times 18:00", "timer 18:00",
])
def test_sentences_are_not_keywords(text: str) -> None:
    assert parse_keyword(text) is None


def test_crisis_words_are_never_a_keyword_first() -> None:
    # The router checks intents first: a crisis message that starts with a keyword stays CRISIS.
    assert detect("pause i want to kill myself") is Intent.CRISIS
    assert parse_keyword("pause i want to kill myself") is None
