"""Pure schedule computation: the public entry points, gathered from small modules.

No I/O, no asyncio: the clock comes in as aware datetimes and every function returns frozen
dataclasses (PlannedSend) that the I/O layer upserts into `timers` by their stable key.
"""

from reminders.schedule.checkins import (
    checkins_for_day,
    daily_checkin_due,
    heightened_until,
    missed_checkin_deadline,
    missed_checkin_finding,
)
from reminders.schedule.events import (
    aftercare_meeting_reminders,
    appointment_reminders,
    course_session_reminders,
    event_reminders,
    missed_session_followup,
)
from reminders.schedule.model import ClientSchedule, PlannedSend
from reminders.schedule.recurrence import Recurrence, recurring

__all__ = [
    "ClientSchedule",
    "PlannedSend",
    "Recurrence",
    "aftercare_meeting_reminders",
    "appointment_reminders",
    "checkins_for_day",
    "course_session_reminders",
    "daily_checkin_due",
    "event_reminders",
    "heightened_until",
    "missed_checkin_deadline",
    "missed_checkin_finding",
    "missed_session_followup",
    "recurring",
]
