"""The simulator: a page where you type as a client or officer and read the service's replies.

Messages go through the same inbound path as SMS and Telegram (channel 'sim'), so what you see
here is what a phone would get. The clock can be moved forward to see timeouts and reminders.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta
from typing import Any
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
        # Everything a phone would show (issue 16): texts and commands typed, buttons pressed,
        # the service's messages with their buttons, each in its latest edited form, and
        # the answers to button presses.
        rows = await svc.db.all(
            "SELECT 'in' AS direction, body, received_at AS at, NULL AS status, id, kind,"
            " NULL AS markup, NULL AS edited FROM inbound"
            " WHERE channel = 'sim' AND address = ? AND kind IN ('text', 'callback')"
            " UNION ALL SELECT 'out', o.body, o.created_at, o.status, o.id, o.op, o.reply_markup,"
            " (SELECT e.body FROM outbox e WHERE e.edit_of = o.id AND e.op = 'edit'"
            "  AND e.status = 'sent' ORDER BY e.id DESC LIMIT 1) FROM outbox o"
            " WHERE o.channel = 'sim' AND o.address = ? AND o.op <> 'edit'"
            " ORDER BY at, direction, id", (address, address))

    def local(ts: str) -> str:
        return format_datetime(parse_iso(ts).astimezone(tz), "EEE d MMM HH:mm", locale="en_GB")

    messages = [{"direction": r["direction"], "body": _shown(r), "at": local(r["at"]),
                 "edited": r["edited"] is not None, "kind": r["kind"],
                 "buttons": _buttons(r["markup"]) if r["edited"] is None else [],
                 "status": None if r["status"] in (None, "sent") else r["status"]} for r in rows]
    return render_page(
        request, "sim/page.html", people=people, address=address, label=label,
        messages=messages, unknown_suffix=secrets.token_hex(3),
        now_local=format_datetime(svc.clock.now().astimezone(tz), "EEEE d MMMM yyyy HH:mm",
                                  locale="en_GB"),
        flash=request.query_params.get("flash"))


def _shown(r: Any) -> str:
    if r["kind"] == "callback":
        return f"[pressed {r['body']}]"
    if r["kind"] == "answer_callback":
        return f"[button answer] {r['body']}"
    return str(r["edited"] if r["edited"] is not None else r["body"])


def _buttons(markup: str | None) -> list[dict[str, str]]:
    """Inline keyboard buttons as the page shows them: press (callback data) or link (url)."""
    if not markup:
        return []
    try:
        rows = json.loads(markup).get("inline_keyboard", [])
    except (ValueError, AttributeError):
        return []
    return [{"text": str(b.get("text", "")), "data": str(b.get("callback_data") or ""),
             "url": str(b.get("url") or "")}
            for row in rows if isinstance(row, list) for b in row if isinstance(b, dict)]


async def sim_press(request: Request) -> Response:
    """A button pressed on the simulated phone: a callback, as Telegram would send it."""
    form = await request.form()
    address = str(form.get("address", ""))
    data = str(form.get("data", ""))
    if not _valid_address(address):
        return Response("address: letters, digits, '-' and '_' only", status_code=400)
    if not data or len(data) > 64:
        return Response("data: 1-64 characters", status_code=400)
    press = uuid.uuid4().hex
    await _svc(request).receive(InboundMessage("sim", press, address, data, "callback",
                                               payload={"callback_id": press}))
    await _svc(request).dispatcher.claim_and_start()
    return RedirectResponse(f"/sim?address={address}", status_code=303)


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
        Route("/sim/press", sim_press, methods=["POST"]),
    ]
