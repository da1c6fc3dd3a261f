"""Turning a client's reply into a value. Every parser returns a ParseResult and never raises.

Decisions (conservative: a misread answer is worse than a re-ask):
- Numbers: digits only, optionally "7.", "7!", or "7/10" when the denominator is the top of the
  scale. Number words ("seven"), decimals ("7.5"), signs ("-1"), ranges and several numbers are
  NOT accepted: the re-ask shows the digits to send. Keycap emoji (7️⃣, 🔟), full-width and
  other Unicode decimal digits count as digits (they are unambiguous).
- Choices and yes/no: a number shortcut must be the whole reply ("2", "2."). Words may appear
  anywhere ("yeah I did"), matched as whole words after lower-casing, dropping apostrophes and
  squashing repeated letters ("yesss", "nooo"); one-letter words ("y", "n") only as the whole
  reply. If words of two different options appear ("no, I'm safe") the reply is a misfit, unless
  the question names a safe default for conflicts (the safety item resolves to "need to talk").
- Times: "10", "10am", "6pm", "18:30", "6.30pm", "1830", "noon". A bare hour that would fall
  before the earliest allowed time is read as pm when that fits ("7" -> 19:00).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# A parsed value is stored as JSON: int, bool, str or None.
Value = Any


@dataclass(frozen=True)
class ParseResult:
    ok: bool
    value: Value = None


FAIL = ParseResult(False)

# Yes and no in the clients' other languages, accepted whatever their set language (people
# answer in the language that comes first): Polish, Romanian, Urdu and Punjabi, romanised and
# in their scripts. Numbers need nothing: Urdu (۰-۹) and Gurmukhi (੦-੯) digits are Unicode
# decimal digits, which parse_number and the shortcuts already read.
LOCAL_YES: tuple[str, ...] = ("tak", "da", "haan", "han", "haa", "ji", "jee", "ji haan", "ہاں",
                              "جی", "جی ہاں", "ਹਾਂ", "ਹਾਂਜੀ", "ਜੀ", "ਜੀ ਹਾਂ")
LOCAL_NO: tuple[str, ...] = ("nie", "nu", "nahi", "nahin", "nai", "nhi", "jee nahi", "ji nahi", "نہیں",
                             "نہ", "جی نہیں", "ਨਹੀਂ", "ਨਾ", "ਜੀ ਨਹੀਂ")
YES_WORDS: tuple[str, ...] = ("y", "yes", "yeah", "yep", "yup", "ya", "yea", "yah", "aye", "ye",
                              *LOCAL_YES)
NO_WORDS: tuple[str, ...] = ("n", "no", "nah", "nope", "na", "not really", "no thanks", "never",
                             *LOCAL_NO)
SKIP_WORDS: tuple[str, ...] = (
    "0", "skip", "no", "n", "nah", "nope", "none", "nothing", "no thanks", "not really", "na",
    "n/a", "nothing to add", "all good", "nothing else",
)

_KEYCAPS = {f"{d}\ufe0f\u20e3": str(d) for d in range(10)}
_KEYCAPS |= {f"{d}\u20e3": str(d) for d in range(10)}
_KEYCAPS["\U0001f51f"] = "10"
_APOSTROPHES = "\u2019\u2018\u02bc`\u00b4'"


def clean(text: str) -> str:
    """NFKC, keycap digits to digits, lower case, outer whitespace stripped."""
    t = unicodedata.normalize("NFKC", text or "")
    for cap, digit in _KEYCAPS.items():
        t = t.replace(cap, digit)
    return t.strip().lower()


def words(text: str) -> str:
    """Lower-case words separated by single spaces; apostrophes dropped ("can't" -> "cant"),
    other punctuation a space, runs of a repeated letter squashed ("yesss" -> "yes")."""
    t = clean(text)
    for a in _APOSTROPHES:
        t = t.replace(a, "")
    t = "".join(ch if ch.isalnum() else " " for ch in t)
    t = re.sub(r"([^\W\d_])\1+", r"\1", t)
    return " ".join(t.split())


_NUMBER = re.compile(r"^(\d{1,3})\s*(?:(?:/|out of)\s*(\d{1,3}))?\s*[.!]?$")


def parse_number(text: str, lo: int, hi: int) -> ParseResult:
    """An integer lo..hi written in digits (see module docstring for what else is tolerated)."""
    m = _NUMBER.match(clean(text))
    if not m:
        return FAIL
    n = int(m.group(1))
    if m.group(2) is not None and int(m.group(2)) != hi:
        return FAIL
    return ParseResult(True, n) if lo <= n <= hi else FAIL


_SHORTCUT = re.compile(r"^#?(\d{1,2})\s*[.)!]?$")


def parse_choice(
    text: str,
    options: Sequence[tuple[str, Sequence[str]]],
    *,
    numbered: bool = True,
    on_conflict: str | None = None,
) -> ParseResult:
    """One of `options` (value, words). With `numbered`, "1".."n" pick options in order."""
    m = _SHORTCUT.match(clean(text))
    if m:
        i = int(m.group(1))
        if numbered and 1 <= i <= len(options):
            return ParseResult(True, options[i - 1][0])
    reply = words(text)
    if not reply:
        return FAIL
    # Longest words first, blanking each match, so "not safe" is not also read as "safe".
    keyed = sorted(
        ((words(w), value) for value, ws in options for w in ws if words(w)),
        key=lambda kv: -len(kv[0]),
    )
    found: set[str] = set()
    padded = f" {reply} "
    for word, value in keyed:
        if len(word) == 1:
            if reply == word:
                found.add(value)
            continue
        needle = f" {word} "
        if needle in padded:
            found.add(value)
            padded = padded.replace(needle, " " * len(needle))
    if len(found) == 1:
        return ParseResult(True, found.pop())
    if len(found) > 1 and on_conflict is not None:
        return ParseResult(True, on_conflict)
    return FAIL


def parse_yes_no(
    text: str, *, yes_number: str | None = None, no_number: str | None = None
) -> ParseResult:
    """True/False from yes/no words, or the numbers the question defined ("1 = no, 2 = yes")."""
    m = _SHORTCUT.match(clean(text))
    if m:
        if m.group(1) == yes_number:
            return ParseResult(True, True)
        if m.group(1) == no_number:
            return ParseResult(True, False)
        return FAIL
    r = parse_choice(text, (("yes", YES_WORDS), ("no", NO_WORDS)), numbered=False)
    return ParseResult(True, r.value == "yes") if r.ok else FAIL


def parse_free_text(
    text: str, *, skip_words: Sequence[str] = SKIP_WORDS, max_len: int | None = None
) -> ParseResult:
    """The reply as written (outer whitespace stripped); None when the client skipped it."""
    stripped = (text or "").strip()
    if not stripped:
        return FAIL
    if words(stripped) in {words(w) for w in skip_words} or clean(stripped) in skip_words:
        return ParseResult(True, None)
    if max_len is not None and len(stripped) > max_len:
        return FAIL
    return ParseResult(True, stripped)


_TIME = re.compile(r"^(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")
_TIME_4 = re.compile(r"^(\d{2})(\d{2})$")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def parse_time(text: str, earliest: str = "00:00", latest: str = "23:59") -> ParseResult:
    """A clock time "HH:MM" between `earliest` and `latest` (inclusive)."""
    t = clean(text).rstrip(".!")
    if t in ("noon", "midday", "12 noon"):
        t = "12:00"
    m4 = _TIME_4.match(t)
    if m4:
        t = f"{m4.group(1)}:{m4.group(2)}"
    m = _TIME.match(t)
    if not m:
        return FAIL
    h, mins = int(m.group(1)), int(m.group(2) or 0)
    suffix = (m.group(3) or "").replace(".", "")
    if mins > 59 or h > 23 or (suffix and not 1 <= h <= 12):
        return FAIL
    if suffix == "am":
        h = 0 if h == 12 else h
    elif suffix == "pm":
        h = 12 if h == 12 else h + 12
    lo, hi = _minutes(earliest), _minutes(latest)
    value = h * 60 + mins
    if not suffix and h < 12 and value < lo and lo <= value + 720 <= hi:
        value += 720
    if not lo <= value <= hi:
        return FAIL
    return ParseResult(True, f"{value // 60:02d}:{value % 60:02d}")
