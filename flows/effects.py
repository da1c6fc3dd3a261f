"""What a step asks the I/O layer to do, in order, in one transaction with the new session.

Every effect is a frozen dataclass of JSON-friendly fields (datetimes are aware UTC);
`dataclasses.asdict` works on all of them, and `Effect.kind` names the type for logs/tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from flows.model import Severity
from flows.session import SessionState

AnswerStatus = Literal["answered", "unanswered", "expired"]
TimerKind = Literal["reprompt", "expire"]
Outcome = Literal["completed", "expired", "interrupted", "stopped", "escalated"]


@dataclass(frozen=True)
class Say:
    """Send catalog text `message_key` rendered with `params` (bot.core.texts.render).

    `question`: it asks something (a step sends at most one). `safety`: crisis/tolerance text,
    to be sent at once whatever quiet hours or throttles say. `discreet`: render the
    ".discreet" variant (already reflects a discreet choice made earlier in this same step).
    """

    message_key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    safety: bool = False
    question: bool = False
    discreet: bool = False
    kind: ClassVar[str] = "say"


@dataclass(frozen=True)
class SaveAnswer:
    """One row per question asked. `value` is the parsed JSON value (None if not answered or
    skipped); `raw_text` the last reply (None on expiry)."""

    question_key: str
    raw_text: str | None
    value: Any
    status: AnswerStatus
    kind: ClassVar[str] = "save_answer"


@dataclass(frozen=True)
class SaveScore:
    """A completed scale administration. Never texted back to the client."""

    scale_id: str
    total: int | None
    subscales: Mapping[str, int]
    bands: Mapping[str, str]
    flags: Mapping[str, bool]
    kind: ClassVar[str] = "save_score"


@dataclass(frozen=True)
class RaiseFinding:
    """A risk finding for a human. RED: page officer + duty back-up, ack within 15 min. AMBER:
    officer contact same day. YELLOW: weekly review list. ROUTINE: worker queue, no page.

    `safety_followup`: the human contact must include a safety check (the officer asks the
    C-SSRS screener verbally / checks on overdose risk), not just a routine call.
    """

    severity: Severity
    reason: str
    detail: str
    safety_followup: bool = False
    kind: ClassVar[str] = "raise_finding"


@dataclass(frozen=True)
class SetTimer:
    """Create a timer row; when due, call step() with Reprompt(seq) / Expire(seq)."""

    timer: TimerKind
    due_at: datetime
    seq: int
    kind: ClassVar[str] = "set_timer"


@dataclass(frozen=True)
class CancelTimers:
    """Cancel every pending reprompt/expire timer of this client's flow session."""

    kind: ClassVar[str] = "cancel_timers"


@dataclass(frozen=True)
class UpdateClient:
    """Set a client field: consent ({"given", "at", "wording_version"}), preferred_channel
    ("sms"|"telegram"), checkin_time ("HH:MM"), language ("en_GB"), discreet (bool),
    codeword (str)."""

    field: str
    value: Any
    kind: ClassVar[str] = "update_client"


@dataclass(frozen=True)
class FlowEnded:
    """The session is over (Step.session is None). completed | expired (no reply in time) |
    interrupted (replaced by a higher-priority flow) | stopped (client opted out) | escalated
    (a RED answer or crisis text stopped the questionnaire)."""

    flow_id: str
    flow_version: int
    outcome: Outcome
    kind: ClassVar[str] = "flow_ended"


Effect = (
    Say | SaveAnswer | SaveScore | RaiseFinding | SetTimer | CancelTimers | UpdateClient | FlowEnded
)


@dataclass(frozen=True)
class Step:
    """The new session (None: the flow finished) and the effects to apply, in order."""

    session: SessionState | None
    effects: tuple[Effect, ...] = ()

    def of(self, cls: type[Any]) -> list[Any]:
        """The effects of one type, in order (handy for the I/O layer and tests)."""
        return [e for e in self.effects if isinstance(e, cls)]
