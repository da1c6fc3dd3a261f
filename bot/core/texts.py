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

DEFAULT_LOCALE = "en_GB"


class MissingText(KeyError):
    """A message key with no text in any catalog: a programming error, never sent as a blank."""


@cache
def catalog(locale: str) -> Mapping[str, str]:
    merged: dict[str, str] = {}
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as fh:
            cat = read_po(fh, locale=locale)
        for msg in cat:
            if msg.id and msg.string and not msg.fuzzy:
                if msg.id in merged:
                    raise ValueError(f"message id {msg.id!r} defined twice (again in {po.name})")
                merged[str(msg.id)] = str(msg.string)
    return merged


@cache
def _locales() -> frozenset[str]:
    return frozenset(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())


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
    loc = locale if locale and locale in _locales() else DEFAULT_LOCALE
    keys = ([f"{key}.discreet"] if discreet else []) + [key]
    for k in keys:
        for cat in (catalog(loc), catalog(DEFAULT_LOCALE)):
            if k in cat:
                return cat[k].format(**(params or {}))
    raise MissingText(key)


def format_when(moment: datetime, tz: str, locale: str | None = None) -> str:
    """'Tuesday 3 March at 10:00' in the client's locale and the programme's time zone."""
    loc = Locale.parse(locale or DEFAULT_LOCALE)
    local = moment.astimezone(ZoneInfo(tz))
    day = format_datetime(local, "EEEE d MMMM", locale=loc)
    clock = format_datetime(local, "HH:mm", locale=loc)
    return render("common.date_at_time", {"day": day, "time": clock}, locale=str(loc))
