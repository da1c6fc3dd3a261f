"""Pure aftercare rules (bot/aftercare_rules.py, bot/aftercare_prompts.takes_reply): no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.aftercare.prompts import Prompt, takes_reply
from bot.aftercare.rules import (
    MeetingRule,
    days_in_recovery,
    keyword,
    load_config,
    meeting_times,
    misses_in_a_row,
    next_monthly,
    next_weekly,
    note_officer,
    numbered,
    parse_choice,
    parse_config,
    parse_numbers,
    upcoming_milestones,
)

LONDON = "Europe/London"


def test_meeting_rule() -> None:
    rule = MeetingRule.parse("weekly:tue 18:00")
    assert (rule.weekday, rule.at) == (1, time(18, 0))
    assert MeetingRule.parse("Weekly: Tuesday 9:30").at == time(9, 30)
    assert rule.text == "weekly:tue 18:00"
    for bad in ("tue 18:00", "weekly:tue", "weekly:funday 18:00", "weekly:tue 25:00",
                "monthly:tue 18:00"):
        with pytest.raises(ValueError):
            MeetingRule.parse(bad)


def test_meeting_times_follow_the_local_wall_clock_across_dst() -> None:
    rule = MeetingRule.parse("weekly:tue 18:00")
    got = meeting_times(rule, date(2026, 10, 20), date(2026, 11, 3), LONDON)
    assert [d.isoformat() for d, _ in got] == ["2026-10-20", "2026-10-27", "2026-11-03"]
    # 18:00 BST is 17:00 UTC; after the clocks go back (25 October) it is 18:00 UTC.
    assert [m.hour for _, m in got] == [17, 18, 18]


@pytest.mark.parametrize(("text", "word"), [
    ("MENTOR", "mentor"), ("/mentor", "mentor"), ("Mentor.", "mentor"),
    ("/mentor@o2r_bot", "mentor"), ("attendance", "attendance"), ("/register", "attendance"),
    ("/concern", "concern"), ("I need support", "support"), ("GROUP", "members"),
    ("/open", "staff_only"), ("ack 12", "staff_only"), ("ACK #3", "staff_only"),
    ("my mentor is great", None), ("7", None), ("support me please", None),
])
def test_keywords_are_whole_messages(text: str, word: str | None) -> None:
    assert keyword(text) == word


@pytest.mark.parametrize(("text", "size", "picked"), [
    ("1 3", 3, (1, 3)), ("3,1", 3, (1, 3)), ("1 and 2", 2, (1, 2)), ("2 & 2", 2, (2,)),
    ("0", 3, ()), ("none", 3, ()), ("Nobody.", 3, ()), ("no", 1, ()),
    ("4", 3, None), ("1 4", 3, None), ("0 1", 3, None), ("yes", 3, None), ("", 3, None),
    ("1.5", 3, None), ("12345", 3, None),
])
def test_numbers_from_a_list(text: str, size: int, picked: tuple[int, ...] | None) -> None:
    assert parse_numbers(text, size) == picked


def test_choice_and_numbered_list() -> None:
    assert parse_choice("2", 3) == 2 and parse_choice(" 3. ", 3) == 3
    assert parse_choice("4", 3) is None and parse_choice("two", 3) is None
    assert numbered(["Sam", "Jo"]) == "1 Sam\n2 Jo"


def test_two_misses_in_a_row_make_one_note() -> None:
    assert misses_in_a_row(["missed", "missed", "attended"]) == 2
    assert note_officer(["missed", "missed"])
    assert note_officer(["missed", "missed", "attended"])
    assert not note_officer(["missed"])
    assert not note_officer(["missed", "attended", "missed"])
    assert not note_officer(["missed", "missed", "missed"])  # already noted on the second
    assert not note_officer(["attended", "missed", "missed"])


def test_milestones_count_local_dates() -> None:
    since = date(2026, 1, 1)
    assert days_in_recovery(since, date(2026, 1, 31)) == 30
    ahead = upcoming_milestones(since, date(2026, 1, 31), (30, 90, 180, 365))
    assert ahead == [(30, date(2026, 1, 31)), (90, date(2026, 4, 1)),
                     (180, date(2026, 6, 30)), (365, date(2027, 1, 1))]
    assert upcoming_milestones(since, date(2026, 2, 1), (30, 90))[0][0] == 90


def test_prompt_calendar() -> None:
    wed = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert next_weekly(wed, 3, time(12, 0), LONDON) == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    thu_noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert next_weekly(thu_noon, 3, time(12, 0), LONDON) == thu_noon + timedelta(days=7)
    assert next_monthly(wed, 1, time(12, 0), LONDON) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert next_monthly(wed, 31, time(12, 0), LONDON) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_config_is_validated() -> None:
    cfg = load_config()
    assert cfg.milestone_days == (30, 90, 180, 365) and cfg.concern_day == 3
    raw = {"meetings": {"plan_ahead": "28d", "register_after": "1h", "plan_at": "12:10"},
           "mentors": {"agreement_version": "v1", "concern_day": "thu", "concern_at": "12:00",
                       "wellbeing_day": 1, "wellbeing_at": "12:00", "prompt_ttl": "48h"},
           "milestones": {"days": [30], "at": "10:00"}}
    assert parse_config(raw).plan_ahead == timedelta(days=28)
    raw["mentors"]["concern_day"] = "someday"
    with pytest.raises(ValueError, match=r"mentors\.concern_day"):
        parse_config(raw)


def _prompt(outbox_id: int | None) -> Prompt:
    at = datetime(2026, 11, 25, tzinfo=UTC)
    return Prompt(1, "concern", 1, 2, None, None, (3,), outbox_id, at, at, None)


def test_the_latest_question_takes_the_reply() -> None:
    assert takes_reply(_prompt(10), flow_running=False, flow_last_outbox=None,
                       safety_pending=False)
    assert takes_reply(_prompt(10), True, 9, False)
    assert not takes_reply(_prompt(10), True, 11, False)
    assert not takes_reply(_prompt(None), True, 11, False)
    # A pending safety question always keeps the reply.
    assert not takes_reply(_prompt(10), True, 9, True)
