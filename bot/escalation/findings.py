"""Risk findings: what the flows and rules noticed. Stored first; escalation routes them to people."""

from __future__ import annotations

from datetime import datetime

from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.escalation.alerts import on_finding

SEVERITIES = ("RED", "AMBER", "YELLOW", "ROUTINE")


async def raise_finding(tx: Tx, now: datetime, client_id: int, severity: str, reason: str, *,
                        source: str, detail: str | None = None, session_id: int | None = None,
                        inbound_id: int | None = None) -> int:
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} must be one of {SEVERITIES}")
    finding_id = await tx.execute(
        "INSERT INTO findings (client_id, severity, reason, detail, source, session_id,"
        " inbound_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (client_id, severity, reason, detail, source, session_id, inbound_id, iso(now)))
    await audit(tx, now, "system", "finding.raised", "client", client_id, severity=severity,
                reason=reason, source=source, finding_id=finding_id)
    await on_finding(tx, now, finding_id)
    return finding_id
