"""The baseline: an app that only verifies the Twilio signature and inserts the message.

Same server, same SQLite settings (WAL, synchronous=FULL), one commit per request; no routing,
no flow, no reply. The real service should keep at least half of this throughput.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiosqlite
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bench.common import PUBLIC_URL
from tests.fakes.twilio_api import DEFAULT_AUTH_TOKEN


def make_app(db_path: str) -> Starlette:
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    state: dict[str, aiosqlite.Connection] = {}

    async def sms(request: Request) -> Response:
        form = await request.form()
        if not validator.validate(PUBLIC_URL + "/webhooks/twilio/sms", form,
                                  request.headers.get("X-Twilio-Signature", "")):
            return PlainTextResponse("invalid signature", status_code=403)
        conn = state["db"]
        await conn.execute("INSERT OR IGNORE INTO inbound (sid, sender, body) VALUES (?, ?, ?)",
                           (form["MessageSid"], form["From"], form["Body"]))
        await conn.commit()
        return Response("<Response/>", media_type="text/xml")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        conn = await aiosqlite.connect(db_path)
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                       "PRAGMA busy_timeout=10000"):
            await conn.execute(pragma)
        await conn.execute("CREATE TABLE IF NOT EXISTS inbound (id INTEGER PRIMARY KEY,"
                           " sid TEXT UNIQUE, sender TEXT, body TEXT)")
        await conn.commit()
        state["db"] = conn
        yield
        await conn.close()

    return Starlette(routes=[Route("/webhooks/twilio/sms", sms, methods=["POST"]),
                             Route("/healthz", health)], lifespan=lifespan)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    uvicorn.run(make_app(a.db), host="127.0.0.1", port=a.port, log_level="warning",
                access_log=False)
