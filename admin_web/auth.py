"""Who is signed in, and the guard every panel route goes through.

`guard(capability)` wraps a route handler: no live session -> the sign-in page; a role without
the capability -> 403. Object reach (which client, which escalation) is checked inside the
handler with admin_web.permissions, before anything is read or written.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from admin_web import sessions
from admin_web.permissions import User, allowed, totp_required
from admin_web.web import auth_now, db, is_poll, secure_cookies, see_other, service

Handler = Callable[[Request, User], Awaitable[Response]]


def cookie_name(secure: bool) -> str:
    # __Host-: the browser refuses it unless Secure, Path=/ and no Domain, so no sibling host
    # or plain-http page can plant or overwrite it.
    return "__Host-o2r_session" if secure else "o2r_session"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    secure = secure_cookies(request)
    response.set_cookie(cookie_name(secure), token, max_age=int(sessions.ABSOLUTE.total_seconds()),
                        path="/", secure=secure, httponly=True, samesite="lax")


def clear_session_cookie(response: Response, request: Request) -> None:
    secure = secure_cookies(request)
    response.delete_cookie(cookie_name(secure), path="/", secure=secure, httponly=True,
                           samesite="lax")


def session_token(request: Request) -> str | None:
    token = request.cookies.get(cookie_name(secure_cookies(request)))
    return token if token and len(token) < 200 else None


async def session_of(request: Request, stage: str = "full") -> sessions.SessionRow | None:
    token = session_token(request)
    if token is None:
        return None
    row = await sessions.load(db(request), token)
    if row is None or row.stage != stage or not sessions.is_live(row, auth_now(request)):
        return None
    return row


async def user_of(request: Request) -> User | None:
    """The signed-in, active staff member, or None. Touches the session's idle clock."""
    row = await session_of(request)
    if row is None:
        return None
    staff = await db(request).one(
        "SELECT id, name, role, username, (SELECT confirmed_at IS NOT NULL FROM staff_totp t"
        " WHERE t.staff_id = staff.id) AS totp FROM staff WHERE id = ? AND active = 1",
        (row.staff_id,))
    if staff is None:
        return None
    if not staff["totp"] and totp_required(staff["role"], service(request).settings.mode):
        return None  # a session from before TOTP was required: sign in again, and enrol
    # A live page polling by itself is not someone at the screen: the idle limit still applies.
    if sessions.needs_touch(row, auth_now(request)) and not is_poll(request):
        await sessions.touch(db(request), auth_now(request), row.id_hash)
    return User(staff["id"], staff["name"], staff["role"], staff["username"] or "", row.id_hash,
                row.flash)


def guard(capability: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            user = await user_of(request)
            if user is None:
                target = request.url.path if request.method == "GET" else "/admin/"
                return see_other("/admin/login?next=" + quote(target, safe="/"))
            if not allowed(user.role, capability):
                raise HTTPException(403, "Your role cannot open this page.")
            request.state.user = user
            return await handler(request, user)

        return endpoint

    return wrap


async def flash(request: Request, user: User, text: str) -> None:
    """A one-line message for the next page this user sees (after a redirect)."""
    await sessions.set_flash(db(request), user.session_hash, text)
