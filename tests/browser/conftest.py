"""Browser tests: a real uvicorn server on a free loopback port, a temporary database with the
demo caseload, and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class LiveServer:
    url: str
    db_path: Path
    ids: dict[str, int]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(settings: Any) -> dict[str, int]:
    """The demo caseload, an open AMBER escalation for Sam, and a course session with Jo
    enrolled, so the tests have something to acknowledge and to mark."""
    from bot.core.clock import SystemClock
    from bot.core.db import Database, Tx
    from bot.demo import seed_demo
    from bot.escalation.findings import raise_finding
    from reminders.calendar import add_session, enrol_client

    now = SystemClock().now()
    async with Database(settings.db_path, settings) as db:
        await seed_demo(db, now)

        async def work(tx: Tx) -> dict[str, int]:
            sam = await tx.value("SELECT id FROM clients WHERE ref = 'D-001'")
            jo = await tx.value("SELECT id FROM clients WHERE ref = 'D-002'")
            await raise_finding(tx, now, sam, "AMBER", "craving_high", source="answer",
                                detail="craving 9 of 10")
            session = await add_session(tx, now, at=now + timedelta(days=1), place="Hub room 2",
                                        actor="test")
            await enrol_client(tx, now, jo, actor="test")
            # A message from an unknown number, with markup a client might send.
            await tx.execute(
                "INSERT INTO inbound (channel, provider_id, address, body, received_at, status)"
                " VALUES ('sms', 'SMbrowser1', '+447700900555', '<b>new phone</b> its Sam',"
                " ?, 'unmatched')", (now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
            await _history(tx, now, sam)
            return {"sam": sam, "jo": jo, "session": session}

        return await db.write(work)


def _in_own_loop(coro: Any) -> Any:
    """Run a coroutine on a fresh loop in another thread: pytest-asyncio may own this one."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


async def _history(tx: Any, now: Any, client_id: int) -> None:
    """Ten days of check-in answers, a few PHQ-4 scores and a message with markup in it."""
    from bot.core.clock import iso

    for day in range(10, 0, -1):
        at = iso(now - timedelta(days=day))
        for key, value in (("ons_happy", 3 + (10 - day) // 2), ("craving_24h", max(1, day - 2))):
            await tx.execute(
                "INSERT INTO answers (client_id, flow_id, question_key, raw_text, value, status,"
                " at) VALUES (?, 'daily_checkin', ?, ?, ?, 'answered', ?)",
                (client_id, key, str(value), str(value), at))
        if day % 3 == 0:
            await tx.execute(
                "INSERT INTO scores (client_id, scale_id, total, detail, at) VALUES"
                " (?, 'phq4', ?, '{\"bands\": {}}', ?)", (client_id, 4 + day // 3, at))
    await tx.execute(
        "INSERT INTO inbound (channel, provider_id, address, body, client_id, received_at,"
        " status) VALUES ('sim', 'sim-markup-1', 'client-d-001',"
        " '<script>alert(1)</script> rough night', ?, ?, 'processed')",
        (client_id, iso(now - timedelta(hours=3))))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from bot.app import create_app
    from config.settings import Settings

    db_path = tmp_path_factory.mktemp("browser") / "o2r.db"
    settings = Settings(db_path=db_path, public_url=None, timezone="Europe/London", mode="demo",
                        simulator=True, secret_key="browser-test-secret-" + "x" * 20)
    ids = _in_own_loop(_seed(settings))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, tick_seconds=3600),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", db_path, ids)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: sync Playwright runs an event loop in this thread, and it must
    # be gone before pytest-asyncio starts the loops of the tests in other modules.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
