"""The ASGI app: provider webhooks, health, the simulator, and the admin panel."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from twilio.request_validator import RequestValidator

from bot.core.clock import Clock
from bot.core.outbox import record_delivery_status
from bot.delivery import on_receipt
from bot.inbound import InboundMessage
from bot.service import Service
from config.settings import Settings

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_BODY = 64 * 1024


def service_of(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


async def _twilio_form(request: Request, path: str) -> tuple[bool, object]:
    """Verify X-Twilio-Signature over every field received, against the configured public URL."""
    svc = service_of(request)
    settings = svc.settings
    if not settings.twilio_enabled:
        return False, None
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return False, None
    form = await request.form()
    url = settings.public(path)
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    assert settings.twilio_auth_token
    ok = bool(signature) and RequestValidator(settings.twilio_auth_token).validate(
        url, form, signature)
    return ok, form


async def twilio_sms(request: Request) -> Response:
    ok, form = await _twilio_form(request, "/webhooks/twilio/sms")
    if not ok:
        return PlainTextResponse("invalid signature", status_code=403)
    get = form.get  # type: ignore[attr-defined]
    sid, sender = get("MessageSid") or get("SmsSid"), get("From")
    if not sid or not sender:
        return PlainTextResponse("MessageSid and From are required", status_code=400)
    from bot.core.phones import InvalidPhone, normalise_phone

    try:
        address = normalise_phone(str(sender))
    except InvalidPhone:
        address = str(sender)  # short codes and alphanumeric senders: stored, never matched
    msg = InboundMessage("sms", str(sid), address, str(get("Body") or ""),
                         payload={"num_media": str(get("NumMedia") or "0")})
    await service_of(request).receive(msg)
    return Response(EMPTY_TWIML, media_type="text/xml")


async def twilio_status(request: Request) -> Response:
    ok, form = await _twilio_form(request, "/webhooks/twilio/status")
    if not ok:
        return PlainTextResponse("invalid signature", status_code=403)
    get = form.get  # type: ignore[attr-defined]
    sid, status = get("MessageSid"), get("MessageStatus")
    if not sid or not status:
        return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)
    svc = service_of(request)
    error_code = str(get("ErrorCode") or "")

    async def apply(tx):  # type: ignore[no-untyped-def]
        changed = await record_delivery_status(tx, svc.clock.now(), str(sid), str(status))
        if changed:  # a repeated or late callback acts once
            await on_receipt(tx, svc.clock.now(), str(sid), str(status))
        if error_code == "21610":
            from bot.core.identities import find_identity, set_opt_out

            row = await tx.one("SELECT channel, address FROM outbox WHERE provider_id = ?",
                               (str(sid),))
            ident = await find_identity(tx, row[0], row[1]) if row else None
            if ident is not None:
                await set_opt_out(tx, svc.clock.now(), ident, "provider:sms")
        return changed

    await svc.db.write(apply)
    return Response(status_code=204)


def _telegram_message(update: dict[str, object]) -> InboundMessage | None:
    """Our own reading of a Bot API update; python-telegram-bot stays the sending transport."""
    uid = str(update.get("update_id"))
    if "message" in update and isinstance(update["message"], dict):
        m = update["message"]
        chat = m.get("chat") or {}
        chat_type = str(chat.get("type", "private"))
        sender = m.get("from") or {}
        payload = {"chat_type": chat_type, "from_id": sender.get("id"),
                   "message_id": m.get("message_id")}
        if "text" not in m:
            kind = "member" if ("new_chat_members" in m or "left_chat_member" in m) else "other"
            return InboundMessage("telegram", uid, str(chat.get("id")), "", kind,
                                  private=chat_type == "private", payload=payload)
        return InboundMessage("telegram", uid, str(chat.get("id")), str(m["text"]), "text",
                              private=chat_type == "private", payload=payload)
    if "callback_query" in update and isinstance(update["callback_query"], dict):
        q = update["callback_query"]
        msg = q.get("message") or {}
        chat = msg.get("chat") or {}
        return InboundMessage(
            "telegram", uid, str(chat.get("id", (q.get("from") or {}).get("id"))),
            str(q.get("data") or ""), "callback",
            private=chat.get("type", "private") == "private",
            payload={"callback_id": q.get("id"), "from_id": (q.get("from") or {}).get("id"),
                     "message_id": msg.get("message_id"),
                     "chat_type": chat.get("type", "private")})
    if "my_chat_member" in update and isinstance(update["my_chat_member"], dict):
        mc = update["my_chat_member"]
        chat = mc.get("chat") or {}
        new = (mc.get("new_chat_member") or {}).get("status")
        return InboundMessage("telegram", uid, str(chat.get("id")), str(new or ""), "member",
                              private=chat.get("type", "private") == "private",
                              payload={"chat_type": chat.get("type"), "status": new})
    return None


async def telegram_webhook(request: Request) -> Response:
    svc = service_of(request)
    secret = svc.settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return PlainTextResponse("forbidden", status_code=403)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return PlainTextResponse("too large", status_code=413)
    try:
        update = json.loads(raw)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise ValueError("update_id missing")
    except ValueError as exc:
        return PlainTextResponse(f"malformed update: {exc}", status_code=400)
    msg = _telegram_message(update) or InboundMessage(
        "telegram", str(update["update_id"]), "-", "", "other",
        payload={"keys": sorted(update)})
    await svc.receive(msg)
    return Response(status_code=200)


async def healthz(request: Request) -> Response:
    svc = service_of(request)
    checks = svc.health()
    try:
        await svc.db.value("SELECT 1")
        queued = await svc.db.value("SELECT COUNT(*) FROM outbox WHERE status = 'queued'")
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
        queued = None
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"ok": ok, **checks, "outbox_queued": queued},
                        status_code=200 if ok else 503)


def create_app(settings: Settings, clock: Clock | None = None,
               tick_seconds: float | None = None) -> Starlette:
    service = Service(settings, clock, **({"tick_seconds": tick_seconds} if tick_seconds else {}))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    webhook_routes = [
        Route("/webhooks/twilio/sms", twilio_sms, methods=["POST"]),
        Route("/webhooks/twilio/status", twilio_status, methods=["POST"]),
        Route("/webhooks/telegram", telegram_webhook, methods=["POST"]),
    ]
    routes: list[Route | Mount] = [Route("/healthz", healthz), *webhook_routes]
    if settings.simulator:
        from bot.simulator_web import simulator_routes

        routes.extend(simulator_routes())
    from admin_web.app import create_admin_app
    from admin_web.security import security_middleware

    routes.append(Mount("/admin", app=create_admin_app(service)))
    # Security headers on every response; CSRF on every form (webhooks are signed instead).
    app = Starlette(routes=routes, lifespan=lifespan, middleware=security_middleware(settings))
    app.state.service = service
    # Provider webhooks are the hot path and carry no cookies or HTML: they skip the browser
    # middleware (CSRF tokens, security headers) and go straight to their routes.
    hooks = Starlette(routes=webhook_routes)
    hooks.state = app.state  # one state: a test that swaps the service swaps it for both
    return WebhooksFirst(app, hooks)  # type: ignore[return-value]


class WebhooksFirst:
    """Send /webhooks/* to a lean app; everything else (and the lifespan) to the full one."""

    def __init__(self, app: Starlette, hooks: Starlette) -> None:
        self.app = app
        self.hooks = hooks
        self.state = app.state

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            await self.hooks(scope, receive, send)
        else:
            await self.app(scope, receive, send)
