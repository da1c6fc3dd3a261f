"""Small request helpers shared by the panel's routes: the service, clocks, forms, redirects."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

if TYPE_CHECKING:
    from bot.core.db import Database
    from bot.service import Service

MAX_FORM_FIELD = 5000


def service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def db(request: Request) -> Database:
    return service(request).db


def now(request: Request) -> datetime:
    """The service's clock: what escalations, journeys and the audit log run on."""
    return service(request).clock.now()


def auth_now(request: Request) -> datetime:
    """Wall-clock time for sessions, lock-outs and codes: the demo may move the service's clock,
    but a phone's authenticator app and session lifetimes follow the real one."""
    return request.app.state.auth_clock.now()  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def secure_cookies(request: Request) -> bool:
    url = service(request).settings.public_url or ""
    return url.startswith("https://")


POLL_HEADER = "x-o2r-poll"


def is_poll(request: Request) -> bool:
    """A background refresh by the page's own script (static/queue.js), not the person: it
    neither takes their one-time message nor keeps an idle session alive."""
    return request.headers.get(POLL_HEADER) == "1"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=100)


def field(form: FormData | dict[str, Any], name: str, default: str = "") -> str:
    value = form.get(name, default)
    if not isinstance(value, str):
        raise HTTPException(400, f"{name}: expected text")
    if len(value) > MAX_FORM_FIELD:
        raise HTTPException(400, f"{name}: too long")
    return value.strip()


def int_field(form: FormData | dict[str, Any], name: str) -> int:
    raw = field(form, name)
    if not raw.isdigit() or len(raw) > 12:
        raise HTTPException(400, f"{name}: expected a number")
    return int(raw)


def path_int(request: Request, name: str = "id") -> int:
    return int(request.path_params[name])


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path inside the panel: never an absolute URL (no open redirect)."""
    if target and target.startswith("/admin/") and not target.startswith("//") \
            and "\\" not in target and "\n" not in target and "\r" not in target:
        return target
    return fallback
