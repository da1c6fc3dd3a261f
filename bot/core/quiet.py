"""A client's quiet hours, read in one place: their own if set and valid, else the default."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from bot.core.db import Tx
from reminders.schedule.plans import load_config
from reminders.schedule.quiet_hours import QuietHours, next_allowed

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def default_quiet() -> QuietHours:
    return load_config().quiet


def quiet_override(start: str | None, end: str | None) -> QuietHours | None:
    """A client's own quiet hours, if both ends are set and valid (else the default applies).
    A bad value never stops a message or a plan: it is logged and the default is used."""
    if not start or not end:
        return None
    try:
        return QuietHours.parse(start, end)
    except ValueError:
        log.warning("ignoring invalid quiet hours %r-%r", start, end)
        return None


async def client_quiet(tx: Tx, client_id: int | None) -> QuietHours:
    if client_id is None:
        return default_quiet()
    row = await tx.one("SELECT quiet_start, quiet_end FROM clients WHERE id = ?", (client_id,))
    return (quiet_override(row[0], row[1]) if row else None) or default_quiet()


async def allowed_from(tx: Tx, client_id: int | None, moment: datetime) -> datetime:
    """`moment`, or the end of the client's quiet hours if it falls inside them."""
    return next_allowed(moment, await client_quiet(tx, client_id), tx.settings.timezone)
