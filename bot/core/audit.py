"""The audit log: who did what to which object, written in the same transaction as the change."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.core.clock import iso
from bot.core.db import Tx


async def audit(
    tx: Tx,
    now: datetime,
    actor: str,
    action: str,
    object_kind: str | None = None,
    object_id: int | None = None,
    **detail: Any,
) -> None:
    """`actor` is 'staff:<id>', 'client:<id>', 'system' or 'cli'."""
    await tx.execute(
        "INSERT INTO audit_log (at, actor, action, object_kind, object_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (iso(now), actor, action, object_kind, object_id,
         json.dumps(detail, default=str, sort_keys=True) if detail else None),
    )
