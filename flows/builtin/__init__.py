"""The built-in flows, every version ever shipped (sessions keep stepping on their own
version). Add a new version as a new constant next to the old one; never edit a shipped one."""

from __future__ import annotations

from flows.builtin.appointment import APPOINTMENT_CONFIRMATION_V1
from flows.builtin.daily import DAILY_CHECKIN_V1
from flows.builtin.feedback import PROGRAMME_FEEDBACK_V1
from flows.builtin.monthly import MONTHLY_BARC_V1, MONTHLY_K10_V1, MONTHLY_SPANE_V1
from flows.builtin.onboarding import ONBOARDING_CONSENT_V1, ONBOARDING_CONSENT_V2
from flows.builtin.weekly import WEEKLY_CHECKIN_V1
from flows.model import Flow

BUILTIN_FLOWS: tuple[Flow, ...] = (
    ONBOARDING_CONSENT_V1,
    ONBOARDING_CONSENT_V2,
    DAILY_CHECKIN_V1,
    WEEKLY_CHECKIN_V1,
    MONTHLY_SPANE_V1,
    MONTHLY_BARC_V1,
    MONTHLY_K10_V1,
    PROGRAMME_FEEDBACK_V1,
    APPOINTMENT_CONFIRMATION_V1,
)
