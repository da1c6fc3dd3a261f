"""The second factor: RFC 6238 time-based codes (pyotp), one use per code.

Seeds are stored sealed (bot.core.sealing: Fernet, key derived from O2R_SECRET_KEY); they are
opened only here, to show an unconfirmed one to its owner and to check a code.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta

import pyotp

from bot.core.clock import iso
from bot.core.db import Database, Tx
from bot.core.sealing import SealError, seal, unseal

log = logging.getLogger(__name__)

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
    if r is None:
        return None
    assert db.settings is not None
    try:
        return unseal(db.settings, r[0]), r[1] is not None
    except SealError:
        # Not silently "no second factor": the confirmed flag stands, and no code will match.
        log.error("TOTP secret of staff %s cannot be opened (O2R_SECRET_KEY changed?)", staff_id)
        return "", r[1] is not None


async def enabled(db: Database, staff_id: int) -> bool:
    found = await enrolment(db, staff_id)
    return bool(found and found[1])


async def start(tx: Tx, now: datetime, staff_id: int) -> str:
    """A fresh unconfirmed secret (replacing an unconfirmed earlier one)."""
    secret = new_secret()
    await tx.execute(
        "INSERT INTO staff_totp (staff_id, secret, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (staff_id) DO UPDATE SET secret = excluded.secret, confirmed_at = NULL,"
        " last_step = NULL, created_at = excluded.created_at",
        (staff_id, seal(tx.settings, secret), iso(now)))
    return secret


async def use_code(tx: Tx, now: datetime, staff_id: int, code: str, *,
                   confirming: bool = False) -> bool:
    """Check a code inside a write transaction (so two requests cannot both use one code)."""
    r = await tx.one("SELECT secret, confirmed_at, last_step FROM staff_totp WHERE staff_id = ?",
                     (staff_id,))
    if r is None or (r["confirmed_at"] is None) != confirming:
        return False
    try:
        secret = unseal(tx.settings, r["secret"])
    except SealError:
        log.error("TOTP secret of staff %s cannot be opened (O2R_SECRET_KEY changed?)", staff_id)
        return False
    step = matching_step(secret, code, now, r["last_step"])
    if step is None:
        return False
    await tx.execute(
        "UPDATE staff_totp SET last_step = ?, confirmed_at = COALESCE(confirmed_at, ?)"
        " WHERE staff_id = ?", (step, iso(now), staff_id))
    return True


async def disable(tx: Tx, staff_id: int) -> None:
    await tx.execute("DELETE FROM staff_totp WHERE staff_id = ?", (staff_id,))
