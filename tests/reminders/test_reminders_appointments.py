"""Appointment reminders end to end: planned rows, the clock loop, the confirmation flow and the
real twilio library against the fake Twilio, with the harness clock moved by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from reminders import calendar
from tests.conftest import Harness
from tests.reminders.support import LONDON, OFFICER, SAM, advance_to, jump_to, local, texts_to


async def private_client(h: Harness, **kw: object) -> int:
    """A client who said in onboarding that the phone is theirs alone (full wording)."""
    cid = await h.add_client(**kw)  # type: ignore[arg-type]
    await h.db.write(lambda tx: tx.execute("UPDATE clients SET discreet = 0 WHERE id = ?", (cid,)))
    return cid


async def add(h: Harness, cid: int, kind: str, at: datetime, **kw: object) -> int:
    return int(await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind=kind, at=at, **kw)))  # type: ignore[arg-type]


async def test_court_7_1_0_plan_arrives_at_the_right_times_each_with_one_question(
        harness: Harness) -> None:
    h = harness
    cid = await private_client(h)
    court = local(2026, 12, 7, 10)  # Monday
    await add(h, cid, "court", court, place="Victoria Law Courts")
    due = [local(2026, 11, 30, 10), local(2026, 12, 6, 10), local(2026, 12, 7, 8)]
    for i, moment in enumerate(due):
        await advance_to(h, moment - timedelta(minutes=1))
        assert len(texts_to(h, SAM, "court is")) == i, moment
        await advance_to(h, moment)
        court_texts = texts_to(h, SAM, "court is")
        assert len(court_texts) == i + 1, moment
        assert "Monday 7 December at 10:00, Victoria Law Courts" in court_texts[-1]
        assert "warrant" in court_texts[-1] and "?" not in court_texts[-1]
        # The flow's question follows the statement: the only question, with its own options,
        # and never more than twice about the same event (issue 16).
        body = [r.params["Body"] for r in h.twilio.sent("messages.create")
                if r.params["To"] == SAM]
        after = body[body.index(court_texts[-1]) + 1:]
        if i < 2:
            assert "just checking you're OK for Monday 7 December at 10:00 at Victoria Law" \
                " Courts?" in after[0] and "1 = yes" in after[0]
        else:
            assert not [t for t in after if "just checking" in t]
    outcomes = await h.db.all("SELECT key, outcome FROM timers WHERE key LIKE 'reminder:%'"
                              " ORDER BY due_at")
    assert [(r[0].rsplit(":", 1)[1], r[1]) for r in outcomes] == [
        ("7d", "sent; confirmation started"), ("1d", "sent; confirmation started"),
        ("2h", "sent; confirmation skipped: asked enough times")]


async def test_discreet_client_gets_no_place_or_kind(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()  # discreet until they say the phone is theirs
    await add(h, cid, "probation", local(2026, 11, 27, 14), place="Probation Office, Broad St")
    await advance_to(h, local(2026, 11, 26, 14))
    sent = texts_to(h, SAM, "catch-up")  # the kind's discreet label (issue 16)
    assert sent and all("robation" not in t and "Broad" not in t for t in sent)


async def test_discreet_reminder_says_what_and_where_by_alias(harness: Harness) -> None:
    h = harness
    cid = await h.add_client()  # discreet
    other = await h.add_client(ref="C-2", first_name="Jo", phone="+447700900124")
    await h.write(lambda tx: calendar.set_place_alias(
        tx, h.clock.now(), "Probation Office,  Broad St", "the office on the high road"))
    await h.write(lambda tx: calendar.set_place_alias(
        tx, h.clock.now(), "probation office, broad st", "the usual place on Broad St",
        client_id=cid))
    for who in (cid, other):
        await add(h, who, "probation", local(2026, 11, 27, 14),
                  place="Probation Office, Broad St")
    await advance_to(h, local(2026, 11, 26, 14))
    assert texts_to(h, SAM, "catch-up")[0] == (
        "Hi Sam, reminder: your regular catch-up is on Friday 27 November at 14:00,"
        " the usual place on Broad St.")
    assert texts_to(h, "+447700900124", "catch-up")[0].endswith(
        "at 14:00, the office on the high road.")


async def finish_checkin(h: Harness, cid: int) -> None:
    """Issue 11: a confirmation waits for the day's open check-in; answer it first."""
    for answer in ("7", "3", "2", "no", "0"):
        if await h.db.value("SELECT flow_id FROM flow_sessions WHERE client_id = ? AND"
                            " status = 'active'", (cid,)) != "daily_checkin":
            break
        await h.sms(SAM, answer)
    await h.settle()


async def test_a_no_or_cant_make_it_reply_tells_the_officer(harness: Harness) -> None:
    h = harness
    cid = await private_client(h)
    await add(h, cid, "probation", local(2026, 11, 27, 14), place="Broad St")
    await advance_to(h, local(2026, 11, 26, 14))
    await finish_checkin(h, cid)
    assert await h.db.value("SELECT flow_id FROM flow_sessions WHERE client_id = ?"
                            " AND status = 'active'", (cid,)) == "appointment_confirmation"
    await h.sms(SAM, "No")
    await h.settle()
    finding = await h.db.one("SELECT severity, reason FROM findings WHERE client_id = ?", (cid,))
    assert tuple(finding) == ("ROUTINE", "appointment_declined")
    esc = await h.db.one("SELECT severity, status FROM escalations WHERE client_id = ?"
                         " AND reason = 'appointment_declined'", (cid,))
    assert esc["severity"] == "ROUTINE" and esc["status"] == "notified"
    assert texts_to(h, OFFICER), "the officer hears about it"
    assert "sort out another time" in texts_to(h, SAM)[-1]
    # "can't make it" to the 2h reminder counts the same.
    await advance_to(h, local(2026, 11, 27, 12))
    await finish_checkin(h, cid)
    await h.sms(SAM, "sorry can't make it")
    await h.settle()
    assert await h.db.value("SELECT COUNT(*) FROM findings WHERE client_id = ?"
                            " AND reason = 'appointment_declined'", (cid,)) == 2


async def test_reschedule_and_cancel_never_send_the_old_reminders(harness: Harness) -> None:
    h = harness
    cid = await private_client(h)
    moved = await add(h, cid, "probation", local(2026, 11, 27, 14))
    dropped = await add(h, cid, "housing", local(2026, 11, 26, 15))
    now = h.clock.now()
    await h.write(lambda tx: calendar.reschedule_appointment(tx, now, moved,
                                                             local(2026, 12, 1, 14)))
    await h.write(lambda tx: calendar.cancel_appointment(tx, now, dropped))
    rows = await h.db.all("SELECT key, status, due_at FROM timers WHERE key LIKE 'reminder:%'"
                          " ORDER BY key")
    assert {r["key"]: r["status"] for r in rows} == {
        f"reminder:{moved}:1d": "pending", f"reminder:{moved}:2h": "pending",
        f"reminder:{dropped}:1d": "cancelled", f"reminder:{dropped}:2h": "cancelled"}
    # One change notice each, at once (issue 16); the old reminders never.
    notices = ["Sam, change of plan: probation is now on Tuesday 1 December at 14:00.",
               "Sam, the housing appointment on Thursday 26 November at 15:00 is cancelled."
               " Dana will let you know the new date."]
    for moment in (local(2026, 11, 26, 15), local(2026, 11, 27, 14), local(2026, 11, 30, 13)):
        await advance_to(h, moment)
        assert texts_to(h, SAM, "probation") + texts_to(h, SAM, "housing") == notices
    await advance_to(h, local(2026, 11, 30, 14))
    assert texts_to(h, SAM, "probation appointment is") == [
        "Sam, your probation appointment is on Tuesday 1 December at 14:00."
        " Missing it can count as a breach."]
    await advance_to(h, local(2026, 12, 1, 13))
    assert len(texts_to(h, SAM, "probation appointment is")) == 2
    assert texts_to(h, SAM, "housing") == notices[1:]
    actions = [r[0] for r in await h.db.all("SELECT action FROM audit_log WHERE"
                                            " object_kind = 'appointment' ORDER BY id")]
    assert actions == ["appointment.added", "appointment.added", "appointment.rescheduled",
                       "appointment.cancelled"]


async def test_quiet_hours_move_a_reminder_back_to_the_evening_before(harness: Harness) -> None:
    h = harness
    cid = await private_client(h)
    # 07:30 court: the 2h reminder (05:30) and the 1d one (07:30 the day before) fall in the
    # 21:00-08:00 quiet hours; each moves back to 20:59 the evening before, never after.
    await add(h, cid, "court", local(2026, 12, 3, 7, 30))
    await advance_to(h, local(2026, 12, 1, 20, 58))
    assert len(texts_to(h, SAM, "court is")) == 1  # the 7d one
    await advance_to(h, local(2026, 12, 1, 20, 59))
    assert len(texts_to(h, SAM, "court is")) == 2
    await advance_to(h, local(2026, 12, 2, 20, 59))
    assert texts_to(h, SAM, "court is soon")
    await advance_to(h, local(2026, 12, 3, 9))
    # Nothing but safety texts ever went to the client inside quiet hours.
    rows = await h.db.all("SELECT sent_at FROM outbox WHERE client_id = ? AND safety = 0"
                          " AND sent_at IS NOT NULL", (cid,))
    for r in rows:
        t = datetime.fromisoformat(r[0]).astimezone(LONDON).time()
        assert t.hour < 21 and t.hour >= 8, r[0]


async def test_client_quiet_hours_are_their_own(harness: Harness) -> None:
    h = harness
    cid = await private_client(h)
    await h.db.write(lambda tx: tx.execute(
        "UPDATE clients SET quiet_start = '19:00', quiet_end = '10:00' WHERE id = ?", (cid,)))
    await add(h, cid, "other", local(2026, 11, 27, 11))  # 2h reminder at 09:00: quiet for them
    timers = await h.db.all("SELECT key, due_at FROM timers WHERE key LIKE 'reminder:%'"
                            " ORDER BY due_at")
    assert [datetime.fromisoformat(r[1]).astimezone(LONDON) for r in timers] == [
        local(2026, 11, 26, 11), local(2026, 11, 26, 18, 59)]


async def test_monthly_depot_injection_series_is_written_ahead_and_topped_up(
        harness: Harness) -> None:
    h = harness
    cid = await private_client(h)
    first = await add(h, cid, "depot_injection", local(2026, 12, 15, 10),
                      repeat="monthly on day 15 at 10:00", place="Boots, New Street")
    rows = await h.db.all("SELECT id, at, occurrence_on FROM appointments ORDER BY at")
    assert rows[0]["id"] == first
    # 92 days counted from the first date.
    assert [r["occurrence_on"] for r in rows] == [
        "2026-12-15", "2027-01-15", "2027-02-15", "2027-03-15"]
    await jump_to(h, local(2026, 12, 14, 9, 59))
    await advance_to(h, local(2026, 12, 14, 10))
    assert len(texts_to(h, SAM, "injection is due on Tuesday 15 December at 10:00")) == 1
    # A month on, the daily planner has written the next one, once.
    await jump_to(h, local(2027, 1, 14, 12, 5))
    await jump_to(h, local(2027, 1, 15, 12, 5))
    dates = [r[0] for r in await h.db.all("SELECT occurrence_on FROM appointments ORDER BY at")]
    assert dates == ["2026-12-15", "2027-01-15", "2027-02-15", "2027-03-15", "2027-04-15"]
    latest = await h.db.value("SELECT MAX(id) FROM appointments")
    assert await h.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE ? AND status = 'pending'",
                            (f"reminder:{latest}:%",)) == 2


async def test_bad_input_is_an_input_error(harness: Harness) -> None:
    import pytest

    from bot.core.people import InputError

    h = harness
    cid = await private_client(h)
    now = h.clock.now()
    for kw, field in ((dict(kind="dentist", at=local(2026, 12, 1, 10)), "kind"),
                      (dict(kind="court", at=local(2026, 11, 1, 10)), "at"),
                      (dict(kind="court", at=local(2026, 12, 1, 10), repeat="fortnightly"),
                       "repeat"),
                      (dict(kind="court", at=local(2026, 12, 1, 10), place="x" * 200), "place")):
        with pytest.raises(InputError, match=field):
            await h.write(lambda tx, kw=kw: calendar.add_appointment(
                tx, now, client_id=cid, **kw))  # type: ignore[arg-type]
    appt = await add(h, cid, "court", local(2026, 12, 1, 10))
    await h.write(lambda tx: calendar.cancel_appointment(tx, now, appt))
    with pytest.raises(InputError, match="cancelled"):
        await h.write(lambda tx: calendar.reschedule_appointment(tx, now, appt,
                                                                 local(2026, 12, 2, 10)))
