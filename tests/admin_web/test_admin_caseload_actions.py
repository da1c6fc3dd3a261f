"""Running a caseload from the panel: add a client with consent, change the profile (and see the
check-ins move), get a Telegram link code. Through the real forms, as the officer would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.clock import parse_iso
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture

LONDON = ZoneInfo("Europe/London")


async def checkin_times(h: Harness, client_id: int) -> dict[str, str]:
    """Pending check-ins of one client: key -> local HH:MM."""
    rows = await h.db.all("SELECT key, due_at FROM timers WHERE client_id = ? AND kind = 'checkin'"
                          " AND status = 'pending' ORDER BY key", (client_id,))
    return {r["key"]: parse_iso(r["due_at"]).astimezone(LONDON).strftime("%H:%M") for r in rows}


async def test_an_officer_adds_a_client_to_their_own_caseload(harness: Harness, demo: Demo,
                                                              panels: Any) -> None:
    dana = await signed_in(panels, "dana")
    form = (await dana.get("/admin/clients/new")).text
    assert 'name="consented"' in form and 'name="officer"' not in form  # no choosing for others
    response = await dana.post("/admin/clients/new", {
        "ref": "N-101", "first_name": "Robin", "phone": "07700 900321", "language": "en_GB",
        "stage": "engagement", "referral_source": "probation", "consented": "yes",
        "officer": str(demo.staff["lee"])})
    assert response.status_code == 303
    client = await harness.db.one("SELECT * FROM clients WHERE ref = 'N-101'")
    assert response.headers["location"] == f"/admin/clients/{client['id']}"
    assert client["officer_id"] == demo.staff["dana"] and client["consent_at"]
    assert client["consent_method"] == "officer_in_person" and client["stage"] == "engagement"
    assert await harness.db.value("SELECT address FROM identities WHERE client_id = ?",
                                  (client["id"],)) == "+447700900321"
    actor = await harness.db.value("SELECT actor FROM audit_log WHERE action = 'client.added'"
                                   " AND object_id = ?", (client["id"],))
    assert actor == f"staff:{demo.staff['dana']}"
    assert await checkin_times(harness, client["id"])  # consented: check-ins planned at once
    page = (await dana.get(f"/admin/clients/{client['id']}")).text
    assert "Client N-101 added." in page and "Robin" in page


async def test_a_bad_form_says_why_and_adds_nothing(harness: Harness, demo: Demo,
                                                    panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    before = await harness.db.value("SELECT COUNT(*) FROM clients")
    for data, words in (
            ({"ref": "D-001", "first_name": "Dup"}, "already exists"),
            ({"ref": "N 1", "first_name": "Space"}, "ref: 2-32 characters"),
            ({"ref": "N-2", "first_name": "X", "referral_source": "my mate"},
             "referral source: choose one from the list"),
            ({"ref": "N-3", "first_name": "X", "phone": "12"}, "phone:")):
        response = await priya.post("/admin/clients/new", {
            "officer": str(demo.staff["lee"]), "language": "en_GB", "stage": "referral", **data})
        assert response.status_code == 400 and words in response.text, words
        assert f'value="{data["ref"]}"' in response.text  # what was typed is kept
    assert await harness.db.value("SELECT COUNT(*) FROM clients") == before
    # A supervisor chooses the officer.
    response = await priya.post("/admin/clients/new", {
        "ref": "N-4", "first_name": "Ash", "officer": str(demo.staff["lee"]),
        "language": "en_GB", "stage": "referral"})
    assert response.status_code == 303
    row = await harness.db.one("SELECT officer_id, consent_at FROM clients WHERE ref = 'N-4'")
    assert row["officer_id"] == demo.staff["lee"] and row["consent_at"] is None


async def test_changing_the_checkin_time_moves_the_planned_checkins(
        harness: Harness, demo: Demo, panels: Any) -> None:
    from reminders.planner import plan_client

    sam = demo.clients["D-001"]
    await harness.write(lambda tx: plan_client(tx, harness.clock.now(), sam))
    before = await checkin_times(harness, sam)
    assert before and "19:45" not in before.values()
    dana = await signed_in(panels, "dana")
    response = await dana.post(f"/admin/clients/{sam}/settings", {
        "language": "en_GB", "checkin_time": "19:45", "discreet": "yes"})
    assert response.headers["location"].endswith("#settings")
    after = await checkin_times(harness, sam)
    tomorrow = (harness.clock.now().astimezone(LONDON) + timedelta(days=1)).date().isoformat()
    assert after[f"checkin:{sam}:{tomorrow}"] == "19:45"
    assert set(after) >= {k for k in before if tomorrow in k}  # moved, not dropped
    page = (await dana.get(f"/admin/clients/{sam}")).text
    assert "Profile saved: check-in time." in page and 'value="19:45"' in page
    entry = await harness.db.one("SELECT actor, detail FROM audit_log WHERE action ="
                                 " 'client.profile_changed' AND object_id = ?", (sam,))
    assert entry["actor"] == f"staff:{demo.staff['dana']}"
    assert json.loads(entry["detail"])["checkin_time"]["to"] == "19:45"
    # Quiet hours: both ends or neither; a language must have texts.
    await dana.post(f"/admin/clients/{sam}/settings", {
        "language": "en_GB", "checkin_time": "19:45", "discreet": "yes", "quiet_start": "22:00"})
    assert "give both times" in (await dana.get(f"/admin/clients/{sam}")).text
    await dana.post(f"/admin/clients/{sam}/settings", {"language": "xx_XX"})
    assert "language: choose one" in (await dana.get(f"/admin/clients/{sam}")).text
    await dana.post(f"/admin/clients/{sam}/settings", {
        "language": "en_GB", "checkin_time": "19:45", "quiet_start": "21:30",
        "quiet_end": "07:00"})
    row = await harness.db.one("SELECT discreet, quiet_start, quiet_end, checkin_time"
                               " FROM clients WHERE id = ?", (sam,))
    assert tuple(row) == (0, "21:30", "07:00", "19:45")
    assert "21:30 to 07:00" in (await dana.get(f"/admin/clients/{sam}")).text


async def test_a_telegram_link_code_instead_of_a_chat_id(harness: Harness, demo: Demo,
                                                         panels: Any) -> None:
    import re

    sam = demo.clients["D-001"]
    dana = await signed_in(panels, "dana")
    await dana.post(f"/admin/clients/{sam}/link-code")
    page = (await dana.get(f"/admin/clients/{sam}")).text
    code = re.search(r"Telegram link code: (\S+)\.", page)
    assert code, page[:2000]
    assert await harness.db.value("SELECT COUNT(*) FROM link_codes WHERE client_id = ?",
                                  (sam,)) == 1
    # The client sends it to the bot: their chat is linked.
    await harness.tg_text(555123, f"/start {code.group(1)}")
    await harness.settle()
    assert await harness.db.value("SELECT client_id FROM identities WHERE channel = 'telegram'"
                                  " AND address = '555123' AND active = 1") == sam
