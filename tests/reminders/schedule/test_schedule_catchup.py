"""What the claim loop does with due rows after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.schedule.catchup import decide_late, resume_at, superseded
from reminders.schedule.quiet_hours import DEFAULT_QUIET

TZ = "Europe/London"
LONDON = ZoneInfo(TZ)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


def reminder(due, event, now):
    return decide_late("reminder", due, event, None, now, DEFAULT_QUIET, TZ)


def checkin(due, window_end, now):
    return decide_late("checkin", due, None, window_end, now, DEFAULT_QUIET, TZ)


def test_reminder_still_before_its_event_is_sent_late():
    assert (
        reminder(local(2025, 3, 11, 10), local(2025, 3, 12, 10), local(2025, 3, 11, 16)) == "send"
    )


def test_reminder_whose_event_passed_is_dropped():
    due, event = local(2025, 3, 12, 8), local(2025, 3, 12, 10)
    assert reminder(due, event, local(2025, 3, 12, 10)) == "drop_event_passed"
    assert reminder(due, event, local(2025, 3, 13, 9)) == "drop_event_passed"


def test_late_reminder_at_night_waits_for_morning_if_the_event_is_later():
    due, now = local(2025, 3, 11, 20, 59), local(2025, 3, 11, 23, 0)
    assert reminder(due, local(2025, 3, 12, 10), now) == "defer"
    assert resume_at(due, now, DEFAULT_QUIET, TZ) == local(2025, 3, 12, 8)
    # the event comes before quiet hours end: no allowed time is left
    assert reminder(due, local(2025, 3, 12, 7, 30), now) == "skip_window_missed"


def test_checkin_missed_beyond_its_window_is_skipped():
    due = local(2025, 3, 11, 10)
    assert checkin(due, due + timedelta(hours=6), local(2025, 3, 11, 12)) == "send"
    assert checkin(due, due + timedelta(hours=6), local(2025, 3, 11, 16)) == "skip_window_missed"


def test_checkin_is_never_sent_at_night():
    due = local(2025, 3, 11, 19)
    assert checkin(due, due + timedelta(hours=6), local(2025, 3, 11, 22)) == "skip_window_missed"
    assert checkin(due, due + timedelta(hours=16), local(2025, 3, 11, 22)) == "defer"


def test_not_yet_due_and_safety_rows():
    due = local(2025, 3, 11, 23)
    assert reminder(due, local(2025, 3, 12, 10), local(2025, 3, 11, 22)) == "defer"
    assert (
        decide_late(
            "checkin", due, None, None, local(2025, 3, 11, 23, 5), DEFAULT_QUIET, TZ, safety=True
        )
        == "send"
    )


def test_reminder_needs_its_event():
    with pytest.raises(ValueError, match="event_at"):
        decide_late(
            "reminder",
            local(2025, 3, 11, 10),
            None,
            None,
            local(2025, 3, 11, 11),
            DEFAULT_QUIET,
            TZ,
        )


def test_due_reminders_for_one_event_are_not_sent_in_a_burst():
    t = datetime(2025, 3, 11, 10, tzinfo=UTC)
    rows = [
        ("reminder:42:7d", t - timedelta(days=6)),
        ("reminder:42:1d", t),
        ("reminder:42:2h", t + timedelta(hours=22)),
        ("reminder:43:1d", t),
        ("session:7:99:eve", t),
        ("checkin:1:2025-03-10", t - timedelta(days=1)),
        ("checkin:1:2025-03-11", t),
    ]
    assert superseded(rows) == {"reminder:42:7d", "reminder:42:1d"}
