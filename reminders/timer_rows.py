"""Planned sends (pure, reminders.schedule) -> `timers` rows, and the per-event planning that the
calendar operations and the daily planner share.

Three ways to store a plan, because re-planning must never re-send:
- "replace": upsert, re-arming a row even if it was sent (a rescheduled appointment's "1d" is a
  new reminder for the new date; its keys were cancelled first in the same transaction);
- "keep": insert what is missing, leave every existing row alone (the daily planner's re-runs);
- "revive": like "keep", but a row cancelled earlier comes back (a client enrolled again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.core import timers
from bot.core.clock import iso, parse_iso
from bot.core.db import Tx
from bot.core.quiet import client_quiet
from reminders.schedule.events import appointment_reminders, course_session_reminders
from reminders.schedule.model import PlannedSend
from reminders.schedule.plans import RemindersConfig, load_config

log = logging.getLogger(__name__)

StoreMode = timers.WriteMode
# PlannedSend.kind -> timer kind (the handler in reminders.jobs).
TIMER_KIND = {"reminder": "reminder", "followup": "missed_session", "checkin": "checkin",
              "scale": "scale"}



@lru_cache(maxsize=1)
def config() -> RemindersConfig:
    """config/reminders.toml, read and validated once per process."""
    return load_config()


def payload(send: PlannedSend, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": send.message_key,
        "flow": send.flow,
        "event_at": iso(send.event_at) if send.event_at else None,
        "window_end": iso(send.window_end) if send.window_end else None,
        "confirm": send.invites_confirmation or None,
        "plan_prompt": send.plan_prompt or None,
        "safety_question": send.safety_question or None,
        "safety": send.safety or None,
    }
    body.update(extra or {})
    return {k: v for k, v in body.items() if v is not None}


async def store(tx: Tx, now: datetime, sends: Iterable[PlannedSend], mode: StoreMode,
                extra: Mapping[str, Any] | None = None) -> int:
    """Write planned sends as timer rows in one executemany. Returns how many were offered."""
    return await timers.schedule_many(tx, [
        timers.row(now, s.key, TIMER_KIND[s.kind], s.due_at,
                   None if s.client_id is None else int(s.client_id), payload(s, extra))
        for s in sends], mode)


def utc(text: str) -> datetime:
    return parse_iso(text).astimezone(UTC)


async def plan_appointment(tx: Tx, now: datetime, appointment_id: int,
                           mode: StoreMode = "replace") -> int:
    """(Re)plan one appointment's reminders; nothing for one that is not 'scheduled'."""
    row = await tx.one("SELECT id, client_id, kind, at, status FROM appointments WHERE id = ?",
                       (appointment_id,))
    if row is None or row["status"] != "scheduled":
        return 0
    cfg = config()
    sends = appointment_reminders(
        row["id"], row["kind"], utc(row["at"]), cfg.plan(row["kind"]),
        await client_quiet(tx, row["client_id"]), tx.settings.timezone, now,
        late_grace=cfg.late_grace, client_id=row["client_id"])
    return await store(tx, now, sends, mode, {"appointment": row["id"]})


async def plan_session_for(tx: Tx, now: datetime, session_id: int, client_id: int,
                           mode: StoreMode) -> int:
    """Plan one client's reminders for one course session."""
    row = await tx.one("SELECT starts_at, status FROM course_sessions WHERE id = ?", (session_id,))
    if row is None or row["status"] != "scheduled":
        return 0
    cfg = config()
    sends = course_session_reminders(
        session_id, client_id, utc(row["starts_at"]), cfg.plan("course_session"),
        await client_quiet(tx, client_id), tx.settings.timezone, now,
        late_grace=cfg.late_grace)
    return await store(tx, now, sends, mode, {"session": session_id})


def appointment_prefix(appointment_id: int) -> str:
    return f"reminder:{appointment_id}:"


def session_prefix(session_id: int, client_id: int | None = None) -> str:
    return f"session:{session_id}:" + (f"{client_id}:" if client_id is not None else "")


async def cancel_client_sessions(tx: Tx, now: datetime, client_id: int, reason: str) -> int:
    """Cancel every pending course-session reminder of one client (enrolment ended)."""
    return await tx.execute(
        "UPDATE timers SET status = 'cancelled', outcome = ?, done_at = ?"
        " WHERE status = 'pending' AND client_id = ? AND key >= 'session:' AND key < ?",
        (reason, iso(now), client_id, "session:\uffff"))
