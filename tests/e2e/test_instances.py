"""Two instances on one PostgreSQL database, in one process: both started together (migrations
once), a burst of replies spread over both (each stored and handled once, per client in order),
due check-ins and reminders ticked by both at once (each sent once), a dead instance's claimed
outbox rows taken over after their lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.app import create_app
from bot.core.clock import FixedClock, iso
from tests.conftest import T0, Harness, pg_schema_url
from tests.conftest import test_settings as settings_for
from tests.fakes import FakeTelegramApi, FakeTwilioApi


@pytest.fixture
async def pair(pg_database: str, fakes: tuple[FakeTwilioApi, FakeTelegramApi],
               tmp_path: Path) -> AsyncIterator[tuple[Harness, Harness]]:
    tw, tg = fakes
    url = pg_schema_url(pg_database)
    apps, clocks = [], []
    for name in ("a", "b"):
        clock = FixedClock(T0)
        settings = settings_for(tmp_path / name / "o2r.db", tw.url, tg.url, db_url=url,
                                 instances=2)
        apps.append(create_app(settings, clock=clock, tick_seconds=3600))
        clocks.append(clock)
    tw.now = clocks[0].now
    # Started together on an empty database: each migration must be applied once.
    await asyncio.gather(*(app.state.service.start() for app in apps))
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") for app in apps]
    pair = tuple(Harness(app, app.state.service, c, tw, tg, clock)
                 for app, c, clock in zip(apps, clients, clocks, strict=True))
    try:
        yield pair  # type: ignore[misc]
    finally:
        for h in pair:
            await h.client.aclose()
            await h.service.stop()


async def both(a: Harness, b: Harness, delta: timedelta) -> None:
    """Both instances' clocks move on and both tick and send at the same time."""
    await asyncio.gather(a.service.advance_clock(delta), b.service.advance_clock(delta))
    await asyncio.gather(a.settle(), b.settle())


async def sent_once(h: Harness) -> int:
    """Every message the provider accepted is one outbox row, and no row went twice."""
    accepted = [m["sid"] for m in h.twilio.messages()]
    assert len(accepted) == len(set(accepted))
    rows = await h.db.all("SELECT id, provider_id FROM outbox WHERE channel = 'sms'"
                          " AND status = 'sent'")
    assert sorted(r["provider_id"] for r in rows) == sorted(accepted)
    twice = await h.db.value(
        "SELECT COUNT(*) FROM (SELECT outbox_id FROM outbox_attempts WHERE outcome = 'sent'"
        " GROUP BY outbox_id HAVING COUNT(*) > 1) AS doubled")
    assert twice == 0
    return len(accepted)


async def test_burst_over_two_instances_is_handled_once_in_order(
        pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    migrations = await a.db.value("SELECT COUNT(*) FROM schema_migrations")
    assert migrations == await a.db.value("SELECT COUNT(DISTINCT version) FROM schema_migrations")
    officer = await a.add_officer()
    phones = [f"+4477009003{n:02d}" for n in range(8)]
    for n, phone in enumerate(phones):
        await a.add_client(ref=f"C-{n}", first_name=f"Client{n}", officer=officer, phone=phone)
    await asyncio.gather(a.settle(), b.settle())

    # Each client writes six notes; they alternate between the instances, and Twilio
    # redelivers every message to the other instance too.
    sends = []
    for i in range(6):
        for n, phone in enumerate(phones):
            sid = f"SM{n:02d}{i:030d}"
            first, other = (a, b) if (n + i) % 2 else (b, a)
            sends.append(first.sms(phone, f"note {i}", sid=sid))
            sends.append(other.sms(phone, f"note {i}", sid=sid))
    answers = await asyncio.gather(*sends)
    assert {r.status_code for r in answers} == {200}

    rows = await a.db.all("SELECT provider_id, status, attempts FROM inbound"
                          " WHERE provider_id LIKE 'SM%'")
    assert len(rows) == 6 * len(phones)  # each stored once
    assert {r["status"] for r in rows} <= {"processed", "unmatched", "ignored"}
    assert {r["attempts"] for r in rows} == {1}  # each routed once
    await asyncio.gather(a.settle(), b.settle())
    assert await sent_once(a) > 0


async def test_due_checkins_and_reminders_ticked_by_both_go_once(
        pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    officer = await a.add_officer()
    for n in range(6):
        await a.add_client(ref=f"C-{n}", first_name=f"Client{n}", officer=officer,
                           phone=f"+4477009004{n:02d}")
    await asyncio.gather(a.settle(), b.settle())
    before = len(a.twilio.messages())
    for _ in range(4):  # through the next days' planning, check-ins and missed windows
        await both(a, b, timedelta(hours=8))
    ran = await a.db.all("SELECT key, status FROM timers WHERE status <> 'pending'")
    assert ran and {r["status"] for r in ran} <= {"done", "cancelled"}
    plans = await a.db.all("SELECT key FROM timers WHERE kind = 'plan_day' AND status = 'done'")
    assert len(plans) == len({r["key"] for r in plans})
    assert await sent_once(a) > before


async def test_a_dead_instances_claims_are_taken_over_after_the_lease(
        pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    officer = await a.add_officer()
    await a.add_client(ref="C-1", first_name="Sam", officer=officer, phone="+447700900501")
    await asyncio.gather(a.settle(), b.settle())
    # An instance claimed a row and died before sending it: 'sending', lease running.
    claimed = await a.write(lambda tx: tx.execute(
        "INSERT INTO outbox (channel, address, body, status, next_attempt_at, created_at,"
        " updated_at, attempts, claimed_until) VALUES ('sms', '+447700900501', 'held', 'sending',"
        " ?, ?, ?, 1, ?)", (iso(T0), iso(T0), iso(T0), iso(T0 + timedelta(seconds=60)))))
    await b.settle()
    assert await b.db.value("SELECT status FROM outbox WHERE id = ?", (claimed,)) == "sending"
    await both(a, b, timedelta(seconds=61))
    row = await b.db.one("SELECT status, maybe_sent FROM outbox WHERE id = ?", (claimed,))
    assert (row["status"], row["maybe_sent"]) == ("sent", 1)
    assert [m["body"] for m in b.twilio.messages(to="+447700900501")].count("held") == 1
