"""Journey stages and the discharge protocol: the domain rules the panel, the CLI and the router call.

A client is in exactly one stage; moves go forward and back, each with a reason. Leaving rehab or
custody drops tolerance, so those moves start the post-discharge protocol (28-day watch, safety
text, same-day check-in, RED for an early discharge or a release).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.messaging import say_to_client
from bot.core.people import STAGE_STATUS, STAGES, InputError
from bot.escalation.findings import raise_finding
from reminders.planner import plan_client


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
    await plan_client(tx, now, client_id)  # the new stage's cadence from today


# Discharge and release -------------------------------------------------------------------------

HEIGHTENED_DAYS = 28
DISCHARGE_REASONS = {
    # reason: (new stage or None to keep, RED finding reason or None)
    "early": ("discharged_early", "self_discharge"),
    "completed": ("completed", None),
    "custody-release": (None, "custody_release"),
}


async def discharge(tx: Tx, now: datetime, client_id: int, reason: str, actor: str) -> None:
    """Leaving rehab or custody: tolerance has dropped, so the next 28 days are the riskiest."""
    if reason not in DISCHARGE_REASONS:
        raise InputError(f"reason: {reason!r} must be one of {sorted(DISCHARGE_REASONS)}")
    stage, red_reason = DISCHARGE_REASONS[reason]
    until = now + timedelta(days=HEIGHTENED_DAYS)
    await tx.execute("UPDATE clients SET heightened_until = ? WHERE id = ?",
                     (iso(until), client_id))
    if reason == "custody-release":
        await set_custody(tx, now, client_id, False, actor)
    if stage:
        await move_stage(tx, now, client_id, stage, actor, f"discharge: {reason}")
    await audit(tx, now, actor, "client.discharged", "client", client_id, reason=reason,
                heightened_until=iso(until))
    # The daily safety check-in starts today, not after tomorrow's planning run.
    await plan_client(tx, now, client_id)
    await say_to_client(tx, now, client_id, "safety.tolerance", safety=True, purpose="safety",
                        cause=f"discharge:{reason}")
    if red_reason:
        await raise_finding(tx, now, client_id, "RED", red_reason, source="discharge_event",
                            detail=f"recorded by {actor}")


# Stage moves that are a discharge from rehab also run the post-discharge protocol.
DISCHARGE_MOVES = {"discharged_early": "early", "completed": "completed"}


async def change_stage(tx: Tx, now: datetime, client_id: int, stage: str, actor: str,
                       reason: str) -> str:
    """Move the stage and, when the move is a discharge from rehab, start the protocol.

    Returns what happened in words for the person who asked ('moved', 'discharged', 'unchanged').
    """
    old = await tx.value("SELECT stage FROM clients WHERE id = ?", (client_id,))
    await move_stage(tx, now, client_id, stage, actor, reason)
    kind = DISCHARGE_MOVES.get(stage)
    if old == stage:
        return "unchanged"
    if kind and (stage == "discharged_early" or old == "in_rehab"):
        await discharge(tx, now, client_id, kind, actor)
        return "discharged"
    return "moved"


async def set_custody(tx: Tx, now: datetime, client_id: int, in_custody: bool, actor: str) -> bool:
    """Record that a client is in custody (or out again). While in custody nothing automated is
    sent (bot.core.contact); their officer is told of what was held back instead. Returns
    whether anything changed."""
    if await tx.value("SELECT 1 FROM clients WHERE id = ?", (client_id,)) is None:
        raise InputError(f"client: no client {client_id}")
    changed = await tx.execute(
        "UPDATE clients SET in_custody_since = ? WHERE id = ? AND (in_custody_since IS NULL) = (? = 1)",
        (iso(now) if in_custody else None, client_id, int(in_custody)))
    if changed:
        await audit(tx, now, actor, "client.custody", "client", client_id, in_custody=in_custody)
    return bool(changed)
