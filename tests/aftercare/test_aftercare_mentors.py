"""Peer mentors through the real inbound path and the fakes: the register by Telegram buttons and
by SMS, two misses -> the officer's note, a concern -> AMBER to the member's officer, MENTOR,
the wellbeing check and SUPPORT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.aftercare import mentor_chat, mentors
from tests.aftercare.support import (
    ALEX,
    DANA_CHAT,
    GIL_CHAT,
    JO_CHAT,
    LEE_CHAT,
    MIA,
    SAM,
    buttons_to,
    press,
    run_until,
    sms_texts,
    tg_texts,
    world,
)
from tests.conftest import Harness

WED_12 = datetime(2026, 11, 25, 12, 1, tzinfo=UTC)  # T0 is Wednesday 25 November, 10:00 GMT


async def outcomes(h: Harness, meeting: int) -> dict[int, str]:
    return {r[0]: r[1] for r in await h.db.all(
        "SELECT client_id, outcome FROM meeting_attendance WHERE meeting_id = ?", (meeting,))}


async def test_register_by_telegram_buttons(harness: Harness) -> None:
    h = harness
    w = await world(h, tuesday="weekly:wed 11:00")
    await run_until(h, WED_12)  # the register goes an hour after the start
    message, rows = buttons_to(h, GIL_CHAT, "ag:a:")
    assert message.params["text"].startswith("Tuesday group, Wednesday 25 November at 11:00:")
    assert [b[0]["text"] for b in rows] == ["Sam", "Jo", "Done"]
    first, done = rows[0][0]["callback_data"], rows[2][0]["callback_data"]
    await press(h, GIL_CHAT, first, message)
    meeting = int(await h.db.value("SELECT id FROM group_meetings WHERE group_id = ?"
                                   " ORDER BY starts_at LIMIT 1", (w.tuesday,)))
    assert await outcomes(h, meeting) == {w.sam: "attended"}
    edit = h.telegram.sent("editMessageText")[-1].params
    assert [b[0]["text"] for b in edit["reply_markup"]["inline_keyboard"]] == [
        "\u2713 Sam", "Jo", "Done"]
    assert h.telegram.sent("answerCallbackQuery")[-1].params["text"] == "Sam came."
    # Tapped twice: unmarked; three times: marked again.
    await press(h, GIL_CHAT, first, message)
    assert await outcomes(h, meeting) == {}
    await press(h, GIL_CHAT, first, message)
    await press(h, GIL_CHAT, done, message)
    assert await outcomes(h, meeting) == {w.sam: "attended", w.jo: "missed"}
    assert h.telegram.sent("editMessageText")[-1].params["text"] == \
        "Thanks, register saved: 1 came, 1 missed."
    # The question is closed: a late tap changes nothing.
    await press(h, GIL_CHAT, first, message)
    assert await outcomes(h, meeting) == {w.sam: "attended", w.jo: "missed"}
    assert h.telegram.sent("answerCallbackQuery")[-1].params["text"] == "That question has closed."


async def test_register_by_sms_reply_with_numbers(harness: Harness) -> None:
    h = harness
    w = await world(h, thursday="weekly:wed 11:00")
    await run_until(h, WED_12)
    register = sms_texts(h, MIA, "who came?")
    assert register == ["Thursday group, Wednesday 25 November at 11:00: who came? Reply with"
                        " their numbers, e.g. 1 3, or 0 if nobody came.\n1 Alex"]
    await h.sms(MIA, "4")  # not on the list: asked again, nothing recorded
    await h.settle()
    assert sms_texts(h, MIA, "Sorry, I didn't get that")
    meeting = int(await h.db.value("SELECT id FROM group_meetings WHERE group_id = ?"
                                   " ORDER BY starts_at LIMIT 1", (w.thursday,)))
    assert await outcomes(h, meeting) == {}
    await h.sms(MIA, "1")
    await h.settle()
    assert await outcomes(h, meeting) == {w.alex: "attended"}
    assert sms_texts(h, MIA, "Thanks, register saved: 1 came, 0 missed.")
    # ATTENDANCE asks again (to correct it): 0 means nobody came.
    await h.sms(MIA, "attendance")
    await h.sms(MIA, "0")
    await h.settle()
    assert await outcomes(h, meeting) == {w.alex: "missed"}


async def test_two_missed_meetings_in_a_row_make_a_note_for_the_members_officer(
        harness: Harness) -> None:
    h = harness
    w = await world(h, tuesday="weekly:wed 11:00")
    await run_until(h, WED_12)
    message, rows = buttons_to(h, GIL_CHAT, "ag:a:")
    await press(h, GIL_CHAT, rows[-1][0]["callback_data"], message)  # Done: nobody came
    assert not await h.db.value("SELECT COUNT(*) FROM findings"
                                " WHERE reason = 'missed_group_meetings'")
    # A week later (the service was down in between): Sam came, Jo missed again.
    h.clock.set(datetime(2026, 12, 2, 12, 1, tzinfo=UTC))
    await h.advance(timedelta(0))
    # The weekly concern question, the monthly wellbeing check and this register all fell due
    # in the downtime: one open question at a time, in the order they fell due (issue 11).
    with pytest.raises(AssertionError):
        buttons_to(h, GIL_CHAT, "ag:w:")  # waits its turn
    message, rows = buttons_to(h, GIL_CHAT, "ag:c:")
    await press(h, GIL_CHAT, rows[-1][0]["callback_data"], message)  # No one
    assert "25 November" in buttons_to(h, GIL_CHAT, "ag:a:")[0].params["text"]  # still waits
    message, rows = buttons_to(h, GIL_CHAT, "ag:w:")
    await press(h, GIL_CHAT, rows[0][0]["callback_data"], message)  # Fine
    message, rows = buttons_to(h, GIL_CHAT, "ag:a:")
    assert "Wednesday 2 December" in message.params["text"]
    await press(h, GIL_CHAT, rows[0][0]["callback_data"], message)
    await press(h, GIL_CHAT, rows[-1][0]["callback_data"], message)
    found = await h.db.all("SELECT client_id, severity, source FROM findings"
                           " WHERE reason = 'missed_group_meetings'")
    assert [tuple(r) for r in found] == [(w.jo, "ROUTINE", "aftercare")]
    esc = await h.db.one("SELECT id, officer_id, severity FROM escalations"
                         " WHERE reason = 'missed_group_meetings'")
    assert (esc["officer_id"], esc["severity"]) == (w.lee, "ROUTINE")
    notice = await h.db.one("SELECT staff_id FROM escalation_notices WHERE escalation_id = ?",
                            (esc["id"],))
    assert notice["staff_id"] == w.lee
    assert tg_texts(h, LEE_CHAT, f"#{esc['id']}: C-2 Jo - missed two group meetings")
    # Gil hears nothing about it.
    assert not tg_texts(h, GIL_CHAT, "alert") and not tg_texts(h, GIL_CHAT, "officer")


async def test_a_mentor_concern_is_amber_to_the_members_officer_and_only_passed_on(
        harness: Harness) -> None:
    h = harness
    w = await world(h)
    await h.tg_text(GIL_CHAT, "/concern")
    await h.settle()
    message, rows = buttons_to(h, GIL_CHAT, "ag:c:")
    assert message.params["text"] == "Anyone you are worried about? Tap their name, or No one."
    assert [b[0]["text"] for b in rows] == ["Sam", "Jo", "No one"]
    await press(h, GIL_CHAT, rows[1][0]["callback_data"], message)  # Jo, Lee's client
    esc = await h.db.one("SELECT id, client_id, severity, reason, officer_id FROM escalations")
    assert (esc["client_id"], esc["severity"], esc["reason"], esc["officer_id"]) == (
        w.jo, "AMBER", "mentor_concern", w.lee)
    alert = tg_texts(h, LEE_CHAT, f"AMBER alert #{esc['id']}: C-2 Jo - a mentor is worried")
    assert alert
    assert not tg_texts(h, DANA_CHAT, "a mentor is worried")
    # The mentor learns only that it was passed on.
    assert h.telegram.sent("editMessageText")[-1].params["text"] == \
        "Thank you. It has been passed on."
    gil_seen = " ".join(tg_texts(h, GIL_CHAT)) + " ".join(
        r.params["text"] for r in h.telegram.sent("editMessageText"))
    for word in ("Lee", "AMBER", "alert", "C-2", "officer"):
        assert word not in gil_seen, word
    # Then the mentor's own words, asked at once: they become the concern's detail for Lee.
    assert tg_texts(h, GIL_CHAT)[-1] == \
        "In a few words, what worries you about Jo? Or reply 0 to skip."
    await h.tg_text(GIL_CHAT, "He seemed low and talked about using again")
    await h.settle()
    assert tg_texts(h, GIL_CHAT)[-1] == "Thank you. Your words have been passed on too."
    assert await h.db.value("SELECT detail FROM findings WHERE reason = 'mentor_concern'") == \
        f"mentor:{w.gil}: He seemed low and talked about using again"
    assert not await h.db.value("SELECT COUNT(*) FROM inbound WHERE inbox IS NOT NULL")
    # Lee acknowledges: Jo is not told anything (she must not learn a mentor raised it).
    before = len(tg_texts(h, JO_CHAT))
    ack = [r for r in h.telegram.sent("sendMessage") if int(r.params["chat_id"]) == LEE_CHAT][-1]
    await h.tg_callback(LEE_CHAT, f"ack:{esc['id']}", ack.response["result"]["message_id"],
                        from_id=LEE_CHAT)
    await h.settle()
    assert (await h.db.one("SELECT status FROM escalations"))["status"] == "acknowledged"
    assert len(tg_texts(h, JO_CHAT)) == before


async def test_weekly_concern_prompt_waits_for_an_open_check_in(harness: Harness) -> None:
    """At most one open question (issue 11): the mentors' 12:00 prompt waits while Mia's 09:00
    check-in is open, and goes when it ends (here: expired unanswered at 15:00)."""
    h = harness
    w = await world(h)
    # Mia is in aftercare herself: her daily check-in is at 09:00, the mentors' prompt at 12:00.
    await h.write(lambda tx: tx.execute("UPDATE clients SET checkin_time = '09:00' WHERE id = ?",
                                        (w.mia_client,)))
    await run_until(h, datetime(2026, 11, 26, 12, 1, tzinfo=UTC))
    assert sms_texts(h, MIA, "how happy did you feel")  # the check-in is waiting for an answer
    assert not sms_texts(h, MIA, "Anyone you are worried about?")
    await run_until(h, datetime(2026, 11, 26, 15, 1, tzinfo=UTC))
    assert sms_texts(h, MIA, "Anyone you are worried about? Reply with their number, or 0.\n"
                             "1 Alex")
    await h.sms(MIA, "1")
    await h.settle()
    esc = await h.db.one("SELECT client_id, reason, officer_id FROM escalations"
                         " WHERE reason = 'mentor_concern'")
    assert (esc["client_id"], esc["officer_id"]) == (w.alex, w.dana)
    assert sms_texts(h, MIA, "Thank you. It has been passed on.")
    assert sms_texts(h, MIA, "In a few words, what worries you about Alex? Or reply 0 to skip.")
    await h.sms(MIA, "0")
    await h.settle()
    assert sms_texts(h, MIA)[-1] == "OK, thank you."
    assert await h.db.value("SELECT detail FROM findings WHERE reason = 'mentor_concern'") == \
        f"mentor:{w.mia}: raised in the bot (reply)"
    # Answered: "0" later is not a concern any more.
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE reason = 'mentor_concern'") == 1


async def test_mentor_request_is_relayed_with_the_first_name_only(harness: Harness) -> None:
    h = harness
    w = await world(h)
    await h.sms(SAM, "MENTOR")
    await h.settle()
    relayed = tg_texts(h, GIL_CHAT, "Sam")
    assert relayed == ["Hi Gil, Sam from your group would like a word with you."]
    for leak in ("+44", "7700", "0123", "C-1", str(SAM)):
        assert leak not in relayed[0]
    assert sms_texts(h, SAM, "your mentor has been asked to get in touch")
    # Once a day at most for the mentor.
    await h.sms(SAM, "mentor")
    await h.settle()
    assert len(tg_texts(h, GIL_CHAT, "Sam")) == 1
    # /mentor from Telegram, and a member of the other group reaches their own mentor.
    await h.tg_text(JO_CHAT, "/mentor")
    await h.sms(ALEX, "Mentor.")
    await h.settle()
    assert tg_texts(h, GIL_CHAT, "Jo from your group")
    assert sms_texts(h, MIA, "Alex from your group")
    # Someone in no group hears that they have no mentor.
    loner = await h.add_client("C-9", "Kit", officer=w.dana, phone="+447700900199",
                               stage="aftercare")
    await h.sms("+447700900199", "MENTOR")
    await h.settle()
    assert sms_texts(h, "+447700900199", "you don't have a group mentor at the moment. Dana")
    assert loner


async def test_wellbeing_check_and_support_go_to_the_mentors_own_officer(
        harness: Harness) -> None:
    h = harness
    w = await world(h)
    keys = {r[0] for r in await h.db.all("SELECT key FROM timers WHERE status = 'pending'"
                                         " AND key LIKE 'mentor_%'")}
    assert f"mentor_wellbeing_check:{w.mia}:2026-12-01" in keys
    assert f"mentor_concern_prompt:{w.mia}:2026-11-26" in keys
    mentor = await h.write(lambda tx: mentors.active(tx, w.mia))
    await h.write(lambda tx: mentor_chat.send_wellbeing(tx, h.clock.now(), mentor))
    await h.settle()
    assert sms_texts(h, MIA, "how are you finding mentoring? Reply 1 fine, 2 could be better")
    await h.sms(MIA, "3")
    await h.settle()
    esc = await h.db.one("SELECT client_id, severity, reason, officer_id FROM escalations")
    assert tuple(esc) == (w.mia_client, "AMBER", "mentor_support", w.lee)
    assert tg_texts(h, LEE_CHAT, "C-11 Mia - a mentor asked for support")
    assert sms_texts(h, MIA, "Thank you for telling us. Lee will be in touch.")
    # SUPPORT at any time, from the Telegram mentor: to Gil's own officer, Dana.
    await h.tg_text(GIL_CHAT, "support")
    await h.settle()
    esc = await h.db.one("SELECT client_id, officer_id FROM escalations WHERE client_id = ?",
                         (w.gil_client,))
    assert tuple(esc) == (w.gil_client, w.dana)
    assert tg_texts(h, DANA_CHAT, "C-10 Gil - a mentor asked for support")


async def test_concern_asked_for_mid_check_in_then_the_check_in_resumes(
        harness: Harness) -> None:
    """The weekly prompt waits behind Mia's open check-in, so "1" answers the check-in. CONCERN
    (her own request) brings the list at once; her words about Alex become the concern's detail,
    and the check-in then asks its question again and takes the next reply."""
    h = harness
    w = await world(h)
    await run_until(h, datetime(2026, 11, 26, 12, 1, tzinfo=UTC))
    assert sms_texts(h, MIA, "how happy did you feel")
    assert not sms_texts(h, MIA, "Anyone you are worried about?")
    await h.sms(MIA, "1")
    await h.settle()
    assert not await h.db.value("SELECT COUNT(*) FROM findings WHERE reason = 'mentor_concern'")
    assert await h.db.value("SELECT COUNT(*) FROM answers WHERE client_id = ?"
                            " AND status = 'answered'", (w.mia_client,)) == 1
    question = sms_texts(h, MIA)[-1]
    await h.sms(MIA, "CONCERN")
    await h.sms(MIA, "1")
    await h.sms(MIA, "Says he has nowhere to stay from Friday")
    await h.settle()
    assert await h.db.value("SELECT client_id FROM findings WHERE reason = 'mentor_concern'") \
        == w.alex
    assert await h.db.value("SELECT detail FROM findings WHERE reason = 'mentor_concern'") == \
        f"mentor:{w.mia}: Says he has nowhere to stay from Friday"
    texts = sms_texts(h, MIA)
    assert texts[-2:] == ["Thank you. Your words have been passed on too.", question]
    assert not sms_texts(h, MIA, "Sorry")
    await h.sms(MIA, "2")
    await h.settle()
    assert await h.db.value("SELECT COUNT(*) FROM answers WHERE client_id = ?"
                            " AND status = 'answered'", (w.mia_client,)) == 2
