"""The dispatcher: sends outbox rows in order per recipient, within rate limits, with retries.

Claiming a row flips it to 'sending' in a committed transaction, so a row is handed to a provider
by one task only. A recipient's next row is not claimed while an earlier one of the same or higher
priority is sending or may go now, which keeps their messages in order; a row held for quiet hours
or backing off never holds back a reply behind it; an escalation (higher priority) may overtake
routine traffic. Every attempt is logged in outbox_attempts.

A crash while a row is 'sending' leaves its outcome unknown; at start such rows are queued again.
We prefer a rare duplicate to a lost message, and for SMS we first ask Twilio whether it already
took the message (see `TwilioSender.find_sent`), because Twilio has no idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import Permanent, RetryLater, Sender, SendError, Sent
from bot.core.clock import Clock, iso
from bot.core.db import Database, Tx
from bot.core.identities import Identity, set_opt_out
from bot.core.outbox import OutRow
from config.settings import Rate, Settings

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
MAX_INFLIGHT = 200
POLL_SECONDS = 1.0
# Twilio's 429 is per account; Telegram's is per chat, and holding that chat's row is enough
# because a recipient's later rows wait behind it.
ACCOUNT_WIDE_LIMITS = frozenset({"sms"})


class TokenBucket:
    """Async token bucket on the loop's monotonic clock."""

    def __init__(self, rate: Rate, burst: float | None = None) -> None:
        self.rate = rate.per_second
        self.capacity = burst if burst is not None else max(1.0, rate.count)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self, amount: float = 1.0) -> None:
        async with self._lock:  # FIFO: first come, first served
            while True:
                self._refill(time.monotonic())
                need = min(amount, self.capacity)
                if self.tokens >= need:
                    self.tokens -= need
                    return
                await asyncio.sleep((need - self.tokens) / self.rate)


# Called in the transaction that marks an outbox row failed for good: (tx, now, outbox id).
FailedHook = Callable[[Tx, datetime, int], Awaitable[None]]


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential with jitter, so a provider outage does not end in a synchronized stampede."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)


class Dispatcher:
    def __init__(self, db: Database, senders: Mapping[str, Sender], settings: Settings,
                 clock: Clock, on_failed: FailedHook | None = None) -> None:
        self.db = db
        # Handed in by the composition root (escalation's SMS fallback for a failed alert), so
        # sending never imports the layers above it.
        self.on_failed = on_failed
        self.senders = dict(senders)
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        self._inflight: dict[str, set[int]] = {ch: set() for ch in self.senders}
        # In flight per channel: about two seconds of sending at its rate limit.
        self._caps = {"sms": max(4, int(2 * settings.twilio_rate.per_second)),
                      "telegram": max(8, int(2 * settings.telegram_rate.per_second)),
                      "sim": MAX_INFLIGHT}
        self._tasks: set[asyncio.Task[None]] = set()
        self._channel_bucket = {
            "telegram": TokenBucket(settings.telegram_rate),
            "sms": TokenBucket(settings.twilio_rate),
        }
        self._chat_buckets: dict[str, TokenBucket] = {}
        self._group_buckets: dict[str, TokenBucket] = {}
        self.last_loop: float = 0.0
        self.sent = 0

    def wake(self) -> None:
        """Called after a commit that queued rows, so they go out without waiting for the poll."""
        self._wake.set()

    @property
    def healthy(self) -> bool:
        return time.monotonic() - self.last_loop < 30

    async def run(self) -> None:
        await self.db.write(self._requeue_interrupted)
        while True:
            self.last_loop = time.monotonic()
            try:
                claimed = await self.claim_and_start()
            except Exception:
                log.exception("dispatcher claim failed; retrying")
                claimed = 0
            if claimed == 0:
                self._wake.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
                # arrives as the wait ends, and shutdown would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_SECONDS):
                        await self._wake.wait()

    async def drain(self) -> None:
        """Wait for every task in flight (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        await self.drain()

    async def _requeue_interrupted(self, tx: Tx) -> None:
        rows = await tx.all("SELECT id FROM outbox WHERE status = 'sending'")
        now = iso(self.clock.now())
        for (row_id,) in rows:
            await tx.execute("UPDATE outbox SET status = 'queued', updated_at = ? WHERE id = ?",
                             (now, row_id))
            await tx.execute(
                "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail)"
                " VALUES (?, ?, 'interrupted', 'service stopped while sending; outcome unknown')",
                (row_id, now))

    async def claim_and_start(self) -> int:
        rows = await self.db.write(self._claim)
        for row in rows:
            self._inflight[row.channel].add(row.id)
            task = asyncio.create_task(self._deliver(row), name=f"send-{row.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _claim(self, tx: Tx) -> list[OutRow]:
        rows: list[Any] = []
        for channel in self.senders:
            # Each channel claims only what it can send soon, so a slow SMS rate never holds
            # the slots a Telegram alert needs.
            limit = min(CLAIM_BATCH, self._caps[channel] - len(self._inflight[channel]))
            if limit > 0:
                rows.extend(await self._due(tx, channel, limit))
        return await self._mark_claimed(tx, rows)

    async def _due(self, tx: Tx, channel: str, limit: int) -> list[Any]:
        # The oldest open row per recipient, unless an earlier one of at least its priority is
        # sending or may go now: order per person, escalations first. A row held for quiet hours
        # or backing off blocks nothing behind it (a reply to someone who just wrote goes now).
        now = iso(self.clock.now())
        return await tx.all(
            """SELECT o.id, o.channel, o.address, o.identity_id, o.body, o.reply_markup,
                       e.provider_id, o.safety, o.attempts, o.segments, o.maybe_sent, o.created_at,
                       o.op, o.ref, o.cause,
                       (oo.identity_id IS NOT NULL) AS opted_out
                FROM outbox o
                LEFT JOIN outbox e ON e.id = o.edit_of
                LEFT JOIN opt_outs oo ON oo.identity_id = o.identity_id
                WHERE o.status = 'queued' AND o.next_attempt_at <= ? AND o.channel = ?
                  AND NOT EXISTS (
                    SELECT 1 FROM outbox p
                    WHERE p.channel = o.channel AND p.address = o.address AND p.id < o.id
                      AND p.priority >= o.priority
                      AND (p.status = 'sending'
                           OR (p.status = 'queued' AND p.next_attempt_at <= ?)))
                ORDER BY o.priority DESC, o.id
                LIMIT ?""",
            (now, channel, now, limit),
        )

    async def _mark_claimed(self, tx: Tx, rows: list[Any]) -> list[OutRow]:
        now = iso(self.clock.now())
        claimed: list[OutRow] = []
        for r in rows:
            if r["opted_out"] and not r["safety"]:
                await tx.execute(
                    "UPDATE outbox SET status = 'cancelled', last_error = 'opted out',"
                    " updated_at = ? WHERE id = ?", (now, r["id"]))
                continue
            await tx.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ?", (now, r["id"]))
            claimed.append(OutRow(
                id=r["id"], channel=r["channel"], address=r["address"],
                identity_id=r["identity_id"], body=r["body"],
                reply_markup=json.loads(r["reply_markup"]) if r["reply_markup"] else None,
                edit_of_provider_id=r["provider_id"], safety=bool(r["safety"]),
                attempts=r["attempts"] + 1, segments=r["segments"],
                maybe_sent=bool(r["maybe_sent"]), created_at=r["created_at"],
                op=r["op"], ref=r["ref"], cause=r["cause"]))
        return claimed

    def group_bucket(self, address: str) -> TokenBucket | None:
        """Group and supergroup chats (negative ids) also get Telegram's per-group limit, spaced
        evenly (burst 1): 20/m means one every 3 s, so no minute ever holds more than 20."""
        if not address.startswith("-"):
            return None
        bucket = self._group_buckets.get(address)
        if bucket is None:
            bucket = self._group_buckets[address] = TokenBucket(
                self.settings.telegram_group_rate, burst=1)
        return bucket

    async def _throttle(self, row: OutRow) -> None:
        bucket = self._channel_bucket.get(row.channel)
        if row.channel == "telegram":
            chat = self._chat_buckets.get(row.address)
            if chat is None:
                chat = self._chat_buckets[row.address] = TokenBucket(
                    self.settings.telegram_chat_rate, burst=1)
            await chat.acquire()
            group = self.group_bucket(row.address)
            if group is not None:
                await group.acquire()
        if bucket is not None:
            await bucket.acquire(float(row.segments or 1) if row.channel == "sms" else 1.0)

    async def _deliver(self, row: OutRow) -> None:
        try:
            sender = self.senders[row.channel]
            result: Sent | SendError
            try:
                await self._throttle(row)
                found = None
                finder = getattr(sender, "find_sent", None)
                if row.maybe_sent and finder is not None:
                    found = await finder(row)
                result = found if found is not None else await sender.send(row)
            except SendError as exc:
                result = exc
            except Exception as exc:  # a bug in a sender must not kill the dispatcher
                log.exception("sender crashed on outbox row %s", row.id)
                result = RetryLater(f"internal error: {exc.__class__.__name__}")
            await self.db.write(lambda tx: self._record(tx, row, result))
            if isinstance(result, Sent):
                self.sent += 1
        except Exception:
            log.exception("could not record the outcome of outbox row %s; it stays 'sending'"
                          " and is requeued at the next start", row.id)
        finally:
            self._inflight[row.channel].discard(row.id)
            self._wake.set()

    async def _record(self, tx: Tx, row: OutRow, result: Sent | SendError) -> None:
        now = self.clock.now()
        stamp = iso(now)
        if isinstance(result, Sent):
            await tx.execute(
                "UPDATE outbox SET status = 'sent', provider_id = ?, segments = COALESCE(?, segments),"
                " sent_at = ?, updated_at = ?, last_error = NULL WHERE id = ?",
                (result.provider_id, result.segments, stamp, stamp, row.id))
            await self._attempt(tx, row.id, stamp, "sent", result.provider_id)
            return
        if isinstance(result, RetryLater) and row.attempts < self.settings.max_attempts:
            delay = result.retry_after if result.retry_after is not None else backoff(
                row.attempts, self.settings.retry_base, self.settings.retry_cap)
            await tx.execute(
                "UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = ?,"
                " maybe_sent = maybe_sent OR ?, updated_at = ? WHERE id = ?",
                (iso(now + timedelta(seconds=delay)), result.detail, int(result.maybe_sent),
                 stamp, row.id))
            await self._attempt(tx, row.id, stamp, "retry", f"{result.detail}; in {delay:.1f}s")
            await self._fallback(tx, now, row)
            if result.retry_after is not None and row.channel in ACCOUNT_WIDE_LIMITS:
                # An account-wide limit: hold the whole channel, on the same clock as the rows.
                await tx.execute(
                    "UPDATE outbox SET next_attempt_at = MAX(next_attempt_at, ?)"
                    " WHERE channel = ? AND status = 'queued'",
                    (iso(now + timedelta(seconds=delay)), row.channel))
            return
        detail = result.detail if isinstance(result, SendError) else str(result)
        await tx.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
            (detail, stamp, row.id))
        await self._attempt(tx, row.id, stamp, "failed", detail)
        await self._fallback(tx, now, row)
        if isinstance(result, Permanent) and result.opted_out and row.identity_id:
            ident = await tx.one("SELECT client_id, staff_id FROM identities WHERE id = ?",
                                 (row.identity_id,))
            if ident is not None:
                await set_opt_out(tx, now, Identity(row.identity_id, row.channel, row.address,
                                                    ident[0], ident[1], False),
                                  reason="provider:" + row.channel)

    async def _fallback(self, tx: Tx, now: datetime, row: OutRow) -> None:
        """An alert that did not go through on Telegram goes by SMS too, without waiting."""
        if (self.on_failed is not None and row.op == "send" and row.channel == "telegram"
                and (row.cause or "").startswith("escalation:")):
            await self.on_failed(tx, now, row.id)

    @staticmethod
    async def _attempt(tx: Tx, outbox_id: int, at: str, outcome: str, detail: str | None) -> None:
        await tx.execute(
            "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail) VALUES (?, ?, ?, ?)",
            (outbox_id, at, outcome, detail))

