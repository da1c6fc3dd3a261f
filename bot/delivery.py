"""What a failed or delivered message means for people: the other channel, reachability, findings.

The dispatcher (bot/channels) reports outcomes through `DeliveryHooks`; Twilio's status
callbacks come through `on_receipt`. Both land here, above the channels, so the dispatcher never
imports escalation code.

- A safety message to a client (crisis contacts, safety and discharge messages) that fails on one
  channel is sent once on the client's other linked channel (SMS <-> Telegram), at its first
  failed attempt or failed receipt, without waiting for the first channel's retries.
- Each message that finally fails to reach a client identity (a permanent error, the retry
  horizon, an `undelivered`/`failed` receipt) counts against that identity; UNREACHABLE_AFTER in
  a row mark it "not reachable since" the first of them and raise one ROUTINE finding for the
  officer. The next delivered message (a `delivered` receipt, an accepted Telegram send) clears
  it, so the next episode raises its own finding.
- An ordinary message given up at the retry horizon raises a ROUTINE `message_not_delivered`
  finding (attached to the open one, if any: one per episode, not one per message).
"""

from __future__ import annotations

from datetime import datetime

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import identities_of
from bot.core.outbox import OutRow, enqueue
from bot.escalation import alerts
from bot.escalation.findings import raise_finding

UNREACHABLE_AFTER = 3
FALLBACK_CHANNEL = {"sms": "telegram", "telegram": "sms"}
# Receipts that mean the handset has it, and those that mean it never will.
DELIVERED = frozenset({"delivered", "read"})
UNDELIVERED = frozenset({"undelivered", "failed"})


class Hooks:
    """The dispatcher's `DeliveryHooks`, handed in by bot/service.py."""

    async def failed(self, tx: Tx, now: datetime, row: OutRow, detail: str,
                     outcome: str) -> None:
        if row.op != "send":
            return
        if row.channel == "telegram" and (row.cause or "").startswith("escalation:"):
            await alerts.on_send_failed(tx, now, row.id)  # staff alerts: SMS too, at once
        if row.client_id is None:
            return
        if row.safety:
            await fallback(tx, now, row.id)
        if outcome in ("retry", "opted_out"):
            return  # still trying / the person chose this: not "unreachable"
        await count_failure(tx, now, row.id, detail)
        if outcome == "horizon":
            await raise_finding(tx, now, row.client_id, "ROUTINE", "message_not_delivered",
                                source="delivery", detail=f"{row.channel}: {detail}")

    async def sent(self, tx: Tx, now: datetime, row: OutRow) -> None:
        # Telegram has no receipts: a message it accepted is in the chat.
        if row.channel == "telegram" and row.op == "send" and row.identity_id is not None:
            await reachable(tx, now, row.identity_id)


async def on_receipt(tx: Tx, now: datetime, provider_id: str, status: str) -> None:
    """A status callback that changed a row's delivery status (call it only then)."""
    row = await tx.one("SELECT id, identity_id, client_id, safety FROM outbox"
                       " WHERE provider_id = ?", (provider_id,))
    if row is None or row["identity_id"] is None:
        return
    status = status.lower()
    if status in DELIVERED:
        await reachable(tx, now, row["identity_id"])
    elif status in UNDELIVERED and row["client_id"] is not None:
        if row["safety"]:
            await fallback(tx, now, row["id"])
        await count_failure(tx, now, row["id"], f"receipt: {status}")


async def fallback(tx: Tx, now: datetime, outbox_id: int) -> int | None:
    """Send a failed safety message once more on the client's other linked channel."""
    row = await tx.one("SELECT * FROM outbox WHERE id = ?", (outbox_id,))
    if row is None or row["fallback_of"] is not None or row["client_id"] is None:
        return None  # a fallback does not bounce back
    if await tx.value("SELECT 1 FROM outbox WHERE fallback_of = ?", (outbox_id,)):
        return None  # once per message, however many tries fail
    other = FALLBACK_CHANNEL.get(row["channel"])
    target = next((i for i in await identities_of(tx, client_id=row["client_id"])
                   if i.channel == other), None)
    if target is None:
        return None
    new_id = await enqueue(tx, now, target, row["body"], message_key=row["message_key"],
                           priority=row["priority"], safety=True, cause=row["cause"],
                           dedupe_key=f"fallback:{outbox_id}", fallback_of=outbox_id,
                           language=row["language"])
    if new_id:
        await audit(tx, now, "system", "delivery.fallback", "client", row["client_id"],
                    outbox_id=outbox_id, fallback_id=new_id, channel=other)
    return new_id


async def count_failure(tx: Tx, now: datetime, outbox_id: int, detail: str) -> None:
    row = await tx.one(
        "SELECT o.identity_id, o.client_id, o.channel, o.sent_at, o.created_at FROM outbox o"
        " WHERE o.id = ?", (outbox_id,))
    if row is None or row["identity_id"] is None or row["client_id"] is None:
        return
    # Since when nothing got through: the first failed message's time, not the receipt's.
    first = row["sent_at"] or row["created_at"] or iso(now)
    await tx.execute(
        "UPDATE identities SET delivery_failures = delivery_failures + 1,"
        " failing_since = COALESCE(failing_since, ?) WHERE id = ?", (first, row["identity_id"]))
    ident = await tx.one("SELECT delivery_failures, failing_since, unreachable_since"
                         " FROM identities WHERE id = ?", (row["identity_id"],))
    if ident["delivery_failures"] < UNREACHABLE_AFTER or ident["unreachable_since"] is not None:
        return
    await tx.execute("UPDATE identities SET unreachable_since = failing_since WHERE id = ?",
                     (row["identity_id"],))
    await audit(tx, now, "system", "delivery.unreachable", "client", row["client_id"],
                channel=row["channel"], since=ident["failing_since"])
    await raise_finding(
        tx, now, row["client_id"], "ROUTINE", "unreachable", source="delivery",
        detail=f"{row['channel']}: {ident['delivery_failures']} messages in a row not delivered"
               f" since {ident['failing_since']} (last: {detail})")


async def reachable(tx: Tx, now: datetime, identity_id: int) -> None:
    was = await tx.value("SELECT unreachable_since FROM identities WHERE id = ?",
                         (identity_id,))
    await tx.execute(
        "UPDATE identities SET delivery_failures = 0, failing_since = NULL,"
        " unreachable_since = NULL WHERE id = ? AND (delivery_failures > 0"
        " OR unreachable_since IS NOT NULL)", (identity_id,))
    if was is not None:
        client_id = await tx.value("SELECT client_id FROM identities WHERE id = ?",
                                   (identity_id,))
        if client_id is not None:
            await audit(tx, now, "system", "delivery.reachable_again", "client", client_id,
                        identity_id=identity_id)
