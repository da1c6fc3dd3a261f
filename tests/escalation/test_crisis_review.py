"""Why an alert fired (Telegram alert, queue card) and the review loop (officers mark a message
"should have alerted" or "false alarm"; supervisors list and export them), through the real
inbound path, python-telegram-bot, the fakes and the panel's forms."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness
from tests.escalation.test_escalation import DANA_CHAT, SAM, team

demo = demo_fixture
panels = panels_fixture

MEANS = "got 40 of my tablets <b>lined up</b> for tonight"


def _alerts_to_dana(harness: Harness) -> list[str]:
    return [m.params["text"] for m in harness.telegram.sent("sendMessage")
            if int(m.params["chat_id"]) == DANA_CHAT]


async def test_red_alert_on_telegram_says_why_in_plain_words(harness: Harness) -> None:
    await team(harness)
    await harness.sms(SAM, MEANS)
    await harness.settle()
    alerts = _alerts_to_dana(harness)
    assert alerts and "RED" in alerts[0]
    assert "Why: names a way to die or has the means" in alerts[0]
    assert "40 of my tablets" in alerts[0]
    finding = await harness.db.one("SELECT reason, detail FROM findings")
    assert finding["reason"] == "crisis_text" and "40 of my tablets" in finding["detail"]


async def test_sms_alert_never_carries_the_clients_words(harness: Harness) -> None:
    dana = await harness.add_officer("Dana Hughes", phone="+447700900101", chat=None)
    await harness.add_client(officer=dana, phone=SAM)
    await harness.sms(SAM, MEANS)
    await harness.settle()
    to_dana = [m.params["Body"] for m in harness.twilio.sent("messages.create")
               if m.params["To"] == "+447700900101"]
    assert to_dana and "RED" in to_dana[0]
    assert all("tablets" not in body and "Why" not in body for body in to_dana)


async def marked_crisis(harness: Harness, demo: Demo) -> tuple[int, int]:
    cid = await harness.add_client(ref="C-9", first_name="Robin", officer=demo.staff["dana"],
                                   phone=SAM)
    await harness.sms(SAM, MEANS)
    await harness.settle()
    inbound = int(await harness.db.value(
        "SELECT id FROM inbound WHERE client_id = ? AND body = ?", (cid, MEANS)))
    return cid, inbound


async def test_queue_card_shows_why_and_the_clients_words_escaped(
        harness: Harness, demo: Demo, panels: Any) -> None:
    await marked_crisis(harness, demo)
    dana = await signed_in(panels, "dana")
    html = (await dana.get("/admin/escalations")).text
    assert "<b>lined up</b>" not in html
    assert "got 40 of my tablets &lt;b&gt;lined up&lt;/b&gt; for tonight" in html
    assert "names a way to die or has the means" in html


# Polish, "I have the pills on me": a language's AMBER net, not a crisis frame.
POSSIBLE = "tabletki mam przy sobie"
POSSIBLE_WHY = 'possible crisis words in Polish: the screen was not sure ("tabletki")'


async def test_amber_possible_crisis_alert_on_telegram_says_why(harness: Harness) -> None:
    await team(harness)
    await harness.sms(SAM, POSSIBLE)
    await harness.settle()
    alerts = [text for text in _alerts_to_dana(harness) if "AMBER" in text]
    assert alerts and POSSIBLE_WHY in alerts[0]


async def test_queue_card_shows_why_for_a_possible_crisis(
        harness: Harness, demo: Demo, panels: Any) -> None:
    await harness.add_client(ref="C-9", first_name="Robin", officer=demo.staff["dana"],
                             phone=SAM)
    await harness.sms(SAM, POSSIBLE)
    await harness.settle()
    html = (await (await signed_in(panels, "dana")).get("/admin/escalations")).text
    assert "Possible crisis words (the screen was not sure)" in html
    assert POSSIBLE_WHY.replace('"', "&#34;") in html  # escaped like any client words
    assert POSSIBLE in html


async def test_officer_marks_messages_and_supervisor_reviews_and_exports(
        harness: Harness, demo: Demo, panels: Any) -> None:
    cid, crisis_in = await marked_crisis(harness, demo)
    await harness.sms(SAM, "feel like a ghost in my own life lately")
    await harness.settle()
    quiet_in = int(await harness.db.value(
        "SELECT id FROM inbound WHERE client_id = ? AND body LIKE 'feel like a ghost%'", (cid,)))
    dana = await signed_in(panels, "dana")
    page = (await dana.get(f"/admin/clients/{cid}")).text
    assert f"/admin/clients/{cid}/inbound/{quiet_in}/review" in page
    for inbound, verdict in ((quiet_in, "should_have_alerted"), (crisis_in, "false_alarm"),
                             (crisis_in, "false_alarm")):  # marking twice keeps one verdict
        r = await dana.post(f"/admin/clients/{cid}/inbound/{inbound}/review", {"verdict": verdict})
        assert r.status_code == 303
    r = await dana.post(f"/admin/clients/{cid}/inbound/{quiet_in}/review", {"verdict": "maybe"})
    assert r.status_code == 400
    rows = await harness.db.all("SELECT inbound_id, verdict, screened FROM crisis_reviews"
                                " ORDER BY inbound_id")
    assert [tuple(r) for r in rows] == sorted([(quiet_in, "should_have_alerted", "none"),
                                               (crisis_in, "false_alarm", "means")])
    assert (await dana.get("/admin/crisis-review")).status_code == 403

    priya = await signed_in(panels, "priya")
    listing = (await priya.get("/admin/crisis-review")).text
    assert "feel like a ghost in my own life lately" in listing and "Should have alerted" in listing
    assert "&lt;b&gt;lined up" in listing
    exported = (await priya.get("/admin/crisis-review?format=csv")).text.lstrip("\ufeff")
    table = list(csv.DictReader(io.StringIO(exported)))
    assert {(r["verdict"], r["screened_now"], r["client_ref"]) for r in table} == {
        ("should_have_alerted", "none", "C-9"), ("false_alarm", "means", "C-9")}
    tsv = (await priya.get("/admin/crisis-review?format=tsv")).text.splitlines()
    assert tsv[0] == "label\tcategory\ttext"
    assert "crisis\treview\tfeel like a ghost in my own life lately" in tsv
