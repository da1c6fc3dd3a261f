"""Aftercare groups: mentors, members, the weekly meeting rule, and the group's Telegram chat.

The group chat is a shared space: the bot posts there only texts whose key starts with "group."
(neutral meeting reminders, a milestone congratulation the member agreed to, replies to /link),
and never takes anything said there as anyone's answer. `post_to_group` is the only way out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import CODE_ALPHABET, LINK_CODE_TTL, Identity, find_identity
from bot.core.messaging import load_client, say
from bot.core.outbox import PRIORITY_ESCALATION, allowed_from, enqueue
from bot.core.people import InputError
from bot.core.texts import render
from bot.inbound import StoredInbound

LINK = re.compile(r"^/(?:link|start)(?:@\w+)?\s+([A-Za-z0-9]{4,16})\s*$", re.IGNORECASE)
MEMBER_STAGES = ("completed", "aftercare")
# Never written to: a deceased client's phone may be in someone else's hands.
SILENT_STAGES = ("deceased", "withdrawn")
MAX_NAME = 60
MAX_PLACE = 120
REMOVED = ("left", "kicked")
JOINED = ("member", "administrator")


def _clean(value: str | None, field: str, limit: int, required: bool = False) -> str | None:
    value = " ".join((value or "").split())
    if required and not value:
        raise InputError(f"{field}: give 1-{limit} characters")
    if len(value) > limit:
        raise InputError(f"{field}: at most {limit} characters")
    return value or None


# Groups, mentors, members ----------------------------------------------------------------------

async def group_id_of(tx: Tx, ref: str | int) -> int:
    """A group by id or by name."""
    text = str(ref).strip()
    found = await tx.value("SELECT id FROM aftercare_groups WHERE id = ? OR name = ?",
                           (int(text) if text.isdigit() else -1, text))
    if found is None:
        raise InputError(f"group: no group {text!r}")
    return int(found)


async def _require_mentor(tx: Tx, staff_id: int) -> None:
    from bot.aftercare.mentors import active

    if await active(tx, staff_id) is None:
        raise InputError(f"mentor: staff {staff_id} is not an active mentor"
                         " (o2r mentor promote --client REF)")


async def add_group(tx: Tx, now: datetime, *, name: str, mentor_ids: list[int], meets: str,
                    place: str | None = None, actor: str = "cli") -> int:
    from bot.aftercare.meetings import top_up_group
    from bot.aftercare.rules import MeetingRule, local_today

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
    from bot.aftercare.meetings import plan_member

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


async def member_group(tx: Tx, client_id: int) -> Any:
    return await tx.one(
        "SELECT a.* FROM group_members g JOIN aftercare_groups a ON a.id = g.group_id"
        " WHERE g.client_id = ? AND g.status = 'active' AND a.status = 'active'", (client_id,))


async def roster(tx: Tx, group_ids: list[int], before: str | None = None) -> list[Any]:
    """Active members (client_id, first_name, group_id) in a stable order: by group, then by
    enrolment. `before`: only those enrolled by then (a meeting's register)."""
    if not group_ids:
        return []
    marks = ", ".join("?" for _ in group_ids)
    return await tx.all(
        "SELECT g.client_id, c.first_name, g.group_id FROM group_members g"
        " JOIN clients c ON c.id = g.client_id"
        f" WHERE g.group_id IN ({marks}) AND g.status = 'active' AND g.enrolled_at <= ?"
        " ORDER BY g.group_id, g.enrolled_at, g.id", (*group_ids, before or "9999"))


async def groups_of_mentor(tx: Tx, staff_id: int) -> list[Any]:
    return await tx.all(
        "SELECT a.* FROM group_mentors gm JOIN aftercare_groups a ON a.id = gm.group_id"
        " WHERE gm.staff_id = ? AND gm.ended_at IS NULL AND a.status = 'active' ORDER BY a.id",
        (staff_id,))


async def mentors_of_group(tx: Tx, group_id: int) -> list[int]:
    return [r[0] for r in await tx.all(
        "SELECT gm.staff_id FROM group_mentors gm JOIN mentors m ON m.staff_id = gm.staff_id"
        " JOIN staff s ON s.id = gm.staff_id WHERE gm.group_id = ? AND gm.ended_at IS NULL"
        " AND m.status = 'active' AND s.active = 1 ORDER BY gm.staff_id", (group_id,))]


# The Telegram group chat ---------------------------------------------------------------------

def _hash(code: str) -> str:
    return hashlib.sha256(("group:" + code.strip().upper()).encode()).hexdigest()


async def new_chat_code(tx: Tx, now: datetime, group_id: int, actor: str = "cli") -> str:
    if not await tx.value("SELECT 1 FROM aftercare_groups WHERE id = ? AND status = 'active'",
                          (group_id,)):
        raise InputError(f"group: no active group {group_id}")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    await tx.execute("INSERT INTO group_chat_codes (code_hash, group_id, expires_at, created_at)"
                     " VALUES (?, ?, ?, ?)",
                     (_hash(code), group_id, iso(now + LINK_CODE_TTL), iso(now)))
    await audit(tx, now, actor, "group.link_code_created", "group", group_id)
    return code


def _chat(chat_id: str) -> Identity:
    return Identity(None, "telegram", chat_id, None, None, False)


async def _post(tx: Tx, now: datetime, chat_id: str, key: str, params: dict[str, Any], *,
                reply: bool, dedupe_key: str | None = None, cause: str | None = None) -> int | None:
    if not key.startswith("group."):
        raise ValueError(f"{key!r}: only 'group.' texts may be posted in a group chat")
    # Not a reply: wait for the end of quiet hours like any message we start.
    not_before = None if reply else await allowed_from(tx, None, now)
    return await enqueue(tx, now, _chat(chat_id), render(key, params), message_key=key,
                         dedupe_key=dedupe_key, cause=cause, not_before=not_before, reply=reply)


async def post_to_group(tx: Tx, now: datetime, group_id: int, key: str, params: dict[str, Any],
                        *, dedupe_key: str | None = None, cause: str | None = None) -> int | None:
    """Post in the group's chat if it has one and the bot is still in it; else nothing."""
    chat = await tx.value("SELECT chat_id FROM aftercare_groups WHERE id = ? AND status = 'active'"
                          " AND chat_status = 'linked'", (group_id,))
    if chat is None:
        return None
    return await _post(tx, now, str(chat), key, params, reply=False, dedupe_key=dedupe_key,
                       cause=cause)


async def group_message(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """Anything from a group or supergroup chat. Never a check-in answer: only /link (or
    /start) with a code, the bot's own membership changes, and crisis words are acted on."""
    msg = stored.message
    if msg.channel != "telegram":
        return "ignored"
    if msg.kind == "member":
        status = msg.payload.get("status")
        if status in REMOVED:
            return await _removed(tx, now, msg.address)
        if status in JOINED:
            await _post(tx, now, msg.address, "group.hello", {}, reply=True,
                        dedupe_key=f"group-added:{msg.address}:{iso(now)[:10]}")
            return "processed"
        return "ignored"
    if msg.kind != "text":
        return "ignored"
    code = LINK.match(msg.body.strip())
    if code:
        return await _link(tx, stored, now, code.group(1))
    from flows.intents import Intent, detect

    if detect(msg.body) is Intent.CRISIS:
        await _crisis(tx, stored, now)
        return "processed"
    return "ignored"


async def _link(tx: Tx, stored: StoredInbound, now: datetime, code: str) -> str:
    chat = stored.message.address
    row = await tx.one("SELECT group_id FROM group_chat_codes WHERE code_hash = ?"
                       " AND used_at IS NULL AND expires_at > ?", (_hash(code), iso(now)))
    day = iso(now)[:10]
    if row is None:
        await _post(tx, now, chat, "group.link_bad_code", {}, reply=True,
                    dedupe_key=f"group-bad-code:{chat}:{day}")
        return "processed"
    group_id = row[0]
    other = await tx.value("SELECT id FROM aftercare_groups WHERE chat_id = ?"
                           " AND chat_status = 'linked' AND id <> ?", (chat, group_id))
    if other is not None:
        await _post(tx, now, chat, "group.link_taken", {}, reply=True)
        return "processed"
    await tx.execute("UPDATE group_chat_codes SET used_at = ?, used_by = ? WHERE code_hash = ?",
                     (iso(now), f"telegram:{chat}", _hash(code)))
    await tx.execute("UPDATE aftercare_groups SET chat_id = ?, chat_status = 'linked',"
                     " chat_changed_at = ? WHERE id = ?", (chat, iso(now), group_id))
    await audit(tx, now, "system", "group.chat_linked", "group", group_id, chat=chat)
    name = await tx.value("SELECT name FROM aftercare_groups WHERE id = ?", (group_id,))
    await _post(tx, now, chat, "group.linked", {"group": name}, reply=True)
    return "processed"


async def _removed(tx: Tx, now: datetime, chat: str) -> str:
    """The bot was taken out of the chat: stop posting there at once, and say so in the panel."""
    rows = await tx.all("SELECT id FROM aftercare_groups WHERE chat_id = ?"
                        " AND chat_status = 'linked'", (chat,))
    for (group_id,) in rows:
        await tx.execute("UPDATE aftercare_groups SET chat_status = 'removed', chat_changed_at = ?"
                         " WHERE id = ?", (iso(now), group_id))
        await audit(tx, now, "system", "group.chat_removed", "group", group_id, chat=chat)
    await tx.execute("UPDATE outbox SET status = 'cancelled', last_error = 'bot removed from the"
                     " chat', updated_at = ? WHERE channel = 'telegram' AND address = ?"
                     " AND status = 'queued'", (iso(now), chat))
    return "processed" if rows else "ignored"


async def _crisis(tx: Tx, stored: StoredInbound, now: datetime) -> None:
    """Crisis words said in a group chat (only seen if the bot reads all group messages). Nothing
    is posted in the group. A client we know gets the crisis contacts privately and their
    officer a RED alert; someone we do not know is flagged to the duty officer."""
    from bot import conversation

    sender = stored.message.payload.get("from_id")
    ident = await find_identity(tx, "telegram", str(sender)) if sender is not None else None
    client = await load_client(tx, ident.client_id) if ident and ident.client_id else None
    if ident is not None and client is not None:
        await tx.execute("UPDATE inbound SET client_id = ? WHERE id = ?", (client.id, stored.id))
        await conversation.crisis(tx, stored, ident, client, now)
        return
    from bot.core.identities import identities_of
    from bot.escalation.alerts import duty

    name = await tx.value("SELECT name FROM aftercare_groups WHERE chat_id = ?"
                          " AND chat_status = 'linked'", (stored.message.address,))
    staff = {await duty(tx, now, "duty_officer")} | {r[0] for r in await tx.all(
        "SELECT id FROM staff WHERE role = 'supervisor' AND active = 1")}
    for staff_id in staff - {None}:
        # Telegram first (where alerts arrive), like every alert.
        found = sorted(await identities_of(tx, staff_id=staff_id), key=lambda i: i.channel == "sms")
        for target in found[:1]:
            await say(tx, now, target, "aftercare.crisis_in_group",
                      {"group": name or "an unlinked group", "inbound": stored.id}, safety=True,
                      priority=PRIORITY_ESCALATION, cause=f"inbound:{stored.id}")
    await audit(tx, now, "system", "crisis.group_chat", "inbound", stored.id)
