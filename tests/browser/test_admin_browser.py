"""The admin panel in a real browser: sign in, acknowledge, add an appointment, mark attendance,
read the dashboard, at desktop and phone sizes. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo import DEMO_PASSWORD
from tests.browser.conftest import CHROMIUM, LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(server.url + "/admin/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/**")
    assert "/admin/login" not in page.url


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_sign_in_and_acknowledge_an_escalation(desktop: Any, live_server: LiveServer,
                                               artifacts: Path) -> None:
    page = desktop
    page.goto(live_server.url + "/admin/login")
    shot(page, artifacts, "desktop-signin")
    sign_in(page, live_server, "dana")
    assert page.url.endswith("/admin/escalations")
    card = page.locator("article.esc", has_text="Sam").first
    assert card.is_visible()
    shot(page, artifacts, "desktop-escalations")
    card.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    assert "acknowledged" in page.get_by_role("status").inner_text().lower()
    assert "acknowledged by Dana Hughes" in page.locator("article.esc", has_text="Sam").first \
        .inner_text()
    shot(page, artifacts, "desktop-escalations-acknowledged")


def test_add_an_appointment_and_mark_attendance(desktop: Any, live_server: LiveServer,
                                                artifacts: Path) -> None:
    page = desktop
    sign_in(page, live_server, "dana")
    page.goto(live_server.url + "/admin/calendar")
    form = page.locator("form[action='/admin/calendar/appointments']")
    form.get_by_label("Client").select_option(label="D-001 · Sam")
    form.get_by_label("What").select_option(value="court")
    form.get_by_label("Place").fill("Victoria Law Courts")
    form.get_by_role("button", name="Add appointment").click()
    page.wait_for_load_state()
    assert "Appointment added" in page.get_by_role("status").inner_text()
    appt = page.locator("article.appt", has_text="Victoria Law Courts")
    assert appt.count() == 1
    session = page.locator("article.session").first
    session.get_by_role("button", name="Attended: Jo").click()
    page.wait_for_load_state()
    assert "Marked attended" in page.get_by_role("status").inner_text()
    pressed = page.locator("article.session").first.get_by_role("button", name="Attended: Jo")
    assert pressed.get_attribute("aria-pressed") == "true"
    shot(page, artifacts, "desktop-calendar")


def test_supervisor_reads_the_dashboard(desktop: Any, live_server: LiveServer,
                                        artifacts: Path) -> None:
    page = desktop
    sign_in(page, live_server, "priya")
    page.goto(live_server.url + "/admin/dashboard")
    table1 = page.locator("section", has=page.get_by_role(
        "heading", name="Referrals by officer and status (Table 1)"))
    text = table1.inner_text()
    assert "Dana Hughes" in text and "Lee Okafor" in text and "Referral/Waiting" in text
    assert page.get_by_role("heading", name="Journey funnel: clients who ever reached each step")
    assert page.locator("a[href='/admin/dashboard/theft-avoided.csv']").count() == 1
    assert page.locator("svg[role='img']").count() >= 1
    shot(page, artifacts, "desktop-dashboard")
    for path, name in (("/admin/clients", "desktop-caseload"),
                       (f"/admin/clients/{live_server.ids['sam']}", "desktop-client"),
                       ("/admin/staff", "desktop-staff"), ("/admin/audit", "desktop-audit"),
                       ("/admin/unmatched", "desktop-unmatched")):
        page.goto(live_server.url + path)
        shot(page, artifacts, name)
    # Client text shows as text: the markup in the unknown number's message is not rendered.
    assert page.get_by_text("<b>new phone</b> its Sam").count() == 1
    assert page.locator("li.in b").count() == 0


def test_phone_viewport(phone: Any, live_server: LiveServer, artifacts: Path) -> None:
    page = phone
    page.goto(live_server.url + "/admin/login")
    assert no_sideways_scroll(page)
    sign_in(page, live_server, "dana")
    for path, name in (("/admin/escalations", "phone-escalations"),
                       ("/admin/clients", "phone-caseload"),
                       (f"/admin/clients/{live_server.ids['sam']}", "phone-client"),
                       ("/admin/calendar", "phone-calendar"),
                       ("/admin/account", "phone-account")):
        page.goto(live_server.url + path)
        assert no_sideways_scroll(page), f"{path} scrolls sideways at 360 px"
        shot(page, artifacts, name)
    # Work from the phone: a note on the client's page.
    page.goto(live_server.url + f"/admin/clients/{live_server.ids['sam']}")
    page.get_by_label("Add a note").fill("Met at the hub; wants to talk about the course.")
    page.get_by_role("button", name="Save note").click()
    page.wait_for_load_state()
    assert "Note saved" in page.get_by_role("status").inner_text()


def test_phone_supervisor_dashboard(phone: Any, live_server: LiveServer, artifacts: Path) -> None:
    page = phone
    sign_in(page, live_server, "priya")
    page.goto(live_server.url + "/admin/dashboard")
    assert no_sideways_scroll(page)
    shot(page, artifacts, "phone-dashboard")
