"""The bot side of mentoring: a mentor's commands and questions, and a member's MENTOR request.

Everything here runs inside the inbound transaction, after crisis screening (router). What a
mentor can get from the bot is limited by construction: the first names of the members of the
groups they mentor now, a register for the last meeting of those groups, and "passed on" for a
concern. Nothing here reads a case file, a check-in, a score, a stage or an escalation.

Callback data (Telegram buttons, 64 bytes at most): 'ag:<action>:<prompt id>[:<n>]', where n is
the number on the list that prompt showed: a = came/not came on a register, d = register done,
c = concern (0: no one), w = wellbeing answer, r = recovery date answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import conversation
from bot.aftercare import groups, meetings, mentors, prompts
from bot.aftercare.mentors import CONCERN_KIND, WELLBEING_KIND, Mentor
from bot.aftercare.milestones import answer
from bot.aftercare.rules import (
    MENTOR_ONLY,
    is_slash,
    keyword,
    load_config,
    next_monthly,
    next_weekly,
    numbered,
    parse_choice,
    parse_numbers,
)
from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, client_params, load_client, say
from bot.core.outbox import enqueue
from bot.core.texts import render
from bot.escalation.findings import raise_finding
from bot.inbound import StoredInbound
from flows.model import Flow
from flows.session import SessionState

Active = tuple[int, SessionState, Flow] | None
MAX_EXPLANATION = 500  # characters of a mentor's words kept as a concern's detail


# Inbound text from a client (a mentor is one too) -----------------------------------------------

async def client_text(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                      now: datetime, active: Active) -> bool:
    """True if the message was ours (a keyword, or the answer to a question we asked)."""
    body = stored.message.body
    word = keyword(body)
    if word == "mentor":
        await relay(tx, stored, ident, client, now)
        return True
    if word is not None:
        mentor = await mentors.active_by_client(tx, client.id)
        if mentor is not None:
            await command(tx, stored, now, mentor, word, ident, client)
            return True
        if (word in MENTOR_ONLY and is_slash(body)) or (
                word in MENTOR_ONLY | {"support"} and await mentors.was_mentor(tx, client.id)):
            await _reply(tx, stored, now, ident, client, "mentor.not_active")
            return True
    prompt = await prompts.latest_open(tx, client.id, now)
    if prompt is None:
        return False
    last = await prompts.last_flow_message(tx, client.id, active[0]) if active else None
    safety = conversation.safety_pending(active)
    # Words we asked for (a concern's explanation) are never a misfit of a flow whose question
    # came later (a reprompt): they answer the prompt unless they fit the flow's question.
    explained = prompt.step == "explain" and active is not None and not safety \
        and not conversation.fits_question(active, body)
    if not explained and not prompts.takes_reply(prompt, active is not None, last, safety):
        return False
    return await _answer(tx, stored, now, prompt, ident, client, flow_running=active is not None)


async def _reply(tx: Tx, stored: StoredInbound, now: datetime, ident: Identity,
                 client: ClientInfo | None, key: str, params: dict[str, Any] | None = None) -> None:
    await say(tx, now, ident, key, params, client=client, cause=f"inbound:{stored.id}", reply=True)


async def staff_message(tx: Tx, stored: StoredInbound, ident: Identity, now: datetime) -> str:
    """A staff identity whose role is mentor (mentors are reached on their client identity, so
    this is only defence in depth): never /open or ACK; mentor words if still a mentor."""
    mentor = await mentors.active(tx, ident.staff_id or 0)
    word = keyword(stored.message.body)
    client = await load_client(tx, mentor.client_id) if mentor else None
    if mentor is None:
        await _reply(tx, stored, now, ident, None, "mentor.not_active")
    elif word is None or word == "mentor":
        await _reply(tx, stored, now, ident, client, "mentor.help")
    else:
        await command(tx, stored, now, mentor, word, ident, client)
    return "processed"


async def command(tx: Tx, stored: StoredInbound, now: datetime, mentor: Mentor, word: str,
                  ident: Identity, client: ClientInfo | None) -> None:
    if word == "staff_only":
        await _reply(tx, stored, now, ident, client, "mentor.staff_only")
    elif word == "support":
        await _support(tx, now, mentor, "asked for support")
        await _reply(tx, stored, now, ident, client, "mentor.support_passed")
    elif word == "attendance":
        sent = 0
        for g in await groups.groups_of_mentor(tx, mentor.staff_id):
            meeting = await meetings.latest_meeting(tx, g["id"], now)
            if meeting and await send_register(tx, now, mentor, meeting["id"], reply=True):
                sent += 1
        if not sent:
            await _reply(tx, stored, now, ident, client, "mentor.no_meeting")
    elif word == "concern":
        if not await send_concern(tx, now, mentor, reply=True):
            await _reply(tx, stored, now, ident, client, "mentor.no_members")
    elif word == "members":
        await _members(tx, stored, now, mentor, ident, client)


async def _members(tx: Tx, stored: StoredInbound, now: datetime, mentor: Mentor, ident: Identity,
                   client: ClientInfo | None) -> None:
    """First names and the next meeting of each group they mentor: nothing else."""
    tz = tx.settings.timezone
    parts = []
    for g in await groups.groups_of_mentor(tx, mentor.staff_id):
        names = [r["first_name"] for r in await groups.roster(tx, [g["id"]])]
        nxt = await tx.value("SELECT starts_at FROM group_meetings WHERE group_id = ?"
                             " AND status = 'scheduled' AND starts_at > ? ORDER BY starts_at"
                             " LIMIT 1", (g["id"], iso(now)))
        parts.append(render("mentor.members_group", {
            "group": g["name"], "list": numbered(names) or "-",
            "when": meetings.meeting_day(nxt, tz, client.language if client else None)
            if nxt else "-"}, locale=client.language if client else None,
            discreet=bool(client and client.discreet)))
    if not parts:
        await _reply(tx, stored, now, ident, client, "mentor.no_members")
        return
    await enqueue(tx, now, ident, "\n\n".join(parts), message_key="mentor.members_group",
                  cause=f"inbound:{stored.id}", reply=True)


async def _support(tx: Tx, now: datetime, mentor: Mentor, what: str) -> None:
    """A mentor asking for support: their OWN officer hears (an AMBER on their client record)."""
    await raise_finding(tx, now, mentor.client_id, "AMBER", "mentor_support", source="mentor",
                        detail=f"mentor:{mentor.staff_id}: {what}")
    await audit(tx, now, mentor.actor, "mentor.support_requested", "client", mentor.client_id)


def _concern_detail(mentor: Mentor, via: str) -> str:
    return f"mentor:{mentor.staff_id}: raised in the bot ({via})"


async def _concern(tx: Tx, now: datetime, mentor: Mentor, member_id: int, via: str) -> None:
    """AMBER 'mentor_concern' to the member's officer through the escalation loop. The mentor is
    told only that it was passed on; the member is not told (config/escalation.toml)."""
    await raise_finding(tx, now, member_id, "AMBER", "mentor_concern", source="mentor_concern",
                        detail=_concern_detail(mentor, via))
    await audit(tx, now, mentor.actor, "mentor.concern_raised", "client", member_id, via=via)


# Questions to a mentor ---------------------------------------------------------------------

async def _names(tx: Tx, ids: tuple[int, ...]) -> list[str]:
    found = {r[0]: r[1] for r in await tx.all(
        f"SELECT id, first_name FROM clients WHERE id IN ({', '.join('?' for _ in ids)})", ids)
    } if ids else {}
    return [found.get(i, "?") for i in ids]


def _register_buttons(prompt_id: int, names: list[str], came: list[bool]) -> dict[str, Any]:
    rows = [[{"text": ("\u2713 " if c else "") + name, "callback_data": f"ag:a:{prompt_id}:{n}"}]
            for n, (name, c) in enumerate(zip(names, came, strict=True), start=1)]
    rows.append([{"text": render("mentor.button_done"), "callback_data": f"ag:d:{prompt_id}"}])
    return {"inline_keyboard": rows}


def _choice_buttons(action: str, prompt_id: int, labels: list[str], zero: str | None = None
                    ) -> dict[str, Any]:
    rows = [[{"text": label, "callback_data": f"ag:{action}:{prompt_id}:{n}"}]
            for n, label in enumerate(labels, start=1)]
    if zero is not None:
        rows.append([{"text": zero, "callback_data": f"ag:{action}:{prompt_id}:0"}])
    return {"inline_keyboard": rows}


async def send_register(tx: Tx, now: datetime, mentor: Mentor, meeting_id: int, *,
                        reply: bool = False) -> int | None:
    """Who came? The members on the meeting's register, numbered (Telegram: buttons)."""
    found = await mentors.reach(tx, mentor)
    m = await tx.one("SELECT m.group_id, m.starts_at, a.name FROM group_meetings m JOIN"
                     " aftercare_groups a ON a.id = m.group_id WHERE m.id = ?", (meeting_id,))
    if found is None or m is None:
        return None
    client, ident = found
    members = await groups.roster(tx, [m["group_id"]], before=m["starts_at"])
    if not members:
        return None
    ids = tuple(r["client_id"] for r in members)
    names = [r["first_name"] for r in members]
    came = await meetings.marked(tx, meeting_id)
    params = {"group": m["name"], "day": meetings.meeting_day(m["starts_at"], tx.settings.timezone,
                                                               client.language),
              "list": numbered(names)}
    key = "mentor.register_tg" if ident.channel == "telegram" else "mentor.register"
    return await prompts.ask(
        tx, now, ident, client, "register", key, params,
        expires_at=now + load_config().prompt_ttl, staff_id=mentor.staff_id,
        group_id=m["group_id"], meeting_id=meeting_id, roster=ids, reply=reply,
        buttons=lambda pid: _register_buttons(pid, names, [i in came for i in ids]))


async def send_concern(tx: Tx, now: datetime, mentor: Mentor, *, reply: bool = False
                       ) -> int | None:
    found = await mentors.reach(tx, mentor)
    group_ids = [g["id"] for g in await groups.groups_of_mentor(tx, mentor.staff_id)]
    members = await groups.roster(tx, group_ids)
    if found is None or not members:
        return None
    client, ident = found
    ids = tuple(dict.fromkeys(r["client_id"] for r in members))
    names = await _names(tx, ids)
    key = "mentor.concern_tg" if ident.channel == "telegram" else "mentor.concern"
    return await prompts.ask(
        tx, now, ident, client, "concern", key, {"list": numbered(names)},
        expires_at=now + load_config().prompt_ttl, staff_id=mentor.staff_id, roster=ids,
        reply=reply, buttons=lambda pid: _choice_buttons(
            "c", pid, names, zero=render("mentor.button_no_one", locale=client.language)))


async def send_wellbeing(tx: Tx, now: datetime, mentor: Mentor) -> int | None:
    found = await mentors.reach(tx, mentor)
    if found is None:
        return None
    client, ident = found
    labels = [render(f"mentor.button_wellbeing_{n}", locale=client.language) for n in (1, 2, 3)]
    return await prompts.ask(
        tx, now, ident, client, "wellbeing", "mentor.wellbeing", {},
        expires_at=now + load_config().prompt_ttl, staff_id=mentor.staff_id,
        buttons=lambda pid: _choice_buttons("w", pid, labels))


@timers.handles(CONCERN_KIND)
async def _weekly_concern(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    mentor = await mentors.active(tx, int(timer.payload["staff"]))
    if mentor is None:
        return "dropped: not a mentor any more"
    cfg = load_config()
    nxt = next_weekly(now, cfg.concern_day, cfg.concern_at, tx.settings.timezone)
    await timers.schedule(tx, now, f"{CONCERN_KIND}:{mentor.staff_id}:{iso(nxt)[:10]}",
                          CONCERN_KIND, nxt, payload=timer.payload, replace=False)
    return "asked" if await send_concern(tx, now, mentor) else "skipped: no members"


@timers.handles(WELLBEING_KIND)
async def _monthly_wellbeing(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    mentor = await mentors.active(tx, int(timer.payload["staff"]))
    if mentor is None:
        return "dropped: not a mentor any more"
    cfg = load_config()
    nxt = next_monthly(now, cfg.wellbeing_day, cfg.wellbeing_at, tx.settings.timezone)
    await timers.schedule(tx, now, f"{WELLBEING_KIND}:{mentor.staff_id}:{iso(nxt)[:10]}",
                          WELLBEING_KIND, nxt, payload=timer.payload, replace=False)
    return "asked" if await send_wellbeing(tx, now, mentor) else "skipped: unreachable"


# Answers: typed, or a button ------------------------------------------------------------------

async def _prompt_mentor(tx: Tx, prompt: prompts.Prompt) -> Mentor | None:
    return await mentors.active(tx, prompt.staff_id) if prompt.staff_id else None


async def _answer(tx: Tx, stored: StoredInbound, now: datetime, prompt: prompts.Prompt,
                  ident: Identity, client: ClientInfo, *, flow_running: bool) -> bool:
    """A typed reply to the latest question. Not understood: the flow gets it if one is
    running, otherwise we ask again."""
    body = stored.message.body
    if prompt.kind == "recovery":
        choice = parse_choice(body, 3)
        if choice is None:
            return False if flow_running else await _again(tx, stored, now, ident, client,
                                                           "milestone.ask_again")
        await answer(tx, now, prompt, choice, ident, client, reply=True)
        return True
    mentor = await _prompt_mentor(tx, prompt)
    if mentor is None or mentor.client_id != client.id:
        await prompts.close(tx, now, prompt.id)
        return False
    if prompt.kind == "concern" and prompt.step == "explain":
        await _explained(tx, stored, now, prompt, mentor, ident, client)
        return True
    if prompt.kind == "wellbeing":
        choice = parse_choice(body, 3)
        if choice is None:
            return False if flow_running else await _again(tx, stored, now, ident, client,
                                                           "mentor.wellbeing_again")
        await _wellbeing(tx, now, prompt, mentor, choice, ident, client)
        return True
    picked = parse_numbers(body, len(prompt.roster))
    if picked is None:
        key = "mentor.register_again" if prompt.kind == "register" else "mentor.concern_again"
        return False if flow_running else await _again(tx, stored, now, ident, client, key)
    chosen = {prompt.roster[n - 1] for n in picked}
    if prompt.kind == "register":
        await _close_register(tx, now, prompt, mentor, chosen, ident, client, via="sms")
    else:
        await _concerns(tx, now, prompt, mentor, chosen, ident, client, via="reply")
    return True


async def _again(tx: Tx, stored: StoredInbound, now: datetime, ident: Identity,
                 client: ClientInfo, key: str) -> bool:
    await _reply(tx, stored, now, ident, client, key)
    return True


async def _close_register(tx: Tx, now: datetime, prompt: prompts.Prompt, mentor: Mentor,
                          came: set[int], ident: Identity, client: ClientInfo, via: str) -> None:
    assert prompt.meeting_id is not None
    n_came, n_missed = await meetings.close_register(tx, now, prompt.meeting_id, prompt.roster,
                                                     came, mentor.actor)
    await prompts.close(tx, now, prompt.id)
    params = {"came": n_came, "missed": n_missed}
    if via == "button" and prompt.outbox_id:
        await _edit(tx, now, ident, prompt, _text("mentor.register_saved", client, params))
    else:
        await say(tx, now, ident, "mentor.register_saved", params, client=client, reply=True,
                  cause=f"prompt:{prompt.id}")
    await prompts.pass_turn(tx, now, prompt)


async def _concerns(tx: Tx, now: datetime, prompt: prompts.Prompt, mentor: Mentor,
                    chosen: set[int], ident: Identity, client: ClientInfo, via: str) -> None:
    for member_id in sorted(chosen):
        await _concern(tx, now, mentor, member_id, via)
    await prompts.close(tx, now, prompt.id)
    key = "mentor.concern_passed" if chosen else "mentor.concern_none"
    if via == "button" and prompt.outbox_id:
        await _edit(tx, now, ident, prompt, _text(key, client))
    else:
        await say(tx, now, ident, key, client=client, reply=True, cause=f"prompt:{prompt.id}")
    if not chosen:
        await prompts.pass_turn(tx, now, prompt)
        return
    # The mentor's own words are what the officer needs: asked at once, as the next question
    # (their answer is never a misfit of a flow, and never "Sorry, I didn't get that").
    names = await _names(tx, tuple(sorted(chosen)))
    await prompts.ask(tx, now, ident, client, "concern", "mentor.concern_explain",
                      {"member": ", ".join(names)}, expires_at=now + load_config().prompt_ttl,
                      staff_id=mentor.staff_id, roster=tuple(sorted(chosen)), reply=True,
                      step="explain")


async def _explained(tx: Tx, stored: StoredInbound, now: datetime, prompt: prompts.Prompt,
                     mentor: Mentor, ident: Identity, client: ClientInfo) -> None:
    """The mentor's words about the members they chose: they become the concern's detail (the
    finding raised when they chose, so the officer reads one concern with its explanation)."""
    words = " ".join(stored.message.body.split())[:MAX_EXPLANATION]
    if words not in ("", "0"):
        for member_id in prompt.roster:
            await tx.execute(
                "UPDATE findings SET detail = ? WHERE id = (SELECT id FROM findings"
                " WHERE client_id = ? AND reason = 'mentor_concern' AND source = 'mentor_concern'"
                " AND detail LIKE ? ORDER BY id DESC LIMIT 1)",
                (f"mentor:{mentor.staff_id}: {words}", member_id,
                 f"mentor:{mentor.staff_id}: raised in the bot (%"))
            await audit(tx, now, mentor.actor, "mentor.concern_words_added", "client", member_id,
                        inbound_id=stored.id)
    await prompts.close(tx, now, prompt.id)
    await say(tx, now, ident, "mentor.concern_explain_skipped" if words in ("", "0")
              else "mentor.concern_explained", client=client, reply=True,
              cause=f"prompt:{prompt.id}")
    await prompts.pass_turn(tx, now, prompt)


async def _wellbeing(tx: Tx, now: datetime, prompt: prompts.Prompt, mentor: Mentor, choice: int,
                     ident: Identity, client: ClientInfo, via: str = "reply") -> None:
    if choice == 3:
        await _support(tx, now, mentor, "monthly check: I need support")
    await prompts.close(tx, now, prompt.id)
    key = {1: "mentor.wellbeing_thanks", 2: "mentor.wellbeing_offer",
           3: "mentor.support_passed"}[choice]
    if via == "button" and prompt.outbox_id:
        await _edit(tx, now, ident, prompt, _text(key, client))
    else:
        await say(tx, now, ident, key, client=client, reply=True, cause=f"prompt:{prompt.id}")
    await prompts.pass_turn(tx, now, prompt)


def _text(key: str, client: ClientInfo, params: dict[str, Any] | None = None) -> str:
    """A text as `say` would render it for this person (their language and wording)."""
    return render(key, client_params(client, params), locale=client.language,
                  discreet=client.discreet)


async def _edit(tx: Tx, now: datetime, ident: Identity, prompt: prompts.Prompt, text: str,
                markup: dict[str, Any] | None = None) -> None:
    """Replace the question's text (and its buttons: none unless given)."""
    await enqueue(tx, now, ident, text, op="edit", edit_of=prompt.outbox_id, reply_markup=markup,
                  message_key="mentor.edit", cause=f"prompt:{prompt.id}", reply=True)


async def button(tx: Tx, stored: StoredInbound, now: datetime) -> str:
    """A button under one of our questions, pressed in a private chat."""
    ident = stored.identity
    parts = stored.message.body.split(":")
    callback_id = stored.message.payload.get("callback_id")
    chat = ident or Identity(None, stored.message.channel, stored.message.address, None, None,
                             False)
    outcome, toast = await _press(tx, now, ident, parts)
    if outcome == "refused":
        await audit(tx, now, ident.actor if ident else "unknown", "aftercare.button_refused",
                    "inbound", stored.id, data=stored.message.body[:64])
    if callback_id:
        await enqueue(tx, now, chat, toast, op="answer_callback", ref=str(callback_id),
                      reply=True)
    # A refusal is audited and answered above; to the inbound log the press was ignored.
    return "ignored" if outcome == "refused" else outcome


async def _press(tx: Tx, now: datetime, ident: Identity | None,
                 parts: list[str]) -> tuple[str, str]:
    refused = ("refused", render("mentor.button_refused"))
    if ident is None or ident.client_id is None or len(parts) not in (3, 4) \
            or not all(p.isascii() and p.isdigit() and len(p) <= 12 for p in parts[2:]):
        return refused
    action, prompt = parts[1], await prompts.get(tx, int(parts[2]))
    n = int(parts[3]) if len(parts) == 4 else None
    if prompt is None or prompt.client_id != ident.client_id or not prompt.open_at(now):
        return refused if prompt is None or prompt.client_id != ident.client_id \
            else ("processed", render("mentor.button_closed"))
    client = await load_client(tx, prompt.client_id)
    assert client is not None
    if action == "r" and prompt.kind == "recovery" and n in (1, 2, 3):
        await answer(tx, now, prompt, n, ident, client, reply=True, edit=True)
        return "processed", render("mentor.button_thanks", locale=client.language)
    mentor = await _prompt_mentor(tx, prompt)
    if mentor is None or mentor.client_id != ident.client_id:
        return refused
    size = len(prompt.roster)
    if action == "a" and prompt.kind == "register" and n is not None and 1 <= n <= size:
        return await _toggle(tx, now, prompt, mentor, n, ident, client)
    if action == "d" and prompt.kind == "register" and n is None:
        assert prompt.meeting_id is not None
        came = await meetings.marked(tx, prompt.meeting_id) & set(prompt.roster)
        await _close_register(tx, now, prompt, mentor, came, ident, client, via="button")
        return "processed", render("mentor.button_thanks", locale=client.language)
    if action == "c" and prompt.kind == "concern" and n is not None and 0 <= n <= size:
        chosen = {prompt.roster[n - 1]} if n else set()
        await _concerns(tx, now, prompt, mentor, chosen, ident, client, via="button")
        return "processed", render("mentor.button_thanks", locale=client.language)
    if action == "w" and prompt.kind == "wellbeing" and n in (1, 2, 3):
        await _wellbeing(tx, now, prompt, mentor, n, ident, client, via="button")
        return "processed", render("mentor.button_thanks", locale=client.language)
    return refused


async def _toggle(tx: Tx, now: datetime, prompt: prompts.Prompt, mentor: Mentor, n: int,
                  ident: Identity, client: ClientInfo) -> tuple[str, str]:
    assert prompt.meeting_id is not None
    member = prompt.roster[n - 1]
    came_now = await meetings.toggle(tx, now, prompt.meeting_id, member, mentor.actor)
    came = await meetings.marked(tx, prompt.meeting_id)
    names = await _names(tx, prompt.roster)
    m = await tx.one("SELECT m.starts_at, a.name FROM group_meetings m JOIN aftercare_groups a"
                     " ON a.id = m.group_id WHERE m.id = ?", (prompt.meeting_id,))
    text = _text("mentor.register_tg", client, {
        "group": m["name"], "day": meetings.meeting_day(m["starts_at"], tx.settings.timezone,
                                                        client.language)})
    await _edit(tx, now, ident, prompt, text, _register_buttons(
        prompt.id, names, [i in came for i in prompt.roster]))
    key = "mentor.button_came" if came_now else "mentor.button_unmarked"
    return "processed", render(key, {"member": names[n - 1]}, locale=client.language)


# A member asking for their mentor --------------------------------------------------------------

async def relay(tx: Tx, stored: StoredInbound, ident: Identity, client: ClientInfo,
                now: datetime) -> None:
    """MENTOR: each mentor of the member's group hears that this member (first name only) would
    like a word. No phone number or chat id goes either way; once a day at most."""
    group = await groups.member_group(tx, client.id)
    told = 0
    day = iso(now)[:10]
    for staff_id in await groups.mentors_of_group(tx, group["id"]) if group else []:
        mentor = await mentors.active(tx, staff_id)
        found = await mentors.reach(tx, mentor) if mentor else None
        if mentor is None or found is None or mentor.client_id == client.id:
            continue
        await say(tx, now, found[1], "mentor.relay", {"member": client.first_name,
                                                     "group": group["name"]},
                  client=found[0], dedupe_key=f"relay:{client.id}:{staff_id}:{day}",
                  cause=f"inbound:{stored.id}", purpose="group")
        told += 1
    await audit(tx, now, f"client:{client.id}", "mentor.relay_requested", "client", client.id,
                told=told)
    await _reply(tx, stored, now, ident, client,
                 "mentor.relay_sent" if told else "mentor.relay_none")


# The register a mentor is asked to take after each meeting -----------------------------

@timers.handles(meetings.REGISTER_KIND)
async def _register(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    m = await tx.one("SELECT group_id, status, register_closed_at FROM group_meetings"
                     " WHERE id = ?", (timer.payload["meeting"],))
    if m is None or m["status"] != "scheduled":
        return "dropped: meeting cancelled"
    if m["register_closed_at"]:
        return "skipped: register already taken"
    sent = 0
    for staff_id in await groups.mentors_of_group(tx, m["group_id"]):
        mentor = await mentors.active(tx, staff_id)
        if mentor and await send_register(tx, now, mentor, int(timer.payload["meeting"])):
            sent += 1
    return f"register sent to {sent} mentor(s)"
