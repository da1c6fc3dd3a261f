"""The one contact policy (bot/core/contact.py): the table, then every real sender under it.

Each row of docs/ARCHITECTURE.md's contact table is a case here: the pure decision first, then
the same situation end to end: an appointment reminder, a daily check-in, a group-meeting
reminder, a milestone, an officer's message and a crisis reply, through the real webhooks, the
clock loop, the dispatcher and the fake Twilio.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.aftercare import milestones
from bot.core.contact import PURPOSES, decide
from bot.core.messaging import officer_message
from bot.journey import set_custody
from reminders import calendar
from tests.aftercare.support import SAM, world
from tests.conftest import Harness
from tests.reminders.support import advance_to, local

ALL = set(PURPOSES)
# situation -> purposes allowed (the table in docs/ARCHITECTURE.md, "Who may be written to")
TABLE = {
    "ok": ALL,
    "deceased": set(),
    "withdrawn": {"reply", "keyword", "crisis"},
    "opted_out": {"crisis", "keyword"},
    "in_custody": {"reply", "keyword", "crisis", "officer"},
    "no_consent": {"reply", "keyword", "crisis", "onboarding", "officer"},
}
SITUATION = {
    "ok": {},
    "deceased": {"stage": "deceased"},
    "withdrawn": {"stage": "withdrawn"},
    "opted_out": {"opted_out": True},
    "in_custody": {"in_custody": True},
    "no_consent": {"consented": False},
}


@pytest.mark.parametrize("situation", sorted(TABLE))
@pytest.mark.parametrize("purpose", PURPOSES)
def test_the_table(situation: str, purpose: str) -> None:
    facts = {"stage": "engagement", "consented": True, "opted_out": False, "in_custody": False,
             **SITUATION[situation]}
    verdict = decide(purpose, **facts)  # type: ignore[arg-type]
    assert verdict.allowed is (purpose in TABLE[situation]), verdict
    assert verdict.reason != "ok" or verdict.allowed
    # Only custody asks for the officer to be told instead.
    assert verdict.tell_officer is (situation == "in_custody" and not verdict.allowed)


def test_deceased_wins_over_everything_and_unknown_purposes_fail_loudly() -> None:
    for purpose in PURPOSES:
        assert not decide(purpose, stage="deceased", consented=True, opted_out=False,
                          in_custody=False).allowed
    with pytest.raises(ValueError, match="purpose"):
        decide("marketing", stage="engagement", consented=True, opted_out=False,
               in_custody=False)


async def _situate(h: Harness, cid: int, situation: str) -> None:
    if situation in ("deceased", "withdrawn"):
        await h.write(lambda tx: tx.execute("UPDATE clients SET stage = ? WHERE id = ?",
                                            (situation, cid)))
    elif situation == "opted_out":
        assert (await h.sms(SAM, "STOP")).status_code == 200
    elif situation == "in_custody":
        assert await h.write(lambda tx: set_custody(tx, h.clock.now(), cid, True, "test"))
    await h.settle()


def _sent_keys(rows: list, prefix: str) -> list[str]:
    return [r["message_key"] for r in rows if r["status"] == "sent"
            and (r["message_key"] or "").startswith(prefix)]


@pytest.mark.parametrize("situation", ["ok", "deceased", "withdrawn", "opted_out", "in_custody"])
async def test_every_sender_follows_the_policy(harness: Harness, situation: str) -> None:
    h = harness
    w = await world(h)  # Sam: Dana's client, aftercare stage, Tuesday group, SMS
    cid = w.sam
    await h.write(lambda tx: calendar.add_appointment(
        tx, h.clock.now(), client_id=cid, kind="court", at=local(2026, 11, 27, 10),
        place="Victoria Law Courts"))
    # Day 30 in recovery falls on Thursday 26 November at 10:00 local.
    await h.write(lambda tx: milestones.propose(tx, h.clock.now(), cid, date(2026, 10, 27)))
    await h.settle()
    assert (await h.sms(SAM, "1")).status_code == 200  # yes, that date is right
    await h.settle()
    before = await h.db.value("SELECT MAX(id) FROM outbox")
    await _situate(h, cid, situation)

    # Court reminders (26th, 27th), a daily check-in (26th), the milestone (26th), and the
    # Tuesday group's meeting reminders (30th, 1st).
    await advance_to(h, local(2026, 12, 1, 17))
    rows = await h.db.all("SELECT * FROM outbox WHERE client_id = ? AND id > ? ORDER BY id",
                          (cid, before))
    automated = {"reminder.court": _sent_keys(rows, "reminder.court"),
                 "check-in or scale": _sent_keys(rows, "checkin.") + _sent_keys(rows, "weekly.")
                 + _sent_keys(rows, "scale."),
                 "meeting": _sent_keys(rows, "reminder.aftercare_meeting"),
                 "milestone": _sent_keys(rows, "milestone.days")}
    if situation == "ok":
        assert all(automated.values()), automated
    else:
        assert not any(automated.values()), automated
        outcomes = [r[0] for r in await h.db.all(
            "SELECT outcome FROM timers WHERE client_id = ? AND kind IN ('reminder', 'checkin',"
            " 'meeting_reminder', 'milestone') AND status = 'done'", (cid,))]
        assert outcomes and all(o.startswith("skipped") or o.startswith("dropped")
                                for o in outcomes), outcomes
    # In custody the officer is told instead: one routine note a day, never one per message.
    notes = await h.db.all("SELECT substr(at, 1, 10) FROM findings WHERE client_id = ?"
                           " AND reason = 'contact_in_custody'", (cid,))
    if situation == "in_custody":
        days = [n[0] for n in notes]
        assert days and len(days) == len(set(days)), days
    else:
        assert not notes

    # An officer's own words: refused at once, in words, where the policy says no.
    async def send(tx):  # type: ignore[no-untyped-def]
        return await officer_message(tx, h.clock.now(), cid, "Call me when you can", "staff:1")

    if situation in ("ok", "in_custody"):
        assert await h.write(send)
    else:
        with pytest.raises(ValueError, match="not sent"):
            await h.write(send)

    # Crisis words: everyone but the deceased's phone gets the crisis contacts; the officer is
    # alerted in every case.
    before = await h.db.value("SELECT MAX(id) FROM outbox")
    assert (await h.sms(SAM, "i cant go on, going to end my life tonight")).status_code == 200
    await h.settle()
    crisis = await h.db.all("SELECT status, last_error FROM outbox WHERE client_id = ?"
                            " AND id > ? AND message_key = 'crisis.reply'", (cid, before))
    # Kept as a cancelled row with its reason, so the timeline shows what was not sent and why.
    assert [tuple(r) for r in crisis] == ([("cancelled", "deceased")] if situation == "deceased"
                                          else [("sent", None)])
    assert await h.db.value("SELECT COUNT(*) FROM escalations WHERE client_id = ?"
                            " AND severity = 'RED'", (cid,)) == 1
