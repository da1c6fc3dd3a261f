"""Rendering reminder texts (config/locale/*/LC_MESSAGES/reminders.po) for one client.

Every reminder text takes {first_name}, {when} ("Tuesday 3 March at 10:00", Babel, client's
locale) and {where} (", <place>" or ""); discreet variants never show the place, which can itself
give away a court, a drug service or a probation office.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.texts import format_when, render


def reminder_params(
    first_name: str,
    event_at: datetime | None,
    tz: str,
    locale: str | None = None,
    place: str | None = None,
    kind: str | None = None,
    alias: str | None = None,
) -> dict[str, str]:
    """{what} is the kind's discreet label ("your regular catch-up"), {alias} the place's alias
    (", the usual place on Broad St"); only discreet texts use them, and never {where}."""
    return {
        "first_name": first_name,
        "when": format_when(event_at, tz, locale) if event_at is not None else "",
        "where": f", {place.strip()}" if place and place.strip() else "",
        "what": render(f"reminder.what.{kind}", locale=locale, discreet=True) if kind else "",
        "alias": f", {alias.strip()}" if alias and alias.strip() else "",
    }


def render_reminder(
    message_key: str,
    *,
    first_name: str,
    event_at: datetime | None,
    tz: str,
    locale: str | None = None,
    place: str | None = None,
    discreet: bool = False,
    kind: str | None = None,
    alias: str | None = None,
) -> str:
    """The text of a PlannedSend's message_key for this client."""
    params = reminder_params(first_name, event_at, tz, locale, place, kind, alias)
    return render(message_key, params, locale=locale, discreet=discreet)
