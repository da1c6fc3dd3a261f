"""Global intents, checked on EVERY inbound client message before any flow sees it.

Order: CRISIS (a reviewed phrase anywhere in the message; beats everything, STOP included),
then the carrier keywords sent alone (OPT_OUT, OPT_IN, HELP), then CALLBACK ("call me"
anywhere). While a safety question is pending ("Are you safe right now?", PHQ-9 item 9), "help"
or a call-me request is read as CRISIS: that is the "2 = I need to talk" answer in other words.

Keyword decisions: OPT_OUT is STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (the words carriers
and Twilio act on, so we must too) or Telegram /stop, any case, surrounding punctuation
ignored, but only as the whole message ("stop texting me at work" is not an opt-out; a person
reads it). OPT_IN is START, UNSTOP or a bare /start ("/start CODE" is account linking, not an
intent). YES is not an opt-in here: it answers questions. HELP is HELP, INFO or /help alone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from flows.crisis import CrisisConfig, Phrases, load_crisis_config

__all__ = ["Detection", "Intent", "classify", "detect", "load_crisis_config", "normalise"]


class Intent(Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CRISIS = "crisis"
    CALLBACK = "callback"


@dataclass(frozen=True)
class Detection:
    intent: Intent
    phrase: str | None = None  # the configured phrase (or keyword) that matched
    category: str | None = None  # crisis category: ideation | method | overdose | safety


OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "/stop"})
OPT_IN_WORDS = frozenset({"start", "unstop", "/start"})
HELP_WORDS = frozenset({"help", "info", "/help"})

_APOSTROPHES = "\u2019\u2018\u02bc`\u00b4'"
_INVISIBLE = re.compile("[\ufe0e\ufe0f\u200d\u200b\U0001f3fb-\U0001f3ff]")
# Spellings folded together before matching; the phrases go through the same folding.
_SYNONYMS = (
    ("can not", "cant"), ("cannot", "cant"), ("carnt", "cant"), ("do not", "dont"),
    ("will not", "wont"), ("wanna", "want to"), ("gonna", "going to"), ("meself", "myself"),
    ("my self", "myself"), ("any more", "anymore"), ("some one", "someone"),
)


_ODED = re.compile(r"(?<!\w)od'(?:e?d)(?!\w)")
_OD_DOTS = re.compile(r"(?<!\w)o\.d\.?(?!\w)")
_SYNONYM_MAP = dict(_SYNONYMS)
# One pass for all synonyms (longest first, so "can not" wins over a shorter overlap).
_SYNONYM_RE = re.compile(
    r"(?<!\S)(" + "|".join(re.escape(a) for a in sorted(_SYNONYM_MAP, key=len, reverse=True))
    + r")(?!\S)")


def normalise(text: str) -> str:
    """Lower-case words and emoji separated by single spaces, apostrophes dropped."""
    t = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text or "").lower())
    for a in _APOSTROPHES:
        t = t.replace(a, "'")
    # "OD'd" is unambiguous only while it has its apostrophe ("odd" is a word); "O.D." too.
    t = _ODED.sub("oded", t)
    t = _OD_DOTS.sub("od", t)
    t = t.replace("'", "")
    out: list[str] = []
    for ch in t:
        if ch.isalnum():
            out.append(ch)
        elif unicodedata.category(ch) in ("So", "Sk") or ord(ch) >= 0x1F000:
            out.append(f" {ch} ")  # emoji stay, as words of their own
        else:
            out.append(" ")
    t = " ".join("".join(out).split())
    return _SYNONYM_RE.sub(lambda m: _SYNONYM_MAP[m.group(1)], t)


def _token_pattern(token: str, elastic: bool) -> str:
    if not elastic or not token.isalpha():
        return re.escape(token)
    squashed = re.sub(r"(.)\1+", r"\1", token)
    return "".join(f"{re.escape(c)}+" for c in squashed)


def phrase_pattern(phrase: str) -> str:
    """Regex for a phrase: whole words, any spacing, repeated letters tolerated. A one-word
    phrase shorter than 4 letters ("od") must match exactly ("odd" is a word)."""
    tokens = normalise(phrase).split()
    elastic = len(tokens) > 1 or len(tokens[0]) >= 4
    body = r"\s*".join(_token_pattern(t, elastic) for t in tokens)
    return rf"(?<!\w){body}(?!\w)"


_Crisis = list[tuple[re.Pattern[str], str, str]]
_Callback = list[tuple[re.Pattern[str], str]]


@lru_cache(maxsize=8)
def _compiled(phrases: Phrases) -> tuple[_Crisis, _Callback, re.Pattern[str]]:
    crisis = [(re.compile(phrase_pattern(p)), p, cat) for p, cat in phrases.crisis if normalise(p)]
    callback = [(re.compile(phrase_pattern(p)), p) for p in phrases.callback if normalise(p)]
    # Every inbound message is screened: one combined search rejects the common case (a number,
    # an ordinary word) at once; only a hit walks the list to name the phrase, in config order.
    anything = re.compile("|".join(f"(?:{pat.pattern})" for pat, *_ in (*crisis, *callback)))
    return crisis, callback, anything


def _alone(text: str) -> str:
    """The message as a single keyword candidate: trimmed, lower-case, outer punctuation off,
    a Telegram "@botname" suffix dropped ("/stop@o2r_bot")."""
    t = unicodedata.normalize("NFKC", text or "").strip().lower()
    t = t.strip(" \t\r\n.!?,;:\"'")
    return re.sub(r"^(/\w+)@\w+$", r"\1", t)


def _phrases(phrases: Phrases | CrisisConfig | None) -> Phrases:
    if phrases is None:
        return load_crisis_config().phrases
    return phrases.phrases if isinstance(phrases, CrisisConfig) else phrases


def classify(
    text: str,
    phrases: Phrases | CrisisConfig | None = None,
    *,
    safety_question_pending: bool = False,
) -> Detection | None:
    """The intent of an inbound message, with the phrase that matched; None: not an intent."""
    crisis, callback, anything = _compiled(_phrases(phrases))
    norm = normalise(text)
    hit = anything.search(norm) is not None
    for pattern, phrase, category in crisis if hit else ():
        if pattern.search(norm):
            return Detection(Intent.CRISIS, phrase, category)
    alone = _alone(text)
    called = next((p for pat, p in callback if pat.search(norm)), None) if hit else None
    if safety_question_pending and (alone in HELP_WORDS or called):
        return Detection(Intent.CRISIS, called or alone, "safety")
    if alone in OPT_OUT_WORDS:
        return Detection(Intent.OPT_OUT, alone)
    if alone in OPT_IN_WORDS:
        return Detection(Intent.OPT_IN, alone)
    if alone in HELP_WORDS:
        return Detection(Intent.HELP, alone)
    if called:
        return Detection(Intent.CALLBACK, called)
    return None


def detect(
    text: str,
    phrases: Phrases | CrisisConfig | None = None,
    *,
    safety_question_pending: bool = False,
) -> Intent | None:
    """The intent of an inbound message (None: hand it to the flow). `phrases` defaults to
    config/crisis.toml."""
    found = classify(text, phrases, safety_question_pending=safety_question_pending)
    return found.intent if found else None
