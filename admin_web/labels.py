"""Human words for the codes stored in the database (stages, statuses, reasons, roles)."""

from __future__ import annotations

STAGE_LABELS = {
    "referral": "Referral / waiting",
    "engagement": "Engagement",
    "police_assessment": "Police assessment",
    "rehab_assessment": "Rehab assessment",
    "pre_admission": "Pre-admission course",
    "in_rehab": "In residential rehab",
    "completed": "Completed 12 weeks",
    "discharged_early": "Discharged early",
    "aftercare": "Aftercare",
    "diverted": "Diverted to another service",
    "inactive": "Inactive",
    "withdrawn": "Withdrawn",
    "deceased": "Deceased",
}

STATUS_LABELS = {
    "referral_waiting": "Referral/Waiting",
    "active": "Active",
    "inactive": "Inactive",
    "withdrawn": "Withdrawn",
}

ROLE_LABELS = {"officer": "Officer", "supervisor": "Supervisor", "admin": "Admin",
               "mentor": "Peer mentor", "evaluator": "Evaluator"}

REASON_LABELS = {
    "crisis_text": "Crisis words",
    "possible_crisis": "Possible crisis words (the screen was not sure)",
    "mentor_concern": "Mentor concern",
    "self_discharge": "Early discharge",
    "custody_release": "Release from custody",
    "call_wanted": "Asked for a call",
    "client_note": "Note from client",
    "missed_checkins": "Missed check-ins",
}

SOURCE_LABELS = {
    "officer_outreach": "Officer outreach",
    "retail": "Retail business",
    "neighbourhood_team": "Neighbourhood policing team",
    "probation": "Probation",
    "word_of_mouth": "Word of mouth",
}

QUESTION_LABELS = {
    "ons_happy": "Happy", "ons_anxious": "Anxious", "ons_satisfied": "Satisfied",
    "ons_worthwhile": "Worthwhile", "craving_24h": "Craving", "used_since_last": "Used",
    "safe_now": "Safe now", "call_wanted": "Wants a call", "note_for_officer": "Note",
    "readiness": "Readiness", "confidence": "Confidence", "housing_lost": "Housing lost",
    "time_with_users": "Time with users", "appointment_confirmed": "Coming",
    "appointment_travel": "Getting there", "consent": "Consent",
    "preferred_channel": "Channel", "checkin_time": "Check-in time",
}

ACK_METHOD_LABELS = {"telegram_button": "Telegram button", "call_now": "\"I'll call now\"",
                     "sms": "SMS reply", "web": "Admin panel", "cli": "Command line"}


def label(code: str | None, table: dict[str, str]) -> str:
    if code is None or code == "":
        return "—"
    return table.get(code, code.replace("_", " ").capitalize())


def stage(code: str | None) -> str:
    return label(code, STAGE_LABELS)


def status(code: str | None) -> str:
    return label(code, STATUS_LABELS)


def reason(code: str | None) -> str:
    """The same words the officer's alert used (config texts), else ours."""
    from bot.core.texts import has_text, render

    if code and code not in REASON_LABELS and has_text(f"reason.{code}"):
        text = render(f"reason.{code}")
        return text[:1].upper() + text[1:]
    return label(code, REASON_LABELS)


def source(code: str | None) -> str:
    return label(code, SOURCE_LABELS)


# Short names for the ONS4 items (ONS's own: life satisfaction, worthwhile, happiness, anxiety).
ONS4_ITEMS = {"satisfied": "Life satisfaction", "worthwhile": "Worthwhile",
              "happy": "Happiness", "anxious": "Anxiety"}
SUBSCALE_LABELS = {"P": "Positive feelings (P)", "N": "Negative feelings (N)",
                   "B": "Balance (B = P - N)", "anxiety": "Anxiety", "depression": "Depression"}


def scale_short(scale_id: str) -> str:
    """'PHQ-4', 'K10', 'SPANE-12': a scale's title without its bracketed detail."""
    from flows.scales import SCALES

    scale = SCALES.get(scale_id)
    return scale.title.split(" (")[0] if scale else label(scale_id, {})


def question(code: str | None) -> str:
    """A question key in words; a scale item ("phq4_nervous") by the scale's own item label."""
    if code and code not in QUESTION_LABELS:
        from flows.scales import SCALES

        for scale_id, scale in SCALES.items():
            if code.startswith(scale_id + "_"):
                item_id = code[len(scale_id) + 1:]
                if scale_id == "ons4" and item_id in ONS4_ITEMS:
                    return f"ONS4 {ONS4_ITEMS[item_id].lower()}"
                try:
                    return f"{scale_short(scale_id)}: {scale.item(item_id).label}"
                except ValueError:
                    break
    return label(code, QUESTION_LABELS)


def band(code: str | None) -> str:
    return label(code, {"very_high": "Very high", "very_low": "Very low"}).lower()


def role(code: str | None) -> str:
    return label(code, ROLE_LABELS)


def language_choices() -> list[tuple[str, str]]:
    """(code, name in English) for every locale with texts, English first."""
    from babel import Locale

    from bot.core.texts import available_locales

    codes = sorted(available_locales(), key=lambda c: (c != "en_GB", c))
    return [(c, Locale.parse(c).get_display_name("en") or c) for c in codes]


def language(code: str | None) -> str:
    return dict(language_choices()).get(code or "", code or "—")


# A guessed language of someone's words (flows.detector.Screens.guess_language), in words.
GUESSED_LANGUAGE = {
    "en": "English", "pl": "Polish", "ro": "Romanian", "ur": "Urdu",
    "ur-Latn": "Urdu (romanised)", "pa-Latn": "Punjabi (romanised)",
    "ur+pa-Latn": "Urdu or Punjabi (romanised)", "pa-Guru": "Punjabi (Gurmukhi)",
    "pa-Arab": "Punjabi (Shahmukhi)",
}


def message_language(code: str | None) -> str:
    """The language of a message on the timeline: a text from a catalog by the catalog's own
    name ("Polski", "English" when an unreviewed translation went in English); a person's
    words as a guess ("looks like Urdu (romanised)"); nothing when unknown."""
    if not code:
        return ""
    if "_" in code:
        from flows.language_keyword import own_name

        try:
            return own_name(code)
        except ValueError:
            return code
    return f"looks like {GUESSED_LANGUAGE.get(code, code)}"


# Where an escalation came from, as the queue card says it ("raised from ...").
ESCALATION_SOURCE_LABELS = {
    "answer": "a message or answer", "message": "a message", "delivery": "a failed delivery",
    "discharge_event": "a discharge", "mentor": "a peer mentor",
    "mentor_concern": "a peer mentor", "aftercare": "aftercare", "unmatched": "an unknown number",
}
CHANNEL_LABELS = {"sms": "SMS", "telegram": "Telegram", "sim": "Simulator"}


def escalation_source(code: str | None) -> str:
    return label(code, ESCALATION_SOURCE_LABELS).lower()


def channel(code: str | None) -> str:
    return label(code, CHANNEL_LABELS)


def passed_on(level: int | None) -> str:
    """An alert chain level in words: 0 is the first alert, then each step up the chain."""
    return "first alert" if not level else f"passed on (step {level + 1})"


def words(code: str | None) -> str:
    """A stored code ("client.profile_changed", "link_code") said in words, for the audit log."""
    if not code:
        return "—"
    text = code.replace(".", " ").replace("_", " ").replace(":", " ")
    return text[:1].upper() + text[1:]
