"""Quiet hours: no non-urgent text at night.

A quiet window is the half-open local wall-clock interval [start, end): with the default
21:00-08:00 a send at 20:59 or 08:00 is allowed, one at 21:00 or 07:59 is not. start > end spans
midnight; start == end means no quiet hours at all.

Shifting a send that falls inside a window (`shift_out_of_quiet`):
- no event (check-ins, scales): FORWARD to the end of the window;
- with an event (reminders): BACK to `BEFORE_QUIET` (1 minute) before the window starts, i.e. the
  latest allowed minute before quiet hours began. A reminder thus keeps (at least) its lead time
  and can never land after its event. A 07:30 court date's 2-hour reminder (due 05:30) goes out
  at 20:59 the evening before.
- if that evening slot is already past (`not_before`, normally now), the earliest allowed instant
  from now on is used instead, provided it is still before the event; otherwise None (drop).
- safety messages are exempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reminders.schedule.clock import parse_clock, require_aware, wall_boundary, zone

# Whole minute, so a row due at 20:59 is still claimed (every few seconds) before 21:00.
BEFORE_QUIET = timedelta(minutes=1)
_MAX_HOPS = 4  # back-to-back windows only arise from DST oddities; bound the walk anyway


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, start: str | time, end: str | time) -> QuietHours:
        return cls(parse_clock(start), parse_clock(end))

    @property
    def enabled(self) -> bool:
        return self.start != self.end


DEFAULT_QUIET = QuietHours(time(21, 0), time(8, 0))
NO_QUIET = QuietHours(time(0, 0), time(0, 0))


def is_quiet(local_time: time, quiet: QuietHours) -> bool:
    """Is this local wall-clock time inside quiet hours?"""
    t = local_time.replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    if quiet.start > quiet.end:  # spans midnight
        return t >= quiet.start or t < quiet.end
    return False


def is_quiet_at(moment: datetime, quiet: QuietHours, tz: str | ZoneInfo) -> bool:
    """Is this aware instant inside quiet hours in `tz`?"""
    return is_quiet(moment.astimezone(zone(tz)).time(), quiet)


def quiet_window(
    moment: datetime, quiet: QuietHours, tz: str | ZoneInfo
) -> tuple[datetime, datetime] | None:
    """UTC (start, end) of the quiet window containing `moment`, or None if it is allowed."""
    require_aware(moment, "moment")
    z = zone(tz)
    local = moment.astimezone(z)
    if not is_quiet(local.time(), quiet):
        return None
    day = local.date()
    if quiet.start > quiet.end and local.time() < quiet.end:
        day -= timedelta(days=1)  # after midnight: the window opened the evening before
    end_day = day + timedelta(days=1) if quiet.start > quiet.end else day
    start_u = wall_boundary(day, quiet.start, z)
    end_u = wall_boundary(end_day, quiet.end, z)
    if end_u <= moment:
        # Autumn fold: the wall clock passed `end` once, fell back, and is before it again.
        end_u = datetime.combine(end_day, quiet.end, tzinfo=z).replace(fold=1).astimezone(UTC)
    return start_u, end_u


def next_allowed(moment: datetime, quiet: QuietHours, tz: str | ZoneInfo) -> datetime:
    """`moment` itself if allowed, else the end of the quiet window it falls in."""
    for _ in range(_MAX_HOPS):
        window = quiet_window(moment, quiet, tz)
        if window is None:
            return moment
        moment = window[1]
    return moment


def latest_allowed_before_window(
    moment: datetime, quiet: QuietHours, tz: str | ZoneInfo
) -> datetime:
    """The allowed minute just before the quiet window containing `moment` began."""
    for _ in range(_MAX_HOPS):
        window = quiet_window(moment, quiet, tz)
        if window is None:
            return moment
        moment = window[0] - BEFORE_QUIET
    return moment


def shift_out_of_quiet(
    due_utc: datetime,
    event_utc: datetime | None,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    *,
    not_before: datetime | None = None,
    safety: bool = False,
) -> datetime | None:
    """Where a send due at `due_utc` should really go (UTC), or None to drop it (module doc).

    `not_before` (normally now) only bounds where a shifted reminder may land; a `due_utc` that
    is allowed is returned as is, even if past (the caller decides about past sends)."""
    require_aware(due_utc, "due_utc")
    due = due_utc.astimezone(UTC)
    if safety or not quiet.enabled or quiet_window(due, quiet, tz) is None:
        shifted = due
    elif event_utc is None:
        return next_allowed(due, quiet, tz)
    else:
        shifted = latest_allowed_before_window(due, quiet, tz)
        if not_before is not None and shifted < not_before:
            shifted = next_allowed(not_before.astimezone(UTC), quiet, tz)
    if event_utc is not None and shifted >= event_utc:
        return None
    return shifted
