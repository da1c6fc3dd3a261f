"""Your own account: change password, set up or remove the second factor."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import sessions, throttle, totp
from admin_web.auth import flash, guard, set_session_cookie
from admin_web.permissions import User, totp_required
from admin_web.templating import page
from admin_web.web import auth_now, client_ip, db, field, read_form, see_other, service
from bot.core.audit import audit
from bot.core.db import Tx
from bot.core.passwords import WeakPassword, hash_password_async, verify_password_async


@guard("account")
async def account_page(request: Request, user: User) -> Response:
    enrolment = await totp.enrolment(db(request), user.id)
    pending = enrolment is not None and not enrolment[1]
    return await page(
        request, "account.html", totp_on=bool(enrolment and enrolment[1]), totp_pending=pending,
        totp_locked=totp_required(user.role, service(request).settings.mode),
        secret=totp.grouped(enrolment[0]) if pending and enrolment else None,
        uri=totp.provisioning_uri(enrolment[0], user.username) if pending and enrolment else None)


async def _password_ok(request: Request, user: User, password: str) -> bool:
    """Re-checking the password counts towards the same lock-out as signing in."""
    t, ip = auth_now(request), client_ip(request)
    if await throttle.check(db(request), t, user.username, ip) is not None:
        return False
    stored = await db(request).value("SELECT password_hash FROM staff WHERE id = ?", (user.id,))
    if await verify_password_async(stored, password):
        return True
    await throttle.record(db(request), t, user.username, ip, "bad_password")
    return False


@guard("account")
async def change_password(request: Request, user: User) -> Response:
    form = await read_form(request)
    current, new, again = (str(form.get(k) or "") for k in ("current", "new", "confirm"))
    if not await _password_ok(request, user, current):
        await flash(request, user, "Your current password was not right.")
        return see_other("/admin/account")
    if new != again:
        await flash(request, user, "The two new passwords differ.")
        return see_other("/admin/account")
    try:
        new_hash = await hash_password_async(new, (user.username, *user.name.split()))
    except WeakPassword as exc:
        await flash(request, user, str(exc).capitalize() + ".")
        return see_other("/admin/account")
    t = auth_now(request)

    async def work(tx: Tx) -> None:
        await tx.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (new_hash, user.id))
        await sessions.revoke_all(tx, t, user.id)  # every other device must sign in again
        await audit(tx, t, user.actor, "staff.password_changed", "staff", user.id)

    await db(request).write(work)
    token = await sessions.create(db(request), t, user.id, "full", client_ip(request),
                                  request.headers.get("user-agent"))
    await sessions.set_flash(db(request), sessions.token_hash(token), "Password changed.")
    response = see_other("/admin/account")
    set_session_cookie(response, request, token)
    return response


@guard("account")
async def totp_start(request: Request, user: User) -> Response:
    if await totp.enabled(db(request), user.id):
        await flash(request, user, "Two-step sign-in is already on.")
        return see_other("/admin/account")
    t = auth_now(request)
    await db(request).write(lambda tx: totp.start(tx, t, user.id))
    return see_other("/admin/account#totp")


@guard("account")
async def totp_confirm(request: Request, user: User) -> Response:
    code = field(await read_form(request), "code")
    t = auth_now(request)

    async def work(tx: Tx) -> bool:
        ok = await totp.use_code(tx, t, user.id, code, confirming=True)
        if ok:
            await audit(tx, t, user.actor, "staff.totp_enabled", "staff", user.id)
        return ok

    ok = await db(request).write(work)
    await flash(request, user, "Two-step sign-in is on. You will be asked for a code at sign-in."
                if ok else "That code did not match. Check the phone's clock and try again.")
    return see_other("/admin/account#totp")


@guard("account")
async def totp_disable(request: Request, user: User) -> Response:
    password = str((await read_form(request)).get("password") or "")
    if totp_required(user.role, service(request).settings.mode):
        await flash(request, user, "Your role must keep two-step sign-in on.")
        return see_other("/admin/account#totp")
    if not await _password_ok(request, user, password):
        await flash(request, user, "Your password was not right; two-step sign-in stays on.")
        return see_other("/admin/account#totp")
    t = auth_now(request)

    async def work(tx: Tx) -> None:
        await totp.disable(tx, user.id)
        await audit(tx, t, user.actor, "staff.totp_disabled", "staff", user.id)

    await db(request).write(work)
    await flash(request, user, "Two-step sign-in is off.")
    return see_other("/admin/account#totp")


def routes() -> list[Route]:
    return [
        Route("/account", account_page, methods=["GET"]),
        Route("/account/password", change_password, methods=["POST"]),
        Route("/account/totp/start", totp_start, methods=["POST"]),
        Route("/account/totp/confirm", totp_confirm, methods=["POST"]),
        Route("/account/totp/disable", totp_disable, methods=["POST"]),
    ]
