"""Shared fixtures: the real app and libraries, wired to local fake providers over loopback."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.app import create_app
from bot.core.clock import FixedClock
from bot.core.db import Tx
from bot.service import Service
from config.settings import Rate, Settings
from tests.fakes import FakeTelegramApi, FakeTwilioApi
from tests.fakes.telegram_api import make_callback_update, make_text_update

PUBLIC_URL = "https://o2r.example.test"
TWILIO_FROM = "+447700900001"
TG_SECRET = "test-webhook-secret-0123456789"
# A weekday morning in winter (GMT), well outside quiet hours.
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_settings(db_path: Path, twilio_url: str | None, telegram_url: str | None,
                  **changes: Any) -> Settings:
    from tests.fakes.telegram_api import DEFAULT_TOKEN
    from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    base = Settings(
        db_path=db_path, public_url=PUBLIC_URL, timezone="Europe/London", mode="production",
        simulator=True, secret_key="x" * 40,
        twilio_account_sid=DEFAULT_ACCOUNT_SID if twilio_url else None,
        twilio_auth_token=DEFAULT_AUTH_TOKEN if twilio_url else None,
        twilio_from=TWILIO_FROM if twilio_url else None,
        twilio_api_url=twilio_url or "https://api.twilio.com",
        telegram_token=DEFAULT_TOKEN if telegram_url else None,
        telegram_webhook_secret=TG_SECRET if telegram_url else None,
        telegram_api_url=(telegram_url + "/bot") if telegram_url else "https://api.telegram.org/bot",
        telegram_rate=Rate(1000, 1), telegram_chat_rate=Rate(1000, 1), twilio_rate=Rate(1000, 1),
        telegram_group_rate=Rate(1000, 1),
        send_timeout=1.0, retry_base=0.05, retry_cap=0.2, max_attempts=5,
    )
    return replace(base, **changes)


def engine_env(settings: Settings) -> dict[str, str]:
    """O2R_DB (and O2R_VAR_DIR, where the key file is) for an `o2r` process that must use the
    same database as `settings`: the test's SQLite file or its PostgreSQL schema."""
    return {"O2R_DB": settings.db_url or str(settings.db_path),
            "O2R_VAR_DIR": str(settings.db_path.parent)}


@dataclass
class Harness:
    app: Starlette
    service: Service
    client: httpx.AsyncClient
    twilio: FakeTwilioApi
    telegram: FakeTelegramApi
    clock: FixedClock
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.service.db

    async def sms(self, sender: str, body: str, sid: str | None = None,
                  signature: str | None = None, **extra: str) -> httpx.Response:
        """POST a Twilio-signed inbound SMS to our webhook (signature overridable for tests)."""
        params = {"MessageSid": sid or f"SM{next(self._ids):032d}", "AccountSid": "AC" + "0" * 32,
                  "From": sender, "To": TWILIO_FROM, "Body": body, "NumMedia": "0", **extra}
        url = PUBLIC_URL + "/webhooks/twilio/sms"
        sig = self.twilio.signature(url, params) if signature is None else signature
        headers = {"X-Twilio-Signature": sig} if sig else {}
        return await self.client.post("/webhooks/twilio/sms", data=params, headers=headers)

    async def tg(self, update: dict[str, Any], secret: str | None = TG_SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    async def tg_text(self, chat_id: int, text: str, update_id: int | None = None) -> httpx.Response:
        return await self.tg(make_text_update(update_id or next(self._ids), chat_id, text))

    async def tg_callback(self, chat_id: int, data: str, message_id: int,
                          from_id: int | None = None) -> httpx.Response:
        return await self.tg(make_callback_update(next(self._ids), chat_id, data, message_id,
                                                  from_id=from_id))

    async def settle(self) -> None:
        """Let the dispatcher send everything that is due now."""
        disp = self.service.dispatcher
        assert disp is not None
        for _ in range(50):
            started = await disp.claim_and_start()
            await disp.drain()
            if not started:
                due = await self.db.value(
                    "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')"
                    " AND next_attempt_at <= ?", (self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
                if not due:
                    return

    async def advance(self, delta: timedelta) -> int:
        ran = await self.service.advance_clock(delta)
        await self.settle()
        return ran

    async def write(self, fn: Any) -> Any:
        return await self.db.write(fn)

    async def add_officer(self, name: str = "Dana Hughes", phone: str | None = "+447700900101",
                          chat: int | None = None, role: str = "officer") -> int:
        from bot.core.people import Contact, add_staff

        return int(await self.write(lambda tx: add_staff(
            tx, self.clock.now(), name=name, role=role,
            contact=Contact(phone, str(chat) if chat else None))))

    async def add_client(self, ref: str = "C-1", first_name: str = "Sam", officer: int | None = None,
                         phone: str | None = "+447700900123", chat: int | None = None,
                         consented: bool = True, stage: str = "engagement",
                         onboard: bool = True) -> int:
        from bot.core.people import Contact, add_client

        officer_id = officer or await self.add_officer()

        async def work(tx: Tx) -> int:
            cid = await add_client(tx, self.clock.now(), ref=ref, first_name=first_name,
                                   officer_id=officer_id,
                                   contact=Contact(phone, str(chat) if chat else None),
                                   consented=consented, stage=stage)
            if onboard:
                from bot.conversation import after_client_added

                await after_client_added(tx, self.clock.now(), cid)
            return cid

        return int(await self.write(work))

    async def outbox(self, **where: Any) -> list[Any]:
        clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
        return await self.db.all(f"SELECT * FROM outbox WHERE {clause} ORDER BY id",
                                 tuple(where.values()))


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeTwilioApi, FakeTelegramApi]]:
    async with FakeTwilioApi() as tw, FakeTelegramApi() as tg:
        yield tw, tg


# Both engines: tests under these paths that use `db_url` (directly or through `harness`) run
# on SQLite and on PostgreSQL; elsewhere on SQLite only, to keep `make test` under ~7 minutes
# (each PostgreSQL case migrates a fresh schema, ~0.5 s). PostgreSQL runs what exercises SQL:
# the kernel, channels, escalation, end to end, every panel page and form, retention, the
# simulator's first run, the fuzzer, the flows that store, and of reminders and aftercare the
# restart, calendar and meeting tests. SQLite only: the rest of reminders/ and aftercare/ (per
# client reads and writes the e2e tests already cover on PostgreSQL) and the HTTP input bounds
# (refused before any handler or storage). O2R_TEST_PG_ALL=1 runs every `db_url` test on both.
BOTH_ENGINES = ("tests/core/", "tests/channels/", "tests/escalation/", "tests/e2e/",
                "tests/admin_web/", "tests/privacy/", "tests/web/", "tests/flows/",
                "tests/reminders/test_reminders_restart.py",
                "tests/reminders/test_reminders_course.py",
                "tests/aftercare/test_aftercare_meetings.py")
SQLITE_ONLY = ("tests/web/test_input_bounds.py",)
ALL_ON_BOTH = os.environ.get("O2R_TEST_PG_ALL") == "1"
PG_SERVER = os.environ.get("O2R_TEST_PG", "postgresql://127.0.0.1:5432/test")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames:
        path = metafunc.definition.path.as_posix()
        if ALL_ON_BOTH or (any(part in path for part in BOTH_ENGINES)
                           and not any(part in path for part in SQLITE_ONLY)):
            metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this run (o2r_t_<random>), dropped at the end. Without a server the
    PostgreSQL cases skip, except in CI (CI=true) where they fail."""
    import psycopg

    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL not reachable at {PG_SERVER} (set O2R_TEST_PG): {exc}".splitlines()[0]
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"o2r_t_{secrets.token_hex(4)}"
    admin.execute(f"CREATE DATABASE {name}")
    base = PG_SERVER.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


_schemas = itertools.count(1)


def pg_schema_url(database: str) -> str:
    """A new empty schema in the run's database, as a URL whose connections use it."""
    import psycopg

    schema = f"s{next(_schemas)}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    # synchronous_commit off: a test needs no durability, and commits are most of its time.
    return f"{database}?options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (the test's tmp_path file), else a fresh PostgreSQL schema's URL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return None
    return pg_schema_url(request.getfixturevalue("pg_database"))


@pytest.fixture
async def harness(tmp_path: Path, fakes: tuple[FakeTwilioApi, FakeTelegramApi],
                  db_url: str | None) -> AsyncIterator[Harness]:
    tw, tg = fakes
    clock = FixedClock(T0)
    tw.now = clock.now  # Twilio's timestamps on the test's clock (the lookup compares them)
    settings = test_settings(tmp_path / "o2r.db", tw.url, tg.url, db_url=db_url)
    app = create_app(settings, clock=clock, tick_seconds=3600)
    service: Service = app.state.service
    await service.start()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        h = Harness(app, service, client, tw, tg, clock)
        yield h
    # A test may have replaced the service (a restart): stop whichever is current, and the
    # original too (stopping twice is harmless).
    await h.service.stop()
    await service.stop()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`o2r` in-process on a fresh database: run(*argv) -> (exit code, stdout, stderr)."""
    from bot.cli import main

    monkeypatch.setenv("O2R_DB", str(tmp_path / "o2r.db"))
    monkeypatch.setenv("O2R_MODE", "demo")
    monkeypatch.setenv("O2R_TIMEZONE", "Europe/London")

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out.strip(), out.err.strip()

    return run
