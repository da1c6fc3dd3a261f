"""Pacing: 120 sends due at once against fake providers that refuse (429) the (N+1)th request in
any window, through the real twilio and python-telegram-bot clients and the real dispatcher.

Reports the refusals (the target is zero) and the achieved fraction of the configured rate,
n / (last arrival - first arrival + window) / rate (the target is >= 95%).

Run: .venv/bin/python -m bench.pacing [--sends 120] [--sms-rate 10] [--telegram-rate 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import fake_providers, server_env
from bot.core.identities import Identity
from bot.core.outbox import enqueue
from bot.service import Service
from config.settings import load_settings


async def run(channel: str, sends: int, rate: int, db: Path) -> tuple[int, float, float]:
    fake = "twilio" if channel == "sms" else "telegram"
    method = "messages.create" if channel == "sms" else "sendMessage"
    # The providers in a process of their own, as they would be on another machine.
    with fake_providers(f"{fake}={rate}") as urls:
        env = server_env(db, urls["twilio"], urls["telegram"])
        env.update({"O2R_TWILIO_RATE": f"{rate}/s" if channel == "sms" else "1/s",
                    "O2R_TELEGRAM_RATE": f"{rate}/s" if channel == "telegram" else "25/s"})
        service = Service(load_settings(env))
        await service.start()
        try:
            addresses = ([f"+447700{900000 + n:06d}" for n in range(sends)] if channel == "sms"
                         else [str(700000 + n) for n in range(sends)])

            async def queue(tx):  # type: ignore[no-untyped-def]
                for n, address in enumerate(addresses):
                    await enqueue(tx, service.clock.now(),
                                  Identity(None, channel, address, None, None, False),
                                  f"Your check-in is ready ({n})")
            await service.db.write(queue)
            started = time.perf_counter()
            service.wake()
            dispatcher = service.dispatcher
            assert dispatcher is not None
            for _ in range(int((sends / rate * 3 + 10) / 0.05)):  # give up at 3x the ideal
                if dispatcher.sent >= sends:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            await service.stop()
        async with httpx.AsyncClient(base_url=urls["records"]) as http:
            times = sorted(r["at"] for r in (await http.get(f"/_records/{fake}/{method}")).json())
            refused = int((await http.get(f"/_refused/{fake}/{method}")).json())
    achieved = len(times) / (times[-1] - times[0] + 1.0) / rate if len(times) == sends else 0.0
    return refused, achieved, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=120)
    parser.add_argument("--sms-rate", type=int, default=10)
    parser.add_argument("--telegram-rate", type=int, default=30)
    args = parser.parse_args()
    failed = 0
    for channel, rate in (("sms", args.sms_rate), ("telegram", args.telegram_rate)):
        with tempfile.TemporaryDirectory() as tmp:
            refused, achieved, elapsed = asyncio.run(
                run(channel, args.sends, rate, Path(tmp) / "o2r.db"))
        ok = refused == 0 and achieved >= 0.95
        failed += not ok
        print(f"{channel:8} {args.sends} sends at {rate}/s: {refused} refused (429),"
              f" {achieved:.1%} of the rate, {elapsed:.1f} s  {'ok' if ok else 'BELOW TARGET'}")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
