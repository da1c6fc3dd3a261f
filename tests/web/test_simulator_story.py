"""The simulator tells the whole story (issue 16): the README's headline demo through /sim.
Sam says "I can't go on"; Dana's simulated phone shows the alert with its buttons and
"Reply ACK n"; pressing Acknowledge acts, the alert shows its edited text, the press and the
button's answer appear in the transcript, and typed commands stay in it too."""

from __future__ import annotations

import re

from bot.demo import seed_demo
from tests.conftest import Harness


async def page(h: Harness, address: str) -> str:
    r = await h.client.get(f"/sim?address={address}")
    assert r.status_code == 200
    return r.text


async def test_headline_demo_in_the_simulator(harness: Harness) -> None:
    h = harness
    await seed_demo(h.db, h.clock.now())
    r = await h.client.post("/sim/send", data={"address": "client-d-001",
                                                "text": "I can't go on"})
    assert r.status_code == 303
    await h.settle()
    dana = await page(h, "officer-dana")
    esc = await h.db.one("SELECT id, status FROM escalations WHERE severity = 'RED'")
    assert esc is not None and esc["status"] == "notified"
    assert f"Reply ACK {esc['id']} to acknowledge." in dana
    assert re.search(rf'name="data" value="ack:{esc["id"]}"', dana), "the Acknowledge button"
    r = await h.client.post("/sim/press", data={"address": "officer-dana",
                                                 "data": f"ack:{esc['id']}"})
    assert r.status_code == 303
    await h.settle()
    assert await h.db.value("SELECT status FROM escalations WHERE id = ?",
                            (esc["id"],)) == "acknowledged"
    dana = await page(h, "officer-dana")
    assert f"[pressed ack:{esc['id']}]" in dana
    assert "· edited" in dana and "[button answer]" in dana
    assert not re.search(rf'name="data" value="ack:{esc["id"]}"', dana), "buttons go with the edit"
    # A typed command shows in the transcript with its answer.
    await h.client.post("/sim/send", data={"address": "officer-dana", "text": "/open"})
    await h.settle()
    assert "/open" in await page(h, "officer-dana")


async def test_a_press_needs_an_address_and_data(harness: Harness) -> None:
    r = await harness.client.post("/sim/press", data={"address": "bad address!", "data": "x"})
    assert r.status_code == 400
    r = await harness.client.post("/sim/press", data={"address": "officer-dana", "data": ""})
    assert r.status_code == 400
