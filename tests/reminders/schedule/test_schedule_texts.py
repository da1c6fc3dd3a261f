"""reminders.po: a text and a discreet variant per planned key; discretion; SMS length."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.core.texts import catalog
from reminders.schedule.events import MISSED_SESSION_MESSAGE
from reminders.schedule.plans import load_config
from reminders.texts import render_reminder

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SENSITIVE = re.compile(
    r"court|rehab|police|drug|probation|injection|depot|warrant|arrest|custody|prison|detox|"
    r"offend|assessment|aftercare|recovery",
    re.IGNORECASE,
)
WORST = {"first_name": "Christopher", "when": "Wednesday 24 September at 10:00", "where": "",
         "what": "your next-step meeting",
         "alias": ", " + "x" * 40}  # reminders.calendar.MAX_ALIAS


def planned_keys() -> list[str]:
    cfg = load_config()
    keys = {e.message_key for plan in cfg.plans.values() for e in plan.entries}
    return sorted(keys | {MISSED_SESSION_MESSAGE})


def reminder_texts() -> dict[str, str]:
    return {k: v for k, v in catalog("en_GB").items() if k.startswith("reminder.")}


@pytest.mark.parametrize("key", planned_keys())
def test_every_planned_message_has_text_and_discreet_variant(key):
    texts = reminder_texts()
    assert key in texts
    assert f"{key}.discreet" in texts


@pytest.mark.parametrize("key", sorted(k for k in reminder_texts() if k.endswith(".discreet")))
def test_discreet_variants_give_nothing_away(key):
    text = reminder_texts()[key]
    assert not SENSITIVE.search(text), text
    assert "{where}" not in text  # a place name can itself be revealing


@pytest.mark.parametrize("key", sorted(reminder_texts()))
def test_gsm7_and_one_sms(key):
    text = reminder_texts()[key].format(**WORST)
    assert set(text) <= GSM7, set(text) - GSM7
    assert len(text) <= 160, (len(text), text)


@pytest.mark.parametrize("key", ["reminder.court.7d", "reminder.court.1d", "reminder.court.2h"])
def test_court_texts_state_consequence_and_prompt_a_plan(key):
    text = reminder_texts()[key]
    assert "warrant" in text
    if not key.endswith("2h"):
        assert "get there" in text


def test_render_with_date_and_place():
    at = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    full = render_reminder(
        "reminder.court.1d",
        first_name="Danny",
        event_at=at,
        tz="Europe/London",
        place="Victoria Law Courts",
    )
    assert full.startswith("Danny, court is on Tuesday 4 March at 10:00, Victoria Law Courts.")
    quiet = render_reminder(
        "reminder.court.1d",
        first_name="Danny",
        event_at=at,
        tz="Europe/London",
        place="Victoria Law Courts",
        discreet=True,
    )
    assert "Tuesday 4 March at 10:00" in quiet and "Victoria" not in quiet
    summer = render_reminder(
        "reminder.other.2h",
        first_name="Jo",
        event_at=datetime(2025, 7, 4, 9, 0, tzinfo=UTC),
        tz="Europe/London",
    )
    assert "Friday 4 July at 10:00." in summer
