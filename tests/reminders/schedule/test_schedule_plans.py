"""config/reminders.toml: defaults and validation errors that name the bad key."""

from __future__ import annotations

import tomllib
from datetime import time, timedelta

import pytest

from reminders.schedule.durations import Offset
from reminders.schedule.plans import CONFIG_PATH, EVENT_KINDS, ConfigError, load_config, parse_config


def raw_config() -> dict:
    with CONFIG_PATH.open("rb") as fh:
        return tomllib.load(fh)


def test_defaults():
    cfg = load_config()
    assert (cfg.quiet.start, cfg.quiet.end) == (time(21), time(8))
    assert set(cfg.plans) == set(EVENT_KINDS)
    court = cfg.plan("court").entries
    assert [e.label for e in court] == ["7d", "1d", "2h"]
    assert court[0].before == Offset(days=7)
    assert court[2].before == Offset(elapsed=timedelta(hours=2))
    assert all(e.invites_confirmation for e in court)
    assert [e.plan_prompt for e in court] == [True, True, False]
    for kind in EVENT_KINDS:
        if kind not in ("court", "course_session"):
            assert [e.label for e in cfg.plan(kind).entries] == ["1d", "2h"]
    eve, morning = cfg.plan("course_session").entries
    assert (eve.days_before, eve.at) == (1, time(18))
    assert (morning.days_before, morning.at, morning.min_lead) == (0, time(9), timedelta(hours=2))
    ck = cfg.checkins
    assert ck.stages["engagement"].checkin == "daily"
    assert ck.stages["in_rehab"].checkin == "none" and ck.stages["in_rehab"].weekly
    assert ck.stages["aftercare"].checkin == "taper"
    assert ck.heightened_days == 28
    assert (ck.missed_after_heightened, ck.missed_after) == (
        timedelta(hours=24),
        timedelta(hours=72),
    )
    assert [(s.from_day, s.per_week) for s in ck.taper] == [(0, 7), (28, 3), (91, 1)]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["plans"]["court"][0].update(before="7x"), "plans.court[0].before"),
        (lambda r: r["plans"]["court"][1].update(before="0h"), "plans.court[1].before"),
        (lambda r: r["plans"].pop("housing"), "plans.housing: missing"),
        (lambda r: r["plans"].update(dentist=[]), "plans.dentist: unknown setting"),
        (lambda r: r["plans"]["court"][1].update(label="7d"), "plans.court[1].label"),
        (lambda r: r["plans"]["court"][0].update(at="10:00"), "plans.court[0]: give either"),
        (lambda r: r["plans"]["court"][0].pop("message"), "plans.court[0].message: missing"),
        (lambda r: r["plans"]["court"][0].update(message="Court 7 days"), "plans.court[0].message"),
        (lambda r: r["plans"]["other"][0].update(plan_prompt="yes"), "plans.other[0].plan_prompt"),
        (lambda r: r["quiet_hours"].update(start="25:00"), "quiet_hours.start"),
        (lambda r: r["quiet_hours"].pop("end"), "quiet_hours.end: missing"),
        (lambda r: r["checkins"].update(weekly_day="funday"), "checkins.weekly_day"),
        (lambda r: r["checkins"].update(monthly_day=32), "checkins.monthly_day"),
        (lambda r: r["checkins"].update(window="0m"), "checkins.window"),
        (
            lambda r: r["checkins"]["stages"].update(
                rehab={"checkin": "hourly", "weekly": True, "monthly": False}
            ),
            "checkins.stages.rehab.checkin",
        ),
        (
            lambda r: r["checkins"].update(heightened_exempt_stages=["rehab"]),
            "checkins.heightened_exempt_stages[0]",
        ),
        (lambda r: r["checkins"]["taper"][0].update(from_day=3), "checkins.taper[0].from_day"),
        (lambda r: r["checkins"]["taper"][2].update(from_day=10), "checkins.taper[2].from_day"),
    ],
)
def test_bad_config_names_the_key(mutate, message):
    raw = raw_config()
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert str(err.value).startswith(message), str(err.value)


def test_bad_toml_file(tmp_path):
    bad = tmp_path / "reminders.toml"
    bad.write_text("[quiet_hours\nstart = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_unknown_kind_and_stage_are_errors():
    cfg = load_config()
    with pytest.raises(ValueError, match="dentist"):
        cfg.plan("dentist")
    with pytest.raises(ValueError, match="rehabb"):
        cfg.checkins.stage("rehabb")
