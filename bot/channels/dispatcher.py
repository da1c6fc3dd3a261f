"""The dispatcher: sends outbox rows in order per recipient, within rate limits, with retries.

Claiming a row flips it to 'sending' in a committed transaction, so a row is handed to a provider
by one task only. A recipient's next row is not claimed while an earlier one of the same or higher
priority is sending or may go now, which keeps their messages in order; a row held for quiet hours
or backing off never holds back a reply behind it; an escalation (higher priority) may overtake
routine traffic. Every attempt is logged in outbox_attempts.

Retries (GOV.UK Notify's model): a provider's rate refusal (429) only reschedules the row, it is
not a failed attempt. Safety rows (`outbox.safety`: crisis replies, safety and discharge
messages, staff alerts) retry until sent or until a person cancels them, at most
O2R_SAFETY_RETRY_CAP apart; other rows retry for O2R_RETRY_HORIZON from their first attempt and
are then `failed` with the reason. Final failures go to the `DeliveryHooks` the service hands in
(fallback channel, reachability, findings), so this module never imports what sits above it.

Several instances on one PostgreSQL database: the claim locks its rows (FOR UPDATE SKIP LOCKED),
so each row goes to one instance, and marks them `claimed_until` now + O2R_CLAIM_LEASE. A row
still 'sending' after its lease belongs to an instance that died: any instance queues it again,
as below. SQLite has one instance, which requeues every 'sending' row at start.

A crash while a row is 'sending' leaves its outcome unknown; at start such rows are queued again
with `maybe_sent`, and before any resend of a `maybe_sent` SMS we ask Twilio whether it already
took it (`TwilioSender.find_sent`): at most once. Telegram has no such lookup: a row whose send
timed out or was cut by a crash is sent again (at least once); the window is one send timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.channels.base import ANSWERED_AT, Permanent, RetryLater, Sender, SendError, Sent
from bot.channels.limits import Grant, SlidingWindow
from bot.core.clock import Clock, iso, parse_iso
from bot.core.db import Database, Tx
from bot.core.identities import Identity, set_opt_out
from bot.core.outbox import OutRow
from config.settings import Settings

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
MAX_INFLIGHT = 200
POLL_SECONDS = 1.0
# Twilio's 429 is per account; Telegram's is per chat, and holding that chat's row is enough
# because a recipient's later rows wait behind it.
ACCOUNT_WIDE_LIMITS = frozenset({"sms"})


class DeliveryHooks(Protocol):
    """What happens above the dispatcher when a row fails or goes (bot/delivery.py)."""

    async def failed(self, tx: Tx, now: datetime, row: OutRow, detail: str,
                     outcome: str) -> None:
        """`outcome`: 'retry' (will be tried again), 'permanent', 'opted_out' or 'horizon'."""

    async def sent(self, tx: Tx, now: datetime, row: OutRow) -> None: ...


class NoHooks:
    async def failed(self, tx: Tx, now: datetime, row: OutRow, detail: str,
                     outcome: str) -> None:
        return None

    async def sent(self, tx: Tx, now: datetime, row: OutRow) -> None:
        return None


def backoff(attempts: int, base: float, cap: float) -> float:
    """Exponential with jitter, so a provider outage does not end in a synchronized stampede.
    The jitter only shortens a wait: `cap` is a promise (safety messages at most 5 min apart)."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.75, 1.0)


class Dispatcher:
    def __init__(self, db: Database, senders: Mapping[str, Sender], settings: Settings,
                 clock: Clock, hooks: DeliveryHooks | None = None) -> None:
        self.db = db
        self.hooks: DeliveryHooks = hooks or NoHooks()
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
        self._channel_limit = {
            "telegram": SlidingWindow(settings.share(settings.telegram_rate)),
            "sms": SlidingWindow(settings.share(settings.twilio_rate)),
        }
        self._chat_limits: dict[str, SlidingWindow] = {}
        self._group_limits: dict[str, SlidingWindow] = {}
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
        now = iso(self.clock.now())
        rows = await tx.all(
            "SELECT id FROM outbox WHERE status = 'sending'"
            " AND (claimed_until IS NULL OR claimed_until < ?)" + tx.SKIP_LOCKED,  # NULL: pre-021
            (now,)) if tx.postgresql else await tx.all(
            "SELECT id FROM outbox WHERE status = 'sending'")
        for (row_id,) in rows:
            # maybe_sent: the provider may have it; SMS asks Twilio before any resend.
            await tx.execute("UPDATE outbox SET status = 'queued', maybe_sent = 1, updated_at = ?"
                             " WHERE id = ?", (now, row_id))
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
        if tx.postgresql:  # take over what a dead instance was sending
            await self._requeue_interrupted(tx)
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
                       o.op, o.ref, o.cause, o.first_attempt_at, o.priority, o.client_id,
                       (oo.identity_id IS NOT NULL) AS opted_out
                FROM outbox o
                LEFT JOIN outbox e ON e.id = o.edit_of
                LEFT JOIN opt_outs oo ON oo.identity_id = o.identity_id
                WHERE o.status = 'queued' AND o.next_attempt_at <= ? AND o.channel = ?
                  AND NOT EXISTS (
                    SELECT 1 FROM outbox p
                    WHERE p.channel = o.channel AND p.address = o.address AND p.id < o.id
                      AND p.priority >= o.priority
                      -- stated as well so SQLite uses the partial index outbox_recipient_open
                      -- (without it every candidate scans the whole outbox)
                      AND p.status IN ('queued', 'sending')
                      AND (p.status = 'sending'
                           OR (p.status = 'queued' AND p.next_attempt_at <= ?)))
                ORDER BY o.priority DESC, o.id
                LIMIT ?""" + (" FOR UPDATE OF o SKIP LOCKED" if tx.postgresql else ""),
            (now, channel, now, limit),
        )

    async def _mark_claimed(self, tx: Tx, rows: list[Any]) -> list[OutRow]:
        now = iso(self.clock.now())
        lease = iso(self.clock.now() + timedelta(seconds=self.settings.claim_lease))
        claimed: list[OutRow] = []
        for r in rows:
            if r["opted_out"] and not r["safety"]:
                await tx.execute(
                    "UPDATE outbox SET status = 'cancelled', last_error = 'opted out',"
                    " updated_at = ? WHERE id = ?", (now, r["id"]))
                continue
            await tx.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?,"
                " first_attempt_at = COALESCE(first_attempt_at, ?), claimed_until = ? WHERE id = ?",
                (now, now, lease, r["id"]))
            claimed.append(OutRow(
                id=r["id"], channel=r["channel"], address=r["address"],
                identity_id=r["identity_id"], body=r["body"],
                reply_markup=json.loads(r["reply_markup"]) if r["reply_markup"] else None,
                edit_of_provider_id=r["provider_id"], safety=bool(r["safety"]),
                attempts=r["attempts"] + 1, segments=r["segments"],
                maybe_sent=bool(r["maybe_sent"]), created_at=r["created_at"],
                op=r["op"], ref=r["ref"], cause=r["cause"],
                first_attempt_at=r["first_attempt_at"] or now, priority=r["priority"],
                client_id=r["client_id"]))
        return claimed

    def group_limit(self, address: str) -> SlidingWindow | None:
        """Group and supergroup chats (negative ids) also get Telegram's per-group limit."""
        if not address.startswith("-"):
            return None
        limit = self._group_limits.get(address)
        if limit is None:
            limit = self._group_limits[address] = SlidingWindow(
                self.settings.share(self.settings.telegram_group_rate))
        return limit

    async def _throttle(self, row: OutRow, grants: list[tuple[SlidingWindow, Grant]]) -> None:
        """Wait for every limit that applies (chat, group, channel); `grants` collects them so
        the caller releases them when the provider has answered, whatever happens."""
        limits: list[tuple[SlidingWindow, float]] = []
        if row.channel == "telegram" and row.op != "answer_callback":
            chat = self._chat_limits.get(row.address)
            if chat is None:
                chat = self._chat_limits[row.address] = SlidingWindow(
                    self.settings.share(self.settings.telegram_chat_rate))
            limits.append((chat, 1.0))
            group = self.group_limit(row.address)
            if group is not None:
                limits.append((group, 1.0))
        channel = self._channel_limit.get(row.channel)
        if channel is not None:
            limits.append((channel, float(row.segments or 1) if row.channel == "sms" else 1.0))
        for limit, amount in limits:
            grants.append((limit, await limit.acquire(amount)))

    async def _lookup(self, sender: Sender, row: OutRow) -> Sent | RetryLater | None:
        """A `maybe_sent` row: the provider's own record of it, if it has one. None: send."""
        finder = getattr(sender, "find_sent", None)
        if not row.maybe_sent or finder is None:
            return None
        candidates: list[Sent] | None = await finder(row)
        if candidates is None:
            # Twilio could not be asked. A safety message goes anyway (a second crisis text
            # beats a late one); anything else waits for an answer rather than risk a duplicate.
            return None if row.safety else RetryLater(
                "could not ask the provider whether it already took this", maybe_sent=True)
        if not candidates:
            return None
        ids = [c.provider_id for c in candidates]
        owned = {r[0] for r in await self.db.all(
            f"SELECT provider_id FROM outbox WHERE provider_id IN ({','.join('?' * len(ids))})",
            tuple(ids))}
        return next((c for c in candidates if c.provider_id not in owned), None)

    async def _deliver(self, row: OutRow) -> None:
        try:
            sender = self.senders[row.channel]
            result: Sent | SendError
            grants: list[tuple[SlidingWindow, Grant]] = []
            ANSWERED_AT.set(None)
            try:
                await self._throttle(row, grants)
                found = await self._lookup(sender, row)
                if isinstance(found, RetryLater):
                    raise found
                result = found if found is not None else await sender.send(row)
            except SendError as exc:
                result = exc
            except Exception as exc:  # a bug in a sender must not kill the dispatcher
                log.exception("sender crashed on outbox row %s", row.id)
                result = RetryLater(f"internal error: {exc.__class__.__name__}")
            finally:
                answered = ANSWERED_AT.get()
                for limit, grant in grants:
                    limit.release(grant, answered)
            await self.db.write(lambda tx: self._record(tx, row, result))
            if isinstance(result, Sent):
                self.sent += 1
        except Exception:
            log.exception("could not record the outcome of outbox row %s; it stays 'sending'"
                          " and is requeued at the next start", row.id)
        finally:
            self._inflight[row.channel].discard(row.id)
            self._wake.set()

    def _retry_delay(self, row: OutRow, result: RetryLater) -> float:
        if result.refused:
            return result.retry_after if result.retry_after is not None else backoff(
                1, self.settings.retry_base, self.settings.retry_cap)
        cap = self.settings.retry_cap
        if row.safety:
            cap = min(cap, self.settings.safety_retry_cap)
        if result.retry_after is not None:
            return min(result.retry_after, max(cap, 1.0))
        return backoff(row.attempts, self.settings.retry_base, cap)

    def _past_horizon(self, row: OutRow, now: datetime) -> bool:
        """Ordinary rows stop after O2R_RETRY_HORIZON from their first attempt; safety never."""
        if row.safety or not row.first_attempt_at:
            return False
        return now - parse_iso(row.first_attempt_at) >= timedelta(
            seconds=self.settings.retry_horizon)

    async def _record(self, tx: Tx, row: OutRow, result: Sent | SendError) -> None:
        now = self.clock.now()
        stamp = iso(now)
        if isinstance(result, Sent):
            await tx.execute(
                "UPDATE outbox SET status = 'sent', provider_id = ?, segments = COALESCE(?, segments),"
                " sent_at = ?, updated_at = ?, last_error = NULL WHERE id = ?",
                (result.provider_id, result.segments, stamp, stamp, row.id))
            await self._attempt(tx, row.id, stamp, "sent", result.provider_id)
            await self.hooks.sent(tx, now, row)
            return
        if isinstance(result, RetryLater) and not self._past_horizon(row, now):
            delay = self._retry_delay(row, result)
            # A refusal gives the attempt back: it is "not now", not a failure.
            await tx.execute(
                "UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = ?,"
                " maybe_sent = CASE WHEN ? = 1 THEN 1 ELSE maybe_sent END,"
                " attempts = attempts - ?, updated_at = ? WHERE id = ?",
                (iso(now + timedelta(seconds=delay)), result.detail, int(result.maybe_sent),
                 int(result.refused), stamp, row.id))
            await self._attempt(tx, row.id, stamp, "refused" if result.refused else "retry",
                                f"{result.detail}; in {delay:.1f}s")
            if not result.refused:
                await self.hooks.failed(tx, now, row, result.detail, "retry")
            if result.retry_after is not None and row.channel in ACCOUNT_WIDE_LIMITS:
                # An account-wide limit: hold the whole channel, on the same clock as the rows.
                await tx.execute(
                    "UPDATE outbox SET next_attempt_at = ? WHERE channel = ?"
                    " AND status = 'queued' AND next_attempt_at < ?",
                    (iso(now + timedelta(seconds=delay)), row.channel,
                     iso(now + timedelta(seconds=delay))))
            return
        detail = result.detail if isinstance(result, SendError) else str(result)
        outcome = "permanent"
        if isinstance(result, RetryLater):
            hours = self.settings.retry_horizon / 3600
            detail = f"gave up after {hours:g} h of retries: {detail}"
            outcome = "horizon"
        elif isinstance(result, Permanent) and result.opted_out:
            outcome = "opted_out"
        await tx.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
            (detail, stamp, row.id))
        await self._attempt(tx, row.id, stamp, "failed", detail)
        if isinstance(result, Permanent) and result.opted_out and row.identity_id:
            ident = await tx.one("SELECT client_id, staff_id FROM identities WHERE id = ?",
                                 (row.identity_id,))
            if ident is not None:
                await set_opt_out(tx, now, Identity(row.identity_id, row.channel, row.address,
                                                    ident[0], ident[1], False),
                                  reason="provider:" + row.channel)
        await self.hooks.failed(tx, now, row, detail, outcome)

    @staticmethod
    async def _attempt(tx: Tx, outbox_id: int, at: str, outcome: str, detail: str | None) -> None:
        await tx.execute(
            "INSERT INTO outbox_attempts (outbox_id, at, outcome, detail) VALUES (?, ?, ?, ?)",
            (outbox_id, at, outcome, detail))

