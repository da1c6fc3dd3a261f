"""Risk rules (§5.5): every threshold at, just below and just above its value."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.paths import config_file
from flows import questions as q
from flows.client import ClientView, History
from flows.intents import Detection, Intent
from flows.risk import (
    Finding,
    Thresholds,
    crisis_finding,
    evaluate,
    load_thresholds,
    parse_thresholds,
)

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
T = load_thresholds()
CLIENT = ClientView("Sam", consented=True)


def found(answers: dict[str, Any], history: History | None = None,
          client: ClientView = CLIENT) -> dict[str, Finding]:
    return {f.reason: f for f in evaluate(answers, history or History(), T, client, NOW)}


def reasons(answers: dict[str, Any], history: History | None = None,
            client: ClientView = CLIENT) -> set[tuple[str, str]]:
    return {(f.severity, f.reason) for f in found(answers, history, client).values()}


def test_config_matches_the_signed_off_matrix() -> None:
    assert T == Thresholds(
        red_phq9_item9_min=2, amber_phq9_item9_min=1, amber_phq4_total_min=9,
        amber_phq4_subscale_min=3, amber_phq4_subscale_rise_min=3, amber_ons_anxious_min=8,
        amber_craving_min=8, amber_craving_above_mean_min=3, amber_craving_mean_min_values=3,
        amber_abstinence_days_min=7, amber_peers_craving_min=6, yellow_ons_happy_max=4,
        yellow_ons_happy_low_days=4, yellow_barc10_fall_min=5, yellow_spane_b_fall_min=6,
        yellow_readiness_drop_min=3,
    )


def test_threshold_config_is_strict(tmp_path: Path) -> None:
    text = config_file("risk.toml").read_text()
    for broken, match in (
        (text.replace("craving_min = 8", "craving_minimum = 8"), "unknown"),
        (text.replace("craving_min = 8\n", ""), "missing"),
        (text.replace("craving_min = 8", "craving_min = 8.5"), "whole number"),
    ):
        path = tmp_path / "risk.toml"
        path.write_text(broken)
        with pytest.raises(ValueError, match=match):
            load_thresholds(path)
    with pytest.raises(ValueError):
        parse_thresholds({"red": 1})


def test_nothing_answered_nothing_found() -> None:
    assert evaluate({}, History(), T, CLIENT, NOW) == []


def test_all_zero_answers_raise_nothing_and_never_say_low_risk() -> None:
    answers = {q.ONS_HAPPY: 7, q.ONS_ANXIOUS: 0, q.CRAVING: 0, q.USED: False, q.PHQ9_ITEM9: 0,
               q.PHQ4_NERVOUS: 0, q.PHQ4_WORRY: 0, q.PHQ4_INTEREST: 0, q.PHQ4_DOWN: 0}
    assert evaluate(answers, History(), T, CLIENT, NOW) == []


# --- RED -------------------------------------------------------------------------------------

def test_safety_item_need_to_talk_is_red() -> None:
    f = found({q.SAFE_NOW: "need_to_talk"})["safety_need_to_talk"]
    assert (f.severity, f.safety_followup, f.stops_flow) == ("RED", True, True)
    assert f.messages == ("crisis.ack", "crisis.reply")
    assert found({q.SAFE_NOW: "safe"}) == {}


@pytest.mark.parametrize(
    ("item9", "severity"), [(0, None), (1, "AMBER"), (2, "RED"), (3, "RED")]
)
def test_phq9_item9(item9: int, severity: str | None) -> None:
    f = found({q.PHQ9_ITEM9: item9}).get("phq9_item9")
    assert (f.severity if f else None) == severity
    if f:
        assert f.safety_followup
        assert "crisis.reply" in f.messages  # item 9 >= 1: crisis numbers at once (§0)


@pytest.mark.parametrize(
    ("category", "reason", "ack"),
    [("overdose", "overdose", "crisis.ack_overdose"), ("ideation", "crisis_text", "crisis.ack"),
     ("method", "crisis_text", "crisis.ack"), ("safety", "crisis_text", "crisis.ack")],
)
def test_crisis_text_is_red(category: str, reason: str, ack: str) -> None:
    f = crisis_finding(Detection(Intent.CRISIS, "x", category))
    assert (f.severity, f.reason, f.safety_followup, f.messages) == (
        "RED", reason, True, (ack, "crisis.reply"))


# --- AMBER -----------------------------------------------------------------------------------

def phq4(nervous: int, worry: int, interest: int, down: int) -> dict[str, int]:
    return {q.PHQ4_NERVOUS: nervous, q.PHQ4_WORRY: worry, q.PHQ4_INTEREST: interest,
            q.PHQ4_DOWN: down}


@pytest.mark.parametrize(("values", "hit"), [((3, 3, 2, 0), False), ((3, 3, 3, 0), True),
                                             ((3, 3, 3, 1), True)])
def test_phq4_total(values: tuple[int, int, int, int], hit: bool) -> None:
    assert (("AMBER", "phq4_high") in reasons(phq4(*values))) is hit


def test_phq4_needs_all_four_items() -> None:
    answers = phq4(3, 3, 3, 3)
    del answers[q.PHQ4_DOWN]
    assert reasons(answers) == set()


@pytest.mark.parametrize(
    ("values", "last_anxiety", "hit"),
    [
        ((2, 1, 0, 0), 0, True),  # subscale 3 (at min), rise 3 (at min)
        ((2, 1, 0, 0), 1, False),  # rise 2: below
        ((1, 1, 0, 0), 0, False),  # subscale 2: below min even with rise 2
        ((2, 2, 0, 0), 0, True),  # subscale 4, rise 4: above both
        ((3, 3, 0, 0), 4, False),  # high but only +2
        ((2, 1, 0, 0), None, False),  # no last week: no rise rule
    ],
)
def test_phq4_subscale_rise(values: tuple[int, int, int, int], last_anxiety: int | None,
                            hit: bool) -> None:
    history = History(last_phq4_anxiety=last_anxiety, last_phq4_depression=0)
    assert (("AMBER", "phq4_rise") in reasons(phq4(*values), history)) is hit


def test_phq4_rise_on_depression_subscale() -> None:
    history = History(last_phq4_anxiety=6, last_phq4_depression=1)
    assert ("AMBER", "phq4_rise") in reasons(phq4(0, 0, 2, 2), history)


@pytest.mark.parametrize(
    ("today", "yesterday", "hit"),
    [(8, 8, True), (7, 8, False), (8, 7, False), (9, 10, True), (8, None, False)],
)
def test_anxious_two_consecutive_days(today: int, yesterday: int | None, hit: bool) -> None:
    history = History(previous_ons_anxious=yesterday)
    assert (("AMBER", "anxious_two_days") in reasons({q.ONS_ANXIOUS: today}, history)) is hit


@pytest.mark.parametrize(("craving", "hit"), [(7, False), (8, True), (9, True), (10, True)])
def test_craving_absolute(craving: int, hit: bool) -> None:
    assert (("AMBER", "craving_high") in reasons({q.CRAVING: craving})) is hit


@pytest.mark.parametrize(
    ("craving", "past", "hit"),
    [
        (3, (1, 1, 1), False),  # +2: below
        (4, (1, 1, 1), True),  # +3: at threshold
        (5, (1, 1, 1), True),  # +4: above
        (5, (2, 3, 1), True),  # mean 2, +3
        (7, (2, 2), False),  # two check-ins are not a personal baseline (min 3 values)
        (7, (), False),
    ],
)
def test_craving_above_own_mean(craving: int, past: tuple[int, ...], hit: bool) -> None:
    got = reasons({q.CRAVING: craving}, History(craving_last_7_days=past))
    assert (("AMBER", "craving_above_mean") in got) is hit


def test_doc_vector_craving_9_mean_3_is_amber() -> None:
    """§4.12: craving_24h = 9, personal 7-day mean = 3 -> AMBER."""
    got = reasons({q.CRAVING: 9}, History(craving_last_7_days=(3, 3, 3, 3)))
    assert got == {("AMBER", "craving_high")}  # one alert, not two for the same answer


@pytest.mark.parametrize(
    ("gap", "window", "hit"),
    [
        (timedelta(days=7), False, True),
        (timedelta(days=7) - timedelta(minutes=1), False, False),
        (timedelta(days=8), False, True),
        (None, False, False),
        (None, True, True),  # any use in the vulnerability window
        (timedelta(hours=20), True, True),
    ],
)
def test_use_after_abstinence(gap: timedelta | None, window: bool, hit: bool) -> None:
    history = History(last_use_at=NOW - gap if gap is not None else None)
    client = dataclasses.replace(CLIENT, in_heightened_window=window)
    f = found({q.USED: True}, history, client).get("use_after_abstinence")
    assert (f is not None) is hit
    if f:
        assert (f.severity, f.safety_followup, f.messages) == ("AMBER", True, ("safety.tolerance",))
    assert "use_after_abstinence" not in found({q.USED: False}, history, client)


def test_doc_vector_use_day_10_after_rehab() -> None:
    """§4.12: used = yes, day 10 after leaving rehab -> AMBER + tolerance message."""
    history = History(last_use_at=NOW - timedelta(days=94))  # admitted 12 weeks + 10 days ago
    client = dataclasses.replace(CLIENT, in_heightened_window=True)
    f = found({q.USED: True}, history, client)["use_after_abstinence"]
    assert f.severity == "AMBER" and f.messages == ("safety.tolerance",)


def test_housing_lost() -> None:
    assert reasons({q.HOUSING_LOST: True}) == {("AMBER", "housing_lost")}
    assert reasons({q.HOUSING_LOST: False}) == set()


@pytest.mark.parametrize(("craving", "hit"), [(5, False), (6, True), (7, True)])
def test_peers_and_craving(craving: int, hit: bool) -> None:
    assert (("AMBER", "peers_and_craving") in reasons(
        {q.TIME_WITH_USERS: True, q.CRAVING: craving})) is hit
    # Either half may come from history (weekly peers answer, daily craving answer).
    assert (("AMBER", "peers_and_craving") in reasons(
        {q.CRAVING: craving}, History(recent_time_with_users=True))) is hit
    assert (("AMBER", "peers_and_craving") in reasons(
        {q.TIME_WITH_USERS: True}, History(craving_last_7_days=(1, craving)))) is hit
    assert ("AMBER", "peers_and_craving") not in reasons(
        {q.TIME_WITH_USERS: False, q.CRAVING: 10})


# --- YELLOW ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("today", "past", "hit"),
    [
        (4, (4, 4, 4), True),  # 4 low days of 7 (at threshold, at the max value)
        (4, (4, 4, 5), False),  # 3 low days
        (5, (4, 4, 4, 4), False),  # today is not low: no new trend finding today
        (0, (9, 1, 1, 1, 9, 9), True),
        (4, (4, 4, 4, 9, 9, 9, 9), False),  # only the last 6 days count with today
    ],
)
def test_happy_low_days(today: int, past: tuple[int, ...], hit: bool) -> None:
    got = reasons({q.ONS_HAPPY: today}, History(ons_happy_last_7_days=past))
    assert (("YELLOW", "happy_low_days") in got) is hit


@pytest.mark.parametrize(("now", "hit"), [(6, False), (5, True), (4, True)])
def test_readiness_drop(now: int, hit: bool) -> None:
    got = reasons({q.READINESS: now}, History(last_readiness=8))
    assert (("YELLOW", "readiness_drop") in got) is hit


def barc(total_minus_ten: int, living_space: Any = 1) -> dict[str, Any]:
    """BARC-10 answers: item 7 as given, the rest summing to the target."""
    ids = ["priorities", "happy_life", "energy", "community", "friends", "fulfilling",
           "responsibility", "professionals", "progress"]
    values = [1] * 9
    extra = total_minus_ten
    for i in range(9):
        add = min(5, extra)
        values[i] += add
        extra -= add
    out: dict[str, Any] = {f"barc10_{i}": v for i, v in zip(ids, values, strict=True)}
    out["barc10_living_space"] = living_space
    return out


@pytest.mark.parametrize(("total", "hit"), [(46, False), (45, True), (44, True)])
def test_barc10_fall(total: int, hit: bool) -> None:
    got = reasons(barc(total - 10), History(last_barc10_total=50))
    assert (("YELLOW", "barc10_fall") in got) is hit


def test_barc10_no_living_space_scores_one() -> None:
    got = reasons(barc(35, "no_living_space"), History(last_barc10_total=50))
    assert ("YELLOW", "barc10_fall") in got  # 45 + 0 = total 45: fall of 5


def spane(p: int, n: int) -> dict[str, int]:
    pos = ["positive", "good", "pleasant", "happy", "joyful", "contented"]
    neg = ["negative", "bad", "unpleasant", "sad", "afraid", "angry"]

    def spread(total: int) -> list[int]:
        vals, extra = [1] * 6, total - 6
        for i in range(6):
            add = min(4, extra)
            vals[i] += add
            extra -= add
        return vals

    return {**{f"spane12_{k}": v for k, v in zip(pos, spread(p), strict=True)},
            **{f"spane12_{k}": v for k, v in zip(neg, spread(n), strict=True)}}


@pytest.mark.parametrize(("b", "hit"), [(1, False), (0, True), (-1, True)])
def test_spane_b_fall(b: int, hit: bool) -> None:
    got = reasons(spane(18 + b, 18), History(last_spane_b=6))
    assert (("YELLOW", "spane_b_fall") in got) is hit


def test_yellow_findings_send_only_a_supportive_message() -> None:
    f = found({q.READINESS: 0}, History(last_readiness=10))["readiness_drop"]
    assert f.messages == ("support.encourage",) and not f.safety_followup and not f.stops_flow
