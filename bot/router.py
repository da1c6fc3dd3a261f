"""The inbound router: who wrote, then global intents (crisis first), then the flow engine.

Runs inside the transaction that stored the message, so whatever it decides (replies, answers,
findings, opt-outs) commits with the message or not at all.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot import conversation
from bot.aftercare import mentor_chat
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import Identity, clear_opt_out, redeem_link_code, set_opt_out
from bot.core.messaging import ClientInfo, load_client, say
from bot.core.outbox import PRIORITY_SAFETY
from bot.inbound import StoredInbound
from flows.intents import Intent, detect

START_CODE = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9]{4,16})\s*$")


async def route(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    msg = stored.message
    if not msg.private:
        return await conversation.group_message(tx, stored, now)
    if msg.kind == "callback":
        return await conversation.callback(tx, stored, now)
    if msg.kind != "text":
        return "ignored"
    ident = stored.identity
    code = START_CODE.match(msg.body.strip()) if msg.channel == "telegram" else None
    if code:
        return await _link(tx, stored, now, code.group(1))
    if ident is None:
        return await _unmatched(tx, stored, now)
    if ident.staff_id is not None:
        return await conversation.staff_message(tx, stored, ident, now)
    client = await load_client(tx, ident.client_id or 0)
    if client is None:
        return await _unmatched(tx, stored, now)
    return await client_text(tx, stored, ident, client, now)


async def client_text(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                      now: datetime) -> str:
    active = await conversation.active_session(tx, client.id)
    intent = detect(stored.message.body, safety_question_pending=conversation.safety_pending(active))
    if intent is Intent.CRISIS:
        # Before anything else, opted out or not: the crisis text, the flow stops, RED is raised.
        await conversation.crisis(tx, stored, ident, client, now)
    elif intent is Intent.OPT_OUT:
        if await set_opt_out(tx, now, ident, "keyword"):
            await say(tx, now, ident, "optout.confirm", client=client, safety=True,
                      priority=PRIORITY_SAFETY, cause=f"inbound:{stored.id}", reply=True)
    elif intent is Intent.OPT_IN:
        if await clear_opt_out(tx, now, ident):
            await say(tx, now, ident, "optin.confirm", client=client, safety=True,
                      cause=f"inbound:{stored.id}", reply=True)
    elif intent is Intent.HELP:
        await say(tx, now, ident, "help.reply", conversation.crisis_params(), client=client,
                  safety=True, cause=f"inbound:{stored.id}", reply=True)
    elif intent is Intent.CALLBACK:
        await conversation.callback_request(tx, stored, ident, client, now)
    # MENTOR, a mentor's words, or the answer to an aftercare question (the latest question
    # asked wins) are taken here; anything else goes to the flow.
    elif not await mentor_chat.client_text(tx, stored, ident, client, now, active):
        await conversation.client_reply(tx, stored, ident, client, now, active)
    return "processed"


async def _link(tx: Tx, stored: StoredInbound, now: datetime, code: str) -> str:
    msg = stored.message
    linked = await redeem_link_code(tx, now, code, msg.channel, msg.address)
    if linked is None:
        ident = stored.identity
        if ident is None:
            await _neutral_once(tx, stored, now, "link.bad_code")
        else:
            await say(tx, now, ident, "link.bad_code", cause=f"inbound:{stored.id}", reply=True)
        return "processed" if ident else "unmatched"
    from bot.core.identities import find_identity

    ident = await find_identity(tx, msg.channel, msg.address)
    assert ident is not None
    await tx.execute("UPDATE inbound SET identity_id = ?, client_id = ?, staff_id = ? WHERE id = ?",
                     (ident.id, ident.client_id, ident.staff_id, stored.id))
    if ident.client_id is not None:
        client = await load_client(tx, ident.client_id)
        await say(tx, now, ident, "link.ok", client=client, cause=f"inbound:{stored.id}", reply=True)
        await conversation.after_linked(tx, now, ident.client_id)
    else:
        name = await tx.value("SELECT name FROM staff WHERE id = ?", (ident.staff_id,))
        await say(tx, now, ident, "link.ok_staff", {"name": str(name).split()[0]},
                  cause=f"inbound:{stored.id}", reply=True)
    return "processed"


async def _unmatched(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """Kept for staff to link later (numbers change often); one neutral reply a day at most.

    Crisis words from an unknown number still get the crisis contacts: they name no programme.
    """
    if detect(stored.message.body) is Intent.CRISIS:
        await conversation.crisis_unmatched(tx, stored, now)
    await _neutral_once(tx, stored, now, "unknown.neutral")
    return "unmatched"


async def _neutral_once(tx: Tx, stored: StoredInbound, now: datetime, key: str) -> None:
    from bot.core.identities import Identity

    msg = stored.message
    nobody = Identity(None, msg.channel, msg.address, None, None, False)
    day = iso(now)[:10]
    await say(tx, now, nobody, key, dedupe_key=f"neutral:{msg.channel}:{msg.address}:{day}",
              cause=f"inbound:{stored.id}", reply=True)
