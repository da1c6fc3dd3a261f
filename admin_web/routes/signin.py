"""Sign-in (password, then the TOTP code if enrolled) and sign-out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import sessions, throttle, totp
from admin_web.auth import (
    clear_session_cookie,
    guard,
    session_of,
    session_token,
    set_session_cookie,
    user_of,
)
from admin_web.permissions import User, home_for, totp_required
from admin_web.templating import page
from admin_web.web import auth_now, client_ip, db, field, read_form, safe_next, see_other, service
from bot.core.audit import audit
from bot.core.db import Tx
from bot.core.passwords import WeakPassword, hash_password_async, needs_rehash, verify_password_async

MAX_PASSWORD = 1024


async def _locked_page(request: Request, until: datetime, next_url: str) -> Response:
    tz = ZoneInfo(service(request).settings.timezone)
    return await page(request, "signin.html", status_code=429, next=next_url,
                      error=f"Too many failed attempts. Try again after"
                      f" {until.astimezone(tz):%H:%M}, or ask an admin to reset your password.")


async def login_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"), "")
    user = await user_of(request)
    if user is not None:
        return see_other(next_url or home_for(user.role))
    return await page(request, "signin.html", next=next_url)


async def login(request: Request) -> Response:
    form = await read_form(request)
    username = field(form, "username").lower()[:80]
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    next_url = safe_next(field(form, "next"), "")
    ip, t = client_ip(request), auth_now(request)
    until = await throttle.check(db(request), t, username, ip)
    if until is not None:
        await throttle.record(db(request), t, username, ip, "locked")
        return await _locked_page(request, until, next_url)
    staff = await db(request).one(
        "SELECT id, role, password_hash FROM staff WHERE username = ? AND active = 1",
        (username,)) if username else None
    # verify_password spends the same time on an unknown name, so timing reveals nothing.
    ok = len(password) <= MAX_PASSWORD and await verify_password_async(
        staff["password_hash"] if staff else None, password)
    if not ok or staff is None:
        await throttle.record(db(request), t, username or "-", ip, "bad_password")
        return await page(request, "signin.html", status_code=400, next=next_url,
                          username=username, error="That username and password do not match.")
    if needs_rehash(staff["password_hash"]):
        try:
            new_hash = await hash_password_async(password)
        except WeakPassword:
            new_hash = None  # an old password below today's rule: keep it, they may change it
        if new_hash:
            await db(request).write(lambda tx: tx.execute(
                "UPDATE staff SET password_hash = ? WHERE id = ?", (new_hash, staff["id"])))
    old = session_token(request)
    old_hash = sessions.token_hash(old) if old else None
    agent = request.headers.get("user-agent")
    enrolled = await totp.enabled(db(request), staff["id"])
    if enrolled or totp_required(staff["role"], service(request).settings.mode):
        if not enrolled:  # required but not set up: enrol now, before any page of the panel
            await db(request).write(lambda tx: totp.start(tx, t, staff["id"]))
        token = await sessions.create(db(request), t, staff["id"], "totp", ip, agent, old_hash)
        response = await _code_page(request, staff["id"], username, next_url)
        set_session_cookie(response, request, token)
        return response
    return await _signed_in(request, staff["id"], staff["role"], username, old_hash, next_url)


async def _code_page(request: Request, staff_id: int, username: str, next_url: str,
                     error: str | None = None) -> Response:
    """The code step; for someone still enrolling it also shows their new key (to them only,
    after their password)."""
    found = await totp.enrolment(db(request), staff_id)
    enrolling = found is not None and not found[1]
    return await page(
        request, "signin_code.html", status_code=400 if error else 200, next=next_url,
        error=error, enrol_secret=totp.grouped(found[0]) if enrolling and found else None,
        enrol_uri=totp.provisioning_uri(found[0], username) if enrolling and found else None)


async def _signed_in(request: Request, staff_id: int, role: str, username: str,
                     old_hash: str | None, next_url: str) -> Response:
    """A brand-new session id: one planted before sign-in (session fixation) is never upgraded."""
    t, ip = auth_now(request), client_ip(request)
    await throttle.record(db(request), t, username, ip, "ok")
    token = await sessions.create(db(request), t, staff_id, "full", ip,
                                  request.headers.get("user-agent"), old_hash)
    await db(request).write(lambda tx: audit(tx, t, f"staff:{staff_id}", "signin.ok", "staff",
                                             staff_id, ip=ip))
    response = see_other(next_url or home_for(role))
    set_session_cookie(response, request, token)
    return response


async def login_code(request: Request) -> Response:
    pending = await session_of(request, stage="totp")
    if pending is None:
        return see_other("/admin/login")
    form = await read_form(request)
    next_url = safe_next(field(form, "next"), "")
    staff = await db(request).one("SELECT id, role, username FROM staff WHERE id = ? AND active = 1",
                                  (pending.staff_id,))
    if staff is None:
        return see_other("/admin/login")
    ip, t = client_ip(request), auth_now(request)
    until = await throttle.check(db(request), t, staff["username"], ip)
    if until is not None:
        await throttle.record(db(request), t, staff["username"], ip, "locked")
        await sessions.revoke(db(request), t, pending.id_hash)
        return await _locked_page(request, until, next_url)
    code = field(form, "code")

    enrolling = not await totp.enabled(db(request), staff["id"])

    async def check(tx: Tx) -> bool:
        ok = await totp.use_code(tx, t, staff["id"], code, confirming=enrolling)
        if ok and enrolling:
            await audit(tx, t, f"staff:{staff['id']}", "staff.totp_enabled", "staff",
                        staff["id"], at_signin=True)
        return ok

    if not await db(request).write(check):
        await throttle.record(db(request), t, staff["username"], ip, "bad_code")
        return await _code_page(request, staff["id"], staff["username"], next_url,
                                "That code is not right, or it was already used. Try the next one.")
    return await _signed_in(request, staff["id"], staff["role"], staff["username"],
                            pending.id_hash, next_url)


@guard("account")
async def logout(request: Request, user: User) -> Response:
    t = auth_now(request)
    await sessions.revoke(db(request), t, user.session_hash)
    await db(request).write(lambda tx: audit(tx, t, user.actor, "signout", "staff", user.id))
    response = see_other("/admin/login")
    clear_session_cookie(response, request)
    return response


def routes() -> list[Route]:
    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/login/code", login_code, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
