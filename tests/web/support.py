"""Helpers for the hostile-input tests: a client that sees a 500 as a 500.

httpx's ASGI transport re-raises an app's exception by default; these tests need the answer a
real server would give, so a crash shows up as a status they can count.
"""

from __future__ import annotations

import httpx

from tests.conftest import PUBLIC_URL, TG_SECRET, Harness

TG_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


def raw_client(h: Harness, base_url: str = PUBLIC_URL) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=h.app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30)
