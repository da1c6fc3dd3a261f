"""The inbound path and the outbox, end to end through the real twilio and python-telegram-bot
libraries against the local fake providers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.identities import find_identity
from bot.core.outbox import enqueue
from bot.core.segments import count_segments
from tests.conftest import PUBLIC_URL, TWILIO_FROM, Harness

SAM = "+447700900123"
STRANGER = "+447700900999"


async def count(h: Harness, sql: str, *params: object) -> int:
    return int(await h.db.value(sql, params))


async def queue_text(h: Harness, address: str, body: str, channel: str = "sms") -> int:
    async def work(tx):  # type: ignore[no-untyped-def]
        ident = await find_identity(tx, channel, address)
        assert ident is not None
        return await enqueue(tx, h.clock.now(), ident, body)
    row = await h.write(work)
    h.service.wake()
    return int(row)


# Twilio inbound ---------------------------------------------------------------------------

async def test_signed_sms_gets_reply_at_fake_twilio(harness: Harness) -> None:
    await harness.add_client()
    r = await harness.sms(SAM, "help")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    await harness.settle()
    sent = harness.twilio.sent("messages.create")
    assert len(sent) == 1
    assert sent[0].params["To"] == SAM
    assert sent[0].params["From"] == TWILIO_FROM
    assert "STOP" in sent[0].params["Body"]
    assert sent[0].params["StatusCallback"] == PUBLIC_URL + "/webhooks/twilio/status"
    row = (await harness.outbox(address=SAM))[0]
    assert row["status"] == "sent" and row["provider_id"].startswith("SM")
    # HELP lists every keyword since issue 16: two segments, counted from the body sent.
    assert row["segments"] == count_segments(sent[0].params["Body"]) == 2


async def test_unsigned_or_wrongly_signed_sms_is_refused_and_not_stored(harness: Harness) -> None:
    await harness.add_client()
    missing = await harness.sms(SAM, "hello", signature="")
    wrong = await harness.sms(SAM, "hello", signature="bm90IGEgc2lnbmF0dXJl")
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 0
    assert await count(harness, "SELECT COUNT(*) FROM outbox") == 0


async def test_signature_covers_every_field(harness: Harness) -> None:
    """A field added after signing (here a forged Body) breaks the signature."""
    await harness.add_client()
    params = {"MessageSid": "SM" + "1" * 32, "From": SAM, "To": TWILIO_FROM, "Body": "hello"}
    sig = harness.twilio.signature(PUBLIC_URL + "/webhooks/twilio/sms", params)
    r = await harness.client.post("/webhooks/twilio/sms", data={**params, "Extra": "x"},
                                  headers={"X-Twilio-Signature": sig})
    assert r.status_code == 403
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 0


async def test_same_message_sid_twice_is_stored_and_answered_once(harness: Harness) -> None:
    await harness.add_client()
    sid = "SM" + "7" * 32
    first, second = await asyncio.gather(harness.sms(SAM, "help", sid=sid),
                                         harness.sms(SAM, "help", sid=sid))
    assert first.status_code == second.status_code == 200
    third = await harness.sms(SAM, "help", sid=sid)
    assert third.status_code == 200
    await harness.settle()
    assert await count(harness, "SELECT COUNT(*) FROM inbound WHERE provider_id = ?", sid) == 1
    assert len(harness.twilio.sent("messages.create")) == 1


async def test_unknown_number_is_unmatched_with_one_neutral_reply_a_day(harness: Harness) -> None:
    for text in ("hi who is this", "hello?", "anyone there"):
        assert (await harness.sms(STRANGER, text)).status_code == 200
    await harness.settle()
    rows = await harness.db.all("SELECT status, client_id FROM inbound WHERE address = ?",
                                (STRANGER,))
    assert [r["status"] for r in rows] == ["unmatched"] * 3
    assert all(r["client_id"] is None for r in rows)
    sent = harness.twilio.sent("messages.create")
    assert len(sent) == 1
    body = sent[0].params["Body"].lower()
    for word in ("police", "rehab", "drug", "officer", "programme", "o2r"):
        assert word not in body
    await harness.advance(timedelta(days=1))
    await harness.sms(STRANGER, "hello again")
    await harness.settle()
    assert len(harness.twilio.sent("messages.create")) == 2


async def test_stop_silences_everything_but_the_confirmation_and_start_resumes(
        harness: Harness) -> None:
    await harness.add_client()
    await harness.sms(SAM, "STOP")
    await harness.settle()
    assert len(harness.twilio.sent("messages.create")) == 1
    await harness.sms(SAM, "stop")  # a second STOP gets no second confirmation
    await queue_text(harness, SAM, "A routine message that must not go")
    await harness.settle()
    assert len(harness.twilio.sent("messages.create")) == 1
    cancelled = await harness.outbox(address=SAM, status="cancelled")
    assert [r["last_error"] for r in cancelled] == ["opted out"]
    await harness.sms(SAM, "START")
    await harness.settle()
    await queue_text(harness, SAM, "Back on")
    await harness.settle()
    bodies = [r.params["Body"] for r in harness.twilio.sent("messages.create")]
    assert len(bodies) == 3 and bodies[-1] == "Back on"


async def test_stop_is_only_a_keyword_when_sent_alone(harness: Harness) -> None:
    await harness.add_client()
    await harness.sms(SAM, "please don't stop texting me")
    await harness.settle()
    assert await count(harness, "SELECT COUNT(*) FROM opt_outs") == 0


# Status callbacks ----------------------------------------------------------------------------

async def test_delivery_status_never_goes_backwards(harness: Harness) -> None:
    await harness.add_client()
    await queue_text(harness, SAM, "Hello")
    await harness.settle()
    sid = (await harness.outbox(address=SAM))[0]["provider_id"]

    async def status(value: str, signed: bool = True) -> int:
        params = {"MessageSid": sid, "MessageStatus": value, "AccountSid": "AC" + "0" * 32}
        url = PUBLIC_URL + "/webhooks/twilio/status"
        headers = {"X-Twilio-Signature": harness.twilio.signature(url, params) if signed else "x"}
        r = await harness.client.post("/webhooks/twilio/status", data=params, headers=headers)
        return r.status_code

    assert await status("delivered") == 204
    assert await status("sent") == 204  # late, earlier status: ignored
    assert await status("failed", signed=False) == 403
    row = (await harness.outbox(address=SAM))[0]
    assert row["delivery_status"] == "delivered"


async def test_status_21610_marks_the_number_opted_out(harness: Harness) -> None:
    await harness.add_client()
    await queue_text(harness, SAM, "Hello")
    await harness.settle()
    sid = (await harness.outbox(address=SAM))[0]["provider_id"]
    params = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610"}
    sig = harness.twilio.signature(PUBLIC_URL + "/webhooks/twilio/status", params)
    r = await harness.client.post("/webhooks/twilio/status", data=params,
                                  headers={"X-Twilio-Signature": sig})
    assert r.status_code == 204
    assert await count(harness, "SELECT COUNT(*) FROM opt_outs") == 1


# Dispatcher: retries, rate limits, permanent errors ---------------------------------------

async def test_provider_500_twice_then_200_sends_once_with_attempts_recorded(
        harness: Harness) -> None:
    await harness.add_client()
    harness.twilio.fail("messages.create", status=500, times=2)
    row_id = await queue_text(harness, SAM, "Third time lucky")
    for _ in range(3):
        await harness.advance(timedelta(seconds=1))
    assert len(harness.twilio.sent("messages.create")) == 1
    assert len(harness.twilio.requests("messages.create")) == 3
    attempts = await harness.db.all(
        "SELECT outcome FROM outbox_attempts WHERE outbox_id = ? ORDER BY id", (row_id,))
    assert [a["outcome"] for a in attempts] == ["retry", "retry", "sent"]
    row = (await harness.outbox(id=row_id))[0]
    assert row["status"] == "sent" and row["attempts"] == 3


async def test_telegram_429_retry_after_is_honoured(harness: Harness) -> None:
    await harness.add_client(phone=None, chat=5551)
    harness.telegram.rate_limit("sendMessage", retry_after=30)
    row_id = await queue_text(harness, "5551", "Hello on Telegram", channel="telegram")
    await harness.settle()
    row = (await harness.outbox(id=row_id))[0]
    assert row["status"] == "queued"
    # Not before the 30 seconds Telegram asked for...
    await harness.advance(timedelta(seconds=20))
    assert len(harness.telegram.sent("sendMessage")) == 0
    # ...and right after.
    await harness.advance(timedelta(seconds=11))
    assert len(harness.telegram.sent("sendMessage")) == 1


async def test_twilio_429_retry_after_is_honoured(harness: Harness) -> None:
    await harness.add_client()
    harness.twilio.fault("messages.create", 429, {"code": 20429, "message": "Too Many Requests",
                                                  "more_info": "", "status": 429},
                         headers={"Retry-After": "40"})
    row_id = await queue_text(harness, SAM, "Hello")
    await harness.settle()
    next_at = (await harness.outbox(id=row_id))[0]["next_attempt_at"]
    expected = (harness.clock.now() + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%S")
    assert next_at.startswith(expected)


async def test_twilio_21610_on_send_marks_opt_out_and_fails_visibly(harness: Harness) -> None:
    await harness.add_client()
    harness.twilio.unsubscribed()
    row_id = await queue_text(harness, SAM, "Hello")
    await harness.settle()
    row = (await harness.outbox(id=row_id))[0]
    assert row["status"] == "failed" and "21610" in row["last_error"]
    assert await count(harness, "SELECT COUNT(*) FROM opt_outs") == 1


async def test_telegram_blocked_marks_opt_out(harness: Harness) -> None:
    await harness.add_client(phone=None, chat=5552)
    harness.telegram.blocked()
    row_id = await queue_text(harness, "5552", "Hello", channel="telegram")
    await harness.settle()
    assert (await harness.outbox(id=row_id))[0]["status"] == "failed"
    assert await count(harness, "SELECT COUNT(*) FROM opt_outs") == 1


async def test_timed_out_send_that_twilio_took_is_not_sent_twice(harness: Harness) -> None:
    await harness.add_client()
    harness.twilio.timeout("messages.create", seconds=3, deliver=True)
    row_id = await queue_text(harness, SAM, "Only once please")
    await harness.settle()
    assert (await harness.outbox(id=row_id))[0]["status"] == "queued"
    await harness.advance(timedelta(seconds=5))
    row = (await harness.outbox(id=row_id))[0]
    assert row["status"] == "sent"
    assert len(harness.twilio.messages(to=SAM)) == 1
    assert row["provider_id"] == harness.twilio.messages(to=SAM)[0]["sid"]


async def test_messages_to_one_person_go_in_order(harness: Harness) -> None:
    await harness.add_client()
    for i in range(5):
        await queue_text(harness, SAM, f"message {i}")
    await harness.settle()
    bodies = [r.params["Body"] for r in harness.twilio.sent("messages.create")]
    assert bodies == [f"message {i}" for i in range(5)]


async def test_a_row_backing_off_does_not_hold_back_the_rows_behind_it(harness: Harness) -> None:
    """Issue 11: a retry waiting out its backoff never delays what may go now; the rows that
    may go keep their order, and the retried one follows."""
    await harness.add_client()
    harness.twilio.fail("messages.create", status=500, times=1)
    for i in range(5):
        await queue_text(harness, SAM, f"message {i}")
    await harness.settle()
    bodies = [r.params["Body"] for r in harness.twilio.sent("messages.create")]
    assert bodies == [f"message {i}" for i in range(1, 5)]
    for _ in range(4):
        await harness.advance(timedelta(seconds=1))
    bodies = [r.params["Body"] for r in harness.twilio.sent("messages.create")]
    assert bodies == [f"message {i}" for i in range(1, 5)] + ["message 0"]


# Telegram inbound -----------------------------------------------------------------------------

async def test_telegram_wrong_or_missing_secret_is_refused(harness: Harness) -> None:
    await harness.add_client(phone=None, chat=5553)
    from tests.fakes.telegram_api import make_text_update

    update = make_text_update(1, 5553, "hi")
    assert (await harness.tg(update, secret="wrong-secret-wrong-secret")).status_code == 403
    assert (await harness.tg(update, secret=None)).status_code == 403
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 0


async def test_telegram_same_update_id_processed_once(harness: Harness) -> None:
    await harness.add_client(phone=None, chat=5554)
    for _ in range(3):
        assert (await harness.tg_text(5554, "help", update_id=77)).status_code == 200
    await harness.settle()
    assert await count(harness, "SELECT COUNT(*) FROM inbound") == 1
    assert len(harness.telegram.sent("sendMessage")) == 1


async def test_malformed_telegram_update_is_a_clear_400(harness: Harness) -> None:
    r = await harness.client.post("/webhooks/telegram", content=b"{not json",
                                  headers={"X-Telegram-Bot-Api-Secret-Token":
                                           "test-webhook-secret-0123456789"})
    assert r.status_code == 400
    assert "malformed" in r.text


async def test_link_code_links_a_telegram_chat_once(harness: Harness) -> None:
    from bot.core.identities import new_link_code

    cid = await harness.add_client(phone=SAM)
    code = await harness.write(lambda tx: new_link_code(tx, harness.clock.now(), client_id=cid))
    assert (await harness.tg_text(6001, f"/start {code}")).status_code == 200
    await harness.settle()
    ident = await harness.db.one("SELECT client_id FROM identities WHERE channel = 'telegram'"
                                 " AND address = '6001'")
    assert ident["client_id"] == cid
    # Single use: a second chat cannot reuse it.
    await harness.tg_text(6002, f"/start {code}")
    await harness.settle()
    assert await harness.db.one(
        "SELECT 1 FROM identities WHERE address = '6002'") is None
    texts = [r.params["text"] for r in harness.telegram.sent("sendMessage")]
    assert "connected" in texts[0] and "didn't work" in texts[-1]


async def test_expired_link_code_is_refused(harness: Harness) -> None:
    from bot.core.identities import new_link_code

    cid = await harness.add_client(phone=SAM)
    code = await harness.write(lambda tx: new_link_code(tx, harness.clock.now(), client_id=cid))
    harness.clock.advance(timedelta(days=3))
    await harness.tg_text(6003, f"/start {code}")
    assert await harness.db.one("SELECT 1 FROM identities WHERE address = '6003'") is None


# Health -----------------------------------------------------------------------------------

METRICS_TOKEN = "m" * 40
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def test_healthz_says_ok_and_nothing_else(harness: Harness) -> None:
    await harness.add_client()
    r = await harness.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


async def test_metrics_are_behind_the_token_and_hold_counts_only(harness: Harness) -> None:
    from dataclasses import replace

    from tests.admin_web.support import raise_amber

    cid = await harness.add_client(first_name="Ottoline")
    await raise_amber(harness, cid)
    # Not configured: there is no such page.
    assert (await harness.client.get("/metrics", headers=METRICS_AUTH)).status_code == 404
    harness.service.settings = replace(harness.service.settings, metrics_token=METRICS_TOKEN)
    for headers in ({}, {"Authorization": "Bearer " + "n" * 40},
                    {"Authorization": METRICS_TOKEN}):
        assert (await harness.client.get("/metrics", headers=headers)).status_code == 401
    r = await harness.client.get("/metrics", headers=METRICS_AUTH)
    body = r.json()
    assert r.status_code == 200 and body["ok"] is True
    assert body["checks"] == {"database": "ok", "dispatcher": "ok", "scheduler": "ok"}
    assert body["escalations_unacknowledged"] == 1 and body["inbound_failed"] == 0
    assert isinstance(body["outbox_queued"], int) and isinstance(body["timers_overdue"], int)
    assert "Ottoline" not in r.text and SAM not in r.text


def test_a_short_metrics_token_stops_the_service(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from config.settings import ConfigError, load_settings

    with pytest.raises(ConfigError, match="O2R_METRICS_TOKEN"):
        load_settings({"O2R_METRICS_TOKEN": "guessable"}, env_file=tmp_path / "none.env")
    assert load_settings({"O2R_METRICS_TOKEN": METRICS_TOKEN},
                         env_file=tmp_path / "none.env").metrics_token == METRICS_TOKEN


async def test_rows_committed_while_the_dispatcher_was_down_are_sent_after_restart(
        harness: Harness) -> None:
    from bot.core.db import Database
    from bot.service import Service

    await harness.add_client()
    settings = harness.service.settings
    await harness.service.stop()
    # Rows committed while nothing was sending (as the CLI does, or just before a crash), one
    # of them caught mid-send (outcome unknown).
    async with Database(settings.db_path, settings) as db:
        async def work(tx):  # type: ignore[no-untyped-def]
            ident = await find_identity(tx, "sms", SAM)
            assert ident is not None
            await enqueue(tx, harness.clock.now(), ident, "Queued before the crash")
            row = await enqueue(tx, harness.clock.now(), ident, "Was being sent")
            await tx.execute("UPDATE outbox SET status = 'sending', attempts = 1 WHERE id = ?",
                             (row,))
            return row
        row = await db.write(work)
    fresh = Service(settings, clock=harness.clock, tick_seconds=3600)
    await fresh.start()
    try:
        assert fresh.dispatcher is not None
        for _ in range(3):
            await fresh.dispatcher.claim_and_start()
            await fresh.dispatcher.drain()
        bodies = [r.params["Body"] for r in harness.twilio.sent("messages.create")]
        assert bodies == ["Queued before the crash", "Was being sent"]
        outcomes = [r["outcome"] for r in await fresh.db.all(
            "SELECT outcome FROM outbox_attempts WHERE outbox_id = ? ORDER BY id", (row,))]
        assert outcomes == ["interrupted", "sent"]
    finally:
        await fresh.stop()


def test_a_live_provider_refuses_the_demo_and_the_simulator(tmp_path, cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: Twilio credentials with O2R_MODE unset used to start "mode demo; simulator on"."""
    import pytest

    from config.settings import ConfigError, load_settings

    live = {"O2R_TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "O2R_TWILIO_AUTH_TOKEN": "t" * 32,
            "O2R_TWILIO_FROM": "+447700900001", "O2R_PUBLIC_URL": PUBLIC_URL}
    none = tmp_path / "none.env"
    with pytest.raises(ConfigError, match=r"^O2R_MODE: Twilio credentials are set"):
        load_settings(live, env_file=none)
    with pytest.raises(ConfigError, match=r"^O2R_MODE: Telegram"):
        load_settings({"O2R_TELEGRAM_TOKEN": "1:" + "a" * 30,
                       "O2R_TELEGRAM_WEBHOOK_SECRET": "s" * 20, "O2R_PUBLIC_URL": PUBLIC_URL},
                      env_file=none)
    prod = {**live, "O2R_MODE": "production", "O2R_SECRET_KEY": "k" * 40}
    with pytest.raises(ConfigError, match=r"^O2R_SIMULATOR"):
        load_settings({**prod, "O2R_SIMULATOR": "on"}, env_file=none)
    settings = load_settings(prod, env_file=none)
    assert settings.mode == "production" and not settings.simulator
    # Without any provider the demo still starts with its simulator.
    assert load_settings({}, env_file=none).simulator

    # `o2r serve` stops before serving, naming the variable.
    for k, v in live.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("O2R_MODE")
    code, _, err = cli("serve")
    assert code == 2 and "O2R_MODE" in err
