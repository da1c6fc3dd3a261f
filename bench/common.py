"""Shared benchmark plumbing: a real server process, fake providers, a seeded database, load."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from tests.fakes.telegram_api import DEFAULT_TOKEN
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

PUBLIC_URL = "https://o2r.bench.test"
TG_SECRET = "bench-webhook-secret-0123456789"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(db: Path, twilio_url: str, telegram_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2R_")}
    env.update({
        "O2R_MODE": "production", "O2R_SECRET_KEY": "b" * 40, "O2R_DB": str(db),
        "O2R_PUBLIC_URL": PUBLIC_URL,
        "O2R_TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID, "O2R_TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "O2R_TWILIO_FROM": "+447700900001", "O2R_TWILIO_API_URL": twilio_url,
        "O2R_TELEGRAM_TOKEN": DEFAULT_TOKEN, "O2R_TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "O2R_TELEGRAM_API_URL": telegram_url + "/bot",
        # Providers limit sending (Twilio: about a segment a second per number), so replies
        # mostly wait in the outbox, as they would in production.
        "O2R_TWILIO_RATE": os.environ.get("BENCH_TWILIO_RATE", "10/s"), "O2R_TELEGRAM_RATE": "25/s",
        "O2R_TELEGRAM_CHAT_RATE": "1/s", "O2R_ACCESS_LOG": "off",
    })
    return env


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def server(args: Sequence[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process and wait until /healthz (or any answer on `port`) responds."""
    log = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab")
    proc = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("server exited; set BENCH_SERVER_LOG=path to see why")
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield proc
    finally:
        stop(proc)
        log.close()


def signed_sms(sender: str, body: str, sid: str) -> tuple[dict[str, str], dict[str, str]]:
    params = {"MessageSid": sid, "AccountSid": DEFAULT_ACCOUNT_SID, "From": sender,
              "To": "+447700900001", "Body": body, "NumMedia": "0"}
    sig = RequestValidator(DEFAULT_AUTH_TOKEN).compute_signature(
        PUBLIC_URL + "/webhooks/twilio/sms", params)
    return params, {"X-Twilio-Signature": sig}


def phone(i: int) -> str:
    """Ofcom's drama range only: +44 7700 900000 to 900999 (so at most 1000 SMS clients)."""
    if not 0 <= i <= 999:
        raise ValueError("only 1000 reserved drama numbers exist")
    return f"+447700900{i:03d}"


@dataclass
class LoadResult:
    count: int
    ok: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")


def encode_post(port: int, path: str, form: dict[str, str], headers: dict[str, str]) -> bytes:
    """One keep-alive HTTP/1.1 request, encoded ahead of time so the client costs little CPU."""
    body = urlencode(form).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
            "Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(head).encode() + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def post_all(port: int, requests: Sequence[bytes], concurrency: int,
                   on_done: Callable[[int, float], None] | None = None) -> LoadResult:
    """Send every pre-encoded request over `concurrency` keep-alive connections."""
    latencies: list[float] = []
    ok = 0
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for item in enumerate(requests):
        queue.put_nowait(item)

    async def worker() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                index, request = queue.get_nowait()
                t0 = time.perf_counter()
                status = await _exchange(reader, writer, request)
                done = time.perf_counter()
                latencies.append(done - t0)
                ok += status == 200
                if on_done is not None:
                    on_done(index, time.time())
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(requests), ok, time.perf_counter() - start, latencies)


async def paced(port: int, requests: Sequence[bytes], per_second: float, stop: asyncio.Event,
                accepted: dict[int, float] | None = None, connections: int = 4) -> LoadResult:
    """Send requests at a steady rate (open loop) over a few keep-alive connections.

    Each latency runs from the moment a request was due, not from when a connection was free, so
    a server falling behind shows as growing latency rather than as a slower sender."""
    latencies: list[float] = []
    ok = 0
    pending: asyncio.Queue[tuple[int, bytes, float]] = asyncio.Queue()

    async def worker() -> None:
        nonlocal ok
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                index, request, due = await pending.get()
                status = await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - due)
                if status == 200:
                    ok += 1
                    if accepted is not None:
                        accepted[index] = time.time()
                pending.task_done()
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter()
    sent = 0
    for index, request in enumerate(requests):
        if stop.is_set():
            break
        due = start + index / per_second
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        pending.put_nowait((index, request, due))
        sent += 1
    await pending.join()
    for w in workers:
        w.cancel()
    return LoadResult(sent, ok, time.perf_counter() - start, latencies)


@contextmanager
def fake_providers(limits: str = "") -> Iterator[dict[str, str]]:
    """The fake Twilio and Telegram APIs in their own process; yields their URLs.
    `limits`: "twilio=10,telegram=30" makes them refuse what goes beyond (bench/fakes_proc.py)."""
    env = {**os.environ, "BENCH_FAKE_LIMITS": limits}
    proc = subprocess.Popen([sys.executable, "-m", "bench.fakes_proc"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().split()
        yield dict(part.split("=", 1) for part in line)
    finally:
        stop(proc)


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def now() -> datetime:
    return datetime.now(UTC)
