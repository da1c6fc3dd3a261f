"""A supervisor's data protection page: the export download, legal hold, correction and
erasure through the panel's forms (no JavaScript), and officers kept out."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from tests.admin_web.support import Demo, signed_in, visible
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture


async def test_supervisor_exports_holds_corrects_and_erases(harness: Harness, demo: Demo,
                                                            panels: Any) -> None:
    h = harness
    sam = demo.clients["D-001"]
    dana = await signed_in(panels, "dana")
    assert (await dana.get(f"/admin/clients/{sam}/data-protection")).status_code == 403
    assert (await dana.post(f"/admin/clients/{sam}/export")).status_code == 403
    assert "data-protection" not in (await dana.get(f"/admin/clients/{sam}")).text

    priya = await signed_in(panels, "priya")
    assert f"/admin/clients/{sam}/data-protection" in (
        await priya.get(f"/admin/clients/{sam}")).text
    page = await priya.get(f"/admin/clients/{sam}/data-protection")
    assert page.status_code == 200 and "Subject access export" in page.text
    got = await priya.post(f"/admin/clients/{sam}/export")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"].startswith('attachment; filename="D-001-')
    with zipfile.ZipFile(io.BytesIO(got.content)) as zf:
        data = json.loads(zf.read("export.json"))
        assert "Information we hold about you" in zf.read("summary.html").decode()
    assert data["client"]["ref"] == "D-001"
    assert await h.db.value("SELECT actor FROM audit_log WHERE action = 'client.exported'"
                            ) == f"staff:{demo.staff['priya']}"

    await priya.post(f"/admin/clients/{sam}/hold", {"state": "on",
                                                     "reason": "Court order 2026/118"})
    page = visible((await priya.get(f"/admin/clients/{sam}/data-protection")).text)
    assert "Court order 2026/118" in page and "Lift the hold" in page
    await priya.post(f"/admin/clients/{sam}/erase", {"reason": "Asked in writing",
                                                      "confirm": "D-001"})
    page = visible((await priya.get(f"/admin/clients/{sam}/data-protection")).text)
    assert "Not done: not erased: the client is under legal hold" in page
    await priya.post(f"/admin/clients/{sam}/hold", {"state": "off"})

    await priya.post(f"/admin/clients/{sam}/correct", {"field": "area", "value": "Erdington",
                                                        "reason": "Moved last month"})
    assert await h.db.value("SELECT area FROM clients WHERE id = ?", (sam,)) == "Erdington"

    await priya.post(f"/admin/clients/{sam}/erase", {"reason": "Asked in writing",
                                                      "confirm": "D-999"})
    assert await h.db.value("SELECT erased_at FROM clients WHERE id = ?", (sam,)) is None
    await priya.post(f"/admin/clients/{sam}/erase", {"reason": "Asked in writing",
                                                      "confirm": "D-001"})
    row = await h.db.one("SELECT ref, first_name, erased_at FROM clients WHERE id = ?", (sam,))
    assert (row["ref"], row["first_name"]) == (f"ERASED-{sam}", "(erased)") and row["erased_at"]
    page = visible((await priya.get(f"/admin/clients/{sam}/data-protection")).text)
    assert "only counts remain" in page and "Erase this client" not in page
    # The dashboard still counts the client.
    assert (await priya.get("/admin/dashboard")).status_code == 200
