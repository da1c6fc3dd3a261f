"""Clocks and timestamp encoding. Code that schedules takes a Clock so tests and the demo can move time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """Real time plus an offset that can be moved forward: the simulator's 'skip ahead' and tests."""

    def __init__(self, offset: timedelta = timedelta(0), base: Clock | None = None) -> None:
        self.offset = offset
        self._base = base or SystemClock()

    def now(self) -> datetime:
        return self._base.now() + self.offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self.offset += delta


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


_last: tuple[datetime | None, str] = (None, "")


def iso(moment: datetime) -> str:
    """UTC with fixed width, so stored timestamps sort as text in SQLite and PostgreSQL alike."""
    global _last
    if moment is _last[0]:  # one message's writes all stamp the same `now`
        return _last[1]
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one")
    # isoformat is several times faster than strftime; same text.
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    _last = (moment, text)
    return text


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def next_local(now: datetime, at: time, tz: str) -> datetime:
    """The next moment (after `now`) that the local wall clock in `tz` reads `at`, in UTC."""
    z = ZoneInfo(tz)
    local = now.astimezone(z)
    candidate = datetime.combine(local.date(), at, z)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, z)
    return candidate.astimezone(UTC)
