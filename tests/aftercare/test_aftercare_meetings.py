"""Aftercare meetings through the real app, python-telegram-bot, twilio and the fakes: reminders
to each member privately and a neutral post in the linked group chat, the chat's link code, the
bot being removed from the chat, and Telegram's per-group rate."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.aftercare import enrolment, group_chat
from bot.core.identities import Identity
from bot.core.outbox import enqueue
from config.settings import Rate, load_settings
from tests.aftercare.support import (
    ALEX,
    GIL_CHAT,
    GROUP_CHAT,
    JO_CHAT,
    SAM,
    group_text,
    link_chat,
    member_update,
    run_until,
    sms_texts,
    tg_texts,
    world,
)
from tests.conftest import Harness

# Never in a group chat: anything about anyone's case, or the programme.
GROUP_NEVER = re.compile(r"check-?in|score|stage|alert|escalat|officer|police|rehab|drug|"
                         r"recovery|aftercare|mentor|concern|missed", re.IGNORECASE)
MON_18 = datetime(2026, 11, 30, 18, 1, tzinfo=UTC)  # GMT: local time is UTC
TUE_16 = datetime(2026, 12, 1, 16, 1, tzinfo=UTC)


async def test_meeting_reminders_go_to_each_member_privately_and_to_the_group_chat(
        harness: Harness) -> None:
    h = harness
    w = await world(h)
    await link_chat(h, w.tuesday)
    assert tg_texts(h, GROUP_CHAT, "now linked to Tuesday group")
    await run_until(h, MON_18)
    # Sam by SMS, Jo on Telegram: their own wording (discreet by default: no place named).
    sam = sms_texts(h, SAM, "Tuesday 1 December at 18:00")
    jo = tg_texts(h, JO_CHAT, "Tuesday 1 December at 18:00")
    assert sam == ["Hi Sam, your group meets on Tuesday 1 December at 18:00. Hope to see you there."]
    assert jo == ["Hi Jo, your group meets on Tuesday 1 December at 18:00. Hope to see you there."]
    # The group chat: one neutral post, no names.
    posts = tg_texts(h, GROUP_CHAT, "Tuesday 1 December")
    assert posts == ["Reminder: the group meets on Tuesday 1 December at 18:00, Hope Centre."
                     " All welcome."]
    # Alex is in the Thursday group: nothing about Tuesday.
    assert not sms_texts(h, ALEX, "Tuesday")
    assert sms_texts(h, ALEX, "your group meets on Thursday 26 November at 18:30")
    await run_until(h, TUE_16)
    assert sms_texts(h, SAM, "meets soon") and tg_texts(h, JO_CHAT, "meets soon")
    assert tg_texts(h, GROUP_CHAT, "The group meets soon: Tuesday 1 December at 18:00")
    for text in tg_texts(h, GROUP_CHAT):
        assert not GROUP_NEVER.search(text), text
        assert "Sam" not in text and "Jo " not in text


async def test_a_member_who_opts_out_or_leaves_gets_no_more_reminders(harness: Harness) -> None:
    h = harness
    w = await world(h)
    await h.sms(SAM, "STOP")
    await h.write(lambda tx: enrolment.leave(tx, h.clock.now(), w.jo, "moved away"))
    await run_until(h, MON_18)
    assert not sms_texts(h, SAM, "group meets")
    assert not tg_texts(h, JO_CHAT, "group meets")
    outcome = await h.db.value("SELECT outcome FROM timers WHERE key LIKE 'meeting:%:' || ?"
                               " || ':1d'", (w.jo,))
    assert outcome == "left the group"


async def test_the_link_code_is_single_use_and_a_wrong_one_is_refused(harness: Harness) -> None:
    h = harness
    w = await world(h)
    # Added to a chat: one neutral hint, nothing else.
    await h.tg(member_update(GROUP_CHAT, "member"))
    await h.settle()
    assert tg_texts(h, GROUP_CHAT) == ["Hello. To get meeting reminders here, the group's mentor"
                                       " sends /link and the code they were given."]
    code = await h.write(lambda tx: group_chat.new_chat_code(tx, h.clock.now(), w.tuesday))
    await group_text(h, GROUP_CHAT, "/link WRONGCODE1", from_id=GIL_CHAT)
    assert tg_texts(h, GROUP_CHAT, "That code didn't work")
    # /start@botname CODE works as well as /link CODE.
    await group_text(h, GROUP_CHAT, f"/start@o2r_test_bot {code}", from_id=GIL_CHAT)
    row = await h.db.one("SELECT chat_id, chat_status FROM aftercare_groups WHERE id = ?",
                         (w.tuesday,))
    assert tuple(row) == (str(GROUP_CHAT), "linked")
    other = -1009999999999
    await group_text(h, other, f"/link {code}", from_id=GIL_CHAT)
    assert tg_texts(h, other, "That code didn't work")
    assert await h.db.value("SELECT chat_id FROM aftercare_groups WHERE id = ?",
                            (w.tuesday,)) == str(GROUP_CHAT)


async def test_a_bot_removed_from_the_chat_stops_posting_there(harness: Harness) -> None:
    h = harness
    w = await world(h)
    await link_chat(h, w.tuesday)
    before = len(tg_texts(h, GROUP_CHAT))
    r = await h.tg(member_update(GROUP_CHAT, "kicked"))
    assert r.status_code == 200
    row = await h.db.one("SELECT chat_status, chat_changed_at FROM aftercare_groups WHERE id = ?",
                         (w.tuesday,))
    assert row["chat_status"] == "removed" and row["chat_changed_at"]
    await run_until(h, TUE_16)
    assert len(tg_texts(h, GROUP_CHAT)) == before
    # Members are still reminded privately.
    assert sms_texts(h, SAM, "meets soon")
    outcomes = [r[0] for r in await h.db.all(
        "SELECT outcome FROM timers WHERE kind = 'meeting_group_post' AND status = 'done'")]
    assert outcomes and set(outcomes) == {"skipped: no group chat"}


async def test_group_chats_are_held_to_telegrams_group_rate(harness: Harness) -> None:
    h = harness
    assert load_settings({}).telegram_group_rate == Rate(20, 60)
    assert load_settings({"O2R_TELEGRAM_GROUP_RATE": "10/m"}).telegram_group_rate == Rate(10, 60)
    disp = h.service.dispatcher
    assert disp is not None
    assert disp.group_limit(str(GIL_CHAT)) is None  # private chats: the per-chat rate only
    disp.settings = replace(disp.settings, telegram_group_rate=Rate(2, 1))
    chat = Identity(None, "telegram", str(GROUP_CHAT), None, None, False)

    async def queue(tx):  # type: ignore[no-untyped-def]
        for n in range(3):
            await enqueue(tx, h.clock.now(), chat, f"post {n}", reply=True)
    await h.write(queue)
    await h.settle()
    times = [r.received_at for r in h.telegram.sent("sendMessage")
             if int(r.params["chat_id"]) == GROUP_CHAT]
    assert len(times) == 3
    # No window of the rate's length ever holds more than its count (2 a second here; 20 a
    # minute in production), however the requests bunch.
    assert times[2] - times[0] >= 1.0
    limit = disp.group_limit(str(GROUP_CHAT))
    assert limit is not None and (limit.count, limit.window) == (2, 1)


async def test_meetings_are_topped_up_daily_and_survive_a_restart(harness: Harness) -> None:
    h = harness
    w = await world(h)
    planned = await h.db.value("SELECT COUNT(*) FROM group_meetings WHERE group_id = ?",
                               (w.tuesday,))
    assert planned == 4  # 28 days ahead
    await run_until(h, datetime(2026, 12, 3, 12, 30, tzinfo=UTC))
    assert await h.db.value("SELECT COUNT(*) FROM group_meetings WHERE group_id = ?",
                            (w.tuesday,)) == 5
    keys = [r[0] for r in await h.db.all(
        "SELECT key FROM timers WHERE kind = 'aftercare_plan' ORDER BY key")]
    assert keys[-1] == "aftercare_plan:2026-12-04"
    assert (h.clock.now() - datetime(2026, 12, 3, 12, 30, tzinfo=UTC)) < timedelta(minutes=1)
