"""Honest recall on unseen messages: tests/data/crisis/lang_blind/<code>.tsv were written without
looking at the frame files or the other sets (before config/crisis_lang was opened in that
session), then held out: the frames were tuned on a first set written the same way (now in
lang_dev/) and measured once on these. They are frozen and never tuned on; the figures asserted
are the ones measured, minus a small margin, so a change that loses coverage fails here. They are
far below the targets of the sets written with the frames (README, "Honest figures").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crisis" / "lang_blind"
FROZEN = {
    "pl": "efc09e7fdb2d9819b138daff66581ce6fe79f342781894dd1bad511670027b0d",
    "ro": "c94040e8e2a8c6dd1e63906e73d798234448be149e2c1e67fc021c637649b0be",
    "ur": "fc483712d1f1d2bf59f16b570a822c51fb357d5b6233b16da71a6dfcf1a402e8",
    "pa": "8bae577c4150b58bf3ae56a3ac38fb78764b6be4e957453e65283a68d29af9eb",
}
# (recall, false alarms) measured on 30 Nov 2026 after tuning on the first blind set.
MEASURED = {"pl": (31 / 42, 1 / 40), "ro": (30 / 42, 1 / 40), "ur": (28 / 43, 2 / 40),
            "pa": (26 / 43, 2 / 40)}
MARGIN_RECALL, MARGIN_FALSE_ALARMS = 0.03, 0.03

# A second blind set (lang_blind2), written by another engineer while the AMBER nets
# ([amber] in config/crisis_lang/*.toml) were tuned on lang_dev and lang only; copied in and
# measured once, never tuned on.
DATA2 = DATA.parent / "lang_blind2"
FROZEN2 = {
    "pl": "8bf1b11fca27008aa5022009c83ff3d762a9f4725d9c354d45c9f4da91c78d36",
    "ro": "ecebb705f5eb4073207f8b6f89104caa3579b9861163042a977ad46d1b34af0e",
    "ur": "0f39ec4dd5fe81f637702357d0b85e3990f5de33759c3109fb47950d054f6738",
    "pa": "fe273d60827e2d683f17447145837802103695d05a401cd5323a3b8b36736b89",
}
# (RED recall, RED false alarms, RED-or-AMBER recall, AMBER false alarms), measured on 30 Nov
# 2026 with the AMBER nets: aggregate figures only (README, "Honest figures"). Measured twice:
# after the first tuning, and after words were added from our own sentences (Urdu on
# lang_blind2 went from 50/63 to 51/63, nothing else moved).
MEASURED_AMBER = {
    ("lang_blind", "pl"): (31 / 42, 1 / 40, 37 / 42, 5 / 40),
    ("lang_blind", "ro"): (30 / 42, 1 / 40, 39 / 42, 4 / 40),
    ("lang_blind", "ur"): (28 / 43, 2 / 40, 39 / 43, 8 / 40),
    ("lang_blind", "pa"): (26 / 43, 2 / 40, 36 / 43, 5 / 40),
    ("lang_blind2", "pl"): (49 / 64, 1 / 64, 57 / 64, 3 / 64),
    ("lang_blind2", "ro"): (50 / 63, 0 / 64, 56 / 63, 5 / 64),
    ("lang_blind2", "ur"): (39 / 63, 0 / 64, 51 / 63, 10 / 64),
    ("lang_blind2", "pa"): (32 / 63, 0 / 64, 48 / 63, 4 / 64),
}


def _frozen_and_covering(folder: Path, frozen: dict[str, str], least: int) -> None:
    for code, digest in frozen.items():
        path = folder / f"{code}.tsv"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
        rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
        assert sum(r[0] == "crisis" for r in rows) >= least
        assert sum(r[0] == "ordinary" for r in rows) >= least
        assert len({r[1] for r in rows if r[0] == "crisis"}) == 7


def test_blind_sets_are_frozen_and_cover_every_category() -> None:
    _frozen_and_covering(DATA, FROZEN, 40)


@pytest.mark.parametrize("code", sorted(FROZEN))
def test_blind_recall_holds(cli, code: str) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli("crisis", "eval", str(DATA / f"{code}.tsv"), "--json")
    assert status == 0, err
    result = json.loads(out)
    recall, false_alarms = MEASURED[code]
    assert result["recall"] >= recall - MARGIN_RECALL, result["recall"]
    assert result["false_alarm_rate"] <= false_alarms + MARGIN_FALSE_ALARMS, result


def test_second_blind_set_is_frozen_and_covers_every_category() -> None:
    _frozen_and_covering(DATA2, FROZEN2, 60)


@pytest.mark.parametrize(("folder", "code"), sorted(MEASURED_AMBER))
def test_blind_recall_with_the_amber_nets_holds(cli, folder: str, code: str) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli("crisis", "eval", str(DATA.parent / folder / f"{code}.tsv"), "--json")
    assert status == 0, err
    r = json.loads(out)
    red, red_alarms, wide, amber_alarms = MEASURED_AMBER[(folder, code)]
    assert r["recall"] >= red - MARGIN_RECALL, r["recall"]
    assert r["false_alarm_rate"] <= red_alarms + MARGIN_FALSE_ALARMS, r["false_alarm_rate"]
    assert r["red_or_amber_recall"] >= wide - MARGIN_RECALL, r["red_or_amber_recall"]
    assert r["amber_false_alarm_rate"] <= amber_alarms + MARGIN_FALSE_ALARMS, \
        r["amber_false_alarm_rate"]
