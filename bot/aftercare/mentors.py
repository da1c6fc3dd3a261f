"""Graduation to peer mentor, and stepping down.

A mentor is two rows that point at one person: their client record (they are in recovery, keep
their officer, their check-ins and crisis screening) and a staff row with role 'mentor' (what the
panel signs in and what permissions check), joined by `mentors`. Their phone or Telegram chat
stays the client identity it already is: `identities` gives an address one owner, and a second
row for the same number would make "who wrote?" ambiguous. Mentor messages go to that identity,
in the graduate's own language and wording, within their quiet hours.

Stepping down removes every kind of access in one transaction: the staff row is deactivated
(panel sessions end), group links end, open questions close, scheduled mentor prompts are
cancelled. The client record is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.aftercare.prompts import close_all
from bot.aftercare.rules import load_config, next_monthly, next_weekly
from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.contact import verdict_for
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, client_identity, load_client, say
from bot.core.people import InputError, add_staff

GRADUATE_STAGES = ("completed", "aftercare")
CONCERN_KIND = "mentor_concern_prompt"
WELLBEING_KIND = "mentor_wellbeing_check"


@dataclass(frozen=True)
class Mentor:
    staff_id: int
    client_id: int
    name: str

    @property
    def actor(self) -> str:
        return f"staff:{self.staff_id}"


_ACTIVE = ("SELECT m.staff_id, m.client_id, s.name FROM mentors m JOIN staff s ON s.id = m.staff_id"
           " WHERE m.status = 'active' AND s.active = 1 AND s.role = 'mentor'")


async def active_by_client(tx: Tx, client_id: int) -> Mentor | None:
    r = await tx.one(_ACTIVE + " AND m.client_id = ?", (client_id,))
    return Mentor(r[0], r[1], r[2]) if r else None


async def active(tx: Tx, staff_id: int) -> Mentor | None:
    r = await tx.one(_ACTIVE + " AND m.staff_id = ?", (staff_id,))
    return Mentor(r[0], r[1], r[2]) if r else None


async def was_mentor(tx: Tx, client_id: int) -> bool:
    return bool(await tx.value("SELECT 1 FROM mentors WHERE client_id = ?", (client_id,)))


async def reach(tx: Tx, mentor: Mentor) -> tuple[ClientInfo, Identity] | None:
    """The mentor's own client record and the identity to write to (None: unreachable)."""
    client = await load_client(tx, mentor.client_id)
    ident = await client_identity(tx, client) if client else None
    if client is None or ident is None:
        return None
    # Mentor prompts are group messages under the one contact policy (bot.core.contact).
    return (client, ident) if (await verdict_for(tx, ident, "group")).allowed else None


async def promote(tx: Tx, now: datetime, client_id: int, *, agreed: bool,
                  name: str | None = None, username: str | None = None,
                  password_hash: str | None = None, actor: str = "cli") -> int:
    """Make a graduate a mentor; returns the new staff id. `agreed`: the person signed the
    mentor agreement (its version is recorded with the promotion)."""
    client = await load_client(tx, client_id)
    if client is None:
        raise InputError(f"client: no client {client_id}")
    if not agreed:
        raise InputError("agreement: record that they signed the mentor agreement first")
    if client.stage not in GRADUATE_STAGES:
        raise InputError(f"client: {client.ref} is at stage {client.stage!r}; mentors are"
                         f" graduates ({' or '.join(GRADUATE_STAGES)})")
    if not client.consented:
        raise InputError(f"client: {client.ref} has no recorded consent to messages")
    if await client_identity(tx, client) is None:
        raise InputError(f"client: {client.ref} has no phone or Telegram linked to reach them on")
    if await active_by_client(tx, client_id):
        raise InputError(f"client: {client.ref} is already a mentor")
    version = load_config().agreement_version
    staff_id = await add_staff(tx, now, name=name or client.first_name, role="mentor",
                               username=username, password_hash=password_hash, actor=actor)
    await tx.execute(
        "INSERT INTO mentors (staff_id, client_id, agreement_version, agreed_at, recorded_by,"
        " promoted_at) VALUES (?, ?, ?, ?, ?, ?)",
        (staff_id, client_id, version, iso(now), actor, iso(now)))
    await audit(tx, now, actor, "mentor.promoted", "client", client_id, staff_id=staff_id,
                agreement=version)
    await schedule_prompts(tx, now, staff_id)
    found = await reach(tx, Mentor(staff_id, client_id, client.first_name))
    if found:
        await say(tx, now, found[1], "mentor.welcome", client=found[0], purpose="group",
                  cause=f"mentor:{staff_id}")
    return staff_id


async def schedule_prompts(tx: Tx, now: datetime, staff_id: int) -> None:
    """The weekly "anyone you are worried about?" and the monthly wellbeing check (idempotent)."""
    cfg, tz = load_config(), tx.settings.timezone
    concern = next_weekly(now, cfg.concern_day, cfg.concern_at, tz)
    wellbeing = next_monthly(now, cfg.wellbeing_day, cfg.wellbeing_at, tz)
    await timers.schedule(tx, now, f"{CONCERN_KIND}:{staff_id}:{iso(concern)[:10]}",
                          CONCERN_KIND, concern, payload={"staff": staff_id}, replace=False)
    await timers.schedule(tx, now, f"{WELLBEING_KIND}:{staff_id}:{iso(wellbeing)[:10]}",
                          WELLBEING_KIND, wellbeing, payload={"staff": staff_id}, replace=False)


async def step_down(tx: Tx, now: datetime, staff_id: int, *, reason: str | None = None,
                    actor: str = "cli") -> None:
    row = await tx.one("SELECT client_id, status FROM mentors WHERE staff_id = ?", (staff_id,))
    if row is None:
        raise InputError(f"mentor: staff {staff_id} is not a mentor")
    if row["status"] != "active":
        raise InputError(f"mentor: staff {staff_id} has already stepped down")
    stamp = iso(now)
    await tx.execute("UPDATE mentors SET status = 'stepped_down', stepped_down_at = ?,"
                     " step_down_reason = ? WHERE staff_id = ?", (stamp, reason, staff_id))
    await tx.execute("UPDATE staff SET active = 0 WHERE id = ?", (staff_id,))
    await tx.execute("UPDATE admin_sessions SET revoked_at = ? WHERE staff_id = ?"
                     " AND revoked_at IS NULL", (stamp, staff_id))
    await tx.execute("UPDATE group_mentors SET ended_at = ? WHERE staff_id = ?"
                     " AND ended_at IS NULL", (stamp, staff_id))
    # Defensive: a mentor is reached on their client identity, but none may linger as staff.
    await tx.execute("UPDATE identities SET active = 0 WHERE staff_id = ?", (staff_id,))
    await close_all(tx, now, staff_id=staff_id)
    for kind in (CONCERN_KIND, WELLBEING_KIND):
        await timers.cancel(tx, now, f"{kind}:{staff_id}:", "mentor stepped down")
    await audit(tx, now, actor, "mentor.stepped_down", "client", row["client_id"],
                staff_id=staff_id, reason=reason)
    client = await load_client(tx, row["client_id"])
    ident = await client_identity(tx, client) if client else None
    if client and ident:
        await say(tx, now, ident, "mentor.goodbye", client=client, purpose="group",
                  cause=f"mentor:{staff_id}")


async def staff_id_of(tx: Tx, ref: str) -> int:
    """A mentor by staff id, or by the ref of their client record."""
    if ref.isdigit():
        found = await tx.value("SELECT staff_id FROM mentors WHERE staff_id = ?", (int(ref),))
    else:
        found = await tx.value(
            "SELECT m.staff_id FROM mentors m JOIN clients c ON c.id = m.client_id"
            " WHERE c.ref = ? ORDER BY m.status = 'active' DESC, m.promoted_at DESC LIMIT 1",
            (ref,))
    if found is None:
        raise InputError(f"mentor: no mentor {ref!r} (give a staff id or a client ref)")
    return int(found)
