"""Flow engine behaviour that needs the database: ordering, versions, priorities, CLI."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.conversation import start_flow
from flows import registry
from tests.conftest import Harness

SAM = "+447700900123"


async def answers(h: Harness) -> list[tuple[str, str, int]]:
    rows = await h.db.all("SELECT question_key, raw_text, inbound_id FROM answers ORDER BY id")
    return [tuple(r) for r in rows]


async def test_concurrent_messages_from_one_client_are_handled_in_order(harness: Harness) -> None:
    cid = await harness.add_client(phone=SAM)
    await harness.write(lambda tx: start_flow(tx, harness.clock.now(), cid, "daily_checkin"))
    replies = ["7", "3", "2", "1"]
    results = await asyncio.gather(*(harness.sms(SAM, r) for r in replies))
    assert all(r.status_code == 200 for r in results)
    await harness.settle()
    got = await answers(harness)
    # Whatever order the webhooks won the writer in, each answer belongs to the question that
    # was pending when its message was committed: inbound ids rise with the questions.
    assert [k for k, _, _ in got] == ["ons_happy", "ons_anxious", "craving_24h", "used_since_last"]
    ids = [i for _, _, i in got]
    assert ids == sorted(ids)
    # One question at a time: exactly one text per reply, and no two questions at once.
    sent = await harness.outbox(address=SAM)
    assert len(sent) == 5


async def test_session_started_on_v1_keeps_stepping_after_v2_ships(harness: Harness) -> None:
    cid = await harness.add_client(phone=SAM)
    await harness.write(lambda tx: start_flow(tx, harness.clock.now(), cid, "daily_checkin"))
    await harness.sms(SAM, "7")
    v1 = registry.latest("daily_checkin")
    v2 = replace(v1, version=v1.version + 1, title="Daily check-in (v2)")
    registry.REGISTRY.register(v2)
    try:
        assert registry.latest("daily_checkin").version == v1.version + 1
        await harness.sms(SAM, "3")
        row = await harness.db.one("SELECT flow_version, status FROM flow_sessions")
        assert (row["flow_version"], row["status"]) == (v1.version, "active")
        assert [k for k, _, _ in await answers(harness)] == ["ons_happy", "ons_anxious"]
    finally:
        registry.REGISTRY._flows.pop(("daily_checkin", v2.version))


async def test_a_running_flow_is_never_cut_off_and_the_highest_waiting_goes_next(
        harness: Harness) -> None:
    """Issue 11: at most one open question; a confirmation (20) waits for the check-in (10) to
    finish rather than ending it, then goes before the weekly scale that queued earlier."""
    cid = await harness.add_client(phone=SAM)
    now = harness.clock.now()
    assert await harness.write(lambda tx: start_flow(tx, now, cid, "daily_checkin")) == "started"
    assert await harness.write(lambda tx: start_flow(tx, now, cid, "weekly_checkin")) == "wait"
    started = await harness.write(lambda tx: start_flow(
        tx, now, cid, "appointment_confirmation", params={"when": "Tuesday 3 March at 10:00",
                                                          "place": "the hall"}))
    assert started == "wait"
    statuses = [tuple(r) for r in await harness.db.all(
        "SELECT flow_id, status FROM flow_sessions ORDER BY id")]
    assert statuses == [("daily_checkin", "active"), ("weekly_checkin", "waiting"),
                        ("appointment_confirmation", "waiting")]
    for answer in ("7", "3", "2", "no", "0"):
        await harness.sms(SAM, answer)
    await harness.settle()
    assert await harness.db.value("SELECT status FROM flow_sessions WHERE flow_id ="
                                  " 'daily_checkin'") == "completed"
    active = await harness.db.value("SELECT flow_id FROM flow_sessions WHERE status = 'active'")
    assert active == "appointment_confirmation"
    await harness.sms(SAM, "1")
    await harness.settle()
    active = await harness.db.value("SELECT flow_id FROM flow_sessions WHERE status = 'active'")
    assert active == "weekly_checkin"


async def test_flow_without_consent_does_not_start(harness: Harness) -> None:
    cid = await harness.add_client(phone=SAM, consented=False, onboard=False)
    outcome = await harness.write(lambda tx: start_flow(tx, harness.clock.now(), cid,
                                                        "daily_checkin"))
    assert outcome == "skipped: no consent"
    assert await harness.db.value("SELECT COUNT(*) FROM outbox") == 0


async def test_flow_started_at_night_waits_for_morning(harness: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    cid = await harness.add_client(phone=SAM)
    harness.clock.set(datetime(2026, 11, 25, 23, 30, tzinfo=UTC))
    await harness.write(lambda tx: start_flow(tx, harness.clock.now(), cid, "daily_checkin"))
    await harness.settle()
    assert harness.twilio.sent("messages.create") == []
    await harness.advance(timedelta(hours=8, minutes=29))
    assert harness.twilio.sent("messages.create") == []
    await harness.advance(timedelta(minutes=2))
    assert len(harness.twilio.sent("messages.create")) == 1
