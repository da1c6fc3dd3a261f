"""A stranger's crisis escalation (no client) through the operator CLI: listed and acknowledged
like any other."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from bot.core.clock import SystemClock, iso
from bot.core.db import Database, Tx
from bot.escalation.alerts import open_unmatched
from config.settings import load_settings


def _stranger_in_crisis(db_path: Path) -> int:
    """What the router does for crisis words from a number nobody knows."""
    settings = load_settings(dict(os.environ))
    now = SystemClock().now()

    async def work(tx: Tx) -> int:
        inbound = await tx.execute(
            "INSERT INTO inbound (channel, provider_id, address, body, received_at, status)"
            " VALUES ('sms', 'SMcli1', '+447700900456', 'I want to end it all', ?, 'unmatched')",
            (iso(now),))
        return await open_unmatched(tx, now, inbound)

    async def run() -> int:
        async with Database(db_path, settings) as db:
            return int(await db.write(work))

    return asyncio.run(run())


def test_a_strangers_escalation_is_listed_and_acknowledged(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli
    assert run("staff", "add", "--name", "Priya Shah", "--role", "supervisor", "--phone",
               "+447700900102")[0] == 0
    esc = _stranger_in_crisis(tmp_path / "o2r.db")
    code, out, _ = run("escalations", "list", "--open", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert (row["id"], row["severity"], row["ref"], row["client_id"], row["officer_id"]) == (
        esc, "RED", "unknown number", None, None)
    assert row["inbound_id"] is not None
    code, text, _ = run("escalations", "list", "--open")
    assert f"#{esc} RED" in text and "unknown number" in text
    code, out, _ = run("escalation", "ack", str(esc), "--staff", "1", "--json")
    assert code == 0 and json.loads(out) == {"acknowledged": True}
