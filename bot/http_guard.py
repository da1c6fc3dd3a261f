"""Bounded, well-formed input before anything else reads a request (the outermost ASGI layer).

- Every request body has a limit chosen by path (`LIMITS`), counted as the bytes arrive: a
  declared Content-Length over it is refused before a byte is read, and a chunked or lying body
  is cut off the moment it passes the limit. Answer 413, and nothing behind us sees the body.
- Cookie pairs that are not printable ASCII are dropped (asgi-csrf decodes the header as UTF-8
  and would fail on every page, /healthz included); a browser with a stray cookie still works.
- A url-encoded form body that is not UTF-8 is refused with 400 (it is bounded, so reading it
  here is cheap; asgi-csrf would fail on it too).
- Only GET, HEAD and POST exist here (405 otherwise): a PUT with a multipart body would reach
  asgi-csrf's own multipart parser, which fails (simonw/asgi-csrf#38).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KB = 1024
# (path prefix, most bytes), first match wins. Twilio posts ~1-2 KB (1600 characters of text
# plus fixed fields); a Telegram update with entities a few KB; the caseload import takes a file
# of up to 1 MB (admin_web.importer.MAX_BYTES) plus the multipart framing.
LIMITS: tuple[tuple[str, int], ...] = (
    ("/webhooks/twilio/", 32 * KB),
    ("/webhooks/telegram", 64 * KB),
    ("/admin/login", 8 * KB),
    ("/admin/import", 2 * KB * KB),
    ("/sim/", 16 * KB),
)
DEFAULT_LIMIT = 64 * KB
FORM = b"application/x-www-form-urlencoded"
METHODS = frozenset({"GET", "HEAD", "POST"})


def limit_for(path: str) -> int:
    for prefix, limit in LIMITS:
        if path.startswith(prefix):
            return limit
    return DEFAULT_LIMIT


def clean_cookie(raw: bytes) -> bytes | None:
    """The header without pairs a strict parser would choke on; None when nothing is left."""
    kept = [p.strip() for p in raw.split(b";")
            if p.strip() and all(0x20 <= c < 0x7F for c in p.strip())]
    return b"; ".join(kept) or None


class BodyTooLarge(Exception):
    pass


async def _answer(send: Send, status: int, text: bytes,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode()),
                            (b"connection", b"close"), *(extra or [])]})
    await send({"type": "http.response.body", "body": text})


class InputGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method") not in METHODS:
            await _answer(send, 405, b"Method not allowed.", [(b"allow", b"GET, HEAD, POST")])
            return
        headers: list[tuple[bytes, bytes]] = []
        declared: list[bytes] = []
        content_type = b""
        for name, value in scope.get("headers") or []:
            lname = name.lower()
            if lname == b"cookie":
                value = clean_cookie(value)
                if value is None:
                    continue
            elif lname == b"content-length":
                declared.append(value.strip())
            elif lname == b"content-type":
                content_type = value.split(b";")[0].strip().lower()
            headers.append((name, value))
        scope = {**scope, "headers": headers}
        limit = limit_for(str(scope.get("path", "")))
        if declared:
            if len(set(declared)) != 1 or not declared[0].isdigit():
                await _answer(send, 400, b"Bad Content-Length.")
                return
            if int(declared[0]) > limit:
                await _answer(send, 413, b"Too large.")
                return
        if content_type == FORM and scope.get("method") == "POST":
            await self._form(scope, receive, send, limit)
            return
        await self._streamed(scope, receive, send, limit)

    async def _form(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Read the (bounded) form body, check it is UTF-8, then replay it."""
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, b"Too large.")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            await _answer(send, 400, b"The form was not UTF-8.")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        size = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal size, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    # Answer now, then tell the app the client left: whatever it does next
                    # (Starlette raises ClientDisconnect) is swallowed below.
                    refused = True
                    if not started:
                        started = True
                        await _answer(send, 413, b"Too large.")
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if not refused:
                raise
