"""The programme dashboard: the evaluation's tables, live, each downloadable as CSV.

Filters ride in the URL (from, to: ISO dates in the programme's time zone, both inclusive;
officer: a staff id, supervisors only), so a filtered view can be bookmarked and its CSV links
carry the same filters. Evaluators see every table aggregated with counts under 5 suppressed
(metrics.suppress), officers as "Officer A", "Officer B", and no per-client table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import calendar_data, metrics, programme_settings
from admin_web.auth import guard
from admin_web.charts import Series, bar_chart, line_chart
from admin_web.csvout import csv_response
from admin_web.permissions import User, allowed
from admin_web.templating import page
from admin_web.web import db, now, service
from bot.core.audit import audit
from bot.core.clock import iso, parse_iso
from bot.core.people import CASE_ROLES_SQL

CHECKIN_FLOWS = ("daily_checkin", "weekly_checkin")
WELLBEING = (("Happy", "ons_happy"), ("Craving", "craving_24h"))
TREND_WEEKS = 12
ONS_ITEMS = ("ons_satisfied", "ons_worthwhile", "ons_happy", "ons_anxious")


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    officer: int | None = None
    problems: tuple[str, ...] = ()

    def query(self) -> str:
        """The filters as a query string (empty when none), for links and CSV downloads."""
        pairs = [("from", self.start.isoformat() if self.start else ""),
                 ("to", self.end.isoformat() if self.end else ""),
                 ("officer", str(self.officer) if self.officer else "")]
        return urlencode([(k, v) for k, v in pairs if v])


def filters_of(request: Request, user: User) -> Filters:
    q, problems = request.query_params, []
    dates: dict[str, date | None] = {}
    for key, word in (("from", "From"), ("to", "To")):
        raw = q.get(key, "").strip()
        dates[key] = None
        if raw:
            try:
                dates[key] = date.fromisoformat(raw[:10])
            except ValueError:
                problems.append(f"{word} date {raw[:20]!r} is not a date like 2026-01-31:"
                                " ignored.")
    start, end = dates["from"], dates["to"]
    if start and end and end < start:
        problems.append("The 'to' date is before the 'from' date: swapped.")
        start, end = end, start
    officer_raw = q.get("officer", "").strip()
    officer = int(officer_raw) if officer_raw.isdigit() else None
    if officer is not None and not allowed(user.role, "dashboard.detail"):
        officer = None  # evaluators see the programme as a whole
    return Filters(start, end, officer, tuple(problems))


@dataclass(frozen=True)
class Window:
    """The filters as SQL over UTC ISO text: `where(column)` bounds a timestamp column."""

    since: str | None
    until: str | None
    officer: int | None

    def where(self, column: str) -> tuple[str, tuple[Any, ...]]:
        parts, params = [], []
        if self.since:
            parts.append(f"{column} >= ?")
            params.append(self.since)
        if self.until:
            parts.append(f"{column} < ?")
            params.append(self.until)
        if self.officer is not None:
            parts.append("c.officer_id = ?")
            params.append(self.officer)
        return (" AND ".join(parts) or "1=1"), tuple(params)


def window(f: Filters, tz: ZoneInfo) -> Window:
    def edge(day: date | None) -> str | None:
        return iso(datetime.combine(day, time(0), tz)) if day else None

    return Window(edge(f.start), edge(f.end + timedelta(days=1)) if f.end else None, f.officer)


async def client_facts(database: Any, w: Window | None = None) -> list[metrics.ClientFacts]:
    """Clients referred in the window (created then), with their stage history."""
    w = w or Window(None, None, None)
    moves: dict[int, list[tuple[Any, ...]]] = {}
    for m in await database.all("SELECT client_id, at, from_stage, to_stage FROM stage_history"
                                " ORDER BY at, id"):
        moves.setdefault(m["client_id"], []).append((parse_iso(m["at"]), m["from_stage"],
                                                     m["to_stage"]))
    where, params = w.where("c.created_at")
    rows = await database.all(
        "SELECT c.id, s.name AS officer, c.status, c.stage, c.created_at, c.area,"
        f" c.referral_source FROM clients c JOIN staff s ON s.id = c.officer_id WHERE {where}",
        params)
    return [metrics.ClientFacts(r["id"], r["officer"], r["status"], r["stage"],
                                parse_iso(r["created_at"]), r["area"], r["referral_source"],
                                tuple(moves.get(r["id"], ()))) for r in rows]


def _number(raw: str | None) -> float | None:
    value = json.loads(raw) if raw else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


async def _answers(database: Any, keys: tuple[str, ...], w: Window
                   ) -> list[tuple[int, str, datetime, float]]:
    """Numeric answers to `keys` in the window: (client, key, at, value)."""
    where, params = w.where("a.at")
    marks = ",".join("?" * len(keys))
    out = []
    for r in await database.all(
            "SELECT a.client_id, a.question_key, a.at, a.value FROM answers a"
            " JOIN clients c ON c.id = a.client_id"
            f" WHERE a.question_key IN ({marks}) AND a.status = 'answered' AND {where}",
            (*keys, *params)):
        value = _number(r["value"])
        if value is not None:
            out.append((r["client_id"], r["question_key"], parse_iso(r["at"]), value))
    return out


async def outcome_points(database: Any, w: Window) -> list[metrics.Point]:
    """K10 and BARC-10 totals, SPANE balance (scores) and the ONS items (answers)."""
    where, params = w.where("s.at")
    points: list[metrics.Point] = []
    for r in await database.all(
            "SELECT s.client_id, s.scale_id, s.total, s.detail, s.at FROM scores s"
            " JOIN clients c ON c.id = s.client_id"
            f" WHERE s.scale_id IN ('k10', 'barc10', 'spane12') AND {where}", params):
        if r["scale_id"] == "spane12":
            balance = json.loads(r["detail"] or "{}").get("subscales", {}).get("B")
            if isinstance(balance, int | float):
                points.append((r["client_id"], "spane_b", parse_iso(r["at"]), float(balance)))
        elif r["total"] is not None:
            points.append((r["client_id"], r["scale_id"], parse_iso(r["at"]), float(r["total"])))
    points.extend(await _answers(database, ONS_ITEMS, w))
    return points


def pseudonymous(clients: list[metrics.ClientFacts]) -> list[metrics.ClientFacts]:
    """Officers as "Officer A", "Officer B"... (alphabetical order of their names)."""
    names = sorted({c.officer for c in clients})
    alias = {n: f"Officer {chr(65 + i) if i < 26 else i + 1}" for i, n in enumerate(names)}
    return [replace(c, officer=alias[c.officer]) for c in clients]


async def build(request: Request, user: User, f: Filters) -> dict[str, Any]:
    """Every table and chart on the dashboard, from the database as it is now."""
    database, moment = db(request), now(request)
    tz = ZoneInfo(service(request).settings.timezone)
    detail = allowed(user.role, "dashboard.detail")
    w = window(f, tz)
    clients = await client_facts(database, w)
    if not detail:
        clients = pseudonymous(clients)
    marks = ",".join("?" * len(CHECKIN_FLOWS))
    where, params = w.where("fs.started_at")
    sessions = [(parse_iso(r[0]), bool(r[1])) for r in await database.all(
        "SELECT fs.started_at, EXISTS (SELECT 1 FROM answers a WHERE a.session_id = fs.id"
        " AND a.status = 'answered') FROM flow_sessions fs JOIN clients c ON c.id = fs.client_id"
        f" WHERE fs.flow_id IN ({marks}) AND fs.status NOT IN ('waiting', 'skipped')"
        f" AND {where}", (*CHECKIN_FLOWS, *params))]
    where, params = w.where("e.created_at")
    escalations = [(r[0], r[1], parse_iso(r[2]), parse_iso(r[3]) if r[3] else None)
                   for r in await database.all(
                       "SELECT e.severity, e.status, e.created_at, e.acknowledged_at"
                       " FROM escalations e LEFT JOIN clients c ON c.id = e.client_id"
                       f" WHERE {where}", params)]
    # The trend shows the last 12 weeks unless a start date says otherwise.
    trend = w if f.start else replace(w, since=iso(moment - timedelta(weeks=TREND_WEEKS)))
    answers = await _answers(database, tuple(k for _, k in WELLBEING), trend)
    wellbeing = {name: [(at, v) for _, k, at, v in answers if k == key]
                 for name, key in WELLBEING}
    theft = await programme_settings.load_theft(database)
    points = await outcome_points(database, w)
    feedback: dict[str, list[float]] = {}
    for _, key, _, value in await _answers(database, tuple(k for k, _ in
                                                           metrics.FEEDBACK_QUESTIONS), w):
        feedback.setdefault(key, []).append(value)
    tables = [
        metrics.referrals_by_officer(clients),
        metrics.journey_funnel(clients),
    ]
    course = await calendar_data.course_marks(database)
    if course is not None:
        ids = {c.id for c in clients}
        enrolled, course_marks = course
        tables.append(metrics.preadmission_attendance(
            [c for c in enrolled if c in ids], [m for m in course_marks if m[0] in ids]))
    tables += [
        metrics.checkin_response(sessions, tz),
        metrics.escalations_by_severity(escalations),
        metrics.wellbeing_table(wellbeing, tz, TREND_WEEKS),
        metrics.outcome_change(points),
    ]
    if detail:
        refs = {r[0]: r[1] for r in await database.all("SELECT id, ref FROM clients")}
        tables.append(metrics.outcome_by_client(points, refs))
    tables += [
        metrics.feedback_ratings(feedback),
        metrics.referrals_by_source(clients),
        metrics.referrals_by_area(clients),
        metrics.theft_avoided(clients, theft, moment),
    ]
    if not detail:
        tables = [metrics.suppress(t) for t in tables]
    funnel = next(t for t in tables if t.slug == "journey-funnel")
    weekly = [Series(name, [(parse_iso(f"{wk.isoformat()}T12:00:00+00:00"), mean)
                            for wk, mean, n in metrics.weekly_means(pts, tz)
                            if detail or n >= metrics.SMALL_COUNT])
              for name, pts in wellbeing.items()]
    funnel_bars = [(r[0], r[1].value) for r in funnel.rows if isinstance(r[1], metrics.Stat)]
    officers = await database.all(
        "SELECT id, name FROM staff WHERE role IN " + CASE_ROLES_SQL + " ORDER BY name"
    ) if detail else []
    return {
        "tables": tables,
        "funnel_chart": bar_chart("Journey funnel", funnel_bars),
        "wellbeing_chart": line_chart("Weekly mean score (0-10)", weekly, (0, 10)),
        "clients": metrics.suppress_count(len(clients)) if not detail else len(clients),
        "f": f, "query": f.query(), "officers": officers, "detail": detail,
    }


@guard("dashboard")
async def dashboard_page(request: Request, user: User) -> Response:
    return await page(request, "dashboard.html", **await build(request, user,
                                                               filters_of(request, user)))


@guard("dashboard")
async def dashboard_csv(request: Request, user: User) -> Response:
    slug = request.path_params["slug"]
    f = filters_of(request, user)
    table = next((t for t in (await build(request, user, f))["tables"] if t.slug == slug), None)
    if table is None:
        raise HTTPException(404, "No such table.")
    moment = now(request)
    extra = {k: v for k, v in (("from", f.start), ("to", f.end), ("officer", f.officer)) if v}
    await db(request).write(lambda tx: audit(tx, moment, user.actor, "dashboard.exported", None,
                                             None, table=slug, **{k: str(v) for k, v in
                                                                  extra.items()}))
    header, rows = metrics.csv_rows(table)
    return csv_response(f"{slug}.csv", header, rows)


def routes() -> list[Route]:
    return [
        Route("/dashboard", dashboard_page, methods=["GET"]),
        Route("/dashboard/{slug:str}.csv", dashboard_csv, methods=["GET"]),
    ]
