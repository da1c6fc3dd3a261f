"""Reminders for dated events: appointments, course sessions, aftercare meetings.

Rules, applied to each plan entry in turn:
1. nominal due = the entry's lead time before the event (plans.PlanEntry.nominal_due);
2. dropped if it is not before the event, or more than `late_grace` in the past ("created late":
   a court date added 2 days ahead gets its 1d and 2h reminders, not the 7d one); a nominal time
   within the grace is sent as soon as allowed;
3. shifted out of quiet hours (quiet_hours.shift_out_of_quiet with not_before=now); dropped if
   no allowed time is left before the event;
4. an anchored entry ("the morning of") must stay on its own day: if moving back would leave
   the day, it moves forward to the end of quiet hours instead, if that is still on the day and
   `min_lead` before the event; otherwise it is dropped;
5. two entries landing on the same instant keep only the later one in the plan.
Downtime after planning is catchup.decide_late's job, not this module's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from reminders.schedule.clock import require_aware, zone
from reminders.schedule.model import PlannedSend
from reminders.schedule.plans import PlanEntry, ReminderPlan
from reminders.schedule.quiet_hours import QuietHours, next_allowed, shift_out_of_quiet

DEFAULT_LATE_GRACE = timedelta(minutes=15)
MISSED_SESSION_MESSAGE = "reminder.course_session.missed"


def appointment_reminders(
    appointment_id: int | str,
    kind: str,
    at_utc: datetime,
    plan: ReminderPlan,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    now_utc: datetime,
    *,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
    client_id: int | str | None = None,
) -> list[PlannedSend]:
    """Reminders for one client's appointment; keys 'reminder:<appointment_id>:<label>'."""
    if plan.kind != kind:
        raise ValueError(f"plan is for {plan.kind!r}, appointment is {kind!r}")
    return event_reminders(
        f"reminder:{appointment_id}",
        at_utc,
        plan,
        quiet,
        tz,
        now_utc,
        late_grace=late_grace,
        client_id=client_id,
    )


def course_session_reminders(
    session_id: int | str,
    client_id: int | str,
    at_utc: datetime,
    plan: ReminderPlan,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    now_utc: datetime,
    *,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
) -> list[PlannedSend]:
    """Reminders for one enrolled client; keys 'session:<session_id>:<client_id>:<label>'.
    Per client, because a session has many attendees and each may have their own quiet hours."""
    _expect(plan, "course_session")
    return event_reminders(
        f"session:{session_id}:{client_id}",
        at_utc,
        plan,
        quiet,
        tz,
        now_utc,
        late_grace=late_grace,
        client_id=client_id,
    )


def aftercare_meeting_reminders(
    meeting_id: int | str,
    client_id: int | str,
    at_utc: datetime,
    plan: ReminderPlan,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    now_utc: datetime,
    *,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
) -> list[PlannedSend]:
    """Keys 'meeting:<meeting_id>:<client_id>:<label>'; meeting_id names ONE occurrence."""
    _expect(plan, "aftercare_meeting")
    return event_reminders(
        f"meeting:{meeting_id}:{client_id}",
        at_utc,
        plan,
        quiet,
        tz,
        now_utc,
        late_grace=late_grace,
        client_id=client_id,
    )


def missed_session_followup(
    session_id: int | str,
    client_id: int | str,
    ended_at: datetime,
    followup_after: timedelta,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    now_utc: datetime,
) -> PlannedSend:
    """ "Things happen, reply to rebook", `followup_after` the session's end, moved forward out of
    quiet hours (nothing to be before). Key 'missed_session:<session_id>:<client_id>'."""
    require_aware(ended_at, "ended_at")
    due = max(ended_at.astimezone(UTC) + followup_after, now_utc.astimezone(UTC))
    return PlannedSend(
        key=f"missed_session:{session_id}:{client_id}",
        kind="followup",
        due_at=next_allowed(due, quiet, tz),
        message_key=MISSED_SESSION_MESSAGE,
        client_id=client_id,
        invites_confirmation=True,  # a reply means "rebook me"
    )


def event_reminders(
    key_prefix: str,
    at_utc: datetime,
    plan: ReminderPlan,
    quiet: QuietHours,
    tz: str | ZoneInfo,
    now_utc: datetime,
    *,
    late_grace: timedelta = DEFAULT_LATE_GRACE,
    client_id: int | str | None = None,
) -> list[PlannedSend]:
    """The sends for one event under `plan` (rules in the module doc), sorted by due time."""
    require_aware(at_utc, "at_utc")
    require_aware(now_utc, "now_utc")
    event, now = at_utc.astimezone(UTC), now_utc.astimezone(UTC)
    z = zone(tz)
    by_due: dict[datetime, PlannedSend] = {}
    for entry in plan.entries:
        nominal, anchor = entry.nominal_due(event, z)
        if nominal >= event or nominal < now - late_grace:
            continue
        due = shift_out_of_quiet(max(nominal, now), event, quiet, z, not_before=now)
        if due is not None and anchor is not None and due.astimezone(z).date() != anchor:
            due = _forward_on_anchor_day(max(nominal, now), anchor, entry, event, quiet, z)
        if due is None:
            continue
        by_due[due] = PlannedSend(
            key=f"{key_prefix}:{entry.label}",
            kind="reminder",
            due_at=due,
            message_key=entry.message_key,
            event_at=event,
            client_id=client_id,
            invites_confirmation=entry.invites_confirmation,
            plan_prompt=entry.plan_prompt,
        )
    return sorted(by_due.values(), key=lambda s: s.due_at)


def _forward_on_anchor_day(
    start: datetime, anchor: date, entry: PlanEntry, event: datetime, quiet: QuietHours, z: ZoneInfo
) -> datetime | None:
    """An anchored text ("the morning of") pushed off its day by quiet hours tries the end of
    quiet hours instead; it must stay on its day and keep its minimum lead, else it is dropped."""
    fwd = next_allowed(start, quiet, z)
    latest = event - entry.min_lead if entry.min_lead is not None else event
    if fwd.astimezone(z).date() == anchor and fwd < latest and fwd < event:
        return fwd
    return None


def _expect(plan: ReminderPlan, kind: str) -> None:
    if plan.kind != kind:
        raise ValueError(f"expected the {kind!r} plan, got {plan.kind!r}")
