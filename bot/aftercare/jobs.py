"""Service start for aftercare (bot.service.START_MODULES): importing the modules registers
their timer handlers (meetings, registers, mentor prompts, milestones); `on_start` makes sure
today's meeting top-up has run, which in turn keeps every mentor's prompt chain scheduled."""

from __future__ import annotations

from datetime import datetime

from bot.aftercare import meetings, mentor_chat, milestones
from bot.core.db import Database

HANDLER_MODULES = (meetings, mentor_chat, milestones)


async def on_start(db: Database, now: datetime) -> None:
    await db.write(lambda tx: meetings.ensure_plan(tx, now))
