"""Risk language outside a flow (config/risk_language.toml): use, relapse, craving, housing loss,
arrest, violence. Pure matcher; the crisis detector (flows.intents) runs first and wins.

Kept apart from the crisis phrases on purpose: a match here is AMBER (the officer hears the same
working day), not RED. The crisis detector may later absorb this list.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache

from config.paths import config_file

RISK_LANGUAGE_TOML = config_file("risk_language.toml")


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.findall(r"[a-z0-9]+", text))


@lru_cache(maxsize=1)
def load() -> Mapping[str, tuple[str, ...]]:
    with RISK_LANGUAGE_TOML.open("rb") as fh:
        data = tomllib.load(fh)
    cats = data.get("categories", {})
    out: dict[str, tuple[str, ...]] = {}
    for cat, phrases in cats.items():
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
            raise ValueError(f"risk_language.toml: [categories].{cat} must be a list of phrases")
        out[cat] = tuple(_normalise(p) for p in phrases)
    return out


def match(text: str, categories: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """The categories whose phrases occur in `text` as whole words, in config order."""
    padded = f" {_normalise(text)} "
    found = []
    for cat, phrases in (categories or load()).items():
        if any(f" {p} " in padded for p in phrases):
            found.append(cat)
    return found


def is_more_than_a_typo(text: str) -> bool:
    """A reply that is words, not a slip of the thumb: two or more words with letters, or one
    long one. "5" mistyped as "t" is a typo; "he seemed low" is not an answer to 0-10."""
    words = [w for w in re.findall(r"[^\W\d_]+", text) if len(w) >= 2]
    return len(words) >= 2 or any(len(w) >= 8 for w in words)
