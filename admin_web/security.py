"""Security headers on every response, and CSRF protection (asgi-csrf) for every form.

`security_middleware(settings)` returns the Starlette middleware list bot/app.py installs,
outermost first: the headers wrap everything (CSRF refusals included); CSRF wraps the routes,
with a shim in front of it for upload forms.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

from asgi_csrf import asgi_csrf
from python_multipart import FormParser
from python_multipart.multipart import parse_options_header
from starlette.middleware import Middleware

from config.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# No inline script or style anywhere (the charts are SVG with presentation attributes and CSS
# classes), so the policy can forbid both outright.
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
MAX_MULTIPART = 2 * 1024 * 1024  # any form body; the caseload import takes files up to 1 MB
LOGIN_PATH = "/admin/login"
CSRF_ALWAYS = [LOGIN_PATH, LOGIN_PATH + "/code"]


def headers_for(secure: bool) -> list[tuple[bytes, bytes]]:
    out = [
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", PERMISSIONS.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    if secure:
        out.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return out


class SecurityHeaders:
    """Adds the headers to every HTTP response; pages under /admin are never cached."""

    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        self.extra = headers_for(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith("/admin") and \
            not str(scope.get("path", "")).startswith("/admin/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {name for name, _ in self.extra}]
                headers.extend(self.extra)
                if private:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def csrf_failed(scope: Scope, send: Send, message_id: object) -> None:
    body = (b"<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            b"<title>Form expired</title><link rel=\"stylesheet\" href=\"/admin/static/app.css\">"
            b"</head><body><main id=\"main\"><h1>This form has expired</h1><p>For your safety the"
            b" form could not be sent. Go back, reload the page and try again.</p>"
            b"<p><a href=\"/admin/\">Back to the panel</a></p></main></body></html>")
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})


def multipart_field(body: bytes, content_type: bytes, name: bytes) -> str | None:
    """The first value of a plain field in a multipart/form-data body, or None."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        return None
    found: list[str] = []

    def on_field(f: Any) -> None:
        if f.field_name == name and f.value is not None and not found:
            found.append(f.value.decode("utf-8", "replace"))

    parser = FormParser("multipart/form-data", on_field, lambda f: None, boundary=boundary)
    try:
        parser.write(body)
        parser.finalize()
    except Exception:
        return None
    return found[0] if found else None


class FormGuard:
    """Bounds every form body, and reads an upload form's CSRF token for asgi-csrf.

    asgi-csrf 0.11 cannot parse multipart bodies with python-multipart >= 0.0.26 (which fixes
    CVEs; simonw/asgi-csrf#38), so uploads would crash it. The body is read here (bounded),
    its `csrftoken` field becomes the x-csrftoken header, which asgi-csrf compares with the
    cookie as usual, and the body is replayed untouched. No token: refused here.
    """

    def __init__(self, app: ASGIApp, cookie_name: str = "csrftoken") -> None:
        self.app = app
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if scope["type"] != "http" or scope.get("method") != "POST" or _skip(scope):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > MAX_MULTIPART:
            # asgi-csrf reads a whole form body into memory: refuse an oversized one first.
            await _too_large(send)
            return
        content_type = headers.get(b"content-type", b"")
        if not content_type.startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            messages.append(message)
            size += len(message.get("body", b""))
            if size > MAX_MULTIPART:
                await _too_large(send)
                return
            more = message.get("more_body", False)
        token = multipart_field(b"".join(m.get("body", b"") for m in messages), content_type,
                                b"csrftoken")
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:
            pass
        expected = cookie[self.cookie_name].value if self.cookie_name in cookie else ""
        # A mismatch is refused here: asgi-csrf would otherwise fall back to its broken parser.
        if token is None or not expected or not secrets.compare_digest(token, expected):
            await csrf_failed(scope, send, None)
            return
        kept = [(k, v) for k, v in scope["headers"] if k.lower() != b"x-csrftoken"]
        scope = {**scope, "headers": [*kept, (b"x-csrftoken", token.encode("latin-1", "replace"))]}

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"Too large."})


def _skip(scope: Scope) -> bool:
    # Providers sign their webhooks (Twilio signature, Telegram secret header) instead.
    return str(scope.get("path", "")).startswith("/webhooks/")


def security_middleware(settings: Settings) -> list[Middleware]:
    secure = (settings.public_url or "").startswith("https://")
    cookie = "__Host-csrftoken" if secure else "csrftoken"
    return [
        Middleware(SecurityHeaders, secure=secure),  # type: ignore[arg-type]
        Middleware(FormGuard, cookie_name=cookie),  # type: ignore[arg-type]
        Middleware(asgi_csrf,  # type: ignore[arg-type]
                   cookie_name=cookie,
                   signing_secret=settings.secret_key, always_protect=CSRF_ALWAYS,
                   skip_if_scope=_skip, cookie_secure=secure, cookie_samesite="Lax",
                   send_csrf_failed=csrf_failed),
    ]
