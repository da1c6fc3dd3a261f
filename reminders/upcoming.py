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

CLIENT_KINDS = ("reminder", "checkin", "scale", "missed_session")


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _local(text: str, z: ZoneInfo) -> str:
    return parse_iso(text).astimezone(z).strftime("%a %d %b %Y %H:%M %Z")


async def upcoming(db: Reader, tz: str, *, client_id: int | None = None,
                   limit: int = 500) -> list[Upcoming]:
    z = ZoneInfo(tz)
    marks = ", ".join("?" for _ in CLIENT_KINDS)
    sql = ("SELECT t.key, t.kind, t.client_id, c.ref, t.due_at, t.payload FROM timers t"
           " LEFT JOIN clients c ON c.id = t.client_id"
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
            event_local=_local(p["event_at"], z) if p.get("event_at") else None, key=r["key"]))
    return out
