"""The fake provider servers work with the REAL python-telegram-bot and twilio libraries."""

from __future__ import annotations

import asyncio
import re
import time
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.twilio_sms import RateLimited, RedirectingHttpClient
from tests.fakes import (
    BLOCKED_DESCRIPTION,
    DEFAULT_TOKEN,
    SECRET_HEADER,
    FakeTelegramApi,
    FakeTwilioApi,
    count_segments,
    make_callback_update,
    make_group_text_update,
    make_text_update,
)

TO = "+447700900123"  # Ofcom-reserved fictional numbers
TO_2 = "+447700900124"
FROM = "+447700900001"
CHAT = 700900123
CHAT_2 = 700900124

# ---------------------------------------------------------------------- fixtures


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramApi]:
    async with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegramApi) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url) as the_bot:
        yield the_bot


@pytest.fixture
async def tw() -> AsyncIterator[FakeTwilioApi]:
    async with FakeTwilioApi() as fake:
        yield fake


@pytest.fixture
async def twilio(tw: FakeTwilioApi) -> AsyncIterator[Client]:
    http = RedirectingHttpClient(tw.url, timeout=0.2)
    try:
        yield Client(tw.account_sid, tw.auth_token, http_client=http)
    finally:
        await http.close()


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _keyboard(data: str = "ok") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data=data)]])


# ---------------------------------------------------------------------- Telegram


async def test_telegram_send_message_returns_message(tg: FakeTelegramApi, bot: Bot) -> None:
    assert bot.username == "o2r_test_bot"
    msg = await bot.send_message(CHAT, "Hello 👋", reply_markup=_keyboard("yes"))

    assert msg.message_id == 1
    assert msg.chat.id == CHAT and msg.chat.type == ChatType.PRIVATE
    assert msg.from_user is not None and msg.from_user.id == bot.id and msg.from_user.is_bot
    assert msg.text == "Hello 👋"
    assert msg.reply_markup == _keyboard("yes")

    assert (await bot.send_message(CHAT, "second")).message_id == 2
    assert (await bot.send_message(CHAT_2, "other chat")).message_id == 1

    [getme] = tg.sent("getMe")
    sent = tg.sent("sendMessage")
    assert [r.params["text"] for r in sent] == ["Hello 👋", "second", "other chat"]
    first = sent[0]
    assert first.params["chat_id"] == CHAT  # form value decoded back to int
    assert first.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "OK", "callback_data": "yes"}]]
    }
    assert first.status == 200 and first.response["result"]["message_id"] == 1
    assert getme.received_at <= first.received_at <= sent[1].received_at
    assert tg.message(CHAT, 1) is not None


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_telegram_rate_limit_raises_retry_after(tg: FakeTelegramApi, bot: Bot) -> None:
    tg.rate_limit("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "hi")
    with warnings.catch_warnings():  # PTB 22 warns about int vs timedelta on access
        warnings.simplefilter("ignore")
        assert _seconds(caught.value.retry_after) == 7
    [record] = tg.requests("sendMessage")
    assert record.status == 429 and record.fault == "rate_limit" and not record.ok
    assert record.response["parameters"] == {"retry_after": 7}

    await bot.send_message(CHAT, "hi again")  # the fault was consumed
    assert len(tg.sent("sendMessage")) == 1


async def test_telegram_blocked_raises_forbidden(tg: FakeTelegramApi, bot: Bot) -> None:
    tg.blocked("sendMessage")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "fine now")

    tg.block(CHAT)  # persistent per-chat state rather than a one-shot fault
    for _ in range(2):
        with pytest.raises(Forbidden, match=BLOCKED_DESCRIPTION):
            await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT_2, "other chats still work")


async def test_telegram_server_error_raises_network_error(tg: FakeTelegramApi, bot: Bot) -> None:
    tg.fail("sendMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(CHAT, "hi")
        assert type(caught.value) is NetworkError
        assert "Internal Server Error" in caught.value.message
    assert tg.pending_faults("sendMessage") == 0
    await bot.send_message(CHAT, "recovered")


async def test_telegram_timeout_raises_timed_out(tg: FakeTelegramApi, bot: Bot) -> None:
    tg.timeout("sendMessage", seconds=10)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "hi", read_timeout=0.2)
    assert time.monotonic() - started < 2
    assert tg.sent("sendMessage") == []  # deliver=False: nothing was sent

    tg.timeout("sendMessage", seconds=10, deliver=True)
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "maybe", read_timeout=0.2)
    [ghost] = tg.sent("sendMessage")  # ...but Telegram did deliver it
    assert ghost.params["text"] == "maybe" and ghost.fault == "timeout"


async def test_telegram_unknown_token_and_method(tg: FakeTelegramApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=tg.base_url):
            pass
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tg.base_url}{tg.token}/noSuchMethod", json={}) as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert [r.status for r in tg.records] == [401, 404]


async def test_telegram_edit_callback_webhook_and_chat_action(
    tg: FakeTelegramApi, bot: Bot
) -> None:
    msg = await bot.send_message(CHAT, "Did you take it?", reply_markup=_keyboard("a"))
    edited = await bot.edit_message_text("Thanks!", chat_id=CHAT, message_id=msg.message_id)
    assert isinstance(edited, type(msg)) and edited.text == "Thanks!"
    assert edited.reply_markup is None and edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Thanks!", chat_id=CHAT, message_id=msg.message_id)
    edited = await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=msg.message_id, reply_markup=_keyboard("b")
    )
    assert edited.reply_markup == _keyboard("b")
    current = tg.message(CHAT, msg.message_id)
    assert current is not None and current["text"] == "Thanks!"

    assert await bot.answer_callback_query("cbq-1", text="Noted") is True
    assert await bot.send_chat_action(CHAT, ChatAction.TYPING) is True

    assert await bot.set_webhook("https://o2r.test/tg", secret_token="s3cret_-X") is True
    assert tg.webhook is not None and tg.webhook["secret_token"] == "s3cret_-X"
    info = await bot.get_webhook_info()
    assert info.url == "https://o2r.test/tg"
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("https://o2r.test/tg", secret_token="bad secret!")
    assert await bot.delete_webhook() is True
    assert (await bot.get_webhook_info()).url == ""
    assert tg.sent("setWebhook")[0].params["url"] == "https://o2r.test/tg"


async def test_update_builders_parse_with_ptb(bot: Bot) -> None:
    text = Update.de_json(make_text_update(1, CHAT, "/start abc"), bot)
    assert text is not None and text.message is not None
    assert text.message.text == "/start abc" and text.message.chat.type == ChatType.PRIVATE
    assert text.effective_user is not None and text.effective_user.id == CHAT
    assert text.message.entities[0].type == "bot_command"
    assert text.message.entities[0].length == len("/start")

    cb = Update.de_json(make_callback_update(2, CHAT, "taken:1", message_id=5), bot)
    assert cb is not None and cb.callback_query is not None
    assert cb.callback_query.data == "taken:1"
    assert cb.effective_message is not None and cb.effective_message.message_id == 5

    group = Update.de_json(make_group_text_update(3, -4001, "hi all", from_id=CHAT), bot)
    assert group is not None and group.effective_chat is not None
    assert group.effective_chat.type == ChatType.GROUP and group.effective_chat.id == -4001


async def test_wait_for_and_reset(tg: FakeTelegramApi, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(CHAT, "late")

    task = asyncio.create_task(later())
    [record] = await tg.wait_for("sendMessage", timeout=2)
    assert record.params["text"] == "late"
    await task

    tg.fail("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "x")
    with pytest.raises(TimeoutError, match=r"(?s)wanted 2 accepted 'sendMessage'.*-> 500 \[fail\]"):
        await tg.wait_for("sendmessage", count=2, timeout=0.05)
    tg.reset()
    assert tg.records == [] and tg.message(CHAT, 1) is None


async def test_fake_in_background_thread_with_cross_thread_wait() -> None:
    fake = FakeTelegramApi()
    fake.start_in_thread()
    try:
        async with Bot(DEFAULT_TOKEN, base_url=fake.base_url) as bot:
            await bot.send_message(CHAT, "from another loop")
        [record] = await fake.wait_for("sendMessage", timeout=2)
        assert record.params["text"] == "from another loop"
    finally:
        fake.stop_thread()
    assert not fake.running


def test_twilio_fake_in_thread_sync() -> None:
    with FakeTwilioApi() as fake:
        resp = requests.post(
            f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json",
            data={"To": TO, "From": FROM, "Body": "sync"},
            auth=(fake.account_sid, fake.auth_token),
            timeout=5,
        )
        assert resp.status_code == 201 and resp.json()["body"] == "sync"
        [record] = fake.wait_for_sync("messages.create", timeout=2)
        assert record.params == {"To": TO, "From": FROM, "Body": "sync"}


async def test_deliver_update_and_signed_status_callback(
    tg: FakeTelegramApi, tw: FakeTwilioApi, twilio: Client
) -> None:
    seen: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    async def receive(request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            seen.append(("tg", await request.json(), dict(request.headers)))
        else:
            seen.append(("tw", dict(await request.post()), dict(request.headers)))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    app_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
            await bot.set_webhook(f"{app_url}/telegram", secret_token="abc")
        update = make_text_update(10, CHAT, "yes")
        assert await tg.deliver_update(update) == (200, "ok")

        callback = f"{app_url}/twilio/status"
        msg = await twilio.messages.create_async(
            to=TO, from_=FROM, body="hi", status_callback=callback
        )
        assert msg.sid is not None
        status, _ = await tw.send_status_callback(msg.sid, "delivered")
        assert status == 200
    finally:
        await runner.cleanup()

    (kind1, body1, headers1), (kind2, form2, headers2) = seen
    assert kind1 == "tg" and body1 == update and headers1[SECRET_HEADER] == "abc"
    assert kind2 == "tw" and form2["MessageStatus"] == "delivered"
    assert form2["MessageSid"] == msg.sid
    validator = RequestValidator(tw.auth_token)
    assert validator.validate(callback, form2, headers2["X-Twilio-Signature"])


# ---------------------------------------------------------------------- Twilio


async def test_twilio_create_returns_message(tw: FakeTwilioApi, twilio: Client) -> None:
    msg = await twilio.messages.create_async(to=TO, from_=FROM, body="hi")
    assert msg.sid is not None and re.fullmatch(r"SM[0-9a-f]{32}", msg.sid)
    assert (msg.status, msg.to, msg.from_, msg.body) == ("queued", TO, FROM, "hi")
    assert msg.num_segments == "1" and msg.direction == "outbound-api"
    assert msg.account_sid == tw.account_sid and msg.error_code is None
    assert msg.date_created is not None and msg.price is None

    [record] = tw.sent("messages.create")
    assert record.params == {"To": TO, "From": FROM, "Body": "hi"}
    assert record.status == 201 and record.response["sid"] == msg.sid
    assert record.headers["Authorization"].startswith("Basic ")

    via_service = await twilio.messages.create_async(
        to=TO_2, messaging_service_sid="MG" + "0" * 32, body="ж" * 71
    )
    assert via_service.status == "accepted" and via_service.from_ is None
    assert via_service.num_segments == "2"

    fetched = await twilio.messages(msg.sid).fetch_async()
    assert fetched.body == "hi"


async def test_twilio_list_newest_first_with_paging(tw: FakeTwilioApi, twilio: Client) -> None:
    sids = [
        (await twilio.messages.create_async(to=TO, from_=FROM, body=f"m{i}")).sid for i in range(3)
    ]
    await twilio.messages.create_async(to=TO_2, from_=FROM, body="other")
    listed = await twilio.messages.list_async(to=TO, page_size=2)
    assert [m.sid for m in listed] == sids[::-1]
    assert len(tw.sent("messages.list")) == 2  # second page fetched via next_page_uri


async def test_twilio_server_error(tw: FakeTwilioApi, twilio: Client) -> None:
    tw.fail("messages.create", status=500)
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(to=TO, from_=FROM, body="hi")
    assert caught.value.status == 500 and caught.value.code == 20500
    assert tw.sent() == [] and tw.messages() == []
    await twilio.messages.create_async(to=TO, from_=FROM, body="hi")


async def test_twilio_unsubscribed_21610(tw: FakeTwilioApi, twilio: Client) -> None:
    tw.unsubscribed()
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(to=TO, from_=FROM, body="hi")
    assert caught.value.code == 21610 and caught.value.status == 400
    assert "unsubscribed recipient" in caught.value.msg

    tw.unsubscribe(TO_2)
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(to=TO_2, from_=FROM, body="hi")
    assert caught.value.code == 21610


async def test_twilio_rate_limit_and_bad_auth(tw: FakeTwilioApi, twilio: Client) -> None:
    tw.rate_limit("messages.create", retry_after=3)
    # Our client surfaces the Retry-After that the library would drop.
    with pytest.raises(RateLimited) as limited:
        await twilio.messages.create_async(to=TO, from_=FROM, body="hi")
    assert limited.value.retry_after == 3.0

    http = RedirectingHttpClient(tw.url, timeout=15)
    try:
        wrong = Client(tw.account_sid, "wrong-token", http_client=http)
        with pytest.raises(TwilioRestException) as caught:
            await wrong.messages.create_async(to=TO, from_=FROM, body="hi")
    finally:
        await http.close()
    assert (caught.value.status, caught.value.code) == (401, 20003)


async def test_twilio_timeout(tw: FakeTwilioApi, twilio: Client) -> None:
    tw.timeout("messages.create", seconds=10)
    started = time.monotonic()
    with pytest.raises(TimeoutError):  # plain builtin TimeoutError from aiohttp, not wrapped
        await twilio.messages.create_async(to=TO, from_=FROM, body="hi")
    assert time.monotonic() - started < 2
    assert await twilio.messages.list_async(to=TO) == []

    tw.timeout("messages.create", seconds=10, deliver=True)
    with pytest.raises(TimeoutError):
        await twilio.messages.create_async(to=TO, from_=FROM, body="ambiguous")
    [went_through] = await twilio.messages.list_async(to=TO)
    assert went_through.body == "ambiguous"


def test_count_segments() -> None:
    assert count_segments("") == 1
    assert [count_segments("a" * n) for n in (160, 161, 306, 307)] == [1, 2, 2, 3]
    assert count_segments("€" * 80) == 1  # extension chars take two septets
    assert count_segments("€" * 81) == 2
    assert [count_segments("ж" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert count_segments("😀" * 35) == 1  # surrogate pairs: two UCS-2 units
    assert count_segments("😀" * 36) == 2
