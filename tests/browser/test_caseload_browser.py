"""Running a caseload in a real browser: add a client, change the check-in time and see the
check-ins re-planned, and the escalation queue refreshing by itself when a RED arrives; at
desktop and phone (390 px) sizes. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import parse_iso
from tests.browser.conftest import CHROMIUM, LiveServer, _in_own_loop
from tests.browser.test_admin_browser import DESKTOP, no_sideways_scroll, shot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture(params=["desktop", "phone"])
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    size = request.param
    context = browser.new_context(viewport=DESKTOP) if size == "desktop" else \
        browser.new_context(viewport=PHONE_390, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page(), size
    context.close()


def checkin_times(db_path: Path, ref: str) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT t.due_at FROM timers t JOIN clients c ON c.id = t.client_id"
            " WHERE c.ref = ? AND t.kind = 'checkin' AND t.status = 'pending'", (ref,)).fetchall()
    london = ZoneInfo("Europe/London")
    return {parse_iso(r[0]).astimezone(london).strftime("%H:%M") for r in rows}


def test_add_a_client_then_move_their_checkin_time(page: tuple[Any, str], live_server: LiveServer,
                                                   artifacts: Path) -> None:
    page_, size = page
    ref = f"B-{size[:3].upper()}"
    sign_in(page_, live_server, "dana")
    page_.goto(live_server.url + "/admin/clients")
    page_.get_by_role("link", name="Add a client").click()
    page_.get_by_label("Reference").fill(ref)
    page_.get_by_label("First name").fill("Robin")
    page_.get_by_label("Mobile number (optional)").fill(
        "07700 900401" if size == "desktop" else "07700 900402")
    page_.get_by_label("Referral source").select_option(label="Probation")
    page_.get_by_label("Stage").select_option(label="Engagement")  # check-ins from engagement
    page_.get_by_label("I explained the programme's messages").check()
    shot(page_, artifacts, f"{size}-add-client-form")
    assert no_sideways_scroll(page_)
    page_.get_by_role("button", name="Add client").click()
    page_.wait_for_load_state()
    assert f"Client {ref} added." in page_.get_by_role("status").inner_text()
    assert checkin_times(live_server.db_path, ref)  # planned at once for a consented client

    form = page_.locator("form#settings")
    form.get_by_label("Daily check-in time").fill("20:15")
    form.get_by_role("button", name="Save profile").click()
    page_.wait_for_load_state()
    assert "Profile saved: check-in time." in page_.get_by_role("status").inner_text()
    assert "20:15" in checkin_times(live_server.db_path, ref)
    assert page_.locator("form#settings").get_by_label("Daily check-in time") \
        .input_value() == "20:15"
    shot(page_, artifacts, f"{size}-client-profile-saved")
    assert no_sideways_scroll(page_)


async def _red_for(db_path: Path, ref: str, words: str) -> None:
    from bot.core.clock import SystemClock, iso
    from bot.core.db import Database
    from bot.escalation.findings import raise_finding
    from config.settings import Settings

    settings = Settings(db_path=db_path, public_url=None, timezone="Europe/London", mode="demo",
                        simulator=True, secret_key="browser-test-secret-" + "x" * 20)
    async with Database(db_path, settings) as db:
        # The demo service runs on its stored simulated clock (demo_clock): raise it "now" there.
        offset = await db.value("SELECT offset_seconds FROM demo_clock WHERE id = 1") or 0
        now = SystemClock().now() + timedelta(seconds=float(offset))

        async def work(tx: Any) -> None:
            cid = await tx.value("SELECT id FROM clients WHERE ref = ?", (ref,))
            inbound = await tx.execute(
                "INSERT INTO inbound (channel, provider_id, address, body, client_id,"
                " received_at, status) VALUES ('sim', ?, 'client-x', ?, ?, ?, 'processed')",
                (f"sim-red-{ref}", words, cid, iso(now)))
            await raise_finding(tx, now, cid, "RED", "crisis_text", source="answer",
                                detail="talks of ending their life", inbound_id=inbound)

        await db.write(work)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_queue_refreshes_itself_when_a_red_arrives(browser: Any, live_server: LiveServer,
                                                       artifacts: Path, size: str) -> None:
    context = browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE_390)
    context.set_default_timeout(10_000)
    page_ = context.new_page()
    page_.clock.install()
    try:
        sign_in(page_, live_server, "dana")
        page_.goto(live_server.url + "/admin/escalations")
        ref = "D-002" if size == "desktop" else "D-005"
        first = page_.locator("article.esc").count()
        assert page_.locator(f"article.esc:has-text('{ref}')").count() == 0 or size == "phone"
        _in_own_loop(_red_for(live_server.db_path, ref, f"cant do this anymore {size}"))
        page_.clock.run_for(16_000)  # one poll interval, without a reload
        card = page_.locator("article.esc", has_text=f"cant do this anymore {size}")
        card.wait_for()
        assert page_.locator("article.esc").count() == first + 1
        assert "RED" in card.inner_text() and "acknowledge by" in card.inner_text().lower()
        assert "RED open" in page_.locator("#queue-live").inner_text()
        assert page_.title().startswith("(")
        shot(page_, artifacts, f"{size}-queue-live-red")
        assert no_sideways_scroll(page_)
    finally:
        context.close()
