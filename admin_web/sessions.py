"""Server-side sign-in sessions: a random token in the cookie, its hash in `admin_sessions`.

A new token is issued at every sign-in step (so a session id planted before sign-in is worth
nothing), sessions end after idle time and after an absolute lifetime, and every one of a staff
member's sessions ends when their password changes or their account is deactivated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx

IDLE = timedelta(minutes=60)
ABSOLUTE = timedelta(hours=12)
SECOND_FACTOR_WINDOW = timedelta(minutes=5)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen is rewritten at most this often


@dataclass(frozen=True)
class SessionRow:
    id_hash: str
    staff_id: int
    stage: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked: bool
    flash: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_live(row: SessionRow, now: datetime) -> bool:
    """Not revoked, within its absolute lifetime, and used within the idle limit."""
    return not row.revoked and now < row.expires_at and now - row.last_seen_at < IDLE


def needs_touch(row: SessionRow, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


async def create(db: Database, now: datetime, staff_id: int, stage: str, ip: str | None,
                 user_agent: str | None, replaces: str | None = None) -> str:
    """Start a session; returns the cookie token. `replaces` (an older session's hash) ends."""
    token = secrets.token_urlsafe(32)
    lifetime = SECOND_FACTOR_WINDOW if stage == "totp" else ABSOLUTE

    async def work(tx: Tx) -> None:
        if replaces:
            await tx.execute("UPDATE admin_sessions SET revoked_at = ? WHERE id_hash = ?"
                             " AND revoked_at IS NULL", (iso(now), replaces))
        await tx.execute(
            "INSERT INTO admin_sessions (id_hash, staff_id, stage, created_at, last_seen_at,"
            " expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token_hash(token), staff_id, stage, iso(now), iso(now), iso(now + lifetime), ip,
             (user_agent or "")[:200]))

    await db.write(work)
    return token


async def load(db: Database, token: str) -> SessionRow | None:
    r = await db.one("SELECT * FROM admin_sessions WHERE id_hash = ?", (token_hash(token),))
    if r is None:
        return None
    return SessionRow(r["id_hash"], r["staff_id"], r["stage"], parse_iso(r["created_at"]),
                      parse_iso(r["last_seen_at"]), parse_iso(r["expires_at"]),
                      r["revoked_at"] is not None, r["flash"])


async def touch(db: Database, now: datetime, id_hash: str) -> None:
    await db.write(lambda tx: tx.execute(
        "UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ?", (iso(now), id_hash)))


async def revoke(db: Database, now: datetime, id_hash: str) -> None:
    await db.write(lambda tx: tx.execute(
        "UPDATE admin_sessions SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL",
        (iso(now), id_hash)))


async def revoke_all(tx: Tx, now: datetime, staff_id: int, keep: str | None = None) -> int:
    """End every session of a staff member (except `keep`); runs in the caller's transaction."""
    return await tx.execute(
        "UPDATE admin_sessions SET revoked_at = ? WHERE staff_id = ? AND revoked_at IS NULL"
        " AND id_hash <> ?", (iso(now), staff_id, keep or ""))


async def set_flash(db: Database, id_hash: str, text: str) -> None:
    await db.write(lambda tx: tx.execute(
        "UPDATE admin_sessions SET flash = ? WHERE id_hash = ?", (text[:500], id_hash)))


async def pop_flash(db: Database, id_hash: str) -> None:
    await db.write(lambda tx: tx.execute(
        "UPDATE admin_sessions SET flash = NULL WHERE id_hash = ?", (id_hash,)))
