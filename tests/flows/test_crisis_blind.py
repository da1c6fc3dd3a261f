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


def test_blind_sets_are_frozen_and_cover_every_category() -> None:
    for code, digest in FROZEN.items():
        path = DATA / f"{code}.tsv"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
        rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
        assert sum(r[0] == "crisis" for r in rows) >= 40
        assert sum(r[0] == "ordinary" for r in rows) >= 40
        assert len({r[1] for r in rows if r[0] == "crisis"}) == 7


@pytest.mark.parametrize("code", sorted(FROZEN))
def test_blind_recall_holds(cli, code: str) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli("crisis", "eval", str(DATA / f"{code}.tsv"), "--json")
    assert status == 0, err
    result = json.loads(out)
    recall, false_alarms = MEASURED[code]
    assert result["recall"] >= recall - MARGIN_RECALL, result["recall"]
    assert result["false_alarm_rate"] <= false_alarms + MARGIN_FALSE_ALARMS, result
