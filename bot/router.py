"""The inbound router: who wrote, then global intents (crisis first), then the flow engine.

Runs inside the transaction that stored the message, so whatever it decides (replies, answers,
findings, opt-outs) commits with the message or not at all.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot import conversation, language_keyword
from bot.aftercare import group_chat, mentor_chat
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.identities import Identity, clear_opt_out, redeem_link_code, set_opt_out
from bot.core.messaging import ClientInfo, load_client, say
from bot.core.outbox import PRIORITY_SAFETY
from bot.core.texts import format_when
from bot.escalation import alerts as escalation
from bot.escalation import inbox
from bot.inbound import StoredInbound
from flows.intents import Intent, detect
from flows.keywords import EARLIEST, LATEST, MAX_PAUSE_DAYS, Keyword, KeywordKind, parse_keyword

START_CODE = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9]{4,16})\s*$")


async def route(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    msg = stored.message
    if not msg.private:
        return await _group_message(tx, stored, now)
    if msg.kind == "callback":
        return await _callback(tx, stored, now)
    if msg.kind not in ("text", "media"):
        return "ignored"
    ident = stored.identity
    edited = bool(msg.payload.get("edited"))
    code = START_CODE.match(msg.body.strip()) \
        if msg.channel == "telegram" and not edited else None
    if code:
        return await _link(tx, stored, now, code.group(1))
    if ident is None:
        return await _unmatched(tx, stored, now)
    if ident.staff_id is not None:
        return "ignored" if msg.kind == "media" or edited else \
            await _staff_message(tx, stored, ident, now)
    client = await load_client(tx, ident.client_id or 0)
    if client is None:
        return await _unmatched(tx, stored, now)
    if msg.kind == "media" or edited:
        # A photo or voice note without words, or a changed message: a person sees it; an
        # edit is screened again for crisis and risk words but never taken as a new answer.
        await conversation.not_a_reply(tx, stored, ident, client, now)
        return "processed"
    status = await client_text(tx, stored, ident, client, now)
    if msg.payload.get("media"):
        await conversation.file_media(tx, stored, client, now)
    return status


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
                      priority=PRIORITY_SAFETY, cause=f"inbound:{stored.id}", reply=True,
                      purpose="keyword")
    elif intent is Intent.OPT_IN:
        if await clear_opt_out(tx, now, ident):
            await say(tx, now, ident, "optin.confirm", client=client, safety=True,
                      cause=f"inbound:{stored.id}", reply=True, purpose="keyword")
    elif intent is Intent.HELP:
        await say(tx, now, ident, "help.reply", conversation.crisis_params(), client=client,
                  safety=True, cause=f"inbound:{stored.id}", reply=True, purpose="keyword")
    elif intent is Intent.CALLBACK:
        await conversation.callback_request(tx, stored, ident, client, now)
    elif (keyword := parse_keyword(stored.message.body)) is not None:
        await _self_service(tx, stored, ident, client, now, keyword)
    elif await language_keyword.handle(tx, stored, ident, client, now):
        pass  # LANGUAGE (and its local words): the menu, or the language changed
    # MENTOR, a mentor's words, or the answer to an aftercare question (the latest question
    # asked wins) are taken here; anything else goes to the flow.
    elif not await mentor_chat.client_text(tx, stored, ident, client, now, active):
        await conversation.client_reply(tx, stored, ident, client, now, active)
    return "processed"


async def _self_service(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                        now: datetime, keyword: Keyword) -> None:
    """TIME, PAUSE, PLAIN / DISCREET, RESCHEDULE (flows/keywords.py): the client's own changes,
    each confirmed in the wording they will get from now on and audited."""
    from reminders.planner import replan_client

    kind, cause = keyword.kind, f"inbound:{stored.id}"
    params: dict[str, object] = {}
    if kind is KeywordKind.TIME:
        if keyword.time is None:
            key = "keyword.time_bad"
            params = {"earliest": f"{EARLIEST:%H:%M}", "latest": f"{LATEST:%H:%M}"}
        else:
            key, params["time"] = "keyword.time_set", f"{keyword.time:%H:%M}"
            await tx.execute("UPDATE clients SET checkin_time = ? WHERE id = ?",
                             (params["time"], client.id))
            await replan_client(tx, now, client.id, "check-in time changed")
    elif kind is KeywordKind.PAUSE:
        if keyword.days is None:
            key, params = "keyword.pause_bad", {"max": MAX_PAUSE_DAYS}
        else:
            today = now.astimezone(ZoneInfo(tx.settings.timezone)).date()
            until = today + timedelta(days=keyword.days - 1)
            await tx.execute("UPDATE clients SET paused_until = ? WHERE id = ?",
                             (until.isoformat(), client.id))
            await replan_client(tx, now, client.id, "paused by the client")
            # The 28-day watch keeps its daily safety question (the planner sends it anyway).
            key = "keyword.pause_watch" if client.heightened(now) else "keyword.pause"
            params["day"] = format_date(until + timedelta(days=1), "EEEE d MMMM",
                                        locale=client.language or "en_GB")
    elif kind in (KeywordKind.PLAIN, KeywordKind.DISCREET):
        discreet = kind is KeywordKind.DISCREET
        await tx.execute("UPDATE clients SET discreet = ? WHERE id = ?",
                         (int(discreet), client.id))
        client = replace(client, discreet=discreet)
        key = f"keyword.{kind.value}"
    else:
        key = await _reschedule(tx, stored, client, now, params)
    await audit(tx, now, f"client:{client.id}", f"client.keyword.{kind.value}", "client",
                client.id, **{k: str(v) for k, v in params.items()
                              if k in ("time", "day")})
    await say(tx, now, ident, key, params, client=client, cause=cause, reply=True,
              purpose="keyword")


async def _reschedule(tx: Tx, stored: StoredInbound, client: ClientInfo, now: datetime,
                      params: dict[str, object]) -> str:
    """The officer is told (a notice with a link to the move form); the client hears who."""
    row = await tx.one("SELECT id, at FROM appointments WHERE client_id = ?"
                       " AND status = 'scheduled' AND at > ? ORDER BY at LIMIT 1",
                       (client.id, iso(now)))
    appointment = None
    if row is not None:
        at = parse_iso(row["at"])
        when = format_when(at, tx.settings.timezone, client.language)
        day = at.astimezone(ZoneInfo(tx.settings.timezone)).date().isoformat()
        appointment, params["when"] = (row["id"], day, when), when
    filed = await inbox.file(tx, now, stored.id, client.id, "reschedule", appointment)
    params["reader"] = filed.reader_first_name
    return "keyword.reschedule" if row is not None else "keyword.reschedule_none"


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
        await _crisis_unmatched(tx, stored, now)
    await _neutral_once(tx, stored, now, "unknown.neutral")
    return "unmatched"


async def _neutral_once(tx: Tx, stored: StoredInbound, now: datetime, key: str) -> None:
    from bot.core.identities import Identity

    msg = stored.message
    nobody = Identity(None, msg.channel, msg.address, None, None, False)
    day = iso(now)[:10]
    await say(tx, now, nobody, key, dedupe_key=f"neutral:{msg.channel}:{msg.address}:{day}",
              cause=f"inbound:{stored.id}", reply=True)


# Staff, buttons and group chats ----------------------------------------------------------

async def _staff_message(tx: Tx, stored: StoredInbound, ident: Identity, now: datetime) -> str:
    role = await tx.value("SELECT role FROM staff WHERE id = ?", (ident.staff_id,))
    if role == "mentor":
        # Mentors never reach /open or ACK: only their own mentor commands.
        return await mentor_chat.staff_message(tx, stored, ident, now)
    text = stored.message.body.strip()
    words = text.split()
    if text.lower().startswith("/open"):
        await escalation.list_open_to(tx, now, ident)
        return "processed"
    raw_id = words[1].lstrip("#") if len(words) == 2 else ""
    if words and words[0].lower() == "ack" and raw_id.isascii() and raw_id.isdigit() \
            and len(raw_id) <= 12:
        esc_id = int(words[1].lstrip("#"))
        try:
            done = await escalation.acknowledge(tx, now, esc_id, ident.staff_id or 0, "sms")
            await say(tx, now, ident, "escalation.sms_acked" if done
                      else "escalation.button_already", {"id": esc_id})
        except escalation.EscalationError:
            await say(tx, now, ident, "escalation.sms_refused", {"id": esc_id})
        return "processed"
    await say(tx, now, ident, "help.staff")
    return "processed"


async def _callback(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """An inline button pressed in a private chat (escalation buttons; aftercare ones are
    'ag:...', see bot/mentor_chat.py)."""
    if stored.message.body.startswith("ag:"):
        return await mentor_chat.button(tx, stored, now)
    ident = stored.identity
    staff_id = ident.staff_id if ident else None
    payload = stored.message.payload
    chat = ident or Identity(None, stored.message.channel, stored.message.address, None, None,
                             False)
    return await escalation.button(tx, now, staff_id, stored.message.body,
                                   payload.get("callback_id"), chat)


async def _group_message(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """Messages in group chats are never a client's answers; aftercare groups use them."""
    return await group_chat.group_message(tx, stored, now)


async def _crisis_unmatched(tx: Tx, stored: StoredInbound, now: datetime) -> None:
    """Crisis words from a number we do not know (often a client's new phone): the crisis
    contacts to them, and a RED escalation to the duty officer and supervisors to check who it
    is."""
    msg = stored.message
    nobody = Identity(None, msg.channel, msg.address, None, None, False)
    await say(tx, now, nobody, "crisis.reply", conversation.crisis_params(), safety=True,
              priority=PRIORITY_SAFETY, cause=f"inbound:{stored.id}")
    # A RED escalation without a client: deadline, chain, acknowledged like any other.
    await escalation.open_unmatched(tx, now, stored.id)
    await audit(tx, now, "system", "crisis.unmatched", "inbound", stored.id)
