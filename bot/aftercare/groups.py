"""Aftercare groups: who is in which group, and posting to the group's Telegram chat.

Enrolment (groups, mentors, members) is in enrolment.py; what is said in a group chat is read by
group_chat.py.

The group chat is a shared space: the bot posts there only texts whose key starts with "group."
(neutral meeting reminders, a milestone congratulation the member agreed to, replies to /link),
and never takes anything said there as anyone's answer. `post_to_group` is the only way out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.outbox import enqueue
from bot.core.quiet import allowed_from
from bot.core.texts import render


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


def _chat(chat_id: str) -> Identity:
    return Identity(None, "telegram", chat_id, None, None, False)


async def post_to_chat(tx: Tx, now: datetime, chat_id: str, key: str, params: dict[str, Any], *,
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
    return await post_to_chat(tx, now, str(chat), key, params, reply=False, dedupe_key=dedupe_key,
                       cause=cause)


