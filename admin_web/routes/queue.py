"""The escalation queue: open first (RED, AMBER, routine; oldest first), acknowledge, resolve."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.auth import flash, guard
from admin_web.permissions import User, client_scope, escalation_in_reach, escalation_scope
from admin_web.templating import page
from admin_web.urgency import add_urgency, version
from admin_web.web import db, field, now, path_int, read_form, safe_next, see_other, service
from bot.core.clock import iso
from bot.core.db import Tx
from bot.escalation.alerts import EscalationError, acknowledge, resolve

OUTCOMES = (
    "Spoke to the client: safe for now",
    "Visited in person",
    "Passed to emergency or crisis services",
    "Referred to another service",
    "Could not reach the client: still trying",
    "No action needed",
    "Other (see note)",
)
# How often the open queue page fetches itself again (static/queue.js): a new RED shows within
# this, without a reload.
POLL_SECONDS = 15
SEVERITY_ORDER = "CASE e.severity WHEN 'RED' THEN 0 WHEN 'AMBER' THEN 1 ELSE 2 END"
VIEWS = {
    "open": ("e.status <> 'resolved'", f"{SEVERITY_ORDER}, e.created_at"),
    "resolved": ("e.status = 'resolved'", "e.resolved_at DESC"),
    "all": ("1 = 1", f"e.status = 'resolved', {SEVERITY_ORDER}, e.created_at"),
}


async def escalations_for(database: Any, user: User, where: str = "1 = 1",
                          params: tuple[Any, ...] = (), order: str = VIEWS["open"][1],
                          limit: int = 200, at: str | None = None) -> list[dict[str, Any]]:
    """Escalations in the user's reach, each with who was told when (escalation_notices).
    `at` (now, ISO): a duty officer then also sees escalations that have no client yet."""
    scope, scope_params = escalation_scope(user, at=at)
    rows = await database.all(
        "SELECT e.*, c.ref, c.first_name, s.name AS officer_name, a.name AS ack_name,"
        " r.name AS resolver_name, i.channel AS from_channel, i.address AS from_address"
        " FROM escalations e LEFT JOIN clients c ON c.id = e.client_id"
        " LEFT JOIN staff s ON s.id = e.officer_id LEFT JOIN staff a ON a.id = e.acknowledged_by"
        " LEFT JOIN inbound i ON i.id = e.inbound_id AND e.client_id IS NULL"
        " LEFT JOIN staff r ON r.id = e.resolved_by"
        f" WHERE {scope} AND {where} ORDER BY {order} LIMIT ?", (*scope_params, *params, limit))
    items = [dict(r) for r in rows]
    if not items:
        return items
    ids = [i["id"] for i in items]
    marks = ",".join("?" * len(ids))
    notices = await database.all(
        "SELECT n.escalation_id, n.level, n.channel, n.held, n.at, n.fallback_outbox_id,"
        " st.name, o.status AS send_status FROM escalation_notices n"
        " JOIN staff st ON st.id = n.staff_id LEFT JOIN outbox o ON o.id = n.outbox_id"
        f" WHERE n.escalation_id IN ({marks}) ORDER BY n.at, n.id", ids)
    by_esc: dict[int, list[dict[str, Any]]] = {}
    for n in notices:
        by_esc.setdefault(n["escalation_id"], []).append(dict(n))
    # Why the crisis screen fired: the frame in plain words and the client's message.
    why = {r["escalation_id"]: dict(r) for r in await database.all(
        "SELECT f.escalation_id, f.detail, i.body FROM findings f"
        " LEFT JOIN inbound i ON i.id = f.inbound_id"
        f" WHERE f.escalation_id IN ({marks}) AND ((f.reason IN ('crisis_text', 'overdose')"
        " AND f.source = 'answer') OR f.source = 'mentor_concern'"
        " OR f.reason = 'possible_crisis') ORDER BY f.id", ids)}
    # A stranger's crisis has no finding: the queue shows the message that raised it.
    for r in await database.all(
            "SELECT e.id, i.body FROM escalations e JOIN inbound i ON i.id = e.inbound_id"
            f" WHERE e.id IN ({marks}) AND e.client_id IS NULL", ids):
        why.setdefault(r["id"], {"detail": "crisis words from a number not linked to any"
                                           " client (see Unmatched)", "body": r["body"]})
    cscope, cparams = client_scope(user)
    client_ids = sorted({i["client_id"] for i in items})
    reachable = {r[0] for r in await database.all(
        f"SELECT c.id FROM clients c WHERE c.id IN ({','.join('?' * len(client_ids))})"
        f" AND {cscope}", (*client_ids, *cparams))}
    for item in items:
        item["notices"] = by_esc.get(item["id"], [])
        item["why"] = why.get(item["id"])
        item["client_link"] = item["client_id"] in reachable
    return items


@guard("queue")
async def queue_page(request: Request, user: User) -> Response:
    view = request.query_params.get("view", "open")
    if view not in VIEWS:
        view = "open"
    where, order = VIEWS[view]
    items = await add_urgency(db(request), await escalations_for(
        db(request), user, where, (), order, at=iso(now(request))),
        now(request), service(request).settings.timezone)
    return await page(request, "queue.html", items=items, view=view, outcomes=OUTCOMES,
                      next_url="/admin/escalations" + ("" if view == "open" else f"?view={view}"),
                      version=version(items), poll_seconds=POLL_SECONDS,
                      red_open=sum(1 for i in items if i["severity"] == "RED"
                                   and i["status"] != "resolved"))


async def _reachable(request: Request, user: User) -> int:
    esc_id = path_int(request)
    if not await escalation_in_reach(db(request), user, esc_id, at=iso(now(request))):
        raise HTTPException(404, "No such escalation.")
    return esc_id


@guard("queue")
async def ack(request: Request, user: User) -> Response:
    esc_id = await _reachable(request, user)
    form = await read_form(request)
    moment = now(request)

    async def work(tx: Tx) -> bool:
        return await acknowledge(tx, moment, esc_id, user.id, "web")

    try:
        done = await db(request).write(work)
    except EscalationError as exc:
        raise HTTPException(403, "You cannot act on this escalation.") from exc
    await flash(request, user, f"Escalation {esc_id} acknowledged." if done
                else f"Escalation {esc_id} was already acknowledged.")
    return see_other(safe_next(field(form, "next"), "/admin/escalations"))


@guard("queue")
async def resolve_escalation(request: Request, user: User) -> Response:
    esc_id = await _reachable(request, user)
    form = await read_form(request)
    outcome, note = field(form, "outcome"), field(form, "note")[:2000]
    moment = now(request)
    back = safe_next(field(form, "next"), "/admin/escalations")
    if not outcome:
        await flash(request, user, "Choose an outcome to resolve the escalation.")
        return see_other(back)

    async def work(tx: Tx) -> bool:
        return await resolve(tx, moment, esc_id, user.id, outcome, note or None)

    try:
        closed = await db(request).write(work)
    except EscalationError as exc:
        if "not allowed" in str(exc):
            raise HTTPException(403, "You cannot act on this escalation.") from exc
        await flash(request, user, f"Not resolved: {exc}.")
        return see_other(back)
    await flash(request, user, f"Escalation {esc_id} resolved." if closed else
                f"Escalation {esc_id} stays open with a new deadline: that outcome does not"
                " close it.")
    return see_other(back)


def routes() -> list[Route]:
    return [
        Route("/escalations", queue_page, methods=["GET"]),
        Route("/escalations/{id:int}/ack", ack, methods=["POST"]),
        Route("/escalations/{id:int}/resolve", resolve_escalation, methods=["POST"]),
    ]
