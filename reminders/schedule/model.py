"""The plain values the schedule functions return; the I/O layer stores each as a `timers` row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from reminders.schedule.quiet_hours import QuietHours

SendKind = Literal["reminder", "followup", "checkin", "scale"]

# Flow ids owned by the flows engine.
FLOW_DAILY = "daily_checkin"
FLOW_WEEKLY = "weekly_checkin"
FLOW_MONTHLY = "monthly_spane"
# The monthly set is long, so it is split over three days: part 1 on the monthly day.
MONTHLY_PARTS = ("monthly_spane", "monthly_barc", "monthly_k10")


@dataclass(frozen=True, slots=True)
class PlannedSend:
    """One scheduled send. `key` is stable: planning the same thing twice gives the same key, so an
    upsert on it makes re-planning and restarts idempotent.

    kind "reminder"/"followup" carry a `message_key`; "checkin"/"scale" carry a `flow` to start.
    `event_at` is what a reminder concerns (never sent at or after it); `window_end` is the last
    moment a late check-in may still go out (see catchup.decide_late).
    """

    key: str
    kind: SendKind
    due_at: datetime  # UTC
    message_key: str | None = None
    flow: str | None = None
    event_at: datetime | None = None  # UTC
    window_end: datetime | None = None  # UTC
    client_id: int | str | None = None
    invites_confirmation: bool = False
    plan_prompt: bool = False
    safety_question: bool = False  # heightened window: the check-in adds the safety question
    safety: bool = False  # exempt from quiet hours (crisis follow-ups); never set by the planner


@dataclass(frozen=True, slots=True)
class ClientSchedule:
    """What `checkins_for_day` needs to know about one client."""

    client_id: int | str
    stage: str
    stage_started: date  # day the current stage began (aftercare taper counts from it)
    checkin_time: time | str | None = None  # local; None -> config default
    heightened_until: date | None = None  # inclusive; see checkins.heightened_until
    weekly_day: int | None = None  # 0 = Monday; None -> config default
    monthly_day: int | None = None  # 1..31, clamped to the month; None -> config default
    quiet: QuietHours | None = None  # per-client override of the default quiet hours
    paused_until: date | None = None  # inclusive: PAUSE [N] from the client (flows/keywords.py)
