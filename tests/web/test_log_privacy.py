"""Logs carry no secrets and no personal data: a whole scenario, every log line grepped.

The service runs under a real uvicorn (its access log included) against the fake providers;
a client in crisis texts and writes on Telegram, the officer's alert goes out, a Twilio send
times out and is looked up, a Telegram send fails once, a supervisor searches the caseload by
name and number. Then the captured logs must not hold the bot token, the Twilio token, the
webhook secret, either phone number, the names or the words the client wrote.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.app import create_app
from bot.core.clock import FixedClock
from bot.core.passwords import hash_password
from bot.core.people import Contact, add_client, add_staff
from bot.demo import DEMO_PASSWORD, seed_demo
from bot.logs import Redactor
from bot.service import Service
from tests.conftest import T0, TG_SECRET
from tests.conftest import test_settings as make_settings
from tests.fakes import FakeTelegramApi, FakeTwilioApi
from tests.fakes.telegram_api import DEFAULT_TOKEN, make_text_update
from tests.fakes.twilio_api import DEFAULT_AUTH_TOKEN

CLIENT_PHONE = "+447700900177"
OFFICER_PHONE = "+447700900178"
OTHER_PHONE = "07700 900179"
CLIENT_CHAT, OFFICER_CHAT = 7700177, 7700178
NAMES = ("Zebedee", "Marigold", "Thistlewood")
WORDS = ("can't go on", "nobody would miss", "help me please")
CSRF_RE = re.compile(r'name="csrftoken" value="([^"]+)"')


def forbidden() -> list[str]:
    digits = [p.lstrip("+") for p in (CLIENT_PHONE, OFFICER_PHONE)]
    return [DEFAULT_TOKEN, DEFAULT_TOKEN.split(":")[1], DEFAULT_AUTH_TOKEN, TG_SECRET,
            *digits, *("0" + d[2:] for d in digits), "900177", "900178", "900179",
            *NAMES, *WORDS]


async def wait_for(check, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def test_a_whole_scenario_logs_no_token_number_name_or_message(
        tmp_path: Path, fakes: tuple[FakeTwilioApi, FakeTelegramApi],
        caplog: pytest.LogCaptureFixture) -> None:
    tw, tg = fakes
    settings = make_settings(tmp_path / "o2r.db", tw.url, tg.url,
                             public_url="http://o2r.example.test")
    clock = FixedClock(T0)
    app = create_app(settings, clock=clock, tick_seconds=3600)
    svc: Service = app.state.service
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="debug", access_log=True)
    server = uvicorn.Server(config)  # Config configured logging: capture on top of it
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):  # they do not propagate
        logging.getLogger(name).addHandler(caplog.handler)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: asyncio.sleep(0, server.started))
        port = server.servers[0].sockets[0].getsockname()[1]
        await seed_demo(svc.db, clock.now())

        async def people(tx):  # type: ignore[no-untyped-def]
            # An officer (no second factor required) who searches her own caseload.
            officer = await add_staff(tx, clock.now(), name="Marigold Thistlewood",
                                      role="officer", username="marigold",
                                      password_hash=hash_password(DEMO_PASSWORD),
                                      contact=Contact(OFFICER_PHONE, str(OFFICER_CHAT)))
            await add_client(tx, clock.now(), ref="C-77", first_name="Zebedee",
                             officer_id=officer,
                             contact=Contact(CLIENT_PHONE, str(CLIENT_CHAT)), consented=True,
                             stage="engagement")
        await svc.db.write(people)

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            tw.timeout("messages.create", seconds=3, deliver=True)
            tg.fail("sendMessage", status=500, times=1)
            params = {"MessageSid": "SM" + "7" * 32, "From": CLIENT_PHONE, "To": "+447700900001",
                      "Body": f"I can't go on, nobody would miss me. Ring {OTHER_PHONE}"}
            sig = tw.signature(settings.public("/webhooks/twilio/sms"), params)
            r = await http.post("/webhooks/twilio/sms", data=params,
                                headers={"X-Twilio-Signature": sig})
            assert r.status_code == 200
            r = await http.post("/webhooks/telegram", json=make_text_update(
                91, CLIENT_CHAT, "help me please, Zebedee here"),
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
            assert r.status_code == 200
            # The Twilio send timed out: after the clock moves, the dispatcher looks it up.
            async def looked_up() -> bool:
                await svc.advance_clock(timedelta(seconds=5))
                await asyncio.sleep(0.1)
                return bool(tw.requests("messages.list"))
            await wait_for(looked_up)
            await wait_for(lambda: asyncio.sleep(0, len(tg.sent("sendMessage")) >= 2))

            page = await http.get("/admin/login")
            token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
            r = await http.post("/admin/login", data={"csrftoken": token, "username": "marigold",
                                                      "password": DEMO_PASSWORD})
            assert r.status_code == 303, r.text[:300]
            for q in ("Zebedee", "07700900177"):
                r = await http.get("/admin/clients", params={"q": q})
                assert r.status_code == 200
                assert q != "Zebedee" or "C-77" in r.text
    finally:
        server.should_exit = True
        await task
        for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).removeHandler(caplog.handler)

    logged = caplog.text
    # The scenario did log: requests, the access log with its paths, the service.
    assert 'POST /webhooks/twilio/sms' in logged and "GET /admin/clients HTTP" in logged
    assert len(logged.splitlines()) > 20
    found = [s for s in forbidden() if s.lower() in logged.lower()]
    assert not found, f"in the logs: {found}"


def test_the_redactor_catches_tokens_numbers_and_text_in_any_shape() -> None:
    redact = Redactor(["twilio-auth-token-0123456789"])
    line = (f"POST https://api.telegram.org/bot{DEFAULT_TOKEN}/sendMessage To=%2B447700900177"
            f"&Body=I+can%27t+go+on {{'text': \"I can't go on\"}} from 07700 900179 or"
            " +44 7700 900178, Authorization: Basic QUM6dG9rZW4= twilio-auth-token-0123456789")
    out = redact(line)
    for secret in (DEFAULT_TOKEN.split(":")[1], "447700900177", "can", "900179", "900178",
                   "QUM6dG9rZW4=", "twilio-auth-token"):
        assert secret not in out, (secret, out)
    # What operators need stays readable.
    assert out.startswith("POST https://api.telegram.org/bot[bot-token]/sendMessage")
    assert redact("outbox row 12 sent at 2026-11-25T10:00:00.000000Z") == \
        "outbox row 12 sent at 2026-11-25T10:00:00.000000Z"


def test_an_exception_logged_with_a_token_in_it_is_redacted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from bot.logs import install

    install(make_settings(tmp_path / "o2r.db", "http://127.0.0.1:9", "http://127.0.0.1:9"))
    caplog.set_level(logging.INFO)
    try:
        raise RuntimeError(f"GET http://x/bot{DEFAULT_TOKEN}/getMe failed for {CLIENT_PHONE}")
    except RuntimeError:
        logging.getLogger("bot.test").exception("sender crashed")
    logging.getLogger("httpx").info("HTTP Request: POST http://x/bot%s/sendMessage", DEFAULT_TOKEN)
    assert "sender crashed" in caplog.text and "RuntimeError" in caplog.text
    assert DEFAULT_TOKEN.split(":")[1] not in caplog.text and "900177" not in caplog.text
    assert "HTTP Request" not in caplog.text  # httpx's per-request lines are quietened
