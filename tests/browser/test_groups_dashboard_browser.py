"""In a real browser, at desktop (1280) and phone (390 px) sizes: a supervisor creates an
aftercare group picking its mentor by name, and reads the dashboard filtered by date (the
filters stay in the address and ride on every CSV link); an evaluator sees it aggregated.
Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, LiveServer, _in_own_loop
from tests.browser.test_admin_browser import no_sideways_scroll, shot, sign_in
from tests.browser.test_caseload_browser import page as page_fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]

page = page_fixture  # desktop and phone


async def _mentor_and_evaluator(db_path: Path) -> None:
    """Alex (in aftercare, consented) promoted to peer mentor once; an evaluator account."""
    from bot.aftercare.mentors import promote
    from bot.core.clock import SystemClock
    from bot.core.db import Database
    from bot.core.passwords import hash_password
    from bot.core.people import add_staff
    from bot.demo import DEMO_PASSWORD
    from config.settings import Settings

    settings = Settings(db_path=db_path, public_url=None, timezone="Europe/London", mode="demo",
                        simulator=True, secret_key="browser-test-secret-" + "x" * 20)
    password_hash = hash_password(DEMO_PASSWORD)
    async with Database(db_path, settings) as db:
        async def work(tx: Any) -> None:
            if await tx.value("SELECT 1 FROM mentors"):
                return
            alex = await tx.value("SELECT id FROM clients WHERE ref = 'D-003'")
            now = SystemClock().now()
            await promote(tx, now, alex, agreed=True, actor="test")
            await add_staff(tx, now, name="Eve Marsh", role="evaluator", username="eval-eve",
                            password_hash=password_hash, actor="test")

        await db.write(work)


def test_create_a_group_picking_the_mentor_by_name(page: tuple[Any, str], live_server: LiveServer,
                                                   artifacts: Path) -> None:
    page_, size = page
    _in_own_loop(_mentor_and_evaluator(live_server.db_path))
    with sqlite3.connect(live_server.db_path) as conn:
        mentor = conn.execute("SELECT s.name FROM mentors m JOIN staff s ON s.id = m.staff_id"
                              ).fetchone()[0]
    name = f"Thursday group {size}"
    sign_in(page_, live_server, "priya")
    page_.goto(live_server.url + "/admin/groups")
    form = page_.locator("form#new-group")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Mentors").select_option(label=mentor)
    form.get_by_label("Meets every").select_option(label="Thursday")
    form.get_by_label("At", exact=True).fill("18:30")
    form.get_by_label("Place (optional)").fill("Hope Centre")
    shot(page_, artifacts, f"{size}-group-form")
    form.get_by_role("button", name="Add group").click()
    page_.wait_for_load_state()
    assert "Group added" in page_.get_by_role("status").inner_text()
    row = page_.locator("tr", has_text=name)
    assert "Thu 18:30, Hope Centre" in row.inner_text() and mentor in row.inner_text()
    with sqlite3.connect(live_server.db_path) as conn:
        planned = conn.execute(
            "SELECT COUNT(*) FROM group_meetings m JOIN aftercare_groups g ON g.id = m.group_id"
            " WHERE g.name = ?", (name,)).fetchone()[0]
    assert planned > 0  # its meetings are planned at once
    shot(page_, artifacts, f"{size}-groups")
    assert no_sideways_scroll(page_)


def test_dashboard_filtered_by_date(page: tuple[Any, str], live_server: LiveServer,
                                    artifacts: Path) -> None:
    page_, size = page
    sign_in(page_, live_server, "priya")
    page_.goto(live_server.url + "/admin/dashboard")
    table1 = page_.locator("section", has=page_.get_by_role(
        "heading", name="Referrals by officer and status (Table 1)"))
    assert table1.locator("tr", has_text="Total").inner_text().split()[-1] == "5"
    later = (date.today() + timedelta(days=2)).isoformat()
    page_.get_by_label("From", exact=True).fill(later)
    page_.get_by_role("button", name="Show").click()
    page_.wait_for_load_state()
    assert f"from={later}" in page_.url
    assert table1.locator("tr", has_text="Total").inner_text().split()[-1] == "0"
    link = page_.locator("a[href^='/admin/dashboard/referrals-by-officer.csv']")
    assert link.get_attribute("href") == f"/admin/dashboard/referrals-by-officer.csv?from={later}"
    assert page_.get_by_label("From", exact=True).input_value() == later
    shot(page_, artifacts, f"{size}-dashboard-filtered")
    assert no_sideways_scroll(page_)
    page_.get_by_role("link", name="Clear filters").click()
    page_.wait_for_load_state()
    assert table1.locator("tr", has_text="Total").inner_text().split()[-1] == "5"


def test_evaluator_dashboard(page: tuple[Any, str], live_server: LiveServer,
                             artifacts: Path) -> None:
    page_, size = page
    _in_own_loop(_mentor_and_evaluator(live_server.db_path))
    sign_in(page_, live_server, "eval-eve")
    assert page_.url.endswith("/admin/dashboard")  # their home page
    text = page_.locator("main").inner_text()
    assert "fewer than 5" in text and "Officer A" in text
    assert "Dana" not in text and "D-001" not in text
    assert page_.locator("select#officer").count() == 0  # no officer filter
    shot(page_, artifacts, f"{size}-dashboard-evaluator")
    assert no_sideways_scroll(page_)
