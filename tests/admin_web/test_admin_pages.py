"""The panel's pages and actions through the real app: queue, caseload, client page, calendar,
unmatched messages, staff and rota, settings, audit; and untrusted text staying inert."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from bot.core.clock import iso
from tests.admin_web.support import (
    Demo,
    raise_amber,
    signed_in,
    visible,
)
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

# The shared fixtures, under the names tests ask for.
demo = demo_fixture
panels = panels_fixture

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def inbound(h: Harness, body: str, *, client_id: int | None = None,
                  address: str = "+447700900555", status: str = "unmatched") -> int:
    return int(await h.write(lambda tx: tx.execute(
        "INSERT INTO inbound (channel, provider_id, address, body, client_id, received_at,"
        " status) VALUES ('sms', ?, ?, ?, ?, ?, ?)",
        (f"SM{abs(hash((body, address)))}", address, body, client_id, iso(h.clock.now()),
         status))))


# Escalation queue -------------------------------------------------------------------------------

async def test_queue_orders_by_severity_then_age_and_shows_who_was_told(
        harness: Harness, demo: Demo, panels: Any) -> None:
    from bot.escalation.findings import raise_finding

    sam, jo = demo.clients["D-001"], demo.clients["D-002"]
    routine = await harness.write(lambda tx: raise_finding(
        tx, harness.clock.now(), jo, "ROUTINE", "call_wanted", source="answer"))
    harness.clock.advance(timedelta(minutes=5))
    amber = await raise_amber(harness, sam)
    harness.clock.advance(timedelta(minutes=5))
    await harness.write(lambda tx: raise_finding(tx, harness.clock.now(), jo, "RED",
                                                 "crisis_text", source="answer"))
    assert routine
    page = (await (await signed_in(panels, "dana")).get("/admin/escalations")).text
    red_at, amber_at, routine_at = (page.index(f"sev-{s}\">{s}") for s in
                                    ("RED", "AMBER", "ROUTINE"))
    assert red_at < amber_at < routine_at
    assert "Who was told" in page and "Dana Hughes · first alert" in page
    assert f'action="/admin/escalations/{amber}/ack"' in page
    assert f'aria-label="Acknowledge alert {amber}"' in page


async def test_acknowledge_and_resolve_from_the_queue(harness: Harness, demo: Demo,
                                                      panels: Any) -> None:
    esc = await raise_amber(harness, demo.clients["D-001"])
    dana = await signed_in(panels, "dana")
    response = await dana.post(f"/admin/escalations/{esc}/ack", {"next": "/admin/escalations"})
    assert response.status_code == 303
    row = await harness.db.one("SELECT status, ack_method, acknowledged_by FROM escalations"
                               " WHERE id = ?", (esc,))
    assert tuple(row) == ("acknowledged", "web", demo.staff["dana"])
    page = (await dana.get("/admin/escalations")).text
    assert f"Escalation {esc} acknowledged." in page and "acknowledged by Dana Hughes" in page
    no_outcome = await dana.post(f"/admin/escalations/{esc}/resolve", {"outcome": ""})
    assert no_outcome.status_code == 303
    assert await harness.db.value("SELECT status FROM escalations WHERE id = ?", (esc,)) \
        == "acknowledged"
    await dana.post(f"/admin/escalations/{esc}/resolve",
                    {"outcome": "Visited in person", "note": "Safe, at the hub."})
    row = await harness.db.one("SELECT status, outcome, note FROM escalations WHERE id = ?",
                               (esc,))
    assert tuple(row) == ("resolved", "Visited in person", "Safe, at the hub.")
    assert f"#{esc}" not in (await dana.get("/admin/escalations")).text
    assert "Visited in person" in (await dana.get("/admin/escalations?view=resolved")).text
    audit = [r[0] for r in await harness.db.all(
        "SELECT action FROM audit_log WHERE object_kind = 'escalation' AND object_id = ?",
        (esc,))]
    assert "escalation.acknowledged" in audit and "escalation.resolved" in audit


# Caseload ---------------------------------------------------------------------------------------

async def test_caseload_filters_and_search(harness: Harness, demo: Demo, panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    everyone = visible((await priya.get("/admin/clients")).text)
    assert all(name in everyone for name in ("Sam", "Jo", "Alex", "Kim", "Chris"))
    by_area = visible((await priya.get("/admin/clients?area=Erdington")).text)
    assert "Jo" in by_area and "Chris" in by_area and "Alex" not in by_area
    by_stage = visible((await priya.get("/admin/clients?stage=referral")).text)
    assert "Kim" in by_stage and "Sam" not in by_stage
    by_officer = visible((await priya.get(f"/admin/clients?officer={demo.staff['lee']}")).text)
    assert "Alex" in by_officer and "Sam" not in by_officer
    by_status = visible((await priya.get("/admin/clients?status=referral_waiting")).text)
    assert "Kim" in by_status and "Jo" not in by_status
    search = visible((await priya.get("/admin/clients?q=d-00")).text)
    assert "Sam" in search and "Kim" in search
    assert "· Jo<" in (await priya.get("/admin/clients?q=jo")).text
    assert "No clients match" in (await priya.get("/admin/clients?q=%25")).text
    rows = list(csv.reader(io.StringIO((await priya.get(
        "/admin/clients.csv?area=Erdington")).text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["ref", "first_name", "officer_username", "stage"]
    assert sorted(r[0] for r in rows[1:]) == ["D-002", "D-005"]


# Client page ------------------------------------------------------------------------------------

async def test_client_page_shows_everything_and_records_the_view(
        harness: Harness, demo: Demo, panels: Any) -> None:
    import json

    sam = demo.clients["D-001"]
    now = harness.clock.now()
    for day, (happy, craving) in enumerate([(3, 8), (5, 6), (7, 2)]):
        at = iso(now - timedelta(days=3 - day))
        for key, value in (("ons_happy", happy), ("craving_24h", craving)):
            await harness.write(lambda tx, k=key, v=value, a=at: tx.execute(
                "INSERT INTO answers (client_id, flow_id, question_key, raw_text, value, status,"
                " at) VALUES (?, 'daily_checkin', ?, ?, ?, 'answered', ?)",
                (sam, k, str(v), json.dumps(v), a)))
    await harness.write(lambda tx: tx.execute(
        "INSERT INTO scores (client_id, scale_id, total, detail, at) VALUES (?, 'phq4', 6,"
        " '{\"bands\": {\"total\": \"mild\"}}', ?)", (sam, iso(now))))
    dana = await signed_in(panels, "dana")
    page = (await dana.get(f"/admin/clients/{sam}")).text
    for expected in ("D-001 · Sam", "Happy</span> 7", "Craving</span> 2", "PHQ-4", "mild",
                     "Sutton Coldfield", "Officer outreach", "<svg", "Move to stage"):
        assert expected in page, expected
    assert "Happy yesterday" in page and "polyline" in page
    viewed = await harness.db.value(
        "SELECT actor FROM audit_log WHERE action = 'client.viewed' AND object_id = ?", (sam,))
    assert viewed == f"staff:{demo.staff['dana']}"


async def test_move_stage_forward_and_back_with_a_reason(harness: Harness, demo: Demo,
                                                         panels: Any) -> None:
    sam = demo.clients["D-001"]
    dana = await signed_in(panels, "dana")
    await dana.post(f"/admin/clients/{sam}/stage", {"stage": "police_assessment", "reason": ""})
    assert await harness.db.value("SELECT stage FROM clients WHERE id = ?", (sam,)) \
        == "engagement"
    await dana.post(f"/admin/clients/{sam}/stage",
                    {"stage": "police_assessment", "reason": "Met four times, ready"})
    await dana.post(f"/admin/clients/{sam}/stage",
                    {"stage": "engagement", "reason": "Relapsed; back to daily contact"})
    history = await harness.db.all(
        "SELECT from_stage, to_stage, reason, actor FROM stage_history WHERE client_id = ?"
        " ORDER BY id", (sam,))
    assert [tuple(h) for h in history] == [
        ("engagement", "police_assessment", "Met four times, ready", f"staff:{demo.staff['dana']}"),
        ("police_assessment", "engagement", "Relapsed; back to daily contact",
         f"staff:{demo.staff['dana']}")]
    page = (await dana.get(f"/admin/clients/{sam}")).text
    assert "Relapsed; back to daily contact" in page


async def test_early_discharge_from_rehab_runs_the_safety_protocol(
        harness: Harness, demo: Demo, panels: Any) -> None:
    chris = demo.clients["D-005"]  # in rehab, dana's client
    dana = await signed_in(panels, "dana")
    await dana.post(f"/admin/clients/{chris}/stage",
                    {"stage": "discharged_early", "reason": "Left after a row on day 20"})
    client = await harness.db.one("SELECT stage, heightened_until FROM clients WHERE id = ?",
                                  (chris,))
    assert client["stage"] == "discharged_early" and client["heightened_until"]
    assert await harness.db.value("SELECT severity FROM escalations WHERE client_id = ?",
                                  (chris,)) == "RED"
    assert await harness.db.value("SELECT reason FROM stage_history WHERE client_id = ?",
                                  (chris,)) == "Left after a row on day 20"


async def test_send_message_start_flow_note_and_link(harness: Harness, demo: Demo,
                                                     panels: Any) -> None:
    sam = demo.clients["D-001"]
    dana = await signed_in(panels, "dana")
    await dana.post(f"/admin/clients/{sam}/message", {"text": "See you at 2 at the hub"})
    sent = await harness.db.one("SELECT body, channel, cause FROM outbox WHERE client_id = ?"
                                " AND message_key = 'officer.free_text'", (sam,))
    assert sent["body"] == "See you at 2 at the hub" and sent["cause"].startswith("officer:")
    await dana.post(f"/admin/clients/{sam}/flow", {"flow": "daily_checkin"})
    session = await harness.db.one("SELECT flow_id, officer_started FROM flow_sessions"
                                   " WHERE client_id = ? ORDER BY id DESC", (sam,))
    assert tuple(session) == ("daily_checkin", 1)
    bad = await dana.post(f"/admin/clients/{sam}/flow", {"flow": "no_such_flow"})
    assert bad.status_code == 303
    assert "Not done" in (await dana.get(f"/admin/clients/{sam}")).text
    await dana.post(f"/admin/clients/{sam}/note", {"body": f"Sounded low {XSS}"})
    page = (await dana.get(f"/admin/clients/{sam}")).text
    assert f"Sounded low {ESCAPED}" in page and XSS not in page
    # A new phone: messages it already sent are filed under Sam.
    await inbound(harness, "its sam new phone")
    await dana.post(f"/admin/clients/{sam}/link", {"channel": "sms", "address": "07700 900555"})
    row = await harness.db.one("SELECT client_id, identity_id FROM inbound WHERE address = ?",
                               ("+447700900555",))
    assert row["client_id"] == sam and row["identity_id"]
    assert "its sam new phone" in (await dana.get(f"/admin/clients/{sam}")).text


async def test_linking_a_number_that_belongs_to_someone_else(harness: Harness, demo: Demo,
                                                             panels: Any) -> None:
    from bot.core.identities import add_identity

    sam, kim = demo.clients["D-001"], demo.clients["D-004"]
    await harness.write(lambda tx: add_identity(tx, harness.clock.now(), "sms", "+447700900888",
                                                client_id=kim))
    dana = await signed_in(panels, "dana")
    # An officer cannot take a number from someone else, even by sending replace=yes.
    await dana.post(f"/admin/clients/{sam}/link",
                    {"channel": "sms", "address": "+447700900888", "replace": "yes"})
    owner = await harness.db.value("SELECT client_id FROM identities WHERE address = ?"
                                   " AND active = 1", ("+447700900888",))
    assert owner == kim
    assert "belongs to someone else" in (await dana.get(f"/admin/clients/{sam}")).text
    priya = await signed_in(panels, "priya")
    await priya.post(f"/admin/clients/{sam}/link",
                     {"channel": "sms", "address": "+447700900888", "replace": "yes"})
    owner = await harness.db.value("SELECT client_id FROM identities WHERE address = ?"
                                   " AND active = 1", ("+447700900888",))
    assert owner == sam


async def test_supervisor_reassigns_a_client(harness: Harness, demo: Demo, panels: Any) -> None:
    sam = demo.clients["D-001"]
    priya = await signed_in(panels, "priya")
    await priya.post(f"/admin/clients/{sam}/reassign", {"officer": str(demo.staff["lee"])})
    assert await harness.db.value("SELECT officer_id FROM clients WHERE id = ?", (sam,)) \
        == demo.staff["lee"]
    dana = await signed_in(panels, "dana")
    assert (await dana.get(f"/admin/clients/{sam}")).status_code == 404
    lee = await signed_in(panels, "lee")
    assert (await lee.get(f"/admin/clients/{sam}")).status_code == 200
    await priya.post(f"/admin/clients/{sam}/reassign", {"officer": str(demo.staff["admin"])})
    assert await harness.db.value("SELECT officer_id FROM clients WHERE id = ?", (sam,)) \
        == demo.staff["lee"]


# Untrusted text ---------------------------------------------------------------------------------

async def test_xss_in_client_text_is_inert_on_timeline_unmatched_and_queue(
        harness: Harness, demo: Demo, panels: Any) -> None:
    sam = demo.clients["D-001"]
    await inbound(harness, f"hi {XSS}", client_id=sam, address="client-d-001",
                  status="processed")
    await inbound(harness, f"new phone {XSS} <img src=x onerror=alert(2)>")
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET first_name = ?, area = ? WHERE id = ?",
        ('Sam"><script>alert(3)</script>', XSS, sam)))
    await raise_amber(harness, sam)
    dana = await signed_in(panels, "dana")
    for path in (f"/admin/clients/{sam}", "/admin/unmatched", "/admin/escalations",
                 "/admin/clients", "/admin/calendar"):
        html = (await dana.get(path)).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
    assert f"hi {ESCAPED}" in (await dana.get(f"/admin/clients/{sam}")).text
    unmatched = (await dana.get("/admin/unmatched")).text
    assert f"new phone {ESCAPED} &lt;img src=x onerror=alert(2)&gt;" in unmatched


async def test_csv_downloads_neutralise_formulas(harness: Harness, demo: Demo,
                                                 panels: Any) -> None:
    sam = demo.clients["D-001"]
    await harness.write(lambda tx: tx.execute(
        "UPDATE clients SET first_name = '=HYPERLINK(\"http://x\")', area = '+cmd' WHERE id = ?",
        (sam,)))
    priya = await signed_in(panels, "priya")
    response = await priya.get("/admin/clients.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    sam_row = next(r for r in rows if r[0] == "D-001")
    assert sam_row[1] == "'=HYPERLINK(\"http://x\")" and sam_row[4] == "'+cmd"


# Unmatched --------------------------------------------------------------------------------------

async def test_unmatched_page_and_link(harness: Harness, demo: Demo, panels: Any) -> None:
    await inbound(harness, "this is jo, lost my phone", address="+447700900444")
    await inbound(harness, "i want to die", address="+447700900333")
    dana = await signed_in(panels, "dana")
    page = (await dana.get("/admin/unmatched")).text
    assert "+447700900444" in page and "lost my phone" in page
    assert "Crisis words" in page
    jo = demo.clients["D-002"]
    await dana.post("/admin/unmatched/link", {"client": str(jo), "channel": "sms",
                                              "address": "+447700900444"})
    page = (await dana.get("/admin/unmatched")).text
    assert "lost my phone" not in page
    assert "lost my phone" in (await dana.get(f"/admin/clients/{jo}")).text


# Calendar ---------------------------------------------------------------------------------------

async def test_calendar_add_move_mark_and_cancel(harness: Harness, demo: Demo,
                                                 panels: Any) -> None:
    sam, jo = demo.clients["D-001"], demo.clients["D-002"]
    dana = await signed_in(panels, "dana")
    assert (await dana.get("/admin/calendar")).status_code == 200
    await dana.post("/admin/calendar/appointments", {
        "client": str(sam), "kind": "police_assessment", "at": "2026-11-27T14:00",
        "place": "Steelhouse Lane", "with": "PC Ahmed"})
    appt = await harness.db.one("SELECT id, at, status FROM appointments WHERE client_id = ?",
                                (sam,))
    assert appt["at"] == "2026-11-27T14:00:00.000000Z" and appt["status"] == "scheduled"
    assert await harness.db.value("SELECT COUNT(*) FROM timers WHERE key LIKE ?",
                                  (f"reminder:{appt['id']}:%",)) > 0
    page = (await dana.get("/admin/calendar")).text
    assert "Steelhouse Lane" in page and "Police assessment" in page
    await dana.post(f"/admin/appointments/{appt['id']}/reschedule", {"at": "2026-11-28T10:00"})
    assert await harness.db.value("SELECT at FROM appointments WHERE id = ?", (appt["id"],)) \
        == "2026-11-28T10:00:00.000000Z"
    await dana.post(f"/admin/appointments/{appt['id']}/outcome", {"outcome": "attended"})
    assert await harness.db.value("SELECT status FROM appointments WHERE id = ?",
                                  (appt["id"],)) == "attended"
    past = await dana.post("/admin/calendar/appointments", {
        "client": str(sam), "kind": "court", "at": "2020-01-01T10:00"})
    assert past.status_code == 303
    assert "already passed" in (await dana.get("/admin/calendar")).text
    # The course: a session, Jo enrolled, attendance marked.
    await dana.post("/admin/calendar/sessions", {"at": "2026-11-26T10:00", "place": "Hub"})
    await dana.post("/admin/calendar/enrol", {"client": str(jo)})
    session = await harness.db.value("SELECT id FROM course_sessions")
    page = (await dana.get("/admin/calendar")).text
    assert 'aria-label="Attended: Jo"' in page
    await dana.post(f"/admin/sessions/{session}/attendance", {"client": str(jo),
                                                              "outcome": "attended"})
    assert await harness.db.value("SELECT outcome FROM course_attendance WHERE client_id = ?",
                                  (jo,)) == "attended"
    assert "attended 1 of 1" in (await dana.get(f"/admin/clients/{jo}")).text
    await dana.post("/admin/calendar/appointments", {
        "client": str(jo), "kind": "housing", "at": "2026-11-30T09:00"})
    second = await harness.db.value("SELECT id FROM appointments WHERE client_id = ?", (jo,))
    await dana.post(f"/admin/appointments/{second}/cancel", {})
    assert await harness.db.value("SELECT status FROM appointments WHERE id = ?", (second,)) \
        == "cancelled"


# Staff, rota, settings, audit -------------------------------------------------------------------

async def test_supervisor_manages_availability_and_rota(harness: Harness, demo: Demo,
                                                        panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    lee = demo.staff["lee"]
    await priya.post(f"/admin/staff/{lee}/availability", {"available": "off", "reason": "sick"})
    row = await harness.db.one("SELECT available, unavailable_reason FROM staff WHERE id = ?",
                               (lee,))
    assert tuple(row) == (0, "sick")
    await priya.post("/admin/rota", {"staff": str(demo.staff["dana"]), "duty": "duty_officer",
                                     "start": "2026-11-25T08:00", "end": "2026-11-25T20:00"})
    page = (await priya.get("/admin/staff")).text
    assert "duty officer <strong>Dana Hughes</strong>" in page
    rota_id = await harness.db.value("SELECT id FROM rota")
    await priya.post(f"/admin/rota/{rota_id}/end", {})
    assert "duty officer <strong>nobody</strong>" in (await priya.get("/admin/staff")).text
    bad = await priya.post("/admin/rota", {"staff": str(demo.staff["mentor-mo"]),
                                           "duty": "duty_officer", "start": "2026-11-25T08:00",
                                           "end": "2026-11-25T20:00"})
    assert bad.status_code == 303
    assert "Not done" in (await priya.get("/admin/staff")).text


async def test_admin_manages_accounts(harness: Harness, demo: Demo, panels: Any) -> None:
    admin = await signed_in(panels, "admin")
    await admin.post("/admin/staff/add", {
        "name": "Nina Patel", "role": "officer", "username": "nina", "phone": "07700 900321"})
    nina = await harness.db.one("SELECT id, role, active, password_hash FROM staff"
                                " WHERE username = 'nina'")
    # An officer reaches case files: inactive, no password, until a supervisor approves
    # (the whole path is in test_separation_of_duties).
    assert (nina["role"], nina["active"], nina["password_hash"]) == ("officer", 0, None)
    assert await harness.db.value("SELECT address FROM identities WHERE staff_id = ?",
                                  (nina["id"],)) == "+447700900321"
    assert "Waiting for a supervisor" in (await admin.get("/admin/staff")).text
    own = await admin.post(f"/admin/staff/{demo.staff['admin']}/active", {"active": "off"})
    assert own.status_code == 303
    assert await harness.db.value("SELECT active FROM staff WHERE id = ?",
                                  (demo.staff["admin"],)) == 1


async def test_admin_edits_the_theft_parameters(harness: Harness, demo: Demo,
                                                panels: Any) -> None:
    admin = await signed_in(panels, "admin")
    page = (await admin.get("/admin/settings")).text
    assert "£38,000 to £57,000" in page
    await admin.post("/admin/settings", {"theft.habit_cost_per_year": "20000",
                                         "theft.resale_min": "25%", "theft.resale_max": "0.5"})
    assert "£40,000 to £80,000" in (await admin.get("/admin/settings")).text
    await admin.post("/admin/settings", {"theft.habit_cost_per_year": "20000",
                                         "theft.resale_min": "0.9", "theft.resale_max": "0.5"})
    assert "Not saved" in (await admin.get("/admin/settings")).text
    priya = await signed_in(panels, "priya")
    assert "40,000" in (await priya.get("/admin/dashboard")).text  # goods stolen, low estimate


async def test_audit_log_shows_who_viewed_and_changed_what(harness: Harness, demo: Demo,
                                                           panels: Any) -> None:
    sam = demo.clients["D-001"]
    dana = await signed_in(panels, "dana")
    await dana.get(f"/admin/clients/{sam}")
    await dana.post(f"/admin/clients/{sam}/note", {"body": "checked in"})
    priya = await signed_in(panels, "priya")
    page = (await priya.get(f"/admin/audit?actor=staff:{demo.staff['dana']}")).text
    assert "Client viewed" in page and "Client note added" in page and "Dana Hughes" in page
    assert "client D-001" in page  # the reference, not the database id
    only_views = (await priya.get("/admin/audit?action=client.viewed")).text
    assert "Client note added" not in only_views and "Client viewed" in only_views
    rows = list(csv.reader(io.StringIO((await priya.get(
        f"/admin/audit.csv?kind=client&object={sam}")).text.lstrip("\ufeff"))))
    assert {r[4] for r in rows[1:]} >= {"client.viewed", "client.note_added"}


async def test_dashboard_tables_and_csv(harness: Harness, demo: Demo, panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    page = (await priya.get("/admin/dashboard")).text
    for title in ("Referrals by officer and status (Table 1)", "Journey funnel",
                  "Pre-admission course attendance", "Check-in response rate",
                  "Escalations by severity", "Cohort wellbeing", "Referrals by source",
                  "Referrals by primary offending area", "Estimated retail theft avoided"):
        assert title in page, title
    rows = list(csv.reader(io.StringIO((await priya.get(
        "/admin/dashboard/referrals-by-officer.csv")).text.lstrip("\ufeff"))))
    assert rows[0] == ["status", "Current status", "Dana Hughes", "Lee Okafor", "Overall"]
    assert rows[-1] == ["total", "Total", "3", "2", "5"]
    assert (await priya.get("/admin/dashboard/nope.csv")).status_code == 404
