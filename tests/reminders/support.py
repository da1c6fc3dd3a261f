"""Helpers for the reminder tests (tests/reminders/test_reminders_*.py): local times and a clock walk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import iso, parse_iso
from tests.conftest import Harness

LONDON = ZoneInfo("Europe/London")
SAM = "+447700900123"
OFFICER = "+447700900101"


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


async def advance_to(h: Harness, moment: datetime) -> None:
    """Move the clock to `moment` as a running service would see it: the clock loop ticks at
    every due timer on the way (not once at the end, which is what downtime looks like)."""
    target = moment.astimezone(UTC)
    for _ in range(2000):
        due = await h.db.value("SELECT MIN(due_at) FROM timers WHERE status = 'pending'")
        step = min(parse_iso(due), target) if due else target
        await h.advance(max(step - h.clock.now(), timedelta(0)))
        if step >= target and not await h.db.value(
                "SELECT 1 FROM timers WHERE status = 'pending' AND due_at <= ?",
                (iso(target),)):
            return
    raise AssertionError("the clock walk did not settle")


async def jump_to(h: Harness, moment: datetime) -> None:
    """Move the clock without ticking on the way (the service was down), then tick once."""
    h.clock.set(moment)
    await h.advance(timedelta(0))


def texts_to(h: Harness, phone: str, containing: str = "") -> list[str]:
    return [r.params["Body"] for r in h.twilio.sent("messages.create")
            if r.params["To"] == phone and containing in r.params["Body"]]
