"""One service per SQLite file and a free port, checked before anything is migrated or started:
a second `o2r serve` fails with a message instead of running its loops on the same database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, free_port, server_env, stop
from tests.e2e.test_crash_restart import start, wait_up


def serve(env: dict[str, str], port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


async def test_a_second_serve_is_refused_before_it_touches_anything(tmp_path: Path) -> None:
    db = tmp_path / "o2r.db"
    env = server_env(db, "http://127.0.0.1:9", "http://127.0.0.1:9")
    port = free_port()
    first = start(env, port)
    try:
        await wait_up(port)
        size = db.stat().st_size
        # The same database on another port: refused, naming the reason.
        second = serve(env, free_port())
        assert second.returncode == 1, second.stderr
        assert "already running on" in second.stderr and str(db) in second.stderr
        # Another database on the same port: refused before the new database is even created.
        other = tmp_path / "other" / "o2r.db"
        third = serve(server_env(other, "http://127.0.0.1:9", "http://127.0.0.1:9"), port)
        assert third.returncode == 1, third.stderr
        assert f"port {port}" in third.stderr and "in use" in third.stderr
        assert not other.exists()
        assert first.poll() is None and db.stat().st_size == size
    finally:
        stop(first)
    # Once the first has stopped (its lock went with it), the same database starts again.
    again = start(env, port)
    try:
        await wait_up(port)
        assert again.poll() is None
    finally:
        stop(again)


async def test_the_lock_is_released_by_a_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "o2r.db"
    env = server_env(db, "http://127.0.0.1:9", "http://127.0.0.1:9")
    port = free_port()
    first = start(env, port)
    await wait_up(port)
    first.kill()  # SIGKILL: no clean-up code runs
    first.wait(10)
    again = start(env, free_port())
    try:
        await wait_up(int(again.args[-1]))
        assert again.poll() is None
    finally:
        stop(again)
