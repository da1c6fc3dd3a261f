"""The question budget through the clock loop (config/reminders.toml [checkins]): a scale stands
in for the day's check-in, is never asked straight after another questionnaire, and in the
28-day watch (check-in with its safety question every day) is put off, then skipped."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import iso
from tests.conftest import Harness
from tests.reminders.support import SAM, advance_to, local, texts_to


async def flows_started(h: Harness, cid: int) -> list[tuple[str, str]]:
    rows = await h.db.all("SELECT flow_id, started_at FROM flow_sessions WHERE client_id = ?"
                          " AND status <> 'waiting' ORDER BY id", (cid,))
    return [(r[0], r[1][:10]) for r in rows]


async def answer_checkin(h: Harness) -> None:
    """Answer whatever the check-in asks (the watch adds "Are you safe right now?")."""
    for answer in ("7", "3", "2", "1", "1", "0"):
        if "that's all for today" in texts_to(h, SAM)[-1]:
            return
        await h.sms(SAM, answer)
        await h.settle()
    assert "that's all for today" in texts_to(h, SAM)[-1]


async def test_the_weekly_scale_stands_in_for_mondays_checkin(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await advance_to(h, local(2026, 11, 29, 10, 5))  # Sunday's check-in
    await answer_checkin(h)
    await advance_to(h, local(2026, 11, 30, 12))  # Monday: the weekly day
    monday = [f for f, day in await flows_started(h, cid) if day == "2026-11-30"]
    assert monday == ["weekly_checkin"]
    outcome = await h.db.value("SELECT outcome FROM timers WHERE key = ?",
                               (f"checkin:{cid}:2026-11-30",))
    assert outcome == "skipped: a scale stood in for today's check-in"
    assert not texts_to(h, SAM, "that's all for today")[1:], "one check-in, on Sunday only"


async def test_in_the_watch_the_scale_is_put_off_then_skipped(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    until = iso(h.clock.now() + timedelta(days=20))
    await h.write(lambda tx: tx.execute("UPDATE clients SET heightened_until = ? WHERE id = ?",
                                        (until, cid)))
    for day in (29, 30):
        await advance_to(h, local(2026, 11, day, 10, 5))
        await answer_checkin(h)
    key = f"scale:weekly:{cid}:2026-W49"
    # Monday 11:00: held till 11:05 (an hour after the check-in ended), then 6 questions asked
    # today + 11 break the budget: put off a day.
    await advance_to(h, local(2026, 11, 30, 12))
    row = await h.db.one("SELECT status, due_at, outcome FROM timers WHERE key = ?", (key,))
    assert row["status"] == "pending" and row["due_at"].startswith("2026-12-01T11:05")
    for day in (1, 2, 3):
        await advance_to(h, local(2026, 12, day, 10, 5))
        await answer_checkin(h)
    await advance_to(h, local(2026, 12, 3, 12))
    assert await h.db.value("SELECT outcome FROM timers WHERE key = ?", (key,)) == \
        "skipped: question budget"
    assert "weekly_checkin" not in [f for f, _ in await flows_started(h, cid)]
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action ="
                            " 'scale.skipped_budget'") == 1
