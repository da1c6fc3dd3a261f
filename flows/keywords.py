"""Self-service keywords a client sends to change things themselves (pure; the router acts).

Checked after CRISIS and STOP/START/HELP (flows/intents.py) and before the flow engine, in the
same style: any case, outer punctuation ignored, and only as the whole message, the keyword
alone or with its argument ("time 18:00", "Pause 3"). A sentence that merely contains the word
("I'll pause for a bit") is not a keyword: it goes to the flow or the officer's inbox.

TIME HH:MM   move the daily check-in (a bad or out-of-range time is still TIME, value None,
             so the client is told the range rather than having it read as an answer)
PAUSE [N]    no check-ins today, or for N days (1..MAX_PAUSE_DAYS)
PLAIN        plain wording;  DISCREET  discreet wording
RESCHEDULE   ask the officer to move the next appointment
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import time
from enum import Enum

__all__ = ["EARLIEST", "LATEST", "MAX_PAUSE_DAYS", "Keyword", "KeywordKind", "parse_keyword"]

# The same range onboarding offers for the check-in time (flows/builtin/onboarding.py).
EARLIEST = time(8, 0)
LATEST = time(21, 0)
# A longer break is a conversation with the officer, not a keyword.
MAX_PAUSE_DAYS = 14


class KeywordKind(Enum):
    TIME = "time"
    PAUSE = "pause"
    PLAIN = "plain"
    DISCREET = "discreet"
    RESCHEDULE = "reschedule"


@dataclass(frozen=True)
class Keyword:
    kind: KeywordKind
    time: time | None = None  # TIME: the new check-in time; None if it was not a usable time
    days: int | None = None  # PAUSE: 1 = today only; None if N was out of range


_WORDS = {k.value: k for k in KeywordKind}
_SHAPE = re.compile(r"^/?([a-z]+)(?:@\w+)?(?:\s+(.+?))?$")
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$")


def _clock(arg: str) -> time | None:
    m = _CLOCK.match(arg.replace(" ", ""))
    if m is None:
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    at = time(hour, minute)
    return at if EARLIEST <= at <= LATEST else None


def parse_keyword(text: str) -> Keyword | None:
    """The self-service keyword in a whole message, or None."""
    t = unicodedata.normalize("NFKC", text or "").strip().lower().strip(" \t\r\n.!?,;:\"'")
    m = _SHAPE.match(t)
    if m is None or m.group(1) not in _WORDS:
        return None
    kind, arg = _WORDS[m.group(1)], (m.group(2) or "").strip()
    if kind is KeywordKind.TIME:
        return Keyword(kind, time=_clock(arg)) if arg else Keyword(kind)
    if kind is KeywordKind.PAUSE:
        if not arg:
            return Keyword(kind, days=1)
        if not arg.isascii() or not arg.isdigit():
            return None  # "pause for now please": words, not a keyword
        n = int(arg)
        return Keyword(kind, days=n if 1 <= n <= MAX_PAUSE_DAYS else None)
    return None if arg else Keyword(kind)
