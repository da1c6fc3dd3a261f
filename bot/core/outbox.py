"""The outbox: every outbound message is a row first, written with the change that caused it.

The dispatcher (bot/dispatcher.py) sends rows; this module only writes and reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.clock import iso
from bot.core.contact import verdict_for
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.quiet import allowed_from
from bot.core.segments import count_segments

# Escalations to staff go ahead of everything; a crisis reply ahead of routine traffic.
PRIORITY_ESCALATION = 100
PRIORITY_SAFETY = 90
PRIORITY_NORMAL = 0
PRIORITY_BULK = -10


@dataclass(frozen=True)
class OutRow:
    id: int
    channel: str
    address: str
    identity_id: int | None
    body: str
    reply_markup: dict[str, Any] | None
    edit_of_provider_id: str | None
    safety: bool
    attempts: int
    segments: int | None
    maybe_sent: bool = False  # an earlier attempt timed out after the request left
    created_at: str = ""
    op: str = "send"  # send | edit | answer_callback
    ref: str | None = None
    cause: str | None = None
    first_attempt_at: str | None = None  # the retry horizon and the Twilio lookup count from here
    priority: int = PRIORITY_NORMAL
    client_id: int | None = None


async def enqueue(
    tx: Tx,
    now: datetime,
    identity: Identity,
    body: str,
    *,
    message_key: str | None = None,
    priority: int = PRIORITY_NORMAL,
    safety: bool = False,
    dedupe_key: str | None = None,
    cause: str | None = None,
    reply_markup: dict[str, Any] | None = None,
    edit_of: int | None = None,
    not_before: datetime | None = None,
    op: str = "send",
    ref: str | None = None,
    reply: bool = False,
    purpose: str | None = None,
    fallback_of: int | None = None,
    language: str | None = None,
) -> int | None:
    """Queue `body` for `identity`. Returns the row id, or None if `dedupe_key` was already used.

    `purpose` (bot.core.contact.PURPOSES) is checked against the contact policy for a client;
    a message the policy refuses is stored as cancelled with the reason, so the timeline shows
    what was not sent and why. Without a purpose: `safety` is "crisis" (it wins: a crisis reply to
    someone who opted out must go), a `reply` is "reply", else "checkin" (the strictest).

    Quiet hours: a message we start (not a `reply` to someone who just wrote, not safety, not
    to staff) waits until quiet hours end. This is the last line of defence against a text at
    3 a.m., whatever scheduled it.

    `language`: the catalog locale the body was rendered from (`texts.rendered`), for the panel.
    """
    if not (safety or reply or identity.staff_id is not None or identity.id is None):
        not_before = await allowed_from(tx, identity.client_id, not_before or now)
    refused = None
    if identity.client_id is not None and op == "send":
        verdict = await verdict_for(tx, identity, purpose or (
            "crisis" if safety else "reply" if reply else "checkin"))
        refused = None if verdict.allowed else verdict.reason
    status = "cancelled" if refused else "queued"
    segments = count_segments(body) if identity.channel == "sms" and op == "send" else None
    stamp = iso(now)
    row_id = await tx.execute(
        "INSERT INTO outbox (op, ref, channel, address, identity_id, client_id, staff_id, body,"
        " message_key, reply_markup, edit_of, priority, safety, segments, status,"
        " next_attempt_at, last_error, dedupe_key, cause, created_at, updated_at, fallback_of,"
        " language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        (op, ref, identity.channel, identity.address, identity.id, identity.client_id,
         identity.staff_id, body, message_key,
         json.dumps(reply_markup) if reply_markup else None, edit_of, priority, int(safety),
         segments, status, iso(not_before or now), refused,
         dedupe_key, cause, stamp, stamp, fallback_of, language),
    )
    return row_id or None


# Status callbacks can arrive out of order; a later-ranked status never goes backwards.
DELIVERY_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
    "delivered": 4, "read": 5, "undelivered": 5, "failed": 5, "canceled": 5,
}
FINAL_DELIVERY = frozenset({"delivered", "read", "undelivered", "failed", "canceled"})


async def record_delivery_status(tx: Tx, now: datetime, provider_id: str, status: str) -> bool:
    """Apply a provider status callback; False if unknown message or an older status."""
    status = status.lower()
    new_rank = DELIVERY_RANK.get(status)
    if new_rank is None:
        return False
    row = await tx.one("SELECT id, delivery_status FROM outbox WHERE provider_id = ?",
                       (provider_id,))
    if row is None:
        return False
    current = row[1]
    if current is not None and (current in FINAL_DELIVERY
                                or DELIVERY_RANK.get(current, -1) >= new_rank):
        return False
    await tx.execute("UPDATE outbox SET delivery_status = ?, updated_at = ? WHERE id = ?",
                     (status, iso(now), row[0]))
    return True
