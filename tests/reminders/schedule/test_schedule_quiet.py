"""Quiet hours: wall-clock windows, the backward shift for reminders, forward for check-ins."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from reminders.schedule.quiet_hours import (
    DEFAULT_QUIET,
    NO_QUIET,
    QuietHours,
    is_quiet,
    next_allowed,
    quiet_window,
    shift_out_of_quiet,
)

LONDON = ZoneInfo("Europe/London")
AFTERNOON = QuietHours.parse("13:00", "15:00")  # a window that does not span midnight


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


def as_local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(LONDON)


def test_is_quiet_spanning_midnight():
    assert is_quiet(time(21, 0), DEFAULT_QUIET)
    assert is_quiet(time(0, 0), DEFAULT_QUIET)
    assert is_quiet(time(7, 59), DEFAULT_QUIET)
    assert not is_quiet(time(8, 0), DEFAULT_QUIET)
    assert not is_quiet(time(20, 59), DEFAULT_QUIET)
    assert not is_quiet(time(12, 0), DEFAULT_QUIET)


def test_is_quiet_same_day_window_and_disabled():
    assert is_quiet(time(13, 0), AFTERNOON) and is_quiet(time(14, 59), AFTERNOON)
    assert not is_quiet(time(15, 0), AFTERNOON) and not is_quiet(time(12, 59), AFTERNOON)
    assert not is_quiet(time(23, 0), AFTERNOON)
    assert not NO_QUIET.enabled and not is_quiet(time(3, 0), NO_QUIET)


def test_reminder_in_quiet_hours_moves_back_to_the_previous_evening():
    # due 22:00 for a 07:30 event next morning -> 20:59 that evening
    due, event = local(2025, 3, 11, 22), local(2025, 3, 12, 7, 30)
    assert as_local(shift_out_of_quiet(due, event, DEFAULT_QUIET, LONDON)) == local(
        2025, 3, 11, 20, 59
    )
    # due after midnight: still the evening before, not the same morning
    due = local(2025, 3, 12, 5, 30)
    assert as_local(shift_out_of_quiet(due, event, DEFAULT_QUIET, LONDON)) == local(
        2025, 3, 11, 20, 59
    )


def test_allowed_time_is_unchanged():
    due, event = local(2025, 3, 11, 20, 59), local(2025, 3, 12, 7, 30)
    assert shift_out_of_quiet(due, event, DEFAULT_QUIET, LONDON) == due.astimezone(UTC)
    due = local(2025, 3, 12, 8, 0)
    assert shift_out_of_quiet(due, local(2025, 3, 12, 9), DEFAULT_QUIET, LONDON) == due


def test_never_after_the_event():
    # event at 21:30 (inside quiet hours), reminder 20 minutes before -> 20:59, still before it
    event = local(2025, 3, 11, 21, 30)
    shifted = shift_out_of_quiet(local(2025, 3, 11, 21, 10), event, DEFAULT_QUIET, LONDON)
    assert as_local(shifted) == local(2025, 3, 11, 20, 59)
    assert shifted < event
    # a send due at or after its event is dropped, quiet or not
    assert (
        shift_out_of_quiet(local(2025, 3, 11, 12), local(2025, 3, 11, 12), DEFAULT_QUIET, LONDON)
        is None
    )


def test_dropped_when_no_allowed_time_is_left_before_the_event():
    now = local(2025, 3, 11, 21, 30)  # already quiet: the 20:59 slot has passed
    due, event = local(2025, 3, 12, 5, 30), local(2025, 3, 12, 7, 30)
    assert shift_out_of_quiet(due, event, DEFAULT_QUIET, LONDON, not_before=now) is None


def test_past_evening_slot_falls_forward_if_still_before_the_event():
    now = local(2025, 3, 11, 21, 30)
    due, event = local(2025, 3, 12, 7, 0), local(2025, 3, 12, 10, 0)
    shifted = shift_out_of_quiet(due, event, DEFAULT_QUIET, LONDON, not_before=now)
    assert as_local(shifted) == local(2025, 3, 12, 8, 0)


def test_checkin_without_event_moves_forward_to_end_of_quiet_hours():
    assert as_local(
        shift_out_of_quiet(local(2025, 3, 11, 23, 30), None, DEFAULT_QUIET, LONDON)
    ) == local(2025, 3, 12, 8, 0)
    assert as_local(
        shift_out_of_quiet(local(2025, 3, 12, 2, 0), None, DEFAULT_QUIET, LONDON)
    ) == local(2025, 3, 12, 8, 0)
    assert as_local(next_allowed(local(2025, 3, 12, 21, 0), DEFAULT_QUIET, LONDON)) == local(
        2025, 3, 13, 8, 0
    )


def test_window_that_does_not_span_midnight():
    due, event = local(2025, 3, 11, 14, 0), local(2025, 3, 11, 16, 0)
    assert as_local(shift_out_of_quiet(due, event, AFTERNOON, LONDON)) == local(2025, 3, 11, 12, 59)
    assert as_local(shift_out_of_quiet(due, None, AFTERNOON, LONDON)) == local(2025, 3, 11, 15, 0)
    assert shift_out_of_quiet(local(2025, 3, 11, 22), None, AFTERNOON, LONDON) == local(
        2025, 3, 11, 22
    )


def test_summer_time_uses_local_wall_clock():
    # 20:30 UTC in July is 21:30 BST: quiet; back to 20:59 BST = 19:59 UTC
    due = datetime(2025, 7, 1, 20, 30, tzinfo=UTC)
    shifted = shift_out_of_quiet(due, datetime(2025, 7, 2, 9, tzinfo=UTC), DEFAULT_QUIET, LONDON)
    assert shifted == datetime(2025, 7, 1, 19, 59, tzinfo=UTC)
    start, end = quiet_window(due, DEFAULT_QUIET, LONDON)
    assert (start, end) == (
        datetime(2025, 7, 1, 20, tzinfo=UTC),
        datetime(2025, 7, 2, 7, tzinfo=UTC),
    )


def test_quiet_window_across_dst_changes():
    # the night the clocks go forward is an hour shorter, the autumn one an hour longer
    start, end = quiet_window(datetime(2025, 3, 30, 1, 30, tzinfo=UTC), DEFAULT_QUIET, LONDON)
    assert (end - start).total_seconds() == 10 * 3600
    start, end = quiet_window(datetime(2025, 10, 26, 1, 30, tzinfo=UTC), DEFAULT_QUIET, LONDON)
    assert (end - start).total_seconds() == 12 * 3600


def test_safety_messages_are_exempt():
    due = local(2025, 3, 11, 23, 0)
    assert shift_out_of_quiet(due, None, DEFAULT_QUIET, LONDON, safety=True) == due
    assert shift_out_of_quiet(due, local(2025, 3, 12, 1), DEFAULT_QUIET, LONDON, safety=True) == due
