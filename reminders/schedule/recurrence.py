"""Recurring appointments (the monthly depot injection; weekly groups).

Rules (case-insensitive):
  "monthly on day 15 at 10:00"   day 29-31 falls on the month's last day when the month is short
  "every 28 days at 10:00"       the first occurrence is on the start date
  "weekly on tuesday at 18:00"
Times are local wall-clock times, converted with clock.local_instant (DST: fold=0).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from reminders.schedule.clock import local_instant, parse_clock, parse_weekday, require_aware

_MONTHLY = re.compile(r"^monthly on day (\d{1,2}) at (\S+)$")
_EVERY = re.compile(r"^every (\d{1,3}) days? at (\S+)$")
_WEEKLY = re.compile(r"^weekly on (\w+) at (\S+)$")
MAX_OCCURRENCES = 1000  # a typo'd `until` must not plan centuries of injections


@dataclass(frozen=True, slots=True)
class Recurrence:
    freq: Literal["monthly", "days", "weekly"]
    at: time
    day: int = 0  # monthly: day of month 1..31; weekly: weekday 0 = Monday
    interval: int = 0  # days: every N days

    @classmethod
    def parse(cls, rule: str) -> Recurrence:
        text = " ".join(rule.lower().split())
        try:
            if m := _MONTHLY.match(text):
                day = int(m.group(1))
                if not 1 <= day <= 31:
                    raise ValueError(f"day {day} is not 1..31")
                return cls("monthly", parse_clock(m.group(2)), day=day)
            if m := _EVERY.match(text):
                n = int(m.group(1))
                if n < 1:
                    raise ValueError("the interval must be at least 1 day")
                return cls("days", parse_clock(m.group(2)), interval=n)
            if m := _WEEKLY.match(text):
                return cls("weekly", parse_clock(m.group(2)), day=parse_weekday(m.group(1)))
        except ValueError as exc:
            raise ValueError(f"recurrence {rule!r}: {exc}") from None
        raise ValueError(
            f"recurrence {rule!r} not understood; use 'monthly on day 15 at 10:00', "
            "'every 28 days at 10:00' or 'weekly on tuesday at 18:00'"
        )

    def dates(self, start: date) -> Iterator[date]:
        """Local dates on or after `start`, for ever."""
        if self.freq == "days":
            step = timedelta(days=self.interval)
        elif self.freq == "weekly":
            start += timedelta(days=(self.day - start.weekday()) % 7)
            step = timedelta(days=7)
        else:
            yield from self._monthly(start)
            return
        d = start
        while True:
            yield d
            d += step

    def _monthly(self, start: date) -> Iterator[date]:
        y, m = start.year, start.month
        while True:
            d = date(y, m, min(self.day, calendar.monthrange(y, m)[1]))
            if d >= start:
                yield d
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def recurring(
    rule: str | Recurrence,
    start_local_date: date,
    until: date | datetime,
    tz: str | ZoneInfo,
) -> list[datetime]:
    """UTC occurrences from `start_local_date` on; `until` is an inclusive local date or an
    exclusive aware instant. At most MAX_OCCURRENCES."""
    rec = Recurrence.parse(rule) if isinstance(rule, str) else rule
    if isinstance(until, datetime):
        require_aware(until, "until")
        end_instant, end_date = until.astimezone(UTC), None
    else:
        end_instant, end_date = None, until
    out: list[datetime] = []
    for d in rec.dates(start_local_date):
        if (end_date is not None and d > end_date) or len(out) >= MAX_OCCURRENCES:
            break
        moment = local_instant(d, rec.at, tz)
        if end_instant is not None and moment >= end_instant:
            break
        out.append(moment)
    return out
