"""Question keys: what answers are stored as. Shared by the flows and the risk rules, so a rule
cannot silently stop matching a renamed question. Scale items are "<scale>_<item>"."""

from __future__ import annotations

# Daily check-in (§3.1).
ONS_HAPPY = "ons_happy"
ONS_ANXIOUS = "ons_anxious"
CRAVING = "craving_24h"
USED = "used_since_last"
SAFE_NOW = "safe_now"  # "safe" | "need_to_talk"
CALL_WANTED = "call_wanted"  # "yes" | "not_now"
NOTE = "note_for_officer"

# Weekly (§3.2).
PHQ4_NERVOUS = "phq4_nervous"
PHQ4_WORRY = "phq4_worry"
PHQ4_INTEREST = "phq4_interest"
PHQ4_DOWN = "phq4_down"
PHQ9_ITEM9 = "phq9_item9"
ONS_SATISFIED = "ons_satisfied"
ONS_WORTHWHILE = "ons_worthwhile"
READINESS = "readiness"
CONFIDENCE = "confidence"
HOUSING_LOST = "housing_lost"
TIME_WITH_USERS = "time_with_users"

# Monthly totals the YELLOW rules read come from the SaveScore of these flows.
SPANE_PREFIX = "spane12_"
BARC_PREFIX = "barc10_"
K10_PREFIX = "k10_"

# Onboarding.
CONSENT = "consent"
LANGUAGE = "language"
SHARED_PHONE = "shared_phone"
CHANNEL = "preferred_channel"
CHECKIN_TIME = "checkin_time"
CODEWORD = "codeword"

# Programme feedback (evaluation's 1-10 questions).
FEEDBACK_LISTENED = "feedback_listened"
FEEDBACK_THINK = "feedback_think_differently"
FEEDBACK_CHANGED = "feedback_changed"

# Appointment confirmation.
APPOINTMENT = "appointment_confirmed"  # "yes" | "no" | "cant"
TRAVEL = "appointment_travel"  # "bus" | "lift" | "walk" | "need_help"

PHQ4_ITEMS = {
    PHQ4_NERVOUS: "nervous", PHQ4_WORRY: "worry", PHQ4_INTEREST: "interest", PHQ4_DOWN: "down",
}
