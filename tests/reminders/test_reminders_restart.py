"""Restart-safety of timer rows: a restart with due rows pending, two claimers at once, sends
after downtime (late, deferred or dropped), and /healthz when the clock loop stops."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import httpx

from bot.app import create_app
from bot.core import timers
from bot.core.clock import FixedClock
from bot.core.db import Database
from bot.core.people import Contact, add_client, add_staff
from bot.service import Service
from reminders import calendar
from tests.channels.test_channels import METRICS_AUTH, METRICS_TOKEN
from tests.conftest import T0, Harness
from tests.conftest import test_settings as make_settings
from tests.fakes import FakeTelegramApi, FakeTwilioApi
from tests.reminders.support import SAM, jump_to, local, texts_to

JO = "+447700900124"


async def quiesce() -> None:
    """Let the dispatcher go back to waiting before a stop. Python 3.11's asyncio.wait_for can
    swallow a cancel that lands just as its wake event fires (the dispatcher loop uses it), and
    Service.stop then waits for ever: reported to bot/ core."""
    await asyncio.sleep(0.05)


async def settle(svc: Service) -> None:
    disp = svc.dispatcher
    assert disp is not None
    for _ in range(20):
        started = await disp.claim_and_start()
        await disp.drain()
        if not started:
            return


async def seed(svc: Service) -> list[int]:
    """Two clients, each with an appointment whose first reminder falls in the downtime."""
    now = svc.clock.now()

    async def work(tx):  # type: ignore[no-untyped-def]
        officer = await add_staff(tx, now, name="Dana Hughes", role="officer",
                                  contact=Contact("+447700900101"))
        ids = []
        for ref, phone, kind in (("C-1", SAM, "probation"), ("C-2", JO, "housing")):
            cid = await add_client(tx, now, ref=ref, first_name="Sam", officer_id=officer,
                                   contact=Contact(phone), consented=True, stage="engagement")
            ids.append(await calendar.add_appointment(tx, now, client_id=cid, kind=kind,
                                                      at=local(2026, 11, 27, 14)))
        return ids

    return list(await svc.db.write(work))


async def test_restart_with_due_rows_pending_sends_each_reminder_once(
        tmp_path: Path, fakes: tuple[FakeTwilioApi, FakeTelegramApi]) -> None:
    tw, tg = fakes
    settings = make_settings(tmp_path / "o2r.db", tw.url, tg.url)
    clock = FixedClock(T0)
    first = Service(settings, clock, tick_seconds=3600)
    await first.start()
    await seed(first)
    await first.stop()
    # Down through both 1d reminders (26 Nov 14:00), back up at 15:00.
    clock.set(local(2026, 11, 26, 15))
    for _ in range(2):  # two restarts: the second finds nothing left to send
        svc = Service(settings, clock, tick_seconds=3600)
        await svc.start()  # start() runs the clock loop once
        await svc.tick()
        await settle(svc)
        await quiesce()
        await svc.stop()
    for phone in (SAM, JO):
        assert sum(" is on Friday 27 November" in r.params["Body"]
                   for r in tw.sent("messages.create") if r.params["To"] == phone) == 1
    async with Database(settings.db_path, settings) as db:
        rows = await db.all("SELECT outcome FROM timers WHERE key LIKE 'reminder:%:1d'")
        assert [r[0] for r in rows] == ["sent; confirmation started"] * 2
        assert await db.value("SELECT COUNT(*) FROM outbox WHERE message_key LIKE 'reminder.%'") == 2


async def test_the_same_row_claimed_twice_at_once_is_sent_once(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="probation", at=local(2026, 11, 27, 14)))
    h.clock.set(local(2026, 11, 26, 14))
    # Two claimers on two connections (as two processes would be) plus the service's own loop.
    async with Database(h.service.settings.db_path, h.service.settings) as other:
        ran = await asyncio.gather(timers.tick(h.db, h.clock.now()),
                                   timers.tick(other, h.clock.now()),
                                   h.service.tick())
    assert sum(ran) >= 1
    await h.settle()
    assert await h.db.value("SELECT COUNT(*) FROM outbox WHERE message_key LIKE"
                            " 'reminder.probation.%'") == 1
    assert len(texts_to(h, SAM, "catch-up is on Friday 27 November")) == 1


async def test_after_downtime_a_passed_event_is_dropped_and_logged(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    appt = await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="probation", at=local(2026, 11, 27, 14)))
    await jump_to(h, local(2026, 11, 27, 15))  # down through both reminders and the event
    rows = await h.db.all("SELECT key, status, outcome FROM timers WHERE key LIKE 'reminder:%'"
                          " ORDER BY key")
    assert [(r[0], r[2]) for r in rows] == [(f"reminder:{appt}:1d", "dropped: event passed"),
                                            (f"reminder:{appt}:2h", "dropped: event passed")]
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action = 'reminder.dropped'") == 2
    assert not texts_to(h, SAM, "appointment")


async def test_after_downtime_only_the_latest_due_reminder_goes(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    appt = await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="probation", at=local(2026, 11, 27, 14)))
    await jump_to(h, local(2026, 11, 27, 13))  # both 1d and 2h are due, the event is not
    rows = dict(await h.db.all("SELECT key, outcome FROM timers WHERE key LIKE 'reminder:%'"))
    assert rows[f"reminder:{appt}:1d"] == "skipped: a later reminder for the same event is due"
    assert rows[f"reminder:{appt}:2h"] == "sent; confirmation started"
    assert len(texts_to(h, SAM, "catch-up")) == 1


async def test_a_late_reminder_found_in_quiet_hours_waits_for_the_morning(
        harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    appt = await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="probation", at=local(2026, 11, 27, 14)))
    await jump_to(h, local(2026, 11, 26, 23))  # the 1d (14:00) found at 23:00, event tomorrow
    row = await h.db.one("SELECT status, due_at, outcome FROM timers WHERE key = ?",
                         (f"reminder:{appt}:1d",))
    assert tuple(row) == ("pending", "2026-11-27T08:00:00.000000Z",
                          "deferred to 2026-11-27T08:00:00.000000Z")
    assert not texts_to(h, SAM, "appointment")
    await jump_to(h, local(2026, 11, 27, 8))
    assert len(texts_to(h, SAM, "catch-up is on Friday 27 November at 14:00")) == 1
    assert await h.db.value("SELECT outcome FROM timers WHERE key = ?",
                            (f"reminder:{appt}:1d",)) == "sent; confirmation started"


async def test_healthz_fails_when_the_clock_loop_stops(
        tmp_path: Path, fakes: tuple[FakeTwilioApi, FakeTelegramApi]) -> None:
    tw, tg = fakes
    settings = make_settings(tmp_path / "o2r.db", tw.url, tg.url, metrics_token=METRICS_TOKEN)
    app = create_app(settings, clock=FixedClock(T0), tick_seconds=0.05)
    svc: Service = app.state.service
    await svc.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as client:
            # The loop is running: a stale mark is refreshed by the next tick.
            svc.last_tick = time.monotonic() - 3600
            for _ in range(100):
                if time.monotonic() - svc.last_tick < 1:
                    break
                await asyncio.sleep(0.02)
            ok = await client.get("/healthz")
            assert ok.status_code == 200 and ok.json() == {"ok": True}
            beat = await svc.db.value("SELECT at FROM heartbeats WHERE name = 'scheduler'")
            assert beat is not None
            # The loop stops: nothing refreshes the mark, and health fails once it is old.
            assert svc.scheduler is not None
            svc.scheduler.shutdown(wait=False)
            await asyncio.sleep(0.2)
            svc.last_tick -= timedelta(minutes=1).total_seconds()
            down = await client.get("/healthz")
            assert down.status_code == 503 and down.json() == {"ok": False}
            detail = await client.get("/metrics", headers=METRICS_AUTH)
            assert detail.json()["checks"]["scheduler"] == "stalled"
    finally:
        svc.scheduler = None
        await svc.stop()
