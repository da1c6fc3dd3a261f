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
from typing import Any

from flows.crisis import CrisisConfig, Phrases, load_crisis_config
from flows.detector import Screen, Screens, build_screens, prenormalise

__all__ = ["Detection", "Intent", "classify", "detect", "guess_language", "load_crisis_config",
           "normalise", "screen", "warm"]


class Intent(Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CRISIS = "crisis"
    CALLBACK = "callback"


@dataclass(frozen=True)
class Detection:
    intent: Intent
    phrase: str | None = None  # the client's words (or the keyword) that matched
    category: str | None = None  # crisis category: ideation | method | overdose | safety
    frame: str | None = None  # crisis frame (flows/detector.py): suicidal, means, medical...
    label: str | None = None  # the frame in plain language, for officers
    lang: str | None = None  # the crisis frame file that fired (en, pl, ro, ur, pa...)

    @property
    def explanation(self) -> str:
        """Why it alerted, in plain language: the frame and the client's own words."""
        if self.label:
            return f"{self.label}: \"{self.phrase}\""
        return f"matched \"{self.phrase}\"" if self.phrase else ""


# STOP stays STOP in every language (carriers act on it); these are local equivalents, also as
# the whole message, whatever the client's set language. "ajutor" (Romanian "help!") is not
# here: alone it reads as a crisis, which the screen decides first.
LOCAL_OPT_OUT = frozenset({"wypisz", "wypisz mnie", "dezabonare", "dezabonez", "band karo",
                           "bas karo", "بند کرو", "ਬੰਦ ਕਰੋ"})
LOCAL_OPT_IN = frozenset({"wznow", "pornire", "shuru", "شروع", "ਸ਼ੁਰੂ"})
LOCAL_HELP = frozenset({"pomoc", "informacje", "madad", "مدد", "ਮਦਦ"})
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "/stop"}
                          | LOCAL_OPT_OUT)
OPT_IN_WORDS = frozenset({"start", "unstop", "/start"} | LOCAL_OPT_IN)
HELP_WORDS = frozenset({"help", "info", "/help"} | LOCAL_HELP)

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
    """Lower-case words and emoji separated by single spaces, apostrophes dropped, invisible
    characters removed and look-alike letters folded to Latin."""
    t = prenormalise(_INVISIBLE.sub("", text or ""))
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


_Callback = list[tuple[re.Pattern[str], str]]


_last: list[Any] = [None, None]


def _compiled(phrases: Phrases) -> tuple[Screens, _Callback, re.Pattern[str] | None]:
    # Hashing the whole phrase list on every message costs more than screening it: the
    # same Phrases object (the shipped config) comes back each time, so check identity first.
    if _last[0] is phrases:
        return _last[1]  # type: ignore[no-any-return]
    _last[:] = [phrases, _compile(phrases)]
    return _last[1]  # type: ignore[no-any-return]


@lru_cache(maxsize=8)
def _compile(phrases: Phrases) -> tuple[Screens, _Callback, re.Pattern[str] | None]:
    callback = [(re.compile(phrase_pattern(p)), p) for p in phrases.callback if normalise(p)]
    anything = (re.compile("|".join(f"(?:{pat.pattern})" for pat, _ in callback))
                if callback else None)
    return build_screens(phrases.crisis), callback, anything


# The router screens a message, then the flow engine screens the same text again before it
# takes it as an answer (a crisis must never be read as one). The screen is a pure function of
# the text, so the second look reuses the first: it is the costliest step of routing.
_recent: tuple[Screens, str, Screen | None] | None = None


def _screened(detector: Screens, text: str) -> Screen | None:
    global _recent
    last = _recent
    if last is not None and last[0] is detector and last[1] == text:
        return last[2]
    found = detector.screen(text)
    _recent = (detector, text, found)
    return found


def screen(text: str, phrases: Phrases | CrisisConfig | None = None) -> Screen | None:
    """The crisis screen alone (frames and reviewed phrases): what fired and why, or None."""
    return _compiled(_phrases(phrases))[0].screen(text)


def possible_crisis(text: str, phrases: Phrases | CrisisConfig | None = None) -> Screen | None:
    """The AMBER net: for a message the crisis screen did not fire on, words of death, means
    or farewell in Polish, Romanian, Urdu, Punjabi... (each language's `[amber]` list); None
    when the screen fired (that is RED) or nothing matched."""
    screens = _compiled(_phrases(phrases))[0]
    if _screened(screens, text) is not None:
        return None
    return screens.amber(text)


def guess_language(text: str, phrases: Phrases | CrisisConfig | None = None) -> str | None:
    """The language a client's words look like (`Screens.guess_language`), from the words the
    crisis screen reads anyway: made once when a message arrives, shown on the panel."""
    return _compiled(_phrases(phrases))[0].guess_language(text)


def crisis_detection(found: Screen) -> Detection:
    return Detection(Intent.CRISIS, found.words, found.category, found.frame, found.label,
                     found.lang)


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
    detector, callback, anything = _compiled(_phrases(phrases))
    found = _screened(detector, text)
    if found is not None:
        return crisis_detection(found)
    norm = normalise(text)
    hit = anything is not None and anything.search(norm) is not None
    alone = _alone(text)
    called = next((p for pat, p in callback if pat.search(norm)), None) if hit else None
    if safety_question_pending and (alone in HELP_WORDS or called):
        return Detection(Intent.CRISIS, called or alone, "safety", "unsafe",
                         "asked for help while a safety question was open")
    if alone in OPT_OUT_WORDS:
        return Detection(Intent.OPT_OUT, alone)
    if alone in OPT_IN_WORDS:
        return Detection(Intent.OPT_IN, alone)
    if alone in HELP_WORDS:
        return Detection(Intent.HELP, alone)
    if called:
        return Detection(Intent.CALLBACK, called)
    return None


def warm() -> None:
    """Compile the shipped screens and load the lemma dictionary now, at start-up: done lazily,
    the first message after a restart would wait over a second (a crisis included)."""
    classify("warming up: I was running late, call me")


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
