"""Scheduling at scale: 10,000 clients with a daily check-in and three appointments each.

Reports, on a temporary SQLite database (WAL, synchronous=FULL, as in production):
- the time for the real daily planner (reminders.planner.plan_day) to compute and store one
  day's check-ins and scales for every client, and a re-run (idempotent: nothing new);
- the time for the clock loop to find due rows (the claim query of bot.core.timers.run_due) when
  nothing is due, and at the morning peak; and one real claim of 500 due check-ins run
  through their handlers (flow started, first question queued);
- peak memory: Python allocations while planning (tracemalloc) and the process's peak RSS.

Run: .venv/bin/python -m bench.schedule [--clients 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.core import timers
from bot.core.clock import iso
from bot.core.db import Database, Tx
from config.settings import Settings
from reminders import planner
from reminders.schedule import checkins_for_day
from reminders.schedule.events import appointment_reminders
from reminders.schedule.plans import APPOINTMENT_KINDS
from reminders.timer_rows import config, store

TZ = "Europe/London"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # the planner's run, the day before
DAY = date(2026, 11, 26)
CLAIM = ("SELECT id, key, kind, client_id, due_at, payload, attempts FROM timers"
         " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?")


def settings_for(db_path: Path) -> Settings:
    return Settings(db_path=db_path, public_url=None, timezone=TZ, mode="production",
                    simulator=False, secret_key="b" * 40)


async def seed(db: Database, clients: int, appointments_each: int) -> int:
    """Clients with spread check-in times (08:00-20:00), some with their own quiet hours, and
    their appointments planned as reminder rows. Returns how many reminder rows were written."""
    rnd = random.Random(4)
    stamp = iso(NOW - timedelta(days=30))

    async def people(tx: Tx) -> None:
        await tx.execute("INSERT INTO staff (id, name, role, created_at)"
                         " VALUES (1, 'Bench Officer', 'officer', ?)", (stamp,))
        await tx.executemany(
            "INSERT INTO clients (id, ref, first_name, officer_id, stage, status, consent_at,"
            " consent_wording, consent_method, discreet, checkin_time, quiet_start, quiet_end,"
            " created_at) VALUES (?, ?, 'Client', 1, 'engagement', 'active', ?, 'bench', 'bench',"
            " 1, ?, ?, ?, ?)",
            [(i, f"B-{i:05d}", stamp, f"{8 + (i % 25) // 2:02d}:{30 * (i % 2):02d}",
              "22:00" if i % 10 == 0 else None, "09:00" if i % 10 == 0 else None, stamp)
             for i in range(1, clients + 1)])
        await tx.executemany(
            "INSERT INTO identities (client_id, channel, address, created_at)"
            " VALUES (?, 'sms', ?, ?)",
            [(i, f"+4477009{i:05d}", stamp) for i in range(1, clients + 1)])

    await db.write(people)
    kinds = APPOINTMENT_KINDS
    cfg = config()
    appts: list[tuple[int, int, str, datetime]] = []
    for cid in range(1, clients + 1):
        for j in range(appointments_each):
            at = (NOW + timedelta(days=rnd.randint(1, 60))).replace(
                hour=rnd.randint(9, 16), minute=rnd.choice((0, 15, 30, 45)))
            appts.append((len(appts) + 1, cid, kinds[(cid + j) % len(kinds)], at))

    async def appointments(tx: Tx) -> int:
        await tx.executemany(
            "INSERT INTO appointments (id, client_id, kind, at, created_by, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 'bench', ?, ?)",
            [(a, c, k, iso(at), stamp, stamp) for a, c, k, at in appts])
        written = 0
        for a, c, k, at in appts:  # the per-appointment planning add_appointment does
            sends = appointment_reminders(a, k, at, cfg.plan(k), cfg.quiet, TZ, NOW,
                                          late_grace=cfg.late_grace, client_id=c)
            written += await store(tx, NOW, sends, "replace", {"appointment": a})
        return written

    return int(await db.write(appointments))


async def timed(fn: Callable[[], Awaitable[Any]], runs: int = 1) -> tuple[float, Any]:
    """Median wall time in seconds over `runs`, and the last result."""
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


async def run(clients: int, appointments_each: int) -> None:
    import reminders.jobs

    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        async with Database(db_path, settings_for(db_path)) as db:
            t_seed, reminders = await timed(lambda: seed(db, clients, appointments_each))
            print(f"setup: {clients} clients, {clients * appointments_each} appointments,"
                  f" {reminders} reminder rows planned in {t_seed:.2f} s")

            t_plan, planned = await timed(lambda: db.write(
                lambda tx: planner.plan_day(tx, NOW, DAY)))
            print(f"plan one day (compute + store, real planner): {t_plan * 1000:.0f} ms"
                  f" for {planned} check-ins and scales"
                  f" ({planned / t_plan:,.0f} rows/s)")
            t_again, _ = await timed(lambda: db.write(lambda tx: planner.plan_day(tx, NOW, DAY)))
            new_rows = await db.value("SELECT COUNT(*) FROM timers WHERE kind IN"
                                      " ('checkin', 'scale')")
            print(f"re-run of the same day (idempotent): {t_again * 1000:.0f} ms,"
                  f" rows now {new_rows} (was {planned})")

            # The plan timer writes a slice of clients per transaction: the longest an inbound
            # message (a crisis included) can wait behind planning.
            t_slice, _ = await timed(lambda: db.write(lambda tx: planner.run_plan(
                tx, NOW, DAY + timedelta(days=1), after=0)))
            print(f"one slice of the plan timer ({planner.PLAN_SLICE} clients, one transaction):"
                  f" {t_slice * 1000:.0f} ms")

            pending = await db.value("SELECT COUNT(*) FROM timers WHERE status = 'pending'")
            idle_at = NOW
            t_idle, _ = await timed(lambda: db.write(
                lambda tx: tx.all(CLAIM, (iso(idle_at), timers.CLAIM_BATCH))), runs=50)
            t_tick, _ = await timed(lambda: timers.tick(db, idle_at), runs=20)
            peak = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
            due = await db.value("SELECT COUNT(*) FROM timers WHERE status = 'pending'"
                                 " AND due_at <= ?", (iso(peak),))
            t_find, rows = await timed(lambda: db.write(
                lambda tx: tx.all(CLAIM, (iso(peak), timers.CLAIM_BATCH))), runs=50)
            print(f"claim loop, find due rows among {pending} pending:"
                  f" nothing due {t_idle * 1000:.2f} ms (whole idle tick with heartbeat"
                  f" {t_tick * 1000:.2f} ms); morning peak, {due} due, first batch of"
                  f" {len(rows)} found in {t_find * 1000:.2f} ms")

            t_run, ran = await timed(lambda: db.write(
                lambda tx: timers.run_due(tx, peak, limit=timers.CLAIM_BATCH)))
            print(f"claim and run {ran} due check-ins (flow started, question queued):"
                  f" {t_run * 1000:.0f} ms ({ran / t_run:,.0f} rows/s)")

            # Memory of the planning itself (pure part), measured apart: tracemalloc slows it.
            schedules = await db.write(planner.client_schedules)
            cfg = config()
            tracemalloc.start()
            sends = list(checkins_for_day(schedules, DAY, TZ, cfg.checkins, cfg.quiet))
            _, peak_py = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"peak Python memory computing one day ({len(sends)} sends):"
                  f" {peak_py / 2**20:.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak process RSS: {rss:.0f} MiB")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.schedule", description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--appointments", type=int, default=3, help="per client")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    asyncio.run(run(args.clients, args.appointments))
    print(f"total: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
