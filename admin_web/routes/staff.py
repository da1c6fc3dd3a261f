"""Staff and rota. Supervisors set availability and the duty rota; admins manage accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import actions, sessions, totp
from admin_web.auth import flash, guard
from admin_web.permissions import User, allowed
from admin_web.templating import page
from admin_web.web import db, field, int_field, now, path_int, read_form, see_other, service
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.passwords import WeakPassword, hash_password
from bot.core.people import ROLES, Contact, InputError, add_staff
from bot.core.rota import add_duty, parse_local, set_availability


@guard("staff")
async def staff_page(request: Request, user: User) -> Response:
    database, moment = db(request), now(request)
    staff = await database.all(
        "SELECT s.*, (SELECT GROUP_CONCAT(DISTINCT i.channel) FROM identities i"
        "  WHERE i.staff_id = s.id AND i.active = 1) AS channels,"
        " (SELECT confirmed_at IS NOT NULL FROM staff_totp t WHERE t.staff_id = s.id) AS totp"
        " FROM staff s ORDER BY s.active DESC, s.role, s.name")
    rota = await database.all(
        "SELECT r.*, s.name FROM rota r JOIN staff s ON s.id = r.staff_id WHERE r.ends_at > ?"
        " ORDER BY r.starts_at LIMIT 100", (iso(moment),))
    from bot.escalation.alerts import duty

    # duty() only reads: run it on the read connection rather than queueing a write.
    duty_now = {kind: await duty(database, moment, kind)  # type: ignore[arg-type]
                for kind in ("duty_officer", "duty_supervisor")}
    names = {s["id"]: s["name"] for s in staff}
    return await page(
        request, "staff.html", staff=staff, rota=rota, roles=ROLES,
        duty_now={k: names.get(v) for k, v in duty_now.items()},
        can_rota=allowed(user.role, "rota"), can_accounts=allowed(user.role, "staff.accounts"),
        duty_staff=[s for s in staff if s["active"] and s["role"] in ("officer", "supervisor")])


Change = Callable[[Tx, User, Any, datetime, Request], Awaitable[str]]


def _post(fn: Change, capability: str) -> Callable[[Request], Awaitable[Response]]:
    @guard(capability)
    async def endpoint(request: Request, user: User) -> Response:
        form = await read_form(request)
        moment = now(request)
        try:
            message = await db(request).write(lambda tx: fn(tx, user, form, moment, request))
        except (InputError, WeakPassword) as exc:
            message = f"Not done: {exc}"
        await flash(request, user, message)
        return see_other("/admin/staff")

    endpoint.__name__ = fn.__name__.lstrip("_")
    return endpoint


async def _availability(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    staff_id = path_int(request)
    available = field(form, "available") == "on"
    await set_availability(tx, moment, staff_id, available, field(form, "reason")[:200] or None,
                           user.actor)
    return "Marked available." if available else "Marked unavailable: alerts go to the duty officer."


async def _rota_add(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    tz = service(request).settings.timezone
    await add_duty(tx, moment, int_field(form, "staff"), field(form, "duty"),
                   parse_local(field(form, "start"), tz), parse_local(field(form, "end"), tz),
                   user.actor)
    return "Rota entry added."


async def _rota_end(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    await actions.end_duty(tx, moment, path_int(request), user.actor)
    return "Rota entry ended."


async def _staff_add(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    username = field(form, "username").lower() or None
    password = str(form.get("password") or "")
    password_hash = hash_password(password) if username else None
    await add_staff(tx, moment, name=field(form, "name"), role=field(form, "role"),
                    contact=Contact(field(form, "phone") or None,
                                    field(form, "telegram") or None),
                    username=username, password_hash=password_hash, actor=user.actor)
    return "Staff member added."


async def _staff_active(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    staff_id = path_int(request)
    active = field(form, "active") == "on"
    if staff_id == user.id and not active:
        raise InputError("you cannot deactivate your own account")
    await actions.set_active(tx, moment, staff_id, active, user.actor)
    return "Account reactivated." if active else "Account deactivated; its sessions have ended."


async def _staff_password(tx: Tx, user: User, form: Any, moment: datetime,
                          request: Request) -> str:
    new_hash = hash_password(str(form.get("password") or ""))
    await actions.set_password(tx, moment, path_int(request), new_hash, user.actor)
    return "Password set; the person must sign in again."


async def _staff_totp_reset(tx: Tx, user: User, form: Any, moment: datetime,
                            request: Request) -> str:
    staff_id = path_int(request)
    await totp.disable(tx, staff_id)
    # Their sessions end: a supervisor or admin must set a new one up at the next sign-in.
    await sessions.revoke_all(tx, moment, staff_id)
    await audit(tx, moment, user.actor, "staff.totp_reset", "staff", staff_id)
    return "Two-step sign-in removed; they set it up again when they next sign in."


def routes() -> list[Route]:
    return [
        Route("/staff", staff_page, methods=["GET"]),
        Route("/staff/{id:int}/availability", _post(_availability, "rota"), methods=["POST"]),
        Route("/rota", _post(_rota_add, "rota"), methods=["POST"]),
        Route("/rota/{id:int}/end", _post(_rota_end, "rota"), methods=["POST"]),
        Route("/staff/add", _post(_staff_add, "staff.accounts"), methods=["POST"]),
        Route("/staff/{id:int}/active", _post(_staff_active, "staff.accounts"), methods=["POST"]),
        Route("/staff/{id:int}/password", _post(_staff_password, "staff.accounts"),
              methods=["POST"]),
        Route("/staff/{id:int}/totp-reset", _post(_staff_totp_reset, "staff.accounts"),
              methods=["POST"]),
    ]
