"""Helpers for the admin panel tests: a signed-in browser-like client over the real ASGI app.

The harness serves https://o2r.example.test, so the panel's cookies are Secure (and __Host-);
the client here speaks https to the in-process app so they come back like a browser's would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest

from admin_web.permissions import totp_required
from bot.core.people import Contact, add_staff
from bot.core.sealing import unseal
from bot.demo import DEMO_PASSWORD, seed_demo
from tests.conftest import Harness

CSRF_RE = re.compile(r'name="csrftoken" value="([^"]+)"')
SESSION_COOKIE = "__Host-o2r_session"
CSRF_COOKIE = "__Host-csrftoken"


def visible(html: str) -> str:
    """A page without its random CSRF tokens: a token can contain any short name ("Jo")."""
    return CSRF_RE.sub('name="csrftoken" value=""', html)


@dataclass
class Demo:
    staff: dict[str, int]  # username -> staff id
    clients: dict[str, int]  # ref -> client id


async def seed(h: Harness) -> Demo:
    """The demo caseload (dana and lee officers, priya supervisor, admin) plus a mentor and an
    evaluator."""
    from bot.core.passwords import hash_password

    await seed_demo(h.db, h.clock.now())
    mentor_hash = hash_password(DEMO_PASSWORD)
    await h.write(lambda tx: add_staff(tx, h.clock.now(), name="Mo Reid", role="mentor",
                                       username="mentor-mo", password_hash=mentor_hash,
                                       contact=Contact(None, None)))
    await h.write(lambda tx: add_staff(tx, h.clock.now(), name="Eve Marsh", role="evaluator",
                                       username="eval-eve", password_hash=mentor_hash,
                                       contact=Contact(None, None)))
    staff = {r[0]: r[1] for r in await h.db.all(
        "SELECT username, id FROM staff WHERE username IS NOT NULL")}
    clients = {r[0]: r[1] for r in await h.db.all("SELECT ref, id FROM clients")}
    return Demo(staff, clients)


class Panel:
    """One browser: its own cookie jar, CSRF token and session."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=h.app),
                                      base_url="https://o2r.example.test")
        self.token = ""

    async def close(self) -> None:
        await self.http.aclose()

    def _remember(self, response: httpx.Response) -> None:
        found = CSRF_RE.search(response.text)
        if found:
            self.token = found.group(1)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        response = await self.http.get(path, **kw)
        self._remember(response)
        return response

    async def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True,
                   **kw: Any) -> httpx.Response:
        if not self.token:
            await self.get("/admin/login")
        body = {**({"csrftoken": self.token} if csrf else {}), **(data or {})}
        response = await self.http.post(path, data=body, **kw)
        self._remember(response)
        return response

    async def login(self, username: str, password: str = DEMO_PASSWORD, *,
                    second_step: bool = True) -> httpx.Response:
        """Sign in; for a role that must use TOTP in production (supervisor, admin) also pass
        the code step as that person would: enrol with the key shown, or type the current code."""
        await self.get("/admin/login")
        response = await self.post("/admin/login", {"username": username, "password": password})
        if second_step and response.status_code == 200 and 'name="code"' in response.text:
            role = await self.h.db.value("SELECT role FROM staff WHERE username = ?", (username,))
            if totp_required(role, self.h.service.settings.mode):
                response = await self.enter_code(username)
        return response

    async def enter_code(self, username: str) -> httpx.Response:
        """A fresh code for `username` from their (sealed) seed, newer than the last one used."""
        row = await self.h.db.one(
            "SELECT t.secret, t.last_step, s.id FROM staff_totp t JOIN staff s"
            " ON s.id = t.staff_id WHERE s.username = ?", (username,))
        totp = pyotp.TOTP(unseal(self.h.service.settings, row["secret"]))
        moment = datetime.now(UTC)
        fresh = [moment + timedelta(seconds=30 * k) for k in (-1, 0, 1)
                 if row["last_step"] is None or totp.timecode(
                     moment + timedelta(seconds=30 * k)) > row["last_step"]]
        if not fresh:
            # Several sign-ins of one person within a test: as if the next 30 s had passed.
            await self.h.write(lambda tx: tx.execute(
                "UPDATE staff_totp SET last_step = NULL WHERE staff_id = ?", (row["id"],)))
            fresh = [moment]
        return await self.post("/admin/login/code", {"code": totp.at(fresh[0])})

    @property
    def session(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)


@pytest.fixture
async def demo(harness: Harness) -> AsyncIterator[Demo]:
    found = await seed(harness)
    await harness.settle()
    yield found
    # Let sends the test caused finish before the service stops: on Python 3.11 a dispatcher
    # woken at the instant it is cancelled can swallow the cancellation (asyncio.wait_for).
    await harness.settle()


@pytest.fixture
async def panels(harness: Harness) -> AsyncIterator[Any]:
    """A factory of independent signed-out browsers."""
    made: list[Panel] = []

    def make() -> Panel:
        panel = Panel(harness)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        await panel.close()


async def signed_in(make: Any, username: str) -> Panel:
    panel: Panel = make()
    response = await panel.login(username)
    assert response.status_code == 303, response.text[:500]
    return panel


async def raise_amber(h: Harness, client_id: int, reason: str = "craving_high") -> int:
    from bot.escalation.findings import raise_finding

    await h.write(lambda tx: raise_finding(tx, h.clock.now(), client_id, "AMBER", reason,
                                           source="answer", detail="test"))
    return int(await h.db.value(
        "SELECT id FROM escalations WHERE client_id = ? AND reason = ?", (client_id, reason)))
