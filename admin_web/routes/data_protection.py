"""A supervisor's data protection actions on one client: subject access export (a zip
download), legal hold, rectification and erasure. The rules live in bot.privacy; this module
only reads forms and shows results."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.auth import flash, guard
from admin_web.permissions import User, client_in_reach
from admin_web.templating import page
from admin_web.web import db, field, now, path_int, read_form, see_other, service
from bot.core.audit import audit
from bot.privacy import erase, export

CAPABILITY = "client.data_protection"


async def _client(request: Request, user: User) -> int:
    client_id = path_int(request)
    if not await client_in_reach(db(request), user, client_id):
        raise HTTPException(404, "No such client.")
    return client_id


@guard(CAPABILITY)
async def dp_page(request: Request, user: User) -> Response:
    client_id = await _client(request, user)
    client = await db(request).one(
        "SELECT c.id, c.ref, c.first_name, c.area, c.referral_source, c.language, c.codeword,"
        " c.legal_hold_reason, c.legal_hold_at, c.erased_at, s.name AS hold_by"
        " FROM clients c LEFT JOIN staff s ON s.id = c.legal_hold_by WHERE c.id = ?",
        (client_id,))
    return await page(request, "data_protection.html", client=client,
                      fields=erase.CORRECTABLE)


@guard(CAPABILITY)
async def dp_export(request: Request, user: User) -> Response:
    client_id = await _client(request, user)
    moment = now(request)
    data = await export.gather(db(request), client_id, moment)
    blob = export.archive(data, service(request).settings.timezone)
    name = f"{data['client']['ref']}-{moment:%Y%m%d-%H%M%S}.zip"
    await db(request).write(lambda tx: audit(tx, moment, user.actor, "client.exported",
                                             "client", client_id, file=name))
    return Response(blob, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _action(kind: str) -> Any:
    @guard(CAPABILITY)
    async def endpoint(request: Request, user: User) -> Response:
        client_id = await _client(request, user)
        form = await read_form(request)
        moment = now(request)
        reason = field(form, "reason")

        async def work(tx: Any) -> str:
            if kind == "hold":
                on = field(form, "state") == "on"
                await erase.set_hold(tx, moment, client_id, user.id, reason if on else None)
                return "Legal hold on: nothing of this client is purged or erased." if on \
                    else "Legal hold off."
            if kind == "correct":
                await erase.correct(tx, moment, client_id, user.id, field(form, "field"),
                                    field(form, "value"), reason)
                return "Corrected; the change is in the audit log."
            ref = await tx.value("SELECT ref FROM clients WHERE id = ?", (client_id,))
            if field(form, "confirm").strip() != ref:
                raise erase.Refused("type the client's reference to confirm")
            await erase.erase(tx, moment, client_id, user.id, reason)
            return "Erased. Counts are kept; the audit log says who and why."

        try:
            message = await db(request).write(work)
        except erase.Refused as exc:
            message = f"Not done: {exc}"
        await flash(request, user, message)
        return see_other(f"/admin/clients/{client_id}/data-protection")

    endpoint.__name__ = f"dp_{kind}"
    return endpoint


def routes() -> list[Route]:
    return [
        Route("/clients/{id:int}/data-protection", dp_page, methods=["GET"]),
        Route("/clients/{id:int}/export", dp_export, methods=["POST"]),
        Route("/clients/{id:int}/hold", _action("hold"), methods=["POST"]),
        Route("/clients/{id:int}/correct", _action("correct"), methods=["POST"]),
        Route("/clients/{id:int}/erase", _action("erase"), methods=["POST"]),
    ]
