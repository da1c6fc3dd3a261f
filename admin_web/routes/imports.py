"""Caseload import: upload -> preview with row-by-row problems -> confirm -> all rows or none."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import importer, labels
from admin_web.auth import flash, guard
from admin_web.csvout import csv_response
from admin_web.permissions import User
from admin_web.templating import page
from admin_web.web import db, now, path_int, read_form, see_other
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.people import REFERRAL_SOURCES, STAGES, InputError


@guard("import")
async def import_page(request: Request, user: User) -> Response:
    recent = await db(request).all(
        "SELECT i.id, i.staff_id, i.filename, i.status, i.created_at, i.applied_at,"
        " i.created_count, s.name"
        " FROM caseload_imports i JOIN staff s ON s.id = i.staff_id ORDER BY i.id DESC LIMIT 20")
    officers, _, _ = await importer.current_state(db(request))
    return await page(request, "import.html", recent=recent, required=importer.REQUIRED,
                      optional=importer.OPTIONAL, max_rows=importer.MAX_ROWS,
                      stages=[(s, labels.stage(s)) for s in STAGES],
                      sources=[(s, labels.source(s)) for s in REFERRAL_SOURCES],
                      officers=sorted(officers))


@guard("import")
async def template_csv(request: Request, user: User) -> Response:
    """The columns to fill in, header only; accepted values are listed on the import page."""
    return csv_response("caseload-import-template.csv", importer.REQUIRED + importer.OPTIONAL, ())


@guard("import")
async def upload(request: Request, user: User) -> Response:
    form = await read_form(request)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        await flash(request, user, "Choose a CSV file to upload.")
        return see_other("/admin/import")
    data = await file.read(importer.MAX_BYTES + 1)
    if len(data) > importer.MAX_BYTES:
        await flash(request, user, "The file is over 1 MB: split it into smaller files.")
        return see_other("/admin/import")
    text, name, moment = importer.decode(data), file.filename[:120], now(request)

    async def store(tx: Tx) -> int:
        import_id = await tx.execute(
            "INSERT INTO caseload_imports (staff_id, filename, content, created_at)"
            " VALUES (?, ?, ?, ?)", (user.id, name, text, iso(moment)))
        await audit(tx, moment, user.actor, "import.uploaded", "import", import_id, filename=name)
        return import_id

    return see_other(f"/admin/import/{await db(request).write(store)}")


async def _own_import(request: Request, user: User) -> dict[str, object]:
    row = await db(request).one("SELECT * FROM caseload_imports WHERE id = ? AND staff_id = ?",
                                (path_int(request), user.id))
    if row is None:
        raise HTTPException(404, "No such import.")
    return dict(row)


@guard("import")
async def preview_page(request: Request, user: User) -> Response:
    row = await _own_import(request, user)
    preview = importer.parse(str(row["content"]), *await importer.current_state(db(request)))
    return await page(request, "import_preview.html", imp=row, preview=preview,
                      columns=importer.REQUIRED + importer.OPTIONAL)


@guard("import")
async def confirm(request: Request, user: User) -> Response:
    row = await _own_import(request, user)
    if row["status"] != "previewed":
        await flash(request, user, "That file was already imported.")
        return see_other(f"/admin/import/{row['id']}")
    moment = now(request)

    async def work(tx: Tx) -> int:
        # One transaction: checked again against the database as it is now, then every client
        # is created, or an error undoes them all.
        count = await importer.apply(tx, moment, str(row["content"]), user.actor)
        await tx.execute("UPDATE caseload_imports SET status = 'applied', applied_at = ?,"
                         " created_count = ? WHERE id = ? AND status = 'previewed'",
                         (iso(moment), count, row["id"]))
        await audit(tx, moment, user.actor, "import.applied", "import", int(str(row["id"])),
                    created=count)
        return count

    try:
        count = await db(request).write(work)
    except InputError as exc:
        await flash(request, user, f"Nothing imported: {exc}.")
        return see_other(f"/admin/import/{row['id']}")
    await flash(request, user, f"Imported {count} client(s).")
    return see_other("/admin/clients")


def routes() -> list[Route]:
    return [
        Route("/import", import_page, methods=["GET"]),
        Route("/import", upload, methods=["POST"]),
        Route("/import/template.csv", template_csv, methods=["GET"]),
        Route("/import/{id:int}", preview_page, methods=["GET"]),
        Route("/import/{id:int}/confirm", confirm, methods=["POST"]),
    ]
