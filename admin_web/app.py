"""The admin panel as one ASGI app, mounted by bot/app.py at /admin.

Server-rendered pages, no JavaScript needed. Each route module lists its own routes; every
handler but sign-in goes through admin_web.auth.guard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from admin_web.auth import user_of
from admin_web.permissions import home_for
from admin_web.routes import (
    account,
    audit_log,
    calendar,
    caseload,
    client,
    crisis_review,
    dashboard,
    data_protection,
    groups,
    imports,
    inbox,
    mentor,
    queue,
    settings,
    setup,
    signin,
    staff,
    unmatched,
)
from admin_web.templating import TEMPLATES, page
from admin_web.web import see_other
from bot.core.clock import Clock, SystemClock

if TYPE_CHECKING:
    from bot.service import Service

STATIC = TEMPLATES.parent / "static"
MODULES = (signin, setup, account, queue, caseload, inbox, client, calendar, unmatched, staff,
           audit_log, dashboard, settings, imports, mentor, groups, crisis_review,
           data_protection)


async def home(request: Request) -> Response:
    user = await user_of(request)
    return see_other(home_for(user.role) if user else "/admin/login")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {400: "That request was not right", 403: "Not for your role",
              404: "Not found", 405: "Not allowed", 429: "Too many attempts"}
    user = await user_of(request)
    if user is not None:
        request.state.user = user
    return await page(request, "error.html", status_code=exc.status_code,
                      title=titles.get(exc.status_code, "Something went wrong"),
                      detail=exc.detail if exc.status_code < 500 else None)


def admin_routes() -> list[Route | Mount]:
    routes: list[Route | Mount] = [Route("/", home, methods=["GET"])]
    for module in MODULES:
        routes.extend(module.routes())
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    return routes


def create_admin_app(service: Service, auth_clock: Clock | None = None) -> Starlette:
    app = Starlette(routes=admin_routes(), exception_handlers={HTTPException: http_error})
    app.state.service = service
    # Sessions, lock-outs and codes follow real time even when the demo moves the service clock.
    app.state.auth_clock = auth_clock or SystemClock()
    return app
