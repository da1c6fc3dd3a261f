"""The audit log for supervisors: who viewed or changed what, filterable, downloadable."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.auth import guard
from admin_web.csvout import csv_response
from admin_web.permissions import User
from admin_web.templating import page
from admin_web.web import db, now
from bot.core.audit import audit
from bot.core.db import all_of

PAGE_SIZE = 100
CSV_LIMIT = 50_000


def filters_of(request: Request) -> dict[str, str]:
    q = request.query_params
    f = {k: q.get(k, "").strip()[:80] for k in ("actor", "action", "kind", "object")}
    if f["object"] and not f["object"].isdigit():
        f["object"] = ""
    return f


def _where(f: dict[str, str]) -> tuple[str, list[Any]]:
    where, args = [], []
    if f["actor"]:
        where.append("a.actor = ?")
        args.append(f["actor"])
    if f["action"]:
        where.append("a.action LIKE ? ESCAPE '\\'")
        args.append(f["action"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if f["kind"]:
        where.append("a.object_kind = ?")
        args.append(f["kind"])
    if f["object"]:
        where.append("a.object_id = ?")
        args.append(int(f["object"]))
    return all_of(where), args


_SELECT = (
    "SELECT a.*, s.name AS actor_name, c.ref AS client_ref FROM audit_log a LEFT JOIN staff s"
    # Compared as text: PostgreSQL may cast every actor ("cli", "system") before the LIKE.
    " ON a.actor = 'staff:' || CAST(s.id AS TEXT)"
    " LEFT JOIN clients c ON a.object_kind = 'client' AND c.id = a.object_id")


def detail_items(raw: str | None) -> list[tuple[str, str]]:
    """An entry's detail as (words, exact value) pairs: the value is kept as recorded (it is
    evidence), the key is said in words."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return [("detail", raw)]
    if not isinstance(data, dict):
        return [("detail", raw)]
    return [(str(k).replace("_", " "), v if isinstance(v, str) else json.dumps(v))
            for k, v in data.items()]


@guard("audit")
async def audit_page(request: Request, user: User) -> Response:
    f = filters_of(request)
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 100_000 else 1
    where, args = _where(f)
    rows = await db(request).all(
        f"{_SELECT} WHERE {where} ORDER BY a.id DESC LIMIT ? OFFSET ?",
        (*args, PAGE_SIZE + 1, (number - 1) * PAGE_SIZE))
    staff = await db(request).all("SELECT id, name FROM staff ORDER BY name")
    base = urlencode({k: v for k, v in f.items() if v})
    return await page(request, "audit.html", rows=rows[:PAGE_SIZE], f=f, staff=staff,
                      detail_items=detail_items,
                      number=number, more=len(rows) > PAGE_SIZE, base=base)


@guard("audit")
async def audit_csv(request: Request, user: User) -> Response:
    where, args = _where(filters_of(request))
    rows = await db(request).all(f"{_SELECT} WHERE {where} ORDER BY a.id DESC LIMIT ?",
                                 (*args, CSV_LIMIT))
    moment = now(request)
    await db(request).write(lambda tx: audit(tx, moment, user.actor, "audit.exported", None, None,
                                             rows=len(rows)))
    return csv_response("audit-log.csv", (
        "id", "at", "actor", "actor_name", "action", "object_kind", "object_id", "detail"), (
        (r["id"], r["at"], r["actor"], r["actor_name"], r["action"], r["object_kind"],
         r["object_id"], r["detail"]) for r in rows))


def routes() -> list[Route]:
    return [
        Route("/audit", audit_page, methods=["GET"]),
        Route("/audit.csv", audit_csv, methods=["GET"]),
    ]
