"""Appointment, course-session and meeting reminders: plans, late creation, DST, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminders.schedule import (
    aftercare_meeting_reminders,
    appointment_reminders,
    course_session_reminders,
    event_reminders,
    missed_session_followup,
)
from reminders.schedule.durations import Offset
from reminders.schedule.plans import PlanEntry, ReminderPlan, load_config
from reminders.schedule.quiet_hours import DEFAULT_QUIET, NO_QUIET, QuietHours, is_quiet_at

CFG = load_config()
TZ = "Europe/London"
LONDON = ZoneInfo(TZ)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


def court(at: datetime, now: datetime, quiet: QuietHours = DEFAULT_QUIET):
    return appointment_reminders(42, "court", at, CFG.plan("court"), quiet, TZ, now)


def test_court_date_gets_7d_1d_2h():
    at = local(2025, 3, 12, 10, 0)
    sends = court(at, now=local(2025, 3, 1, 12))
    assert [s.key for s in sends] == ["reminder:42:7d", "reminder:42:1d", "reminder:42:2h"]
    assert [s.due_at for s in sends] == [
        local(2025, 3, 5, 10),
        local(2025, 3, 11, 10),
        local(2025, 3, 12, 8),
    ]
    assert all(s.due_at.tzinfo is UTC for s in sends)
    assert [s.message_key for s in sends] == [
        "reminder.court.7d",
        "reminder.court.1d",
        "reminder.court.2h",
    ]
    assert all(s.event_at == at and s.kind == "reminder" and s.invites_confirmation for s in sends)
    assert [s.plan_prompt for s in sends] == [True, True, False]
    assert not any(s.safety for s in sends)


def test_planning_is_deterministic():
    at, now = local(2025, 3, 12, 10, 0), local(2025, 3, 1, 12)
    assert court(at, now) == court(at, now)


def test_early_morning_court_reminders_go_the_evening_before():
    sends = court(local(2025, 3, 12, 9, 0), now=local(2025, 3, 1, 12))
    assert sends[-1].key == "reminder:42:2h"
    assert sends[-1].due_at == local(2025, 3, 11, 20, 59)  # 07:00 is quiet


def test_court_date_added_late_skips_reminders_already_past():
    at = local(2025, 3, 12, 10, 0)
    sends = court(at, now=local(2025, 3, 10, 10, 0))  # two days ahead
    assert [s.key for s in sends] == ["reminder:42:1d", "reminder:42:2h"]
    # a reminder that only just passed (within planning.late_grace) is sent now
    now = local(2025, 3, 11, 10, 10)
    sends = court(at, now=now)
    assert [(s.key, s.due_at) for s in sends] == [
        ("reminder:42:1d", now.astimezone(UTC)),
        ("reminder:42:2h", local(2025, 3, 12, 8)),
    ]
    # added an hour ahead: nothing left to plan; event passed: nothing
    assert court(at, now=local(2025, 3, 12, 9, 0)) == []
    assert court(at, now=local(2025, 3, 12, 11, 0)) == []


def test_added_at_night_for_the_next_morning_gets_nothing_rather_than_a_night_text():
    assert court(local(2025, 3, 12, 7, 30), now=local(2025, 3, 11, 21, 30)) == []
    # ... but a 10:00 date still gets a text at 08:00
    sends = court(local(2025, 3, 12, 10, 0), now=local(2025, 3, 11, 21, 30))
    assert [(s.key, s.due_at) for s in sends] == [("reminder:42:2h", local(2025, 3, 12, 8))]


def test_day_offsets_follow_the_wall_clock_across_dst():
    # "1d" = same local time the previous day: 23h before across the spring change,
    # 25h across the autumn one; "2h" is always two elapsed hours.
    spring = local(2025, 3, 30, 10, 0)  # Sunday, BST
    sends = court(spring, now=local(2025, 3, 1, 12))
    by = {s.key: s.due_at for s in sends}
    assert by["reminder:42:1d"] == local(2025, 3, 29, 10, 0)  # GMT
    assert spring - by["reminder:42:1d"] == timedelta(hours=23)
    assert spring - by["reminder:42:2h"] == timedelta(hours=2)
    autumn = local(2025, 10, 26, 10, 0)  # Sunday, GMT
    by = {s.key: s.due_at for s in court(autumn, now=local(2025, 10, 1, 12))}
    assert by["reminder:42:1d"] == local(2025, 10, 25, 10, 0)  # BST
    assert autumn - by["reminder:42:1d"] == timedelta(hours=25)
    # 2h before 03:00 BST on the spring change day is 00:00 GMT: three hours on the wall clock
    by = {s.key: s.due_at for s in court(local(2025, 3, 30, 3, 0), local(2025, 3, 1, 12), NO_QUIET)}
    assert by["reminder:42:2h"] == datetime(2025, 3, 30, 0, 0, tzinfo=UTC)


def test_plan_must_match_kind_and_times_must_be_aware():
    with pytest.raises(ValueError, match="court"):
        appointment_reminders(
            1,
            "housing",
            local(2025, 3, 12, 10),
            CFG.plan("court"),
            DEFAULT_QUIET,
            TZ,
            local(2025, 3, 1, 10),
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        court(datetime(2025, 3, 12, 10), now=local(2025, 3, 1, 10))


def test_course_session_evening_before_and_morning_of():
    plan, now = CFG.plan("course_session"), local(2025, 3, 1, 12)
    sends = course_session_reminders(7, 99, local(2025, 3, 12, 13, 0), plan, DEFAULT_QUIET, TZ, now)
    assert [(s.key, s.due_at) for s in sends] == [
        ("session:7:99:eve", local(2025, 3, 11, 18, 0)),
        ("session:7:99:morning", local(2025, 3, 12, 9, 0)),
    ]
    assert sends[0].plan_prompt and not sends[1].plan_prompt
    assert all(s.client_id == 99 for s in sends)
    # 10:30 start: the morning text is capped at 2 hours before
    sends = course_session_reminders(
        7, 99, local(2025, 3, 12, 10, 30), plan, DEFAULT_QUIET, TZ, now
    )
    assert sends[1].due_at == local(2025, 3, 12, 8, 30)
    # 09:30 start: 07:30 is quiet and the evening slot is not "the morning of": dropped
    sends = course_session_reminders(7, 99, local(2025, 3, 12, 9, 30), plan, DEFAULT_QUIET, TZ, now)
    assert [s.key for s in sends] == ["session:7:99:eve"]


def test_course_session_uses_the_clients_own_quiet_hours():
    early_sleeper = QuietHours.parse("17:00", "09:30")
    plan, now = CFG.plan("course_session"), local(2025, 3, 1, 12)
    sends = course_session_reminders(7, 5, local(2025, 3, 12, 13, 0), plan, early_sleeper, TZ, now)
    # 18:00 is quiet for them: back to 16:59. 09:00 is quiet too, and moving back would leave
    # the day, so "the morning of" waits for the end of their quiet hours instead.
    assert [(s.key, s.due_at) for s in sends] == [
        ("session:7:5:eve", local(2025, 3, 11, 16, 59)),
        ("session:7:5:morning", local(2025, 3, 12, 9, 30)),
    ]
    # an 11:00 start: 09:30 is later than 2 hours before, so no morning text
    sends = course_session_reminders(7, 5, local(2025, 3, 12, 11, 0), plan, early_sleeper, TZ, now)
    assert [s.key for s in sends] == ["session:7:5:eve"]


def test_aftercare_meeting_reminders_do_not_ask_for_confirmation():
    sends = aftercare_meeting_reminders(
        "12@2025-03-11",
        3,
        local(2025, 3, 11, 18, 0),
        CFG.plan("aftercare_meeting"),
        DEFAULT_QUIET,
        TZ,
        local(2025, 3, 1, 12),
    )
    assert [s.key for s in sends] == ["meeting:12@2025-03-11:3:1d", "meeting:12@2025-03-11:3:2h"]
    assert not any(s.invites_confirmation for s in sends)


def test_missed_session_followup_waits_out_quiet_hours():
    s = missed_session_followup(
        7,
        99,
        local(2025, 3, 11, 20, 30),
        CFG.followup_after,
        DEFAULT_QUIET,
        TZ,
        local(2025, 3, 11, 20, 35),
    )
    assert (s.key, s.kind, s.message_key) == (
        "missed_session:7:99",
        "followup",
        "reminder.course_session.missed",
    )
    assert s.due_at == local(2025, 3, 12, 8, 0)
    s = missed_session_followup(
        7,
        99,
        local(2025, 3, 11, 12, 0),
        CFG.followup_after,
        DEFAULT_QUIET,
        TZ,
        local(2025, 3, 11, 12, 5),
    )
    assert s.due_at == local(2025, 3, 11, 13, 0)


def test_two_reminders_pushed_onto_one_instant_collapse_to_the_later():
    plan = ReminderPlan(
        "other",
        (
            PlanEntry("10h", "reminder.other.1d", before=Offset.parse("10h")),
            PlanEntry("9h", "reminder.other.2h", before=Offset.parse("9h")),
        ),
    )
    sends = event_reminders(
        "reminder:5", local(2025, 3, 12, 8, 30), plan, DEFAULT_QUIET, TZ, local(2025, 3, 1, 12)
    )
    assert [(s.key, s.due_at) for s in sends] == [("reminder:5:9h", local(2025, 3, 11, 20, 59))]


# -- property: a planned non-safety send is never in quiet hours and always before its event --

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]
clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))
offset_entry = st.builds(
    lambda i, d, h, m: PlanEntry(
        f"o{i}", "reminder.other.1d", before=Offset(d, timedelta(hours=h, minutes=m))
    ),
    st.integers(0, 99),
    st.integers(0, 8),
    st.integers(0, 30),
    st.integers(1, 59),
)
anchored_entry = st.builds(
    lambda i, days, at, lead: PlanEntry(
        f"a{i}", "reminder.other.1d", days_before=days, at=at, min_lead=lead
    ),
    st.integers(0, 99),
    st.integers(0, 2),
    clock,
    st.none() | st.builds(timedelta, minutes=st.integers(1, 300)),
)
plans = st.lists(offset_entry | anchored_entry, min_size=1, max_size=4, unique_by=lambda e: e.label)


@settings(max_examples=300, deadline=None)
@given(
    event=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    lead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
    entries=plans,
    quiet=st.builds(QuietHours, clock, clock),
    zone=st.sampled_from(ZONES),
)
def test_planned_sends_are_outside_quiet_hours_and_before_the_event(
    event, lead, entries, quiet, zone
):
    now = event - lead
    sends = event_reminders(
        "reminder:1", event, ReminderPlan("other", tuple(entries)), quiet, zone, now
    )
    for s in sends:
        assert not is_quiet_at(s.due_at, quiet, zone), s
        assert now <= s.due_at < event, s
    assert len({s.key for s in sends}) == len(sends)
    assert len({s.due_at for s in sends}) == len(sends)


TRANSITIONS = [
    datetime(2025, 3, 30, 1, tzinfo=UTC),
    datetime(2025, 10, 26, 1, tzinfo=UTC),
    datetime(2025, 3, 9, 7, tzinfo=UTC),
    datetime(2025, 11, 2, 6, tzinfo=UTC),
]
small_hours = st.builds(time, st.integers(0, 3), st.sampled_from([0, 15, 30, 59]))


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(TRANSITIONS),
    shift=st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=60)),
    lead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    entries=plans,
    quiet=st.builds(QuietHours, small_hours | clock, small_hours | clock),
    zone=st.sampled_from(["Europe/London", "America/New_York"]),
)
def test_property_holds_around_dst_changes(base, shift, lead, entries, quiet, zone):
    event = base + shift
    now = event - lead
    sends = event_reminders(
        "reminder:1", event, ReminderPlan("other", tuple(entries)), quiet, zone, now
    )
    for s in sends:
        assert not is_quiet_at(s.due_at, quiet, zone), s
        assert now <= s.due_at < event, s
