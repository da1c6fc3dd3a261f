"""Flows as declarative data: a Flow is a versioned, acyclic graph of States.

A State sends one message; if it expects an answer, the answer spec parses the reply and the
transitions pick the next state by the parsed value. Validation at construction guarantees
every flow ends (the graph has no cycle), so no sequence of replies can loop.

Transition keys (`State.next`): the value key of the answer ("yes"/"no" for yes/no, the digits
for numbers, the option value for choices, "answered"/"skipped" for free text and times), or
DEFAULT ("*"), or UNANSWERED (after two misfits; falls back to DEFAULT). A target of None ends
the flow as completed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from flows import language_keyword, parsers
from flows.parsers import ParseResult
from flows.scales import SCALES

DEFAULT = "*"
UNANSWERED = "unanswered"

Severity = Literal["RED", "AMBER", "YELLOW", "ROUTINE"]
WhenBusy = Literal["wait", "skip"]

# Conditions a state may be gated on (`State.only_if`); an unmet condition skips the state.
CONDITIONS = ("heightened_window", "amber_raised")  # plus "param:<name>" (a truthy caller param)


def value_key(value: Any) -> str:
    """The transition key of a parsed value."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class NumberAnswer:
    """A whole number lo..hi; `specials` are named non-numeric answers (value, words)."""

    lo: int
    hi: int
    specials: tuple[tuple[str, tuple[str, ...]], ...] = ()
    kind: Literal["number"] = "number"

    def parse(self, text: str) -> ParseResult:
        r = parsers.parse_number(text, self.lo, self.hi)
        if r.ok or not self.specials:
            return r
        return parsers.parse_choice(text, self.specials, numbered=False)

    def reask(self) -> tuple[str, dict[str, Any]]:
        return "reask.number", {"lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class Choice:
    value: str
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChoiceAnswer:
    """One of the options; "1".."n" pick them in order. `on_conflict` resolves a reply holding
    words of two options (the safety item resolves to "need to talk", never to "safe")."""

    options: tuple[Choice, ...]
    on_conflict: str | None = None
    kind: Literal["choice"] = "choice"

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def parse(self, text: str) -> ParseResult:
        return parsers.parse_choice(
            text, [(o.value, o.words) for o in self.options], on_conflict=self.on_conflict
        )

    def reask(self) -> tuple[str, dict[str, Any]]:
        return "reask.choice", {"n": len(self.options)}


@dataclass(frozen=True)
class YesNoAnswer:
    """True/False; `yes_number`/`no_number` when the question says e.g. "1 = no, 2 = yes"."""

    yes_number: str | None = None
    no_number: str | None = None
    kind: Literal["yes_no"] = "yes_no"

    def parse(self, text: str) -> ParseResult:
        return parsers.parse_yes_no(text, yes_number=self.yes_number, no_number=self.no_number)

    def reask(self) -> tuple[str, dict[str, Any]]:
        if self.yes_number and self.no_number:
            return "reask.yes_no_numbers", {"yes": self.yes_number, "no": self.no_number}
        return "reask.yes_no", {}


@dataclass(frozen=True)
class FreeTextAnswer:
    """Any text; a skip word ("0", "skip", "no", "nothing"...) stores None when `optional`."""

    optional: bool = True
    max_len: int | None = None
    kind: Literal["free_text"] = "free_text"

    def parse(self, text: str) -> ParseResult:
        skip = parsers.SKIP_WORDS if self.optional else ()
        return parsers.parse_free_text(text, skip_words=skip, max_len=self.max_len)

    def reask(self) -> tuple[str, dict[str, Any]]:
        return "reask.text_too_long", {"max_len": self.max_len or 0}


@dataclass(frozen=True)
class TimeAnswer:
    """A clock time "HH:MM" between earliest and latest."""

    earliest: str = "08:00"
    latest: str = "21:00"
    kind: Literal["time"] = "time"

    def parse(self, text: str) -> ParseResult:
        return parsers.parse_time(text, self.earliest, self.latest)

    def reask(self) -> tuple[str, dict[str, Any]]:
        return "reask.time", {"earliest": self.earliest, "latest": self.latest}


@dataclass(frozen=True)
class LanguageAnswer:
    """One of the languages with a catalog folder, by number (native digits too) or by name in
    English or in itself; the number after the list, or a language we have no texts for, is
    "other". The list is read when asked, so a new catalog folder joins with no code change."""

    kind: Literal["language"] = "language"

    def parse(self, text: str) -> ParseResult:
        value = language_keyword.choose_language(text, language_keyword.catalog_locales())
        return parsers.FAIL if value is None else ParseResult(True, value)

    def params(self) -> dict[str, Any]:
        """The question's list ({languages}) and the number that means another ({other})."""
        locales = language_keyword.catalog_locales()
        return {"languages": language_keyword.menu_lines(locales), "other": len(locales) + 1}

    def reask(self) -> tuple[str, dict[str, Any]]:
        return "reask.choice", {"n": len(language_keyword.catalog_locales()) + 1}


@dataclass(frozen=True)
class MessageOnly:
    """Send the message and move on; no answer is awaited."""

    kind: Literal["message"] = "message"


AnswerSpec = (NumberAnswer | ChoiceAnswer | YesNoAnswer | FreeTextAnswer | TimeAnswer
              | LanguageAnswer | MessageOnly)


def transition_key(spec: AnswerSpec, value: Any) -> str:
    if isinstance(spec, FreeTextAnswer | TimeAnswer):
        return "skipped" if value is None else "answered"
    return value_key(value)


@dataclass(frozen=True)
class RaiseOn:
    """Declarative finding: raise (severity, reason) when the answer's value key is `when`
    ("answered" matches any non-empty answer)."""

    when: str
    severity: Severity
    reason: str
    safety_followup: bool = False


@dataclass(frozen=True)
class State:
    key: str
    message_key: str
    answer: AnswerSpec = field(default_factory=MessageOnly)
    # What the answer is stored as (SaveAnswer.question_key); None only for message-only states.
    question_key: str | None = None
    next: Mapping[str, str | None] = field(default_factory=lambda: {DEFAULT: None})
    # A safety question: an unanswered or expired reply raises AMBER "unanswered_safety_question".
    safety_question: bool = False
    only_if: str | None = None
    # (scale_id, item_id): the answer is an item of that scale, scored when the scale completes.
    scale_item: tuple[str, str] | None = None
    # Onboarding: the answer updates this client field ("consent" is special: see engine).
    client_field: str | None = None
    # value key -> stored client value; None = store the parsed value itself.
    client_values: Mapping[str, Any] | None = None
    raises: tuple[RaiseOn, ...] = ()
    # Used instead of message_key when the client chose a code word (param {codeword}).
    codeword_message_key: str | None = None

    @property
    def is_question(self) -> bool:
        return not isinstance(self.answer, MessageOnly)

    def target(self, key: str) -> str | None:
        return self.next[key] if key in self.next else self.next[DEFAULT]


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    kind: str
    title: str
    priority: int
    when_busy: WhenBusy
    initial: str
    states: Mapping[str, State]
    reprompt_after: timedelta
    expire_after: timedelta
    safety: bool
    # Every flow except onboarding needs the client's recorded consent to start.
    requires_consent: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    def state(self, key: str) -> State:
        return self.states[key]

    @property
    def questions(self) -> tuple[State, ...]:
        return tuple(s for s in self.states.values() if s.is_question)


def states(*items: State) -> dict[str, State]:
    """Build Flow.states from States, keeping their order."""
    out: dict[str, State] = {}
    for s in items:
        if s.key in out:
            raise ValueError(f"duplicate state {s.key!r}")
        out[s.key] = s
    return out


def _validate(flow: Flow) -> None:
    def fail(msg: str) -> None:
        raise ValueError(f"flow {flow.id} v{flow.version}: {msg}")

    if flow.initial not in flow.states:
        fail(f"initial state {flow.initial!r} missing")
    if flow.reprompt_after >= flow.expire_after:
        fail("reprompt_after must come before expire_after")
    seen_keys: set[str] = set()
    for s in flow.states.values():
        if s.key not in flow.states or flow.states[s.key] is not s:
            fail(f"state {s.key!r} filed under another key")
        for target in s.next.values():
            if target is not None and target not in flow.states:
                fail(f"{s.key}: unknown target {target!r}")
        if DEFAULT not in s.next:
            fail(f"{s.key}: no default transition")
        if s.is_question != (s.question_key is not None):
            fail(f"{s.key}: questions need a question_key, messages must not have one")
        if s.question_key is not None:
            if s.question_key in seen_keys:
                fail(f"question_key {s.question_key!r} used twice")
            seen_keys.add(s.question_key)
        if s.only_if and s.only_if not in CONDITIONS and not s.only_if.startswith("param:"):
            fail(f"{s.key}: unknown condition {s.only_if!r}")
        if isinstance(s.answer, ChoiceAnswer):
            values = set(s.answer.values)
            for k in list(s.next) + [r.when for r in s.raises]:
                if k not in values | {DEFAULT, UNANSWERED, "answered"}:
                    fail(f"{s.key}: {k!r} is not an option")
        if s.scale_item:
            scale_id, item_id = s.scale_item
            scale = SCALES.get(scale_id)
            if scale is None or item_id not in scale.item_ids:
                fail(f"{s.key}: unknown scale item {s.scale_item}")
            elif not isinstance(s.answer, NumberAnswer) or (s.answer.lo, s.answer.hi) != (
                scale.lo, scale.hi
            ):
                fail(f"{s.key}: answer range does not match scale {scale_id}")
    by_scale: dict[str, set[str]] = {}
    for s in flow.states.values():
        if s.scale_item:
            if s.only_if:
                fail(f"{s.key}: scale items cannot be conditional (scores would never complete)")
            by_scale.setdefault(s.scale_item[0], set()).add(s.scale_item[1])
    for scale_id, items in by_scale.items():
        scale = SCALES[scale_id]
        if not scale.partial_ok and items != set(scale.item_ids):
            fail(f"scale {scale_id} needs all its items in one flow (no pro-rating)")
    if flow.safety != any(s.safety_question for s in flow.states.values()):
        fail("`safety` must be True exactly when a state is a safety question")
    _check_acyclic(flow, fail)


def _check_acyclic(flow: Flow, fail: Any) -> None:
    colour: dict[str, int] = {}

    def visit(key: str, path: Sequence[str]) -> None:
        if colour.get(key) == 2:
            return
        if colour.get(key) == 1:
            fail(f"cycle through {' -> '.join([*path, key])}")
        colour[key] = 1
        for target in flow.states[key].next.values():
            if target is not None:
                visit(target, [*path, key])
        colour[key] = 2

    for key in flow.states:
        visit(key, [])
