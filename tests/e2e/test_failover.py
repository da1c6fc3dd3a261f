"""Failover on PostgreSQL: two real `o2r serve` processes on one database; one is killed with
SIGKILL in the middle of a burst of inbound replies and due messages, with an open RED. The
survivor handles every acknowledged message once, sends every due message once (taking over
what the dead one had claimed, after its lease), and re-notifies the RED on time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import psycopg

from bench.common import ROOT, encode_post, free_port, server_env, signed_sms
from bot.core.clock import iso
from tests.conftest import pg_schema_url
from tests.e2e.test_crash_restart import post, start, wait_up
from tests.fakes import FakeTwilioApi

OFFICER, SUPERVISOR = "+447700900601", "+447700900602"
PHONES = [f"+4477009006{n:02d}" for n in range(10, 16)]
DEADLINE = 20  # seconds: O2R_ACK_DEADLINES red
DUE = 60  # messages already due (as reminders are once their timer ran)
NOTES = 240
KILL_AFTER = 60


def rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


async def wait_for(check: object, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if await asyncio.to_thread(check):  # type: ignore[arg-type]
            return True
        await asyncio.sleep(0.25)
    return False


async def test_kill_one_of_two_instances_mid_burst(pg_database: str) -> None:
    url = pg_schema_url(pg_database)
    twilio = FakeTwilioApi()
    env = server_env(url, twilio.start_in_thread(), "http://127.0.0.1:9")  # type: ignore[arg-type]
    env.update({"O2R_SIMULATOR": "off", "O2R_INSTANCES": "2", "O2R_CLAIM_LEASE": "5s",
                "O2R_ACK_DEADLINES": f"red={DEADLINE}s", "O2R_TWILIO_RATE": "40/s"})
    procs: list[subprocess.Popen[bytes]] = []
    try:
        seed = [["staff", "add", "--name", "Dana Hughes", "--role", "officer", "--phone", OFFICER],
                ["staff", "add", "--name", "Lee Carter", "--role", "supervisor",
                 "--phone", SUPERVISOR]] + [
            ["client", "add", "--ref", f"C-{n}", "--first-name", "Sam", "--officer", "1",
             "--phone", phone, "--consented"] for n, phone in enumerate(PHONES)]
        for args in seed:
            await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", *args],
                                    env=env, cwd=ROOT, check=True, capture_output=True)
        ports = [free_port(), free_port()]
        procs = [start(env, port) for port in ports]
        await asyncio.gather(*(wait_up(port) for port in ports))
        a, b = procs
        live = ports[1]

        # A RED, raised on the instance that will die; nobody acknowledges it.
        assert await post(ports[0], encode_post(ports[0], "/webhooks/twilio/sms", *signed_sms(
            PHONES[0], "I want to end it all", "SM" + "9" * 32))) == 200
        red_at = time.monotonic()
        # Messages due now, as the reminder timers queue them.
        now = iso(datetime.now(UTC))
        with psycopg.connect(url) as conn:
            for n in range(DUE):
                conn.execute(
                    "INSERT INTO outbox (channel, address, body, message_key, status,"
                    " next_attempt_at, created_at, updated_at) VALUES ('sms', %s, %s,"
                    " 'reminder.test', 'queued', %s, %s, %s)",
                    (PHONES[1 + n % 5], f"reminder {n}", now, now, now))

        acked: list[int] = []
        enough = asyncio.Event()

        async def send(i: int) -> int:
            port = ports[i % 2]
            status = await post(port, encode_post(port, "/webhooks/twilio/sms", *signed_sms(
                PHONES[1 + i % 5], f"note {i}", f"SM{i:032d}")))
            if status == 200:
                acked.append(i)
                if len(acked) >= KILL_AFTER:
                    enough.set()
            return status

        async def killer() -> None:
            await enough.wait()
            os.kill(a.pid, signal.SIGKILL)

        kill = asyncio.create_task(killer())
        statuses = await asyncio.gather(*(send(i) for i in range(NOTES)))
        if not enough.is_set():
            kill.cancel()
            raise AssertionError(f"only {len(acked)} of {NOTES} acknowledged before the kill"
                                 f" (answers: {sorted(set(statuses))})")
        await kill
        a.wait()
        assert KILL_AFTER <= len(acked) < NOTES
        # Twilio retries what was not acknowledged; the balancer sends it to the survivor.
        unacked = [i for i, s in enumerate(statuses) if s != 200]
        for i in unacked:
            assert await post(live, encode_post(live, "/webhooks/twilio/sms", *signed_sms(
                PHONES[1 + i % 5], f"note {i}", f"SM{i:032d}"))) == 200

        def settled() -> bool:
            return rows(url, "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')"
                        " AND next_attempt_at <= %s", (iso(datetime.now(UTC)),))[0][0] == 0
        assert await wait_for(settled, 60), "the survivor did not send everything due"

        stored = rows(url, "SELECT provider_id, status, attempts FROM inbound"
                      " WHERE body LIKE 'note %%'")
        assert len(stored) == NOTES == len({r[0] for r in stored})  # each stored once
        assert {r[1] for r in stored} == {"processed"}
        assert {r[2] for r in stored} == {1}  # each handled once
        replies = rows(url, "SELECT i.id, COUNT(o.id) FROM inbound i LEFT JOIN outbox o"
                       " ON o.cause = 'inbound:' || i.id WHERE i.body LIKE 'note %%'"
                       " GROUP BY i.id")
        assert {r[1] for r in replies} == {1}  # each note got exactly one "passed on" reply

        accepted = [m["sid"] for m in twilio.messages()]
        assert len(accepted) == len(set(accepted))
        sent = rows(url, "SELECT provider_id FROM outbox WHERE status = 'sent'")
        assert sorted(r[0] for r in sent) == sorted(accepted)  # each row sent once
        for n in range(DUE):
            assert [m["body"] for m in twilio.messages(to=PHONES[1 + n % 5])].count(
                f"reminder {n}") == 1

        # The RED: nobody acknowledged; the survivor tells the next level on time.
        def renotified() -> bool:
            return rows(url, "SELECT COUNT(*) FROM escalation_notices n JOIN escalations e"
                        " ON e.id = n.escalation_id WHERE e.severity = 'RED' AND n.level > 0"
                        )[0][0] > 0
        assert await wait_for(renotified, max(0.0, red_at + DEADLINE - time.monotonic()) + 15)
        assert time.monotonic() - red_at < DEADLINE + 15
        assert twilio.messages(to=SUPERVISOR)
        assert b.poll() is None
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        twilio.stop_thread()
