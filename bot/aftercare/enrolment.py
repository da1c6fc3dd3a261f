"""Aftercare groups, their mentors and members: creating, editing, enrolling, leaving.

Enrolling plans the member's meeting reminders and creating a group plans its meetings, so this
module sits above groups.py (reads and posting) and meetings.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.aftercare.meetings import move_ahead, plan_member, top_up_group
from bot.aftercare.mentors import active
from bot.aftercare.rules import MeetingRule, local_today
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.messaging import load_client
from bot.core.people import InputError

MEMBER_STAGES = ("completed", "aftercare")
MAX_NAME = 60
MAX_PLACE = 120


def _clean(value: str | None, field: str, limit: int, required: bool = False) -> str | None:
    value = " ".join((value or "").split())
    if required and not value:
        raise InputError(f"{field}: give 1-{limit} characters")
    if len(value) > limit:
        raise InputError(f"{field}: at most {limit} characters")
    return value or None


async def group_id_of(tx: Tx, ref: str | int) -> int:
    """A group by id or by name."""
    text = str(ref).strip()
    found = await tx.value("SELECT id FROM aftercare_groups WHERE id = ? OR name = ?",
                           (int(text) if text.isdigit() else -1, text))
    if found is None:
        raise InputError(f"group: no group {text!r}")
    return int(found)


async def _require_mentor(tx: Tx, staff_id: int) -> None:
    if await active(tx, staff_id) is None:
        raise InputError(f"mentor: staff {staff_id} is not an active mentor"
                         " (o2r mentor promote --client REF)")


async def add_group(tx: Tx, now: datetime, *, name: str, mentor_ids: list[int], meets: str,
                    place: str | None = None, actor: str = "cli") -> int:
    clean_name = _clean(name, "name", MAX_NAME, required=True)
    try:
        rule = MeetingRule.parse(meets)
    except ValueError as exc:
        raise InputError(f"meets: {exc}") from None
    if not mentor_ids:
        raise InputError("mentor: a group needs at least one mentor")
    if await tx.value("SELECT 1 FROM aftercare_groups WHERE name = ?", (clean_name,)):
        raise InputError(f"name: a group called {clean_name!r} exists")
    for staff_id in mentor_ids:
        await _require_mentor(tx, staff_id)
    # Nothing planned yet: the top-up below writes meetings from today on.
    yesterday = local_today(now, tx.settings.timezone) - timedelta(days=1)
    group_id = await tx.execute(
        "INSERT INTO aftercare_groups (name, weekday, meets_at, place, planned_until, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (clean_name, rule.weekday, rule.at.strftime("%H:%M"), _clean(place, "place", MAX_PLACE),
         yesterday.isoformat(), actor, iso(now)))
    for staff_id in dict.fromkeys(mentor_ids):
        await tx.execute("INSERT INTO group_mentors (group_id, staff_id, added_at)"
                         " VALUES (?, ?, ?)", (group_id, staff_id, iso(now)))
    await audit(tx, now, actor, "group.added", "group", group_id, meets=rule.text,
                mentors=mentor_ids)
    await top_up_group(tx, now, group_id)
    return group_id


async def edit_group(tx: Tx, now: datetime, group_id: int, *, name: str, meets: str,
                     place: str | None = None, actor: str = "cli") -> list[str]:
    """Rename a group, or move its weekly meeting (day, time, place): the meetings still ahead
    and their reminders move with it (meetings.move_ahead). Returns what changed, in words."""
    g = await tx.one("SELECT * FROM aftercare_groups WHERE id = ? AND status = 'active'",
                     (group_id,))
    if g is None:
        raise InputError(f"group: no active group {group_id}")
    clean_name = _clean(name, "name", MAX_NAME, required=True)
    clean_place = _clean(place, "place", MAX_PLACE)
    try:
        rule = MeetingRule.parse(meets)
    except ValueError as exc:
        raise InputError(f"meets: {exc}") from None
    if await tx.value("SELECT 1 FROM aftercare_groups WHERE name = ? AND id <> ?",
                      (clean_name, group_id)):
        raise InputError(f"name: a group called {clean_name!r} exists")
    at = rule.at.strftime("%H:%M")
    changed = [word for word, old, new in (
        ("name", g["name"], clean_name), ("day", g["weekday"], rule.weekday),
        ("time", g["meets_at"], at), ("place", g["place"], clean_place)) if old != new]
    if not changed:
        return []
    await tx.execute("UPDATE aftercare_groups SET name = ?, weekday = ?, meets_at = ?, place = ?"
                     " WHERE id = ?", (clean_name, rule.weekday, at, clean_place, group_id))
    if set(changed) - {"name"}:
        await move_ahead(tx, now, group_id)
    await audit(tx, now, actor, "group.edited", "group", group_id, changed=changed,
                meets=rule.text, place=clean_place, name=clean_name)
    return changed


async def add_mentor(tx: Tx, now: datetime, group_id: int, staff_id: int,
                     actor: str = "cli") -> None:
    await _require_mentor(tx, staff_id)
    member = await tx.value(
        "SELECT 1 FROM group_members g JOIN mentors m ON m.client_id = g.client_id"
        " WHERE g.group_id = ? AND g.status = 'active' AND m.staff_id = ?", (group_id, staff_id))
    if member:
        raise InputError("mentor: they are a member of this group")
    await tx.execute(
        "INSERT INTO group_mentors (group_id, staff_id, added_at) VALUES (?, ?, ?)"
        " ON CONFLICT (group_id, staff_id) DO UPDATE SET ended_at = NULL", (group_id, staff_id,
                                                                            iso(now)))
    await audit(tx, now, actor, "group.mentor_added", "group", group_id, staff_id=staff_id)


async def enrol(tx: Tx, now: datetime, group_id: int, client_id: int, actor: str = "cli") -> int:
    client = await load_client(tx, client_id)
    if client is None:
        raise InputError(f"client: no client {client_id}")
    group = await tx.one("SELECT name, status FROM aftercare_groups WHERE id = ?", (group_id,))
    if group is None or group["status"] != "active":
        raise InputError(f"group: no active group {group_id}")
    if client.stage not in MEMBER_STAGES:
        raise InputError(f"client: {client.ref} is at stage {client.stage!r}; aftercare groups"
                         f" are for {' or '.join(MEMBER_STAGES)}")
    if not client.consented:
        raise InputError(f"client: {client.ref} has no recorded consent to messages")
    current = await tx.value(
        "SELECT a.name FROM group_members g JOIN aftercare_groups a ON a.id = g.group_id"
        " WHERE g.client_id = ? AND g.status = 'active'", (client_id,))
    if current is not None:
        raise InputError(f"client: {client.ref} is already in the group {current!r}")
    if await tx.value("SELECT 1 FROM group_mentors gm JOIN mentors m ON m.staff_id = gm.staff_id"
                      " WHERE gm.group_id = ? AND gm.ended_at IS NULL AND m.client_id = ?",
                      (group_id, client_id)):
        raise InputError(f"client: {client.ref} mentors this group")
    member_id = await tx.execute(
        "INSERT INTO group_members (group_id, client_id, enrolled_at, created_by)"
        " VALUES (?, ?, ?, ?)", (group_id, client_id, iso(now), actor))
    await audit(tx, now, actor, "group.enrolled", "client", client_id, group_id=group_id)
    await plan_member(tx, now, client_id)
    return member_id


async def leave(tx: Tx, now: datetime, client_id: int, reason: str, actor: str = "cli") -> None:
    changed = await tx.execute(
        "UPDATE group_members SET status = 'ended', ended_at = ?, end_reason = ?"
        " WHERE client_id = ? AND status = 'active'", (iso(now), reason, client_id))
    if not changed:
        raise InputError("client: not in an aftercare group")
    await tx.execute("UPDATE timers SET status = 'cancelled', outcome = 'left the group',"
                     " done_at = ? WHERE client_id = ? AND kind = 'meeting_reminder'"
                     " AND status = 'pending'", (iso(now), client_id))
    await audit(tx, now, actor, "group.left", "client", client_id, reason=reason)
