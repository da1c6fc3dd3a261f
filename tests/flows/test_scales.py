"""Scale scoring against every worked vector of §4 of scales-and-safety.md, plus boundaries."""

from __future__ import annotations

import pytest

from flows.scales import (
    BARC10,
    K6,
    K10,
    PHQ4,
    PHQ9,
    SCALES,
    SPANE,
    Band,
    Item,
    Scale,
    score,
    score_scale,
)

GAD7_IDS = SCALES["gad7"].item_ids


def answers(scale: Scale, values: list[int]) -> dict[str, int]:
    """Values in the item order of §2 (the order the doc's vectors use)."""
    assert len(values) == len(scale.items)
    return dict(zip(scale.item_ids, values, strict=True))


# §4.1 PHQ-4: answers, total, band, anxiety (positive?), depression (positive?)
@pytest.mark.parametrize(
    ("values", "total", "band", "anx", "anx_pos", "dep", "dep_pos"),
    [
        ([0, 0, 0, 0], 0, "normal", 0, False, 0, False),
        ([1, 1, 1, 0], 3, "mild", 2, False, 1, False),
        ([2, 1, 0, 0], 3, "mild", 3, True, 0, False),
        ([0, 2, 1, 2], 5, "mild", 2, False, 3, True),
        ([1, 1, 2, 2], 6, "moderate", 2, False, 4, True),
        ([3, 3, 3, 3], 12, "severe", 6, True, 6, True),
    ],
)
def test_phq4_vectors(values: list[int], total: int, band: str, anx: int, anx_pos: bool,
                      dep: int, dep_pos: bool) -> None:
    s = score("phq4", answers(PHQ4, values))
    assert s.total == total
    assert s.bands == {"total": band}
    assert s.subscales == {"anxiety": anx, "depression": dep}
    assert s.flags == {"anxiety_positive": anx_pos, "depression_positive": dep_pos}


@pytest.mark.parametrize(
    ("values", "band"),
    [([2, 0, 0, 0], "normal"), ([3, 0, 0, 0], "mild"), ([3, 2, 0, 0], "mild"),
     ([3, 3, 0, 0], "moderate"), ([3, 3, 2, 0], "moderate"), ([3, 3, 3, 0], "severe")],
)
def test_phq4_band_boundaries(values: list[int], band: str) -> None:
    assert score("phq4", answers(PHQ4, values)).bands["total"] == band


def test_phq4_subscale_cutoff_is_three() -> None:
    assert not score("phq4", answers(PHQ4, [1, 1, 0, 0])).flags["anxiety_positive"]
    assert score("phq4", answers(PHQ4, [2, 1, 0, 0])).flags["anxiety_positive"]


@pytest.mark.parametrize(
    "bad",
    [{"nervous": 4, "worry": 0, "interest": 0, "down": 0},
     {"nervous": -1, "worry": 0, "interest": 0, "down": 0},
     {"nervous": 1, "worry": 1, "interest": 1},  # missing item: no pro-rating
     {"nervous": 1, "worry": 1, "interest": 1, "down": 1, "extra": 1},
     {"nervous": True, "worry": 0, "interest": 0, "down": 0},
     {"nervous": 1.0, "worry": 0, "interest": 0, "down": 0},
     {"nervous": "1", "worry": 0, "interest": 0, "down": 0}],
)
def test_phq4_invalid(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        score("phq4", bad)  # type: ignore[arg-type]


# §4.2 PHQ-9 (item 9 last).
@pytest.mark.parametrize(
    ("values", "total", "band", "item9"),
    [
        ([0] * 9, 0, "minimal", False),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal", False),
        ([0, 0, 0, 0, 0, 0, 0, 0, 1], 1, "minimal", True),
        ([1] * 9, 9, "mild", True),
        ([2, 2, 2, 2, 2, 1, 1, 1, 1], 14, "moderate", True),
        ([3, 3, 2, 2, 2, 2, 2, 2, 0], 18, "moderately_severe", False),
        ([3] * 9, 27, "severe", True),
    ],
)
def test_phq9_vectors(values: list[int], total: int, band: str, item9: bool) -> None:
    s = score("phq9", answers(PHQ9, values))
    assert (s.total, s.bands["total"], s.flags["item9_positive"]) == (total, band, item9)


@pytest.mark.parametrize(
    ("total", "band"),
    [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe")],
)
def test_phq9_boundaries(total: int, band: str) -> None:
    values = [3] * (total // 3) + ([total % 3] if total % 3 else [])
    values += [0] * (9 - len(values))
    assert score("phq9", answers(PHQ9, values)).bands["total"] == band


@pytest.mark.parametrize(("value", "positive"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_alone(value: int, positive: bool) -> None:
    s = score("phq9_item9", {"self_harm": value})
    assert s.total == value and s.flags == {"positive": positive}
    with pytest.raises(ValueError):
        score("phq9_item9", {"self_harm": 4})


# §4.3 GAD-7.
@pytest.mark.parametrize(
    ("values", "total", "band", "positive"),
    [
        ([0] * 7, 0, "minimal", False),
        ([1, 1, 1, 1, 0, 0, 0], 4, "minimal", False),
        ([1] * 7, 7, "mild", False),
        ([2, 2, 1, 1, 1, 1, 1], 9, "mild", False),
        ([2] * 7, 14, "moderate", True),
        ([3] * 7, 21, "severe", True),
        ([2, 2, 2, 1, 1, 1, 1], 10, "moderate", True),  # boundary 9/10
        ([3, 3, 3, 3, 3, 0, 0], 15, "severe", True),  # boundary 14/15
        ([1, 1, 1, 1, 1, 0, 0], 5, "mild", False),  # boundary 4/5
    ],
)
def test_gad7_vectors(values: list[int], total: int, band: str, positive: bool) -> None:
    s = score("gad7", dict(zip(GAD7_IDS, values, strict=True)))
    assert (s.total, s.bands["total"], s.flags["positive"]) == (total, band, positive)


# §4.4 K6, US coding 0-4.
@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([0] * 6, 0, "low"),
        ([1, 1, 1, 1, 0, 0], 4, "low"),
        ([1, 1, 1, 1, 1, 0], 5, "moderate"),  # boundary 4/5 (Prochaska)
        ([2] * 6, 12, "moderate"),
        ([2, 2, 2, 2, 2, 3], 13, "serious"),
        ([4] * 6, 24, "serious"),
    ],
)
def test_k6_vectors(values: list[int], total: int, band: str) -> None:
    s = score("k6", answers(K6, values))
    assert (s.total, s.bands["total"], s.flags["serious_distress"]) == (total, band, total >= 13)


def test_k6_rejects_k10_coding() -> None:
    with pytest.raises(ValueError):
        score("k6", answers(K6, [5, 1, 1, 1, 1, 1]))


# §4.5 K10, Australian coding 1-5.
@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([1] * 10, 10, "low"),
        ([2, 2, 2, 2, 2, 1, 1, 1, 1, 1], 15, "low"),  # boundary 15/16
        ([2, 2, 2, 2, 2, 2, 1, 1, 1, 1], 16, "moderate"),
        ([2] * 10, 20, "moderate"),
        ([3, 2, 2, 2, 2, 2, 2, 2, 2, 2], 21, "moderate"),  # boundary 21/22
        ([3, 3, 3, 3, 2, 2, 2, 2, 1, 1], 22, "high"),
        ([3, 3, 3, 3, 3, 3, 3, 3, 3, 2], 29, "high"),  # boundary 29/30
        ([3] * 10, 30, "very_high"),
        ([5] * 10, 50, "very_high"),
    ],
)
def test_k10_vectors(values: list[int], total: int, band: str) -> None:
    s = score("k10", answers(K10, values))
    assert (s.total, s.bands["total"]) == (total, band)


def test_k10_zero_is_invalid() -> None:
    """§4.5: a 0 under 1-5 coding is rejected (catches mixed coding)."""
    with pytest.raises(ValueError):
        score("k10", answers(K10, [0] + [1] * 9))


# §4.6 ONS4: per item, never summed.
@pytest.mark.parametrize(
    ("item", "value", "band"),
    [("satisfied", 4, "low"), ("satisfied", 5, "medium"), ("worthwhile", 6, "medium"),
     ("happy", 7, "high"), ("happy", 8, "high"), ("satisfied", 9, "very_high"),
     ("worthwhile", 10, "very_high"), ("happy", 0, "low"),
     ("anxious", 0, "very_low"), ("anxious", 1, "very_low"), ("anxious", 2, "low"),
     ("anxious", 3, "low"), ("anxious", 4, "medium"), ("anxious", 5, "medium"),
     ("anxious", 6, "high"), ("anxious", 10, "high")],
)
def test_ons4_bands(item: str, value: int, band: str) -> None:
    s = score("ons4", {item: value})
    assert s.total is None
    assert s.bands == {item: band}


def test_ons4_is_never_summed_and_rejects_invalid() -> None:
    s = score("ons4", {"satisfied": 7, "worthwhile": 7, "happy": 7, "anxious": 7})
    assert s.total is None and s.subscales == {}
    for bad in (11, -1, 7.5):
        with pytest.raises(ValueError):
            score("ons4", {"happy": bad})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        score("ons4", {})


# §4.7 SPANE (order: positive, negative, good, bad, pleasant, unpleasant, happy, sad, afraid,
# joyful, angry, contented).
@pytest.mark.parametrize(
    ("values", "p", "n", "b"),
    [
        ([1] * 12, 6, 6, 0),
        ([3] * 12, 18, 18, 0),
        ([5, 1, 5, 1, 5, 1, 5, 1, 1, 5, 1, 5], 30, 6, 24),
        ([2, 4, 2, 4, 2, 4, 1, 5, 4, 1, 4, 2], 10, 25, -15),
    ],
)
def test_spane_vectors(values: list[int], p: int, n: int, b: int) -> None:
    s = score("spane12", answers(SPANE, values))
    assert s.subscales == {"P": p, "N": n, "B": b}
    assert s.total is None and s.bands == {}  # no published cut-offs


# §4.10 BARC-10.
@pytest.mark.parametrize(
    ("values", "total", "flag"),
    [
        ([1] * 10, 10, False),
        ([4] * 10, 40, False),
        ([5, 5, 5, 5, 5, 4, 4, 4, 4, 5], 46, False),
        ([5, 5, 5, 5, 5, 4, 4, 4, 5, 5], 47, True),
        ([5, 5, 5, 5, 5, 4, 4, 5, 5, 5], 48, True),
        ([6] * 10, 60, True),
    ],
)
def test_barc10_vectors(values: list[int], total: int, flag: bool) -> None:
    s = score("barc10", answers(BARC10, values))
    assert (s.total, s.flags["remission_likely"]) == (total, flag)


def test_barc10_rejects_zero_to_six_coding() -> None:
    with pytest.raises(ValueError):
        score("barc10", answers(BARC10, [0] + [3] * 9))
    assert BARC10.item("living_space").aliases == {"no_living_space": 1}


@pytest.mark.parametrize(
    ("value", "band"),
    [(0, "not_ready"), (3, "not_ready"), (4, "unsure"), (6, "unsure"), (7, "ready"),
     (10, "ready")],
)
def test_readiness_ruler(value: int, band: str) -> None:
    assert score("readiness_ruler", {"ready": value}).bands == {"total": band}


def test_reversed_items_are_flipped() -> None:
    scale = Scale("demo", "demo", 1, 5, (Item("a", "A"), Item("b", "B", reversed=True)),
                  total_bands=(Band(2, 10, "any"),))
    assert score_scale(scale, {"a": 1, "b": 1}).total == 1 + 5


def test_unknown_scale() -> None:
    with pytest.raises(ValueError, match="unknown scale"):
        score("cssrs", {})


@pytest.mark.parametrize("scale", list(SCALES.values()), ids=lambda s: s.id)
def test_bands_cover_the_whole_range_without_gaps(scale: Scale) -> None:
    n = len(scale.items)
    for bands, lo, hi in (
        [(scale.total_bands, scale.lo * n, scale.hi * n)] if scale.total_bands else []
    ) + [(b, scale.lo, scale.hi) for b in [scale.item_bands, *scale.item_band_overrides.values()]
         if b]:
        expected = lo
        for band in bands:
            assert band.lo == expected, (scale.id, band)
            expected = band.hi + 1
        assert expected == hi + 1, scale.id


def test_no_unlicensed_instruments_are_implemented() -> None:
    assert not {"cssrs", "dass21", "wemwbs", "swemwbs"} & set(SCALES)
