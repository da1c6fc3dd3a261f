"""The shape every simple panel form shares: guard, read the form, one transaction, a flash
message (the change's own words, or "Not done: why"), and 303 back to a page that shows it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin_web.auth import flash, guard
from admin_web.permissions import User
from admin_web.web import db, now, read_form, see_other
from bot.core.db import Tx
from bot.core.people import InputError

# (tx, user, form, now, request) -> the flash message.
Work = Callable[[Tx, User, Any, datetime, Request], Awaitable[str]]
# Runs before the transaction (a reach check that answers 404/403 by raising).
Check = Callable[[Request, User, Any], Awaitable[Any]]


def form_post(capability: str, work: Work, back: str | Callable[[Request, Any], str], *,
              check: Check | None = None,
              refused: tuple[type[Exception], ...] = (InputError,)
              ) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint for `work`; an exception in `refused` becomes "Not done: ..." and undoes
    the transaction; `back` is a path, or one made from the request and form."""

    @guard(capability)
    async def endpoint(request: Request, user: User) -> Response:
        form = await read_form(request)
        if check is not None:
            await check(request, user, form)
        moment = now(request)
        try:
            message = await db(request).write(lambda tx: work(tx, user, form, moment, request))
        except refused as exc:
            message = f"Not done: {exc}"
        await flash(request, user, message)
        return see_other(back if isinstance(back, str) else back(request, form))

    endpoint.__name__ = work.__name__.lstrip("_")
    return endpoint
