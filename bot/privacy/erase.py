"""Erasure, rectification and legal hold: a supervisor's decisions about one client's record.

Erasure removes or blanks everything that identifies the person and keeps what the programme
counts (stage, dates, severities, numbers), so the dashboard survives. The retention purge
erases a closed case the same way when its period ends (bot.privacy.purge, kind
`client_records`). Nothing is erased while the client is under legal hold or has an open
escalation or a safety message still to send.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.texts import available_locales

ERASED = "(erased)"


class Refused(ValueError):
    """The change is not allowed; the message says why, for the person who asked."""


# What erasure does to every table that has a client_id column. Every such table must be
# named (tests/privacy/test_privacy_structure.py checks the live schema), so a table added later
# cannot silently keep a person's data; () means "nothing personal beyond the link, kept".
# Parameters: :cid the client, :now the time.
SCRUB: dict[str, tuple[str, ...]] = {
    "clients": (
        "UPDATE clients SET ref = 'ERASED-' || id, first_name = '(erased)',"
        " consent_wording = NULL, codeword = NULL, checkin_time = NULL, quiet_start = NULL,"
        " quiet_end = NULL, heightened_until = NULL, preferred_channel = NULL,"
        " erased_at = :now WHERE id = :cid",
    ),
    "identities": ("UPDATE identities SET address = 'erased', active = 0 WHERE client_id = :cid",),
    # A client's own alias for a place can say where they go ("my nan's on Broad St").
    "place_aliases": ("DELETE FROM place_aliases WHERE client_id = :cid",),
    "inbound": (
        "UPDATE inbound SET body = '', payload = NULL, address = 'erased', error = NULL,"
        " purged_at = COALESCE(purged_at, :now) WHERE client_id = :cid",
    ),
    "outbox": (
        "UPDATE outbox SET status = 'cancelled', last_error = 'client erased', updated_at = :now"
        " WHERE client_id = :cid AND status = 'queued'",
        "UPDATE outbox SET body = '', reply_markup = NULL, address = 'erased',"
        " purged_at = COALESCE(purged_at, :now) WHERE client_id = :cid AND status <> 'sending'",
        # Alerts to staff name the client in their text.
        "UPDATE outbox SET body = '', reply_markup = NULL, purged_at = COALESCE(purged_at, :now)"
        " WHERE status <> 'sending' AND id IN (SELECT n.outbox_id FROM escalation_notices n"
        " JOIN escalations e ON e.id = n.escalation_id WHERE e.client_id = :cid"
        " UNION SELECT n.fallback_outbox_id FROM escalation_notices n"
        " JOIN escalations e ON e.id = n.escalation_id WHERE e.client_id = :cid)",
    ),
    "timers": (
        "UPDATE timers SET status = 'cancelled', outcome = 'client erased', done_at = :now"
        " WHERE client_id = :cid AND status = 'pending'",
    ),
    "flow_sessions": (
        "UPDATE flow_sessions SET state = '{}', ended_at = COALESCE(ended_at, :now),"
        " status = CASE WHEN status IN ('active', 'waiting') THEN 'stopped' ELSE status END"
        " WHERE client_id = :cid",
    ),
    "answers": ("UPDATE answers SET raw_text = NULL WHERE client_id = :cid",),
    "scores": ("UPDATE scores SET detail = '{}' WHERE client_id = :cid",),
    "findings": ("UPDATE findings SET detail = NULL WHERE client_id = :cid",),
    "escalations": ("UPDATE escalations SET outcome = NULL, note = NULL WHERE client_id = :cid",),
    "stage_history": ("UPDATE stage_history SET reason = '(erased)' WHERE client_id = :cid",),
    "appointment_series": (
        "UPDATE appointment_series SET place = NULL, with_whom = NULL, status = 'ended'"
        " WHERE client_id = :cid",
    ),
    "appointments": (
        "UPDATE appointments SET place = NULL, with_whom = NULL,"
        " status = CASE WHEN status = 'scheduled' THEN 'cancelled' ELSE status END"
        " WHERE client_id = :cid",
    ),
    "course_enrolments": (),
    "course_attendance": (),
    "client_notes": ("DELETE FROM client_notes WHERE client_id = :cid",),
    "link_codes": ("DELETE FROM link_codes WHERE client_id = :cid",),
    "group_members": (),
    "meeting_attendance": (),
    "aftercare_prompts": (),
    "recovery_dates": ("DELETE FROM recovery_dates WHERE client_id = :cid",),
    # A graduate who became a peer mentor also has a staff account in their name.
    "mentors": (
        "UPDATE staff SET name = '(erased)', active = 0, username = NULL, password_hash = NULL"
        " WHERE id IN (SELECT staff_id FROM mentors WHERE client_id = :cid)",
        "UPDATE identities SET address = 'erased', active = 0"
        " WHERE staff_id IN (SELECT staff_id FROM mentors WHERE client_id = :cid)",
    ),
    "crisis_reviews": ("UPDATE crisis_reviews SET note = NULL, screened = '' WHERE client_id = :cid",),
}
# Audit entries about the client keep who did what and when; their detail (reasons, names) goes.
AUDIT_SCRUB = ("UPDATE audit_log SET detail = NULL WHERE object_kind = 'client' AND object_id = :cid"
               " AND action <> 'client.erased'")

# Profile fields a supervisor may correct (rectification), with how each is checked.
CORRECTABLE = ("first_name", "area", "referral_source", "language", "codeword")


async def protection(tx: Tx, client_id: int) -> str | None:
    """Why this client's data may not be erased now ("is under legal hold"), or None."""
    row = await tx.one(
        "SELECT legal_hold_reason, legal_hold_at,"
        " EXISTS (SELECT 1 FROM escalations e WHERE e.client_id = c.id"
        "         AND e.status <> 'resolved') AS open_escalation,"
        " EXISTS (SELECT 1 FROM outbox o WHERE o.client_id = c.id AND o.safety = 1"
        "         AND o.status IN ('queued', 'sending')) AS safety_pending"
        " FROM clients c WHERE c.id = ?", (client_id,))
    if row is None:
        raise Refused("no such client")
    if row["legal_hold_at"] is not None:
        return "is under legal hold"
    if row["open_escalation"]:
        return "has an open escalation (resolve it first)"
    if row["safety_pending"]:
        return "has a safety message still being sent"
    return None


async def _supervisor(tx: Tx, staff_id: int) -> str:
    row = await tx.one("SELECT role, active FROM staff WHERE id = ?", (staff_id,))
    if row is None or row["role"] != "supervisor" or not row["active"]:
        raise Refused("only an active supervisor may do this")
    return f"staff:{staff_id}"


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise Refused("give a reason (a few words)")
    return reason[:500]


async def scrub(tx: Tx, now: datetime, client_id: int) -> None:
    """Blank or delete everything identifying about one client (no checks: see `erase`)."""
    params = {"cid": client_id, "now": iso(now)}
    for statements in SCRUB.values():
        for sql in statements:
            await tx.execute(sql, params)
    await tx.execute(AUDIT_SCRUB, params)


async def erase(tx: Tx, now: datetime, client_id: int, staff_id: int | None, reason: str) -> None:
    """Erase a client's personal data. `staff_id` None is the retention purge (actor system).
    The audit entry says who and why, never what was erased."""
    actor = "system" if staff_id is None else await _supervisor(tx, staff_id)
    reason = _reason(reason)
    if await tx.value("SELECT erased_at FROM clients WHERE id = ?", (client_id,)):
        raise Refused("already erased")
    why_not = await protection(tx, client_id)
    if why_not:
        raise Refused(f"not erased: the client {why_not}")
    await scrub(tx, now, client_id)
    await audit(tx, now, actor, "client.erased", "client", client_id, reason=reason)


async def correct(tx: Tx, now: datetime, client_id: int, staff_id: int, field: str,
                  value: str, reason: str) -> None:
    """Rectification: a supervisor corrects one profile field; old and new value audited."""
    actor = await _supervisor(tx, staff_id)
    reason = _reason(reason)
    if field not in CORRECTABLE:
        raise Refused(f"correctable fields: {', '.join(CORRECTABLE)}")
    row = await tx.one(f"SELECT {field} AS v, erased_at FROM clients WHERE id = ?", (client_id,))
    if row is None:
        raise Refused("no such client")
    if row["erased_at"]:
        raise Refused("the client was erased")
    value = " ".join(value.split())
    if field == "first_name" and not value:
        raise Refused("a first name cannot be empty")
    if field == "language":
        if value not in available_locales():
            raise Refused(f"language: one of {', '.join(available_locales())}")
    new: str | None = value or None
    await tx.execute(f"UPDATE clients SET {field} = ? WHERE id = ?", (new, client_id))
    await audit(tx, now, actor, "client.corrected", "client", client_id, field=field,
                old=row["v"], new=new, reason=reason)


async def set_hold(tx: Tx, now: datetime, client_id: int, staff_id: int,
                   reason: str | None) -> None:
    """Legal hold on (with a reason) or off (reason None): nothing of the client is purged
    or erased while it is on."""
    actor = await _supervisor(tx, staff_id)
    if reason is None:
        n = await tx.execute("UPDATE clients SET legal_hold_reason = NULL, legal_hold_at = NULL,"
                             " legal_hold_by = NULL WHERE id = ? AND legal_hold_at IS NOT NULL",
                             (client_id,))
        if n:
            await audit(tx, now, actor, "client.legal_hold_off", "client", client_id)
        return
    reason = _reason(reason)
    await tx.execute("UPDATE clients SET legal_hold_reason = ?, legal_hold_at = ?,"
                     " legal_hold_by = ? WHERE id = ?", (reason, iso(now), staff_id, client_id))
    await audit(tx, now, actor, "client.legal_hold_on", "client", client_id, reason=reason)
