"""Change notices and the confirmation question's limits (issue 16), through the calendar
operations the CLI and panel call and the real clock loop."""

from __future__ import annotations

from bot.conversation import start_flow
from reminders import calendar
from tests.conftest import Harness
from tests.reminders.support import SAM, advance_to, local, texts_to


async def test_discreet_client_hears_of_a_move_without_what_or_where(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()  # discreet by default
    appt = int(await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="court", at=local(2026, 12, 7, 10),
        place="Victoria Law Courts, Broad St")))
    await h.write(lambda tx: calendar.reschedule_appointment(tx, h.clock.now(), appt,
                                                             local(2026, 12, 8, 11)))
    # Same time again (a panel form re-submitted): no second notice.
    await h.write(lambda tx: calendar.reschedule_appointment(tx, h.clock.now(), appt,
                                                             local(2026, 12, 8, 11)))
    await h.settle()
    sent = texts_to(h, SAM, "change of plan")
    assert sent == ["Hi Sam, change of plan: your important appointment is now on Tuesday 8 December at"
                    " 11:00."]
    assert all("ourt" not in t and "Broad" not in t for t in texts_to(h, SAM))


async def test_a_past_appointment_cancelled_sends_nothing(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    appt = int(await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="housing", at=local(2026, 11, 25, 11))))
    await advance_to(h, local(2026, 11, 25, 12))
    await h.write(lambda tx: calendar.cancel_appointment(tx, h.clock.now(), appt))
    await h.settle()
    assert not texts_to(h, SAM, "cancelled")


async def test_a_confirmation_that_waited_past_its_event_is_never_asked(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()
    await h.write(lambda tx: tx.execute("UPDATE clients SET discreet = 0 WHERE id = ?", (cid,)))
    await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="probation", at=local(2026, 11, 25, 12, 30)))
    await advance_to(h, local(2026, 11, 25, 10, 20))
    await h.write(lambda tx: start_flow(tx, h.clock.now(), cid, "daily_checkin"))
    await advance_to(h, local(2026, 11, 25, 10, 31))  # the 2h reminder: its question waits
    assert texts_to(h, SAM, "probation appointment")
    assert await h.db.value("SELECT status FROM flow_sessions WHERE flow_id ="
                            " 'appointment_confirmation'") == "waiting"
    await advance_to(h, local(2026, 11, 25, 12, 45))
    for answer in ("7", "3", "2", "no", "0"):  # the check-in ends after the appointment
        await h.sms(SAM, answer)
    await h.settle()
    assert not texts_to(h, SAM, "just checking")
    assert await h.db.value("SELECT COUNT(*) FROM flow_sessions WHERE flow_id ="
                            " 'appointment_confirmation' AND status = 'active'") == 0
