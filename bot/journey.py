"""Journey stages: a client is in exactly one; moves go forward and back, each with a reason."""

from __future__ import annotations

from datetime import datetime

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.people import STAGE_STATUS, STAGES, InputError


async def move_stage(tx: Tx, now: datetime, client_id: int, stage: str, actor: str,
                     reason: str) -> None:
    if stage not in STAGES:
        raise InputError(f"stage: {stage!r} must be one of {', '.join(STAGES)}")
    reason = " ".join(reason.split())
    if not reason:
        raise InputError("reason: say why the stage changes")
    old = await tx.value("SELECT stage FROM clients WHERE id = ?", (client_id,))
    if old is None:
        raise InputError(f"client: no client {client_id}")
    if old == stage:
        return
    await tx.execute(
        "UPDATE clients SET stage = ?, status = ? WHERE id = ?",
        (stage, STAGE_STATUS.get(stage, "active"), client_id))
    await tx.execute(
        "INSERT INTO stage_history (client_id, from_stage, to_stage, reason, actor, at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (client_id, old, stage, reason, actor, iso(now)))
    await audit(tx, now, actor, "client.stage_moved", "client", client_id, from_stage=old,
                to_stage=stage, reason=reason)
    from reminders.planner import plan_client

    await plan_client(tx, now, client_id)  # the new stage's cadence from today
