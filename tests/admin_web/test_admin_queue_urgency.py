"""The queue shows urgency: the deadline in words and colour, overdue after it passes, what the
client wrote (escaped), plain words instead of codes; and it refreshes itself (the poll)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from admin_web.urgency import urgency
from bot.core.clock import iso
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture

XSS = "<script>alert(1)</script>"
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def test_urgency_in_words() -> None:
    at = iso(NOW + timedelta(minutes=40))
    assert urgency("notified", 0, at, "ack_deadline", NOW, "Europe/London").words \
        == "Acknowledge by 14:40 (40 min left)"
    soon = urgency("notified", 0, iso(NOW + timedelta(minutes=10)), "ack_deadline", NOW,
                   "Europe/London")
    assert soon.state == "due_soon" and soon.words.startswith("Due soon: acknowledge by 14:10")
    late = urgency("open", 0, iso(NOW - timedelta(minutes=75)), "ack_deadline", NOW,
                   "Europe/London")
    assert (late.state, late.words) == ("overdue",
                                        "Overdue by 1 h 15 min: acknowledge was due at 12:45")
    passed = urgency("notified", 2, at, "ack_deadline", NOW, "Europe/London")
    assert passed.state == "overdue" and "passed on to the next in line" in passed.words
    taken = urgency("acknowledged", 1, at, "followup_deadline", NOW, "Europe/London")
    assert (taken.state, taken.words) == ("on_time", "Resolve or update by 14:40 (40 min left)")
    assert urgency("resolved", 0, at, "ack_deadline", NOW, "Europe/London").state == "none"
    assert urgency("open", 0, None, None, NOW, "Europe/London").words == ""
    summer = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert "by 10:30" in urgency("open", 0, iso(summer + timedelta(minutes=30)),
                                 "ack_deadline", summer, "Europe/London").words  # BST


async def red_from_message(h: Harness, client_id: int, body: str) -> int:
    from bot.escalation.findings import raise_finding

    async def work(tx: Any) -> int:
        inbound = await tx.execute(
            "INSERT INTO inbound (channel, provider_id, address, body, client_id, received_at,"
            " status) VALUES ('sim', ?, 'client-x', ?, ?, ?, 'processed')",
            (f"sim-{body[:8]}-{client_id}", body, client_id, iso(h.clock.now())))
        await raise_finding(tx, h.clock.now(), client_id, "RED", "crisis_text",
                            source="answer", detail="says they want to end it",
                            inbound_id=inbound)
        return int(await tx.value("SELECT id FROM escalations WHERE client_id = ? AND"
                                  " reason = 'crisis_text'", (client_id,)))

    return int(await h.write(work))


async def test_a_card_shows_the_deadline_then_overdue_and_the_clients_words(
        harness: Harness, demo: Demo, panels: Any) -> None:
    sam = demo.clients["D-001"]
    esc = await red_from_message(harness, sam, f"cant go on {XSS}")
    await harness.settle()
    dana = await signed_in(panels, "dana")
    page = (await dana.get("/admin/escalations")).text
    card = page[page.index(f'id="esc-{esc}"'):]
    card = card[:card.index("</article>")]
    assert re.search(r"(Acknowledge by|Due soon: acknowledge by) \d\d:\d\d \(\d+ min left\)",
                     card), card
    assert "Sam wrote:" in card and "cant go on &lt;script&gt;" in card and XSS not in card
    assert "What fired:</strong> says they want to end it" in card
    assert "from a message or answer" in card and "source answer" not in card
    deadline = harness.service.settings.ack_deadlines["red"]
    await harness.advance(deadline + timedelta(minutes=1))
    page = (await dana.get("/admin/escalations")).text
    card = page[page.index(f'id="esc-{esc}"') - 250:]
    card = card[:card.index("</article>")]
    assert "urg-overdue" in card and "Overdue" in card  # in words, not colour alone
    assert "passed on (step " in card and "level" not in card


async def test_the_queue_page_refreshes_itself_when_a_red_arrives(
        harness: Harness, demo: Demo, panels: Any) -> None:
    from tests.admin_web.support import raise_amber

    sam, jo = demo.clients["D-001"], demo.clients["D-002"]
    await raise_amber(harness, sam)
    dana = await signed_in(panels, "dana")
    page = (await dana.get("/admin/escalations")).text
    assert '<script src="/admin/static/queue.js" defer></script>' in page
    version = re.search(r'data-version="(\w+)" data-red="0"', page)
    assert version
    poll = {"X-O2R-Poll": "1"}
    same = (await dana.get("/admin/escalations", headers=poll)).text
    assert f'data-version="{version.group(1)}" data-red="0"' in same
    await red_from_message(harness, jo, "im done with it all")
    fresh = (await dana.get("/admin/escalations", headers=poll)).text
    assert f'data-version="{version.group(1)}"' not in fresh and 'data-red="1"' in fresh
    assert "im done with it all" in fresh
    # A poll leaves the person's one-time message for their next real view.
    await dana.post(f"/admin/clients/{sam}/note", {"body": "rang, no answer"})
    assert "Note saved." not in (await dana.get("/admin/escalations", headers=poll)).text
    assert "Note saved." in (await dana.get("/admin/escalations")).text
    script = await dana.get("/admin/static/queue.js")
    assert script.status_code == 200 and "X-O2R-Poll" in script.text


async def test_polling_does_not_keep_an_idle_session_alive(harness: Harness, demo: Demo,
                                                           panels: Any) -> None:
    from admin_web.sessions import token_hash

    dana = await signed_in(panels, "dana")
    assert dana.session
    key = token_hash(dana.session)
    earlier = iso(datetime.now(UTC) - timedelta(minutes=10))
    await harness.write(lambda tx: tx.execute(
        "UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ?", (earlier, key)))
    polled = await dana.get("/admin/escalations", headers={"X-O2R-Poll": "1"})
    assert polled.status_code == 200
    assert await harness.db.value("SELECT last_seen_at FROM admin_sessions WHERE id_hash = ?",
                                  (key,)) == earlier
    await dana.get("/admin/escalations")
    assert await harness.db.value("SELECT last_seen_at FROM admin_sessions WHERE id_hash = ?",
                                  (key,)) > earlier
