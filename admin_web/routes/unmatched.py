"""Messages from numbers we do not know (often a client's new phone), and linking them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web import actions
from admin_web.auth import flash, guard
from admin_web.permissions import User, allowed, caseload_scope, client_in_charge
from admin_web.posting import form_post
from admin_web.templating import page
from admin_web.web import db, field, int_field, now, path_int, see_other
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from bot.escalation.alerts import EscalationError, resolve, unmatched_open_for
from flows.intents import Intent, detect

DEALT_WITH = "Dealt with (not a client)"
GROUP_LIMIT = 100
PER_GROUP = 20


async def unmatched_groups(database: Any) -> list[dict[str, Any]]:
    """Waiting messages grouped by sender, newest sender first."""
    senders = await database.all(
        "SELECT channel, address, COUNT(*) AS n, MIN(received_at) AS first_at,"
        " MAX(received_at) AS last_at FROM inbound WHERE status = 'unmatched' AND kind = 'text'"
        " AND client_id IS NULL AND staff_id IS NULL GROUP BY channel, address"
        " ORDER BY last_at DESC LIMIT ?", (GROUP_LIMIT,))
    groups = []
    for s in senders:
        messages = await database.all(
            "SELECT id, body, received_at, read_at, (SELECT e.id FROM escalations e"
            " WHERE e.inbound_id = inbound.id) AS esc_id, (SELECT e.status FROM escalations e"
            " WHERE e.inbound_id = inbound.id) AS esc_status FROM inbound"
            " WHERE status = 'unmatched' AND kind = 'text'"
            " AND client_id IS NULL AND staff_id IS NULL AND channel = ? AND address = ?"
            " ORDER BY received_at DESC, id DESC LIMIT ?", (s["channel"], s["address"], PER_GROUP))
        groups.append(dict(s) | {
            "messages": [dict(m) | {"crisis": detect(m["body"]) is Intent.CRISIS}
                         for m in messages],
            "crisis": any(detect(m["body"]) is Intent.CRISIS for m in messages)})
    return groups


@guard("unmatched")
async def unmatched_page(request: Request, user: User) -> Response:
    scope, params = caseload_scope(user)
    clients = await db(request).all(
        f"SELECT c.id, c.ref, c.first_name FROM clients c WHERE {scope} ORDER BY c.ref", params)
    return await page(request, "unmatched.html", groups=await unmatched_groups(db(request)),
                      clients=clients, can_replace=allowed(user.role, "unmatched.replace"))


async def _client_in_charge(request: Request, user: User, form: Any) -> None:
    if not await client_in_charge(db(request), user, int_field(form, "client")):
        raise HTTPException(404, "No such client.")


async def _link(tx: Tx, user: User, form: Any, moment: datetime, request: Request) -> str:
    replace = field(form, "replace") == "yes" and allowed(user.role, "unmatched.replace")
    moved = await actions.link_number(tx, moment, int_field(form, "client"),
                                      field(form, "channel"), field(form, "address"),
                                      user.actor, replace)
    return f"Linked; {moved} message(s) filed under the client."


@guard("unmatched")
async def handled(request: Request, user: User) -> Response:
    """A stranger's crisis was dealt with (not a client): resolves its RED escalation, which
    stops the repeated alerts (only for someone who may act on it, as in the queue)."""
    inbound_id = path_int(request)
    moment = now(request)

    async def work(tx: Tx) -> int:
        changed = await tx.execute(
            "UPDATE inbound SET read_at = ?, read_by = ? WHERE id = ? AND status = 'unmatched'"
            " AND client_id IS NULL AND read_at IS NULL", (iso(moment), user.id, inbound_id))
        esc_id = await unmatched_open_for(tx, inbound_id) if changed else None
        if esc_id is not None:
            await resolve(tx, moment, esc_id, user.id, DEALT_WITH)
        return changed

    try:
        done = await db(request).write(work)
    except EscalationError as exc:
        raise HTTPException(403, "You cannot act on this escalation.") from exc
    if not done:
        raise HTTPException(404, "No such waiting message.")
    await db(request).write(lambda tx: audit(tx, moment, user.actor, "crisis.unmatched_handled",
                                             "inbound", inbound_id))
    await flash(request, user, "Recorded as dealt with; the repeated alerts stop.")
    return see_other("/admin/unmatched")


def routes() -> list[Route]:
    return [
        Route("/unmatched", unmatched_page, methods=["GET"]),
        Route("/unmatched/link", form_post("unmatched", _link, "/admin/unmatched",
                                           check=_client_in_charge), methods=["POST"]),
        Route("/unmatched/{id:int}/handled", handled, methods=["POST"]),
    ]
