"""Inbound hot path: signed SMS -> verified, committed, stepped through its flow, reply queued.

Two measures. Steady: signed SMS at a fixed 200 a second (open loop) to the real service, with
latency percentiles (target: p99 far under 50 ms). Saturated: the real service against the bare
app (verify + insert only) under the same closed-loop load, both throughputs and their ratio
(target: at least 0.5).
Run: .venv/bin/python -m bench.inbound [--clients 900] [--requests 2700] [--concurrency 32]
                                       [--rounds 3] [--steady 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
from pathlib import Path

from bench.common import (
    LoadResult,
    encode_post,
    fake_providers,
    free_port,
    median,
    paced,
    post_all,
    server,
    server_env,
    signed_sms,
)
from bench.seed import seed
from config.settings import load_settings

PATH = "/webhooks/twilio/sms"

OFFICER_CHAT = "880001"


def report(name: str, r: LoadResult) -> None:
    print(f"  {name:<28} {r.ok:>6}/{r.count} ok  {r.rate:8.1f} req/s"
          f"  p50 {r.pct(50):6.1f} ms  p99 {r.pct(99):7.1f} ms")


async def steady(clients: int, per_second: float, seconds: float = 6.0) -> LoadResult:
    """The real service at a fixed arrival rate, well below saturation: what a client waits."""
    with tempfile.TemporaryDirectory() as tmp, fake_providers() as urls:
        tmpdir = Path(tmp)
        env = server_env(tmpdir / "o2r.db", urls["twilio"], urls["telegram"])
        settings = load_settings(env, env_file=tmpdir / "none")
        phones = await seed(tmpdir / "o2r.db", settings, clients, OFFICER_CHAT)
        forms = _answers(phones, int(per_second * seconds), "ST")
        port = free_port()
        with server(["-m", "bot.cli", "serve", "--port", str(port)], env, port):
            result = await paced(port, [encode_post(port, PATH, f, h) for f, h in forms],
                                 per_second, asyncio.Event(), connections=16)
    report(f"steady {per_second:.0f}/s (open loop)", result)
    print(f"  p99 at {per_second:.0f}/s: {result.pct(99):.1f} ms (target: far under 50 ms)")
    return result


def _answers(phones: list[str], requests: int, prefix: str) -> list[tuple[dict[str, str],
                                                                       dict[str, str]]]:
    """Each client answers the check-in's number questions in turn, round robin, so every
    request steps a live flow and queues the next question. Written the ways people type a
    number (a full stop, a space from autocorrect), so neighbouring messages differ, as they do
    in life, and no per-text cache flatters the run."""
    answers = ["7", "3", "2"]
    styles = ["{}", "{}.", " {}", "{} ", "{}!"]
    n = len(phones)
    return [signed_sms(phones[i % n], styles[i % len(styles)].format(answers[(i // n) % 3]),
                       f"{prefix}{i:032d}") for i in range(requests)]


async def main(clients: int, requests: int, concurrency: int, rounds: int = 3,
               steady_rate: float = 200.0) -> dict[str, float]:
    """The steady run, then full and bare runs alternated; report each and the medians (this
    machine is shared)."""
    calm = await steady(clients, steady_rate)
    fulls, bares = [], []
    for _ in range(rounds):
        full, base = await one_round(clients, requests, concurrency)
        fulls.append(full.rate)
        bares.append(base.rate)
    ratio = median(fulls) / median(bares) if bares else 0.0
    print(f"median over {rounds} rounds: full {median(fulls):.0f} req/s, bare"
          f" {median(bares):.0f} req/s, ratio {ratio:.2f} (target >= 0.50)")
    return {"full_rps": median(fulls), "bare_rps": median(bares), "ratio": ratio,
            "steady_p50_ms": calm.pct(50), "steady_p99_ms": calm.pct(99)}


async def one_round(clients: int, requests: int, concurrency: int) -> tuple[LoadResult, LoadResult]:
    with tempfile.TemporaryDirectory() as tmp, fake_providers() as urls:
        tmpdir = Path(tmp)
        env = server_env(tmpdir / "o2r.db", urls["twilio"], urls["telegram"])
        settings = load_settings(env, env_file=tmpdir / "none")
        phones = await seed(tmpdir / "o2r.db", settings, clients, OFFICER_CHAT)
        forms = _answers(phones, requests, "SM")
        port = free_port()
        with server(["-m", "bot.cli", "serve", "--port", str(port)], env, port):
            full = await post_all(port, [encode_post(port, PATH, f, h) for f, h in forms],
                                  concurrency)
        port = free_port()
        with server(["-m", "bench.bare_app", "--db", str(tmpdir / "bare.db"), "--port",
                     str(port)], env, port):
            base = await post_all(port, [encode_post(port, PATH, f, h) for f, h in forms],
                                  concurrency)
        with sqlite3.connect(tmpdir / "o2r.db") as conn:
            answered = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            queued = conn.execute(
                "SELECT COUNT(*) FROM outbox o JOIN inbound i ON o.cause = 'flow:' ||"
                " (SELECT id FROM flow_sessions s WHERE s.client_id = i.client_id LIMIT 1)"
                " WHERE o.created_at >= i.received_at AND i.id = (SELECT MAX(id) FROM inbound"
                " WHERE client_id = i.client_id)").fetchone()[0]
            replies = conn.execute("SELECT COUNT(*) FROM outbox WHERE created_at >="
                                   " (SELECT MIN(received_at) FROM inbound)").fetchone()[0]
    print(f"inbound SMS: {requests} signed webhooks from {clients} clients,"
          f" {concurrency} connections")
    report("full service (step + reply)", full)
    report("bare verify + insert", base)
    print(f"  ratio full/bare: {full.rate / base.rate if base.rate else 0.0:.2f}")
    print(f"  answers stored: {answered}; replies queued during the run: {replies}")
    del queued
    return full, base


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=900)
    ap.add_argument("--requests", type=int, default=2700)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steady", type=float, default=200.0, help="arrivals a second, steady run")
    a = ap.parse_args()
    asyncio.run(main(a.clients, a.requests, a.concurrency, a.rounds, a.steady))
