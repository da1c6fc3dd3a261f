"""Staff and rota. Supervisors set availability and the duty rota, and approve role changes
that widen case access; admins manage accounts but never set or learn a password (a one-time
link goes to the person's own phone or Telegram: bot.core.accounts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import actions, sessions, totp
from admin_web.auth import guard
from admin_web.permissions import User, allowed
from admin_web.posting import Work, form_post
from admin_web.templating import page
from admin_web.web import auth_now, db, field, int_field, now, path_int, service
from bot.core import accounts
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.people import CASE_ROLES, ROLES, Contact, InputError, add_staff
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
    requests = await database.all(
        "SELECT r.*, s.name, s.username, (SELECT GROUP_CONCAT(i.channel || ' ' || i.address, ', ')"
        "  FROM identities i WHERE i.staff_id = s.id AND i.active = 1) AS contacts"
        " FROM role_requests r JOIN staff s ON s.id = r.staff_id WHERE r.status = 'pending'"
        " ORDER BY r.requested_at")
    return await page(
        request, "staff.html", staff=staff, rota=rota, roles=ROLES, requests=requests,
        can_approve=allowed(user.role, "staff.approve"),
        pending={r["staff_id"]: r["to_role"] for r in requests},
        duty_now={k: names.get(v) for k, v in duty_now.items()},
        can_rota=allowed(user.role, "rota"), can_accounts=allowed(user.role, "staff.accounts"),
        duty_staff=[s for s in staff if s["active"] and s["role"] in CASE_ROLES])


def _post(fn: Work, capability: str) -> Callable[[Request], Awaitable[Response]]:
    return form_post(capability, fn, "/admin/staff")


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


CHANNEL_NAMES = {"sms": "phone by SMS", "telegram": "Telegram", "sim": "simulator phone"}


async def _staff_add(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    username = field(form, "username").lower() or None
    contact = Contact(field(form, "phone") or None, field(form, "telegram") or None)
    if username and not (contact.phone or contact.telegram_chat_id):
        raise InputError("a panel account needs a mobile number or Telegram chat id: the"
                         " set-password link goes there")
    staff_id = await add_staff(tx, moment, name=field(form, "name"), role=field(form, "role"),
                               contact=contact, username=username, password_hash=None,
                               actor=user.actor)
    if await accounts.hold_for_approval(tx, moment, staff_id, user.actor):
        return ("Added, inactive until a supervisor approves the role. Then a set-password link"
                " goes to their phone or Telegram.")
    if username:
        channel = await accounts.send_setup_link(tx, auth_now(request), staff_id, user.actor)
        return f"Added; a set-password link went to their {CHANNEL_NAMES.get(channel, channel)}."
    return "Staff member added."


async def _staff_active(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    staff_id = path_int(request)
    active = field(form, "active") == "on"
    if staff_id == user.id and not active:
        raise InputError("you cannot deactivate your own account")
    if active and await accounts.pending_request(tx, staff_id):
        raise InputError("a supervisor must decide the waiting role change first")
    if active and await tx.value("SELECT NOT active FROM staff WHERE id = ?", (staff_id,)) \
            and await accounts.hold_for_approval(tx, moment, staff_id, user.actor):
        return "Reactivation of an account with case access waits for a supervisor's approval."
    await actions.set_active(tx, moment, staff_id, active, user.actor)
    return "Account reactivated." if active else "Account deactivated; its sessions have ended."


async def _staff_password(tx: Tx, user: User, form: Any, moment: datetime,
                          request: Request) -> str:
    """A reset: the old password keeps working until the person sets a new one with the link
    (so a mistaken reset locks nobody out), and the link goes to them, not to the admin.
    Links run on the sign-in clock (auth_now), like sessions: the demo may move the other."""
    channel = await accounts.send_setup_link(tx, auth_now(request), path_int(request), user.actor)
    return f"A set-password link went to their {CHANNEL_NAMES.get(channel, channel)}."


async def _staff_role(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    result = await accounts.request_role(tx, moment, path_int(request), field(form, "role"),
                                         user.actor)
    return {"same": "Already in that role.", "changed": "Role changed.",
            "pending": "Waiting for a supervisor: the new role gives more access to cases."}[result]


async def _role_decide(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    decision = field(form, "decision")
    if decision not in ("approve", "decline"):
        raise InputError("decision: approve or decline")
    staff_id = await accounts.decide_role(tx, moment, path_int(request), decision == "approve",
                                          user.id)
    if decision == "decline":
        return "Declined."
    row = await tx.one("SELECT username, password_hash FROM staff WHERE id = ?", (staff_id,))
    if row["username"] and not row["password_hash"]:
        try:
            channel = await accounts.send_setup_link(tx, auth_now(request), staff_id, user.actor)
        except InputError as exc:
            return f"Approved. No link sent: {exc}."
        return f"Approved; a set-password link went to their {CHANNEL_NAMES.get(channel, channel)}."
    return "Approved."


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
        Route("/staff/{id:int}/role", _post(_staff_role, "staff.accounts"), methods=["POST"]),
        Route("/staff/requests/{id:int}/decide", _post(_role_decide, "staff.approve"),
              methods=["POST"]),
    ]
