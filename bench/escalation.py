"""Escalation latency: from a crisis SMS's webhook being accepted to the officer's Telegram
alert being handed to the provider, while ordinary check-in replies arrive in the background.

Run: .venv/bin/python -m bench.escalation [--samples 40] [--background 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import (
    encode_post,
    fake_providers,
    free_port,
    paced,
    server,
    server_env,
    signed_sms,
)
from bench.seed import seed
from config.settings import load_settings

PATH = "/webhooks/twilio/sms"
OFFICER_CHAT = 880000


def fetch_json(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(url) as r:
        return json.load(r)  # type: ignore[no-any-return]


async def main(samples: int, background: float, clients: int = 900,
               db_url: str | None = None) -> dict[str, float]:
    """`db_url`: a PostgreSQL database (bench.postgres) instead of a SQLite file."""
    with tempfile.TemporaryDirectory() as tmp, fake_providers() as urls:
        tmpdir = Path(tmp)
        db: Any = db_url or tmpdir / "o2r.db"
        env = server_env(db, urls["twilio"], urls["telegram"])
        env["O2R_VAR_DIR"] = tmp
        settings = load_settings(env, env_file=tmpdir / "none")
        phones = await seed(db, settings, clients, str(OFFICER_CHAT), officers=samples)
        port = free_port()
        # Clients 0..samples-1 send crisis words, one officer each (Telegram allows a chat
        # about one message a second); the rest answer check-ins in the background.
        crisis = [encode_post(port, PATH, *signed_sms(phones[i], "I can't go on any more",
                                                      f"SC{i:032d}")) for i in range(samples)]
        others = phones[samples:]
        answers = ["7", "3", "2", "1"]
        noise = [encode_post(port, PATH, *signed_sms(
            others[i % len(others)], answers[(i // len(others)) % 4], f"SN{i:032d}"))
            for i in range(int(background * (samples * 0.5 + 5)))]
        accepted: dict[int, float] = {}
        with server(["-m", "bot.cli", "serve", "--port", str(port)], env, port):
            stop = asyncio.Event()
            bg = asyncio.create_task(paced(port, noise, background, stop))
            await asyncio.sleep(1.0)
            await paced(port, crisis, 2.0, asyncio.Event(), accepted, connections=1)
            await asyncio.sleep(2.0)
            stop.set()
            noise_sent = (await bg).count
            records = await asyncio.to_thread(fetch_json,
                                              urls["records"] + "/_records/telegram/sendMessage")
    latencies = []
    for i in range(samples):
        chat = str(OFFICER_CHAT + i)
        alerts = [rec["at"] for rec in records if str(rec["params"].get("chat_id")) == chat
                  and f"B-{i:04d}" in str(rec["params"].get("text"))]
        if i in accepted and alerts:
            latencies.append((min(alerts) - accepted[i]) * 1000)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0.0
    print(f"escalation latency (webhook accepted -> officer's alert at the provider), "
          f"{len(latencies)}/{samples} RED alerts, background check-in replies at"
          f" {background:.0f}/s ({noise_sent} sent):")
    print(f"  p50 {p50:.1f} ms   p99 {p99:.1f} ms   max {max(latencies, default=0):.1f} ms"
          "   (target: well under 1000 ms)")
    return {"p50_ms": p50, "p99_ms": p99, "delivered": float(len(latencies))}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--background", type=float, default=100.0)
    a = ap.parse_args()
    asyncio.run(main(a.samples, a.background))
