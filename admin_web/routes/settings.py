"""Programme settings for admins: the retail-theft estimate's parameters."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import programme_settings
from admin_web.auth import flash, guard
from admin_web.permissions import User
from admin_web.templating import page
from admin_web.web import db, field, now, read_form, see_other


@guard("settings")
async def settings_page(request: Request, user: User) -> Response:
    values = await programme_settings.load(db(request))
    params = programme_settings.theft_params(values)
    low, high = params.stolen_per_year()
    return await page(request, "settings.html", settings=programme_settings.THEFT_SETTINGS,
                      values=values, low=float(low), high=float(high))


@guard("settings")
async def save_settings(request: Request, user: User) -> Response:
    form = await read_form(request)
    values = {s.key: field(form, s.key) for s in programme_settings.THEFT_SETTINGS}
    moment = now(request)
    try:
        await db(request).write(lambda tx: programme_settings.save(tx, moment, values, user.actor))
    except ValueError as exc:
        await flash(request, user, f"Not saved: {exc}.")
        return see_other("/admin/settings")
    await flash(request, user, "Settings saved.")
    return see_other("/admin/settings")


def routes() -> list[Route]:
    return [
        Route("/settings", settings_page, methods=["GET"]),
        Route("/settings", save_settings, methods=["POST"]),
    ]
