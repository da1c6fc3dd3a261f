"""Caseload CSV import: row-by-row checks (pure), then all rows in one transaction or none."""

from __future__ import annotations

from typing import Any

from admin_web import importer
from tests.admin_web.support import (
    Demo,
    Panel,
    signed_in,
)
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

# The shared fixtures, under the names tests ask for.
demo = demo_fixture
panels = panels_fixture

OFFICERS = {"dana": 1, "lee": 2}
GOOD = (
    "ref,first_name,officer_username,phone,stage,area,referral_source\n"
    "N-001,Ann,dana,07700 900201,referral,Erdington,Retail business\n"
    "N-002,Bob,LEE,,Pre-admission course,City Centre,probation\n"
    "N-003,Cat,dana,+447700900203,,,\n"
)


def test_a_good_file_previews_every_row() -> None:
    preview = importer.parse(GOOD, OFFICERS, set(), set())
    assert preview.ok and preview.error_count == 0
    ann, bob, cat = (r.client for r in preview.rows)
    assert ann and bob and cat
    assert (ann.phone, ann.stage, ann.referral_source, ann.officer_id) == (
        "+447700900201", "referral", "retail", 1)
    assert (bob.stage, bob.officer_id, bob.phone, bob.referral_source) == (
        "pre_admission", 2, None, "probation")
    assert cat.stage == "referral" and cat.area is None
    assert [r.line for r in preview.rows] == [2, 3, 4]


def test_every_problem_is_reported_on_its_row() -> None:
    text = (
        "Ref,First Name,Officer Username,Phone,Stage,Notes\n"
        "N-001,Ann,dana,07700 900201,referral,\n"
        "N-001,Ann again,dana,,referral,\n"      # ref repeated in the file
        "X,Dee,dana,,referral,\n"                # ref too short
        "D-001,Eve,dana,,referral,\n"            # ref already in the database
        "N-005,,nobody,12,rehab-ish,\n"          # no name, unknown officer, bad phone, bad stage
        "N-006,Fay,lee,07700 900201,,\n"         # phone repeated in the file
        "N-007,Gus,lee,07700 900999,,\n"         # phone belongs to someone already
    )
    preview = importer.parse(text, OFFICERS, {"D-001"}, {"sms:+447700900999"})
    assert not preview.ok
    assert preview.warnings == ["Unknown column(s), ignored: notes."]
    errors = {r.line: r.errors for r in preview.rows}
    assert errors[2] == []
    assert errors[3] == ["ref: N-001 is also on row 2"]
    assert errors[4] == ["ref: 2-32 letters, digits, '-' or '_'"]
    assert errors[5] == ["ref: D-001 already exists"]
    assert len(errors[6]) == 4 and any("officer_username" in e for e in errors[6])
    assert any("phone" in e for e in errors[6]) and any("stage" in e for e in errors[6])
    assert errors[7] == ["phone: also on row 2"]
    assert errors[8] == ["phone: already belongs to someone"]
    assert preview.error_count == 1 + 1 + 1 + 4 + 1 + 1


def test_file_level_problems() -> None:
    assert importer.parse("", OFFICERS, set(), set()).file_errors == ["The file is empty."]
    missing = importer.parse("ref,name\nA-1,x\n", OFFICERS, set(), set())
    assert "first_name" in missing.file_errors[0] and not missing.ok
    header_only = importer.parse("ref,first_name,officer_username\n", OFFICERS, set(), set())
    assert header_only.file_errors == ["The file has a header but no rows."]
    big = "ref,first_name,officer_username\n" + "".join(
        f"B-{i},N,dana\n" for i in range(importer.MAX_ROWS + 5))
    too_many = importer.parse(big, OFFICERS, set(), set())
    assert not too_many.ok and "split the file" in too_many.file_errors[0]


def test_spreadsheet_encodings() -> None:
    assert importer.decode("\ufeffref".encode()) == "ref"
    assert importer.decode("Zoë".encode("cp1252")) == "Zoë"


async def upload(panel: Panel, text: str, name: str = "caseload.csv") -> Any:
    await panel.get("/admin/import")
    return await panel.http.post("/admin/import", data={"csrftoken": panel.token},
                                 files={"file": (name, text.encode(), "text/csv")})


async def test_upload_preview_confirm_creates_all(harness: Harness, demo: Demo,
                                                  panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    response = await upload(priya, GOOD)
    assert response.status_code == 303
    preview = await priya.get(response.headers["location"])
    assert "All 3 row(s) are fine" in preview.text and "Import 3 client(s)" in preview.text
    assert await harness.db.value("SELECT COUNT(*) FROM clients WHERE ref LIKE 'N-%'") == 0
    confirm = await priya.post(response.headers["location"] + "/confirm")
    assert confirm.status_code == 303
    rows = await harness.db.all("SELECT ref, stage, status, area FROM clients WHERE ref LIKE 'N-%'"
                                " ORDER BY ref")
    assert [tuple(r) for r in rows] == [
        ("N-001", "referral", "referral_waiting", "Erdington"),
        ("N-002", "pre_admission", "active", "City Centre"),
        ("N-003", "referral", "referral_waiting", None)]
    assert await harness.db.value("SELECT COUNT(*) FROM identities WHERE address IN"
                                  " ('+447700900201', '+447700900203')") == 2
    # Imported clients are not messaged.
    assert await harness.db.value(
        "SELECT COUNT(*) FROM outbox o JOIN clients c ON c.id = o.client_id"
        " WHERE c.ref LIKE 'N-%'") == 0
    again = await priya.post(response.headers["location"] + "/confirm")
    assert again.status_code == 303
    assert await harness.db.value("SELECT COUNT(*) FROM clients WHERE ref LIKE 'N-%'") == 3


async def test_a_file_with_errors_imports_nothing(harness: Harness, demo: Demo,
                                                  panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    text = GOOD + "N-004,Dan,nobody,,,,\n" + "N-005,<script>alert(1)</script>,dana,,,,\n"
    response = await upload(priya, text)
    page = (await priya.get(response.headers["location"])).text
    assert "1 problem(s)" in page and "no active officer" in page
    assert "Import 5" not in page and "/confirm" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    forced = await priya.post(response.headers["location"] + "/confirm")
    assert forced.status_code == 303
    assert await harness.db.value("SELECT COUNT(*) FROM clients WHERE ref LIKE 'N-%'") == 0


async def test_confirm_rechecks_and_rolls_back_everything(harness: Harness, demo: Demo,
                                                          panels: Any) -> None:
    """Between preview and confirm someone else adds N-003: nothing of the file is created."""
    from bot.core.people import add_client

    priya = await signed_in(panels, "priya")
    response = await upload(priya, GOOD)
    assert "All 3 row(s) are fine" in (await priya.get(response.headers["location"])).text
    await harness.write(lambda tx: add_client(tx, harness.clock.now(), ref="N-003",
                                              first_name="Other", officer_id=demo.staff["lee"]))
    await priya.post(response.headers["location"] + "/confirm")
    assert await harness.db.value("SELECT COUNT(*) FROM clients WHERE ref IN ('N-001', 'N-002')") == 0
    assert await harness.db.value("SELECT COUNT(*) FROM identities WHERE address ="
                                  " '+447700900201'") == 0
    assert await harness.db.value("SELECT status FROM caseload_imports") == "previewed"
    assert "Nothing imported" in (await priya.get(response.headers["location"])).text


async def test_imports_are_private_to_their_uploader(harness: Harness, demo: Demo,
                                                     panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    response = await upload(priya, GOOD)
    from bot.core.passwords import hash_password
    from bot.core.people import add_staff

    password_hash = hash_password("another-supervisor-pw")
    await harness.write(lambda tx: add_staff(tx, harness.clock.now(), name="Sue Other",
                                             role="supervisor", username="sue",
                                             password_hash=password_hash))
    sue = panels()
    await sue.login("sue", "another-supervisor-pw")
    assert (await sue.get(response.headers["location"])).status_code == 404
    assert (await sue.post(response.headers["location"] + "/confirm")).status_code == 404


async def test_upload_without_csrf_token_is_refused(harness: Harness, demo: Demo,
                                                    panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    refused = await priya.http.post("/admin/import", data={},
                                    files={"file": ("c.csv", GOOD.encode(), "text/csv")})
    assert refused.status_code == 403
    wrong = await priya.http.post("/admin/import", data={"csrftoken": "forged"},
                                  files={"file": ("c.csv", GOOD.encode(), "text/csv")})
    assert wrong.status_code == 403
    assert await harness.db.value("SELECT COUNT(*) FROM caseload_imports") == 0


async def test_caseload_export_imports_into_a_fresh_database(harness: Harness, demo: Demo,
                                                             panels: Any, tmp_path: Any) -> None:
    """Download the caseload, import it into a new database with the same officers, and read
    back the same clients: the export's extra columns are skipped, codes not labels travel."""
    from bot.core.db import Database
    from bot.core.people import add_staff

    priya = await signed_in(panels, "priya")
    exported = (await priya.get("/admin/clients.csv")).text.lstrip("\ufeff")
    header = exported.splitlines()[0].split(",")
    assert header[:6] == ["ref", "first_name", "officer_username", "stage", "area",
                          "referral_source"]
    assert {"stage_label", "status_label", "referral_source_label"} <= set(header)
    fresh = await Database(tmp_path / "fresh.db").open()
    try:
        now = harness.clock.now()
        for name, username in (("Dana Hughes", "dana"), ("Lee Okafor", "lee")):
            await fresh.write(lambda tx, n=name, u=username: add_staff(
                tx, now, name=n, role="officer", username=u))
        preview = importer.parse(exported, *await importer.current_state(fresh))
        assert preview.ok and not preview.warnings, (preview.file_errors, preview.warnings)
        assert await fresh.write(lambda tx: importer.apply(tx, now, exported, "test")) == 5
        query = ("SELECT c.ref, c.first_name, s.username, c.stage, c.status, c.area,"
                 " c.referral_source FROM clients c JOIN staff s ON s.id = c.officer_id"
                 " ORDER BY c.ref")
        before = [tuple(r) for r in await harness.db.all(query)]
        after = [tuple(r) for r in await fresh.all(query)]
        assert after == before and len(after) == 5
    finally:
        await fresh.close()


def test_referral_sources_are_a_fixed_list() -> None:
    from admin_web.labels import SOURCE_LABELS
    from bot.core.people import REFERRAL_SOURCES

    assert set(SOURCE_LABELS) == set(REFERRAL_SOURCES)
    text = ("ref,first_name,officer_username,referral_source\n"
            "N-1,Ann,dana,Retail business\nN-2,Bob,dana,my mate Dave\nN-3,Cat,dana,PROBATION\n")
    preview = importer.parse(text, OFFICERS, set(), set())
    errors = {r.line: r.errors for r in preview.rows}
    assert errors[2] == [] and errors[4] == []
    assert errors[3] == ["referral_source: 'my mate Dave' is not on the list (see the import"
                         " page)"]


async def test_import_template_and_accepted_values(harness: Harness, demo: Demo,
                                                   panels: Any) -> None:
    priya = await signed_in(panels, "priya")
    template = await priya.get("/admin/import/template.csv")
    assert template.status_code == 200
    assert template.text.lstrip("\ufeff").strip() == ",".join(importer.REQUIRED
                                                              + importer.OPTIONAL)
    page = (await priya.get("/admin/import")).text
    assert "/admin/import/template.csv" in page
    for value in ("neighbourhood_team", "Neighbourhood policing team", "pre_admission", "dana"):
        assert value in page, value


def test_a_cell_our_export_made_inert_reads_back_as_stored() -> None:
    text = "ref,first_name,officer_username,area\nN-1,Ann,dana,'+cmd\nN-2,Bob,dana,'Twas\n"
    a, b = (r.client for r in importer.parse(text, OFFICERS, set(), set()).rows)
    assert a is not None and b is not None
    assert a.area == "+cmd" and b.area == "'Twas"
