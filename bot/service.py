"""The running service: database, channels, dispatcher and clock loop, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import time as dt_time
from datetime import timedelta
from types import ModuleType

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import Bot

import reminders.jobs as reminders_jobs
from bot import conversation
from bot.aftercare import jobs as aftercare_jobs
from bot.aftercare import meetings, mentor_chat, milestones
from bot.channels.base import Sender
from bot.channels.dispatcher import Dispatcher
from bot.channels.simulator import SimulatorSender
from bot.core.clock import Clock, ShiftedClock, SystemClock, iso, next_local, parse_iso
from bot.core.db import Database
from bot.core.timers import tick
from bot.delivery import Hooks
from bot.escalation import alerts, inbox
from bot.inbound import InboundMessage, retry_failed, store_and_route
from bot.privacy import access_review, purge
from bot.router import route
from config.settings import Settings
from flows import intents

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0
# The demo's simulated clock opens at the next 09:55 local: the 10:00 check-ins come soon.
DEMO_OPENS = dt_time(9, 55)
# A demo clock walk stops ticking at each timer after this many (then jumps the rest).
MAX_WALK_STEPS = 5000
# The composition root. EVERY module that registers timer handlers is named here, so a handler
# never depends on some other module happening to import its owner (the RED re-escalation timer
# once existed only because the admin panel imported bot.escalation).
HANDLER_MODULES: tuple[ModuleType, ...] = (
    conversation,        # flow_start, flow_timeout (question reprompts and check-in expiry)
    alerts,              # ack_deadline (re-escalation), alert_digest
    inbox,               # inbox_digest (the morning list of unread client messages)
    reminders_jobs,      # reminder, checkin, scale, missed_checkin, missed_session, plan_day
    meetings,            # aftercare_plan, meeting_reminder, meeting_group_post
    mentor_chat,         # meeting_register, mentor_concern_prompt, mentor_wellbeing_check
    milestones,          # milestone
    purge,               # retention_purge (the daily retention schedule)
    access_review,       # access_review (dormant accounts, the quarterly prompt)
)
# Modules that check their own rows at start: each defines `async on_start(db, now)` (the
# reminder planner makes sure today's plan exists).
START_MODULES: tuple[ModuleType, ...] = (reminders_jobs, aftercare_jobs, purge, access_review)


class Service:
    def __init__(self, settings: Settings, clock: Clock | None = None,
                 tick_seconds: float = TICK_SECONDS) -> None:
        self.settings = settings
        # The demo can move time forward; production runs on the system clock.
        self.clock: Clock = clock or (ShiftedClock() if settings.mode == "demo" else SystemClock())
        # The demo's own clock is kept in the database (restarts, the CLI); a given one is not.
        self._demo_clock = clock is None and settings.mode == "demo"
        self.db = Database(settings.db_path, settings)
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.tick_seconds = tick_seconds
        self.last_tick = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._tick_lock = asyncio.Lock()

    async def start(self) -> None:
        # Before the first message, not on it: compiling the crisis screens takes about a second.
        await asyncio.to_thread(intents.warm)
        await self.db.open()
        if self._demo_clock:
            await self._restore_demo_clock()
        for module in START_MODULES:
            await module.on_start(self.db, self.clock.now())
        senders: dict[str, Sender] = {}
        if self.settings.simulator:
            senders["sim"] = SimulatorSender()
        if self.settings.twilio_enabled:
            from bot.channels.twilio_sms import TwilioSender

            senders["sms"] = TwilioSender(self.settings)
        if self.settings.telegram_enabled:
            from bot.channels.telegram import TelegramSender, make_bot

            self.bot = make_bot(self.settings)
            senders["telegram"] = TelegramSender(self.bot)
        # Escalation's SMS fallback for a failed alert, receipts and the other-channel
        # fallback are handed in here, so sending never imports the layers above it.
        self.dispatcher = Dispatcher(self.db, senders, self.settings, self.clock, hooks=Hooks())
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatcher"))
        # APScheduler is only the clock: every few seconds it asks for due rows; no job store.
        self.scheduler = AsyncIOScheduler()
        self.scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds,
                               id="tick", max_instances=1, coalesce=True,
                               misfire_grace_time=None)
        self.scheduler.start()
        await self.tick()
        log.info("service started: channels %s, database %s", sorted(senders),
                 self.settings.db_path)

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            for sender in self.dispatcher.senders.values():
                with contextlib.suppress(Exception):
                    await sender.close()
            self.dispatcher = None
        await self.db.close()

    async def receive(self, msg: InboundMessage) -> tuple[int, bool]:
        """Store and route one inbound message; returns after the commit."""
        result = await self.db.write(lambda tx: store_and_route(tx, msg, self.clock.now(), route))
        self.wake()
        return result

    def wake(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def tick(self) -> int:
        """Run due timers and retry failed inbound routing; the scheduler calls this."""
        async with self._tick_lock:
            now = self.clock.now()
            ran = await tick(self.db, now)
            await retry_failed(self.db, now, route)
            self.last_tick = time.monotonic()
        if ran:
            self.wake()
        return ran

    async def _restore_demo_clock(self) -> None:
        """Demo: the simulated clock where it was left, or on a first run the next DEMO_OPENS
        local, so the first check-ins arrive within minutes of a newcomer starting."""
        assert isinstance(self.clock, ShiftedClock)
        stored = await self.db.value("SELECT offset_seconds FROM demo_clock WHERE id = 1")
        if stored is None:
            real = SystemClock().now()
            opens = next_local(real, DEMO_OPENS, self.settings.timezone)
            self.clock.offset = opens - real
            await self._store_demo_clock()
        else:
            self.clock.offset = timedelta(seconds=float(stored))

    async def _store_demo_clock(self) -> None:
        assert isinstance(self.clock, ShiftedClock)
        offset = self.clock.offset.total_seconds()
        await self.db.write(lambda tx: tx.execute(
            "INSERT INTO demo_clock (id, offset_seconds, updated_at) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET offset_seconds = excluded.offset_seconds,"
            " updated_at = excluded.updated_at", (offset, iso(SystemClock().now()))))

    async def advance_clock(self, delta: timedelta) -> int:
        """Demo and tests: move time forward and run whatever became due."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise RuntimeError("this clock cannot be moved")
        advance(delta)
        if self._demo_clock:
            await self._store_demo_clock()
        return await self.tick()

    async def walk_clock(self, delta: timedelta) -> int:
        """Demo: move time forward as a running service would live through it, ticking at each
        due timer on the way, so each day's planning runs in turn and that day's check-ins are
        sent rather than skipped as late (advance_clock alone is what downtime looks like)."""
        target = self.clock.now() + delta
        ran = 0
        for _ in range(MAX_WALK_STEPS):
            # The next timer strictly ahead: one already due ran (or retries) at this tick.
            due = await self.db.value("SELECT MIN(due_at) FROM timers WHERE status = 'pending'"
                                      " AND due_at > ?", (iso(self.clock.now()),))
            step = min(parse_iso(due), target) if due else target
            ran += await self.advance_clock(step - self.clock.now())
            if step >= target:
                return ran
        return ran + await self.advance_clock(max(target - self.clock.now(), timedelta(0)))

    def health(self) -> dict[str, str]:
        checks = {
            "database": "ok" if self.db.is_open else "down",
            "dispatcher": "ok" if self.dispatcher and self.dispatcher.healthy else "stalled",
            "scheduler": "ok" if time.monotonic() - self.last_tick < max(30, 5 * self.tick_seconds)
            else "stalled",
        }
        return checks
