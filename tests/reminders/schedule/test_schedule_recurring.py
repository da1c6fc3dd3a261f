"""Recurring appointments: the monthly depot injection and friends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from reminders.schedule import recurring
from reminders.schedule.recurrence import MAX_OCCURRENCES, Recurrence

TZ = "Europe/London"
LONDON = ZoneInfo(TZ)


def test_monthly_injection_on_day_15_at_local_time():
    got = recurring("monthly on day 15 at 10:00", date(2025, 1, 20), date(2025, 6, 15), TZ)
    assert [d.astimezone(LONDON).date() for d in got] == [date(2025, m, 15) for m in range(2, 7)]
    assert all(d.astimezone(LONDON).time() == time(10) for d in got)
    assert got[0] == datetime(2025, 2, 15, 10, tzinfo=UTC)  # GMT
    assert got[-1] == datetime(2025, 6, 15, 9, tzinfo=UTC)  # BST


def test_monthly_on_day_31_falls_on_the_last_day_of_short_months():
    got = recurring("Monthly on day 31 at 09:30", date(2025, 1, 1), date(2025, 4, 30), TZ)
    assert [d.astimezone(LONDON).date() for d in got] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]


def test_every_28_days_starts_on_the_start_date():
    got = recurring("every 28 days at 11:00", date(2025, 3, 3), date(2025, 6, 30), TZ)
    assert [d.astimezone(LONDON).date() for d in got] == [
        date(2025, 3, 3),
        date(2025, 3, 31),
        date(2025, 4, 28),
        date(2025, 5, 26),
        date(2025, 6, 23),
    ]
    assert all(d.astimezone(LONDON).time() == time(11) for d in got)


def test_weekly_and_an_exclusive_instant_as_until():
    got = recurring(
        "weekly on tuesday at 18:00", date(2025, 3, 5), datetime(2025, 3, 25, 18, tzinfo=UTC), TZ
    )
    assert [d.astimezone(LONDON).date() for d in got] == [date(2025, 3, 11), date(2025, 3, 18)]


def test_bad_rules_and_the_cap():
    for rule in [
        "monthly on day 0 at 10:00",
        "monthly on day 15",
        "every 0 days at 10:00",
        "fortnightly at 10:00",
        "weekly on funday at 10:00",
        "every 28 days at 25:00",
    ]:
        with pytest.raises(ValueError, match="recurrence"):
            Recurrence.parse(rule)
    assert (
        len(recurring("every 1 day at 10:00", date(2025, 1, 1), date(2099, 1, 1), TZ))
        == MAX_OCCURRENCES
    )
