"""SMS segment budgets per language (UCS-2: 70 characters, 67 per part when split): every
drafted or reviewed entry, filled with long but realistic values, stays within its budget:
flow texts (questions) 2 segments, safety texts and everything else 3."""

from __future__ import annotations

import string
from typing import Any

import pytest
from babel.messages.pofile import read_po

from bot.core.segments import count_segments
from bot.core.texts import catalog, drafts, is_safety
from config.paths import LOCALE_DIR
from tests.flows.test_flow_texts import PARAMS

LANGUAGES = ["pa_IN", "pl_PL", "ro_RO", "ur_PK"]
DOMAINS = ["flows", "messages", "reminders", "aftercare"]


class _Long(dict[str, Any]):
    """PARAMS, and a long date-like value for any other param (names, places, times)."""

    def __missing__(self, key: str) -> str:
        return "Wednesday 24 September"


def budget(domain: str, key: str) -> int:
    return 3 if is_safety(key) or domain != "flows" else 2


def entries(lang: str, domain: str) -> list[str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as fh:
        return [str(m.id) for m in read_po(fh, locale=lang) if m.id]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_fits_its_segment_budget(lang: str, domain: str) -> None:
    over = []
    for key in entries(lang, domain):
        text = catalog(lang).get(key) or drafts(lang).get(key)
        if not text:
            continue  # untranslated: the English text is sent, and checked in English
        n = count_segments(string.Formatter().vformat(text, (), _Long(PARAMS)))
        if n > budget(domain, key):
            over.append(f"{key}: {n} segments")
    assert not over, over


def test_urdu_and_punjabi_count_as_ucs2() -> None:
    assert count_segments("ا" * 70) == 1 and count_segments("ا" * 71) == 2
    assert count_segments("ਕ" * 134) == 2 and count_segments("ਕ" * 135) == 3
