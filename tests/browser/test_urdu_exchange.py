"""An Urdu exchange on the client page in a real browser: the client's words as written, read
right-to-left (dir="auto"), our English reply left-to-right, the language shown by name.
Screenshot: test-artifacts/desktop-client-urdu.png."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.demo import DEMO_PASSWORD
from tests.browser.conftest import CHROMIUM, LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

URDU = "آج میں ٹھیک ہوں، شکریہ"
REPLY = "Thank you. Your officer will read this."


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_urdu_exchange_reads_right_to_left(desktop: Any, live_server: LiveServer,
                                           artifacts: Path) -> None:
    sam = live_server.ids["sam"]
    now = datetime.now(UTC)
    with sqlite3.connect(live_server.db_path) as conn:
        conn.execute("UPDATE clients SET language = 'ur_PK' WHERE id = ?", (sam,))
        conn.execute(
            "INSERT INTO inbound (channel, provider_id, address, body, client_id, received_at,"
            " status) VALUES ('sim', 'sim-urdu-1', 'client-d-001', ?, ?, ?, 'processed')",
            (URDU, sam, (now - timedelta(minutes=2)).isoformat()))
        conn.execute(
            "INSERT INTO outbox (channel, address, client_id, body, status, next_attempt_at,"
            " created_at, sent_at, updated_at) VALUES ('sim', 'client-d-001', ?, ?, 'sent',"
            " ?, ?, ?, ?)", (sam, REPLY, *[(now - timedelta(minutes=1)).isoformat()] * 4))
    page = desktop
    page.goto(live_server.url + "/admin/login")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/**")
    page.goto(f"{live_server.url}/admin/clients/{sam}")
    urdu = page.locator("span.body", has_text=URDU).first
    reply = page.locator("span.body", has_text=REPLY).first
    assert urdu.is_visible() and reply.is_visible()
    assert urdu.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert reply.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert "Urdu (Pakistan)" in page.content()
    box = page.locator("textarea#text")
    box.fill("Hello Sam")
    assert page.locator("#text-count").inner_text() == "9 characters, GSM-7: 1 SMS"
    box.fill("ا" * 71)
    assert page.locator("#text-count").inner_text() == "71 characters, UCS-2: 2 SMS (67 characters each)"
    box.fill(URDU)
    urdu.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "desktop-client-urdu.png"), full_page=True)
