"""What the engine and the risk rules know about the client: filled by the I/O layer per step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ClientView:
    first_name: str
    language: str = "en_GB"
    # Shared or watched phone: use the ".discreet" text variants.
    discreet: bool = False
    # Inside the 28 days after leaving rehab/custody/detox (or a self-discharge): safety item
    # asked daily, any reported use is AMBER with the tolerance message.
    in_heightened_window: bool = False
    # The client's own word for cravings ("urges", "the itch"), used in the craving question.
    codeword: str | None = None
    # Consent to messages recorded (onboarding). Other flows do not start without it.
    consented: bool = False
    # The assigned officer's first name, as the client knows them ("it's Sam"). "" = unknown.
    officer_first_name: str = ""


@dataclass(frozen=True)
class History:
    """Earlier answers the risk rules compare against. Every field is optional: an empty
    History disables the within-person rules, never the absolute thresholds.

    The I/O layer fills it from stored answers *before* the current session (the current
    session's answers come from the session itself).
    """

    # craving_24h answers from check-ins in the 7 days before now, oldest first.
    craving_last_7_days: tuple[int, ...] = ()
    # ons_happy answers from check-ins in the 7 days before now, oldest first.
    ons_happy_last_7_days: tuple[int, ...] = ()
    # ons_anxious from the previous calendar day's check-in (None: not answered that day).
    previous_ons_anxious: int | None = None
    # Latest known moment of use: the check-in time of the last "yes" to used_since_last, an
    # officer-recorded use, or the start of a rehab/custody stay (use stopped then at the
    # latest). None = nothing known.
    last_use_at: datetime | None = None
    # Last week's PHQ-4 subscales (0-6 each) from the previous weekly check-in.
    last_phq4_anxiety: int | None = None
    last_phq4_depression: int | None = None
    # Previous values for the YELLOW trend rules.
    last_readiness: int | None = None
    last_barc10_total: int | None = None
    last_spane_b: int | None = None
    # Most recent "time with people who use" answer within the last 7 days (weekly question).
    recent_time_with_users: bool | None = None
