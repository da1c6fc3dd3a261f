"""Flow texts (config/locale/en_GB/LC_MESSAGES/flows.po): present, GSM-7, one SMS where
possible, lock-screen safe, and never echoing answers or scores."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from bot.core.segments import count_segments, is_gsm7
from bot.core.texts import catalog, has_text, render
from config.paths import LOCALE_DIR
from flows import risk
from flows.crisis import load_crisis_config
from flows.model import (
    ChoiceAnswer,
    FreeTextAnswer,
    LanguageAnswer,
    NumberAnswer,
    TimeAnswer,
    YesNoAnswer,
)
from flows.registry import REGISTRY

PO = LOCALE_DIR / "en_GB" / "LC_MESSAGES" / "flows.po"
with PO.open("rb") as _fh:
    KEYS = [str(m.id) for m in read_po(_fh, locale="en_GB") if m.id]

# Long but realistic values, so the length check is honest.
PARAMS = {
    **load_crisis_config().message_params(),
    "first_name": "Alexandra", "officer_first_name": "Samantha", "codeword": "the itch",
    "when": "Wednesday 24 September at 10:00", "place": "Hope Centre, 12 High St",
    "lo": 0, "hi": 10, "n": 4, "yes": "2", "no": "1", "max_len": 24,
    "earliest": "08:00", "latest": "21:00",
    **LanguageAnswer().params(),  # the real list: each language in its own script
}
ALLOWED_PARAMS = set(PARAMS)
# Verbatim PHQ-9 item 9 with its full response key does not fit one SMS (§4.0); the safety
# item's wording wins over the segment count.
TWO_SEGMENTS_OK = {"weekly.item9"}
# The list of languages names each in its own script (UCS-2, 67 characters a part): the
# wording around it is GSM-7 and the whole fits 2 segments.
UCS2_LIST = {"onboarding.language_list"}
LOCK_SCREEN = ("rehab", "drug", "police", "court", "suicid", "mental health", "heroin", "crack",
               "cocaine", "overdose", "naloxone", "o2r", "prison", "probation", "self-harm")


def used_keys() -> set[str]:
    keys = {"callback.ack", *risk.CRISIS_MESSAGES, *risk.OVERDOSE_MESSAGES, *risk.ITEM9_MESSAGES,
            *risk.TOLERANCE_MESSAGES, *risk.SUPPORT_MESSAGES}
    for flow in REGISTRY.all_versions():
        for state in flow.states.values():
            keys.add(state.message_key)
            if state.codeword_message_key:
                keys.add(state.codeword_message_key)
            if isinstance(state.answer, NumberAnswer | ChoiceAnswer | YesNoAnswer | TimeAnswer
                          | FreeTextAnswer | LanguageAnswer):
                keys.add(state.answer.reask()[0])
    keys.add(YesNoAnswer().reask()[0])
    return keys


def test_every_key_the_flows_use_has_a_text() -> None:
    missing = sorted(k for k in used_keys() if not has_text(k))
    assert not missing


def test_no_text_is_unused() -> None:
    bases = {k.removesuffix(".discreet") for k in KEYS}
    assert bases <= used_keys(), sorted(bases - used_keys())


def test_every_discreet_variant_has_a_base_text() -> None:
    for key in KEYS:
        if key.endswith(".discreet"):
            assert key.removesuffix(".discreet") in KEYS, key


@pytest.mark.parametrize("key", sorted(set(KEYS)))
def test_text_is_gsm7_and_one_sms(key: str) -> None:
    if key in UCS2_LIST:
        assert is_gsm7(catalog("en_GB")[key].format(**{**PARAMS, "languages": "1 English"}))
        assert count_segments(catalog("en_GB")[key].format(**PARAMS)) <= 2, key
        return
    text = catalog("en_GB")[key].format(**PARAMS)
    assert is_gsm7(text), f"{key}: not GSM-7 (curly quote or dash?)"
    if key not in TWO_SEGMENTS_OK:
        assert len(text) <= 160, f"{key}: {len(text)} characters"


@pytest.mark.parametrize("key", sorted(set(KEYS)))
def test_only_known_params(key: str) -> None:
    """Texts never echo answers or scores back: only these params exist."""
    fields = {f for _, f, _, _ in string.Formatter().parse(catalog("en_GB")[key]) if f}
    assert fields <= ALLOWED_PARAMS, f"{key}: {fields - ALLOWED_PARAMS}"


@pytest.mark.parametrize("key", sorted({k.removesuffix(".discreet") for k in KEYS}))
def test_lock_screen_safe(key: str) -> None:
    normal = render(key, PARAMS).lower()
    discreet = render(key, PARAMS, discreet=True).lower()
    for word in LOCK_SCREEN:
        assert word not in normal[:40], f"{key}: {word!r} in the lock-screen preview"
        # Crisis texts name "mental health" help plainly (§6 rule 9), nothing else.
        if key.startswith("crisis.") and word == "mental health":
            continue
        assert word not in discreet, f"{key}: {word!r} in the text a discreet client gets"


def test_no_typographic_characters_in_the_catalog() -> None:
    assert not re.search("[\u2018\u2019\u201c\u201d\u2013\u2014\u2026]", PO.read_text())
