"""The one-time set-password link (bot.core.accounts): the person sets their own password.

Public (no session): the unguessable, single-use, expiring token is the credential. It comes
in the query string (the access log leaves panel query strings out) and goes back in the form.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.permissions import totp_required
from admin_web.templating import page
from admin_web.web import auth_now, db, field, read_form, service
from bot.core.accounts import open_setup_link, use_setup_link
from bot.core.db import Tx
from bot.core.passwords import WeakPassword, hash_password_async
from bot.core.people import InputError

MAX_TOKEN = 100


async def setup_form(request: Request) -> Response:
    token = request.query_params.get("token", "")[:MAX_TOKEN]
    link = await open_setup_link(db(request), auth_now(request), token)
    return await page(request, "setup.html", status_code=200 if link else 404, link=link,
                      token=token)


async def setup(request: Request) -> Response:
    form = await read_form(request)
    token = field(form, "token")[:MAX_TOKEN]
    new, again = (str(form.get(k) or "") for k in ("new", "confirm"))
    link = await open_setup_link(db(request), auth_now(request), token)
    if link is None:
        return await page(request, "setup.html", status_code=404, link=None)
    error = None
    if new != again:
        error = "The two passwords differ."
    else:
        try:
            new_hash = await hash_password_async(new, (link.username, *link.name.split()))
        except WeakPassword as exc:
            error = str(exc).capitalize() + "."
    if error:
        return await page(request, "setup.html", status_code=400, link=link, token=token,
                          error=error)
    t = auth_now(request)

    async def work(tx: Tx) -> None:
        await use_setup_link(tx, t, token, new_hash)

    try:
        await db(request).write(work)
    except InputError:
        return await page(request, "setup.html", status_code=404, link=None)
    return await page(request, "setup.html", done=True, username=link.username,
                      totp_next=totp_required(link.role, service(request).settings.mode))


def routes() -> list[Route]:
    return [
        Route("/setup", setup_form, methods=["GET"]),
        Route("/setup", setup, methods=["POST"]),
    ]
