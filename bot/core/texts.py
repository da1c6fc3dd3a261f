"""Every text a person receives comes from the Babel message catalogs under config/locale.

Catalogs are keyed by message id ("checkin.happy"), one .po file per area (messages.po, flows.po,
reminders.po ...); all .po files of a locale are merged. A key may have a discreet variant
("<key>.discreet") used for clients whose phone may be seen by others.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.messages.pofile import read_po

from config.paths import LOCALE_DIR
from flows.language_keyword import catalog_locales

DEFAULT_LOCALE = "en_GB"


class MissingText(KeyError):
    """A message key with no text in any catalog: a programming error, never sent as a blank."""


# Texts that keep someone safe (crisis, discharge safety, STOP/HELP confirmations, the safety
# questions). An unreviewed (fuzzy) translation of one is never sent: the client gets the
# English text with ENGLISH_NOTE, one line in their own language saying why. Any other
# unreviewed text is simply sent in English (a wrong question is safer untranslated than
# mistranslated, and a note on every message would cost a segment each). docs/translations.md.
SAFETY_KEYS = frozenset({
    "crisis.reply", "crisis.ack", "crisis.ack_overdose", "escalation.client_ack",
    "mentor.support_passed", "help.reply", "optout.confirm", "optin.confirm", "onboarding.done",
    "checkin.safe", "weekly.item9", "onboarding.consent_v1",
})
SAFETY_PREFIXES = ("crisis.", "safety.", "discharge.")
ENGLISH_NOTE = "common.english_note"


def is_safety(key: str) -> bool:
    base = key.removesuffix(".discreet")
    return base in SAFETY_KEYS or base.startswith(SAFETY_PREFIXES)


@cache
def _entries(locale: str) -> tuple[Mapping[str, str], Mapping[str, str]]:
    """(reviewed, drafts) of a locale: an entry is reviewed when it has a text and no fuzzy
    flag (a translator unticks "Needs work" in Poedit / "Needs editing" in Weblate)."""
    reviewed: dict[str, str] = {}
    drafts: dict[str, str] = {}
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as fh:
            cat = read_po(fh, locale=locale)
        for msg in cat:
            if not msg.id:
                continue
            if msg.id in reviewed or msg.id in drafts:
                raise ValueError(f"message id {msg.id!r} defined twice (again in {po.name})")
            if msg.string and not msg.fuzzy:
                reviewed[str(msg.id)] = str(msg.string)
            else:
                drafts[str(msg.id)] = str(msg.string or "")
    return reviewed, drafts


def catalog(locale: str) -> Mapping[str, str]:
    """The reviewed texts of a locale: the only ones ever sent."""
    return _entries(locale)[0]


def drafts(locale: str) -> Mapping[str, str]:
    """Entries not yet reviewed (fuzzy or empty): never sent, except ENGLISH_NOTE."""
    return _entries(locale)[1]


@cache
def _locales() -> frozenset[str]:
    return frozenset(catalog_locales())


def available_locales() -> list[str]:
    return sorted(_locales())


def has_text(key: str, locale: str = DEFAULT_LOCALE) -> bool:
    return key in catalog(locale) or key in catalog(DEFAULT_LOCALE)


def render(
    key: str,
    params: Mapping[str, Any] | None = None,
    *,
    locale: str | None = None,
    discreet: bool = False,
) -> str:
    """The text for `key` in `locale` (falling back to en_GB), discreet variant when asked and present."""
    return rendered(key, params, locale=locale, discreet=discreet)[0]


def rendered(
    key: str,
    params: Mapping[str, Any] | None = None,
    *,
    locale: str | None = None,
    discreet: bool = False,
) -> tuple[str, str]:
    """`render`, and the catalog the text came from: en_GB when an unreviewed translation fell
    back to English (stored with the message, shown on the panel)."""
    loc = locale if locale and locale in _locales() else DEFAULT_LOCALE
    keys = ([f"{key}.discreet"] if discreet else []) + [key]
    for k in keys:
        if k in catalog(loc):
            return catalog(loc)[k].format(**(params or {})), loc
        if k in catalog(DEFAULT_LOCALE):
            text = catalog(DEFAULT_LOCALE)[k].format(**(params or {}))
            note = english_note(loc) if is_safety(k) else None
            return (f"{text}\n{note}" if note else text), DEFAULT_LOCALE
    raise MissingText(key)


def english_note(locale: str) -> str | None:
    """The one line told with a safety text sent in English: the reviewed note, else its
    draft (it only says the message is in English; a safety text itself never goes as a
    draft); None for English or a language without one."""
    if locale == DEFAULT_LOCALE or locale not in _locales():
        return None
    return catalog(locale).get(ENGLISH_NOTE) or drafts(locale).get(ENGLISH_NOTE) or None


def format_when(moment: datetime, tz: str, locale: str | None = None) -> str:
    """'Tuesday 3 March at 10:00' in the client's locale and the programme's time zone."""
    loc = Locale.parse(locale or DEFAULT_LOCALE)
    local = moment.astimezone(ZoneInfo(tz))
    day = format_datetime(local, "EEEE d MMMM", locale=loc)
    clock = format_datetime(local, "HH:mm", locale=loc)
    return render("common.date_at_time", {"day": day, "time": clock}, locale=str(loc))
