"""Panel changes that bot/ has no function for yet. Each runs inside the caller's transaction
(`db.write`) and writes its audit row with the change."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import add_identity
from bot.core.people import CASE_ROLES, InputError
from bot.core.phones import InvalidPhone, normalise_phone

LINK_CHANNELS = ("sms", "telegram", "sim")
MAX_NOTE = 4000


def normalise_address(channel: str, raw: str) -> str:
    """An address as the inbound log stores it, so a link matches the waiting messages."""
    raw = raw.strip()
    if channel == "sms":
        try:
            return normalise_phone(raw)
        except InvalidPhone as exc:
            raise InputError(f"phone: {exc}") from None
    if channel == "telegram":
        if not re.fullmatch(r"-?\d{1,20}", raw):
            raise InputError("telegram chat id: digits only")
        return raw
    if channel == "sim":
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", raw):
            raise InputError("simulator handle: letters, digits, '-' and '_'")
        return raw
    raise InputError(f"channel: one of {', '.join(LINK_CHANNELS)}")


async def link_number(tx: Tx, now: datetime, client_id: int, channel: str, raw_address: str,
                      actor: str, replace: bool = False) -> int:
    """Give a client a new number (or chat), and file the messages it already sent under them.

    Returns how many waiting unmatched messages now belong to the client.
    """
    address = normalise_address(channel, raw_address)
    from bot.core.identities import IdentityTaken

    try:
        ident = await add_identity(tx, now, channel, address, client_id=client_id, actor=actor,
                                   replace=replace)
    except IdentityTaken:
        raise InputError("that number belongs to someone else; a supervisor can move it") from None
    waiting = [r[0] for r in await tx.all(
        "SELECT id FROM inbound WHERE channel = ? AND address = ? AND client_id IS NULL"
        " AND staff_id IS NULL AND status = 'unmatched' ORDER BY id", (channel, address))]
    moved = await tx.execute(
        "UPDATE inbound SET client_id = ?, identity_id = ? WHERE channel = ? AND address = ?"
        " AND client_id IS NULL AND staff_id IS NULL AND status = 'unmatched'",
        (client_id, ident, channel, address))
    await audit(tx, now, actor, "client.number_linked", "client", client_id, channel=channel,
                identity_id=ident, inbound_moved=moved)
    from bot.conversation import after_linked, after_number_linked

    # Crisis words sent before we knew the number become this client's RED escalation.
    await after_number_linked(tx, now, client_id, waiting)
    await after_linked(tx, now, client_id)
    return moved


async def reassign(tx: Tx, now: datetime, client_id: int, officer_id: int, actor: str) -> None:
    officer = await tx.one("SELECT role, active FROM staff WHERE id = ?", (officer_id,))
    if officer is None or not officer["active"] or officer["role"] not in CASE_ROLES:
        raise InputError("officer: choose an active officer or supervisor")
    old = await tx.value("SELECT officer_id FROM clients WHERE id = ?", (client_id,))
    if old is None:
        raise InputError("client: not found")
    if old == officer_id:
        return
    await tx.execute("UPDATE clients SET officer_id = ? WHERE id = ?", (officer_id, client_id))
    await audit(tx, now, actor, "client.reassigned", "client", client_id, from_officer=old,
                to_officer=officer_id)


async def add_note(tx: Tx, now: datetime, client_id: int, staff_id: int, body: str) -> int:
    body = body.strip()
    if not body or len(body) > MAX_NOTE:
        raise InputError(f"note: 1-{MAX_NOTE} characters")
    note_id = await tx.execute(
        "INSERT INTO client_notes (client_id, staff_id, body, at) VALUES (?, ?, ?, ?)",
        (client_id, staff_id, body, iso(now)))
    await audit(tx, now, f"staff:{staff_id}", "client.note_added", "client", client_id,
                note_id=note_id)
    return note_id


async def set_active(tx: Tx, now: datetime, staff_id: int, active: bool, actor: str) -> None:
    """Deactivating ends every session at once; the person can no longer sign in or be alerted."""
    if not await tx.execute("UPDATE staff SET active = ? WHERE id = ?", (int(active), staff_id)):
        raise InputError("staff: not found")
    if not active:
        await tx.execute("UPDATE admin_sessions SET revoked_at = ? WHERE staff_id = ?"
                         " AND revoked_at IS NULL", (iso(now), staff_id))
    await audit(tx, now, actor, "staff.activated" if active else "staff.deactivated", "staff",
                staff_id)


async def end_duty(tx: Tx, now: datetime, rota_id: int, actor: str) -> None:
    """End a rota entry now (or drop one not yet started); the row stays for the record."""
    row = await tx.one("SELECT staff_id, starts_at, ends_at FROM rota WHERE id = ?", (rota_id,))
    if row is None:
        raise InputError("rota: no such entry")
    if row["ends_at"] <= iso(now):
        return
    end = max(row["starts_at"], iso(now))
    await tx.execute("UPDATE rota SET ends_at = ? WHERE id = ?", (end, rota_id))
    await audit(tx, now, actor, "rota.ended", "staff", row["staff_id"], rota_id=rota_id)


PROFILE_FIELDS = ("discreet", "language", "checkin_time", "quiet_start", "quiet_end")


def _clock_or_none(raw: str, name: str) -> str | None:
    from reminders.schedule.clock import parse_clock

    if not raw:
        return None
    try:
        return parse_clock(raw).strftime("%H:%M")
    except ValueError:
        raise InputError(f"{name}: a time like 09:30") from None


async def update_profile(tx: Tx, now: datetime, client_id: int, form: dict[str, str],
                         actor: str) -> list[str]:
    """The officer-set parts of a client's profile. Returns the fields that changed; a new
    check-in time or quiet hours moves the sends planned but not yet made (never re-sends)."""
    from bot.core.texts import available_locales

    language = form.get("language", "")
    if language not in available_locales():
        raise InputError("language: choose one from the list")
    wanted = {"discreet": 1 if form.get("discreet") == "yes" else 0, "language": language,
              "checkin_time": _clock_or_none(form.get("checkin_time", ""), "check-in time"),
              "quiet_start": _clock_or_none(form.get("quiet_start", ""), "quiet hours from"),
              "quiet_end": _clock_or_none(form.get("quiet_end", ""), "quiet hours to")}
    if (wanted["quiet_start"] is None) != (wanted["quiet_end"] is None):
        raise InputError("quiet hours: give both times, or neither for the default")
    row = await tx.one("SELECT " + ", ".join(PROFILE_FIELDS) + " FROM clients WHERE id = ?",
                       (client_id,))
    if row is None:
        raise InputError("client: not found")
    changed = [k for k in PROFILE_FIELDS if row[k] != wanted[k]]
    if not changed:
        return []
    await tx.execute("UPDATE clients SET " + ", ".join(f"{k} = ?" for k in changed)
                     + " WHERE id = ?", (*(wanted[k] for k in changed), client_id))
    await audit(tx, now, actor, "client.profile_changed", "client", client_id,
                **{k: {"from": row[k], "to": wanted[k]} for k in changed})
    if {"checkin_time", "quiet_start", "quiet_end"} & set(changed):
        from reminders.planner import plan_client

        await plan_client(tx, now, client_id, move=True)
    return changed
