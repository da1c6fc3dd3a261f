"""The client's own changes through the real webhook: TIME re-plans, RESCHEDULE reaches the
officer with one tap to the move form (transcripts cover the replies: keyword_*.txt)."""

from __future__ import annotations

from reminders import calendar
from tests.conftest import Harness
from tests.reminders.support import OFFICER, SAM, advance_to, local, texts_to


async def test_time_moves_the_planned_checkin_and_never_resends(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await advance_to(h, local(2026, 11, 26, 9))  # Thursday's 10:00 check-in is still to come
    await h.sms(SAM, "TIME 19:30")
    await h.settle()
    assert await h.db.value("SELECT checkin_time FROM clients WHERE id = ?", (cid,)) == "19:30"
    key = f"checkin:{cid}:2026-11-26"
    row = await h.db.one("SELECT due_at, status FROM timers WHERE key = ?", (key,))
    assert row["status"] == "pending" and row["due_at"].startswith("2026-11-26T19:30")
    await advance_to(h, local(2026, 11, 26, 12))
    assert not texts_to(h, SAM, "how happy"), "nothing at the old time"
    await advance_to(h, local(2026, 11, 26, 20))
    assert len(texts_to(h, SAM, "how happy")) == 1
    # Moving it again after it ran: today's is never re-sent, tomorrow's moves.
    await h.sms(SAM, "time 8pm")
    await h.settle()
    assert await h.db.value("SELECT status FROM timers WHERE key = ?", (key,)) == "done"
    tomorrow = await h.db.value("SELECT due_at FROM timers WHERE key = ?",
                                (f"checkin:{cid}:2026-11-27",))
    assert tomorrow.startswith("2026-11-27T20:00")
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action ="
                            " 'client.keyword.time'") == 2


async def test_reschedule_tells_the_officer_with_a_link_to_move_it(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    appt = int(await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="probation", at=local(2026, 12, 1, 14))))
    await h.sms(SAM, "Reschedule")
    await h.settle()
    notice = texts_to(h, OFFICER, "asks to move")
    assert len(notice) == 1
    assert f"/admin/calendar?from=2026-12-01#move-{appt}" in notice[0]
    assert "Tuesday 1 December at 14:00" in notice[0]
    reply = texts_to(h, SAM)[-1]
    assert "Dana will get in touch" in reply and "Tuesday 1 December at 14:00" in reply
    assert await h.db.value("SELECT inbox FROM inbound WHERE client_id = ? ORDER BY id DESC",
                            (cid,)) == "reschedule"
