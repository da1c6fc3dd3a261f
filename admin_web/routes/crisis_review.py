"""The crisis screen's review loop: officers mark an inbound message on the client page
"should have alerted" or "false alarm"; supervisors see the list (and export it as CSV, or as
the TSV `o2r crisis eval` reads) for the monthly review of the phrase and frame lists."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_web.auth import flash, guard
from admin_web.csvout import csv_response
from admin_web.permissions import User, client_in_charge, client_in_reach
from admin_web.templating import page
from admin_web.web import db, field, now, path_int, read_form, see_other
from bot.core.audit import audit
from bot.core.clock import iso
from bot.core.db import Tx
from flows.intents import Intent, classify

VERDICTS = {"should_have_alerted": "Should have alerted", "false_alarm": "False alarm"}
LIST_LIMIT = 1000


def screened(body: str) -> str:
    """What the screen makes of a message now: its frame, or "none"."""
    found = classify(body)
    return (found.frame or "crisis") if found and found.intent is Intent.CRISIS else "none"


@guard("client")
async def mark(request: Request, user: User) -> Response:
    client_id, inbound_id = path_int(request), path_int(request, "inbound")
    if not await client_in_reach(db(request), user, client_id):
        raise HTTPException(404, "No such client.")
    if not await client_in_charge(db(request), user, client_id):
        # A covering duty officer reads the file and acts on the alert, nothing else.
        raise HTTPException(403, "Only the client's own officer or a supervisor can do that.")
    form = await read_form(request)
    verdict, note = field(form, "verdict"), field(form, "note")[:500] or None
    if verdict not in VERDICTS:
        raise HTTPException(400, "verdict: should_have_alerted or false_alarm")
    moment = now(request)

    async def work(tx: Tx) -> bool:
        body = await tx.value("SELECT body FROM inbound WHERE id = ? AND client_id = ?",
                              (inbound_id, client_id))
        if body is None:
            return False
        await tx.execute(
            "INSERT INTO crisis_reviews (inbound_id, client_id, staff_id, verdict, screened,"
            " note, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (inbound_id, staff_id) DO UPDATE"
            " SET verdict = excluded.verdict, screened = excluded.screened,"
            " note = excluded.note, at = excluded.at",
            (inbound_id, client_id, user.id, verdict, screened(body), note, iso(moment)))
        await audit(tx, moment, user.actor, "crisis_review.marked", "inbound", inbound_id,
                    verdict=verdict)
        return True

    if not await db(request).write(work):
        raise HTTPException(404, "No such message.")
    await flash(request, user, f"Marked \u201c{VERDICTS[verdict]}\u201d for the monthly review.")
    return see_other(f"/admin/clients/{client_id}#messages")


async def reviews(database: Any) -> list[dict[str, Any]]:
    rows = await database.all(
        "SELECT r.id, r.at, r.verdict, r.screened, r.note, i.body, i.received_at, i.channel,"
        " c.ref, s.name AS staff_name FROM crisis_reviews r JOIN inbound i ON i.id = r.inbound_id"
        " LEFT JOIN clients c ON c.id = r.client_id JOIN staff s ON s.id = r.staff_id"
        " ORDER BY r.at DESC, r.id DESC LIMIT ?", (LIST_LIMIT,))
    # "Alerts now": whether today's lists would catch it (a miss fixed since, or still open).
    return [dict(r) | {"now": screened(r["body"])} for r in rows]


@guard("crisis_review")
async def review_page(request: Request, user: User) -> Response:
    items = await reviews(db(request))
    fmt = request.query_params.get("format")
    if fmt == "csv":
        return csv_response("crisis-reviews.csv", (
            "id", "marked_at", "verdict", "screened_when_marked", "screened_now", "client_ref",
            "marked_by", "received_at", "channel", "message", "note"),
            ((r["id"], r["at"], r["verdict"], r["screened"], r["now"], r["ref"], r["staff_name"],
              r["received_at"], r["channel"], r["body"], r["note"]) for r in items))
    if fmt == "tsv":  # for `o2r crisis eval`: what the message really was, by the verdict
        lines = ["label\tcategory\ttext"] + [
            f"{'crisis' if r['verdict'] == 'should_have_alerted' else 'ordinary'}\treview\t"
            + " ".join(r["body"].split()) for r in items]
        return Response("\n".join(lines) + "\n", media_type="text/tab-separated-values",
                        headers={"content-disposition":
                                 'attachment; filename="crisis-reviews.tsv"'})
    return await page(request, "crisis_review.html", items=items, verdicts=VERDICTS)


def routes() -> list[Route]:
    return [
        Route("/clients/{id:int}/inbound/{inbound:int}/review", mark, methods=["POST"]),
        Route("/crisis-review", review_page, methods=["GET"]),
    ]
