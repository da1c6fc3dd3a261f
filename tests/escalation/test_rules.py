"""The pure escalation rules (no database): working hours, acknowledgement deadlines per
severity in Europe/London (DST included), the notification chain, re-notification and batching."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.escalation.rules import (
    EscalationConfig,
    People,
    WorkingHours,
    ack_deadline,
    add_working_time,
    chain,
    in_working_hours,
    load_config,
    should_hold,
    targets_at,
)
from config.settings import Settings

LONDON = ZoneInfo("Europe/London")
CFG = load_config()
HOURS = CFG.working_hours
DEADLINES = Settings(db_path=Path("unused.db"), public_url=None, timezone="Europe/London",
                     mode="demo", simulator=False, secret_key=None).ack_deadlines

# Staff ids: assigned officer, duty officer, supervisors (4 is also the duty supervisor).
A, D, S1, DS, S3 = 1, 2, 3, 4, 5
EVERYONE = People(assigned=A, assigned_available=True, duty_officer=D, duty_supervisor=DS,
                  supervisors=(S1, DS, S3))


def london(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A London wall-clock time, as the UTC instant the service's clock would give."""
    return datetime(y, mo, d, h, mi, tzinfo=LONDON).astimezone(UTC)


def deadline(severity: str, now: datetime) -> datetime:
    return ack_deadline(severity, now, DEADLINES, HOURS, LONDON)


def working_time(a: datetime, b: datetime) -> timedelta:
    """Reference: real time between a and b that falls inside Mon-Fri 08:00-18:00 London."""
    total = timedelta(0)
    day = a.astimezone(LONDON).date()
    while day <= b.astimezone(LONDON).date():
        if day.weekday() < 5:
            opening = datetime.combine(day, time(8), LONDON).astimezone(UTC)
            closing = datetime.combine(day, time(18), LONDON).astimezone(UTC)
            lo, hi = max(a.astimezone(UTC), opening), min(b.astimezone(UTC), closing)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


# Configuration and working hours -------------------------------------------------------------

def test_config_file_and_default_deadlines() -> None:
    """config/escalation.toml: Mon-Fri 08:00-18:00, batches beyond 3 in 30 min; deadlines
    default to RED 15 min, AMBER 4 h, ROUTINE 1 day."""
    assert HOURS == WorkingHours(frozenset(range(5)), time(8), time(18))
    assert (CFG.batch_max, CFG.batch_window) == (3, timedelta(minutes=30))
    assert DEADLINES == {"red": timedelta(minutes=15), "amber": timedelta(hours=4),
                         "routine": timedelta(days=1)}


@pytest.mark.parametrize(("body", "message"), [
    ('days = ["mon", "funday"]\nstart = "08:00"\nend = "18:00"', "unknown"),
    ('days = ["mon"]\nstart = "8am"\nend = "18:00"', "not HH:MM"),
    ('days = ["mon"]\nstart = "18:00"\nend = "08:00"', "start must be before end"),
    ('days = []\nstart = "08:00"\nend = "18:00"', "start must be before end"),
])
def test_config_rejects_bad_working_hours(tmp_path: Path, body: str, message: str) -> None:
    """A wrong day name, time or empty/inverted window is refused with a message naming it."""
    path = tmp_path / "escalation.toml"
    path.write_text(f"[working_hours]\n{body}\n[batching]\nmax_alerts = 3\nwindow_minutes = 30\n"
                    '[client_ack]\nseverities = []\nreasons = []\nskip_reasons = []\n')
    with pytest.raises(ValueError, match=message):
        load_config(path)


@pytest.mark.parametrize(("moment", "inside"), [
    (london(2026, 11, 27, 8, 0), True),     # Friday opening
    (london(2026, 11, 27, 17, 59), True),
    (london(2026, 11, 27, 18, 0), False),   # closing is outside
    (london(2026, 11, 28, 12, 0), False),   # Saturday
    (london(2026, 3, 30, 8, 30), True),     # first Monday of BST: 07:30 UTC
    (london(2026, 3, 30, 18, 30), False),   # 17:30 UTC, but 18:30 in London
])
def test_in_working_hours_uses_london_wall_clock(moment: datetime, inside: bool) -> None:
    """Working hours are London local time, whatever the UTC offset that day."""
    assert in_working_hours(moment, HOURS, LONDON) is inside


# RED: wall-clock --------------------------------------------------------------------------------

@pytest.mark.parametrize("now", [
    london(2026, 11, 25, 10, 0),           # Wednesday morning
    london(2026, 11, 27, 17, 55),          # Friday, just before closing
    london(2026, 11, 28, 3, 0),            # Saturday night
    datetime(2026, 3, 29, 0, 50, tzinfo=UTC),   # spring forward at 01:00 UTC
    datetime(2026, 10, 25, 0, 50, tzinfo=UTC),  # fall back at 01:00 UTC
])
def test_red_deadline_is_fifteen_real_minutes(now: datetime) -> None:
    """RED ignores working hours: 15 real minutes later, nights, weekends and DST alike."""
    assert deadline("RED", now) - now == timedelta(minutes=15)
    assert ack_deadline("RED", now, {**DEADLINES, "red": timedelta(minutes=5)}, HOURS, LONDON
                        ) == now + timedelta(minutes=5)


# AMBER: working time ----------------------------------------------------------------------------

@pytest.mark.parametrize(("now", "due"), [
    # Wednesday 10:00 -> 14:00 the same day.
    (london(2026, 11, 25, 10, 0), london(2026, 11, 25, 14, 0)),
    # Exactly fits before closing: 14:00 -> 18:00.
    (london(2026, 11, 25, 14, 0), london(2026, 11, 25, 18, 0)),
    # Friday 16:30: 1.5 h on Friday, 2.5 h on Monday -> Monday 10:30.
    (london(2026, 11, 27, 16, 30), london(2026, 11, 30, 10, 30)),
    # Tuesday night: the clock starts at Wednesday's opening.
    (london(2026, 11, 24, 22, 0), london(2026, 11, 25, 12, 0)),
    # Saturday: Monday 12:00.
    (london(2026, 11, 28, 9, 0), london(2026, 11, 30, 12, 0)),
    # Across spring forward: Friday 16:30 GMT -> Monday 10:30 BST (09:30 UTC).
    (london(2026, 3, 27, 16, 30), datetime(2026, 3, 30, 9, 30, tzinfo=UTC)),
    # Across fall back: Friday 16:30 BST (15:30 UTC) -> Monday 10:30 GMT (10:30 UTC).
    (london(2026, 10, 23, 16, 30), datetime(2026, 10, 26, 10, 30, tzinfo=UTC)),
])
def test_amber_deadline_counts_working_hours_only(now: datetime, due: datetime) -> None:
    """AMBER gets 4 working hours, skipping evenings and weekends, in London time across DST."""
    got = deadline("AMBER", now)
    assert got == due
    assert got.astimezone(LONDON).utcoffset() == due.astimezone(LONDON).utcoffset()
    assert working_time(now, got) == timedelta(hours=4)


def test_amber_zero_time_waits_for_the_next_opening() -> None:
    """No working time at all still lands inside working hours (the next opening)."""
    sat = london(2026, 11, 28, 9, 0)
    assert add_working_time(sat, timedelta(0), HOURS, LONDON) == london(2026, 11, 30, 8, 0)
    wed = london(2026, 11, 25, 9, 0)
    assert add_working_time(wed, timedelta(0), HOURS, LONDON) == wed


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                          timezones=st.just(UTC)),
       minutes=st.integers(min_value=1, max_value=60 * 30))
def test_add_working_time_adds_exactly_that_much_and_no_more(start: datetime, minutes: int) -> None:
    """For any start (any season) the result is the earliest moment with exactly that much
    working time since `start`."""
    amount = timedelta(minutes=minutes)
    got = add_working_time(start, amount, HOURS, LONDON)
    assert working_time(start, got) == amount
    assert working_time(start, got - timedelta(seconds=1)) < amount


# ROUTINE: next working day -----------------------------------------------------------------------

@pytest.mark.parametrize(("now", "due"), [
    (london(2026, 11, 25, 10, 0), london(2026, 11, 26, 10, 0)),   # Wednesday -> Thursday
    (london(2026, 11, 26, 16, 30), london(2026, 11, 27, 16, 30)),  # Thursday -> Friday
    (london(2026, 11, 29, 10, 0), london(2026, 11, 30, 10, 0)),   # Sunday -> Monday
    (london(2026, 11, 28, 9, 0), london(2026, 11, 30, 9, 0)),     # Saturday -> Monday
    (london(2026, 11, 25, 22, 0), london(2026, 11, 26, 18, 0)),   # late -> next day's close
    (london(2026, 11, 25, 6, 0), london(2026, 11, 26, 8, 0)),     # early -> next day's opening
])
def test_routine_deadline_is_the_next_working_day(now: datetime, due: datetime) -> None:
    """ROUTINE runs to the same time on the next working day."""
    assert deadline("ROUTINE", now) == due


@settings(max_examples=100, deadline=None)
@given(now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC)))
def test_routine_deadline_lands_inside_working_hours_on_a_later_day(now: datetime) -> None:
    """Whenever the finding arrives, the ROUTINE deadline is within a working day's hours (its
    close included: "by close of business"), on a later London date, within four days."""
    got = deadline("ROUTINE", now)
    local = got.astimezone(LONDON)
    assert local.weekday() in HOURS.days and HOURS.start <= local.time() <= HOURS.end
    assert got.astimezone(LONDON).date() > now.astimezone(LONDON).date()
    assert got - now <= timedelta(days=4)


@pytest.mark.parametrize(("now", "due"), [
    (london(2026, 11, 27, 16, 30), london(2026, 11, 30, 16, 30)),
    # and across fall back: Friday 16:30 BST -> Monday 16:30 GMT
    (london(2026, 10, 23, 16, 30), datetime(2026, 10, 26, 16, 30, tzinfo=UTC)),
])
def test_routine_friday_afternoon_is_due_monday_afternoon(now: datetime, due: datetime) -> None:
    """One working day after Friday 16:30 is Monday 16:30, as Thursday 16:30 -> Friday 16:30."""
    assert deadline("ROUTINE", now) == due


# The chain --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("severity", "people", "levels"), [
    # Officer first; then duty officer, a supervisor (the duty supervisor), every supervisor.
    ("AMBER", EVERYONE, [[A], [D], [DS], [S1, DS, S3]]),
    ("ROUTINE", EVERYONE, [[A], [D], [DS], [S1, DS, S3]]),
    # RED also goes to the duty officer at once.
    ("RED", EVERYONE, [[A, D], [D], [DS], [S1, DS, S3]]),
    # Officer unavailable: the duty officer instead, for any severity.
    ("AMBER", replace(EVERYONE, assigned_available=False), [[D], [D], [DS], [S1, DS, S3]]),
    ("RED", replace(EVERYONE, assigned_available=False), [[D], [D], [DS], [S1, DS, S3]]),
    # No duty officer: RED's "at once" falls back to the duty supervisor, and that level goes.
    ("RED", replace(EVERYONE, duty_officer=None), [[A, DS], [DS], [S1, DS, S3]]),
    # No duty staff at all: the first supervisor stands in for both.
    ("RED", replace(EVERYONE, duty_officer=None, duty_supervisor=None),
     [[A, S1], [S1], [S1, DS, S3]]),
    ("AMBER", replace(EVERYONE, assigned_available=False, duty_officer=None, duty_supervisor=None),
     [[S1], [S1], [S1, DS, S3]]),
    # The assigned officer is the duty officer: told once at the first level.
    ("RED", replace(EVERYONE, duty_officer=A), [[A], [A], [DS], [S1, DS, S3]]),
    # Nobody available at all: the assigned officer is still told, and keeps being told.
    ("RED", People(A, False, None, None, ()), [[A], [A]]),
])
def test_chain_per_severity(severity: str, people: People, levels: list[list[int]]) -> None:
    """Who is told at each level, by severity and by who is available."""
    assert chain(severity, people) == levels


def walk(severity: str, people: People, steps: int) -> list[tuple[int, list[int]]]:
    """Follow an unacknowledged alert as the deadline handler does: next level each time."""
    told: set[int] = set()
    level = 0
    out: list[tuple[int, list[int]]] = []
    for _ in range(steps):
        used, targets = targets_at(level, severity, people, told)
        out.append((used, targets))
        told |= set(targets)
        level = used + 1
    return out


def test_red_walk_skips_duty_officer_already_told_and_repeats_last_level() -> None:
    """RED: officer and duty at once; the duty-officer level is skipped (already told); the
    supervisor; the supervisors not yet told; then every supervisor, again and again."""
    assert walk("RED", EVERYONE, 6) == [
        (0, [A, D]), (2, [DS]), (3, [S1, S3]),
        (3, [S1, DS, S3]), (3, [S1, DS, S3]), (3, [S1, DS, S3]),
    ]


def test_amber_walk_tells_each_person_once_before_repeating() -> None:
    """AMBER climbs one level per deadline, telling nobody twice until the final level repeats."""
    assert walk("AMBER", EVERYONE, 5) == [
        (0, [A]), (1, [D]), (2, [DS]), (3, [S1, S3]), (3, [S1, DS, S3]),
    ]


def test_targets_at_skips_whole_levels_already_told() -> None:
    """A level whose people were all told moves on to the first level with someone new."""
    assert targets_at(1, "AMBER", EVERYONE, {A, D, DS}) == (3, [S1, S3])
    assert targets_at(0, "AMBER", EVERYONE, {A}) == (1, [D])


def test_targets_at_past_the_end_repeats_the_last_level() -> None:
    """Beyond the chain, or when everyone was told, the final level is told again in full."""
    assert targets_at(99, "RED", EVERYONE, set()) == (3, [S1, DS, S3])
    assert targets_at(0, "RED", EVERYONE, {A, D, S1, DS, S3}) == (3, [S1, DS, S3])
    alone = People(A, False, None, None, ())
    assert targets_at(5, "AMBER", alone, {A}) == (1, [A])


# Batching ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("recent", [0, 1, 3, 4, 50])
def test_red_is_never_held(recent: int) -> None:
    """RED goes out whatever the officer's recent load."""
    assert should_hold("RED", recent, CFG) is False


@pytest.mark.parametrize("severity", ["AMBER", "ROUTINE"])
def test_amber_and_routine_held_beyond_the_configured_count(severity: str) -> None:
    """With 3 alerts already sent in the window, the 4th is held for the digest; the first
    three go out."""
    assert [should_hold(severity, recent, CFG) for recent in range(6)] == [
        False, False, False, True, True, True]


def test_hold_follows_the_configured_batch_max() -> None:
    """The threshold comes from the configuration, not a constant."""
    cfg: EscalationConfig = replace(CFG, batch_max=1)
    assert should_hold("AMBER", 0, cfg) is False
    assert should_hold("AMBER", 1, cfg) is True
    assert should_hold("RED", 1, cfg) is False
