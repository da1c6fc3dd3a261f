"""Who is writing: contact identities (SMS number, Telegram chat, simulator handle), opt-outs, link codes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx

LINK_CODE_TTL = timedelta(hours=48)
# No 0/O/1/I/L: codes are read out over the phone and typed on cracked screens.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Identity:
    id: int | None  # None: an address we do not know (a neutral reply to a stranger)
    channel: str
    address: str
    client_id: int | None
    staff_id: int | None
    opted_out: bool

    @property
    def actor(self) -> str:
        return f"client:{self.client_id}" if self.client_id else f"staff:{self.staff_id}"


_SELECT = (
    "SELECT i.id, i.channel, i.address, i.client_id, i.staff_id,"
    " (o.identity_id IS NOT NULL) AS opted_out"
    " FROM identities i LEFT JOIN opt_outs o ON o.identity_id = i.id"
)


def _row(r: object) -> Identity:
    return Identity(r[0], r[1], r[2], r[3], r[4], bool(r[5]))  # type: ignore[index]


async def find_identity(tx: Tx, channel: str, address: str) -> Identity | None:
    r = await tx.one(_SELECT + " WHERE i.channel = ? AND i.address = ? AND i.active = 1",
                     (channel, address))
    return _row(r) if r else None


async def identities_of(tx: Tx, *, client_id: int | None = None,
                        staff_id: int | None = None) -> list[Identity]:
    col, val = ("client_id", client_id) if client_id is not None else ("staff_id", staff_id)
    rows = await tx.all(_SELECT + f" WHERE i.{col} = ? AND i.active = 1 ORDER BY i.id", (val,))
    return [_row(r) for r in rows]


class IdentityTaken(ValueError):
    pass


async def add_identity(tx: Tx, now: datetime, channel: str, address: str, *,
                       client_id: int | None = None, staff_id: int | None = None,
                       actor: str = "system", replace: bool = False) -> int:
    """Attach an address to a person. `replace` retires whoever had it (numbers get reused)."""
    existing = await find_identity(tx, channel, address)
    if existing:
        if (existing.client_id, existing.staff_id) == (client_id, staff_id):
            return existing.id
        if not replace:
            raise IdentityTaken(f"{channel} {address} already belongs to someone else")
        await tx.execute("UPDATE identities SET active = 0 WHERE id = ?", (existing.id,))
        await audit(tx, now, actor, "identity.retired", "identity", existing.id)
    ident = await tx.execute(
        "INSERT INTO identities (client_id, staff_id, channel, address, created_at)"
        " VALUES (?, ?, ?, ?, ?)", (client_id, staff_id, channel, address, iso(now)))
    await audit(tx, now, actor, "identity.added", "identity", ident, channel=channel,
                client_id=client_id, staff_id=staff_id)
    return ident


async def set_opt_out(tx: Tx, now: datetime, identity: Identity, reason: str) -> bool:
    """Returns True if this changed anything (so only the first STOP gets a confirmation)."""
    changed = await tx.execute(
        "INSERT INTO opt_outs (identity_id, opted_out_at, reason) VALUES (?, ?, ?)"
        " ON CONFLICT (identity_id) DO NOTHING", (identity.id, iso(now), reason))
    if changed:
        await audit(tx, now, identity.actor, "opt_out", "identity", identity.id, reason=reason)
    return bool(changed)


async def clear_opt_out(tx: Tx, now: datetime, identity: Identity) -> bool:
    changed = await tx.execute("DELETE FROM opt_outs WHERE identity_id = ?", (identity.id,))
    if changed:
        await audit(tx, now, identity.actor, "opt_in", "identity", identity.id)
    return bool(changed)


def new_code() -> str:
    """A one-time code a person types: 8 characters without look-alikes (no 0/O, 1/I/L)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def code_hash(code: str, scope: str = "") -> str:
    """Codes are stored hashed, so a database copy cannot be used to link a chat. `scope`
    separates kinds of code ('group:' for group chats) so one can never redeem the other."""
    return hashlib.sha256((scope + code.strip().upper()).encode()).hexdigest()


def _hash_code(code: str) -> str:
    return code_hash(code)


async def new_link_code(tx: Tx, now: datetime, *, client_id: int | None = None,
                        staff_id: int | None = None, actor: str = "cli",
                        ttl: timedelta = LINK_CODE_TTL) -> str:
    code = new_code()
    await tx.execute(
        "INSERT INTO link_codes (code_hash, client_id, staff_id, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (_hash_code(code), client_id, staff_id, iso(now + ttl), iso(now)))
    await audit(tx, now, actor, "link_code.created", "client" if client_id else "staff",
                client_id or staff_id)
    return code


async def redeem_link_code(tx: Tx, now: datetime, code: str, channel: str,
                           address: str) -> tuple[int | None, int | None] | None:
    """Single use, expiring. Returns (client_id, staff_id) linked, or None if the code is no good."""
    row = await tx.one(
        "SELECT client_id, staff_id FROM link_codes"
        " WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
        (_hash_code(code), iso(now)))
    if row is None:
        return None
    await tx.execute("UPDATE link_codes SET used_at = ?, used_by = ? WHERE code_hash = ?",
                     (iso(now), f"{channel}:{address}", _hash_code(code)))
    await add_identity(tx, now, channel, address, client_id=row[0], staff_id=row[1],
                       actor="link_code", replace=True)
    return row[0], row[1]
