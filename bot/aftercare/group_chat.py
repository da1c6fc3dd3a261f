"""What is said in an aftercare group's Telegram chat: /link with a code, the bot being added or
removed, and crisis words. Nothing said in a group is ever taken as anyone's answer."""

from __future__ import annotations

import re
from datetime import datetime

from bot import conversation
from bot.aftercare.groups import post_to_chat
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import LINK_CODE_TTL, code_hash, find_identity, new_code
from bot.core.messaging import load_client
from bot.core.people import InputError
from bot.escalation.alerts import alert_duty_and_supervisors
from bot.inbound import StoredInbound
from flows.intents import Intent, detect

LINK = re.compile(r"^/(?:link|start)(?:@\w+)?\s+([A-Za-z0-9]{4,16})\s*$", re.IGNORECASE)
REMOVED = ("left", "kicked")
JOINED = ("member", "administrator")


def _hash(code: str) -> str:
    return code_hash(code, scope="group:")


async def new_chat_code(tx: Tx, now: datetime, group_id: int, actor: str = "cli") -> str:
    if not await tx.value("SELECT 1 FROM aftercare_groups WHERE id = ? AND status = 'active'",
                          (group_id,)):
        raise InputError(f"group: no active group {group_id}")
    code = new_code()
    await tx.execute("INSERT INTO group_chat_codes (code_hash, group_id, expires_at, created_at)"
                     " VALUES (?, ?, ?, ?)",
                     (_hash(code), group_id, iso(now + LINK_CODE_TTL), iso(now)))
    await audit(tx, now, actor, "group.link_code_created", "group", group_id)
    return code


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
            await post_to_chat(tx, now, msg.address, "group.hello", {}, reply=True,
                        dedupe_key=f"group-added:{msg.address}:{iso(now)[:10]}")
            return "processed"
        return "ignored"
    if msg.kind != "text":
        return "ignored"
    code = LINK.match(msg.body.strip())
    if code:
        return await _link(tx, stored, now, code.group(1))
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
        await post_to_chat(tx, now, chat, "group.link_bad_code", {}, reply=True,
                    dedupe_key=f"group-bad-code:{chat}:{day}")
        return "processed"
    group_id = row[0]
    other = await tx.value("SELECT id FROM aftercare_groups WHERE chat_id = ?"
                           " AND chat_status = 'linked' AND id <> ?", (chat, group_id))
    if other is not None:
        await post_to_chat(tx, now, chat, "group.link_taken", {}, reply=True)
        return "processed"
    await tx.execute("UPDATE group_chat_codes SET used_at = ?, used_by = ? WHERE code_hash = ?",
                     (iso(now), f"telegram:{chat}", _hash(code)))
    await tx.execute("UPDATE aftercare_groups SET chat_id = ?, chat_status = 'linked',"
                     " chat_changed_at = ? WHERE id = ?", (chat, iso(now), group_id))
    await audit(tx, now, "system", "group.chat_linked", "group", group_id, chat=chat)
    name = await tx.value("SELECT name FROM aftercare_groups WHERE id = ?", (group_id,))
    await post_to_chat(tx, now, chat, "group.linked", {"group": name}, reply=True)
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
    sender = stored.message.payload.get("from_id")
    ident = await find_identity(tx, "telegram", str(sender)) if sender is not None else None
    client = await load_client(tx, ident.client_id) if ident and ident.client_id else None
    if ident is not None and client is not None:
        await tx.execute("UPDATE inbound SET client_id = ? WHERE id = ?", (client.id, stored.id))
        await conversation.crisis(tx, stored, ident, client, now)
        return
    name = await tx.value("SELECT name FROM aftercare_groups WHERE chat_id = ?"
                          " AND chat_status = 'linked'", (stored.message.address,))
    await alert_duty_and_supervisors(
        tx, now, "aftercare.crisis_in_group",
        {"group": name or "an unlinked group", "inbound": stored.id}, cause=f"inbound:{stored.id}")
    await audit(tx, now, "system", "crisis.group_chat", "inbound", stored.id)
