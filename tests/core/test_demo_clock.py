"""The demo's simulated clock (issue 16): it opens at the next 09:55 local, survives a
restart (stored in the database) and the CLI stamps what it does in the same time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.clock import next_local
from bot.service import Service
from tests import conftest

LONDON = ZoneInfo("Europe/London")


def test_next_local_is_the_next_wall_clock_time() -> None:
    before = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert next_local(before, time(9, 55), "Europe/London") == before.replace(minute=55)
    after = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert next_local(after, time(9, 55), "Europe/London") == \
        datetime(2026, 11, 26, 9, 55, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # BST: 09:55 local is 08:55 UTC
    assert next_local(summer, time(9, 55), "Europe/London") == \
        datetime(2026, 7, 2, 8, 55, tzinfo=UTC)


async def test_demo_clock_opens_at_0955_and_survives_a_restart(tmp_path: Path) -> None:
    settings = conftest.test_settings(tmp_path / "o2r.db", None, None, mode="demo")
    svc = Service(settings, tick_seconds=3600)
    await svc.start()
    try:
        local = svc.clock.now().astimezone(LONDON)
        assert local.strftime("%H:%M") in ("09:55", "09:56")
        await svc.advance_clock(timedelta(days=2))
        moved = svc.clock.now()
    finally:
        await svc.stop()
    again = Service(settings, tick_seconds=3600)
    await again.start()
    try:
        assert timedelta(0) <= again.clock.now() - moved < timedelta(minutes=1)
    finally:
        await again.stop()


def test_the_cli_uses_the_demo_clock(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    settings = conftest.test_settings(tmp_path / "o2r.db", None, None, mode="demo")

    async def run_demo() -> None:
        svc = Service(settings, tick_seconds=3600)
        await svc.start()
        await svc.advance_clock(timedelta(days=3))
        await svc.stop()

    assert cli("staff", "add", "--name", "Dana Hughes", "--role", "officer")[0] == 0
    assert cli("client", "add", "--ref", "C-1", "--first-name", "Sam", "--officer", "1",
               "--phone", "+447700900123", "--consented")[0] == 0
    asyncio.run(run_demo())
    # Tomorrow in real time is already the past on the demo's clock (3 days on).
    tomorrow = (datetime.now(LONDON) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    code, _, err = cli("appointment", "add", "--client", "C-1", "--kind", "probation",
                       "--at", tomorrow)
    assert code == 1 and "has already passed" in err
