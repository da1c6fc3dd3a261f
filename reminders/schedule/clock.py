"""Wall-clock <-> instant conversions, the one place that decides DST behaviour.

Two rules, both deliberate:
- `local_instant` (send times: check-ins, recurring appointments, anchored reminders) uses
  PEP 495 fold=0. A wall time that happens twice (autumn, 01:30 Europe/London) means its FIRST
  occurrence (01:30 BST); a wall time that does not exist (spring, 01:30) means the instant it
  would have been on the old clock (01:30 GMT == 02:30 BST). Either way: once, at a valid time.
- `wall_boundary` (quiet-hours window edges) is the first instant whose local wall time reads at
  or after the boundary, so it agrees with `is_quiet`, which looks only at the wall clock.
The two differ only for a boundary inside a DST gap.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@lru_cache(maxsize=64)
def zone(tz: str | ZoneInfo) -> ZoneInfo:
    """ZoneInfo for a name; cached so hot loops never construct one per client."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def parse_clock(text: str | time) -> time:
    """'HH:MM' (24-hour) -> time. Raises ValueError naming the bad value."""
    if isinstance(text, time):
        return text
    m = _CLOCK.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{text!r} is not a 24-hour clock time like '09:30'")
    return time(int(m.group(1)), int(m.group(2)))


def parse_weekday(value: str | int) -> int:
    """'monday'/'mon'/0 -> 0 (Monday) ... 6 (Sunday)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        v = value.strip().lower()
        for i, name in enumerate(WEEKDAYS):
            if v in (name, name[:3]):
                return i
    raise ValueError(f"{value!r} is not a weekday like 'monday' or 'mon'")


def require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


def local_instant(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    """The UTC instant for wall time `at` on local `day` (fold=0 rule, see module doc)."""
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC)


def wall_boundary(day: date, at: time, tz: str | ZoneInfo) -> datetime:
    """First UTC instant at which the local wall clock reads >= `at` on `day`."""
    z = zone(tz)
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=z).astimezone(UTC)
    if first.astimezone(z).replace(tzinfo=None) == naive:
        return first  # exists; fold=0 is already the first occurrence
    # Inside a gap: the clock jumps over `at` at the transition, which lies between the two
    # readings of the missing wall time. Bisect on whole seconds (transitions are on seconds).
    lo = int(naive.replace(tzinfo=z, fold=1).timestamp())
    hi = int(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, z).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def minus_days_wall(moment: datetime, days: int, tz: str | ZoneInfo) -> datetime:
    """Same local wall time `days` calendar days earlier (a '1d' reminder for 10:00 is 10:00)."""
    local = moment.astimezone(zone(tz))
    return local_instant(local.date() - timedelta(days=days), local.time(), tz)
