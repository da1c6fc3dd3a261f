"""Access review through the running service with a moved clock: the quarterly list to
supervisors (accounts, roles, last sign-in, clients opened) and dormant panel sign-ins
switched off after 90 days, with the admins told and phone alerts kept."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.core.passwords import hash_password
from bot.core.people import Contact, add_staff
from bot.demo import DEMO_PASSWORD
from bot.privacy.access_review import Account, summary
from tests.admin_web.support import Panel
from tests.conftest import Harness


async def _account(h: Harness, name: str, role: str, username: str, phone: str) -> int:
    pw = hash_password(DEMO_PASSWORD)
    return int(await h.write(lambda tx: add_staff(
        tx, h.clock.now(), name=name, role=role, username=username, password_hash=pw,
        contact=Contact(phone, None))))


async def test_quarterly_review_and_dormant_accounts(harness: Harness) -> None:
    h = harness
    dana = await _account(h, "Dana Hughes", "officer", "dana", "+447700900101")
    await _account(h, "Priya Shah", "supervisor", "priya", "+447700900102")
    await _account(h, "Ada Admin", "admin", "ada", "+447700900103")
    sam = await h.add_client(ref="C-1", officer=dana, onboard=False)
    panel = Panel(h)
    try:
        assert (await panel.login("dana")).status_code == 303
        assert (await panel.get(f"/admin/clients/{sam}")).status_code == 200
    finally:
        await panel.close()

    # 1 January: the review of the last quarter reaches the supervisor, once.
    await h.advance(timedelta(days=38))
    reviews = await h.outbox(message_key="privacy.access_review")
    assert len(reviews) == 1 and reviews[0]["address"] == "+447700900102"
    body = reviews[0]["body"]
    assert "Dana Hughes (officer): last sign-in" in body and "1 client(s) opened" in body
    assert "Ada Admin (admin): last sign-in never, 0 client(s) opened" in body
    await h.advance(timedelta(days=1))
    assert len(await h.outbox(message_key="privacy.access_review")) == 1

    # Day 91: Priya and Ada never signed in; Dana did (and is kept). Their passwords go, the
    # admins are told, and Priya still gets alerts (she stays active).
    await h.advance(timedelta(days=52))
    rows = {r["username"]: r for r in await h.db.all(
        "SELECT username, password_hash, active, disabled_reason FROM staff")}
    assert rows["dana"]["password_hash"] and rows["dana"]["disabled_reason"] is None
    for who in ("priya", "ada"):
        assert rows[who]["password_hash"] is None and rows[who]["disabled_reason"] == "dormant"
        assert rows[who]["active"] == 1
    told = await h.outbox(message_key="privacy.dormant_disabled")
    assert [t["address"] for t in told] == ["+447700900103"]
    assert "Priya Shah (supervisor)" in told[0]["body"] and "Dana" not in told[0]["body"]
    panel = Panel(h)
    try:
        assert (await panel.login("priya")).status_code == 400
    finally:
        await panel.close()
    entries = [json.loads(r[0]) for r in await h.db.all(
        "SELECT detail FROM audit_log WHERE action = 'staff.sign_in_disabled'")]
    assert len(entries) == 2 and all(e["reason"] == "no sign-in for 90 days" for e in entries)
    # The next day finds nobody new.
    await h.advance(timedelta(days=1))
    assert len(await h.outbox(message_key="privacy.dormant_disabled")) == 1


def test_review_text_stays_within_one_long_sms() -> None:
    many = [Account(n, f"Officer Number {n}", "officer", f"o{n}", True,
                    "2026-11-25T10:00:00.000000Z", None, 3) for n in range(60)]
    text = summary(many, "Europe/London")
    assert len(text) < 1400 and text.endswith("more (o2r access review lists every account)")
    assert summary(many[:2], "Europe/London").count("Officer Number") == 2
