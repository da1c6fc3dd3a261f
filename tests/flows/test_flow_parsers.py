"""Reply parsers: what counts as an answer, and that user text never makes them raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.parsers import (
    ParseResult,
    parse_choice,
    parse_free_text,
    parse_number,
    parse_time,
    parse_yes_no,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [(" 7 ", 7), ("7", 7), ("0", 0), ("10", 10), ("07", 7), ("7.", 7), ("7!", 7), ("7/10", 7),
     ("7 / 10", 7), ("7 out of 10", 7), ("7\ufe0f\u20e3", 7), ("\U0001f51f", 10), ("\uff17", 7),
     ("\u0667", 7)],  # full-width and Arabic-Indic digits are unambiguous digits
)
def test_number_accepted(text: str, value: int) -> None:
    assert parse_number(text, 0, 10) == ParseResult(True, value)


@pytest.mark.parametrize(
    "text",
    # §4.6: 11, -1 and "7.5" are re-asked. Number words are not accepted (documented choice).
    ["11", "-1", "7.5", "seven", "seven?", "7/5", "7 8", "7-8", "about 7", "", "  ", "7 thanks",
     "1000", "½"],
)
def test_number_rejected(text: str) -> None:
    assert parse_number(text, 0, 10) == ParseResult(False)


def test_number_range_edges() -> None:
    assert parse_number("1", 1, 5).ok and parse_number("5", 1, 5).ok
    assert not parse_number("0", 1, 5).ok and not parse_number("6", 1, 5).ok
    assert parse_number("3/5", 1, 5) == ParseResult(True, 3)


@pytest.mark.parametrize(
    "text", ["y", "Y", "yes", "YES!", "yeah", "yep", "yup", "ya", "yesss", "Yeah I did", "aye"]
)
def test_yes_words(text: str) -> None:
    assert parse_yes_no(text) == ParseResult(True, True)


@pytest.mark.parametrize(
    "text", ["n", "N", "no", "No.", "nah", "nope", "nooo", "no I haven't", "not really", "never"]
)
def test_no_words(text: str) -> None:
    assert parse_yes_no(text) == ParseResult(True, False)


def test_yes_no_numbers_only_when_the_question_defines_them() -> None:
    assert parse_yes_no("2", yes_number="2", no_number="1") == ParseResult(True, True)
    assert parse_yes_no("1", yes_number="2", no_number="1") == ParseResult(True, False)
    assert parse_yes_no("1.", yes_number="2", no_number="1") == ParseResult(True, False)
    assert not parse_yes_no("3", yes_number="2", no_number="1").ok
    assert not parse_yes_no("1").ok
    # A number inside a sentence is not an answer ("no, 1 time" must not read as "no").
    assert parse_yes_no("2 yes", yes_number="2", no_number="1") == ParseResult(True, True)


@pytest.mark.parametrize("text", ["maybe", "yes no", "nah yeah", "me n him", "dunno", ""])
def test_yes_no_misfits(text: str) -> None:
    assert not parse_yes_no(text).ok


OPTIONS = (("bus", ("bus", "train")), ("lift", ("lift", "car")), ("walk", ("walk",)),
           ("need_help", ("need help", "help")))


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", "bus"), ("4", "need_help"), (" 2. ", "lift"), ("#3", "walk"), ("Bus", "bus"),
     ("I'll get the bus", "bus"), ("getting a lift", "lift"), ("I need help", "need_help")],
)
def test_choice(text: str, value: str) -> None:
    assert parse_choice(text, OPTIONS) == ParseResult(True, value)


@pytest.mark.parametrize("text", ["5", "0", "bus or walk", "dunno", "", "I pick 3"])
def test_choice_misfits(text: str) -> None:
    assert not parse_choice(text, OPTIONS).ok


def test_choice_longest_words_win_and_conflicts_resolve_only_when_declared() -> None:
    safe = (("safe", ("yes", "safe")), ("need_to_talk", ("no", "not safe", "need to talk")))
    assert parse_choice("I'm not safe", safe) == ParseResult(True, "need_to_talk")
    assert parse_choice("yes safe", safe) == ParseResult(True, "safe")
    assert not parse_choice("yes but I need to talk", safe).ok
    assert parse_choice("yes but I need to talk", safe, on_conflict="need_to_talk") == ParseResult(
        True, "need_to_talk")


@pytest.mark.parametrize(
    ("text", "value"),
    [("10", "10:00"), ("10am", "10:00"), ("6pm", "18:00"), ("6 pm", "18:00"), ("18:30", "18:30"),
     ("6.30pm", "18:30"), ("1830", "18:30"), ("noon", "12:00"), ("12pm", "12:00"),
     ("7", "19:00"), ("9", "09:00"), ("9:15", "09:15"), ("8", "08:00")],
)
def test_time(text: str, value: str) -> None:
    assert parse_time(text, "08:00", "21:00") == ParseResult(True, value)


@pytest.mark.parametrize("text", ["3am", "23:00", "25:00", "10:75", "13pm", "teatime", "", "7.5.5"])
def test_time_rejected(text: str) -> None:
    assert not parse_time(text, "08:00", "21:00").ok


def test_free_text() -> None:
    note = "I lost my phone charger"
    assert parse_free_text(f"  {note} ") == ParseResult(True, note)
    for skip in ("0", "skip", "No", "nothing", "no thanks", "N/A"):
        assert parse_free_text(skip) == ParseResult(True, None), skip
    assert not parse_free_text("   ").ok
    assert not parse_free_text("x" * 25, max_len=24).ok
    assert parse_free_text("no", skip_words=()) == ParseResult(True, "no")


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_parsers_never_raise(text: str) -> None:
    for result in (
        parse_number(text, 0, 10),
        parse_yes_no(text, yes_number="2", no_number="1"),
        parse_choice(text, OPTIONS, on_conflict="bus"),
        parse_free_text(text, max_len=24),
        parse_time(text, "08:00", "21:00"),
    ):
        assert isinstance(result, ParseResult)
