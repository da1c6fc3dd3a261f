"""Nothing a client says goes unseen (issue 11): through signed webhooks, the real dispatcher and
the fake providers, with a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.messaging import officer_message
from tests.conftest import Harness

SAM = "+447700900123"
# 23:41 on a winter weekday (GMT = UTC): inside the default quiet hours 21:00-08:00.
LATE = datetime(2026, 11, 25, 23, 41, tzinfo=UTC)


def bodies_to(h: Harness, number: str) -> list[str]:
    return [m["body"] for m in h.twilio.messages(to=number)]


async def test_held_officer_message_does_not_block_replies_behind_it(harness: Harness) -> None:
    cid = await harness.add_client()
    harness.clock.set(LATE)
    await harness.write(lambda tx: officer_message(tx, harness.clock.now(), cid,
                                                   "Call me tomorrow about Friday", "cli"))
    await harness.settle()
    assert bodies_to(harness, SAM) == []  # held for quiet hours

    await harness.sms(SAM, "ok will do")
    await harness.settle()
    await harness.sms(SAM, "STOP")
    await harness.settle()
    await harness.sms(SAM, "START")
    await harness.settle()
    sent = bodies_to(harness, SAM)
    # Three replies, at once and in the order written; the officer's words are still held.
    assert len(sent) == 3, sent
    assert not any("Friday" in b for b in sent)
    rows = await harness.db.all(
        "SELECT message_key FROM outbox WHERE address = ? AND status = 'sent' ORDER BY sent_at, id",
        (SAM,))
    keys = [r[0] for r in rows]
    assert keys[1:] == ["optout.confirm", "optin.confirm"], keys

    await harness.advance(timedelta(hours=8, minutes=20))  # 08:01
    sent = bodies_to(harness, SAM)
    assert len(sent) == 4 and "Friday" in sent[-1]


async def test_unprompted_risk_text_at_night_is_filed_alerted_and_answered_truly(
        harness: Harness) -> None:
    cid = await harness.add_client()
    harness.clock.set(LATE)
    await harness.sms(SAM, "cant sleep, thinking about using")
    await harness.settle()
    row = await harness.db.one(
        "SELECT inbox, inbox_staff_id, read_at FROM inbound WHERE client_id = ?", (cid,))
    assert row["inbox"] == "outside_flow" and row["read_at"] is None
    # An AMBER risk-language escalation through the usual loop.
    esc = await harness.db.one("SELECT severity, reason, status FROM escalations"
                               " WHERE client_id = ?", (cid,))
    assert (esc["severity"], esc["reason"]) == ("AMBER", "risk_language")
    reply = bodies_to(harness, SAM)[-1]
    assert "Dana will read your message after 08:00 tomorrow" in reply
    assert "999" in reply and "116 123" in reply
    # The officer's morning digest at the next opening lists the unread message.
    officer = "+447700900101"
    before = len(bodies_to(harness, officer))
    await harness.advance(timedelta(hours=8, minutes=20))
    digest = [b for b in bodies_to(harness, officer)[before:] if "unread client messages" in b]
    assert len(digest) == 1 and "C-1 Sam: 1" in digest[0]


async def test_unprompted_text_in_working_hours_tells_the_officer_now(harness: Harness) -> None:
    cid = await harness.add_client()
    await harness.sms(SAM, "can we move thursday")
    await harness.settle()
    reply = bodies_to(harness, SAM)[-1]
    assert "Dana will read your message today" in reply and "999" not in reply
    notices = [b for b in bodies_to(harness, "+447700900101") if "New message from C-1 Sam" in b]
    assert len(notices) == 1 and "can we move" not in notices[0]
    assert await harness.db.value("SELECT COUNT(*) FROM escalations WHERE client_id = ?",
                                  (cid,)) == 0


# Every kind of message is read or shown ----------------------------------------------------

CHAT = 5701


def tg_update(h: Harness, text: str | None = None, *, caption: str | None = None,
              edited: bool = False, **media: object) -> dict[str, object]:
    from tests.fakes.telegram_api import make_text_update

    update = make_text_update(next(h._ids), CHAT, text or "")
    msg = update.pop("message")
    if text is None:
        del msg["text"]
    if caption is not None:
        msg["caption"] = caption
    msg.update(media)
    update["edited_message" if edited else "message"] = msg
    return update


async def red_escalations(h: Harness, cid: int) -> int:
    return int(await h.db.value("SELECT COUNT(*) FROM escalations WHERE client_id = ?"
                                " AND severity = 'RED'", (cid,)))


async def test_a_photo_caption_is_screened_like_text(harness: Harness) -> None:
    cid = await harness.add_client(phone=None, chat=CHAT)
    photo = [{"file_id": "small-1", "width": 90, "height": 90},
             {"file_id": "large-1", "width": 800, "height": 800}]
    r = await harness.tg(tg_update(harness, caption="I want to kill myself", photo=photo))
    assert r.status_code == 200
    await harness.settle()
    assert await red_escalations(harness, cid) == 1
    row = await harness.db.one("SELECT body, kind, inbox, payload FROM inbound")
    assert row["body"] == "I want to kill myself" and row["kind"] == "text"
    assert row["inbox"] == "media" and "large-1" in row["payload"]


async def test_an_edited_message_is_screened_again(harness: Harness) -> None:
    cid = await harness.add_client(phone=None, chat=CHAT)
    await harness.tg(tg_update(harness, "ok"))
    await harness.tg(tg_update(harness, "I want to end it all", edited=True))
    await harness.settle()
    assert await red_escalations(harness, cid) == 1


async def test_a_voice_note_reaches_the_inbox_and_gets_one_short_reply(harness: Harness) -> None:
    cid = await harness.add_client(phone=None, chat=CHAT)
    await harness.tg(tg_update(harness, voice={"file_id": "voice-1", "duration": 4}))
    await harness.settle()
    row = await harness.db.one("SELECT kind, inbox, status FROM inbound WHERE client_id = ?",
                               (cid,))
    assert tuple(row) == ("media", "media", "processed")
    replies = [m["text"] for m in harness.telegram.messages(CHAT)]
    assert len(replies) == 1 and "only reads text" in replies[0] and "999" in replies[0]


async def test_an_mms_picture_is_stored_and_its_text_routed(harness: Harness) -> None:
    cid = await harness.add_client()
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1"
    await harness.sms(SAM, "", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    await harness.sms(SAM, "thinking about using again", NumMedia="1", MediaUrl0=url,
                      MediaContentType0="image/jpeg")
    await harness.settle()
    rows = await harness.db.all("SELECT kind, inbox, payload FROM inbound WHERE client_id = ?"
                                " ORDER BY id", (cid,))
    assert [(r["kind"], r["inbox"]) for r in rows] == [("media", "media"),
                                                      ("text", "outside_flow")]
    assert all(url in r["payload"] for r in rows)
    esc = await harness.db.value("SELECT reason FROM escalations WHERE client_id = ?", (cid,))
    assert esc == "risk_language"


# The client page's timeline in true order --------------------------------------------------

async def test_client_timeline_shows_each_answer_under_its_question(harness: Harness) -> None:
    """The clock stands still, so the question, the answer and the next question share a
    timestamp: the page must still read question, answer, question."""
    from bot.conversation import start_flow
    from tests.admin_web.support import Panel, seed

    demo = await seed(harness)
    sam = demo.clients["D-001"]
    await harness.write(lambda tx: start_flow(tx, harness.clock.now(), sam, "daily_checkin",
                                              officer_started=True, cause="test"))
    for answer in ("7", "3"):
        r = await harness.client.post("/sim/send", data={"address": "client-d-001",
                                                         "text": answer})
        assert r.status_code == 303
    await harness.settle()
    panel = Panel(harness)
    try:
        assert (await panel.login("dana")).status_code == 303
        html = (await panel.get(f"/admin/clients/{sam}")).text
    finally:
        await panel.close()
    timeline = html[html.index('id="messages"'):]
    happy = timeline.index("how happy")
    seven = timeline.index("dir=\"auto\">7")
    anxious = timeline.index("how anxious")
    three = timeline.index("dir=\"auto\">3")
    assert happy < seven < anxious < three
    third = timeline[three:].index('class="out')  # the next question follows the answer
    assert third > 0


# The loop closes for everyone ----------------------------------------------------------------

DANA, PRIYA = "+447700900101", "+447700900102"


async def test_everyone_alerted_by_sms_hears_who_took_it_and_resends_say_why(
        harness: Harness) -> None:
    cid = await harness.add_client()
    await harness.add_officer("Priya Shah", PRIYA, role="supervisor")
    await harness.sms(SAM, "I want to end it all")
    await harness.settle()
    esc = int(await harness.db.value("SELECT id FROM escalations WHERE client_id = ?", (cid,)))
    assert any(f"#{esc}" in b for b in bodies_to(harness, PRIYA))  # RED: supervisor at once
    await harness.sms(DANA, f"ACK {esc}")
    await harness.settle()
    taken = [b for b in bodies_to(harness, PRIYA) if "was taken by Dana Hughes" in b]
    assert len(taken) == 1 and f"#{esc}" in taken[0]
    assert not [b for b in bodies_to(harness, DANA) if "was taken by" in b]


async def test_a_resend_says_how_long_and_why(harness: Harness) -> None:
    await harness.add_client()
    await harness.add_officer("Priya Shah", PRIYA, role="supervisor")
    await harness.sms(SAM, "I want to end it all")
    await harness.settle()
    before = len(bodies_to(harness, PRIYA))
    await harness.advance(timedelta(minutes=16))
    again = bodies_to(harness, PRIYA)[before:]
    assert any("Not acknowledged after 16 min - you are next in the chain" in b for b in again)


async def test_could_not_reach_keeps_a_red_open_with_a_new_deadline(harness: Harness) -> None:
    from bot.escalation.alerts import resolve

    cid = await harness.add_client()
    dana = int(await harness.db.value("SELECT officer_id FROM clients WHERE id = ?", (cid,)))
    await harness.add_officer("Priya Shah", PRIYA, role="supervisor")
    await harness.sms(SAM, "I want to end it all")
    await harness.settle()
    esc = int(await harness.db.value("SELECT id FROM escalations WHERE client_id = ?", (cid,)))
    await harness.write(lambda tx: resolve(tx, harness.clock.now(), esc, dana,
                                           "Could not reach the client: still trying"))
    row = await harness.db.one("SELECT status, outcome FROM escalations WHERE id = ?", (esc,))
    assert row["status"] == "acknowledged"  # not closed
    before = len(bodies_to(harness, DANA))
    await harness.advance(timedelta(minutes=16))
    assert await harness.db.value("SELECT status FROM escalations WHERE id = ?",
                                  (esc,)) == "notified"
    again = bodies_to(harness, DANA)[before:]
    assert any("Still open after 16 min" in b and "still trying" in b for b in again)
    # A closing outcome ends it.
    await harness.write(lambda tx: resolve(tx, harness.clock.now(), esc, dana,
                                           "Spoke to the client: safe for now"))
    assert await harness.db.value("SELECT status FROM escalations WHERE id = ?",
                                  (esc,)) == "resolved"


async def test_the_officer_opens_a_voice_note_in_the_panel(harness: Harness) -> None:
    from tests.admin_web.support import Panel, seed

    demo = await seed(harness)
    cid = await harness.add_client(ref="C-9", officer=demo.staff["dana"], phone=None, chat=CHAT)
    harness.telegram.files["voice-9"] = b"OggS-invented-voice-note"
    await harness.tg(tg_update(harness, voice={"file_id": "voice-9", "duration": 3}))
    await harness.settle()
    dana, lee = Panel(harness), Panel(harness)
    try:
        assert (await dana.login("dana")).status_code == 303
        nav = (await dana.get("/admin/inbox")).text
        assert "Inbox (1)" in nav and "a photo, voice note or file" in nav
        page = (await dana.get(f"/admin/clients/{cid}")).text
        link = page[page.index("/admin/inbox/"):].split('"')[0]
        assert link.endswith("/media/0") and "open voice note" in page
        got = await dana.get(link)
        assert got.status_code == 200 and got.content == b"OggS-invented-voice-note"
        # Another officer's client: 404, whatever the id.
        assert (await lee.login("lee")).status_code == 303
        assert (await lee.get(link)).status_code == 404
        # Mark as read: the count goes.
        inbound = int(link.split("/")[3])
        assert (await dana.post(f"/admin/inbox/{inbound}/read")).status_code == 303
        assert "Inbox (1)" not in (await dana.get("/admin/inbox")).text
    finally:
        await dana.close()
        await lee.close()


# A crisis from an unknown number is an escalation ------------------------------------------

NEW_PHONE = "+447700900456"


LEE_CHAT = 5802


async def _on_duty(h: Harness, staff_id: int) -> None:
    from bot.core.rota import add_duty

    now = h.clock.now()
    await h.write(lambda tx: add_duty(tx, now, staff_id, "duty_officer", now - timedelta(hours=1),
                                      now + timedelta(hours=12), "test"))


async def _stranger_escalation(h: Harness) -> dict[str, object]:
    row = await h.db.one("SELECT * FROM escalations WHERE client_id IS NULL")
    assert row is not None
    return dict(row)


async def test_unknown_number_crisis_is_a_red_escalation_with_the_full_chain(
        harness: Harness) -> None:
    await harness.add_client()  # Dana's client: Dana is not told about a stranger
    await harness.add_officer("Priya Shah", PRIYA, role="supervisor")
    lee = await harness.add_officer("Lee Parker", None, chat=LEE_CHAT)
    await _on_duty(harness, lee)
    await harness.sms(NEW_PHONE, "I want to kill myself")
    await harness.settle()
    assert any("999" in b for b in bodies_to(harness, NEW_PHONE))  # crisis contacts at once
    esc = await _stranger_escalation(harness)
    inbound = await harness.db.value("SELECT id FROM inbound WHERE address = ?", (NEW_PHONE,))
    assert (esc["severity"], esc["reason"], esc["status"], esc["inbound_id"]) == (
        "RED", "crisis_text", "notified", inbound)
    eid = esc["id"]
    # The duty officer (Telegram, with buttons) and every supervisor (SMS, ACK n), at once.
    sms_alert = [b for b in bodies_to(harness, PRIYA) if f"RED alert #{eid}" in b]
    assert len(sms_alert) == 1 and "unknown number +44…0456" in sms_alert[0]
    assert f"ACK {eid}" in sms_alert[0]
    tg_alert = [m for m in harness.telegram.messages(chat_id=LEE_CHAT)
                if f"RED alert #{eid}" in m["text"]]
    assert len(tg_alert) == 1
    assert not any(f"#{eid}" in b for b in bodies_to(harness, DANA))
    # The RED deadline passes: the chain is told again, saying how long it waited.
    await harness.advance(timedelta(minutes=16))
    assert any("Not acknowledged after 16 min" in b for b in bodies_to(harness, PRIYA))
    # Acknowledged with the Telegram button like any other alert.
    r = await harness.tg_callback(LEE_CHAT, f"ack:{eid}", tg_alert[0]["message_id"])
    assert r.status_code == 200
    await harness.settle()
    row = await harness.db.one("SELECT status, acknowledged_by, ack_method FROM escalations"
                               " WHERE id = ?", (eid,))
    assert tuple(row) == ("acknowledged", lee, "telegram_button")
    assert any(f"#{eid}" in b and "was taken by Lee Parker" in b
               for b in bodies_to(harness, PRIYA))
    # No more repeats once a person has it.
    before = len(bodies_to(harness, PRIYA))
    await harness.advance(timedelta(minutes=45))
    assert not [b for b in bodies_to(harness, PRIYA)[before:] if f"#{eid}" in b]


async def test_linking_the_number_files_the_strangers_escalation_under_the_client(
        harness: Harness) -> None:
    from admin_web.actions import link_number

    cid = await harness.add_client()
    dana = int(await harness.db.value("SELECT officer_id FROM clients WHERE id = ?", (cid,)))
    await harness.add_officer("Priya Shah", PRIYA, role="supervisor")
    await harness.sms(NEW_PHONE, "I want to kill myself")
    await harness.sms(NEW_PHONE, "please")  # more words: the same escalation, not a second
    await harness.sms(NEW_PHONE, "I can't go on")
    await harness.settle()
    eid = (await _stranger_escalation(harness))["id"]
    assert await harness.db.value("SELECT COUNT(*) FROM escalations") == 1
    await harness.write(lambda tx: link_number(tx, harness.clock.now(), cid, "sms", NEW_PHONE,
                                               "test"))
    await harness.settle()
    # The same row, now the client's, and the client's own officer is alerted.
    rows = await harness.db.all("SELECT id, client_id, officer_id, severity, status"
                                " FROM escalations")
    assert [tuple(r) for r in rows] == [(eid, cid, dana, "RED", "notified")]
    assert any(f"RED alert #{eid}: C-1 Sam" in b for b in bodies_to(harness, DANA))
    assert await harness.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ? AND"
                                  " escalation_id = ?", (cid, eid)) == 1
    # ACK n by SMS, as for any alert.
    await harness.sms(PRIYA, f"ACK {eid}")
    await harness.settle()
    row = await harness.db.one("SELECT status, ack_method FROM escalations WHERE id = ?", (eid,))
    assert tuple(row) == ("acknowledged", "sms")


async def test_a_strangers_crisis_in_the_queue_and_on_unmatched_for_duty_and_supervisors(
        harness: Harness) -> None:
    from tests.admin_web.support import Panel, seed

    demo = await seed(harness)
    await _on_duty(harness, demo.staff["lee"])
    await harness.sms(NEW_PHONE, "I want to kill myself")
    await harness.settle()
    eid = (await _stranger_escalation(harness))["id"]
    priya, lee, dana = Panel(harness), Panel(harness), Panel(harness)
    try:
        for panel, name in ((priya, "priya"), (lee, "lee"), (dana, "dana")):
            assert (await panel.login(name)).status_code in (200, 303)
        for panel in (priya, lee):
            queue = (await panel.get("/admin/escalations")).text
            assert f"Acknowledge alert {eid}" in queue and "Unknown number SMS +447700900456" in queue
            assert "I want to kill myself" in queue
        # An officer neither on duty nor alerted: not in their queue, and 404 to act on it.
        assert f"#{eid}" not in (await dana.get("/admin/escalations")).text
        assert (await dana.post(f"/admin/escalations/{eid}/ack")).status_code == 404
        unmatched = (await priya.get("/admin/unmatched")).text
        assert f"RED escalation #{eid}</a> (notified)" in unmatched
        # The duty officer acknowledges in the panel.
        assert (await lee.post(f"/admin/escalations/{eid}/ack")).status_code == 303
        assert await harness.db.value("SELECT acknowledged_by FROM escalations WHERE id = ?",
                                      (eid,)) == demo.staff["lee"]
        # "Dealt with (not a client)" on Unmatched resolves it.
        inbound = await harness.db.value("SELECT id FROM inbound WHERE address = ?", (NEW_PHONE,))
        assert (await priya.post(f"/admin/unmatched/{inbound}/handled")).status_code == 303
        row = await harness.db.one("SELECT status, outcome, resolved_by FROM escalations"
                                   " WHERE id = ?", (eid,))
        assert tuple(row) == ("resolved", "Dealt with (not a client)", demo.staff["priya"])
        assert f"RED escalation #{eid}</a> (resolved)" in (
            await priya.get("/admin/unmatched")).text
    finally:
        for panel in (priya, lee, dana):
            await panel.close()
