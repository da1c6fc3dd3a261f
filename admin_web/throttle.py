"""Sign-in throttling and lock-out, per username and per client address, kept in the database
(so a restart does not hand an attacker a fresh allowance).

A key is locked for `lockout` after `limit` failures within `window`. For a username, failures
before its last successful sign-in do not count (an address's do: one good account must not
reset a password-spraying address). Attempts refused while locked are recorded but do not
extend the lock (otherwise anyone could keep an officer locked out for ever).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx

FAILURES = ("bad_password", "bad_code")


@dataclass(frozen=True)
class Policy:
    limit: int
    window: timedelta
    lockout: timedelta


PER_USERNAME = Policy(limit=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
# Wider, since several staff may share an office address; it stops password spraying.
PER_ADDRESS = Policy(limit=20, window=timedelta(minutes=15), lockout=timedelta(minutes=30))


def locked_until(failures: Sequence[datetime], now: datetime, policy: Policy) -> datetime | None:
    """When the lock ends, if `failures` (any order) lock the key at `now`; else None."""
    times = sorted(failures)
    end: datetime | None = None
    for i in range(policy.limit - 1, len(times)):
        if times[i] - times[i - policy.limit + 1] <= policy.window:
            candidate = times[i] + policy.lockout
            end = candidate if end is None or candidate > end else end
    return end if end is not None and end > now else None


async def _failures(db: Database, column: str, key: str, now: datetime,
                    policy: Policy) -> list[datetime]:
    since = iso(now - policy.window - policy.lockout)
    last_ok = None
    if column == "username":
        last_ok = await db.value(
            "SELECT MAX(at) FROM login_attempts WHERE username = ? AND outcome = 'ok'", (key,))
    rows = await db.all(
        f"SELECT at FROM login_attempts WHERE {column} = ? AND at >= ? AND at > ?"
        " AND outcome IN ('bad_password', 'bad_code')", (key, since, last_ok or ""))
    return [parse_iso(r[0]) for r in rows]


async def check(db: Database, now: datetime, username: str, ip: str) -> datetime | None:
    """The later of the username's and the address's lock ends, or None if neither is locked."""
    ends = [
        locked_until(await _failures(db, "username", username, now, PER_USERNAME), now,
                     PER_USERNAME),
        locked_until(await _failures(db, "ip", ip, now, PER_ADDRESS), now, PER_ADDRESS),
    ]
    live = [e for e in ends if e is not None]
    return max(live) if live else None


async def record(db: Database, now: datetime, username: str, ip: str, outcome: str) -> None:
    async def work(tx: Tx) -> None:
        await tx.execute("INSERT INTO login_attempts (at, username, ip, outcome) VALUES (?, ?, ?, ?)",
                         (iso(now), username[:80], ip[:64], outcome))
        if outcome in FAILURES or outcome == "locked":
            from bot.core.audit import audit

            await audit(tx, now, "anonymous", f"signin.{outcome}", None, None,
                        username=username[:80], ip=ip[:64])

    await db.write(work)
