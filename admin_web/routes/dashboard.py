"""The programme dashboard: the evaluation's tables, live, each downloadable as CSV."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import calendar_data, metrics, programme_settings
from admin_web.auth import guard
from admin_web.charts import Series, bar_chart, line_chart
from admin_web.csvout import csv_response
from admin_web.permissions import User
from admin_web.templating import page
from admin_web.web import db, now, service
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso

CHECKIN_FLOWS = ("daily_checkin", "weekly_checkin")
WELLBEING = (("Happy", "ons_happy"), ("Craving", "craving_24h"))
TREND_WEEKS = 12


async def client_facts(database: Any) -> list[metrics.ClientFacts]:
    moves: dict[int, list[tuple[Any, ...]]] = {}
    for m in await database.all("SELECT client_id, at, from_stage, to_stage FROM stage_history"
                                " ORDER BY at, id"):
        moves.setdefault(m["client_id"], []).append((parse_iso(m["at"]), m["from_stage"],
                                                     m["to_stage"]))
    rows = await database.all(
        "SELECT c.id, s.name AS officer, c.status, c.stage, c.created_at, c.area,"
        " c.referral_source FROM clients c JOIN staff s ON s.id = c.officer_id")
    return [metrics.ClientFacts(r["id"], r["officer"], r["status"], r["stage"],
                                parse_iso(r["created_at"]), r["area"], r["referral_source"],
                                tuple(moves.get(r["id"], ()))) for r in rows]


async def _answers(database: Any, key: str, since: str) -> list[tuple[Any, float]]:
    out = []
    for r in await database.all(
            "SELECT at, value FROM answers WHERE question_key = ? AND status = 'answered'"
            " AND at >= ?", (key, since)):
        value = json.loads(r["value"]) if r["value"] else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append((parse_iso(r["at"]), float(value)))
    return out


async def build(request: Request) -> dict[str, Any]:
    """Every table and chart on the dashboard, from the database as it is now."""
    database, moment = db(request), now(request)
    tz = ZoneInfo(service(request).settings.timezone)
    clients = await client_facts(database)
    marks = ",".join("?" * len(CHECKIN_FLOWS))
    sessions = [(parse_iso(r[0]), bool(r[1])) for r in await database.all(
        "SELECT fs.started_at, EXISTS (SELECT 1 FROM answers a WHERE a.session_id = fs.id"
        " AND a.status = 'answered') FROM flow_sessions fs"
        f" WHERE fs.flow_id IN ({marks}) AND fs.status NOT IN ('waiting', 'skipped')",
        CHECKIN_FLOWS)]
    escalations = [(r[0], r[1], parse_iso(r[2]), parse_iso(r[3]) if r[3] else None)
                   for r in await database.all(
                       "SELECT severity, status, created_at, acknowledged_at FROM escalations")]
    since = iso(moment - timedelta(weeks=TREND_WEEKS))
    wellbeing = {name: await _answers(database, key, since) for name, key in WELLBEING}
    theft = await programme_settings.load_theft(database)
    tables = [
        metrics.referrals_by_officer(clients),
        metrics.journey_funnel(clients),
    ]
    course = await calendar_data.course_marks(database)
    if course is not None:
        tables.append(metrics.preadmission_attendance(*course))
    tables += [
        metrics.checkin_response(sessions, tz),
        metrics.escalations_by_severity(escalations),
        metrics.wellbeing_table(wellbeing, tz, TREND_WEEKS),
        metrics.referrals_by_source(clients),
        metrics.referrals_by_area(clients),
        metrics.theft_avoided(clients, theft, moment),
    ]
    funnel = next(t for t in tables if t.slug == "journey-funnel")
    weekly = [Series(name, [(parse_iso(f"{wk.isoformat()}T12:00:00+00:00"), mean)
                            for wk, mean, _ in metrics.weekly_means(pts, tz)])
              for name, pts in wellbeing.items()]
    return {
        "tables": tables,
        "funnel_chart": bar_chart("Journey funnel", [(r[0], r[1]) for r in funnel.rows]),
        "wellbeing_chart": line_chart("Weekly mean score (0-10)", weekly, (0, 10)),
        "clients": len(clients),
    }


@guard("dashboard")
async def dashboard_page(request: Request, user: User) -> Response:
    return await page(request, "dashboard.html", **await build(request))


@guard("dashboard")
async def dashboard_csv(request: Request, user: User) -> Response:
    slug = request.path_params["slug"]
    table = next((t for t in (await build(request))["tables"] if t.slug == slug), None)
    if table is None:
        raise HTTPException(404, "No such table.")
    moment = now(request)
    await db(request).write(lambda tx: audit(tx, moment, user.actor, "dashboard.exported", None,
                                             None, table=slug))
    return csv_response(f"{slug}.csv", table.columns, table.rows)


def routes() -> list[Route]:
    return [
        Route("/dashboard", dashboard_page, methods=["GET"]),
        Route("/dashboard/{slug:str}.csv", dashboard_csv, methods=["GET"]),
    ]
