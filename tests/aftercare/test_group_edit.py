"""Moving a group's weekly meeting (enrolment.edit_group -> meetings.move_ahead): the meetings
ahead keep their ids and move to the new day of their own week with every reminder and the
register; one whose new time has passed is cancelled; a rename alone re-plans nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.aftercare import enrolment
from bot.aftercare.rules import load_config
from bot.core.clock import iso, parse_iso
from bot.core.people import InputError
from tests.aftercare.support import world
from tests.conftest import Harness

# The harness starts Wednesday 25 Nov 2026 10:00 UTC (GMT: local time is UTC).


async def test_moving_the_meeting_moves_meetings_reminders_and_register(harness: Harness) -> None:
    h = harness
    w = await world(h, tuesday="weekly:wed 18:00")  # the "Tuesday group" meets on Wednesdays
    now = h.clock.now()
    before = {r["occurrence_on"]: r["id"] for r in await h.db.all(
        "SELECT id, occurrence_on FROM group_meetings WHERE group_id = ?", (w.tuesday,))}
    today = before["2026-11-25"]  # 18:00 today: still ahead
    next_week = before["2026-12-02"]
    changed = await h.write(lambda tx: enrolment.edit_group(
        tx, now, w.tuesday, name="Tuesday group", meets="weekly:wed 09:00", place="Library"))
    assert changed == ["time", "place"]
    rows = {r["id"]: r for r in await h.db.all(
        "SELECT id, starts_at, occurrence_on, place, status FROM group_meetings"
        " WHERE group_id = ?", (w.tuesday,))}
    assert set(rows) == set(before.values())  # same meetings, same ids
    # Today's moved to 09:00, already past: cancelled, its register and reminders with it.
    assert rows[today]["status"] == "cancelled"
    assert await h.db.value("SELECT status FROM timers WHERE key = ?",
                            (f"register:{today}",)) == "cancelled"
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE ? AND status ="
                            " 'pending'", (f"meeting:{today}:%",)) == 0
    moved = rows[next_week]
    assert (moved["starts_at"], moved["place"], moved["status"]) == (
        iso(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)), "Library", "scheduled")
    register = await h.db.one("SELECT status, due_at FROM timers WHERE key = ?",
                              (f"register:{next_week}",))
    assert register["status"] == "pending"
    assert parse_iso(register["due_at"]) == parse_iso(moved["starts_at"]) \
        + load_config().register_after
    reminders = await h.db.all("SELECT client_id, payload FROM timers WHERE key LIKE ? AND"
                               " status = 'pending' AND kind = 'meeting_reminder'",
                               (f"meeting:{next_week}:%",))
    assert {r["client_id"] for r in reminders} == {w.sam, w.jo}
    assert {json.loads(r["payload"])["event_at"] for r in reminders} == {moved["starts_at"]}


async def test_a_rename_replans_nothing_and_names_stay_unique(harness: Harness) -> None:
    h = harness
    w = await world(h)
    now = h.clock.now()
    timers_before = await h.db.all("SELECT key, due_at, status FROM timers ORDER BY key")
    assert await h.write(lambda tx: enrolment.edit_group(
        tx, now, w.tuesday, name="Tuesday evening", meets="weekly:tue 18:00",
        place="Hope Centre")) == ["name"]
    assert await h.db.all("SELECT key, due_at, status FROM timers ORDER BY key") \
        == timers_before
    assert await h.write(lambda tx: enrolment.edit_group(
        tx, now, w.tuesday, name="Tuesday evening", meets="weekly:tue 18:00",
        place="Hope Centre")) == []
    with pytest.raises(InputError, match="exists"):
        await h.write(lambda tx: enrolment.edit_group(
            tx, now, w.tuesday, name="Thursday group", meets="weekly:tue 18:00"))
