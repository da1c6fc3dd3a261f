"""Scores people can read on the client page: item labels from the scales, ONS4 item bands,
SPANE P/N/B, K10 totals with bands, and charts with the band thresholds drawn."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from bot.core.clock import iso
from flows.scales import SCALES, score
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture


async def test_scores_in_words_with_bands_and_thresholds(harness: Harness, demo: Demo,
                                                         panels: Any) -> None:
    sam = demo.clients["D-001"]
    now = harness.clock.now()
    k10_items = [i.id for i in SCALES["k10"].items]
    spane = SCALES["spane12"]

    async def work(tx: Any) -> None:
        for days, value in ((60, 3), (30, 2), (1, 1)):  # K10 totals 30, 20, 10
            s = score("k10", dict.fromkeys(k10_items, value))
            await tx.execute(
                "INSERT INTO scores (client_id, scale_id, total, detail, at) VALUES (?, ?, ?, ?, ?)",
                (sam, "k10", s.total, json.dumps({"bands": s.bands, "subscales": s.subscales}),
                 iso(now - timedelta(days=days))))
        for days, pos in ((40, 3), (2, 4)):
            answers = {i.id: (pos if i.id in spane.subscales["P"] else 2) for i in spane.items}
            s = score("spane12", answers)
            await tx.execute(
                "INSERT INTO scores (client_id, scale_id, total, detail, at) VALUES (?, ?, ?, ?, ?)",
                (sam, "spane12", s.total, json.dumps({"bands": s.bands,
                                                      "subscales": s.subscales}),
                 iso(now - timedelta(days=days))))
        s = score("ons4", {"satisfied": 8, "worthwhile": 6, "happy": 3, "anxious": 7})
        await tx.execute(
            "INSERT INTO scores (client_id, scale_id, total, detail, at) VALUES (?, ?, ?, ?, ?)",
            (sam, "ons4", s.total, json.dumps({"bands": s.bands, "subscales": s.subscales}),
             iso(now)))
        for key, value in (("phq4_nervous", 2), ("spane12_positive", 4)):
            await tx.execute(
                "INSERT INTO answers (client_id, flow_id, question_key, raw_text, value, status,"
                " at) VALUES (?, 'monthly_spane', ?, ?, ?, 'answered', ?)",
                (sam, key, str(value), str(value), iso(now)))

    await harness.write(work)
    dana = await signed_in(panels, "dana")
    page = (await dana.get(f"/admin/clients/{sam}")).text
    assert "PHQ-4: Feeling nervous, anxious or on edge" in page and "SPANE-12: Positive" in page
    assert "Phq4 nervous" not in page and "Spane12 positive" not in page
    assert "Life satisfaction: high · Worthwhile: medium · Happiness: low · Anxiety: high" in page
    assert "Positive feelings (P) 24 · Negative feelings (N) 12 · Balance (B = P - N) 12" in page
    assert re.search(r"Kessler K10</span>\s+10 · low", page)
    assert re.search(r"Kessler K10</span>\s+30 · very high", page)
    # The K10 chart marks where moderate, high and very high begin; SPANE-B has its own chart.
    k10 = page[page.index("<title id=\"scale-1-t\">"):]
    k10 = k10[:k10.index("</svg>")]
    assert 'class="threshold"' in k10 and ">moderate</text>" in k10 and ">very high</text>" in k10
    assert "SPANE balance (B = P - N)" in page
