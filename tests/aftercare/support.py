"""Shared setup for the aftercare tests (no tests here): officers, two mentors (Gil on Telegram,
Mia by SMS), members, and two groups. Invented names; reserved numbers only."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.aftercare import enrolment, group_chat, mentors
from bot.core.clock import iso, parse_iso
from tests.conftest import Harness
from tests.fakes.telegram_api import make_group_text_update

DANA_CHAT, LEE_CHAT = 7001, 7002
DANA_PHONE, LEE_PHONE = "+447700900101", "+447700900102"
GIL_CHAT = 8010  # a mentor on Telegram (a graduate, Dana's client)
MIA = "+447700900211"  # a mentor by SMS (a graduate, Lee's client)
SAM, ALEX = "+447700900123", "+447700900124"
JO_CHAT = 8002
GROUP_CHAT = -1001234567890
_updates = itertools.count(50_000)


@dataclass
class World:
    dana: int
    lee: int
    gil_client: int
    gil: int  # staff id of the mentor
    mia_client: int
    mia: int
    sam: int  # Dana's client, Tuesday group, SMS
    jo: int  # Lee's client, Tuesday group, Telegram
    alex: int  # Dana's client, Thursday group, SMS
    tuesday: int
    thursday: int


async def promote(h: Harness, client_id: int) -> int:
    return int(await h.write(lambda tx: mentors.promote(tx, h.clock.now(), client_id,
                                                        agreed=True)))


async def world(h: Harness, *, tuesday: str = "weekly:tue 18:00",
                thursday: str = "weekly:thu 18:30") -> World:
    dana = await h.add_officer("Dana Hughes", phone=DANA_PHONE, chat=DANA_CHAT)
    lee = await h.add_officer("Lee Okafor", phone=LEE_PHONE, chat=LEE_CHAT)
    gil_client = await h.add_client("C-10", "Gil", officer=dana, phone=None, chat=GIL_CHAT,
                                    stage="aftercare")
    mia_client = await h.add_client("C-11", "Mia", officer=lee, phone=MIA, stage="aftercare")
    sam = await h.add_client("C-1", "Sam", officer=dana, phone=SAM, stage="aftercare")
    jo = await h.add_client("C-2", "Jo", officer=lee, phone=None, chat=JO_CHAT,
                            stage="aftercare")
    alex = await h.add_client("C-3", "Alex", officer=dana, phone=ALEX, stage="aftercare")
    gil, mia = await promote(h, gil_client), await promote(h, mia_client)
    now = h.clock.now()
    tue = int(await h.write(lambda tx: enrolment.add_group(
        tx, now, name="Tuesday group", mentor_ids=[gil], meets=tuesday, place="Hope Centre")))
    thu = int(await h.write(lambda tx: enrolment.add_group(
        tx, now, name="Thursday group", mentor_ids=[mia], meets=thursday)))
    for group_id, client_id in ((tue, sam), (tue, jo), (thu, alex)):
        await h.write(lambda tx, g=group_id, c=client_id: enrolment.enrol(tx, now, g, c))
    await h.settle()
    return World(dana, lee, gil_client, gil, mia_client, mia, sam, jo, alex, tue, thu)


def tg_texts(h: Harness, chat: int, containing: str = "") -> list[str]:
    return [r.params["text"] for r in h.telegram.sent("sendMessage")
            if int(r.params["chat_id"]) == chat and containing in r.params["text"]]


def tg_last(h: Harness, chat: int) -> Any:
    return [r for r in h.telegram.sent("sendMessage") if int(r.params["chat_id"]) == chat][-1]


def sms_texts(h: Harness, phone: str, containing: str = "") -> list[str]:
    return [r.params["Body"] for r in h.twilio.sent("messages.create")
            if r.params["To"] == phone and containing in r.params["Body"]]


async def group_text(h: Harness, chat: int, text: str, from_id: int) -> None:
    r = await h.tg(make_group_text_update(next(_updates), chat, text, from_id=from_id))
    assert r.status_code == 200
    await h.settle()


async def link_chat(h: Harness, group_id: int, chat: int = GROUP_CHAT) -> None:
    code = await h.write(lambda tx: group_chat.new_chat_code(tx, h.clock.now(), group_id))
    await group_text(h, chat, f"/link {code}", from_id=GIL_CHAT)


def member_update(chat: int, status: str) -> dict[str, Any]:
    """The bot's own membership in a group changed (my_chat_member)."""
    return {"update_id": next(_updates), "my_chat_member": {
        "chat": {"id": chat, "type": "supergroup", "title": "Tuesday"},
        "from": {"id": GIL_CHAT, "is_bot": False, "first_name": "Gil"}, "date": 0,
        "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True,
                                                         "first_name": "o2r"}},
        "new_chat_member": {"status": status, "user": {"id": 1, "is_bot": True,
                                                       "first_name": "o2r"}}}}


def buttons_to(h: Harness, chat: int, prefix: str) -> tuple[Any, list[list[dict[str, str]]]]:
    """The latest message to `chat` whose buttons start with `prefix` ('ag:a:'...)."""
    for r in reversed(h.telegram.sent("sendMessage")):
        markup = r.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        if int(r.params["chat_id"]) == chat and rows and \
                rows[0][0]["callback_data"].startswith(prefix):
            return r, rows
    raise AssertionError(f"no message with {prefix} buttons to {chat}")


async def press(h: Harness, chat: int, data: str, message: Any) -> None:
    r = await h.tg_callback(chat, data, message.response["result"]["message_id"], from_id=chat)
    assert r.status_code == 200
    await h.settle()


async def run_until(h: Harness, moment: Any) -> None:
    """Walk the clock to `moment`, ticking at every due timer on the way (a running service)."""
    target = moment
    for _ in range(3000):
        due = await h.db.value("SELECT MIN(due_at) FROM timers WHERE status = 'pending'")
        step = min(parse_iso(due), target) if due else target
        await h.advance(max(step - h.clock.now(), timedelta(0)))
        if step >= target and not await h.db.value(
                "SELECT 1 FROM timers WHERE status = 'pending' AND due_at <= ?", (iso(target),)):
            return
    raise AssertionError("the clock walk did not settle")
