"""What will be sent when: pending reminder, check-in, scale and follow-up rows, in local time.

Reads through anything with `all(sql, params)` (a Database's read connection or a Tx), so the
CLI and the admin panel share it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.core.clock import parse_iso
from bot.core.contact import decide

# Timer kinds that write to a client, and the contact-policy purpose each sends under.
PURPOSE_OF_KIND = {"reminder": "reminder", "checkin": "checkin", "scale": "checkin",
                   "missed_session": "reminder", "meeting_reminder": "reminder"}
CLIENT_KINDS = tuple(PURPOSE_OF_KIND)


class Reader(Protocol):
    async def all(self, sql: str, params: Sequence[Any] = ...) -> list[sqlite3.Row]: ...


@dataclass(frozen=True)
class Upcoming:
    due_local: str  # "Tue 01 Dec 2026 10:00 GMT"
    due_at: str  # UTC, as stored
    client_ref: str | None
    client_id: int | None
    kind: str
    what: str  # the message key or the flow id
    event_local: str | None
    key: str
    # Why it will not go if nothing changes first (the contact policy's words), else None.
    skip: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local(text: str, z: ZoneInfo) -> str:
    return parse_iso(text).astimezone(z).strftime("%a %d %b %Y %H:%M %Z")


async def upcoming(db: Reader, tz: str, *, client_id: int | None = None,
                   limit: int = 500) -> list[Upcoming]:
    z = ZoneInfo(tz)
    marks = ", ".join("?" for _ in CLIENT_KINDS)
    sql = ("SELECT t.key, t.kind, t.client_id, c.ref, t.due_at, t.payload, c.stage,"
           " c.consent_at IS NOT NULL AS consented, c.in_custody_since IS NOT NULL AS custody,"
           " EXISTS (SELECT 1 FROM identities i WHERE i.client_id = c.id AND i.active = 1)"
           "  AS has_contact,"
           " NOT EXISTS (SELECT 1 FROM identities i LEFT JOIN opt_outs o ON o.identity_id = i.id"
           "  WHERE i.client_id = c.id AND i.active = 1 AND o.identity_id IS NULL) AS opted_out"
           " FROM timers t LEFT JOIN clients c ON c.id = t.client_id"
           f" WHERE t.status = 'pending' AND t.kind IN ({marks})")
    params: list[Any] = list(CLIENT_KINDS)
    if client_id is not None:
        sql += " AND t.client_id = ?"
        params.append(client_id)
    sql += " ORDER BY t.due_at, t.id LIMIT ?"
    params.append(limit)
    out = []
    for r in await db.all(sql, params):
        p = json.loads(r["payload"])
        out.append(Upcoming(
            due_local=_local(r["due_at"], z), due_at=r["due_at"], client_ref=r["ref"],
            client_id=r["client_id"], kind=r["kind"],
            what=p.get("message") or p.get("flow") or r["kind"],
            event_local=_local(p["event_at"], z) if p.get("event_at") else None, key=r["key"],
            skip=_skip(r)))
    return out


def _skip(r: sqlite3.Row) -> str | None:
    """What the send's own check (reminders.due.reach) would say now, without writing."""
    if r["client_id"] is None or r["stage"] is None:
        return None
    if not r["has_contact"]:
        return "no contact"
    verdict = decide(PURPOSE_OF_KIND[r["kind"]], stage=r["stage"],
                     consented=bool(r["consented"]), opted_out=bool(r["opted_out"]),
                     in_custody=bool(r["custody"]))
    return None if verdict.allowed else verdict.reason
