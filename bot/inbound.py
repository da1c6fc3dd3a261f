"""The inbound log: store a message (deduplicated on its provider id) and route it, in one commit.

Storing and routing share one transaction, so the common case costs one fsync. Routing runs in a
savepoint: if it fails, only its effects are undone, the message itself still commits as 'failed'
and the retry sweep picks it up. Either way the webhook is answered only after the commit.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.clock import iso
from bot.core.db import Database, Tx
from bot.core.identities import Identity, find_identity
from bot.core.pg import LOCK_ADDRESS, LOCK_CLIENT
from flows.intents import guess_language

log = logging.getLogger(__name__)

RETRY_LIMIT = 3
ROUTED = frozenset({"processed", "unmatched", "ignored"})  # the inbound.status CHECK allows these


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    provider_id: str
    address: str
    body: str = ""
    kind: str = "text"  # text | callback | member | other
    private: bool = True  # Telegram group chats are never a client's answers
    # Stored with the row; for Telegram it carries chat_type, so a retry knows a group message.
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredInbound:
    id: int
    message: InboundMessage
    identity: Identity | None
    received_at: datetime


# The router: (tx, stored message, now) -> status word ('processed', 'unmatched', 'ignored').
Router = Callable[[Tx, StoredInbound, datetime], Awaitable[str]]


async def hold_sender(tx: Tx, msg: InboundMessage, identity: Identity | None) -> None:
    """One message of a person at a time, across instances sharing a PostgreSQL database: a
    transaction-scoped lock on the client (or the address of someone unknown), taken before
    their message is stored, so their messages are handled one after another, in the order
    the locks were granted. (SQLite: one writer, already in order.)"""
    if identity is not None and identity.client_id is not None:
        await tx.advisory_lock(LOCK_CLIENT, identity.client_id)
    else:
        await tx.advisory_lock(LOCK_ADDRESS, zlib.crc32(
            f"{msg.channel}:{msg.address}".encode()) & 0x7FFFFFFF)


async def store_and_route(tx: Tx, msg: InboundMessage, now: datetime,
                          route: Router) -> tuple[int, bool]:
    """Returns (inbound id, fresh). A redelivery returns the first row's id and fresh=False."""
    identity = await find_identity(tx, msg.channel, msg.address)
    await hold_sender(tx, msg, identity)
    # Guessed once, here: the screen that routing runs next reuses the words read for it.
    language = guess_language(msg.body) if msg.body and msg.kind == "text" and (
        identity is None or identity.staff_id is None) else None
    row_id = await tx.execute(
        "INSERT INTO inbound (channel, provider_id, address, kind, body, payload, identity_id,"
        " client_id, staff_id, received_at, after_outbox, language)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM outbox), ?)"
        " ON CONFLICT (channel, provider_id) DO NOTHING",
        (msg.channel, msg.provider_id, msg.address, msg.kind, msg.body,
         json.dumps(msg.payload, sort_keys=True) if msg.payload else None,
         identity.id if identity else None, identity.client_id if identity else None,
         identity.staff_id if identity else None, iso(now), language))
    if not row_id:
        existing = await tx.value("SELECT id FROM inbound WHERE channel = ? AND provider_id = ?",
                                  (msg.channel, msg.provider_id))
        return int(existing), False
    await _route(tx, StoredInbound(row_id, msg, identity, now), now, route)
    return row_id, True


async def _route(tx: Tx, stored: StoredInbound, now: datetime, route: Router) -> None:
    try:
        async def routed(t: Tx) -> str:
            status = await route(t, stored, now)
            # Checked inside the savepoint: a wrong word undoes the effects with it, rather than
            # committing them and failing on the status column (then retried, e.g. 3 answers).
            if status not in ROUTED:
                raise ValueError(f"the router answered {status!r}")
            return status

        status = await tx.savepoint(routed, "route")
        await tx.execute(
            "UPDATE inbound SET status = ?, processed_at = ?, attempts = attempts + 1,"
            " error = NULL WHERE id = ?", (status, iso(now), stored.id))
    except Exception as exc:
        log.exception("routing inbound %s failed; kept for retry", stored.id)
        await tx.execute(
            "UPDATE inbound SET status = 'failed', attempts = attempts + 1, error = ? WHERE id = ?",
            (f"{exc.__class__.__name__}: {exc}"[:500], stored.id))


async def retry_failed(db: Database, now: datetime, route: Router) -> int:
    """Route again the messages whose routing failed (after a fix or a transient error). With
    several instances each row is taken by one (SKIP LOCKED), under its sender's lock."""
    rows = await db.all(
        "SELECT id FROM inbound WHERE status IN ('received', 'failed') AND attempts < ?"
        " ORDER BY id LIMIT 100", (RETRY_LIMIT,))
    for (inbound_id,) in rows:
        async def again(tx: Tx, inbound_id: int = inbound_id) -> None:
            r = await tx.one("SELECT * FROM inbound WHERE id = ? AND status IN ('received', 'failed')"
                             + tx.SKIP_LOCKED, (inbound_id,))
            if r is None:
                return
            payload = json.loads(r["payload"]) if r["payload"] else {}
            msg = InboundMessage(r["channel"], r["provider_id"], r["address"], r["body"], r["kind"],
                                 private=payload.get("chat_type", "private") == "private",
                                 payload=payload)
            identity = await find_identity(tx, msg.channel, msg.address)
            await hold_sender(tx, msg, identity)
            await _route(tx, StoredInbound(inbound_id, msg, identity, now), now, route)
        await db.write(again)
    return len(rows)
