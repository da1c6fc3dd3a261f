"""Staff accounts with separation of duties.

- Nobody sets another person's password: an admin (or the operator's CLI) issues a one-time
  set-password link (single use, expiring, audited, only its SHA-256 stored) and the person
  sets their own password with it; the panel sends it to the person's own phone or Telegram,
  never to the admin's screen.
- Case access ranks the roles (admin 0 < mentor 1 = evaluator 1 < officer 2 < supervisor 3). A
  change that raises an account's case access, or a new account with any, waits as a `role_requests` row
  until a supervisor other than the requester approves it; the decision is in the audit log.
  A new or reactivated account stays inactive (cannot sign in, gets no alerts) until then.

The operator's `o2r staff add ... --password-stdin` (shell access, for bootstrap) is outside
this: whoever holds the server already holds the database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Database, Tx
from bot.core.identities import Identity, identities_of
from bot.core.people import ROLES, InputError

# An evaluator sees only aggregates, but of everyone's outcomes: an admin (who sees none) cannot
# grant that alone, so it ranks with a mentor, and a move between the two (a different kind of
# data, not less of it) is approved like a rise.
CASE_ACCESS = {"admin": 0, "mentor": 1, "evaluator": 1, "officer": 2, "supervisor": 3}
SETUP_LINK_TTL = timedelta(hours=24)
# The token rides in the query string, which the access log leaves out for panel pages.
SETUP_PATH = "/admin/setup?token="


def raises_case_access(old_role: str | None, new_role: str) -> bool:
    """Would moving from `old_role` (None: a new account) to `new_role` widen case access?"""
    old = CASE_ACCESS[old_role] if old_role else 0
    new = CASE_ACCESS[new_role]
    return new > old or (new == old > 0 and new_role != old_role)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def setup_url(public_url: str | None, token: str) -> str:
    return (public_url or "").rstrip("/") + SETUP_PATH + token


# Set-password links -----------------------------------------------------------------------

async def issue_setup_link(tx: Tx, now: datetime, staff_id: int, actor: str,
                           ttl: timedelta = SETUP_LINK_TTL) -> str:
    """A new link token for `staff_id` (earlier unused ones stop working). Returns the token."""
    row = await tx.one("SELECT username, active FROM staff WHERE id = ?", (staff_id,))
    if row is None:
        raise InputError("staff: not found")
    if not row["username"]:
        raise InputError("this person has no username for the panel")
    if not row["active"]:
        raise InputError("the account is not active (waiting for approval, or deactivated)")
    await tx.execute("UPDATE staff_setup_links SET revoked_at = ? WHERE staff_id = ?"
                     " AND used_at IS NULL AND revoked_at IS NULL", (iso(now), staff_id))
    token = secrets.token_urlsafe(32)
    await tx.execute(
        "INSERT INTO staff_setup_links (staff_id, token_hash, created_at, created_by, expires_at)"
        " VALUES (?, ?, ?, ?, ?)", (staff_id, _hash(token), iso(now), actor, iso(now + ttl)))
    await audit(tx, now, actor, "staff.setup_link_issued", "staff", staff_id,
                expires_at=iso(now + ttl))
    return token


async def send_setup_link(tx: Tx, now: datetime, staff_id: int, actor: str) -> str:
    """Issue a link and queue it to the person's own Telegram (or simulator) chat, else SMS.
    Returns the channel; InputError if they have none (the operator's CLI can print one)."""
    from bot.core.outbox import enqueue
    from bot.core.texts import render

    chosen: Identity | None = None
    for ident in await identities_of(tx, staff_id=staff_id):
        if ident.channel in ("telegram", "sim"):
            chosen = ident
            break
        chosen = chosen or ident
    if chosen is None:
        raise InputError("no phone or Telegram to send the link to; the operator can print one"
                         " with `o2r staff setup-link ID`")
    token = await issue_setup_link(tx, now, staff_id, actor)
    body = render("staff.setup_link", {"url": setup_url(tx.settings.public_url, token),
                                       "hours": int(SETUP_LINK_TTL.total_seconds() // 3600)})
    await enqueue(tx, now, chosen, body, message_key="staff.setup_link", cause="setup_link")
    return chosen.channel


@dataclass(frozen=True)
class SetupLink:
    id: int
    staff_id: int
    username: str
    name: str
    role: str


async def open_setup_link(tx: Tx | Database, now: datetime, token: str) -> SetupLink | None:
    """The live link for `token` (unused, unexpired, not revoked, account active), or None."""
    if not token or len(token) > 100:
        return None
    r = await tx.one(
        "SELECT l.id, l.staff_id, l.expires_at, l.used_at, l.revoked_at, s.username, s.name,"
        " s.role, s.active FROM staff_setup_links l JOIN staff s ON s.id = l.staff_id"
        " WHERE l.token_hash = ?", (_hash(token),))
    if r is None or r["used_at"] or r["revoked_at"] or not r["active"] \
            or parse_iso(r["expires_at"]) <= now:
        return None
    return SetupLink(r["id"], r["staff_id"], r["username"], r["name"], r["role"])


async def use_setup_link(tx: Tx, now: datetime, token: str, password_hash: str) -> SetupLink:
    """Set the person's own password and spend the link; every session of theirs ends."""
    link = await open_setup_link(tx, now, token)
    if link is None:
        raise InputError("this link has expired or was already used; ask for a new one")
    await tx.execute("UPDATE staff_setup_links SET used_at = ? WHERE id = ?", (iso(now), link.id))
    # A sign-in switched off as dormant (bot.privacy.access_review) comes back this way.
    await tx.execute("UPDATE staff SET password_hash = ?, disabled_reason = NULL WHERE id = ?",
                     (password_hash, link.staff_id))
    await tx.execute("UPDATE admin_sessions SET revoked_at = ? WHERE staff_id = ?"
                     " AND revoked_at IS NULL", (iso(now), link.staff_id))
    await audit(tx, now, f"staff:{link.staff_id}", "staff.password_set_by_link", "staff",
                link.staff_id, link_id=link.id)
    return link


# Roles ------------------------------------------------------------------------------------

async def request_role(tx: Tx, now: datetime, staff_id: int, to_role: str, actor: str) -> str:
    """Change a role now if case access does not grow ('changed'), else ask a supervisor
    ('pending'). 'same' if nothing to do."""
    if to_role not in ROLES:
        raise InputError(f"role: one of {', '.join(ROLES)}")
    row = await tx.one("SELECT role FROM staff WHERE id = ?", (staff_id,))
    if row is None:
        raise InputError("staff: not found")
    if actor == f"staff:{staff_id}":
        raise InputError("nobody changes their own role")
    if row["role"] == to_role:
        return "same"
    if not raises_case_access(row["role"], to_role):
        await tx.execute("UPDATE staff SET role = ? WHERE id = ?", (to_role, staff_id))
        await audit(tx, now, actor, "staff.role_changed", "staff", staff_id,
                    from_role=row["role"], to_role=to_role)
        return "changed"
    await _pending(tx, now, staff_id, row["role"], to_role, actor)
    return "pending"


async def _pending(tx: Tx, now: datetime, staff_id: int, from_role: str | None, to_role: str,
                   actor: str) -> int:
    if await tx.value("SELECT 1 FROM role_requests WHERE staff_id = ? AND status = 'pending'",
                      (staff_id,)):
        raise InputError("a role change for this person is already waiting for a supervisor")
    request_id = await tx.execute(
        "INSERT INTO role_requests (staff_id, from_role, to_role, requested_by, requested_at)"
        " VALUES (?, ?, ?, ?, ?)", (staff_id, from_role, to_role, actor, iso(now)))
    await audit(tx, now, actor, "staff.role_requested", "staff", staff_id, request_id=request_id,
                from_role=from_role, to_role=to_role)
    return request_id


async def hold_for_approval(tx: Tx, now: datetime, staff_id: int, actor: str) -> bool:
    """A just-created (or to be reactivated) account: with case access it stays inactive and
    waits for a supervisor; without, nothing to wait for (returns False)."""
    role = await tx.value("SELECT role FROM staff WHERE id = ?", (staff_id,))
    if role is None:
        raise InputError("staff: not found")
    if not raises_case_access(None, role):
        return False
    await tx.execute("UPDATE staff SET active = 0 WHERE id = ?", (staff_id,))
    await _pending(tx, now, staff_id, None, role, actor)
    return True


async def pending_request(tx: Tx, staff_id: int) -> int | None:
    value = await tx.value("SELECT id FROM role_requests WHERE staff_id = ? AND status = 'pending'",
                           (staff_id,))
    return None if value is None else int(value)


async def decide_role(tx: Tx, now: datetime, request_id: int, approve: bool,
                      supervisor_id: int) -> int:
    """A supervisor's decision, recorded in the audit log. The decider must be an active
    supervisor, not the person concerned and not the one who asked. Returns the staff id."""
    req = await tx.one("SELECT * FROM role_requests WHERE id = ? AND status = 'pending'",
                       (request_id,))
    if req is None:
        raise InputError("no such pending request")
    decider = await tx.one("SELECT role, active FROM staff WHERE id = ?", (supervisor_id,))
    actor = f"staff:{supervisor_id}"
    if decider is None or decider["role"] != "supervisor" or not decider["active"]:
        raise InputError("only a supervisor decides a role change")
    if supervisor_id == req["staff_id"] or actor == req["requested_by"]:
        raise InputError("another supervisor must decide this one")
    status = "approved" if approve else "declined"
    await tx.execute("UPDATE role_requests SET status = ?, decided_by = ?, decided_at = ?"
                     " WHERE id = ?", (status, actor, iso(now), request_id))
    if approve:
        await tx.execute("UPDATE staff SET role = ?, active = CASE WHEN ? = 1 THEN 1 ELSE active"
                         " END WHERE id = ?", (req["to_role"], req["from_role"] is None,
                                               req["staff_id"]))
    await audit(tx, now, actor, f"staff.role_{status}", "staff", req["staff_id"],
                request_id=request_id, from_role=req["from_role"], to_role=req["to_role"],
                requested_by=req["requested_by"])
    return int(req["staff_id"])
