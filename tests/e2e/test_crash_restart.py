"""The real service as a process, killed with SIGKILL under inbound load and started again:
every message it acknowledged is in the database, and a provider's retry of the rest is stored
once and processed once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, encode_post, free_port, server_env, signed_sms

CLIENT = "+447700900123"


def start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def wait_up(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError("server did not start")


ACKED: list[int] = []
KILL_AFTER = 40
ENOUGH = asyncio.Event()


async def post(port: int, request: bytes) -> int:
    """One request on its own connection; 0 if the server died before answering."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.close()
        status = int(head[9:12])
        ACKED.append(status)
        if len(ACKED) >= KILL_AFTER:
            ENOUGH.set()
        return status
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        return 0


async def test_kill_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "o2r.db"
    env = server_env(db, "http://127.0.0.1:9", "http://127.0.0.1:9")
    env["O2R_SIMULATOR"] = "off"
    for args in (["staff", "add", "--name", "Dana Hughes", "--role", "officer"],
                 ["client", "add", "--ref", "C-1", "--first-name", "Sam", "--officer", "1",
                  "--phone", CLIENT, "--consented"]):
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", *args],
                                env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    bodies = [encode_post(port, "/webhooks/twilio/sms",
                          *signed_sms(CLIENT, f"note {i}", f"SM{i:032d}")) for i in range(400)]
    proc = start(env, port)
    await wait_up(port)

    ACKED.clear()
    ENOUGH.clear()

    async def killer() -> None:
        # Mid-load: after some acknowledgements, long before all of them.
        await ENOUGH.wait()
        os.kill(proc.pid, signal.SIGKILL)

    kill = asyncio.create_task(killer())
    statuses = await asyncio.gather(*(post(port, b) for b in bodies))
    await kill
    proc.wait()
    acked = {i for i, s in enumerate(statuses) if s == 200}
    assert KILL_AFTER <= len(acked) < len(bodies)

    with sqlite3.connect(db) as conn:
        stored = {int(r[0][2:]) for r in conn.execute("SELECT provider_id FROM inbound")}
    assert acked <= stored, f"lost {sorted(acked - stored)[:10]}"

    # Twilio retries whatever was not acknowledged (and sometimes what was): stored once.
    proc = start(env, port)
    try:
        await wait_up(port)
        retry = await asyncio.gather(*(post(port, b) for b in bodies))
        assert all(s == 200 for s in retry)
    finally:
        proc.terminate()
        proc.wait(10)
    with sqlite3.connect(db) as conn:
        count, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT provider_id) FROM inbound").fetchone()
        unprocessed = conn.execute(
            "SELECT COUNT(*) FROM inbound WHERE status NOT IN ('processed')").fetchone()[0]
        answered = conn.execute("SELECT COUNT(*) FROM outbox WHERE cause LIKE 'inbound:%'"
                                ).fetchone()[0]
    assert count == distinct == len(bodies)
    assert unprocessed == 0
    assert answered == len(bodies)  # each note got exactly one "passed on" reply


async def test_sigkill_mid_send_sends_no_duplicate_sms(tmp_path: Path) -> None:
    """Replies caught mid-send by SIGKILL, which Twilio had already taken: after the restart the
    service finds them at Twilio (To + Body + time) instead of texting the person again."""
    from tests.fakes import FakeTwilioApi

    db = tmp_path / "o2r.db"
    phones = [f"+4477009008{n:02d}" for n in range(4)]
    twilio = FakeTwilioApi()
    env = server_env(db, twilio.start_in_thread(), "http://127.0.0.1:9")
    env["O2R_SIMULATOR"] = "off"
    proc: subprocess.Popen[bytes] | None = None
    try:
        seed = [["staff", "add", "--name", "Dana Hughes", "--role", "officer"]] + [
            ["client", "add", "--ref", f"C-{n}", "--first-name", "Sam", "--officer", "1",
             "--phone", phone, "--consented"] for n, phone in enumerate(phones)]
        for args in seed:
            await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", *args],
                                    env=env, cwd=ROOT, check=True, capture_output=True)
        # Twilio takes the first three replies but never answers; the fourth it never gets.
        twilio.timeout("messages.create", seconds=60, times=3, deliver=True)
        twilio.timeout("messages.create", seconds=60, times=1)
        port = free_port()
        proc = start(env, port)
        await wait_up(port)
        for n, phone in enumerate(phones):  # replies to someone who wrote: not held at night
            assert await post(port, encode_post(port, "/webhooks/twilio/sms", *signed_sms(
                phone, "help", f"SM{n:032d}"))) == 200
        await asyncio.to_thread(twilio.wait_for_sync, "messages.create", 3, 30)
        for _ in range(100):
            if len(twilio.requests("messages.create")) >= 4:
                break
            await asyncio.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(db) as conn:
            caught = conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sending'"
                                  ).fetchone()[0]
        assert caught == 4
        proc = start(env, port)
        await wait_up(port)
        for _ in range(300):
            with sqlite3.connect(db) as conn:
                open_rows = conn.execute("SELECT COUNT(*) FROM outbox WHERE status IN"
                                         " ('queued', 'sending')").fetchone()[0]
            if open_rows == 0:
                break
            await asyncio.sleep(0.1)
        assert open_rows == 0
        for phone in phones:
            assert len(twilio.messages(to=phone)) == 1, phone
        with sqlite3.connect(db) as conn:
            owned = {r[0] for r in conn.execute("SELECT provider_id FROM outbox")}
        assert owned == {m["sid"] for m in twilio.messages()}
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        twilio.stop_thread()
