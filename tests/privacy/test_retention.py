"""The retention schedule and its daily purge, through the running service with a moved clock:
what goes when, what never goes (legal hold, open escalation, unread, unmatched crisis), in
batches, idempotent, audited by count, and the counts that stay."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from bot.core.audit import audit
from bot.core.messaging import officer_message
from bot.journey import move_stage
from bot.privacy import erase, purge
from bot.privacy.schedule import KINDS, ScheduleError, current, parse
from tests.conftest import Harness

STRANGER = "+447700900999"


async def _client(h: Harness, ref: str, phone: str, officer: int) -> int:
    return await h.add_client(ref=ref, first_name="Sam", officer=officer, phone=phone,
                              onboard=False)


async def _read_inbox(h: Harness) -> None:
    # The officer has read everything filed to the inbox (the inbox itself is tested elsewhere).
    await h.write(lambda tx: tx.execute(
        "UPDATE inbound SET read_at = ? WHERE inbox IS NOT NULL AND read_at IS NULL",
        (h.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),)))


async def _body(h: Harness, inbound_id: int) -> str:
    return str(await h.db.value("SELECT body FROM inbound WHERE id = ?", (inbound_id,)))


def test_schedule_file_names_every_kind_with_a_reason() -> None:
    sched = current()
    assert tuple(sched.kinds) == KINDS
    assert all(k.reason and k.days >= 1 for k in sched.kinds.values())
    raw = {"kinds": {k: {"from": "message_date", "days": 1, "reason": "x"} for k in KINDS[1:]},
           "schedule": {"closed_stages": ["withdrawn"]}}
    try:
        parse(raw)
    except ScheduleError as exc:
        assert "unmatched" in str(exc)
    else:
        raise AssertionError("a schedule missing a kind must be refused")


async def test_messages_go_after_their_period_and_protected_ones_stay(harness: Harness) -> None:
    h = harness
    officer = await h.add_officer()
    sup = await h.add_officer(name="Priya Shah", phone="+447700900102", role="supervisor")
    sam = await _client(h, "C-1", "+447700900123", officer)
    held = await _client(h, "C-2", "+447700900124", officer)
    risky = await _client(h, "C-3", "+447700900125", officer)
    await h.write(lambda tx: erase.set_hold(tx, h.clock.now(), held, sup,
                                            "Crown Court disclosure request"))
    for phone, text in (("+447700900123", "hello there"), ("+447700900124", "hello there"),
                        ("+447700900125", "I want to end it all tonight"),
                        (STRANGER, "who is this")):
        assert (await h.sms(phone, text)).status_code == 200
    await h.write(lambda tx: officer_message(tx, h.clock.now(), sam, "See you at 10", "staff:1"))
    await h.settle()
    await _read_inbox(h)
    ids = {r["address"]: r["id"] for r in await h.db.all("SELECT id, address FROM inbound")}
    assert await h.db.value("SELECT COUNT(*) FROM escalations WHERE client_id = ?"
                            " AND status <> 'resolved'", (risky,)) == 1

    # A month on: only the stranger's text has gone (address too); the rest is inside its period.
    await h.advance(timedelta(days=31))
    stranger = await h.db.one("SELECT body, address, purged_at FROM inbound WHERE id = ?",
                              (ids[STRANGER],))
    assert (stranger["body"], stranger["address"]) == ("", "removed")
    assert await _body(h, ids["+447700900123"]) == "hello there"

    # A year and a day: Sam's messages both ways are blanked; the held client's and the client
    # with the open RED escalation are untouched.
    await h.advance(timedelta(days=335))
    assert await _body(h, ids["+447700900123"]) == ""
    assert await h.db.value("SELECT body FROM outbox WHERE client_id = ? AND body LIKE"
                            " '%See you at 10%'", (sam,)) is None
    assert await h.db.value("SELECT COUNT(*) FROM outbox WHERE client_id = ? AND purged_at IS"
                            " NOT NULL", (sam,)) >= 1
    assert await _body(h, ids["+447700900124"]) == "hello there"
    assert "end it all" in await _body(h, ids["+447700900125"])
    assert await h.db.value("SELECT COUNT(*) FROM outbox WHERE client_id IN (?, ?)"
                            " AND purged_at IS NOT NULL", (held, risky)) == 0

    # Audited by count, never by content; a second run finds nothing and writes nothing.
    entries = [json.loads(r[0]) for r in await h.db.all(
        "SELECT detail FROM audit_log WHERE action = 'retention.purged' ORDER BY id")]
    assert entries[0]["counts"] == {"unmatched": 1}
    assert entries[-1]["counts"]["message_bodies"] >= 2
    assert all("hello" not in json.dumps(e) for e in entries)
    counts, more = await h.write(lambda tx: purge.purge_batch(tx, h.clock.now()))
    assert (counts, more) == ({}, False)
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action = 'retention.purged'"
                            ) == len(entries)
    # The daily timer is planned for tomorrow's run, not lost.
    row = await h.db.one("SELECT status, due_at FROM timers WHERE key = ?", (purge.TIMER_KEY,))
    assert row["status"] == "pending" and row["due_at"] > h.clock.now().isoformat()[:19]


async def test_unread_inbox_message_and_unmatched_crisis_are_kept(harness: Harness) -> None:
    h = harness
    officer = await h.add_officer()
    await _client(h, "C-1", "+447700900123", officer)
    await h.sms("+447700900123", "can someone ring me about my housing")
    await h.sms(STRANGER, "I am going to kill myself tonight")
    await h.settle()
    await h.advance(timedelta(days=400))
    assert await h.db.value("SELECT body FROM inbound WHERE address = ?",
                            ("+447700900123",)) == "can someone ring me about my housing"
    assert "kill myself" in await h.db.value("SELECT body FROM inbound WHERE address = ?",
                                             (STRANGER,))
    report = {r["kind"]: r for r in await purge.report(h.db, h.clock.now())}
    assert report["unmatched"]["due_now"] == 0 and report["message_bodies"]["due_now"] == 0


async def test_closed_case_is_erased_after_six_years_with_counts_kept(harness: Harness) -> None:
    h = harness
    officer = await h.add_officer()
    sam = await _client(h, "C-1", "+447700900123", officer)
    await h.sms("+447700900123", "hello there")
    await h.settle()
    await _read_inbox(h)

    async def work(tx):  # type: ignore[no-untyped-def]
        now = h.clock.now()
        await tx.execute("INSERT INTO client_notes (client_id, staff_id, body, at)"
                         " VALUES (?, ?, 'Sam prefers calls after 2pm', ?)",
                         (sam, officer, now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
        await move_stage(tx, now, sam, "withdrawn", "staff:1", "Left the programme")
    await h.write(work)
    report = {r["kind"]: r for r in await purge.report(h.db, h.clock.now())}
    assert report["client_records"]["due_now"] == 0
    assert report["client_records"]["next_due_at"][:10] == (
        h.clock.now() + timedelta(days=2190)).date().isoformat()

    await h.advance(timedelta(days=2191))
    client = await h.db.one("SELECT * FROM clients WHERE id = ?", (sam,))
    assert (client["ref"], client["first_name"]) == (f"ERASED-{sam}", "(erased)")
    assert client["stage"] == "withdrawn" and client["erased_at"]
    assert await h.db.value("SELECT COUNT(*) FROM client_notes") == 0
    assert await h.db.value("SELECT COUNT(*) FROM identities WHERE client_id = ? AND"
                            " (active = 1 OR address <> 'erased')", (sam,)) == 0
    assert await h.db.value("SELECT SUM(n) FROM retention_tallies WHERE metric = 'note'") == 1
    # Nothing of the person is left in the text of any table.
    for table in ("clients", "inbound", "outbox", "client_notes", "stage_history", "identities"):
        for row in await h.db.all(f"SELECT * FROM {table}"):
            text = json.dumps([str(v) for v in tuple(row)])
            assert "Sam" not in text and "+447700900123" not in text, (table, text)
    erased = await h.db.one("SELECT actor, detail FROM audit_log WHERE action = 'client.erased'")
    assert erased["actor"] == "system" and "retention" in erased["detail"]


async def test_purge_runs_in_batches_until_done(harness: Harness) -> None:
    h = harness

    async def old_entries(tx):  # type: ignore[no-untyped-def]
        for n in range(5):
            await audit(tx, h.clock.now(), "cli", "test.entry", "thing", n)
    await h.write(old_entries)
    h.clock.advance(timedelta(days=2200))
    small = replace(current(), batch=2)
    runs = []
    while True:
        counts, more = await h.write(lambda tx: purge.purge_batch(tx, h.clock.now(), small))
        runs.append(counts.get("audit_log", 0))
        if not more:
            break
    assert sum(runs) >= 5 and max(runs) <= 2
    assert await h.db.value("SELECT COUNT(*) FROM audit_log WHERE action = 'test.entry'") == 0
    assert await h.db.value("SELECT SUM(n) FROM retention_tallies WHERE metric = 'audit'"
                            " AND dimension = 'test.entry'") == 5
