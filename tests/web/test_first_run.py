"""First run (issue 16): `/` says where to go, the start-up lines name the panel, the simulator
and (in demo) the logins, and a simulator clock jump lives through each day in turn."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx

from bot.app import create_app
from bot.cli import startup_lines
from tests import conftest
from tests.conftest import T0, Harness


async def test_root_redirects_to_the_panel_in_production(harness: Harness) -> None:
    r = await harness.client.get("/")
    assert r.status_code == 302 and r.headers["location"] == "/admin/"


async def test_root_is_a_landing_page_in_demo(tmp_path: Path) -> None:
    app = create_app(conftest.test_settings(tmp_path / "demo.db", None, None, mode="demo"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8000") as client:
        r = await client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for needle in ('href="/sim"', 'href="/admin/"', "<code>dana</code> (officer)",
                   "demo-password-only", "I can&#x27;t go on"):
        assert needle in r.text or needle.replace("&#x27;", "'") in r.text, needle


def test_startup_lines_name_both_urls_and_the_demo_logins(tmp_path: Path) -> None:
    prod = conftest.test_settings(tmp_path / "a.db", None, None)
    text = startup_lines(prod, "127.0.0.1", 8000)
    assert "http://127.0.0.1:8000/admin/" in text and "http://127.0.0.1:8000/sim" in text
    assert "password" not in text
    demo = startup_lines(replace(prod, mode="demo", simulator=False), "0.0.0.0", 9000)
    assert "http://0.0.0.0:9000/admin/" in demo and "/sim" not in demo
    assert "dana, lee, priya, admin; password demo-password-only" in demo


async def test_a_two_day_jump_in_the_simulator_sends_each_days_checkin(harness: Harness) -> None:
    h = harness
    await h.add_client()
    r = await h.client.post("/sim/advance", data={"minutes": str(2 * 24 * 60)})
    assert r.status_code == 303
    await h.settle()
    days = await h.db.all("SELECT substr(sent_at, 1, 10) FROM outbox WHERE status = 'sent'"
                          " AND message_key = 'checkin.happy' GROUP BY 1 ORDER BY MIN(id)")
    # Thursday's and Friday's check-ins (Wednesday's was not planned: the client came after
    # the day's plan). As downtime (one tick at the end) Thursday's would have been skipped.
    assert [d[0] for d in days] == ["2026-11-26", "2026-11-27"]
    assert h.clock.now() == T0 + timedelta(days=2)
