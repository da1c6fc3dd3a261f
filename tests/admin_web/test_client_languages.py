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


async def test_each_message_shows_its_language_in_words(
        harness: Harness, demo: Demo, panels: Any) -> None:
    """A client's words get a guessed language once, on arrival; a text from a catalog
    records the catalog it was rendered from (English when the translation is unreviewed)."""
    phone = "+447700900132"
    sam = await harness.add_client(ref="C-132", first_name="Imran", phone=phone,
                                   officer=demo.staff["dana"])
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET language = 'ur_PK' WHERE id = ?", (sam,)))
    await harness.sms(phone, "aaj bohat mushkil din tha yaar, kal milte hain")
    await harness.sms(phone, "dzis jest lepiej, dzieki")
    await harness.sms(phone, "LANGUAGE")
    await harness.settle()
    guesses = [r["language"] for r in await harness.db.all(
        "SELECT language FROM inbound WHERE client_id = ? ORDER BY id", (sam,))]
    assert guesses[-3:] == ["ur-Latn", "pl", "en"]
    menu = await harness.db.one("SELECT language FROM outbox WHERE client_id = ?"
                                " AND message_key = 'language.menu'", (sam,))
    assert menu["language"] == "en_GB"  # the Urdu draft is unreviewed: sent in English
    page = (await (await signed_in(panels, "dana")).get(f"/admin/clients/{sam}")).text
    assert "looks like Urdu (romanised)" in page and "looks like Polish" in page
    assert " · English</span>" in page
