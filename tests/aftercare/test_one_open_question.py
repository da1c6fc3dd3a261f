"""At most one open question per person, mentors included (issue 11): a mentor's prompt that
falls due while a flow is open waits its turn, and a flow that waited past its own expiry is
skipped, with an audit row. Through the real inbound path, timers and the fakes."""

from __future__ import annotations

from datetime import timedelta

from bot.aftercare import mentor_chat, mentors
from tests.conftest import Harness
from tests.e2e.test_transcripts import Run

MENTOR = "+447700900123"


def texts(h: Harness) -> list[str]:
    return [m["body"] for m in h.twilio.messages(to=MENTOR)]


async def _mentor(h: Harness) -> Run:
    run = Run(h, "one-open-question")
    await run.setup({"stage": "aftercare", "mentor": "yes"})
    return run


async def test_a_prompt_due_during_a_checkin_waits_until_it_ends(harness: Harness) -> None:
    from bot.conversation import start_flow

    h = harness
    run = await _mentor(h)
    await h.write(lambda tx: start_flow(tx, h.clock.now(), run.client_id, "daily_checkin"))
    await h.settle()
    staff = await h.db.value("SELECT staff_id FROM mentors WHERE client_id = ?", (run.client_id,))

    async def weekly_concern(tx):  # what the weekly concern timer does
        mentor = await mentors.active(tx, staff)
        return await mentor_chat.send_concern(tx, h.clock.now(), mentor)

    await h.write(weekly_concern)
    await h.settle()
    # It waits: the check-in is open.
    assert not any("Anyone you are worried about" in t for t in texts(h)), texts(h)
    for answer in ("7", "3", "2", "no", "0"):
        await h.sms(MENTOR, answer)
        await h.settle()
    sent = texts(h)
    assert "that's all for today" in sent[-2].lower() and "Anyone you are worried about" in sent[-1]
    # Its answer is the concern's, not a misfit of anything.
    await h.sms(MENTOR, "0")
    await h.settle()
    assert texts(h)[-1] == "Thanks. Good to hear."


async def test_a_waiting_checkin_that_expired_is_skipped_visibly(harness: Harness) -> None:
    from bot.conversation import start_flow

    h = harness
    run = await _mentor(h)
    await h.advance(timedelta(minutes=95))  # the register for today's meeting is asked
    assert any("who came?" in t for t in texts(h))
    await h.write(lambda tx: start_flow(tx, h.clock.now(), run.client_id, "daily_checkin"))
    await h.settle()
    # Nobody answers the register; it expires after 48 hours, long past the check-in's 6. The
    # weekly concern question (Thursday) waited too, and ranks above check-ins: it goes first.
    await h.advance(timedelta(hours=49))
    assert "Anyone you are worried about" in texts(h)[-1]
    await h.sms(MENTOR, "0")
    await h.settle()
    row = await h.db.one("SELECT status, ended_at FROM flow_sessions WHERE client_id = ?"
                         " AND flow_id = 'daily_checkin' ORDER BY id LIMIT 1", (run.client_id,))
    assert row["status"] == "expired" and row["ended_at"] is not None
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action = 'flow.waiting_expired'"
                            " AND object_id = ?", (run.client_id,)) >= 1


async def test_a_waiting_question_asked_for_meanwhile_is_not_asked_twice(
        harness: Harness) -> None:
    from bot.conversation import start_flow

    h = harness
    run = await _mentor(h)
    await h.write(lambda tx: start_flow(tx, h.clock.now(), run.client_id, "daily_checkin"))
    await h.settle()
    staff = await h.db.value("SELECT staff_id FROM mentors WHERE client_id = ?", (run.client_id,))

    async def weekly_concern(tx):
        return await mentor_chat.send_concern(tx, h.clock.now(), await mentors.active(tx, staff))

    await h.write(weekly_concern)  # waits behind the check-in
    await h.sms(MENTOR, "CONCERN")  # asked for: goes at once, and replaces the waiting one
    await h.sms(MENTOR, "0")
    await h.settle()
    for answer in ("7", "3", "2", "no", "0"):
        await h.sms(MENTOR, answer)
        await h.settle()
    lists = [t for t in texts(h) if "Anyone you are worried about" in t]
    assert len(lists) == 1 and "that's all for today" in texts(h)[-1].lower()
