"""Daily check-ins through the real planner and clock loop: DST days, late rows after downtime,
missed check-ins and their AMBER finding, idempotent planning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.core.clock import parse_iso
from reminders import planner
from tests.conftest import Harness
from tests.reminders.support import LONDON, OFFICER, SAM, advance_to, jump_to, local


async def checkins(h: Harness, cid: int) -> list[tuple[str, datetime, str | None]]:
    rows = await h.db.all("SELECT key, due_at, outcome FROM timers WHERE kind = 'checkin'"
                          " AND client_id = ? ORDER BY due_at", (cid,))
    return [(r[0], parse_iso(r[1]), r[2]) for r in rows]


SKIP = "skipped: a scale stood in for today's check-in"


async def started_on(h: Harness, cid: int, flow: str = "daily_checkin") -> list[datetime]:
    """When each daily check-in (or `flow`) started for the client."""
    rows = await h.db.all("SELECT started_at FROM flow_sessions WHERE client_id = ?"
                          " AND flow_id = ? ORDER BY id", (cid, flow))
    return [parse_iso(r[0]).astimezone(LONDON) for r in rows]


async def night_owl(h: Harness) -> int:
    """A client who chose 01:30 and turned quiet hours off (a night-shift worker)."""
    cid = await h.add_client()
    await h.db.write(lambda tx: tx.execute(
        "UPDATE clients SET checkin_time = '01:30', quiet_start = '00:00', quiet_end = '00:00'"
        " WHERE id = ?", (cid,)))
    return cid


async def first_plan(h: Harness) -> None:
    """12:00 on the harness's first day: the planner writes tomorrow's check-ins."""
    await advance_to(h, local(2026, 11, 25, 12))


async def walk(h: Harness, start: datetime, end: datetime, step: timedelta) -> None:
    await jump_to(h, start)
    moment = start
    while moment < end:
        moment += step
        await advance_to(h, moment)


async def test_dst_spring_forward_checkin_at_0130_happens_once(harness: Harness) -> None:
    h = harness
    cid = await night_owl(h)
    # Sunday 28 March 2027: 01:00 GMT -> 02:00 BST, so 01:30 does not exist that night.
    await walk(h, datetime(2027, 3, 27, 12, tzinfo=UTC), datetime(2027, 3, 29, 12, tzinfo=UTC),
               timedelta(minutes=30))
    rows = await checkins(h, cid)  # the 27th's was planned late and skipped; the 30th's waits
    assert [(k.rsplit(":", 1)[1], due, out) for k, due, out in rows[1:3]] == [
        ("2027-03-28", datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "started"),  # 02:30 BST
        # 01:30 BST; a Monday: the weekly scale stands in for it (the question budget)
        ("2027-03-29", datetime(2027, 3, 29, 0, 30, tzinfo=UTC), SKIP),
    ]
    assert [(t.date(), t.strftime("%H:%M %Z")) for t in await started_on(h, cid)] == [
        (date(2027, 3, 28), "02:30 BST")]
    assert [(t.date(), t.strftime("%H:%M %Z"))
            for t in await started_on(h, cid, "weekly_checkin")] == [
        (date(2027, 3, 29), "02:30 BST")]


async def test_dst_fall_back_checkin_at_0130_happens_once(harness: Harness) -> None:
    h = harness
    cid = await night_owl(h)
    # Sunday 31 October 2027: 02:00 BST -> 01:00 GMT, so 01:30 happens twice that night.
    await walk(h, datetime(2027, 10, 30, 12, tzinfo=UTC), datetime(2027, 11, 1, 12, tzinfo=UTC),
               timedelta(minutes=30))
    rows = await checkins(h, cid)
    assert [(k.rsplit(":", 1)[1], due, out) for k, due, out in rows[1:3]] == [
        ("2027-10-31", datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "started"),  # first 01:30
        # 01:30 GMT; a Monday: the weekly scale stands in for it (the question budget)
        ("2027-11-01", datetime(2027, 11, 1, 1, 30, tzinfo=UTC), SKIP),
    ]
    assert [(t.date(), t.strftime("%H:%M %Z")) for t in await started_on(h, cid)] == [
        (date(2027, 10, 31), "01:30 BST")]
    assert [(t.date(), t.strftime("%H:%M %Z"))
            for t in await started_on(h, cid, "weekly_checkin")] == [
        (date(2027, 11, 1), "02:30 GMT")]


async def test_checkin_missed_beyond_its_window_is_skipped_not_sent_at_night(
        harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await first_plan(h)
    # The service is down from before the 10:00 check-in until 23:00.
    await jump_to(h, local(2026, 11, 26, 23))
    key, _, outcome = (await checkins(h, cid))[0]
    assert (key, outcome) == (f"checkin:{cid}:2026-11-26", "skipped: window missed")
    assert await started_on(h, cid) == []
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action = 'checkin.dropped'") == 1
    # Down again until 13:00 next day: inside the 6-hour window, so it goes, late.
    await jump_to(h, local(2026, 11, 27, 13))
    assert await started_on(h, cid) == [local(2026, 11, 27, 13)]


async def test_three_missed_checkins_raise_amber_to_findings_and_escalations(
        harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await first_plan(h)
    await advance_to(h, local(2026, 11, 26, 10))  # first check-in
    for day in (27, 28):
        await advance_to(h, local(2026, 11, day, 10))
    await advance_to(h, local(2026, 11, 29, 9, 59))
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ?", (cid,)) == 0
    await advance_to(h, local(2026, 11, 29, 10))  # 72 hours of silence
    f = await h.db.one("SELECT severity, reason, detail FROM findings WHERE client_id = ?", (cid,))
    assert (f["severity"], f["reason"]) == ("AMBER", "missed_checkins")
    assert f["detail"].startswith("3 check-ins in a row unanswered")
    esc = await h.db.one("SELECT severity, status FROM escalations WHERE client_id = ?", (cid,))
    assert (esc["severity"], esc["status"]) == ("AMBER", "notified")
    alerts = [r.params["Body"] for r in h.twilio.sent("messages.create")
              if r.params["To"] == OFFICER]
    assert len(alerts) == 1 and "AMBER" in alerts[0]
    # The silence goes on: no second finding for the same spell.
    await advance_to(h, local(2026, 11, 30, 10))
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ?", (cid,)) == 1


async def test_heightened_window_needs_only_24_hours_of_silence(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await first_plan(h)
    until = (h.clock.now() + timedelta(days=28)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await h.db.write(lambda tx: tx.execute("UPDATE clients SET heightened_until = ? WHERE id = ?",
                                           (until, cid)))
    await advance_to(h, local(2026, 11, 26, 10))
    await advance_to(h, local(2026, 11, 27, 9, 59))
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ?", (cid,)) == 0
    await advance_to(h, local(2026, 11, 27, 10))
    assert await h.db.value("SELECT severity FROM findings WHERE client_id = ?"
                            " AND reason = 'missed_checkins'", (cid,)) == "AMBER"


async def test_a_reply_resets_the_count(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await first_plan(h)
    await advance_to(h, local(2026, 11, 26, 10))
    await advance_to(h, local(2026, 11, 27, 10))
    await h.sms(SAM, "7")  # answers the 27th's first question
    for day in (28, 29, 30):
        await advance_to(h, local(2026, 11, day, 10))
    outcomes = [r[0] for r in await h.db.all(
        "SELECT outcome FROM timers WHERE kind = 'missed_checkin' AND status = 'done'"
        " ORDER BY due_at")]
    assert outcomes[:2] == ["answered", "answered"]  # a reply after a check-in answers it
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ?"
                            " AND reason = 'missed_checkins'", (cid,)) == 0


async def test_planner_is_idempotent_and_runs_at_start(harness: Harness) -> None:
    h = harness
    for n in range(3):
        await h.add_client(ref=f"C-{n}", phone=f"+4477009002{n:02d}")
    day = date(2026, 11, 27)
    for _ in range(2):
        await h.write(lambda tx: planner.plan_day(tx, h.clock.now(), day))
    keys = [r[0] for r in await h.db.all("SELECT key FROM timers WHERE key LIKE 'checkin:%'"
                                         " ORDER BY key")]
    assert len(keys) == len(set(keys)) == 3
    # Start-up planning: today's plan ran at start (before these clients existed), tomorrow's
    # is due at 12:00 today; a second start changes nothing.
    plans = await h.db.all("SELECT key, status FROM timers WHERE kind = 'plan_day' ORDER BY key")
    assert [tuple(r) for r in plans] == [("plan_day:2026-11-25", "done"),
                                         ("plan_day:2026-11-26", "pending")]
    from reminders.jobs import on_start

    await on_start(h.db, h.clock.now())
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE kind = 'plan_day'") == 2
    await advance_to(h, local(2026, 11, 25, 12))
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE 'checkin:%:2026-11-26'") \
        == 3


def test_every_flow_the_reminders_start_exists() -> None:
    from flows import registry
    from reminders.jobs import CONFIRM_FLOW
    from reminders.schedule.model import FLOW_DAILY, FLOW_MONTHLY, FLOW_WEEKLY

    for flow_id in (FLOW_DAILY, FLOW_WEEKLY, FLOW_MONTHLY, CONFIRM_FLOW):
        assert registry.latest(flow_id).id == flow_id


async def test_plan_client_covers_a_discharge_made_after_the_daily_run(harness: Harness) -> None:
    from bot.journey import discharge

    h = harness
    cid = await h.add_client(stage="in_rehab")  # weekly scale only: no daily check-in planned
    await first_plan(h)  # tomorrow planned at 12:00 without a check-in for them
    await advance_to(h, local(2026, 11, 25, 15))
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE ?",
                            (f"checkin:{cid}:%",)) == 0

    async def work(tx):  # type: ignore[no-untyped-def]
        await discharge(tx, h.clock.now(), cid, "early", "cli")
        return await planner.plan_client(tx, h.clock.now(), cid)

    assert await h.write(work) == 2  # today's (still inside its window) and tomorrow's
    await advance_to(h, local(2026, 11, 26, 10))
    assert [(k, out) for k, _, out in await checkins(h, cid)] == [
        (f"checkin:{cid}:2026-11-25", "started"), (f"checkin:{cid}:2026-11-26", "started")]
    assert (await started_on(h, cid))[0] == local(2026, 11, 25, 15)  # late, not at night


async def test_the_daily_plan_is_written_a_slice_of_clients_at_a_time(
        harness: Harness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each slice is its own transaction, so an inbound message never waits behind the whole
    caseload: the timer re-arms with the last client planned until every client is planned."""
    h = harness
    monkeypatch.setattr(planner, "PLAN_SLICE", 2)
    ids = [await h.add_client(ref=f"S-{n}", phone=f"+4477009003{n:02d}") for n in range(5)]
    await advance_to(h, local(2026, 11, 25, 12))  # tomorrow's plan falls due: the first slice
    planned = {r[0] for r in await h.db.all(
        "SELECT client_id FROM timers WHERE key LIKE 'checkin:%:2026-11-26'")}
    plan = await h.db.one("SELECT status, payload FROM timers WHERE key = 'plan_day:2026-11-26'")
    assert plan["status"] == "pending" and len(planned) < 5
    assert f'"after": {max(planned)}' in plan["payload"]
    for second in range(1, 6):  # each tick takes the next slice
        await advance_to(h, local(2026, 11, 25, 12) + timedelta(seconds=second))
    planned = {r[0] for r in await h.db.all(
        "SELECT client_id FROM timers WHERE key LIKE 'checkin:%:2026-11-26'")}
    assert planned >= set(ids)
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE 'checkin:%:2026-11-26'") \
        == len(planned)  # nothing planned twice
    plans = await h.db.all("SELECT key, status FROM timers WHERE kind = 'plan_day' ORDER BY key")
    assert [tuple(r) for r in plans][-2:] == [("plan_day:2026-11-26", "done"),
                                              ("plan_day:2026-11-27", "pending")]
