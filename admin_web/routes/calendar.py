"""The calendar: appointments and pre-admission course sessions, with attendance marking.

Every change goes through reminders.calendar, which re-plans the reminders in the same
transaction. An officer sees and changes only appointments of clients in their reach; course
sessions are shared, but the people listed against them are only the officer's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import calendar_data
from admin_web.auth import guard
from admin_web.permissions import User, caseload_scope, client_in_charge, client_scope
from admin_web.posting import Work, form_post
from admin_web.templating import page
from admin_web.web import db, field, int_field, now, path_int, safe_next, service
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.people import InputError
from bot.core.rota import parse_local

SPAN_DAYS = 14
HISTORY_DAYS = 7  # the default view starts a week back, so last week's attendance can be marked


def window(start_raw: str | None, today: date) -> tuple[date, date]:
    try:
        start = date.fromisoformat(start_raw) if start_raw else today - timedelta(HISTORY_DAYS)
    except ValueError:
        start = today - timedelta(HISTORY_DAYS)
    return start, start + timedelta(days=SPAN_DAYS)


@guard("calendar")
async def calendar_page(request: Request, user: User) -> Response:
    database, moment = db(request), now(request)
    if not await calendar_data.available(database):
        return await page(request, "calendar.html", unavailable=True)
    from reminders.schedule.plans import APPOINTMENT_KINDS

    tz = ZoneInfo(service(request).settings.timezone)
    start, end = window(request.query_params.get("from"), moment.astimezone(tz).date())
    lo = iso(datetime.combine(start, datetime.min.time(), tz))
    hi = iso(datetime.combine(end, datetime.min.time(), tz))
    scope, params = client_scope(user)
    appointments = await database.all(
        "SELECT a.*, c.ref, c.first_name FROM appointments a JOIN clients c ON c.id = a.client_id"
        f" WHERE a.at >= ? AND a.at < ? AND {scope} ORDER BY a.at, a.id", (lo, hi, *params))
    sessions = [dict(s) for s in await database.all(
        "SELECT s.*, k.name AS cohort FROM course_sessions s"
        " LEFT JOIN course_cohorts k ON k.id = s.cohort_id"
        " WHERE s.starts_at >= ? AND s.starts_at < ? ORDER BY s.starts_at, s.id", (lo, hi))]
    # Who is on the course (in reach): active enrolments, plus anyone already marked.
    enrolled = await database.all(
        "SELECT c.id, c.ref, c.first_name FROM course_enrolments e JOIN clients c"
        f" ON c.id = e.client_id WHERE e.status = 'active' AND {scope} ORDER BY c.ref", params)
    for s in sessions:
        marks = {r["client_id"]: r["outcome"] for r in await database.all(
            "SELECT a.client_id, a.outcome FROM course_attendance a JOIN clients c"
            f" ON c.id = a.client_id WHERE a.session_id = ? AND {scope}", (s["id"], *params))}
        people = {e["id"]: dict(e) for e in enrolled}
        if marks:
            for r in await database.all(
                    "SELECT id, ref, first_name FROM clients WHERE id IN"
                    f" ({','.join('?' * len(marks))})", tuple(marks)):
                people.setdefault(r["id"], dict(r))
        s["people"] = [p | {"outcome": marks.get(p["id"])} for p in
                       sorted(people.values(), key=lambda p: p["ref"])]
        s["started"] = s["starts_at"] <= iso(moment)
    cscope, cparams = caseload_scope(user)
    clients = await database.all(
        f"SELECT c.id, c.ref, c.first_name, c.stage FROM clients c WHERE {cscope} ORDER BY c.ref",
        cparams)
    days: dict[date, list[dict[str, Any]]] = {}
    for a in appointments:
        day = datetime.fromisoformat(a["at"]).astimezone(tz).date()
        days.setdefault(day, []).append({"type": "appointment", **dict(a)})
    for s in sessions:
        day = datetime.fromisoformat(s["starts_at"]).astimezone(tz).date()
        days.setdefault(day, []).append({"type": "session", **s})
    here = "/admin/calendar?" + urlencode({"from": start.isoformat()})
    return await page(
        request, "calendar.html", days=sorted(days.items()), start=start,
        end=end - timedelta(days=1), today=moment.astimezone(tz).date(),
        prev=(start - timedelta(SPAN_DAYS)).isoformat(), nxt=end.isoformat(),
        kinds=APPOINTMENT_KINDS, clients=clients, here=here, unavailable=False,
        default_at=(moment.astimezone(tz) + timedelta(days=1)).strftime("%Y-%m-%dT10:00"))


def _post(fn: Work) -> Callable[[Request], Awaitable[Response]]:
    return form_post("calendar", fn,
                     lambda request, form: safe_next(field(form, "next"), "/admin/calendar"))


async def _reach_client(tx: Tx, user: User, client_id: int) -> None:
    if not await client_in_charge(tx, user, client_id):
        raise HTTPException(404, "No such client.")


async def _reach_appointment(tx: Tx, user: User, appointment_id: int) -> None:
    client_id = await tx.value("SELECT client_id FROM appointments WHERE id = ?",
                               (appointment_id,))
    if client_id is None or not await client_in_charge(tx, user, int(client_id)):
        raise HTTPException(404, "No such appointment.")


def _when(request: Request, form: Any, name: str = "at") -> datetime:
    raw = field(form, name)
    if not raw:
        raise InputError(f"{name}: give a date and time")
    return parse_local(raw, service(request).settings.timezone)


async def _add_appointment(tx: Tx, user: User, form: Any, moment: datetime,
                           request: Request) -> str:
    from reminders.calendar import add_appointment

    client_id = int_field(form, "client")
    await _reach_client(tx, user, client_id)
    await add_appointment(tx, moment, client_id=client_id, kind=field(form, "kind"),
                          at=_when(request, form), place=field(form, "place") or None,
                          with_whom=field(form, "with") or None,
                          repeat=field(form, "repeat") or None, actor=user.actor)
    return "Appointment added; reminders planned."


async def _outcome(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    from reminders.calendar import record_appointment_outcome

    appointment_id = path_int(request)
    await _reach_appointment(tx, user, appointment_id)
    outcome = field(form, "outcome")
    await record_appointment_outcome(tx, moment, appointment_id, outcome, actor=user.actor)
    return f"Marked {outcome}."


async def _reschedule(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    from reminders.calendar import reschedule_appointment

    appointment_id = path_int(request)
    await _reach_appointment(tx, user, appointment_id)
    await reschedule_appointment(tx, moment, appointment_id, _when(request, form),
                                 place=field(form, "place") or None, actor=user.actor)
    return "Appointment moved; reminders re-planned."


async def _cancel(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    from reminders.calendar import cancel_appointment

    appointment_id = path_int(request)
    await _reach_appointment(tx, user, appointment_id)
    n = await cancel_appointment(tx, moment, appointment_id, series=field(form, "series") == "yes",
                                 actor=user.actor)
    return f"Cancelled {n} appointment(s); their reminders stopped."


async def _add_session(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    from reminders.calendar import add_session

    await add_session(tx, moment, at=_when(request, form), place=field(form, "place") or None,
                      cohort=field(form, "cohort") or None, actor=user.actor)
    return "Course session added; enrolled clients are invited."


async def _enrol(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    from reminders.calendar import enrol_client

    client_id = int_field(form, "client")
    await _reach_client(tx, user, client_id)
    await enrol_client(tx, moment, client_id, cohort=field(form, "cohort") or None,
                       actor=user.actor)
    return "Enrolled; they will be reminded of each session until admitted."


async def _attendance(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    from reminders.calendar import record_attendance

    client_id = int_field(form, "client")
    await _reach_client(tx, user, client_id)
    outcome = field(form, "outcome")
    await record_attendance(tx, moment, path_int(request), client_id, outcome, actor=user.actor)
    return f"Marked {outcome}."


def routes() -> list[Route]:
    return [
        Route("/calendar", calendar_page, methods=["GET"]),
        Route("/calendar/appointments", _post(_add_appointment), methods=["POST"]),
        Route("/appointments/{id:int}/outcome", _post(_outcome), methods=["POST"]),
        Route("/appointments/{id:int}/reschedule", _post(_reschedule), methods=["POST"]),
        Route("/appointments/{id:int}/cancel", _post(_cancel), methods=["POST"]),
        Route("/calendar/sessions", _post(_add_session), methods=["POST"]),
        Route("/calendar/enrol", _post(_enrol), methods=["POST"]),
        Route("/sessions/{id:int}/attendance", _post(_attendance), methods=["POST"]),
    ]
