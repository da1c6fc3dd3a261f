"""Availability and the duty rota: who can take an alert when the assigned officer cannot."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.people import CASE_ROLES, InputError


def parse_local(text: str, tz: str) -> datetime:
    """An ISO date-time in the programme's zone (or with its own offset) -> aware datetime."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date-time like 2026-12-01T18:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


async def set_availability(tx: Tx, now: datetime, staff_id: int, available: bool,
                           reason: str | None, actor: str) -> None:
    changed = await tx.execute(
        "UPDATE staff SET available = ?, unavailable_reason = ? WHERE id = ? AND active = 1",
        (int(available), None if available else (reason or "unavailable"), staff_id))
    if not changed:
        raise InputError(f"staff: no active staff member {staff_id}")
    await audit(tx, now, actor, "staff.availability", "staff", staff_id, available=available,
                reason=reason)


async def add_duty(tx: Tx, now: datetime, staff_id: int, duty: str, start: datetime,
                   end: datetime, actor: str) -> int:
    if duty not in ("duty_officer", "duty_supervisor"):
        raise InputError("duty: duty_officer or duty_supervisor")
    if end <= start:
        raise InputError("the duty must end after it starts")
    role = await tx.value("SELECT role FROM staff WHERE id = ? AND active = 1", (staff_id,))
    if role not in CASE_ROLES:
        raise InputError(f"staff: {staff_id} is not an active officer or supervisor")
    rota_id = await tx.execute(
        "INSERT INTO rota (staff_id, duty, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?)",
        (staff_id, duty, iso(start), iso(end), iso(now)))
    await audit(tx, now, actor, "rota.added", "staff", staff_id, duty=duty, starts=iso(start),
                ends=iso(end))
    return rota_id
