"""aftercare.po: every key the code uses exists, GSM-7, one SMS where it can be, discreet where it
goes to a client's lock screen, and nothing in a group chat that names anyone's case."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from bot.core.segments import is_gsm7
from bot.core.texts import catalog, render
from config.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
PO = ROOT / "config" / "locale" / "en_GB" / "LC_MESSAGES" / "aftercare.po"
with PO.open("rb") as _fh:
    KEYS = sorted(str(m.id) for m in read_po(_fh, locale="en_GB") if m.id)
CODE = [ROOT / "bot" / "aftercare" / name for name in (
    "mentors.py", "groups.py", "group_chat.py", "enrolment.py", "meetings.py", "mentor_chat.py",
    "milestones.py")]
PARAMS = {"first_name": "Christopher", "officer_first_name": "Samantha", "emergency": "999",
          "member": "Alexandra", "group": "Tuesday evening group", "day": "Wednesday 24 September"
          " at 18:00", "when": "Wednesday 24 September at 18:00", "where": ", Hope Centre",
          "came": 12, "missed": 3, "days": 365, "since": "27 September 2026", "inbound": 12345,
          "list": "1 Alexandra"}
# A numbered list of names can run to more than one SMS; everything else fits in one.
LONG_OK = {"mentor.register", "mentor.concern", "mentor.members_group"}
GROUP_NEVER = re.compile(r"check-?in|score|stage|alert|escalat|officer|police|rehab|drug|"
                         r"recovery|aftercare|concern|missed|worried|support", re.IGNORECASE)
DISCREET_NEVER = re.compile(r"recovery|aftercare|rehab|drug|police|court|probation",
                            re.IGNORECASE)


def used_keys() -> set[str]:
    found: set[str] = set()
    for path in CODE:
        code = path.read_text()
        found |= set(re.findall(r'"((?:mentor|group|milestone|aftercare)\.[a-z0-9_.]+)"', code))
        # Audit action names look the same; they are not texts.
        found -= set(re.findall(r'audit\(\s*tx,\s*now,\s*[^,]+,\s*"([a-z_.]+)"', code))
    found |= {f"mentor.button_wellbeing_{n}" for n in (1, 2, 3)}
    found |= {f"milestone.button_{n}" for n in (1, 2, 3)}
    found |= {"group.meeting.1d", "group.meeting.2h", "reason.missed_group_meetings",
              "reason.mentor_support"}
    return found - {"mentor.edit"}  # a label for message edits, not a text


def test_every_key_the_code_uses_has_a_text_and_none_is_unused() -> None:
    bases = {k.removesuffix(".discreet") for k in KEYS}
    assert used_keys() - bases == set()
    assert bases - used_keys() == set()


@pytest.mark.parametrize("key", KEYS)
def test_gsm7_and_one_sms(key: str) -> None:
    text = catalog("en_GB")[key].format(**PARAMS)
    assert is_gsm7(text), key
    if key not in LONG_OK:
        assert len(text) <= 160, (key, len(text))


@pytest.mark.parametrize("key", KEYS)
def test_only_known_params(key: str) -> None:
    fields = {f for _, f, _, _ in string.Formatter().parse(catalog("en_GB")[key]) if f}
    assert fields <= set(PARAMS), key


@pytest.mark.parametrize("key", [k for k in KEYS if k.startswith("group.")])
def test_group_chat_texts_never_mention_anyones_case(key: str) -> None:
    assert not GROUP_NEVER.search(render(key, PARAMS)), key


@pytest.mark.parametrize("key", [k for k in KEYS if k.endswith(".discreet")])
def test_discreet_variants_give_nothing_away(key: str) -> None:
    assert not DISCREET_NEVER.search(catalog("en_GB")[key]), key
    assert key.removesuffix(".discreet") in KEYS


def test_discreet_milestone_does_not_say_recovery() -> None:
    assert "recovery" in render("milestone.days", PARAMS)
    assert "recovery" not in render("milestone.days", PARAMS, discreet=True)
