"""Questions the bot asks outside the flow engine (a mentor's register, "anyone you are worried
about?", the wellbeing check, a client's recovery date), stored as rows so a bare-number reply or
a button press means the list that person was shown, whatever changed since.

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

from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, say

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

    def open_at(self, now: datetime) -> bool:
        return self.answered_at is None and self.expires_at > now


def _prompt(r: Any) -> Prompt:
    return Prompt(r["id"], r["kind"], r["client_id"], r["staff_id"], r["group_id"],
                  r["meeting_id"], tuple(json.loads(r["roster"] or "[]")), r["outbox_id"],
                  parse_iso(r["asked_at"]), parse_iso(r["expires_at"]),
                  parse_iso(r["answered_at"]) if r["answered_at"] else None)


async def get(tx: Tx, prompt_id: int) -> Prompt | None:
    r = await tx.one("SELECT * FROM aftercare_prompts WHERE id = ?", (prompt_id,))
    return _prompt(r) if r else None


async def latest_open(tx: Tx, client_id: int, now: datetime) -> Prompt | None:
    r = await tx.one("SELECT * FROM aftercare_prompts WHERE client_id = ? AND answered_at IS NULL"
                     " AND expires_at > ? ORDER BY asked_at DESC, id DESC LIMIT 1",
                     (client_id, iso(now)))
    return _prompt(r) if r else None


async def ask(tx: Tx, now: datetime, ident: Identity, client: ClientInfo, kind: str, key: str,
              params: dict[str, Any], *, expires_at: datetime, staff_id: int | None = None,
              group_id: int | None = None, meeting_id: int | None = None,
              roster: tuple[int, ...] = (), buttons: Any = None, reply: bool = False) -> int:
    """Store the question, then queue its text; `buttons(prompt_id)` builds Telegram buttons
    (the row id goes into their callback data). Returns the prompt id."""
    if kind not in KINDS:
        raise ValueError(f"prompt kind {kind!r} must be one of {KINDS}")
    prompt_id = await tx.execute(
        "INSERT INTO aftercare_prompts (kind, client_id, staff_id, group_id, meeting_id, roster,"
        " asked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, client.id, staff_id, group_id, meeting_id, json.dumps(list(roster)), iso(now),
         iso(expires_at)))
    markup = buttons(prompt_id) if buttons is not None and ident.channel == "telegram" else None
    outbox_id = await say(tx, now, ident, key, params, client=client, reply_markup=markup,
                          cause=f"prompt:{prompt_id}", reply=reply,
                          purpose="reply" if reply else "group")
    await tx.execute("UPDATE aftercare_prompts SET outbox_id = ? WHERE id = ?",
                     (outbox_id, prompt_id))
    return prompt_id


async def close(tx: Tx, now: datetime, prompt_id: int) -> None:
    await tx.execute("UPDATE aftercare_prompts SET answered_at = ? WHERE id = ?"
                     " AND answered_at IS NULL", (iso(now), prompt_id))


async def close_all(tx: Tx, now: datetime, *, staff_id: int) -> int:
    """A mentor who steps down can no longer answer anything they were asked as a mentor."""
    return await tx.execute("UPDATE aftercare_prompts SET expires_at = ? WHERE staff_id = ?"
                            " AND answered_at IS NULL AND expires_at > ?",
                            (iso(now), staff_id, iso(now)))


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
