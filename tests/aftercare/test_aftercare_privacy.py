"""Privacy and permissions for aftercare: a group chat is never a check-in, a mentor reaches
nothing but their own groups' first names and attendance (bot and panel), and a mentor who
stepped down is refused everywhere at once."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.aftercare import mentors
from bot.aftercare import reads as aftercare
from bot.conversation import start_flow
from bot.core.passwords import hash_password
from bot.escalation.findings import raise_finding
from tests.admin_web.support import Panel
from tests.aftercare.support import (
    GIL_CHAT,
    GROUP_CHAT,
    JO_CHAT,
    MIA,
    World,
    buttons_to,
    group_text,
    link_chat,
    member_update,
    press,
    run_until,
    sms_texts,
    tg_texts,
    world,
)
from tests.conftest import Harness

PASSWORD = "gil-test-password-123"
WED_12 = datetime(2026, 11, 25, 12, 1, tzinfo=UTC)


async def test_a_group_message_that_looks_like_an_answer_is_not_taken_as_one(
        harness: Harness) -> None:
    h = harness
    w = await world(h)
    await link_chat(h, w.tuesday)
    await h.write(lambda tx: start_flow(tx, h.clock.now(), w.jo, "daily_checkin",
                                        officer_started=True))
    await h.settle()
    assert tg_texts(h, JO_CHAT, "how happy did you feel yesterday")
    state = await h.db.value("SELECT state FROM flow_sessions WHERE client_id = ?"
                             " AND status = 'active'", (w.jo,))
    sent_before = len(h.telegram.sent("sendMessage"))
    for text in ("7", "2", "MENTOR", "/attendance", "stop"):
        await group_text(h, GROUP_CHAT, text, from_id=JO_CHAT)
    assert await h.db.value("SELECT COUNT(*) FROM answers WHERE client_id = ?", (w.jo,)) == 0
    assert await h.db.value("SELECT state FROM flow_sessions WHERE client_id = ?"
                            " AND status = 'active'", (w.jo,)) == state
    statuses = {r[0] for r in await h.db.all(
        "SELECT status FROM inbound WHERE address = ? AND body IN ('7', '2', 'MENTOR',"
        " '/attendance', 'stop')", (str(GROUP_CHAT),))}
    assert statuses == {"ignored"}
    assert len(h.telegram.sent("sendMessage")) == sent_before  # no reply, no relay, no register
    assert not await h.db.value("SELECT COUNT(*) FROM opt_outs")
    # The same "7" in Jo's private chat is her answer.
    await h.tg_text(JO_CHAT, "7")
    await h.settle()
    assert await h.db.value("SELECT COUNT(*) FROM answers WHERE client_id = ?", (w.jo,)) == 1


async def test_crisis_words_in_a_group_chat_reach_a_human_privately(harness: Harness) -> None:
    h = harness
    w = await world(h)
    await link_chat(h, w.tuesday)
    before = len(tg_texts(h, GROUP_CHAT))
    await group_text(h, GROUP_CHAT, "honestly I want to end it all", from_id=JO_CHAT)
    assert len(tg_texts(h, GROUP_CHAT)) == before  # nothing said in the group
    assert tg_texts(h, JO_CHAT, "999")  # the crisis contacts, privately
    esc = await h.db.one("SELECT client_id, severity FROM escalations")
    assert tuple(esc) == (w.jo, "RED")
    # Someone we do not know: the supervisors are told, still nothing in the group.
    await h.add_officer("Priya Shah", phone="+447700900103", chat=7003, role="supervisor")
    await group_text(h, GROUP_CHAT, "I want to kill myself", from_id=999_999)
    assert tg_texts(h, 7003, "RED: crisis words in the group chat of Tuesday group")
    assert len(tg_texts(h, GROUP_CHAT)) == before


async def test_a_mentor_reaches_no_other_data_in_the_bot(harness: Harness) -> None:
    h = harness
    w = await world(h, tuesday="weekly:wed 11:00", thursday="weekly:wed 11:30")
    # An open alert about Sam, who is in Gil's own group and whose officer is Gil's officer too.
    await h.write(lambda tx: raise_finding(tx, h.clock.now(), w.sam, "AMBER", "craving_high",
                                           source="answer", detail="test"))
    await h.settle()
    esc = int(await h.db.value("SELECT id FROM escalations"))
    await h.tg_text(GIL_CHAT, "/open")
    await h.tg_text(GIL_CHAT, f"ACK {esc}")
    await h.tg_callback(GIL_CHAT, f"ack:{esc}", 1, from_id=GIL_CHAT)
    await h.settle()
    assert (await h.db.one("SELECT status FROM escalations"))["status"] == "notified"
    seen = " ".join(tg_texts(h, GIL_CHAT))
    assert "only for officers" in seen
    for leak in ("craving", "AMBER", "alert", "C-1", "+44"):
        assert leak not in seen, leak
    # GROUP: first names of Gil's own group only (not Alex, in Mia's group).
    await h.tg_text(GIL_CHAT, "/members")
    await h.settle()
    members = tg_texts(h, GIL_CHAT, "Tuesday group, next meeting")
    assert members and "1 Sam\n2 Jo" in members[-1] and "Alex" not in members[-1]
    # Mia's register, forged from Gil's chat: refused, nothing recorded.
    await run_until(h, datetime(2026, 11, 25, 12, 31, tzinfo=UTC))
    mia_prompt = int(await h.db.value("SELECT id FROM aftercare_prompts WHERE staff_id = ?"
                                      " AND kind = 'register'", (w.mia,)))
    message, _ = buttons_to(h, GIL_CHAT, "ag:a:")
    for data in (f"ag:a:{mia_prompt}:1", f"ag:d:{mia_prompt}", f"ag:c:{mia_prompt}:1"):
        await press(h, GIL_CHAT, data, message)
    assert await h.db.value("SELECT COUNT(*) FROM meeting_attendance") == 0
    assert not await h.db.value("SELECT COUNT(*) FROM findings WHERE reason = 'mentor_concern'")
    refusals = [r.params["text"] for r in h.telegram.sent("answerCallbackQuery")]
    assert refusals[-3:] == ["Not allowed from this account."] * 3
    # Another client typing a mentor command gets nothing but a refusal.
    await h.tg_text(JO_CHAT, "/attendance")
    await h.settle()
    assert tg_texts(h, JO_CHAT, "only for group mentors")
    assert not tg_texts(h, JO_CHAT, "who came?")


async def mentor_panel(h: Harness, w: World) -> Panel:
    await h.write(lambda tx: tx.execute("UPDATE staff SET username = 'gil', password_hash = ?"
                                        " WHERE id = ?", (hash_password(PASSWORD), w.gil)))
    panel = Panel(h)
    response = await panel.login("gil", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/admin/mentor"
    return panel


async def test_a_mentor_reaches_no_other_data_in_the_panel(harness: Harness) -> None:
    h = harness
    w = await world(h)
    await link_chat(h, w.tuesday)
    panel = await mentor_panel(h, w)
    try:
        page = (await panel.get("/admin/mentor")).text
        assert "Sam" in page and "Jo" in page and "Tuesday group" in page
        assert "Alex" not in page and "Thursday group" not in page
        for leak in ("C-1", "C-2", "7700", "Aftercare</", "Lee", "Dana", "engagement"):
            assert leak not in page, leak
        assert "Telegram group chat: linked" in page
        for path in (f"/admin/clients/{w.sam}", "/admin/clients", "/admin/escalations",
                     "/admin/groups", "/admin/calendar", "/admin/staff", "/admin/audit"):
            assert (await panel.get(path)).status_code == 403, path
        # A concern about someone outside their groups: 404, nothing raised.
        refused = await panel.post("/admin/mentor/concern", {"member": str(w.alex), "text": "x"})
        assert refused.status_code == 404
        assert not await h.db.value("SELECT COUNT(*) FROM findings")
        ok = await panel.post("/admin/mentor/concern", {"member": str(w.jo), "text": ""})
        assert ok.status_code == 303
        esc = await h.db.one("SELECT client_id, reason, officer_id FROM escalations")
        assert tuple(esc) == (w.jo, "mentor_concern", w.lee)
        # The bot being removed from the chat shows on the page.
        await h.tg(member_update(GROUP_CHAT, "left"))
        page = (await panel.get("/admin/mentor")).text
        assert "The bot was removed from the group" in page
    finally:
        await panel.close()


async def test_supervisors_see_groups_and_promote_and_step_down_in_the_panel(
        harness: Harness) -> None:
    h = harness
    w = await world(h)
    await link_chat(h, w.tuesday)
    await h.tg(member_update(GROUP_CHAT, "kicked"))
    sup = await h.add_officer("Priya Shah", phone="+447700900103", chat=7003, role="supervisor")
    await h.write(lambda tx: tx.execute("UPDATE staff SET username = 'priya', password_hash = ?"
                                        " WHERE id = ?", (hash_password(PASSWORD), sup)))
    kit = await h.add_client("C-9", "Kit", officer=w.dana, phone="+447700900199",
                             stage="completed")
    panel = Panel(h)
    try:
        assert (await panel.login("priya", PASSWORD)).status_code == 303
        page = (await panel.get("/admin/groups")).text
        assert "Tuesday group" in page and "Bot removed" in page and "Gil" in page
        assert f'<option value="{kit}">C-9 Kit</option>' in page
        refused = await panel.post("/admin/groups/mentors", {"client": str(kit)})
        assert refused.status_code == 303
        assert not await h.db.value("SELECT COUNT(*) FROM mentors WHERE client_id = ?", (kit,))
        await panel.post("/admin/groups/mentors", {"client": str(kit), "agreed": "on"})
        row = await h.db.one("SELECT staff_id, agreement_version, recorded_by FROM mentors"
                             " WHERE client_id = ?", (kit,))
        assert row["agreement_version"] == "mentor-agreement-v1"
        assert row["recorded_by"] == f"staff:{sup}"
        await panel.post(f"/admin/groups/mentors/{w.gil}/step-down", {"reason": "moving on"})
        assert await h.db.value("SELECT status FROM mentors WHERE staff_id = ?",
                                (w.gil,)) == "stepped_down"
        assert (await panel.post("/admin/groups/mentors/99999/step-down")).status_code == 404
    finally:
        await panel.close()


async def test_a_mentor_who_stepped_down_is_refused_everywhere(harness: Harness) -> None:
    h = harness
    w = await world(h, tuesday="weekly:wed 11:00")
    panel = await mentor_panel(h, w)
    try:
        await run_until(h, WED_12)
        message, rows = buttons_to(h, GIL_CHAT, "ag:a:")  # the register, still open
        await h.tg_text(GIL_CHAT, "/concern")
        await h.settle()
        await h.write(lambda tx: mentors.step_down(tx, h.clock.now(), w.gil, reason="test"))
        await h.settle()
        assert tg_texts(h, GIL_CHAT, "thank you for all you gave as a mentor")
        # Bot: the open register and concern buttons, typed commands, MENTOR relays to them.
        await press(h, GIL_CHAT, rows[0][0]["callback_data"], message)
        _, concern = buttons_to(h, GIL_CHAT, "ag:c:")
        await press(h, GIL_CHAT, concern[0][0]["callback_data"], message)
        assert await h.db.value("SELECT COUNT(*) FROM meeting_attendance") == 0
        assert not await h.db.value("SELECT COUNT(*) FROM findings")
        for text in ("/attendance", "/concern", "/members", "/open", "support"):
            await h.tg_text(GIL_CHAT, text)
        await h.settle()
        assert len(tg_texts(h, GIL_CHAT, "only for group mentors")) == 5
        assert not await h.db.value("SELECT COUNT(*) FROM findings")
        await h.tg_text(JO_CHAT, "/mentor")
        await h.settle()
        assert not tg_texts(h, GIL_CHAT, "Jo from your group")
        assert tg_texts(h, JO_CHAT, "you don't have a group mentor at the moment")
        # Scheduled mentor prompts are cancelled; reads give nothing.
        assert not await h.db.value("SELECT COUNT(*) FROM timers WHERE status = 'pending'"
                                    " AND key LIKE 'mentor_%:' || ? || ':%'", (w.gil,))
        assert await aftercare.mentor_members(h.db, w.gil) == []
        assert await aftercare.mentor_attendance(h.db, w.gil) == []
        # Panel: the session ended and signing in again fails.
        assert (await panel.get("/admin/mentor")).status_code == 303
        assert (await panel.login("gil", PASSWORD)).status_code == 400
        # Still a client: their own check-ins and crisis screening carry on.
        await h.tg_text(GIL_CHAT, "I want to end it all")
        await h.settle()
        assert await h.db.value("SELECT COUNT(*) FROM escalations WHERE client_id = ?",
                                (w.gil_client,)) == 1
    finally:
        await panel.close()


async def test_sms_mentor_reply_after_stepping_down_is_not_a_concern(harness: Harness) -> None:
    h = harness
    w = await world(h)
    mentor = await h.write(lambda tx: mentors.active(tx, w.mia))
    from bot.aftercare.mentor_chat import send_concern

    await h.write(lambda tx: send_concern(tx, h.clock.now(), mentor))
    await h.write(lambda tx: mentors.step_down(tx, h.clock.now(), w.mia))
    await h.sms(MIA, "1")
    await h.settle()
    assert not await h.db.value("SELECT COUNT(*) FROM findings WHERE reason = 'mentor_concern'")
    assert sms_texts(h, MIA, "will read your message")  # an ordinary client reply

