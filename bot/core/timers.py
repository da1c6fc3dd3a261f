"""Timers are rows. The clock loop claims due rows in one transaction and runs their handlers.

Each kind of timer has one handler, registered by the module that owns it (flow timeouts,
reminders, missed-check-in windows, acknowledgement deadlines). A handler runs inside the claim
transaction, in its own savepoint, so its effects and the row's 'done' commit together: a restart
or a second claimer can never run it twice. With several instances on PostgreSQL the claim locks
its rows (FOR UPDATE SKIP LOCKED): another instance takes other rows, and the lease on a claimed
row is the claiming transaction itself (an instance that dies mid-run has its transaction
rolled back by the server, and the row is due again for the others). A failing handler is
retried with backoff and then marked failed, visibly, rather than lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx

log = logging.getLogger(__name__)

# Due timers are run this many to a transaction. At the morning peak each check-in costs about a
# millisecond of the writer's time, and an inbound message (a crisis included) waits behind the
# batch ahead of it: 25 keeps that wait under ~40 ms; 500 made it half a second.
CLAIM_BATCH = 25
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Timer:
    id: int
    key: str
    kind: str
    client_id: int | None
    due_at: datetime
    payload: dict[str, Any]
    attempts: int


# A handler returns a short outcome word for the row ('sent', 'skipped', 'dropped: event passed').
Handler = Callable[[Tx, Timer, datetime], Awaitable[str | None]]
_HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if kind in _HANDLERS and _HANDLERS[kind] is not fn:
            raise ValueError(f"two handlers for timer kind {kind!r}")
        _HANDLERS[kind] = fn
        return fn
    return register


async def schedule(tx: Tx, now: datetime, key: str, kind: str, due_at: datetime,
                   client_id: int | None = None, payload: dict[str, Any] | None = None,
                   replace: bool = True) -> None:
    """Create or move the timer `key`. `replace=False` keeps an existing pending row as it is."""
    await tx.execute(_WRITE["replace" if replace else "keep"],
                     row(now, key, kind, due_at, client_id, payload))


# The one way timer rows are written (one row here, many in schedule_many):
# replace  create, or re-arm whatever is there (a moved reminder, the next escalation level)
# keep     create only if missing (the daily planner: never touch a row already planned)
# revive   create, or bring back a row cancelled earlier; never re-arm one that ran
WriteMode = Literal["replace", "keep", "revive"]
_INSERT = ("INSERT INTO timers (key, kind, client_id, due_at, payload, created_at)"
           " VALUES (?, ?, ?, ?, ?, ?)")
_REARM = (" ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, client_id = excluded.client_id,"
          " due_at = excluded.due_at, payload = excluded.payload, status = 'pending',"
          " attempts = 0, outcome = NULL, done_at = NULL")
_WRITE: dict[str, str] = {
    "replace": _INSERT + _REARM,
    "keep": _INSERT + " ON CONFLICT (key) DO NOTHING",
    "revive": _INSERT + _REARM + " WHERE timers.status = 'cancelled'",
}


def row(now: datetime, key: str, kind: str, due_at: datetime, client_id: int | None = None,
        payload: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """A timer row for schedule_many."""
    return (key, kind, client_id, iso(due_at), json.dumps(payload or {}, sort_keys=True),
            iso(now))


async def schedule_many(tx: Tx, rows: list[tuple[Any, ...]], mode: WriteMode) -> int:
    """Write many timer rows (from `row`) in one statement; returns how many were offered."""
    if rows:
        await tx.executemany(_WRITE[mode], rows)
    return len(rows)


async def cancel(tx: Tx, now: datetime, key_prefix: str, reason: str = "cancelled") -> int:
    """Cancel pending timers whose key starts with `key_prefix` (e.g. 'reminder:42:')."""
    return await tx.execute(
        "UPDATE timers SET status = 'cancelled', outcome = ?, done_at = ?"
        " WHERE status = 'pending' AND key >= ? AND key < ?",
        (reason, iso(now), key_prefix, key_prefix + "\uffff"))


def _timer(row: Any) -> Timer:
    return Timer(row["id"], row["key"], row["kind"], row["client_id"], parse_iso(row["due_at"]),
                 json.loads(row["payload"]), row["attempts"])


async def run_due(tx: Tx, now: datetime, limit: int = CLAIM_BATCH) -> int:
    """Claim and run every due timer (up to `limit`) in this transaction. Returns how many ran."""
    rows = await tx.all(
        "SELECT id, key, kind, client_id, due_at, payload, attempts FROM timers"
        " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?" + tx.SKIP_LOCKED,
        (iso(now), limit))
    for row in rows:
        timer = _timer(row)
        handler = _HANDLERS.get(timer.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for timer kind {timer.kind!r}")
            outcome = await tx.savepoint(lambda t, h=handler, tm=timer: h(t, tm, now), "timer")
            # A handler may re-arm its own key (the next escalation level): then it stays pending.
            await tx.execute(
                "UPDATE timers SET status = 'done', outcome = ?, done_at = ?"
                " WHERE id = ? AND due_at = ? AND status = 'pending'",
                (outcome or "done", iso(now), timer.id, row["due_at"]))
        except Exception as exc:
            log.exception("timer %s (%s) failed", timer.key, timer.kind)
            attempts = timer.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await tx.execute(
                    "UPDATE timers SET status = 'failed', attempts = ?, outcome = ?, done_at = ?"
                    " WHERE id = ?", (attempts, f"error: {exc}", iso(now), timer.id))
            else:
                retry = now + timedelta(seconds=30 * 2 ** attempts)
                await tx.execute(
                    "UPDATE timers SET attempts = ?, due_at = ?, outcome = ? WHERE id = ?",
                    (attempts, iso(retry), f"error: {exc}", timer.id))
    return len(rows)


async def tick(db: Database, now: datetime) -> int:
    """One pass of the clock loop, in batches so a backlog never holds the writer for long."""
    ran = 0
    while True:
        n = await db.write(lambda tx: run_due(tx, now))
        ran += n
        if n < CLAIM_BATCH:
            break

    async def beat(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO heartbeats (name, at) VALUES ('scheduler', ?)"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at", (iso(now),))
    await db.write(beat)
    return ran
