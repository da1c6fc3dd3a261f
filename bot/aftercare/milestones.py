"""Milestones: days in recovery, counted from a date the client confirmed, in local dates.

An officer (or mentor, through their officer) records the date the client gave
(`o2r milestones propose`); the client is asked to confirm it and choose: messages on the
milestone days, the same plus a congratulation in their group chat, or nothing. Only a confirmed
date with that opt-in plans anything. Each milestone is a timer row for 10:00 (configurable) local
time on its day; one that could only go out on a later day (quiet hours, downtime) is dropped
rather than arriving on the wrong day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date

from bot.aftercare import prompts
from bot.aftercare.groups import member_group, post_to_group
from bot.aftercare.rules import load_config, local_today, milestone_due, upcoming_milestones
from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, client_identity, client_params, load_client, say
from bot.core.outbox import enqueue
from bot.core.people import InputError
from bot.core.quiet import allowed_from
from bot.core.texts import render
from reminders import due

KIND = "milestone"
CHOICES = {1: ("confirmed", 0), 2: ("confirmed", 1), 3: ("declined", 0)}


def _key(client_id: int, since: str, days: int | None = None) -> str:
    return f"{KIND}:{client_id}:" + (f"{since}:{days}" if days is not None else "")


def _buttons(prompt_id: int, client: ClientInfo) -> dict[str, Any]:
    return {"inline_keyboard": [
        [{"text": render(f"milestone.button_{n}", locale=client.language),
          "callback_data": f"ag:r:{prompt_id}:{n}"}] for n in (1, 2, 3)]}


async def propose(tx: Tx, now: datetime, client_id: int, since: date, actor: str = "cli") -> int:
    """Record the date the client gave and ask them to confirm it. Returns the prompt id."""
    client = await load_client(tx, client_id)
    if client is None:
        raise InputError(f"client: no client {client_id}")
    if not client.consented:
        raise InputError(f"client: {client.ref} has no recorded consent to messages")
    if since > local_today(now, tx.settings.timezone):
        raise InputError(f"since: {since.isoformat()} is in the future")
    ident = await client_identity(tx, client)
    if ident is None:
        raise InputError(f"client: {client.ref} has no phone or Telegram linked")
    await timers.cancel(tx, now, _key(client_id, ""), "recovery date changed")
    await tx.execute(
        "INSERT INTO recovery_dates (client_id, since, status, proposed_by, proposed_at)"
        " VALUES (?, ?, 'proposed', ?, ?) ON CONFLICT (client_id) DO UPDATE SET"
        " since = excluded.since, status = 'proposed', share_in_group = 0,"
        " proposed_by = excluded.proposed_by, proposed_at = excluded.proposed_at,"
        " answered_at = NULL", (client_id, since.isoformat(), actor, iso(now)))
    await audit(tx, now, actor, "milestones.proposed", "client", client_id, since=since.isoformat())
    text_date = format_date(since, "d MMMM y", locale=client.language)
    return await prompts.ask(tx, now, ident, client, "recovery", "milestone.ask",
                             {"since": text_date}, expires_at=now + 3 * load_config().prompt_ttl,
                             buttons=lambda pid: _buttons(pid, client))


async def answer(tx: Tx, now: datetime, prompt: prompts.Prompt, choice: int, ident: Identity,
                 client: ClientInfo, *, reply: bool, edit: bool = False) -> None:
    status, share = CHOICES[choice]
    await tx.execute("UPDATE recovery_dates SET status = ?, share_in_group = ?, answered_at = ?"
                     " WHERE client_id = ?", (status, share, iso(now), client.id))
    await prompts.close(tx, now, prompt.id)
    await audit(tx, now, f"client:{client.id}", "milestones.answered", "client", client.id,
                status=status, share_in_group=bool(share))
    if status == "confirmed":
        await plan(tx, now, client.id)
    key = "milestone.declined" if status == "declined" else (
        "milestone.confirmed_shared" if share else "milestone.confirmed")
    if edit and prompt.outbox_id:
        text = render(key, client_params(client), locale=client.language,
                      discreet=client.discreet)
        await enqueue(tx, now, ident, text, op="edit", edit_of=prompt.outbox_id,
                      message_key=key, cause=f"prompt:{prompt.id}", reply=True)
    else:
        await say(tx, now, ident, key, client=client, reply=reply, cause=f"prompt:{prompt.id}")
    await prompts.pass_turn(tx, now, prompt)


async def plan(tx: Tx, now: datetime, client_id: int) -> int:
    """Timer rows for the milestones still ahead (today's included), in local dates."""
    row = await tx.one("SELECT since FROM recovery_dates WHERE client_id = ?"
                       " AND status = 'confirmed'", (client_id,))
    if row is None:
        return 0
    cfg, tz = load_config(), tx.settings.timezone
    since = date.fromisoformat(row[0])
    ahead = upcoming_milestones(since, local_today(now, tz), cfg.milestone_days)
    for days, day in ahead:
        due = max(milestone_due(day, cfg.milestone_at, tz), now)
        await timers.schedule(tx, now, _key(client_id, row[0], days), KIND, due,
                              client_id=client_id,
                              payload={"days": days, "since": row[0], "day": day.isoformat()},
                              replace=False)
    return len(ahead)


@timers.handles(KIND)
async def _milestone(tx: Tx, timer: timers.Timer, now: datetime) -> str:
    p, cid = timer.payload, int(timer.client_id or 0)
    row = await tx.one("SELECT since, status, share_in_group FROM recovery_dates"
                       " WHERE client_id = ?", (cid,))
    if row is None or row["status"] != "confirmed" or row["since"] != p["since"]:
        return "dropped: recovery date changed"
    # The client's local date decides the day; quiet hours must not push it to the next one.
    send_at = await allowed_from(tx, cid, now)
    if local_today(send_at, tx.settings.timezone).isoformat() != p["day"]:
        return "dropped: the day has passed"
    reach = await due.reach(tx, now, cid, "group", f"{p['days']}-day milestone")
    if isinstance(reach, str):
        return reach
    client, ident = reach
    key = _key(cid, p["since"], p["days"])
    await say(tx, now, ident, "milestone.days", {"days": p["days"]}, client=client, purpose="group",
              dedupe_key=key, cause=f"timer:{key}")
    if row["share_in_group"]:
        group = await member_group(tx, cid)
        if group is not None:
            await post_to_group(tx, now, group["id"], "group.milestone",
                                {"first_name": client.first_name, "days": p["days"]},
                                dedupe_key=f"{key}:group", cause=f"timer:{key}")
    return "sent"
