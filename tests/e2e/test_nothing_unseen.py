"""Nothing a client says goes unseen (issue 11): through signed webhooks, the real dispatcher and
the fake providers, with a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.messaging import officer_message
from tests.conftest import Harness

SAM = "+447700900123"
# 23:41 on a winter weekday (GMT = UTC): inside the default quiet hours 21:00-08:00.
LATE = datetime(2026, 11, 25, 23, 41, tzinfo=UTC)


def bodies_to(h: Harness, number: str) -> list[str]:
    return [m["body"] for m in h.twilio.messages(to=number)]


async def test_held_officer_message_does_not_block_replies_behind_it(harness: Harness) -> None:
    cid = await harness.add_client()
    harness.clock.set(LATE)
    await harness.write(lambda tx: officer_message(tx, harness.clock.now(), cid,
                                                   "Call me tomorrow about Friday", "cli"))
    await harness.settle()
    assert bodies_to(harness, SAM) == []  # held for quiet hours

    await harness.sms(SAM, "ok will do")
    await harness.settle()
    await harness.sms(SAM, "STOP")
    await harness.settle()
    await harness.sms(SAM, "START")
    await harness.settle()
    sent = bodies_to(harness, SAM)
    # Three replies, at once and in the order written; the officer's words are still held.
    assert len(sent) == 3, sent
    assert not any("Friday" in b for b in sent)
    rows = await harness.db.all(
        "SELECT message_key FROM outbox WHERE address = ? AND status = 'sent' ORDER BY sent_at, id",
        (SAM,))
    keys = [r[0] for r in rows]
    assert keys[1:] == ["optout.confirm", "optin.confirm"], keys

    await harness.advance(timedelta(hours=8, minutes=20))  # 08:01
    sent = bodies_to(harness, SAM)
    assert len(sent) == 4 and "Friday" in sent[-1]
