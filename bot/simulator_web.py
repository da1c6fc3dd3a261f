"""The simulator: a page where you type as a client or officer and read the service's replies.

Messages go through the same inbound path as SMS and Telegram (channel 'sim'), so what you see
here is what a phone would get. The clock can be moved forward to see timeouts and reminders.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from admin_web.templating import render_page
from bot.core.clock import parse_iso
from bot.inbound import InboundMessage

MAX_ADVANCE_MINUTES = 60 * 24 * 31


def _svc(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.service


def _valid_address(address: str) -> bool:
    return 0 < len(address) <= 64 and all(ch.isalnum() or ch in "-_" for ch in address)


async def sim_page(request: Request) -> Response:
    svc = _svc(request)
    tz = ZoneInfo(svc.settings.timezone)
    address = request.query_params.get("address", "")
    if address and not _valid_address(address):
        address = ""
    people = await svc.db.all(
        "SELECT i.address, COALESCE(c.first_name || ' (client ' || c.ref || ')',"
        " s.name || ' (' || s.role || ')') AS label"
        " FROM identities i LEFT JOIN clients c ON c.id = i.client_id"
        " LEFT JOIN staff s ON s.id = i.staff_id"
        " WHERE i.channel = 'sim' AND i.active = 1 ORDER BY i.staff_id IS NOT NULL, label")
    label = next((p["label"] for p in people if p["address"] == address), "an unknown number")
    rows = []
    if address:
        rows = await svc.db.all(
            "SELECT 'in' AS direction, body, received_at AS at, NULL AS status, id FROM inbound"
            " WHERE channel = 'sim' AND address = ? AND kind = 'text'"
            " UNION ALL SELECT 'out', body, created_at, status, id FROM outbox"
            " WHERE channel = 'sim' AND address = ? AND edit_of IS NULL"
            " ORDER BY at, direction, id", (address, address))

    def local(ts: str) -> str:
        return format_datetime(parse_iso(ts).astimezone(tz), "EEE d MMM HH:mm", locale="en_GB")

    messages = [{"direction": r["direction"], "body": r["body"], "at": local(r["at"]),
                 "status": None if r["status"] in (None, "sent") else r["status"]} for r in rows]
    return render_page(
        request, "sim/page.html", people=people, address=address, label=label,
        messages=messages, unknown_suffix=secrets.token_hex(3),
        now_local=format_datetime(svc.clock.now().astimezone(tz), "EEEE d MMMM yyyy HH:mm",
                                  locale="en_GB"),
        flash=request.query_params.get("flash"))


async def sim_send(request: Request) -> Response:
    form = await request.form()
    address = str(form.get("address", ""))
    text = str(form.get("text", "")).strip()
    if not _valid_address(address):
        return Response("address: letters, digits, '-' and '_' only", status_code=400)
    if not text or len(text) > 1600:
        return Response("text: 1-1600 characters", status_code=400)
    await _svc(request).receive(InboundMessage("sim", uuid.uuid4().hex, address, text))
    # Give the dispatcher a moment so the reply is usually there when the page reloads.
    await _svc(request).dispatcher.claim_and_start()
    return RedirectResponse(f"/sim?address={address}", status_code=303)


async def sim_advance(request: Request) -> Response:
    form = await request.form()
    try:
        minutes = int(str(form.get("minutes", "0")))
    except ValueError:
        return Response("minutes: a whole number", status_code=400)
    if not 0 < minutes <= MAX_ADVANCE_MINUTES:
        return Response(f"minutes: 1 to {MAX_ADVANCE_MINUTES}", status_code=400)
    svc = _svc(request)
    ran = await svc.walk_clock(timedelta(minutes=minutes))
    address = str(form.get("address", ""))
    target = f"/sim?address={address}&" if _valid_address(address) else "/sim?"
    return RedirectResponse(f"{target}flash=Clock+moved;+{ran}+timers+ran", status_code=303)


def simulator_routes() -> list[Route]:
    return [
        Route("/sim", sim_page),
        Route("/sim/send", sim_send, methods=["POST"]),
        Route("/sim/advance", sim_advance, methods=["POST"]),
    ]
