"""What the dispatcher needs from a channel: send one row, or say why not."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from bot.core.outbox import OutRow

# When the provider's answer reached us (time.monotonic()), set by a sender's HTTP layer before
# the library parses it: the provider saw the request before then, so a rate window may start
# here rather than after the parsing (which, 30 at a time on a busy loop, takes a while).
ANSWERED_AT: ContextVar[float | None] = ContextVar("answered_at", default=None)


def mark_answered() -> None:
    ANSWERED_AT.set(time.monotonic())


@dataclass(frozen=True)
class Sent:
    provider_id: str | None
    segments: int | None = None


class SendError(Exception):
    """Base for send failures; `detail` goes into the attempt log."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RetryLater(SendError):
    """Transient: 5xx, connection error, rate limit. `retry_after` (seconds) when the provider said."""

    def __init__(self, detail: str, retry_after: float | None = None,
                 maybe_sent: bool = False, refused: bool = False) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        # A timeout after the request left: the provider may have accepted it.
        self.maybe_sent = maybe_sent
        # A rate refusal (429): "not now", never a failed attempt; the row is only rescheduled.
        self.refused = refused


class Permanent(SendError):
    """Will never work as is: bad number, unknown chat. `opted_out` when the person blocked us."""

    def __init__(self, detail: str, opted_out: bool = False) -> None:
        super().__init__(detail)
        self.opted_out = opted_out


class Sender(Protocol):
    channel: str

    async def send(self, row: OutRow) -> Sent: ...

    async def close(self) -> None: ...
