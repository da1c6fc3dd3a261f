"""An invented caseload for the demo and the simulator. Names are made up; no real numbers."""

from __future__ import annotations

from datetime import datetime

from bot.core.db import Database, Tx
from bot.core.identities import add_identity
from bot.core.people import add_client, add_staff

DEMO_PASSWORD = "demo-password-only"  # demo mode only; printed in the README
DEMO_STAFF = (
    # name, role, username, sim handle
    ("Dana Hughes", "officer", "dana", "officer-dana"),
    ("Lee Okafor", "officer", "lee", "officer-lee"),
    ("Priya Shah", "supervisor", "priya", "supervisor-priya"),
    ("Admin Demo", "admin", "admin", None),
)
DEMO_CLIENTS = (
    # ref, first name, officer index, stage, consented, area, referral source
    ("D-001", "Sam", 0, "engagement", True, "Sutton Coldfield", "officer_outreach"),
    ("D-002", "Jo", 0, "pre_admission", True, "Erdington", "retail"),
    ("D-003", "Alex", 1, "aftercare", True, "Harborne", "word_of_mouth"),
    ("D-004", "Kim", 1, "referral", False, "City Centre", "probation"),
    ("D-005", "Chris", 0, "in_rehab", True, "Erdington", "neighbourhood_team"),
)


async def seed_demo(db: Database, now: datetime) -> bool:
    """Create the demo caseload once; returns False if it is already there."""
    from bot.core.passwords import hash_password

    password_hash = hash_password(DEMO_PASSWORD)

    async def work(tx: Tx) -> bool:
        if await tx.value("SELECT 1 FROM staff WHERE username = 'dana'"):
            return False
        staff_ids = []
        for name, role, username, handle in DEMO_STAFF:
            sid = await add_staff(tx, now, name=name, role=role, username=username,
                                  password_hash=password_hash, actor="demo")
            if handle:
                await add_identity(tx, now, "sim", handle, staff_id=sid, actor="demo")
            staff_ids.append(sid)
        from bot.conversation import after_client_added

        for ref, first, officer, stage, consented, area, source in DEMO_CLIENTS:
            cid = await add_client(tx, now, ref=ref, first_name=first,
                                   officer_id=staff_ids[officer], stage=stage,
                                   consented=consented, area=area, referral_source=source,
                                   actor="demo")
            await add_identity(tx, now, "sim", f"client-{ref.lower()}", client_id=cid,
                               actor="demo")
            await after_client_added(tx, now, cid)
        return True

    return await db.write(work)
