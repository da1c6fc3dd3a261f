"""The lead's dashboard over the real app: date and officer filters in the URL, outcome change
per cohort and per client, and the evaluator's view (aggregates only, small counts hidden)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from bot.core.clock import iso
from flows.scales import SCALES, score
from tests.admin_web.support import Demo, Panel, signed_in, visible
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture


async def table(panel: Panel, slug: str, query: str = "") -> list[list[str]]:
    response = await panel.get(f"/admin/dashboard/{slug}.csv{query}")
    assert response.status_code == 200, (slug, response.status_code)
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


async def k10_twice(h: Harness, demo: Demo) -> None:
    """Every demo client scored K10 60 days ago (each item 4: 40) and yesterday (2: 20)."""
    now = h.clock.now()
    items = [i.id for i in SCALES["k10"].items]

    async def work(tx: Any) -> None:
        for client_id in demo.clients.values():
            for days, value in ((60, 4), (1, 2)):
                s = score("k10", dict.fromkeys(items, value))
                await tx.execute(
                    "INSERT INTO scores (client_id, scale_id, total, detail, at)"
                    " VALUES (?, 'k10', ?, ?, ?)",
                    (client_id, s.total, json.dumps({"bands": s.bands}),
                     iso(now - timedelta(days=days))))

    await h.write(work)


async def test_supervisor_filters_by_date_and_officer(harness: Harness, demo: Demo,
                                                      panels: Any) -> None:
    await k10_twice(harness, demo)
    priya = await signed_in(panels, "priya")
    today = harness.clock.now().date()
    assert (await table(priya, "referrals-by-officer"))[-1] == ["total", "Total", "3", "2", "5"]
    later = f"?from={(today + timedelta(days=1)).isoformat()}"
    assert (await table(priya, "referrals-by-officer", later))[-1] == ["total", "Total", "0"]
    dana = f"?officer={demo.staff['dana']}"
    rows = await table(priya, "referrals-by-officer", dana)
    assert rows[0] == ["status", "Current status", "Dana Hughes", "Overall"]
    assert rows[-1] == ["total", "Total", "3", "3"]
    page = await priya.get(f"/admin/dashboard{dana}&from={today.isoformat()}")
    assert f'href="/admin/dashboard/journey-funnel.csv?from={today.isoformat()}&amp;officer=' \
        in page.text  # the CSV links carry the filters
    # Outcome change: the whole cohort, then only what happened in the last 30 days (one
    # measurement each, so nobody counts).
    cohort = {r[0]: r for r in await table(priya, "outcome-change")}
    assert cohort["k10"][2:7] == ["5", "40.0", "20.0", "-20.0", "5"]
    recent = f"?from={(today - timedelta(days=30)).isoformat()}"
    assert {r[0]: r for r in await table(priya, "outcome-change", recent)}["k10"][2] == "0"
    per_client = await table(priya, "outcome-by-client", dana)
    assert [r[1] for r in per_client[1:]] == ["D-001", "D-002", "D-005"]
    bad = await priya.get("/admin/dashboard?from=yesterday")
    assert bad.status_code == 200 and "is not a date" in bad.text


async def test_evaluator_sees_aggregates_only(harness: Harness, demo: Demo, panels: Any) -> None:
    await k10_twice(harness, demo)
    eve = await signed_in(panels, "eval-eve")
    assert (await eve.get("/admin/escalations")).status_code == 403
    assert (await eve.get(f"/admin/clients/{demo.clients['D-001']}")).status_code == 403
    page = await eve.get(f"/admin/dashboard?officer={demo.staff['dana']}")
    text = visible(page.text)
    assert page.status_code == 200 and "fewer than 5" in text
    for name in ("Dana", "Lee", "Sam", "Alex", "D-001", "Outcome change client by client"):
        assert name not in text, name
    rows = await table(eve, "referrals-by-officer", f"?officer={demo.staff['dana']}")
    # The officer filter is ignored (whole programme), officers lettered, 3 and 2 hidden.
    assert rows[0] == ["status", "Current status", "Officer A", "Officer B", "Overall",
                       "suppressed"]
    assert rows[-1] == ["total", "Total", "", "", "5", "Officer A; Officer B"]
    assert (await eve.get("/admin/dashboard/outcome-by-client.csv")).status_code == 404
    cohort = {r[0]: r for r in await table(eve, "outcome-change")}
    assert cohort["k10"][2:7] == ["5", "40.0", "20.0", "-20.0", "5"]  # five clients: shown
    assert cohort["barc10"][2] == "0"
    for slug in ("journey-funnel", "referrals-by-source", "escalations", "theft-avoided",
                 "checkin-response", "wellbeing", "feedback", "referrals-by-area"):
        body = "\n".join(",".join(r) for r in await table(eve, slug))
        for name in ("Dana", "Lee", "Sam", "Jo", "D-00"):
            assert name not in body, (slug, name)
