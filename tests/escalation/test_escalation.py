"""Escalation to officers, through the real inbound path, python-telegram-bot and the fakes."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import iso
from bot.core.rota import add_duty, set_availability
from bot.escalation.findings import raise_finding
from bot.service import Service
from tests.conftest import Harness

SAM = "+447700900123"
DANA_CHAT, DUTY_CHAT, SUPER_CHAT, STRANGER_CHAT = 7001, 7002, 7003, 7999


async def team(h: Harness) -> dict[str, int]:
    """An assigned officer, a duty officer on the rota now, and a supervisor, all on Telegram."""
    dana = await h.add_officer("Dana Hughes", phone="+447700900101", chat=DANA_CHAT)
    duty = await h.add_officer("Lee Okafor", phone="+447700900102", chat=DUTY_CHAT)
    sup = await h.add_officer("Priya Shah", phone="+447700900103", chat=SUPER_CHAT,
                              role="supervisor")
    now = h.clock.now()
    await h.write(lambda tx: add_duty(tx, now, duty, "duty_officer", now - timedelta(hours=1),
                                      now + timedelta(days=2), "test"))
    client = await h.add_client(officer=dana, phone=SAM)
    return {"dana": dana, "duty": duty, "sup": sup, "client": client}


def chats(h: Harness) -> list[int]:
    return [int(r.params["chat_id"]) for r in h.telegram.sent("sendMessage")]


async def finding(h: Harness, client: int, severity: str, reason: str) -> int:
    return int(await h.write(lambda tx: raise_finding(
        tx, h.clock.now(), client, severity, reason, source="answer", detail="test")))


async def test_crisis_text_alerts_officer_and_duty_at_once_with_buttons(harness: Harness) -> None:
    t = await team(harness)
    await harness.sms(SAM, "I can't go on any more")
    await harness.settle()
    # The client gets the crisis contacts.
    body = " ".join(m.params["Body"] for m in harness.twilio.sent("messages.create"))
    assert "999" in body and "116 123" in body and "85258" in body
    # RED goes to the assigned officer and the duty officer at once.
    assert sorted(chats(harness)) == [DANA_CHAT, DUTY_CHAT]
    alert = harness.telegram.sent("sendMessage")[0]
    assert "RED" in alert.params["text"] and "C-1 Sam" in alert.params["text"]
    buttons = alert.params["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["ack:1", "call:1"]
    esc = await harness.db.one("SELECT * FROM escalations")
    assert (esc["severity"], esc["reason"], esc["status"]) == ("RED", "crisis_text", "notified")
    assert t["client"] == esc["client_id"]


async def test_acknowledge_button_edits_message_and_stops_reescalation(harness: Harness) -> None:
    await team(harness)
    await harness.sms(SAM, "I want to end it all")
    await harness.settle()
    alert = next(r for r in harness.telegram.sent("sendMessage")
                 if int(r.params["chat_id"]) == DANA_CHAT)
    message_id = alert.response["result"]["message_id"]
    r = await harness.tg_callback(DANA_CHAT, "ack:1", message_id, from_id=DANA_CHAT)
    assert r.status_code == 200
    await harness.settle()
    esc = await harness.db.one("SELECT * FROM escalations WHERE id = 1")
    assert esc["status"] == "acknowledged" and esc["ack_method"] == "telegram_button"
    edits = harness.telegram.sent("editMessageText")
    assert edits and all("Acknowledged by Dana Hughes" in e.params["text"] for e in edits)
    assert harness.telegram.sent("answerCallbackQuery")
    # The client hears that someone knows.
    bodies = [m.params["Body"] for m in harness.twilio.sent("messages.create")]
    assert any("will contact you" in b or "in touch" in b for b in bodies)
    before = len(harness.telegram.sent("sendMessage"))
    await harness.advance(timedelta(minutes=40))
    assert len(harness.telegram.sent("sendMessage")) == before


async def test_unacknowledged_red_goes_to_duty_then_supervisor_then_all(harness: Harness) -> None:
    t = await team(harness)
    # AMBER from a check-in answer; the assigned officer only at first.
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.settle()
    assert chats(harness) == [DANA_CHAT]
    # AMBER deadline is 4 working hours: at 10:00 on a Wednesday that is 14:00.
    await harness.advance(timedelta(hours=3, minutes=59))
    assert chats(harness) == [DANA_CHAT]
    await harness.advance(timedelta(minutes=2))
    assert chats(harness) == [DANA_CHAT, DUTY_CHAT]
    # The next 4 working hours end at 08:01 tomorrow (the office closes at 18:00).
    await harness.advance(timedelta(hours=17, minutes=58))
    assert chats(harness)[-1] == DUTY_CHAT
    await harness.advance(timedelta(minutes=3))
    assert chats(harness)[-1] == SUPER_CHAT
    levels = [r["level"] for r in await harness.db.all(
        "SELECT level FROM escalation_notices ORDER BY id")]
    assert levels == [0, 1, 2]


async def test_red_deadline_is_fifteen_minutes_and_repeats_until_acknowledged(
        harness: Harness) -> None:
    await team(harness)
    await harness.sms(SAM, "took too much")
    await harness.settle()
    assert sorted(chats(harness)) == [DANA_CHAT, DUTY_CHAT]
    await harness.advance(timedelta(minutes=14))
    assert len(chats(harness)) == 2
    await harness.advance(timedelta(minutes=2))
    assert chats(harness)[-1] == SUPER_CHAT  # duty was told already: next is the supervisor
    for _ in range(2):  # and it keeps coming until someone acknowledges
        await harness.advance(timedelta(minutes=16))
    assert chats(harness).count(SUPER_CHAT) >= 3


async def test_two_findings_with_the_same_reason_make_one_escalation(harness: Harness) -> None:
    t = await team(harness)
    await finding(harness, t["client"], "AMBER", "craving_high")
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.settle()
    assert await harness.db.value("SELECT COUNT(*) FROM escalations") == 1
    assert await harness.db.value(
        "SELECT COUNT(*) FROM findings WHERE escalation_id = 1") == 2
    assert chats(harness) == [DANA_CHAT]


async def test_callback_from_an_unlinked_chat_is_refused_and_logged(harness: Harness) -> None:
    await team(harness)
    await harness.sms(SAM, "I want to kill myself")
    await harness.settle()
    await harness.tg_callback(STRANGER_CHAT, "ack:1", 1, from_id=STRANGER_CHAT)
    await harness.settle()
    esc = await harness.db.one("SELECT status FROM escalations WHERE id = 1")
    assert esc["status"] == "notified"
    refused = await harness.db.value(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'escalation.ack_refused'")
    assert refused == 1


async def test_callback_from_a_staff_member_not_allowed_is_refused(harness: Harness) -> None:
    t = await team(harness)
    other = await harness.add_officer("Kai Jones", phone="+447700900104", chat=7004)
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.settle()
    await harness.tg_callback(7004, "ack:1", 1, from_id=7004)
    await harness.settle()
    assert (await harness.db.one("SELECT status FROM escalations"))["status"] == "notified"
    assert other != t["dana"]


async def test_telegram_failing_falls_back_to_sms(harness: Harness) -> None:
    t = await team(harness)
    harness.telegram.fail("sendMessage", status=500, times=10)
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.settle()
    sms = [m.params for m in harness.twilio.sent("messages.create")]
    assert any(m["To"] == "+447700900101" and "ACK 1" in m["Body"] for m in sms)
    # And the officer can acknowledge by SMS.
    await harness.sms("+447700900101", "ACK 1")
    await harness.settle()
    esc = await harness.db.one("SELECT status, ack_method FROM escalations")
    assert (esc["status"], esc["ack_method"]) == ("acknowledged", "sms")


async def test_officer_without_telegram_gets_sms(harness: Harness) -> None:
    dana = await harness.add_officer("Dana Hughes", phone="+447700900101")
    client = await harness.add_client(officer=dana, phone=SAM)
    await finding(harness, client, "ROUTINE", "callback_requested")
    await harness.settle()
    sms = [m.params for m in harness.twilio.sent("messages.create")]
    assert [m["To"] for m in sms] == ["+447700900101"]
    assert "C-1 Sam" in sms[0]["Body"]


async def test_unavailable_officer_routes_to_duty_officer(harness: Harness) -> None:
    t = await team(harness)
    await harness.write(lambda tx: set_availability(tx, harness.clock.now(), t["dana"], False,
                                                    "sick", "test"))
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.settle()
    assert chats(harness) == [DUTY_CHAT]


async def test_deadline_survives_a_restart(harness: Harness) -> None:
    await team(harness)
    await harness.sms(SAM, "I want to die")
    await harness.settle()
    settings = harness.service.settings
    await harness.service.stop()
    # A new process on the same database, with the clock moved past the RED deadline.
    harness.clock.advance(timedelta(minutes=16))
    fresh = Service(settings, clock=harness.clock, tick_seconds=3600)
    await fresh.start()
    try:
        await fresh.tick()
        assert fresh.dispatcher is not None
        for _ in range(5):
            await fresh.dispatcher.claim_and_start()
            await fresh.dispatcher.drain()
        assert chats(harness)[-1] == SUPER_CHAT
        assert await fresh.db.value("SELECT MAX(level) FROM escalation_notices") >= 1
    finally:
        await fresh.stop()


async def test_alert_fatigue_batches_amber_but_never_red(harness: Harness) -> None:
    dana = await harness.add_officer("Dana Hughes", phone="+447700900101", chat=DANA_CHAT)
    clients = [await harness.add_client(ref=f"C-{i}", first_name=f"N{i}", officer=dana,
                                        phone=f"+44770090020{i}") for i in range(6)]
    for c in clients[:5]:
        await finding(harness, c, "AMBER", "craving_high")
    await harness.settle()
    assert len(chats(harness)) == 3  # the rest are held for a digest
    await finding(harness, clients[5], "RED", "crisis_text")
    await harness.settle()
    assert len(chats(harness)) == 4
    await harness.advance(timedelta(minutes=31))
    digest = harness.telegram.sent("sendMessage")[-1].params["text"]
    assert "2 alerts" in digest and "C-3" in digest and "C-4" in digest


async def test_open_command_lists_escalations_with_buttons(harness: Harness) -> None:
    t = await team(harness)
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.settle()
    await harness.tg_text(DANA_CHAT, "/open")
    await harness.settle()
    last = harness.telegram.sent("sendMessage")[-1]
    assert "C-1 Sam" in last.params["text"]
    assert last.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ack:1"


async def test_early_discharge_raises_red_starts_window_and_sends_tolerance(
        harness: Harness) -> None:
    from bot.journey import discharge

    t = await team(harness)
    await harness.write(lambda tx: discharge(tx, harness.clock.now(), t["client"], "early",
                                             "test"))
    await harness.settle()
    client = await harness.db.one("SELECT stage, heightened_until FROM clients")
    assert client["stage"] == "discharged_early"
    assert client["heightened_until"] == iso(harness.clock.now() + timedelta(days=28))
    esc = await harness.db.one("SELECT severity, reason FROM escalations")
    assert (esc["severity"], esc["reason"]) == ("RED", "self_discharge")
    texts = [m.params["Body"] for m in harness.twilio.sent("messages.create")]
    assert any("999" in t for t in texts)  # the reduced-tolerance overdose message
    assert sorted(chats(harness)) == [DANA_CHAT, DUTY_CHAT]


async def test_resolve_records_outcome_and_closes(harness: Harness) -> None:
    from bot.escalation.alerts import resolve

    t = await team(harness)
    await finding(harness, t["client"], "AMBER", "craving_high")
    await harness.write(lambda tx: resolve(tx, harness.clock.now(), 1, t["dana"],
                                           "Spoke to Sam, plan agreed", None))
    esc = await harness.db.one("SELECT status, outcome, acknowledged_by FROM escalations")
    assert (esc["status"], esc["outcome"], esc["acknowledged_by"]) == (
        "resolved", "Spoke to Sam, plan agreed", t["dana"])
    # A new finding with the same reason after resolution opens a new escalation.
    await finding(harness, t["client"], "AMBER", "craving_high")
    assert await harness.db.value("SELECT COUNT(*) FROM escalations") == 2


async def test_discharge_plans_the_safety_check_in_the_same_day(harness: Harness) -> None:
    from bot.journey import discharge

    t = await team(harness)
    await harness.write(lambda tx: tx.execute("UPDATE clients SET stage = 'in_rehab'"))
    await harness.write(lambda tx: discharge(tx, harness.clock.now(), t["client"], "early",
                                             "test"))
    today = harness.clock.now().date().isoformat()
    key = f"checkin:{t['client']}:{today}"
    assert await harness.db.value("SELECT status FROM timers WHERE key = ?", (key,)) in (
        "pending", "done")
    await harness.advance(timedelta(minutes=5))
    # The check-in runs today and, inside the 28-day window, it asks the safety question.
    asked = [m.params["Body"] for m in harness.twilio.sent("messages.create")]
    assert any("how happy" in b.lower() for b in asked)
