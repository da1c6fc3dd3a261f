"""Reminder lead times like '7d', '2h', '90m', '1d12h'.

Days are CALENDAR days on the local wall clock ('1d' before a 10:00 court date is 10:00 the day
before, 23 or 25 hours earlier across a DST change); hours and minutes are elapsed time ('2h' is
exactly two hours). People read "tomorrow at 10:00" by the clock on the wall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reminders.schedule.clock import minus_days_wall

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


@dataclass(frozen=True, slots=True)
class Offset:
    days: int = 0
    elapsed: timedelta = timedelta(0)

    @classmethod
    def parse(cls, text: str) -> Offset:
        m = _DURATION.match(text.strip()) if isinstance(text, str) else None
        if not m or not any(m.groups()):
            raise ValueError(f"{text!r} is not a duration like '7d', '2h', '90m' or '1d12h'")
        d, h, mins = (int(g or 0) for g in m.groups())
        return cls(days=d, elapsed=timedelta(hours=h, minutes=mins))

    @property
    def positive(self) -> bool:
        return self.days > 0 or self.elapsed > timedelta(0)

    def before(self, event_utc: datetime, tz: str | ZoneInfo) -> datetime:
        """The instant this lead time before `event_utc` (days by the wall clock, then elapsed)."""
        moment = minus_days_wall(event_utc, self.days, tz) if self.days else event_utc
        return moment - self.elapsed


def parse_duration(text: str) -> timedelta:
    """'6h' -> timedelta(hours=6); calendar days count as 24 hours here (durations, not offsets)."""
    off = Offset.parse(text)
    return timedelta(days=off.days) + off.elapsed
