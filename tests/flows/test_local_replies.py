"""Replies understood in the client's language, whatever their set language: native digits,
yes/no words, local keyword equivalents (STOP stays STOP)."""

from __future__ import annotations

import pytest

from bot.core.identities import find_identity
from bot.core.outbox import enqueue
from flows.intents import Intent, classify
from flows.parsers import parse_choice, parse_number, parse_yes_no
from tests.conftest import Harness


@pytest.mark.parametrize(("text", "value"), [
    ("۷", 7), ("١٠", 10), ("੭", 7), ("੧੦", 10), ("7", 7), ("۷/۱۰", 7),
])
def test_native_digits_answer_a_scale(text: str, value: int) -> None:
    assert parse_number(text, 0, 10).value == value


def test_native_digits_pick_a_numbered_choice() -> None:
    options = (("a", ("alpha",)), ("b", ("beta",)), ("c", ("gamma",)))
    assert parse_choice("۲", options).value == "b"
    assert parse_choice("੩", options).value == "c"


@pytest.mark.parametrize(("text", "value"), [
    ("tak", True), ("nie", False), ("da", True), ("nu", False), ("haan", True), ("ji haan", True),
    ("nahi", False), ("ji nahi", False), ("ہاں", True), ("جی نہیں", False), ("ਹਾਂ", True),
    ("ਨਹੀਂ", False), ("yes", True), ("no", False),
])
def test_yes_and_no_in_every_language(text: str, value: bool) -> None:
    assert parse_yes_no(text).value is value


@pytest.mark.parametrize(("text", "intent"), [
    ("STOP", Intent.OPT_OUT), ("stop", Intent.OPT_OUT), ("Wypisz", Intent.OPT_OUT),
    ("band karo", Intent.OPT_OUT), ("بند کرو", Intent.OPT_OUT), ("ਬੰਦ ਕਰੋ", Intent.OPT_OUT),
    ("dezabonare", Intent.OPT_OUT), ("pomoc", Intent.HELP), ("madad", Intent.HELP),
    ("START", Intent.OPT_IN), ("shuru", Intent.OPT_IN),
])
def test_local_keywords_alone(text: str, intent: Intent) -> None:
    found = classify(text)
    assert found is not None and found.intent is intent


def test_local_keywords_only_alone_and_crisis_still_first() -> None:
    assert classify("band karo ye shor") is None
    found = classify("ajutor")  # Romanian "help!" alone: a person looks at once
    assert found is not None and found.intent is Intent.CRISIS


async def test_band_karo_opts_out_like_stop(harness: Harness) -> None:
    sam = "+447700900125"
    await harness.add_client(phone=sam)
    await harness.sms(sam, "band karo")
    await harness.settle()
    assert len(harness.twilio.sent("messages.create")) == 1  # the confirmation

    async def routine(tx):  # type: ignore[no-untyped-def]
        ident = await find_identity(tx, "sms", sam)
        return await enqueue(tx, harness.clock.now(), ident, "A routine message that must not go")

    await harness.write(routine)
    harness.service.wake()
    await harness.settle()
    assert len(harness.twilio.sent("messages.create")) == 1
    cancelled = await harness.outbox(address=sam, status="cancelled")
    assert [r["last_error"] for r in cancelled] == ["opted out"]
