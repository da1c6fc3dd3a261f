"""The caseload: filter by stage, status, officer and area; search by reference or first name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import importer, labels
from admin_web.auth import flash, guard
from admin_web.csvout import csv_response
from admin_web.permissions import User, caseload_scope
from admin_web.templating import page
from admin_web.web import db, field, now, read_form, see_other
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.core.people import CASE_ROLES_SQL, STAGES, STATUSES, Contact, InputError, add_client

MAX_ROWS = 500


SORTS = {"need": "Needs attention first", "ref": "Reference", "last_heard": "Longest silent first",
         "next_appointment": "Next appointment soonest"}


def filters_of(request: Request) -> dict[str, str]:
    q = request.query_params
    out = {k: q.get(k, "").strip()[:80] for k in ("stage", "status", "officer", "area", "q",
                                                   "sort", "attention")}
    if out["sort"] not in SORTS:
        out["sort"] = ""
    if out["attention"] != "1":
        out["attention"] = ""
    if out["stage"] not in STAGES:
        out["stage"] = ""
    if out["status"] not in STATUSES:
        out["status"] = ""
    if not out["officer"].isdigit():
        out["officer"] = ""
    return out


def needs(row: Any) -> list[str]:
    """Why a client needs attention now, most urgent first, in words (empty: nothing pressing).
    One rule for the caseload's flags, its default order and its "needs attention" filter."""
    out = []
    if row["open_red"]:
        out.append("RED alert open")
    if row["open_escalations"] and not row["open_red"]:
        out.append("alert open")
    if row["consented"] and not row["reachable"]:
        out.append("not reachable")
    if row["missed_in_row"] >= 2:
        out.append(f"{row['missed_in_row']} check-ins unanswered")
    if row["unread"]:
        out.append(f"{row['unread']} unread")
    return out


def need_order(row: Any) -> tuple[Any, ...]:
    """Default caseload order: RED, other alerts, unreachable, missed check-ins, unread, then
    the longest silent; ties by reference."""
    return (-int(row["open_red"] or 0), -int(row["open_escalations"] or 0),
            -int(bool(row["consented"] and not row["reachable"])), -int(row["missed_in_row"]),
            -int(row["unread"] or 0), row["last_heard"] or "", row["ref"])


def sort_rows(rows: list[Any], key: str) -> list[Any]:
    if key == "ref":
        return sorted(rows, key=lambda r: r["ref"])
    if key == "last_heard":
        return sorted(rows, key=lambda r: (r["last_heard"] or "", r["ref"]))
    if key == "next_appointment":
        return sorted(rows, key=lambda r: (r["next_appointment"] is None,
                                           r["next_appointment"] or "", r["ref"]))
    return sorted(rows, key=need_order)


async def caseload_rows(database: Any, user: User, f: dict[str, str],
                        moment: datetime | None = None) -> list[Any]:
    scope, params = caseload_scope(user)
    where, args = [scope], list(params)
    for key, column in (("stage", "c.stage"), ("status", "c.status"), ("area", "c.area")):
        if f[key]:
            where.append(f"{column} = ?")
            args.append(f[key])
    if f["officer"]:
        where.append("c.officer_id = ?")
        args.append(int(f["officer"]))
    if f["q"]:
        where.append("(c.ref LIKE ? ESCAPE '\\' OR c.first_name LIKE ? ESCAPE '\\')")
        pattern = "%" + f["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        args.extend([pattern, pattern])
    return list(await database.all(
        "SELECT c.id, c.ref, c.first_name, c.stage, c.status, c.area, c.referral_source,"
        " c.heightened_until, s.name AS officer_name, s.username AS officer_username,"
        " (SELECT COUNT(*) FROM escalations e WHERE e.client_id = c.id"
        "  AND e.status <> 'resolved') AS open_escalations,"
        " (SELECT MAX(received_at) FROM inbound i WHERE i.client_id = c.id) AS last_heard,"
        " (SELECT MIN(u.unreachable_since) FROM identities u WHERE u.client_id = c.id"
        "  AND u.active = 1) AS unreachable_since,"
        " (SELECT GROUP_CONCAT(UPPER(u.channel), ', ') FROM identities u WHERE u.client_id = c.id"
        "  AND u.active = 1 AND u.unreachable_since IS NOT NULL) AS unreachable_on,"
        " (SELECT COUNT(*) FROM inbound i WHERE i.client_id = c.id AND i.inbox IS NOT NULL"
        "  AND i.read_at IS NULL) AS unread,"
        " (SELECT i.body FROM inbound i WHERE i.client_id = c.id AND i.kind IN ('text', 'media')"
        "  ORDER BY i.received_at DESC, i.id DESC LIMIT 1) AS last_message,"
        " c.consent_at IS NOT NULL AS consented,"
        " (SELECT COUNT(*) FROM escalations e WHERE e.client_id = c.id AND e.severity = 'RED'"
        "  AND e.status <> 'resolved') AS open_red,"
        " (SELECT MAX(a.at) FROM answers a WHERE a.client_id = c.id AND a.status = 'answered'"
        "  AND a.flow_id LIKE '%checkin') AS last_checkin,"
        # Check-ins asked since the client last wrote anything: the missed-check-in rule's count
        # (reminders.jobs.missed_checkin).
        " (SELECT COUNT(*) FROM timers t WHERE t.client_id = c.id AND t.kind = 'checkin'"
        "  AND t.status = 'done' AND t.outcome IN ('started', 'queued') AND t.done_at >"
        "  COALESCE((SELECT MAX(i.received_at) FROM inbound i WHERE i.client_id = c.id), ''))"
        "  AS missed_in_row,"
        " (SELECT MIN(p.at) FROM appointments p WHERE p.client_id = c.id"
        "  AND p.status = 'scheduled' AND p.at >= ?) AS next_appointment,"
        " EXISTS (SELECT 1 FROM identities u LEFT JOIN opt_outs o ON o.identity_id = u.id"
        "  WHERE u.client_id = c.id AND u.active = 1 AND u.unreachable_since IS NULL"
        "  AND o.opted_out_at IS NULL) AS reachable"
        " FROM clients c JOIN staff s ON s.id = c.officer_id"
        f" WHERE {' AND '.join(where)} ORDER BY c.ref LIMIT ?",
        (iso(moment or datetime.now(UTC)), *args, MAX_ROWS)))


@guard("caseload")
async def caseload_page(request: Request, user: User) -> Response:
    f = filters_of(request)
    rows = sort_rows([dict(r) | {"needs": needs(r)} for r in await caseload_rows(
        db(request), user, f, now(request))], f["sort"] or "need")
    if f["attention"]:
        rows = [r for r in rows if r["needs"]]
    scope, params = caseload_scope(user)
    areas = [r[0] for r in await db(request).all(
        f"SELECT DISTINCT c.area FROM clients c WHERE {scope} AND c.area IS NOT NULL"
        " ORDER BY c.area", params)]
    officers = await db(request).all(
        "SELECT id, name FROM staff WHERE role IN " + CASE_ROLES_SQL + " AND active = 1"
        " ORDER BY name") if user.role == "supervisor" else []
    return await page(request, "caseload.html", rows=rows, f=f, areas=areas, officers=officers,
                      stages=STAGES, statuses=STATUSES, max_rows=MAX_ROWS, sorts=SORTS,
                      csv_query=urlencode({k: v for k, v in f.items() if v}),
                      has_filters=any(f.values()))


@guard("caseload")
async def caseload_csv(request: Request, user: User) -> Response:
    f = filters_of(request)
    moment = now(request)
    rows = await caseload_rows(db(request), user, f, moment)
    await db(request).write(lambda tx: audit(tx, moment, user.actor, "caseload.exported", None,
                                             None, rows=len(rows), **{k: v for k, v in f.items()
                                                                      if v}))
    # The import's own columns first (so an export imports as it is), then codes' labels and
    # the live counts the import skips. Phone numbers are not exported.
    header = ("ref", "first_name", "officer_username", "stage", "area", "referral_source",
              *importer.EXPORT_ONLY)

    def cells(r: Any) -> tuple[Any, ...]:
        row = dict(r) | {
            "officer": r["officer_name"], "stage_label": labels.stage(r["stage"]),
            "status_label": labels.status(r["status"]),
            "referral_source_label": labels.source(r["referral_source"])
            if r["referral_source"] else None}
        return tuple(row[c] for c in header)

    return csv_response("caseload.csv", header, (cells(r) for r in rows))


async def _new_client_page(request: Request, user: User, form: dict[str, str],
                           error: str | None = None) -> Response:
    officers = await db(request).all(
        "SELECT id, name FROM staff WHERE role IN " + CASE_ROLES_SQL + " AND active = 1"
        " ORDER BY name") if user.role == "supervisor" else []
    return await page(request, "client_new.html", form=form, error=error, officers=officers,
                      stages=STAGES, languages=labels.language_choices(),
                      sources=labels.SOURCE_LABELS, status_code=400 if error else 200)


NEW_FIELDS = ("ref", "first_name", "officer", "phone", "language", "stage", "area",
              "referral_source", "consented")


@guard("client.add")
async def new_client_form(request: Request, user: User) -> Response:
    return await _new_client_page(request, user, {"language": "en_GB", "stage": "referral"})


@guard("client.add")
async def new_client(request: Request, user: User) -> Response:
    raw = await read_form(request)
    form = {k: field(raw, k) for k in NEW_FIELDS}
    # An officer adds to their own caseload only, whatever the form says.
    officer = form["officer"] if user.role == "supervisor" else str(user.id)
    moment = now(request)

    async def work(tx: Tx) -> int:
        if not officer.isdigit():
            raise InputError("officer: choose one from the list")
        if form["referral_source"] and form["referral_source"] not in labels.SOURCE_LABELS:
            raise InputError("referral source: choose one from the list")
        client_id = await add_client(
            tx, moment, ref=form["ref"], first_name=form["first_name"],
            officer_id=int(officer), contact=Contact(form["phone"] or None, None),
            language=form["language"], stage=form["stage"],
            consented=form["consented"] == "yes", area=form["area"] or None,
            referral_source=form["referral_source"] or None, actor=user.actor)
        from bot.conversation import after_client_added
        from reminders.planner import plan_client

        await after_client_added(tx, moment, client_id)
        await plan_client(tx, moment, client_id)  # consented: check-ins from today
        return client_id

    try:
        client_id = await db(request).write(work)
    except (InputError, ValueError, LookupError) as exc:
        return await _new_client_page(request, user, form, str(exc))
    await flash(request, user, f"Client {form['ref']} added."
                + ("" if form["consented"] == "yes" else " No consent recorded yet: nothing"
                   " routine is sent until it is."))
    return see_other(f"/admin/clients/{client_id}")


def routes() -> list[Route]:
    return [
        Route("/clients", caseload_page, methods=["GET"]),
        Route("/clients/new", new_client_form, methods=["GET"]),
        Route("/clients/new", new_client, methods=["POST"]),
        Route("/clients.csv", caseload_csv, methods=["GET"]),
    ]
