"""Separation of duties: an admin manages accounts but never sets or learns a password of an
account that reaches case files; the person sets their own with a one-time link sent to them;
any widening of case access waits for a supervisor, and the decision is audited."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.accounts import SETUP_LINK_TTL, raises_case_access
from bot.core.clock import FixedClock
from tests.admin_web.support import Demo, signed_in, visible
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.admin_web.test_admin_auth import admin_app
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture

LINK_RE = re.compile(r"https://o2r\.example\.test(/admin/setup\?token=[A-Za-z0-9_-]+)")
NEW_PASSWORD = "lantern quietly orbits marmalade"


def test_case_access_order() -> None:
    assert raises_case_access(None, "officer") and raises_case_access(None, "mentor")
    assert not raises_case_access(None, "admin")
    assert raises_case_access("admin", "mentor") and raises_case_access("officer", "supervisor")
    assert not raises_case_access("supervisor", "officer")
    assert not raises_case_access("officer", "admin")
    # An evaluator sees aggregates of everyone: an admin cannot grant it alone, a move to or
    # from a mentor (other data, not less) is approved too; down from a case role is not.
    assert raises_case_access(None, "evaluator") and raises_case_access("admin", "evaluator")
    assert raises_case_access("mentor", "evaluator") and raises_case_access("evaluator", "mentor")
    assert not raises_case_access("supervisor", "evaluator")
    assert not raises_case_access("officer", "evaluator")
    assert raises_case_access("evaluator", "officer")


async def sent_link(h: Harness, staff_id: int) -> str:
    """The panel path in the last set-password text queued to `staff_id`."""
    body = await h.db.value("SELECT body FROM outbox WHERE staff_id = ? AND message_key ="
                            " 'staff.setup_link' ORDER BY id DESC LIMIT 1", (staff_id,))
    found = LINK_RE.search(body or "")
    assert found, body
    return found.group(1)


async def audited(h: Harness, action: str, staff_id: int) -> list[Any]:
    return await h.db.all("SELECT actor, detail FROM audit_log WHERE action = ? AND"
                          " object_kind = 'staff' AND object_id = ? ORDER BY id",
                          (action, staff_id))


async def set_password(panel: Any, path: str, new: str, confirm: str | None = None) -> Any:
    form = await panel.get(path)
    token = path.split("token=")[1]
    response = await panel.post("/admin/setup", {"token": token, "new": new,
                                                 "confirm": new if confirm is None else confirm})
    return form, response


async def test_a_new_officer_waits_for_a_supervisor_then_sets_their_own_password(
        harness: Harness, demo: Demo, panels: Any) -> None:
    admin = await signed_in(panels, "admin")
    await admin.post("/admin/staff/add", {"name": "Nina Patel", "role": "officer",
                                          "username": "nina", "phone": "07700 900321"})
    nina = int(await harness.db.value("SELECT id FROM staff WHERE username = 'nina'"))
    assert await harness.db.value("SELECT active FROM staff WHERE id = ?", (nina,)) == 0
    assert not await harness.db.value("SELECT COUNT(*) FROM staff_setup_links")
    # The admin cannot switch it on past the supervisor.
    await admin.post(f"/admin/staff/{nina}/active", {"active": "on"})
    assert await harness.db.value("SELECT active FROM staff WHERE id = ?", (nina,)) == 0
    assert "must decide" in (await admin.get("/admin/staff")).text

    priya = await signed_in(panels, "priya")
    request_id = await harness.db.value("SELECT id FROM role_requests WHERE staff_id = ?",
                                        (nina,))
    staff_page = await priya.get("/admin/staff")
    assert "sms +447700900321" in staff_page.text  # what the supervisor checks
    assert (await priya.post(f"/admin/staff/requests/{request_id}/decide",
                             {"decision": "approve"})).status_code == 303
    assert tuple(await harness.db.one("SELECT role, active FROM staff WHERE id = ?",
                                      (nina,))) == ("officer", 1)
    approved = await audited(harness, "staff.role_approved", nina)
    assert approved[0]["actor"] == f"staff:{demo.staff['priya']}"
    assert json.loads(approved[0]["detail"])["requested_by"] == f"staff:{demo.staff['admin']}"

    path = await sent_link(harness, nina)
    assert await harness.db.value("SELECT address FROM outbox WHERE message_key ="
                                  " 'staff.setup_link'") == "+447700900321"
    token = path.split("token=")[1]
    for page in ("/admin/staff", "/admin/audit"):
        assert token not in (await priya.get(page)).text
    assert token not in (await admin.get("/admin/staff")).text

    phone = panels()
    form, weak = await set_password(phone, path, "passwordpassword")
    assert form.status_code == 200 and "Nina Patel" in form.text and weak.status_code == 400
    _, differ = await set_password(phone, path, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert differ.status_code == 400
    _, ok = await set_password(phone, path, NEW_PASSWORD)
    assert ok.status_code == 200 and "Your password is set" in ok.text
    assert len(await audited(harness, "staff.password_set_by_link", nina)) == 1
    # Single use.
    again, reuse = await set_password(panels(), path, "another lantern orbits quietly")
    assert again.status_code == 404 and reuse.status_code == 404
    assert (await panels().login("nina", NEW_PASSWORD)).status_code == 303
    assert (await panels().login("nina", "another lantern orbits quietly")).status_code == 400


async def test_an_admin_reset_sends_the_link_to_the_person_and_it_expires(
        harness: Harness, demo: Demo, panels: Any) -> None:
    """The attack from the review: an admin takes over a supervisor by resetting its password.
    Now the admin sees no password field and no link; priya's own phone gets it."""
    clock = FixedClock(datetime.now(UTC))
    admin_app(harness).state.auth_clock = clock
    admin = await signed_in(panels, "admin")
    priya = demo.staff["priya"]
    staff_page = visible((await admin.get("/admin/staff")).text)
    assert 'type="password"' not in staff_page
    response = await admin.post(f"/admin/staff/{priya}/password")
    assert response.status_code == 303
    flash = (await admin.get("/admin/staff")).text
    assert "set-password link went to their simulator phone" in flash
    first = await sent_link(harness, priya)
    assert first.split("token=")[1] not in flash
    # The old password still works until priya sets a new one.
    assert (await panels().login("priya")).status_code == 303
    # A second reset revokes the first link; the second one expires after its time.
    await admin.post(f"/admin/staff/{priya}/password")
    second = await sent_link(harness, priya)
    assert second != first
    assert (await panels().get(first)).status_code == 404
    clock.advance(SETUP_LINK_TTL + timedelta(seconds=1))
    assert (await panels().get(second)).status_code == 404
    assert len(await audited(harness, "staff.setup_link_issued", priya)) == 2


async def test_raising_a_role_waits_for_a_supervisor_lowering_does_not(
        harness: Harness, demo: Demo, panels: Any) -> None:
    admin = await signed_in(panels, "admin")
    dana, lee = demo.staff["dana"], demo.staff["lee"]
    await admin.post(f"/admin/staff/{dana}/role", {"role": "supervisor"})
    assert await harness.db.value("SELECT role FROM staff WHERE id = ?", (dana,)) == "officer"
    await admin.post(f"/admin/staff/{lee}/role", {"role": "mentor"})
    assert await harness.db.value("SELECT role FROM staff WHERE id = ?", (lee,)) == "mentor"
    assert len(await audited(harness, "staff.role_changed", lee)) == 1
    # Nobody changes their own role, admins included.
    await admin.post(f"/admin/staff/{demo.staff['admin']}/role", {"role": "supervisor"})
    assert not await harness.db.value("SELECT COUNT(*) FROM role_requests WHERE staff_id = ?",
                                      (demo.staff["admin"],))
    request_id = await harness.db.value("SELECT id FROM role_requests WHERE staff_id = ?",
                                        (dana,))
    # An officer cannot decide it (403 in the matrix); a supervisor declines it.
    officer = await signed_in(panels, "dana")
    assert (await officer.post(f"/admin/staff/requests/{request_id}/decide",
                               {"decision": "approve"})).status_code == 403
    priya = await signed_in(panels, "priya")
    await priya.post(f"/admin/staff/requests/{request_id}/decide", {"decision": "decline"})
    assert await harness.db.value("SELECT role FROM staff WHERE id = ?", (dana,)) == "officer"
    assert len(await audited(harness, "staff.role_declined", dana)) == 1
    # Asked again and approved: now a supervisor, with the supervisor's name on it.
    await admin.post(f"/admin/staff/{dana}/role", {"role": "supervisor"})
    second = await harness.db.value("SELECT id FROM role_requests WHERE staff_id = ? AND"
                                    " status = 'pending'", (dana,))
    await priya.post(f"/admin/staff/requests/{second}/decide", {"decision": "approve"})
    assert await harness.db.value("SELECT role FROM staff WHERE id = ?", (dana,)) == "supervisor"
    assert (await audited(harness, "staff.role_approved", dana))[0]["actor"] == \
        f"staff:{demo.staff['priya']}"


@pytest.mark.parametrize("role", ["supervisor", "officer", "mentor"])
async def test_an_admin_made_case_account_cannot_be_signed_into_by_the_admin(
        harness: Harness, demo: Demo, panels: Any, role: str) -> None:
    admin = await signed_in(panels, "admin")
    await admin.post("/admin/staff/add", {"name": "Sock Puppet", "role": role,
                                          "username": "puppet", "password": NEW_PASSWORD,
                                          "phone": "07700 900999"})
    row = await harness.db.one("SELECT active, password_hash FROM staff WHERE username = ?",
                               ("puppet",))
    assert tuple(row) == (0, None)  # a password sent in the form is ignored
    assert (await panels().login("puppet", NEW_PASSWORD)).status_code == 400


def test_the_operator_prints_a_link_from_the_shell(cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("lantern quietly orbits marmalade\n"))
    code, out, _ = cli("staff", "add", "--name", "Ada Admin", "--role", "admin", "--username",
                       "ada", "--password-stdin", "--json")
    staff_id = json.loads(out)["id"]
    code, out, _ = cli("staff", "setup-link", str(staff_id), "--json")
    data = json.loads(out)
    assert code == 0 and "/admin/setup?token=" in data["url"] and data["valid_hours"] == 24
