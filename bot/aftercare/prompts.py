"""Questions the bot asks outside the flow engine (a mentor's register, "anyone you are worried
about?", the wellbeing check, a client's recovery date), stored as rows so a bare-number reply or
a button press means the list that person was shown, whatever changed since.

At most one open question per person (issue 11): a prompt we start while the person has a
question open (a flow, or another prompt) waits its turn (`pending`) and is sent when the turn
frees (`conversation.next_turn`, which also ranks it against waiting flows). A prompt the person
asked for (a keyword such as CONCERN or ATTENDANCE: `reply=True`) goes at once; when it is
answered, the flow it interrupted asks its question again (`conversation.resume_after_prompt`).

Which question does a bare reply answer? The latest one asked, by outbox order (the order the
person received them): an open prompt sent after the running flow's last question takes the
reply; otherwise the flow does. A pending safety question always keeps the reply (safety
first), and crisis words never reach here at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import conversation
from bot.core import timers
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo

KINDS = ("register", "concern", "wellbeing", "recovery")


@dataclass(frozen=True)
class Prompt:
    id: int
    kind: str
    client_id: int
    staff_id: int | None
    group_id: int | None
    meeting_id: int | None
    roster: tuple[int, ...]
    outbox_id: int | None
    asked_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    step: str | None = None  # 'explain': a concern's members are chosen, its words are asked

    def open_at(self, now: datetime) -> bool:
        return self.answered_at is None and self.expires_at > now


def _prompt(r: Any) -> Prompt:
    return Prompt(r["id"], r["kind"], r["client_id"], r["staff_id"], r["group_id"],
                  r["meeting_id"], tuple(json.loads(r["roster"] or "[]")), r["outbox_id"],
                  parse_iso(r["asked_at"]), parse_iso(r["expires_at"]),
                  parse_iso(r["answered_at"]) if r["answered_at"] else None, r["step"])


async def get(tx: Tx, prompt_id: int) -> Prompt | None:
    r = await tx.one("SELECT * FROM aftercare_prompts WHERE id = ?", (prompt_id,))
    return _prompt(r) if r else None


async def latest_open(tx: Tx, client_id: int, now: datetime) -> Prompt | None:
    r = await tx.one("SELECT * FROM aftercare_prompts WHERE client_id = ? AND answered_at IS NULL"
                     " AND pending IS NULL AND expires_at > ? ORDER BY asked_at DESC, id DESC"
                     " LIMIT 1",
                     (client_id, iso(now)))
    return _prompt(r) if r else None


async def ask(tx: Tx, now: datetime, ident: Identity, client: ClientInfo, kind: str, key: str,
              params: dict[str, Any], *, expires_at: datetime, staff_id: int | None = None,
              group_id: int | None = None, meeting_id: int | None = None,
              roster: tuple[int, ...] = (), buttons: Any = None, reply: bool = False,
              step: str | None = None) -> int:
    """Store the question, then send its text, or keep it for the person's turn (module doc);
    `buttons(prompt_id)` builds Telegram buttons (the row id goes into their callback data).
    Returns the prompt id."""
    if kind not in KINDS:
        raise ValueError(f"prompt kind {kind!r} must be one of {KINDS}")
    wait = not reply and await conversation.busy(tx, client.id, now)  # before this row exists
    # The same question already waiting its turn (the weekly concern list, then CONCERN typed):
    # this one replaces it, so it is not asked twice.
    await tx.execute("UPDATE aftercare_prompts SET pending = NULL, expires_at = ? WHERE"
                     " client_id = ? AND kind = ? AND meeting_id IS ? AND pending IS NOT NULL"
                     " AND answered_at IS NULL", (iso(now), client.id, kind, meeting_id))
    prompt_id = await tx.execute(
        "INSERT INTO aftercare_prompts (kind, client_id, staff_id, group_id, meeting_id, roster,"
        " asked_at, expires_at, step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, client.id, staff_id, group_id, meeting_id, json.dumps(list(roster)), iso(now),
         iso(expires_at), step))
    markup = buttons(prompt_id) if buttons is not None and ident.channel == "telegram" else None
    pending = {"key": key, "params": params, "markup": markup,
               "ttl": int((expires_at - now).total_seconds())}
    if wait:
        # Another question is open: this one waits its turn (expires_at bounds the wait).
        await tx.execute("UPDATE aftercare_prompts SET pending = ? WHERE id = ?",
                         (json.dumps(pending), prompt_id))
        return prompt_id
    await conversation.send_prompt(tx, now, prompt_id, ident, client, pending, reply=reply)
    return prompt_id


async def close(tx: Tx, now: datetime, prompt_id: int) -> None:
    """Answered (the caller then replies, and calls `pass_turn` unless it asks a follow-up)."""
    await tx.execute("UPDATE aftercare_prompts SET answered_at = ? WHERE id = ?"
                     " AND answered_at IS NULL", (iso(now), prompt_id))
    await timers.cancel(tx, now, f"prompt:{prompt_id}:expiry", "answered")


async def pass_turn(tx: Tx, now: datetime, prompt: Prompt) -> None:
    """After the answer's reply: the interrupted flow asks again, or the next question goes."""
    await conversation.resume_after_prompt(tx, now, prompt.client_id, prompt.outbox_id)


async def close_all(tx: Tx, now: datetime, *, staff_id: int) -> int:
    """A mentor who steps down can no longer answer anything they were asked as a mentor (nor
    be asked what was waiting)."""
    clients = [r[0] for r in await tx.all(
        "SELECT DISTINCT client_id FROM aftercare_prompts WHERE staff_id = ?"
        " AND answered_at IS NULL AND expires_at > ?", (staff_id, iso(now)))]
    closed = await tx.execute("UPDATE aftercare_prompts SET expires_at = ?, pending = NULL"
                              " WHERE staff_id = ? AND answered_at IS NULL AND expires_at > ?",
                              (iso(now), staff_id, iso(now)))
    for client_id in clients:  # whatever waited behind those questions goes now
        await conversation.next_turn(tx, now, client_id)
    return closed


async def last_flow_message(tx: Tx, client_id: int, session_id: int) -> int | None:
    """The outbox id of the running flow's latest message to this client."""
    found = await tx.value("SELECT MAX(id) FROM outbox WHERE client_id = ? AND cause = ?",
                           (client_id, f"flow:{session_id}"))
    return int(found) if found is not None else None


def takes_reply(prompt: Prompt, flow_running: bool, flow_last_outbox: int | None,
                safety_pending: bool) -> bool:
    """Does `prompt` (rather than the running flow) answer a bare reply? (module doc)"""
    if safety_pending:
        return False
    if not flow_running or flow_last_outbox is None:
        return True
    return prompt.outbox_id is not None and prompt.outbox_id > flow_last_outbox
