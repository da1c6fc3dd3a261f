"""A peer mentor's page: their aftercare group's first names and attendance, and a concern form.

Nothing else about a member is ever read here. The page asks `bot.aftercare.reads` for it
(`mentor_members(db, staff_id)` -> rows with client_id, first_name, group_name;
`mentor_attendance(db, staff_id)` -> rows with first_name, meeting_at, outcome;
`mentor_groups(db, staff_id, now)` -> the groups' meeting times and Telegram chat state). Each
starts from the mentor's own active mentor row, so a mentor who stepped down sees nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.auth import flash, guard
from admin_web.permissions import User
from admin_web.templating import page
from admin_web.web import db, field, int_field, now, read_form, see_other
from bot.core.audit import audit
from bot.core.db import Tx

MAX_CONCERN = 500


async def _from_aftercare(name: str, database: Any, staff_id: int, *extra: Any) -> list[Any]:
    try:
        module = importlib.import_module("bot.aftercare.reads")
    except ModuleNotFoundError:
        return []
    fn = getattr(module, name, None)
    return list(await fn(database, staff_id, *extra)) if fn is not None else []


async def members(database: Any, staff_id: int) -> list[dict[str, Any]]:
    """First names only: whatever the source returns, nothing else leaves this function."""
    return [{"client_id": int(r["client_id"]), "first_name": str(r["first_name"]),
             "group_name": str(r["group_name"])}
            for r in await _from_aftercare("mentor_members", database, staff_id)]


async def attendance(database: Any, staff_id: int) -> list[dict[str, Any]]:
    return [{"first_name": str(r["first_name"]), "meeting_at": r["meeting_at"],
             "outcome": str(r["outcome"])}
            for r in await _from_aftercare("mentor_attendance", database, staff_id)]


async def groups(database: Any, staff_id: int, moment: Any) -> list[dict[str, Any]]:
    """The mentor's groups: when and where they meet, and whether the bot is in their chat."""
    from reminders.schedule.clock import WEEKDAYS

    return [{"name": str(r["name"]), "day": WEEKDAYS[r["weekday"]].capitalize(),
             "at": r["meets_at"], "place": r["place"], "next": r["next_meeting"],
             "chat": r["chat_status"], "chat_changed_at": r["chat_changed_at"]}
            for r in await _from_aftercare("mentor_groups", database, staff_id, moment)]


@guard("mentor")
async def mentor_page(request: Request, user: User) -> Response:
    database = db(request)
    group = await members(database, user.id)
    names = {m["client_id"]: m["first_name"] for m in group}
    raised = await database.all(
        "SELECT client_id, at FROM findings WHERE reason = 'mentor_concern'"
        " AND source = 'mentor_concern' AND detail LIKE ? ORDER BY at DESC LIMIT 20",
        (f"mentor:{user.id}:%",))
    return await page(request, "mentor.html", group=group,
                      groups=await groups(database, user.id, now(request)),
                      attendance=await attendance(database, user.id),
                      raised=[{"first_name": names.get(r["client_id"], "A former member"),
                               "at": r["at"]} for r in raised])


@guard("mentor")
async def concern(request: Request, user: User) -> Response:
    form = await read_form(request)
    client_id = int_field(form, "member")
    if client_id not in {m["client_id"] for m in await members(db(request), user.id)}:
        raise HTTPException(404, "No such member in your group.")
    text = field(form, "text")[:MAX_CONCERN]
    moment = now(request)

    async def work(tx: Tx) -> None:
        from bot.escalation.findings import raise_finding

        await raise_finding(tx, moment, client_id, "AMBER", "mentor_concern",
                            source="mentor_concern", detail=f"mentor:{user.id}: {text}".strip())
        await audit(tx, moment, user.actor, "mentor.concern_raised", "client", client_id)

    await db(request).write(work)
    await flash(request, user, "Thank you. Your concern has been passed on to their officer.")
    return see_other("/admin/mentor")


def routes() -> list[Route]:
    return [
        Route("/mentor", mentor_page, methods=["GET"]),
        Route("/mentor/concern", concern, methods=["POST"]),
    ]
