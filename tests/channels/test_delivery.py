"""Delivery you can trust, through the real twilio and python-telegram-bot clients against fakes
that enforce their limits: pacing without 429s, refusals that cost nothing, outages that lose
nothing, no duplicate after a crash mid-send, receipts that act, the other channel as fallback."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.core.clock import iso
from bot.core.identities import Identity
from bot.core.outbox import enqueue
from bot.service import Service
from config.settings import ConfigError, Rate, load_settings
from tests.admin_web.support import Demo, signed_in, visible
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.channels.test_channels import SAM, queue_text
from tests.conftest import PUBLIC_URL, Harness

demo = demo_fixture
panels = panels_fixture

SAM_CHAT = 7001
CREATE = "messages.create"


async def restart(h: Harness, **changes: Any) -> Service:
    """Stop the service and start a fresh one on the same database (changed settings)."""
    settings = replace(h.service.settings, **changes)
    await h.service.stop()
    fresh = Service(settings, clock=h.clock, tick_seconds=3600)
    await fresh.start()
    h.service = fresh
    h.app.state.service = fresh
    return fresh


async def queue_to(h: Harness, channel: str, addresses: list[str], body: str = "Hello {n}",
                   safety: bool = False) -> list[int]:
    """Rows to ad-hoc recipients (no client: no quiet hours), as a bulk send would queue."""
    async def work(tx):  # type: ignore[no-untyped-def]
        return [await enqueue(tx, h.clock.now(), Identity(None, channel, a, None, None, False),
                              body.format(n=n), safety=safety)
                for n, a in enumerate(addresses)]
    ids = await h.write(work)
    h.service.wake()
    return [int(i) for i in ids]


async def receipt(h: Harness, sid: str, status: str) -> int:
    """Twilio's signed status callback for message `sid`."""
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    sig = h.twilio.signature(PUBLIC_URL + "/webhooks/twilio/status", params)
    r = await h.client.post("/webhooks/twilio/status", data=params,
                            headers={"X-Twilio-Signature": sig})
    return r.status_code


def per_window(times: list[float], window: float) -> int:
    """The most arrivals in any window of `window` seconds."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


async def statuses(h: Harness, ids: list[int]) -> list[str]:
    rows = await h.db.all(f"SELECT status FROM outbox WHERE id IN ({','.join('?' * len(ids))})",
                          tuple(ids))
    return [r[0] for r in rows]


# Pacing -----------------------------------------------------------------------------------

async def test_sms_and_telegram_pace_at_the_providers_limit_with_no_refusal(
        harness: Harness) -> None:
    h = harness
    h.twilio.enforce_rate(4, 0.25)
    h.telegram.enforce_rates(overall=6, per_chat=1, overall_window=0.25)
    # The chat limit is per second; the channel limits are scaled down to keep the test short.
    await restart(h, twilio_rate=Rate(4, 0.25), telegram_rate=Rate(6, 0.25),
                  telegram_chat_rate=Rate(1, 1))
    numbers = [f"+4477009002{n:02d}" for n in range(24)]
    chats = [str(8000 + n) for n in range(20)]
    await queue_to(h, "sms", numbers)
    await queue_to(h, "telegram", chats)
    await queue_to(h, "telegram", ["8000"] * 2, body="again {n}")  # one chat, three messages
    await h.settle()
    sms = [r.received_at for r in h.twilio.sent(CREATE)]
    tg = h.telegram.sent("sendMessage")
    assert len(sms) == 24 and len(tg) == 22
    assert h.twilio.refusals() == [] and h.telegram.refusals() == []
    assert per_window(sms, 0.25) <= 4
    assert per_window([r.received_at for r in tg], 0.25) <= 6
    same_chat = [r.received_at for r in tg if int(r.params["chat_id"]) == 8000]
    assert len(same_chat) == 3 and per_window(same_chat, 1.0) == 1
    # Near the rate (24 segments at 16/s: 6 windows of 0.25 s); a loose bound, as a loaded
    # machine stretches each window by a round trip. bench/pacing.py measures it properly.
    assert 24 / (max(sms) - min(sms) + 0.25) >= 0.6 * 16


async def test_long_sms_counts_its_segments(harness: Harness) -> None:
    h = harness
    h.twilio.enforce_rate(3, 0.3)
    await restart(h, twilio_rate=Rate(3, 0.3))
    await queue_to(h, "sms", ["+447700900301", "+447700900302"], body="x" * 200 + " {n}")
    await h.settle()  # two segments each: the second waits a whole window
    sent = h.twilio.sent(CREATE)
    assert len(sent) == 2 and h.twilio.refusals() == []
    assert sent[1].received_at - sent[0].received_at >= 0.3


# Refusals and outages ---------------------------------------------------------------------

async def test_a_429_storm_costs_no_attempt_and_loses_nothing(harness: Harness) -> None:
    h = harness
    h.twilio.enforce_rate(2, 0.1)  # our limiter (1000/s in tests) knows nothing of it
    ids = await queue_to(h, "sms", [f"+4477009004{n:02d}" for n in range(20)])
    for _ in range(200):
        await h.advance(timedelta(seconds=1))
        if len(h.twilio.sent(CREATE)) == 20:
            break
        await asyncio.sleep(0.02)
    assert len(h.twilio.refusals()) > 20  # more refusals than O2R_MAX_ATTEMPTS could absorb
    assert sorted(r.params["Body"] for r in h.twilio.sent(CREATE)) == sorted(
        f"Hello {n}" for n in range(20))
    assert set(await statuses(h, ids)) == {"sent"}
    attempts = await h.db.all(f"SELECT attempts FROM outbox WHERE id IN ({','.join('?' * 20)})",
                              tuple(ids))
    assert {a[0] for a in attempts} == {1}  # refusals gave their attempt back
    refused = await h.db.value("SELECT COUNT(*) FROM outbox_attempts WHERE outcome = 'refused'")
    assert refused == len(h.twilio.refusals())


async def test_a_ten_minute_outage_loses_nothing_and_sends_each_once(harness: Harness) -> None:
    h = harness
    # Production backoff: 2 s doubling to 10 minutes; safety messages at most 5 minutes apart.
    await restart(h, retry_base=2.0, retry_cap=600.0, safety_retry_cap=300.0, max_attempts=8)
    await h.add_client(phone=SAM)
    h.twilio.outage(CREATE)
    ordinary = await queue_to(h, "sms", [f"+4477009005{n:02d}" for n in range(10)])
    await h.sms(SAM, "I can't go on")  # crisis contacts to Sam, a RED alert to the officer
    safety = [r["id"] for r in await h.outbox(safety=1)]
    assert len(safety) >= 2
    for _ in range(40):  # ten minutes of 500s
        await h.advance(timedelta(seconds=15))
    assert set(await statuses(h, ordinary + safety)) == {"queued"}
    h.twilio.clear_faults()
    for minute in range(1, 12):
        await h.advance(timedelta(minutes=1))
        if minute == 5:  # the safety cap: crisis texts are out within 5 minutes of recovery
            assert set(await statuses(h, safety)) == {"sent"}
    assert set(await statuses(h, ordinary + safety)) == {"sent"}
    # Each row exactly once (an unacknowledged alert may re-notify later: its own row).
    rows = await h.outbox(channel="sms")
    assert {r["status"] for r in rows} == {"sent"}
    assert sorted((m["to"], m["body"]) for m in h.twilio.messages()) == sorted(
        (r["address"], r["body"]) for r in rows)


async def test_ordinary_messages_give_up_at_the_horizon_safety_never(harness: Harness) -> None:
    h = harness
    await restart(h, retry_horizon=3600.0)
    cid = await h.add_client(phone=SAM)
    h.twilio.outage(CREATE)
    row = await queue_text(h, SAM, "Your appointment is moved to Friday")
    crisis = (await queue_to(h, "sms", ["+447700900601"], body="Crisis line {n}",
                             safety=True))[0]
    for _ in range(13):
        await h.advance(timedelta(minutes=10))
    failed = (await h.outbox(id=row))[0]
    assert failed["status"] == "failed" and failed["last_error"].startswith("gave up after 1 h")
    findings = await h.db.all("SELECT severity, reason FROM findings WHERE client_id = ?", (cid,))
    assert [tuple(f) for f in findings] == [("ROUTINE", "message_not_delivered")]
    assert (await h.outbox(id=crisis))[0]["status"] == "queued"
    h.twilio.clear_faults()
    await h.advance(timedelta(minutes=1))
    assert (await h.outbox(id=crisis))[0]["status"] == "sent"
    page = await h.db.value("SELECT last_error FROM outbox WHERE id = ?", (row,))
    assert "twilio 500" in page


# At most once -----------------------------------------------------------------------------

async def test_a_timed_out_send_in_the_same_second_is_found_not_resent(harness: Harness) -> None:
    h = harness
    await h.add_client(phone=SAM)
    h.clock.advance(timedelta(milliseconds=700))  # Twilio's date_created drops the .7
    h.twilio.timeout(CREATE, seconds=3, deliver=True)
    row = await queue_text(h, SAM, "Only once please")
    await h.settle()
    await h.advance(timedelta(seconds=1))
    assert (await h.outbox(id=row))[0]["status"] == "sent"
    assert len(h.twilio.messages(to=SAM)) == 1


async def test_a_crash_mid_send_resends_nothing_twilio_already_took(harness: Harness) -> None:
    h = harness
    numbers = [f"+4477009007{n:02d}" for n in range(6)]
    h.twilio.timeout(CREATE, seconds=30, times=4, deliver=True)  # taken, answer never seen
    h.twilio.timeout(CREATE, seconds=30, times=2)  # never taken
    ids = await queue_to(h, "sms", numbers)
    disp = h.service.dispatcher
    assert disp is not None
    await disp.claim_and_start()
    for _ in range(100):
        if len(h.twilio.requests(CREATE)) == 6:
            break
        await asyncio.sleep(0.02)
    # kill -9: the sends die with the process; the rows stay 'sending' in the database.
    for task in list(disp._tasks):
        task.cancel()
    await disp.drain()
    assert set(await statuses(h, ids)) == {"sending"}
    await restart(h)
    if h.db.is_postgresql:  # other instances may be sending: the rows wait out their lease
        await h.settle()
        assert set(await statuses(h, ids)) == {"sending"}
        h.clock.advance(timedelta(seconds=h.service.settings.claim_lease + 1))
    await h.settle()
    assert len(h.twilio.messages()) == 6  # four found by lookup, two sent now
    for number in numbers:
        assert len(h.twilio.messages(to=number)) == 1
    rows = await h.outbox(channel="sms")
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["provider_id"] for r in rows} == {m["sid"] for m in h.twilio.messages()}


async def test_lookup_never_claims_a_message_another_row_owns(harness: Harness) -> None:
    h = harness
    await h.add_client(phone=SAM)
    await queue_text(h, SAM, "OK, noted")
    await h.settle()
    h.twilio.timeout(CREATE, seconds=3)  # not taken this time
    second = await queue_text(h, SAM, "OK, noted")
    await h.settle()
    await h.advance(timedelta(seconds=1))
    assert len(h.twilio.messages(to=SAM)) == 2
    rows = await h.outbox(address=SAM)
    assert rows[-1]["id"] == second and rows[0]["provider_id"] != rows[1]["provider_id"]


async def test_a_telegram_chat_with_no_id_is_permanent_not_retried(harness: Harness) -> None:
    h = harness
    ids = await queue_to(h, "telegram", [""], body="Hello {n}", safety=True)
    await h.settle()
    await h.advance(timedelta(minutes=10))
    row = (await h.outbox(id=ids[0]))[0]
    assert row["status"] == "failed" and "no chat id" in row["last_error"]
    assert row["attempts"] == 1 and h.telegram.requests("sendMessage") == []


# Receipts ---------------------------------------------------------------------------------

async def test_undelivered_crisis_text_goes_by_telegram_too(harness: Harness) -> None:
    h = harness
    await h.add_client(phone=SAM, chat=SAM_CHAT)
    await h.sms(SAM, "I can't go on")
    await h.settle()
    crisis = [r for r in await h.outbox(address=SAM) if r["safety"]]
    assert crisis and h.telegram.sent("sendMessage") == []
    assert await receipt(h, crisis[0]["provider_id"], "undelivered") == 204
    assert await receipt(h, crisis[0]["provider_id"], "undelivered") == 204  # once only
    await h.settle()
    texts = [r.params["text"] for r in h.telegram.sent("sendMessage")]
    assert texts == [crisis[0]["body"]]
    fallback = (await h.outbox(channel="telegram"))[0]
    assert fallback["fallback_of"] == crisis[0]["id"] and fallback["safety"] == 1


async def test_crisis_reply_that_telegram_fails_goes_by_sms_at_once(harness: Harness) -> None:
    h = harness
    await h.add_client(phone=SAM, chat=SAM_CHAT)
    h.telegram.fail("sendMessage", 502)  # one failed try: no waiting for the retries
    await h.tg_text(SAM_CHAT, "I can't go on")
    await h.settle()
    crisis = next(r for r in await h.outbox(channel="telegram") if r["safety"])
    to_sam = [m["body"] for m in h.twilio.messages(to=SAM)]
    assert to_sam == [crisis["body"]]
    await h.advance(timedelta(seconds=5))
    assert (await h.outbox(id=crisis["id"]))[0]["status"] == "sent"  # and Telegram still tries
    assert len(h.twilio.messages(to=SAM)) == 1  # once, not once per failed try


async def test_ordinary_message_undelivered_has_no_fallback(harness: Harness) -> None:
    h = harness
    await h.add_client(phone=SAM, chat=SAM_CHAT)
    await queue_text(h, SAM, "See you at 10")
    await h.settle()
    sid = (await h.outbox(address=SAM))[-1]["provider_id"]
    await receipt(h, sid, "undelivered")
    await h.settle()
    assert h.telegram.sent("sendMessage") == []


async def test_repeated_undelivered_marks_unreachable_once_per_episode(harness: Harness) -> None:
    h = harness
    cid = await h.add_client(phone=SAM)
    first_at = iso(h.clock.now())

    async def undelivered(body: str) -> None:
        await queue_text(h, SAM, body)
        await h.settle()
        await receipt(h, (await h.outbox(address=SAM))[-1]["provider_id"], "undelivered")
        h.clock.advance(timedelta(hours=1))

    for n in range(5):
        await undelivered(f"Message {n}")
    ident = await h.db.one("SELECT * FROM identities WHERE address = ?", (SAM,))
    assert ident["unreachable_since"] == first_at and ident["delivery_failures"] == 5
    reasons = [r[0] for r in await h.db.all("SELECT reason FROM findings WHERE client_id = ?",
                                            (cid,))]
    assert reasons == ["unreachable"]
    # A delivered message ends the episode; the next one raises its own finding.
    await queue_text(h, SAM, "Are you there?")
    await h.settle()
    await receipt(h, (await h.outbox(address=SAM))[-1]["provider_id"], "delivered")
    ident = await h.db.one("SELECT * FROM identities WHERE address = ?", (SAM,))
    assert ident["unreachable_since"] is None and ident["delivery_failures"] == 0
    for n in range(3):
        await undelivered(f"Later {n}")
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE reason = 'unreachable'") == 2


async def test_caseload_and_client_page_show_not_reachable_since(
        harness: Harness, demo: Demo, panels: Any) -> None:
    h = harness
    cid = await h.add_client(ref="C-77", first_name="Robin", officer=demo.staff["dana"],
                             phone=SAM)
    for n in range(3):
        await queue_text(h, SAM, f"Reminder {n}")
        await h.settle()
        await receipt(h, (await h.outbox(address=SAM))[-1]["provider_id"], "undelivered")
    dana = await signed_in(panels, "dana")
    caseload = visible((await dana.get("/admin/clients")).text)
    assert caseload.count("Not reachable since") == 1 and "(SMS)" in caseload
    page = visible((await dana.get(f"/admin/clients/{cid}")).text)
    assert "not reachable since" in page and "not delivered (undelivered)" in page


# Settings ---------------------------------------------------------------------------------

def test_retry_settings_parse_and_refuse_bad_values() -> None:
    s = load_settings({"O2R_RETRY_HORIZON": "24h", "O2R_SAFETY_RETRY_CAP": "2m"})
    assert (s.retry_horizon, s.safety_retry_cap) == (86400.0, 120.0)
    assert load_settings({}).retry_horizon == 72 * 3600
    with pytest.raises(ConfigError, match="O2R_RETRY_HORIZON"):
        load_settings({"O2R_RETRY_HORIZON": "three days"})
    with pytest.raises(ConfigError, match="O2R_SAFETY_RETRY_CAP"):
        load_settings({"O2R_SAFETY_RETRY_CAP": "0s"})
