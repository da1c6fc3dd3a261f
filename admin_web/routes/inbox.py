"""The officer inbox (issue 11): client messages a person must read, unread first; mark as read.

What is filed here and why lives in bot/escalation/inbox.py; this page only reads and marks.
"""

from __future__ import annotations

import json

import httpx
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.error import TelegramError

from admin_web.auth import flash, guard
from admin_web.permissions import User, client_in_reach, client_scope
from admin_web.templating import page
from admin_web.web import db, now, path_int, read_form, see_other, service
from bot.core.audit import audit
from bot.escalation.inbox import mark_read

LIMIT = 200
WHY = {"outside_flow": "not an answer to a question", "misfit": "words where a question wanted"
       " a number or choice", "media": "a photo, voice note or file",
       "edited": "an edited message", "reschedule": "asks to move an appointment"}


@guard("client")
async def inbox_page(request: Request, user: User) -> Response:
    where, params = client_scope(user)
    rows = await db(request).all(
        "SELECT i.id, i.body, i.received_at, i.channel, i.inbox, i.read_at, i.payload,"
        " c.id AS client_id, c.ref, c.first_name, r.name AS read_by_name FROM inbound i"
        " JOIN clients c ON c.id = i.client_id LEFT JOIN staff r ON r.id = i.read_by"
        f" WHERE i.inbox IS NOT NULL AND {where}"
        " ORDER BY i.read_at IS NOT NULL, i.received_at DESC, i.id DESC LIMIT ?",
        (*params, LIMIT))
    return await page(request, "inbox.html", messages=rows, why=WHY)


@guard("client")
async def read(request: Request, user: User) -> Response:
    inbound_id = path_int(request)
    database = db(request)
    client_id = await database.value(
        "SELECT client_id FROM inbound WHERE id = ? AND inbox IS NOT NULL", (inbound_id,))
    if client_id is None or not await client_in_reach(database, user, int(client_id)):
        raise HTTPException(404)
    form = await read_form(request)
    moment = now(request)
    done = await database.write(lambda tx: mark_read(tx, moment, inbound_id, user.id))
    await flash(request, user, "Marked as read." if done else "Already read.")
    back = str(form.get("back") or "")
    return see_other(f"/admin/clients/{client_id}#messages" if back == "client"
                     else "/admin/inbox")


MAX_MEDIA_BYTES = 20 * 1024 * 1024  # Telegram's own download limit for bots


@guard("client")
async def media(request: Request, user: User) -> Response:
    """Stream a client's photo / voice note from the provider to a signed-in user who may see
    that client. Nothing is kept on disk; the provider holds the file."""
    inbound_id, n = path_int(request), path_int(request, "n")
    database = db(request)
    row = await database.one("SELECT client_id, channel, payload FROM inbound WHERE id = ?",
                             (inbound_id,))
    if row is None or row["client_id"] is None \
            or not await client_in_reach(database, user, int(row["client_id"])):
        raise HTTPException(404)
    items = json.loads(row["payload"] or "{}").get("media") or []
    if not 0 <= n < len(items):
        raise HTTPException(404)
    ref = str(items[n].get("ref") or "")
    svc = service(request)
    try:
        if row["channel"] == "telegram" and svc.bot is not None:
            file = await svc.bot.get_file(ref)
            content, kind = bytes(await file.download_as_bytearray()), "application/octet-stream"
        elif row["channel"] == "sms" and svc.settings.twilio_enabled \
                and ref.startswith(("https://api.twilio.com/", svc.settings.twilio_api_url)):
            # Twilio media URLs need the account's credentials (HTTP basic auth).
            async with httpx.AsyncClient(timeout=svc.settings.send_timeout,
                                         follow_redirects=True) as http:
                got = await http.get(ref, auth=(svc.settings.twilio_account_sid or "",
                                                svc.settings.twilio_auth_token or ""))
            got.raise_for_status()
            content, kind = got.content, got.headers.get("content-type", "application/octet-stream")
        else:
            raise HTTPException(404)
    except (TelegramError, httpx.HTTPError) as exc:
        raise HTTPException(502, "The provider did not give us the file.") from exc
    if len(content) > MAX_MEDIA_BYTES:
        raise HTTPException(502, "The file is too large to show here.")
    await database.write(lambda tx: audit(tx, now(request), user.actor, "inbox.media_opened",
                                          "inbound", inbound_id, n=n))
    return Response(content, media_type=kind, headers={
        "Cache-Control": "no-store", "Content-Disposition": "attachment",
        "X-Content-Type-Options": "nosniff"})


def routes() -> list[Route]:
    return [
        Route("/inbox", inbox_page, methods=["GET"]),
        Route("/inbox/{id:int}/read", read, methods=["POST"]),
        Route("/inbox/{id:int}/media/{n:int}", media, methods=["GET"]),
    ]
