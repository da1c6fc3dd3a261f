"""What every due send checks before it goes, in one place for reminders, check-ins, meetings,
milestones and mentor prompts: is it late or in quiet hours (defer on the same key, or drop),
and may this person be written to for this purpose (bot.core.contact)."""

from __future__ import annotations

from datetime import datetime

from bot.core import timers
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.contact import verdict_for
from bot.core.db import Tx
from bot.core.identities import Identity
from bot.core.messaging import ClientInfo, client_identity, load_client
from bot.core.quiet import client_quiet
from bot.escalation.findings import raise_finding
from reminders.schedule.catchup import decide_late, resume_at
from reminders.schedule.model import SendKind
from reminders.schedule.quiet_hours import QuietHours

CUSTODY_FINDING = "contact_in_custody"


async def defer(tx: Tx, timer: timers.Timer, now: datetime, quiet: QuietHours) -> str:
    """Re-arm this row for the end of quiet hours on its OWN key: the clock loop leaves a row it
    re-armed pending, so the plan keeps exactly one row per send."""
    until = resume_at(timer.due_at, now, quiet, tx.settings.timezone)
    await timers.schedule(tx, now, timer.key, timer.kind, until, client_id=timer.client_id,
                          payload=timer.payload)
    outcome = f"deferred to {iso(until)}"
    await tx.execute("UPDATE timers SET outcome = ? WHERE id = ?", (outcome, timer.id))
    return outcome


async def late(tx: Tx, timer: timers.Timer, now: datetime, kind: SendKind,
               event_at: datetime | None, window_end: datetime | None,
               quiet: QuietHours | None = None) -> str | None:
    """None: send now. Otherwise the row's outcome (dropped, skipped or deferred). `quiet`: the
    quiet hours that apply (default: the row's client's own)."""
    tz = tx.settings.timezone
    quiet = quiet or await client_quiet(tx, timer.client_id)
    decision = decide_late(kind, timer.due_at, event_at, window_end, now, quiet, tz,
                           safety=bool(timer.payload.get("safety")))
    if decision == "send":
        return None
    if decision == "defer":
        return await defer(tx, timer, now, quiet)
    outcome = {"drop_event_passed": "dropped: event passed",
               "skip_window_missed": "dropped: no allowed time left" if event_at
               else "skipped: window missed"}[decision]
    await audit(tx, now, "system", f"{timer.kind}.dropped", "timer", timer.id, key=timer.key,
                reason=outcome, due_at=iso(timer.due_at))
    return outcome


async def reach(tx: Tx, now: datetime, client_id: int, purpose: str,
                what: str) -> tuple[ClientInfo, Identity] | str:
    """The client and the identity to write to for an automated send, or the row's outcome
    ("skipped: ...") when the contact policy says no. A client in custody gets nothing
    automated; their officer gets one routine note a day saying what was held back."""
    client = await load_client(tx, client_id)
    if client is None:
        return "skipped: no client"
    ident = await client_identity(tx, client)
    if ident is None:
        return "skipped: no contact"
    verdict = await verdict_for(tx, ident, purpose)
    if verdict.allowed:
        return client, ident
    if verdict.tell_officer:
        day = iso(now)[:10]
        told = await tx.value("SELECT 1 FROM findings WHERE client_id = ? AND reason = ?"
                              " AND substr(at, 1, 10) = ?", (client_id, CUSTODY_FINDING, day))
        if not told:
            await raise_finding(tx, now, client_id, "ROUTINE", CUSTODY_FINDING,
                                source="contact_policy", detail=f"not sent while in custody: {what}")
    return f"skipped: {verdict.reason}"
