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


async def test_a_link_code_texted_to_the_clients_phone(harness: Harness, demo: Demo,
                                                       panels: Any) -> None:
    """The code goes through the outbox to the client's own phone under the contact policy;
    redeemed from Telegram it links the chat."""
    import re

    sam, kim = demo.clients["D-001"], demo.clients["D-004"]
    dana = await signed_in(panels, "dana")
    response = await dana.post(f"/admin/clients/{sam}/link-code/send")
    assert response.status_code == 303 and response.headers["location"].endswith(
        "#send_link_code")
    page = (await dana.get(f"/admin/clients/{sam}")).text
    assert "texted to the client" in page
    await harness.settle()
    row = await harness.db.one(
        "SELECT o.body, i.channel, i.address FROM outbox o JOIN identities i"
        " ON i.id = o.identity_id WHERE o.client_id = ? AND o.message_key = 'link.code_sent'",
        (sam,))
    assert row is not None and (row["channel"], row["address"]) == ("sim", "client-d-001")
    code = re.search(r"/start (\S+)", row["body"])
    assert code
    await harness.tg_text(555124, f"/start {code.group(1)}")
    await harness.settle()
    assert await harness.db.value("SELECT client_id FROM identities WHERE channel = 'telegram'"
                                  " AND address = '555124' AND active = 1") == sam
    # Opted out: the policy holds it back and says so; no code is made.
    from bot.core.identities import identities_of, set_opt_out

    async def opt_out(tx: Any) -> None:
        for ident in await identities_of(tx, client_id=kim):
            await set_opt_out(tx, harness.clock.now(), ident, "STOP")

    await harness.write(opt_out)
    lee = await signed_in(panels, "lee")
    await lee.post(f"/admin/clients/{kim}/link-code/send")
    assert "Not done: not sent: the client is opted out" in (
        await lee.get(f"/admin/clients/{kim}")).text
    assert await harness.db.value("SELECT COUNT(*) FROM link_codes WHERE client_id = ?",
                                  (kim,)) == 0


async def test_the_caseload_puts_those_needing_attention_first(harness: Harness, demo: Demo,
                                                               panels: Any) -> None:
    from bot.core.clock import iso
    from bot.escalation.findings import raise_finding
    from reminders.calendar import add_appointment

    sam, jo, kim, alex = (demo.clients[r] for r in ("D-001", "D-002", "D-004", "D-003"))
    moment = harness.clock.now()

    async def world(tx: Any) -> None:
        await raise_finding(tx, moment, kim, "RED", "crisis_text", source="answer")
        await tx.execute(
            "INSERT INTO inbound (channel, provider_id, address, body, client_id, received_at,"
            " status, inbox) VALUES ('sim', 'sim-need-1', 'client-d-002', 'can you ring me', ?,"
            " ?, 'processed', 'outside_flow')", (jo, iso(moment - timedelta(days=3))))
        for day in (1, 2, 3):  # three check-ins asked since Sam last wrote
            await tx.execute(
                "INSERT INTO timers (key, kind, client_id, due_at, payload, created_at, status,"
                " outcome, done_at) VALUES (?, 'checkin', ?, ?, '{}', ?, 'done', 'started', ?)",
                (f"checkin:{sam}:t{day}", sam, iso(moment - timedelta(days=day)), iso(moment),
                 iso(moment - timedelta(days=day))))
        await add_appointment(tx, moment, client_id=alex, kind="court",
                              at=moment + timedelta(days=2), actor="test")

    await harness.write(world)
    priya = await signed_in(panels, "priya")
    page = (await priya.get("/admin/clients")).text
    order = [page.index(f'href="/admin/clients/{c}"') for c in (kim, sam, jo)]
    assert order == sorted(order), "RED first, then 3 unanswered, then unread"
    assert "RED alert open" in page and "3 check-ins unanswered" in page and "1 unread" in page
    assert page.index(f'href="/admin/clients/{jo}"') < page.index(f'href="/admin/clients/{alex}"')
    only = (await priya.get("/admin/clients?attention=1")).text
    assert f'href="/admin/clients/{alex}"' not in only and f'href="/admin/clients/{kim}"' in only
    assert 'name="attention" value="1" checked' in only  # the filter stays in the URL and form
    by_ref = (await priya.get("/admin/clients?sort=ref")).text
    refs = [by_ref.index(f'href="/admin/clients/{c}"') for c in (sam, jo, alex, kim)]
    assert refs == sorted(refs) and '<option value="ref" selected>' in by_ref
    by_appt = (await priya.get("/admin/clients?sort=next_appointment&attention=")).text
    assert by_appt.index(f'href="/admin/clients/{alex}"') < by_appt.index(
        f'href="/admin/clients/{sam}"')
    assert "None booked" in by_appt


async def test_a_supervisor_creates_a_group_picking_mentors_by_name(
        harness: Harness, demo: Demo, panels: Any) -> None:
    from bot.aftercare.mentors import promote

    gil = demo.clients["D-001"]
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET stage = 'aftercare' WHERE id = ?", (gil,)))
    mentor = await harness.write(lambda tx: promote(tx, harness.clock.now(), gil, agreed=True,
                                                    actor="test"))
    name = await harness.db.value("SELECT name FROM staff WHERE id = ?", (mentor,))
    priya = await signed_in(panels, "priya")
    page = (await priya.get("/admin/groups")).text
    assert f'<option value="{mentor}">{name}</option>' in page  # by name, not a staff id
    await priya.post("/admin/groups/new", {"name": "Thursday group", "mentor": str(mentor),
                                           "day": "thursday", "at": "18:30",
                                           "place": "Hope Centre"})
    group = await harness.db.one("SELECT id, weekday, meets_at FROM aftercare_groups"
                                 " WHERE name = 'Thursday group'")
    assert group is not None and (group["weekday"], group["meets_at"]) == (3, "18:30")
    assert await harness.db.value("SELECT staff_id FROM group_mentors WHERE group_id = ?",
                                  (group["id"],)) == mentor
    page = (await priya.get("/admin/groups")).text
    assert "Group added" in page and "Thursday group" in page
    await priya.post("/admin/groups/new", {"name": "No mentor group", "day": "monday",
                                           "at": "18:00"})
    assert "Not done" in (await priya.get("/admin/groups")).text
    assert not await harness.db.value("SELECT 1 FROM aftercare_groups"
                                      " WHERE name = 'No mentor group'")


async def test_a_supervisor_edits_a_group_and_enrols_and_withdraws_members(
        harness: Harness, demo: Demo, panels: Any) -> None:
    """Moving the meeting re-plans the meetings ahead and their reminders at the new time;
    enrolling plans a member's reminders, withdrawing cancels them."""
    from bot.aftercare.enrolment import add_group
    from bot.aftercare.mentors import promote

    gil, alex = demo.clients["D-001"], demo.clients["D-003"]  # alex is in aftercare already
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET stage = 'aftercare' WHERE id = ?", (gil,)))
    now = harness.clock.now()
    mentor = await harness.write(lambda tx: promote(tx, now, gil, agreed=True, actor="test"))
    group = await harness.write(lambda tx: add_group(
        tx, now, name="Tuesday group", mentor_ids=[mentor], meets="weekly:tue 18:00",
        actor="test"))
    priya = await signed_in(panels, "priya")
    page = (await priya.get("/admin/groups")).text
    assert f'<option value="{alex}">D-003 Alex</option>' in page
    await priya.post(f"/admin/groups/{group}/enrol", {"client": str(alex)})
    assert "Enrolled" in (await priya.get("/admin/groups")).text
    pending = ("SELECT COUNT(*) FROM timers WHERE client_id = ? AND kind = 'meeting_reminder'"
               " AND status = 'pending'")
    assert await harness.db.value(pending, (alex,)) > 0
    before = await harness.db.value("SELECT MIN(starts_at) FROM group_meetings"
                                    " WHERE group_id = ? AND status = 'scheduled'", (group,))
    await priya.post(f"/admin/groups/{group}/edit", {"name": "Thursday group", "day": "thursday",
                                                     "at": "19:30", "place": "Hope Centre"})
    page = (await priya.get("/admin/groups")).text
    assert "Group changed: name, day, time, place" in page
    row = await harness.db.one("SELECT name, weekday, meets_at, place FROM aftercare_groups"
                               " WHERE id = ?", (group,))
    assert tuple(row) == ("Thursday group", 3, "19:30", "Hope Centre")
    tz = ZoneInfo(harness.service.settings.timezone)
    ahead = await harness.db.all("SELECT starts_at, place FROM group_meetings WHERE group_id = ?"
                                 " AND status = 'scheduled'", (group,))
    assert ahead and all(parse_iso(r["starts_at"]).astimezone(tz).strftime("%a %H:%M")
                         == "Thu 19:30" and r["place"] == "Hope Centre" for r in ahead)
    assert before not in {r["starts_at"] for r in ahead}
    # Alex's reminders now point at the Thursday meetings only.
    events = {r[0] for r in await harness.db.all(
        "SELECT m.starts_at FROM timers t JOIN group_meetings m ON t.key LIKE"
        " 'meeting:' || m.id || ':%' WHERE t.client_id = ? AND t.kind = 'meeting_reminder'"
        " AND t.status = 'pending'", (alex,))}
    assert events and events <= {r["starts_at"] for r in ahead}
    due = [json.loads(r[0])["event_at"] for r in await harness.db.all(
        "SELECT payload FROM timers WHERE client_id = ? AND kind = 'meeting_reminder'"
        " AND status = 'pending'", (alex,))]
    assert due and set(due) <= {r["starts_at"] for r in ahead}
    await priya.post("/admin/groups/withdraw", {"client": str(alex), "reason": "moved away"})
    assert "Withdrawn from the group" in (await priya.get("/admin/groups")).text
    assert await harness.db.value(pending, (alex,)) == 0
    assert await harness.db.value("SELECT end_reason FROM group_members WHERE client_id = ?",
                                  (alex,)) == "moved away"
