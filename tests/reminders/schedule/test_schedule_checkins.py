"""Daily check-ins and scales: DST, cadence per stage, heightened window, taper, missed."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reminders.schedule import (
    ClientSchedule,
    checkins_for_day,
    daily_checkin_due,
    heightened_until,
    missed_checkin_deadline,
    missed_checkin_finding,
)
from reminders.schedule.plans import load_config
from reminders.schedule.quiet_hours import DEFAULT_QUIET, NO_QUIET, QuietHours

CFG = load_config()
CK = CFG.checkins
TZ = "Europe/London"
LONDON = ZoneInfo(TZ)
SPRING, AUTUMN = date(2025, 3, 30), date(2025, 10, 26)
MONDAY = date(2025, 3, 10)  # weekly_day default is Monday; not the 1st of the month


def run(clients, day, quiet=DEFAULT_QUIET):
    return list(checkins_for_day(clients, day, TZ, CK, quiet))


def client(**kw) -> ClientSchedule:
    base = {
        "client_id": 1,
        "stage": "engagement",
        "stage_started": date(2025, 1, 1),
        "checkin_time": "10:00",
    }
    return ClientSchedule(**(base | kw))


def test_checkin_time_is_local_wall_time():
    assert daily_checkin_due(date(2025, 1, 15), "10:00", TZ) == datetime(
        2025, 1, 15, 10, tzinfo=UTC
    )
    assert daily_checkin_due(date(2025, 7, 15), "10:00", TZ) == datetime(2025, 7, 15, 9, tzinfo=UTC)


def test_0130_on_spring_change_day_is_0230_bst_once():
    due = daily_checkin_due(SPRING, "01:30", TZ)
    assert due == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert due.astimezone(LONDON).time() == time(2, 30)  # 01:30 does not exist that night
    assert due.astimezone(LONDON).utcoffset() == timedelta(hours=1)


def test_0130_on_autumn_change_day_is_the_first_0130_once():
    due = daily_checkin_due(AUTUMN, "01:30", TZ)
    assert due == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 01:30 BST, not the later 01:30 GMT
    assert due.astimezone(LONDON).time() == time(1, 30)


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_checkins_for_day_sends_the_0130_checkin_once_on_change_days(day):
    night_owl = client(checkin_time="01:30", quiet=NO_QUIET)
    days = [day - timedelta(days=1), day, day + timedelta(days=1)]
    sends = [s for d in days for s in run([night_owl], d) if s.kind == "checkin"]
    assert [s.key for s in sends] == [f"checkin:1:{d.isoformat()}" for d in days]
    assert len({s.due_at for s in sends}) == 3
    gaps = [b.due_at - a.due_at for a, b in itertools.pairwise(sends)]
    assert all(timedelta(hours=22) < g < timedelta(hours=26) for g in gaps)


def test_engagement_daily_weekly_and_monthly_keys():
    sends = run([client()], MONDAY)
    assert [(s.key, s.flow) for s in sends] == [
        ("checkin:1:2025-03-10", "daily_checkin"),
        ("scale:weekly:1:2025-W11", "weekly_checkin"),
    ]
    daily, weekly = sends
    assert daily.due_at == datetime(2025, 3, 10, 10, tzinfo=UTC)
    assert weekly.due_at == daily.due_at + CK.scale_after
    assert daily.window_end == daily.due_at + CK.window
    assert not daily.safety_question and not daily.safety
    monthly = run([client()], date(2025, 4, 1))
    assert [s.key for s in monthly] == ["checkin:1:2025-04-01", "scale:monthly:1:2025-04"]
    assert monthly[1].flow == "monthly_spane"
    # ISO week of a day in late December can belong to the next year
    assert run([client(weekly_day=0)], date(2024, 12, 30))[1].key == "scale:weekly:1:2025-W01"


def test_client_days_override_defaults_and_month_end_clamps():
    c = client(weekly_day=2, monthly_day=31)
    assert [s.kind for s in run([c], MONDAY)] == ["checkin"]
    assert [s.key for s in run([c], date(2025, 3, 12))][1] == "scale:weekly:1:2025-W11"
    assert "scale:monthly:1:2025-02" in [s.key for s in run([c], date(2025, 2, 28))]
    assert "scale:monthly:1:2025-03" not in [s.key for s in run([c], date(2025, 3, 30))]


def test_in_rehab_gets_the_weekly_scale_only():
    c = client(stage="in_rehab")
    assert run([c], MONDAY - timedelta(days=1)) == []
    sends = run([c], MONDAY)
    assert [(s.key, s.due_at) for s in sends] == [
        ("scale:weekly:1:2025-W11", datetime(2025, 3, 10, 10, tzinfo=UTC)),  # no check-in to follow
    ]


def test_heightened_window_daily_with_safety_question():
    until = heightened_until(date(2025, 3, 1), CK)
    assert until == date(2025, 3, 29)
    c = client(stage="inactive", heightened_until=until)  # released from custody
    sends = run([c], date(2025, 3, 29))
    assert [s.key for s in sends] == ["checkin:1:2025-03-29"]
    assert sends[0].safety_question
    assert run([c], date(2025, 3, 30)) == []
    # readmitted to rehab: the rehab's routine wins
    assert run([replace(c, stage="in_rehab")], date(2025, 3, 29)) == []
    # engagement inside the window: the daily check-in carries the safety question
    assert run([client(heightened_until=until)], MONDAY)[0].safety_question


def test_aftercare_tapers():
    start = date(2025, 1, 6)
    c = client(stage="aftercare", stage_started=start, weekly_day=6, monthly_day=28)

    def checkin_days(first: int, last: int) -> list[int]:
        return [
            n
            for n in range(first, last)
            if any(s.kind == "checkin" for s in run([c], start + timedelta(days=n)))
        ]

    assert checkin_days(0, 28) == list(range(28))
    assert checkin_days(28, 42) == [28, 30, 32, 35, 37, 39]
    assert checkin_days(91, 112) == [91, 98, 105]


def test_stages_without_checkins_and_unknown_stages():
    assert run([client(stage="withdrawn"), client(stage="referral")], MONDAY) == []
    with pytest.raises(ValueError, match="rehabb"):
        run([client(stage="rehabb")], MONDAY)


def test_checkin_in_quiet_hours_moves_forward_and_scale_stays_out_of_them():
    late = run([client(checkin_time="22:30")], MONDAY)
    assert late[0].due_at == datetime(2025, 3, 11, 8, 0, tzinfo=UTC)  # the next morning
    evening = run([client(checkin_time="20:30")], MONDAY)
    assert evening[1].due_at == evening[0].due_at  # 21:30 would be quiet: with the check-in
    own = run([client(checkin_time="22:30", quiet=QuietHours.parse("23:00", "07:00"))], MONDAY)
    assert own[0].due_at == datetime(2025, 3, 10, 22, 30, tzinfo=UTC)


def test_ten_thousand_clients_give_ten_thousand_daily_checkins():
    clients = [
        ClientSchedule(
            i,
            "engagement",
            date(2025, 1, 1),
            checkin_time=f"{8 + i % 12:02d}:{i % 60:02d}",
            weekly_day=i % 7,
            quiet=NO_QUIET if i % 100 == 0 else None,
        )
        for i in range(10_000)
    ]
    sends = run(clients, MONDAY)
    daily = [s for s in sends if s.kind == "checkin"]
    assert len(daily) == 10_000
    assert len({s.key for s in sends}) == len(sends)


def test_missed_checkin_thresholds():
    sent = datetime(2025, 3, 10, 10, tzinfo=UTC)
    assert missed_checkin_deadline(sent, True, CK) == sent + timedelta(hours=24)
    assert missed_checkin_deadline(sent, False, CK) == sent + timedelta(hours=72)
    reply = datetime(2025, 3, 9, 10, tzinfo=UTC)
    assert not missed_checkin_finding(reply, reply + timedelta(hours=23, minutes=59), True, CK)
    assert missed_checkin_finding(reply, reply + timedelta(hours=24), True, CK)
    assert not missed_checkin_finding(reply, reply + timedelta(hours=71), False, CK)
    assert missed_checkin_finding(reply, reply + timedelta(hours=72), False, CK)
    # nothing asked since the last reply: silence is not a miss
    assert not missed_checkin_finding(
        reply, reply + timedelta(days=5), False, CK, last_sent_at=reply - timedelta(hours=1)
    )
    assert missed_checkin_finding(
        reply, reply + timedelta(days=5), False, CK, last_sent_at=reply + timedelta(days=1)
    )


def test_monthly_set_is_split_over_three_days_even_across_a_month_end() -> None:
    from reminders.schedule.checkins import _monthly_part

    assert _monthly_part(date(2026, 12, 1), 1) == (0, date(2026, 12, 1))
    assert _monthly_part(date(2026, 12, 2), 1) == (1, date(2026, 12, 1))
    assert _monthly_part(date(2026, 12, 3), 1) == (2, date(2026, 12, 1))
    assert _monthly_part(date(2026, 12, 4), 1) is None
    # The 31st clamps to 30 November; parts 2 and 3 run into December.
    assert _monthly_part(date(2026, 11, 30), 31) == (0, date(2026, 11, 30))
    assert _monthly_part(date(2026, 12, 1), 31) == (1, date(2026, 11, 30))
    assert _monthly_part(date(2026, 12, 2), 31) == (2, date(2026, 11, 30))
