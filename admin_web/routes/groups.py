"""Aftercare groups and peer mentors, for supervisors: every group's mentors, size and Telegram
chat state (including a bot removed from its chat), promoting a graduate, stepping a mentor down.

Groups are set up and edited here (mentors picked by name), members enrolled and withdrawn, or
with the CLI (`o2r group ...`); the rules live in bot.aftercare.enrolment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.auth import flash, guard
from admin_web.permissions import User, client_in_reach, client_scope
from admin_web.posting import form_post
from admin_web.templating import page
from admin_web.web import db, field, int_field, now, path_int, read_form, see_other
from bot.aftercare import enrolment, mentors
from bot.aftercare import reads as aftercare
from bot.aftercare.rules import load_config
from bot.core.db import Tx
from bot.core.passwords import WeakPassword, hash_password_async
from bot.core.people import InputError
from reminders.schedule.clock import WEEKDAYS

BACK = "/admin/groups"


@guard("groups")
async def groups_page(request: Request, user: User) -> Response:
    database, moment = db(request), now(request)
    where, params = client_scope(user)
    eligible = await database.all(
        "SELECT c.id, c.ref, c.first_name FROM clients c WHERE c.stage IN ('completed',"
        " 'aftercare') AND c.consent_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mentors m"
        f" WHERE m.client_id = c.id AND m.status = 'active') AND {where} ORDER BY c.ref", params)
    rows = await aftercare.all_groups(database, moment)
    members: dict[int, list[Any]] = {}
    for r in await database.all(
            "SELECT g.group_id, c.id, c.ref, c.first_name FROM group_members g"
            " JOIN clients c ON c.id = g.client_id WHERE g.status = 'active' ORDER BY c.ref"):
        members.setdefault(r["group_id"], []).append(r)
    # Who could join a group: graduates with consent, in no group and mentoring none.
    joinable = await database.all(
        "SELECT c.id, c.ref, c.first_name FROM clients c WHERE c.stage IN ('completed',"
        " 'aftercare') AND c.consent_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM group_members"
        " g WHERE g.client_id = c.id AND g.status = 'active')"
        f" AND {where} ORDER BY c.ref", params)
    return await page(
        request, "groups.html", eligible=eligible, mentors=await aftercare.all_mentors(database),
        agreement=load_config().agreement_version,
        weekdays=WEEKDAYS, members=members, joinable=joinable,
        groups=[{"id": r["id"], "name": r["name"], "day": WEEKDAYS[r["weekday"]][:3].capitalize(),
                 "at": r["meets_at"], "place": r["place"], "mentor_names": r["mentor_names"],
                 "members": r["members"], "next": r["next_meeting"], "chat": r["chat_status"],
                 "weekday": WEEKDAYS[r["weekday"]],
                 "chat_changed_at": r["chat_changed_at"]} for r in rows])


@guard("groups")
async def promote(request: Request, user: User) -> Response:
    form = await read_form(request)
    client_id = int_field(form, "client")
    if not await client_in_reach(db(request), user, client_id):
        raise HTTPException(404, "No such client.")
    username = field(form, "username").lower() or None
    moment = now(request)
    try:
        password_hash = await hash_password_async(str(form.get("password") or ""), (username or "",)) \
            if username else None

        async def work(tx: Tx) -> int:
            return await mentors.promote(tx, moment, client_id, agreed=field(form, "agreed") == "on",
                                         username=username, password_hash=password_hash,
                                         actor=user.actor)

        await db(request).write(work)
        message = "Promoted to peer mentor. Add them to a group with o2r group add-mentor."
    except (InputError, WeakPassword) as exc:
        message = f"Not done: {exc}"
    await flash(request, user, message)
    return see_other("/admin/groups")


async def _mentor_exists(request: Request, user: User, form: Any) -> None:
    if not await db(request).value("SELECT 1 FROM mentors WHERE staff_id = ?",
                                   (path_int(request),)):
        raise HTTPException(404, "No such mentor.")


async def _step_down(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    await mentors.step_down(tx, moment, path_int(request),
                            reason=field(form, "reason")[:200] or None, actor=user.actor)
    return "Stepped down: their mentor access has ended everywhere."


async def _add_group(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    """A new group with its mentors picked by name (the CLI's `o2r group add`)."""
    day = field(form, "day")
    if day not in WEEKDAYS:
        raise InputError("day: choose one from the list")
    mentor_ids = [int(v) for v in form.getlist("mentor") if isinstance(v, str) and v.isdigit()]
    await enrolment.add_group(tx, moment, name=field(form, "name"), mentor_ids=mentor_ids,
                              meets=f"weekly:{day[:3]} {field(form, 'at')}",
                              place=field(form, "place") or None, actor=user.actor)
    return "Group added; its meetings and reminders are planned."


async def _edit_group(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    day = field(form, "day")
    if day not in WEEKDAYS:
        raise InputError("day: choose one from the list")
    changed = await enrolment.edit_group(
        tx, moment, path_int(request), name=field(form, "name"),
        meets=f"weekly:{day[:3]} {field(form, 'at')}", place=field(form, "place") or None,
        actor=user.actor)
    if not changed:
        return "Nothing changed."
    return "Group changed: " + ", ".join(changed) + (
        "; meetings ahead and their reminders moved." if set(changed) - {"name"} else ".")


async def _enrol(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    await enrolment.enrol(tx, moment, path_int(request), int_field(form, "client"),
                          actor=user.actor)
    return "Enrolled; their meeting reminders are planned."


async def _withdraw(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    await enrolment.leave(tx, moment, int_field(form, "client"),
                          field(form, "reason")[:200] or "withdrawn by a supervisor",
                          actor=user.actor)
    return "Withdrawn from the group; their meeting reminders are cancelled."


async def _add_group_mentor(tx: Tx, user: User, form: Any, moment: datetime,
                            request: Request) -> str:
    gid = await enrolment.group_id_of(tx, int_field(form, "group"))
    await enrolment.add_mentor(tx, moment, gid, int_field(form, "mentor"), actor=user.actor)
    return "Mentor added to the group."


def routes() -> list[Route]:
    return [
        Route("/groups", groups_page, methods=["GET"]),
        Route("/groups/mentors", promote, methods=["POST"]),
        Route("/groups/new", form_post("groups", _add_group, BACK), methods=["POST"]),
        Route("/groups/add-mentor", form_post("groups", _add_group_mentor, BACK),
              methods=["POST"]),
        Route("/groups/{id:int}/edit", form_post("groups", _edit_group, BACK), methods=["POST"]),
        Route("/groups/{id:int}/enrol", form_post("groups", _enrol, BACK), methods=["POST"]),
        Route("/groups/withdraw", form_post("groups", _withdraw, BACK), methods=["POST"]),
        Route("/groups/mentors/{id:int}/step-down",
              form_post("groups", _step_down, BACK, check=_mentor_exists), methods=["POST"]),
    ]
