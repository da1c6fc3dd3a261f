"""The optional second factor: RFC 6238 time-based codes (pyotp), one use per code."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import pyotp

from bot.core.clock import iso
from bot.core.db import Database, Tx

ISSUER = "o2r"
DRIFT_STEPS = 1  # accept the code of the previous and next 30-second window (phone clock drift)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """'JBSWY3DPEHPK3PXP' -> 'JBSW Y3DP EHPK 3PXP': easier to type from a screen."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to, if it is valid at `now` and newer than `last_step`."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    for drift in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now + timedelta(seconds=drift * totp.interval)
        step = totp.timecode(moment)
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(moment), code):
            return step
    return None


async def enrolment(db: Database, staff_id: int) -> tuple[str, bool] | None:
    """(secret, confirmed) for a staff member, or None if they have not started enrolment."""
    r = await db.one("SELECT secret, confirmed_at FROM staff_totp WHERE staff_id = ?", (staff_id,))
    return None if r is None else (r[0], r[1] is not None)


async def enabled(db: Database, staff_id: int) -> bool:
    found = await enrolment(db, staff_id)
    return bool(found and found[1])


async def start(tx: Tx, now: datetime, staff_id: int) -> str:
    """A fresh unconfirmed secret (replacing an unconfirmed earlier one)."""
    secret = new_secret()
    await tx.execute(
        "INSERT INTO staff_totp (staff_id, secret, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (staff_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL,"
        " last_step = NULL, created_at = excluded.created_at", (staff_id, secret, iso(now)))
    return secret


async def use_code(tx: Tx, now: datetime, staff_id: int, code: str, *,
                   confirming: bool = False) -> bool:
    """Check a code inside a write transaction (so two requests cannot both use one code)."""
    r = await tx.one("SELECT secret, confirmed_at, last_step FROM staff_totp WHERE staff_id = ?",
                     (staff_id,))
    if r is None or (r["confirmed_at"] is None) != confirming:
        return False
    step = matching_step(r["secret"], code, now, r["last_step"])
    if step is None:
        return False
    await tx.execute(
        "UPDATE staff_totp SET last_step = ?, confirmed_at = COALESCE(confirmed_at, ?)"
        " WHERE staff_id = ?", (step, iso(now), staff_id))
    return True


async def disable(tx: Tx, staff_id: int) -> None:
    await tx.execute("DELETE FROM staff_totp WHERE staff_id = ?", (staff_id,))
