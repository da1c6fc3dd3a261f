"""The pre-admission course: invitations to each next session, attendance, the missed-session
follow-up, and the end of invitations once a client is admitted."""

from __future__ import annotations

import pytest

from bot.core.people import InputError
from bot.journey import move_stage
from reminders import calendar
from tests.conftest import Harness
from tests.reminders.support import OFFICER, SAM, advance_to, jump_to, local, texts_to


async def course_client(h: Harness) -> int:
    cid = await h.add_client(stage="pre_admission")
    await h.db.write(lambda tx: tx.execute("UPDATE clients SET discreet = 0 WHERE id = ?", (cid,)))
    return cid


async def cohort(h: Harness) -> list[int]:
    """Four Friday sessions 10:00-12:00 from 27 November 2026."""
    return list(await h.write(lambda tx: calendar.add_cohort(
        tx, h.clock.now(), name="Nov 26", first_at=local(2026, 11, 27, 10),
        place="Hope Centre")))


async def test_a_cohort_is_four_weekly_two_hour_sessions(harness: Harness) -> None:
    h = harness
    ids = await cohort(h)
    rows = await h.db.all("SELECT starts_at, ends_at FROM course_sessions ORDER BY starts_at")
    assert len(ids) == len(rows) == 4
    assert [r[0][:16] for r in rows] == ["2026-11-27T10:00", "2026-12-04T10:00",
                                         "2026-12-11T10:00", "2026-12-18T10:00"]
    assert all(r[1][11:16] == "12:00" for r in rows)
    with pytest.raises(InputError, match="already has 4 sessions"):
        await h.write(lambda tx: calendar.add_session(tx, h.clock.now(), at=local(2027, 1, 8, 10),
                                                      cohort="Nov 26"))


async def test_attendance_stops_the_remaining_reminders(harness: Harness) -> None:
    h = harness
    first, second, *_ = await cohort(h)
    cid = await course_client(h)
    await h.write(lambda tx: calendar.enrol_client(tx, h.clock.now(), cid))
    keys = [r[0] for r in await h.db.all("SELECT key FROM timers WHERE key LIKE 'session:%'"
                                         " ORDER BY due_at")]
    assert keys == [f"session:{first}:{cid}:eve", f"session:{first}:{cid}:morning"]
    await advance_to(h, local(2026, 11, 26, 18))
    assert texts_to(h, SAM, "pre-admission group is on Friday 27 November at 10:00, Hope Centre")
    # Attendance recorded the evening before (they came to the centre early to book in).
    await h.write(lambda tx: calendar.record_attendance(tx, h.clock.now(), first, cid,
                                                        "attended"))
    await advance_to(h, local(2026, 11, 27, 12))
    assert not texts_to(h, SAM, "group today")
    status = await h.db.value("SELECT status FROM timers WHERE key = ?",
                              (f"session:{first}:{cid}:morning",))
    assert status == "cancelled"
    # ...and they are invited to the next one.
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE ? AND status = 'pending'",
                            (f"session:{second}:{cid}:%",)) == 2


async def test_missed_session_follow_up_and_the_officer_is_told(harness: Harness) -> None:
    h = harness
    first, second, *_ = await cohort(h)
    cid = await course_client(h)
    await h.write(lambda tx: calendar.enrol_client(tx, h.clock.now(), cid))
    await advance_to(h, local(2026, 11, 27, 12, 30))
    assert len(texts_to(h, SAM, "group")) == 2  # the evening before and the morning
    await h.write(lambda tx: calendar.record_attendance(tx, h.clock.now(), first, cid, "missed"))
    await h.settle()
    finding = await h.db.one("SELECT severity, reason FROM findings WHERE client_id = ?", (cid,))
    assert tuple(finding) == ("ROUTINE", "missed_session")
    assert await h.db.value("SELECT status FROM escalations WHERE client_id = ?"
                            " AND reason = 'missed_session'", (cid,)) == "notified"
    assert texts_to(h, OFFICER)
    await advance_to(h, local(2026, 11, 27, 12, 59))
    assert not texts_to(h, SAM, "we missed you")
    await advance_to(h, local(2026, 11, 27, 13))  # an hour after the session ended
    assert texts_to(h, SAM, "we missed you") == [
        "Sam, we missed you at the group session. Things happen, and you're welcome at the"
        " next one."]
    question = texts_to(h, SAM)[-1]
    assert "OK for Friday 4 December at 10:00 at Hope Centre?" in question
    await h.sms(SAM, "1")  # yes: rebooked
    await h.settle()
    assert "How will you get there?" in texts_to(h, SAM)[-1]
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE ? AND status = 'pending'",
                            (f"session:{second}:{cid}:%",)) == 2


async def test_admitted_clients_are_no_longer_invited(harness: Harness) -> None:
    h = harness
    first, *_ = await cohort(h)
    cid = await course_client(h)
    await h.write(lambda tx: calendar.enrol_client(tx, h.clock.now(), cid))
    # Admitted after the day's planner ran, before the evening reminder.
    await advance_to(h, local(2026, 11, 26, 13))
    await h.write(lambda tx: move_stage(tx, h.clock.now(), cid, "in_rehab", "cli", "admitted"))
    await advance_to(h, local(2026, 11, 26, 18))
    assert not texts_to(h, SAM, "group")
    outcome = await h.db.value("SELECT outcome FROM timers WHERE key = ?",
                               (f"session:{first}:{cid}:eve",))
    assert outcome == "dropped: client is in_rehab"
    # The daily planner ends the enrolment and cancels what was left.
    await jump_to(h, local(2026, 11, 27, 12, 1))
    assert await h.db.value("SELECT end_reason FROM course_enrolments WHERE client_id = ?",
                            (cid,)) == "admitted"
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE 'session:%'"
                            " AND status = 'pending'") == 0
    with pytest.raises(InputError, match="past the pre-admission course"):
        await h.write(lambda tx: calendar.enrol_client(tx, h.clock.now(), cid))


async def test_rescheduling_or_cancelling_a_session_moves_its_reminders(harness: Harness) -> None:
    h = harness
    first, second, *_ = await cohort(h)
    cid = await course_client(h)
    await h.write(lambda tx: calendar.enrol_client(tx, h.clock.now(), cid))
    await h.write(lambda tx: calendar.reschedule_session(tx, h.clock.now(), first,
                                                         local(2026, 11, 28, 14)))
    rows = await h.db.all("SELECT key, due_at FROM timers WHERE key LIKE 'session:%'"
                          " AND status = 'pending' ORDER BY due_at")
    assert [r[0] for r in rows] == [f"session:{first}:{cid}:eve", f"session:{first}:{cid}:morning"]
    assert rows[0][1][:16] == "2026-11-27T18:00"
    await h.write(lambda tx: calendar.cancel_session(tx, h.clock.now(), first))
    rows = await h.db.all("SELECT key FROM timers WHERE key LIKE 'session:%'"
                          " AND status = 'pending' ORDER BY due_at")
    assert [r[0] for r in rows] == [f"session:{second}:{cid}:eve",
                                    f"session:{second}:{cid}:morning"]
    await advance_to(h, local(2026, 11, 28, 15))
    # Only the two change notices, once each (issue 16); no reminder for the dropped session.
    assert texts_to(h, SAM, "group") == [
        "Sam, change of plan: the group session is now on Saturday 28 November at 14:00,"
        " Hope Centre.",
        "Sam, the group session on Saturday 28 November at 14:00 is cancelled. Dana will let"
        " you know the new date."]
