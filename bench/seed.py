"""A benchmark caseload: one officer, N clients on SMS, each with a daily check-in under way."""

from __future__ import annotations

from pathlib import Path

from bench.common import now, phone
from bot.conversation import start_flow
from bot.core.db import Database, Tx
from bot.core.people import Contact, add_client, add_staff
from config.settings import Settings

FIRST_CLIENT = 100  # +447700900001.. are kept for the service and staff


async def seed(db_path: Path, settings: Settings, clients: int, officer_chat: str,
               officers: int = 1) -> list[str]:
    """Returns the clients' phone numbers. Officers are on Telegram (chats officer_chat + k),
    the supervisor on chat officer_chat + 999; client i belongs to officer i % officers."""
    phones = [phone(FIRST_CLIENT + i) for i in range(clients)]
    async with Database(db_path, settings) as db:
        async def staff(tx: Tx) -> list[int]:
            ids = [await add_staff(tx, now(), name=f"Bench Officer{k}", role="officer",
                                   contact=Contact(None, str(int(officer_chat) + k)),
                                   actor="bench") for k in range(officers)]
            await add_staff(tx, now(), name="Bench Supervisor", role="supervisor",
                            contact=Contact(None, str(int(officer_chat) + 999)), actor="bench")
            return ids
        officer_ids = await db.write(staff)
        for i, number in enumerate(phones):
            async def one(tx: Tx, i: int = i, number: str = number) -> None:
                cid = await add_client(tx, now(), ref=f"B-{i:04d}", first_name=f"Client{i}",
                                       officer_id=officer_ids[i % officers],
                                       contact=Contact(number),
                                       consented=True, stage="engagement", actor="bench")
                # No quiet hours, so the benchmark means the same at any time of day.
                await tx.execute("UPDATE clients SET quiet_start = '00:00', quiet_end = '00:00',"
                                 " discreet = 0 WHERE id = ?", (cid,))
                await start_flow(tx, now(), cid, "daily_checkin", cause="bench")
            await db.write(one)
        # The opening questions are not what is measured: mark them sent.
        await db.write(lambda tx: tx.execute(
            "UPDATE outbox SET status = 'sent', sent_at = created_at WHERE status = 'queued'"))
    return phones
