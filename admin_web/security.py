"""Security headers on every response, and CSRF protection (asgi-csrf) for every form.

`security_middleware(settings)` returns the Starlette middleware list bot/app.py installs,
outermost first: the headers wrap everything (CSRF refusals included); CSRF wraps the routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgi_csrf import asgi_csrf
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
PERMISSIONS = ("camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(),"
               " browsing-topics=()")
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


def _skip(scope: Scope) -> bool:
    # Providers sign their webhooks (Twilio signature, Telegram secret header) instead.
    return str(scope.get("path", "")).startswith("/webhooks/")


def security_middleware(settings: Settings) -> list[Middleware]:
    secure = (settings.public_url or "").startswith("https://")
    return [
        Middleware(SecurityHeaders, secure=secure),  # type: ignore[arg-type]
        Middleware(asgi_csrf,  # type: ignore[arg-type]
                   cookie_name="__Host-csrftoken" if secure else "csrftoken",
                   signing_secret=settings.secret_key, always_protect=CSRF_ALWAYS,
                   skip_if_scope=_skip, cookie_secure=secure, cookie_samesite="Lax",
                   send_csrf_failed=csrf_failed),
    ]
