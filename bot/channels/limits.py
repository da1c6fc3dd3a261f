"""Send limits as the providers count them: at most `count` units in ANY window of `per` seconds.

A token bucket that starts full lets up to twice its rate through in one second after an idle
spell, and providers (Twilio per sender, Telegram per bot, chat and group) refuse the excess
with 429. This is a sliding-window log that is safe whatever the network does: a grant is
held from the moment it is given until the provider has answered (the provider saw the request
somewhere in between) and for one whole window after that answer, so two requests the
provider sees in one window can never be more than `count`. The price is one round trip per
window (a few milliseconds against 1 s); see the pacing benchmark (`bench/pacing.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from config.settings import Rate


@dataclass
class Grant:
    amount: float
    hold: float  # seconds the grant stays counted after its release
    until: float | None = None  # None while the request is out


class SlidingWindow:
    def __init__(self, rate: Rate, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.count = rate.count
        self.window = rate.per
        self._now = monotonic
        self._grants: list[Grant] = []
        self._lock = asyncio.Lock()  # FIFO: first come, first served
        self._released = asyncio.Event()

    def in_use(self) -> float:
        now = self._now()
        self._grants = [g for g in self._grants if g.until is None or g.until > now]
        return sum(g.amount for g in self._grants)

    async def acquire(self, amount: float = 1.0) -> Grant:
        # A message larger than the whole window (a long SMS at 1 segment/s) goes alone and
        # keeps the window for as many windows as it needs.
        need = min(amount, self.count)
        async with self._lock:
            while True:
                if self.in_use() + need <= self.count:
                    grant = Grant(need, self.window * max(1, math.ceil(amount / self.count)))
                    self._grants.append(grant)
                    return grant
                ends = [g.until for g in self._grants if g.until is not None]
                timeout = max(0.0, min(ends) - self._now()) if ends else None
                self._released.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._released.wait()

    def release(self, grant: Grant, answered_at: float | None = None) -> None:
        """The provider has answered (at `answered_at`, else now) or the request never left."""
        if grant.until is None:
            now = self._now()
            grant.until = min(now, answered_at if answered_at is not None else now) + grant.hold
            self._released.set()
