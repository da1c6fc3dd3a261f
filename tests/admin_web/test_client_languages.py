"""The client page shows the client's language by name and their words as written, right-to-left
where the script is (dir="auto" on every message body)."""

from __future__ import annotations

from typing import Any

from bot.core.clock import iso
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture


async def test_urdu_words_shown_as_written_with_dir_auto(
        harness: Harness, demo: Demo, panels: Any) -> None:
    sam = demo.clients["D-001"]
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET language = 'ur_PK' WHERE id = ?", (sam,)))
    await harness.write(lambda tx: tx.execute(
        "INSERT INTO inbound (channel, provider_id, address, body, client_id, received_at,"
        " status) VALUES ('sms', 'SMur1', '+447700900555', ?, ?, ?, 'processed')",
        ("آج میں ٹھیک ہوں، شکریہ", sam, iso(harness.clock.now()))))
    page = (await (await signed_in(panels, "dana")).get(f"/admin/clients/{sam}")).text
    assert '<span class="body" dir="auto">آج میں ٹھیک ہوں، شکریہ</span>' in page
    assert "Urdu (Pakistan) (ur_PK)" in page
