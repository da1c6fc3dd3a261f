"""The ASGI app: provider webhooks, health, the simulator, and the admin panel."""

from __future__ import annotations

import hmac
import html
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from twilio.request_validator import RequestValidator

from bot.core.clock import Clock, iso
from bot.core.outbox import record_delivery_status
from bot.delivery import on_receipt
from bot.http_guard import InputGuard
from bot.inbound import InboundMessage
from bot.logs import install as install_log_redaction
from bot.service import Service
from config.settings import Settings

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FORM_TYPE = "application/x-www-form-urlencoded"


def service_of(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


async def _twilio_form(request: Request, path: str) -> tuple[bool, object]:
    """Verify X-Twilio-Signature over every field received, against the configured public URL."""
    svc = service_of(request)
    settings = svc.settings
    if not settings.twilio_enabled:
        return False, None
    # Twilio posts url-encoded forms only: a multipart body (file parts) is refused unread.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        return False, None
    try:
        form = await request.form()
    except (HTTPException, ValueError):
        return False, None
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
    payload: dict[str, Any] = {"num_media": str(get("NumMedia") or "0")}
    media = _twilio_media(get)
    if media:
        payload["media"] = media
    body = str(get("Body") or "")
    msg = InboundMessage("sms", str(sid), address, body,
                         "media" if media and not body.strip() else "text", payload=payload)
    await service_of(request).receive(msg)
    return Response(EMPTY_TWIML, media_type="text/xml")


MAX_MMS_MEDIA = 10  # Twilio's own limit per message


def _twilio_media(get: Any) -> list[dict[str, str]]:
    """MMS pictures: MediaUrl0..n (NumMedia of them), stored as references for the panel."""
    raw = str(get("NumMedia") or "0")
    count = min(int(raw), MAX_MMS_MEDIA) if raw.isascii() and raw.isdigit() else 0
    found = []
    for n in range(count):
        url = str(get(f"MediaUrl{n}") or "")
        if url.startswith("https://"):
            kind = str(get(f"MediaContentType{n}") or "").split("/")[0] or "file"
            found.append({"kind": {"image": "photo", "audio": "voice"}.get(kind, kind),
                          "ref": url})
    return found


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


class MalformedUpdate(ValueError):
    """An update whose shape no Telegram server sends: answered 400, nothing stored."""


def _obj(value: object, what: str, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{what} must be an object")
    return value


def _chat_id(chat: dict[str, Any], what: str = "chat.id") -> str:
    # Telegram ids are integers (negative for groups); bool is an int in Python, refuse it too.
    cid = chat.get("id")
    if not isinstance(cid, int) or isinstance(cid, bool):
        raise MalformedUpdate(f"{what} must be an integer")
    return str(cid)


def _opt_int(value: object, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedUpdate(f"{what} must be an integer")
    return value


def _opt_str(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedUpdate(f"{what} must be a string")
    return value


def _chat_type(chat: dict[str, Any]) -> str:
    return _opt_str(chat.get("type"), "chat.type") or "private"


TELEGRAM_MEDIA = ("photo", "voice", "audio", "video", "video_note", "document", "sticker",
                  "animation")


def _telegram_media(m: dict[str, Any]) -> list[dict[str, str]]:
    """References (file_id) to what a message carried; the panel fetches them on demand."""
    found = []
    for kind in TELEGRAM_MEDIA:
        item = m.get(kind)
        if item is None:
            continue
        if kind == "photo":  # sizes, smallest first: keep the largest
            if not isinstance(item, list) or not item:
                raise MalformedUpdate("message.photo must be a list of sizes")
            item = item[-1]
        obj = _obj(item, f"message.{kind}", required=True)
        file_id = _opt_str(obj.get("file_id"), f"message.{kind}.file_id")
        if file_id:
            found.append({"kind": kind, "ref": file_id})
    return found


def _telegram_message(update: dict[str, Any]) -> InboundMessage | None:
    """Our own reading of a Bot API update; python-telegram-bot stays the sending transport.

    Every field we use is type-checked: a wrong shape raises MalformedUpdate (400), never a 500.
    """
    uid = str(update["update_id"])
    field = "message" if update.get("message") is not None else (
        "edited_message" if update.get("edited_message") is not None else None)
    if field is not None:
        m = _obj(update[field], field)
        chat = _obj(m.get("chat"), "message.chat", required=True)
        chat_type = _chat_type(chat)
        sender = _obj(m.get("from"), "message.from")
        payload: dict[str, Any] = {
            "chat_type": chat_type, "from_id": _opt_int(sender.get("id"), "from.id"),
            "message_id": _opt_int(m.get("message_id"), "message.message_id")}
        if field == "edited_message":
            payload["edited"] = True  # screened again; never taken as a new answer
        address = _chat_id(chat)
        media = _telegram_media(m)
        if media:
            payload["media"] = media
        # Words outside a text body (a photo's caption) are read exactly like text.
        words = m["text"] if "text" in m else m.get("caption")
        if words is None:
            kind = "member" if ("new_chat_members" in m or "left_chat_member" in m) else (
                "media" if media else "other")
            return InboundMessage("telegram", uid, address, "", kind,
                                  private=chat_type == "private", payload=payload)
        return InboundMessage("telegram", uid, address, _opt_str(words, "message.text"),
                              "text", private=chat_type == "private", payload=payload)
    if update.get("callback_query") is not None:
        q = _obj(update["callback_query"], "callback_query")
        sender = _obj(q.get("from"), "callback_query.from", required=True)
        msg = _obj(q.get("message"), "callback_query.message")
        chat = _obj(msg.get("chat"), "callback_query.message.chat")
        address = _chat_id(chat) if chat else _chat_id(sender, "callback_query.from.id")
        chat_type = _chat_type(chat)
        return InboundMessage(
            "telegram", uid, address, _opt_str(q.get("data"), "callback_query.data"), "callback",
            private=chat_type == "private",
            payload={"callback_id": _opt_str(q.get("id"), "callback_query.id") or None,
                     "from_id": _opt_int(sender.get("id"), "from.id"),
                     "message_id": _opt_int(msg.get("message_id"), "message.message_id"),
                     "chat_type": chat_type})
    if update.get("my_chat_member") is not None:
        mc = _obj(update["my_chat_member"], "my_chat_member")
        chat = _obj(mc.get("chat"), "my_chat_member.chat", required=True)
        new = _opt_str(_obj(mc.get("new_chat_member"), "new_chat_member").get("status"),
                       "new_chat_member.status")
        return InboundMessage("telegram", uid, _chat_id(chat), new, "member",
                              private=_chat_type(chat) == "private",
                              payload={"chat_type": _chat_type(chat), "status": new or None})
    return None


async def telegram_webhook(request: Request) -> Response:
    svc = service_of(request)
    secret = svc.settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return PlainTextResponse("forbidden", status_code=403)
    raw = await request.body()  # bounded by bot.http_guard before it is read
    try:
        update = json.loads(raw)
        if not isinstance(update, dict) or _opt_int(update.get("update_id"), "update_id") is None:
            raise MalformedUpdate("update_id missing")
        msg = _telegram_message(update)
    except (ValueError, RecursionError) as exc:  # JSON errors, bad UTF-8, wrong shapes
        return PlainTextResponse(f"malformed update: {exc}"[:200], status_code=400)
    msg = msg or InboundMessage(
        "telegram", str(update["update_id"]), "-", "", "other",
        payload={"keys": sorted(update)})
    await svc.receive(msg)
    return Response(status_code=200)


async def _checks(svc: Service) -> dict[str, str]:
    checks = svc.health()
    try:
        await svc.db.value("SELECT 1")
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    return checks


async def healthz(request: Request) -> Response:
    """Up or not, for a load balancer: nothing else (queue depths are in /metrics)."""
    ok = all(v == "ok" for v in (await _checks(service_of(request))).values())
    return JSONResponse({"ok": ok}, status_code=200 if ok else 503)


# Counts only: never a name, number or text. Each is one indexed or small aggregate query.
METRICS_SQL = {
    "outbox_queued": "SELECT COUNT(*) FROM outbox WHERE status = 'queued'",
    "outbox_sending": "SELECT COUNT(*) FROM outbox WHERE status = 'sending'",
    "outbox_failed": "SELECT COUNT(*) FROM outbox WHERE status = 'failed'",
    "outbox_oldest_queued_at": "SELECT MIN(created_at) FROM outbox WHERE status = 'queued'",
    "inbound_failed": "SELECT COUNT(*) FROM inbound WHERE status = 'failed'",
    "escalations_unacknowledged":
        "SELECT COUNT(*) FROM escalations WHERE status IN ('open', 'notified')",
    "timers_overdue": "SELECT COUNT(*) FROM timers WHERE status = 'pending' AND due_at < ?",
}


async def metrics(request: Request) -> Response:
    """Checks and queue depths for operators' monitoring, behind O2R_METRICS_TOKEN."""
    svc = service_of(request)
    expected = svc.settings.metrics_token
    if not expected:
        return PlainTextResponse("not found", status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        return PlainTextResponse("unauthorized", status_code=401,
                                 headers={"www-authenticate": "Bearer"})
    checks = await _checks(svc)
    now = iso(svc.clock.now())
    values: dict[str, object] = {}
    for name, sql in METRICS_SQL.items():
        try:
            values[name] = await svc.db.value(sql, (now,) if "?" in sql else ())
        except Exception:
            values[name] = None
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"ok": ok, "checks": checks, **values},
                        headers={"cache-control": "no-store"})


_LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>o2r demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>o2r demo</h1>
<p>Invented people only. The demo clock starts just before the morning check-ins.</p>
<ul>
{sim}<li><a href="/admin/">Admin panel</a>: sign in as {logins}, password
<code>{password}</code> (demo mode only)</li>
</ul>
<p>Try: as Sam in the simulator, send <q>I can't go on</q>, then open Dana's phone and
acknowledge the alert.</p>
</body></html>"""


async def landing(request: Request) -> Response:
    """`/`: in demo, where to go and how to sign in; in production, the panel."""
    settings = request.app.state.service.settings
    if settings.mode != "demo":
        return RedirectResponse("/admin/", status_code=302)
    from bot.demo import DEMO_PASSWORD, DEMO_STAFF

    logins = ", ".join(f"<code>{html.escape(u)}</code> ({html.escape(role)})"
                       for _, role, u, _ in DEMO_STAFF)
    sim = ('<li><a href="/sim">Simulator</a>: be a client or an officer and text the service'
           "</li>\n") if settings.simulator else ""
    return HTMLResponse(_LANDING.format(sim=sim, logins=logins,
                                        password=html.escape(DEMO_PASSWORD)))


def create_app(settings: Settings, clock: Clock | None = None,
               tick_seconds: float | None = None) -> Starlette:
    install_log_redaction(settings)  # before anything can log a token, a number or a text
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
    routes: list[Route | Mount] = [Route("/", landing), Route("/healthz", healthz),
                                   Route("/metrics", metrics), *webhook_routes]
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
    """Send /webhooks/* to a lean app; everything else (and the lifespan) to the full one.

    Both sit behind bot.http_guard.InputGuard: body limits and header hygiene come first.
    """

    def __init__(self, app: Starlette, hooks: Starlette) -> None:
        self.app = app
        self.hooks = hooks
        self.state = app.state
        self._guarded = InputGuard(self._dispatch)

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        await self._guarded(scope, receive, send)

    async def _dispatch(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            await self.hooks(scope, receive, send)
        else:
            await self.app(scope, receive, send)
