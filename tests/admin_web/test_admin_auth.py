"""Sign-in, sessions, CSRF, lock-out, TOTP and the security headers, through the real app."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from admin_web import sessions, throttle
from admin_web.security import CSP
from bot.core.clock import FixedClock
from tests.admin_web.support import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Demo,
    signed_in,
)
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness, engine_env

# The shared fixtures, under the names tests ask for.
demo = demo_fixture
panels = panels_fixture


def admin_app(h: Harness) -> Any:
    outer = getattr(h.app, "app", h.app)  # bot.app may wrap the Starlette app
    return next(r.app for r in outer.routes if getattr(r, "path", "") == "/admin")


async def test_sign_in_lands_on_the_role_home_with_a_hardened_cookie(
        harness: Harness, demo: Demo, panels: Any) -> None:
    panel = panels()
    page = await panel.get("/admin/login")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    response = await panel.login("dana")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/escalations"
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "secure", "samesite", "path"} <= attrs
    assert "samesite=lax" in cookie.lower()
    assert (await panel.get("/admin/escalations")).status_code == 200
    # Only a hash of the token is stored.
    stored = await harness.db.value("SELECT id_hash FROM admin_sessions")
    assert stored == sessions.token_hash(panel.session or "") and stored != panel.session


async def test_wrong_password_and_unknown_user_get_the_same_answer(
        harness: Harness, demo: Demo, panels: Any) -> None:
    panel = panels()
    wrong = await panel.login("dana", "not-the-password")
    unknown = await panel.login("nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    assert "do not match" in wrong.text and "do not match" in unknown.text
    assert panel.session is None
    assert (await panel.get("/admin/escalations")).status_code == 303


async def test_signed_out_visitors_are_sent_to_sign_in(harness: Harness, demo: Demo,
                                                       panels: Any) -> None:
    response = await panels().get("/admin/clients/1")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/clients/1"


async def test_next_is_followed_but_never_off_site(harness: Harness, demo: Demo,
                                                  panels: Any) -> None:
    panel = panels()
    await panel.get("/admin/login?next=/admin/clients")
    ok = await panel.post("/admin/login", {"username": "dana", "password": "demo-password-only",
                                           "next": "/admin/clients"})
    assert ok.headers["location"] == "/admin/clients"
    evil = panels()
    await evil.get("/admin/login")
    response = await evil.post("/admin/login", {"username": "dana",
                                                "password": "demo-password-only",
                                                "next": "//evil.example/admin/"})
    assert response.headers["location"] == "/admin/escalations"


async def test_session_fixation_fails_the_id_changes_at_sign_in(
        harness: Harness, demo: Demo, panels: Any) -> None:
    panel = panels()
    await panel.login("dana")
    first = panel.session
    assert first
    # An attacker plants a session id (here: a real one of theirs) before the victim signs in.
    victim = panels()
    await victim.get("/admin/login")
    victim.http.cookies.set(SESSION_COOKIE, first, domain="o2r.example.test")
    await victim.post("/admin/login", {"username": "lee", "password": "demo-password-only"})
    assert victim.session and victim.session != first
    # The planted id is dead and never became lee's session.
    row = await sessions.load(harness.db, first)
    assert row is not None and row.revoked
    assert (await panel.get("/admin/escalations")).status_code == 303
    # Signing in again in the same browser also rotates the id.
    again = panels()
    await again.login("dana")
    before = again.session
    await again.login("dana")
    assert again.session != before


async def test_sign_out_ends_the_session(harness: Harness, demo: Demo, panels: Any) -> None:
    panel = await signed_in(panels, "dana")
    token = panel.session
    response = await panel.post("/admin/logout")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    panel.http.cookies.set(SESSION_COOKIE, token or "", domain="o2r.example.test")
    assert (await panel.get("/admin/escalations")).status_code == 303


async def test_idle_and_absolute_expiry(harness: Harness, demo: Demo, panels: Any) -> None:
    clock = FixedClock(datetime.now(UTC))
    admin_app(harness).state.auth_clock = clock
    panel = await signed_in(panels, "dana")
    clock.advance(sessions.IDLE - timedelta(minutes=1))
    assert (await panel.get("/admin/escalations")).status_code == 200  # and this touches it
    clock.advance(sessions.IDLE - timedelta(minutes=1))
    assert (await panel.get("/admin/escalations")).status_code == 200
    clock.advance(sessions.IDLE + timedelta(seconds=1))
    assert (await panel.get("/admin/escalations")).status_code == 303  # idle too long
    busy = await signed_in(panels, "dana")
    for _ in range(int(sessions.ABSOLUTE / (sessions.IDLE / 2)) + 1):
        clock.advance(sessions.IDLE / 2)
        last = await busy.get("/admin/escalations")
    assert last.status_code == 303  # kept busy, still ends at the absolute limit


async def test_csrf_a_form_post_without_the_token_is_refused(
        harness: Harness, demo: Demo, panels: Any) -> None:
    panel = await signed_in(panels, "dana")
    sam = demo.clients["D-001"]
    response = await panel.post(f"/admin/clients/{sam}/note", {"body": "forged"}, csrf=False)
    assert response.status_code == 403
    wrong = await panel.post(f"/admin/clients/{sam}/note",
                             {"body": "forged", "csrftoken": "x" + panel.token})
    assert wrong.status_code == 403
    assert await harness.db.value("SELECT COUNT(*) FROM client_notes") == 0
    ok = await panel.post(f"/admin/clients/{sam}/note", {"body": "real"})
    assert ok.status_code == 303
    assert await harness.db.value("SELECT COUNT(*) FROM client_notes") == 1


async def test_csrf_the_login_form_is_always_protected(harness: Harness, demo: Demo,
                                                        panels: Any) -> None:
    panel = panels()  # no cookies at all: a cross-site login attempt
    response = await panel.http.post("/admin/login", data={"username": "dana",
                                                           "password": "demo-password-only"})
    assert response.status_code == 403
    assert panel.session is None


async def test_webhooks_are_not_csrf_checked(harness: Harness, demo: Demo) -> None:
    harness.client.cookies.set("csrftoken", "junk")
    response = await harness.sms("+447700900999", "hello")
    assert response.status_code == 200


async def test_lock_out_after_repeated_failures_survives_a_restart(
        harness: Harness, demo: Demo, panels: Any) -> None:
    panel = panels()
    for _ in range(throttle.PER_USERNAME.limit):
        assert (await panel.login("dana", "wrong-password-here")).status_code == 400
    locked = await panel.login("dana")  # the right password, but locked
    assert locked.status_code == 429 and panel.session is None
    # Kept in the database, not in memory: a new connection to it (as after a restart)
    # sees the same lock.
    from bot.core.db import Database

    settings = harness.service.settings
    async with Database(settings.db_path, settings) as reopened:
        assert await throttle.check(reopened, datetime.now(UTC), "dana", "127.0.0.1") is not None
    # Other people are not locked out by dana's lock.
    assert (await panels().login("lee")).status_code == 303
    # After the lock-out period, dana can sign in again.
    clock = FixedClock(datetime.now(UTC) + throttle.PER_USERNAME.lockout + timedelta(minutes=1))
    admin_app(harness).state.auth_clock = clock
    assert (await panels().login("dana")).status_code == 303


async def test_one_address_spraying_many_usernames_is_locked(harness: Harness, demo: Demo,
                                                              panels: Any) -> None:
    panel = panels()
    for i in range(throttle.PER_ADDRESS.limit):
        await panel.login(f"guess{i}", "wrong-password-here")
    assert (await panel.login("lee")).status_code == 429


def test_lockout_rule_pure() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    policy = throttle.Policy(limit=3, window=timedelta(minutes=10), lockout=timedelta(minutes=5))
    spread = [t0, t0 + timedelta(minutes=11), t0 + timedelta(minutes=22)]
    assert throttle.locked_until(spread, t0 + timedelta(minutes=23), policy) is None
    burst = [t0, t0 + timedelta(minutes=1), t0 + timedelta(minutes=2)]
    assert throttle.locked_until(burst, t0 + timedelta(minutes=3), policy) == \
        t0 + timedelta(minutes=7)
    assert throttle.locked_until(burst, t0 + timedelta(minutes=8), policy) is None


async def test_totp_enrol_confirm_and_sign_in_with_a_code(harness: Harness, demo: Demo,
                                                         panels: Any) -> None:
    panel = await signed_in(panels, "dana")
    assert (await panel.post("/admin/account/totp/start")).status_code == 303
    page = await panel.get("/admin/account")
    secret = "".join(page.text.split('id="totp-secret">')[1].split("<")[0].split())
    assert "otpauth://totp/" in page.text
    wrong = await panel.post("/admin/account/totp/confirm", {"code": "000000"})
    assert wrong.status_code == 303
    assert await harness.db.value("SELECT confirmed_at FROM staff_totp") is None
    await panel.post("/admin/account/totp/confirm", {"code": pyotp.TOTP(secret).now()})
    assert await harness.db.value("SELECT confirmed_at FROM staff_totp") is not None

    phone = panels()
    step1 = await phone.login("dana")
    assert step1.status_code == 200 and "6-digit code" in step1.text
    half = phone.session
    assert half and (await phone.get("/admin/escalations")).status_code == 303  # not yet in
    bad = await phone.post("/admin/login/code", {"code": "123456"})
    assert bad.status_code == 400
    # The code already used to confirm cannot be replayed; the next window's code works.
    later = datetime.now(UTC) + timedelta(seconds=30)
    ok = await phone.post("/admin/login/code", {"code": pyotp.TOTP(secret).at(later)})
    assert ok.status_code == 303
    assert phone.session and phone.session != half
    assert (await phone.get("/admin/escalations")).status_code == 200
    replay = panels()
    await replay.login("dana")
    again = await replay.post("/admin/login/code", {"code": pyotp.TOTP(secret).at(later)})
    assert again.status_code == 400


async def test_change_password_signs_out_other_devices(harness: Harness, demo: Demo,
                                                       panels: Any) -> None:
    laptop = await signed_in(panels, "dana")
    phone = await signed_in(panels, "dana")
    weak = await phone.post("/admin/account/password", {
        "current": "demo-password-only", "new": "short", "confirm": "short"})
    assert weak.status_code == 303
    assert "12" in (await phone.get("/admin/account")).text  # the flash names the rule
    await phone.post("/admin/account/password", {
        "current": "demo-password-only", "new": "a much longer passphrase",
        "confirm": "a much longer passphrase"})
    assert (await phone.get("/admin/account")).status_code == 200
    assert (await laptop.get("/admin/account")).status_code == 303
    assert (await panels().login("dana", "a much longer passphrase")).status_code == 303


async def test_deactivated_staff_lose_access_at_once(harness: Harness, demo: Demo,
                                                     panels: Any) -> None:
    dana = await signed_in(panels, "dana")
    admin = await signed_in(panels, "admin")
    await admin.post(f"/admin/staff/{demo.staff['dana']}/active", {"active": "off"})
    assert (await dana.get("/admin/escalations")).status_code == 303
    assert (await panels().login("dana")).status_code == 400


@pytest.mark.parametrize("path", ["/admin/login", "/admin/escalations", "/sim", "/healthz",
                                  "/admin/static/app.css", "/admin/nowhere"])
async def test_security_headers_on_every_response(harness: Harness, demo: Demo, panels: Any,
                                                  path: str) -> None:
    panel = await signed_in(panels, "dana")
    response = await panel.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["strict-transport-security"].startswith("max-age=")
    if path.startswith("/admin/") and "static" not in path:
        assert response.headers["cache-control"] == "no-store"


async def test_csrf_cookie_is_host_only_and_secure(harness: Harness, demo: Demo,
                                                   panels: Any) -> None:
    panel = panels()
    response = await panel.get("/admin/login")
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(CSRF_COOKIE))
    assert "Secure" in cookie and "SameSite=Lax" in cookie


async def test_no_inline_script_or_style_in_any_page(harness: Harness, demo: Demo,
                                                      panels: Any) -> None:
    panel = await signed_in(panels, "priya")
    for path in ("/admin/escalations", "/admin/clients", f"/admin/clients/{demo.clients['D-001']}",
                 "/admin/dashboard", "/admin/calendar", "/admin/staff", "/admin/audit"):
        html = (await panel.get(path)).text.lower()
        # Scripts only as empty tags loading files of our own (the live queue), never inline.
        scripts = re.findall(r"<script[^>]*>", html)
        files = re.findall(r'<script src="/admin/static/[a-z_]+\.js" defer></script>', html)
        assert len(files) == len(scripts), (path, scripts)
        assert "style=" not in html and "<style" not in html, path


async def test_the_first_admin_from_the_cli_can_sign_in(harness: Harness, panels: Any) -> None:
    """`o2r staff add --role admin --username U --password-stdin`, then the panel."""
    import asyncio
    import os
    import sys

    env = {**os.environ, **engine_env(harness.service.settings), "O2R_MODE": "demo"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "staff", "add", "--name", "First Admin", "--role",
        "admin", "--username", "root-admin", "--password-stdin", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate(b"a long first admin password\n")
    assert proc.returncode == 0, err.decode()
    panel = panels()
    response = await panel.login("root-admin", "a long first admin password")
    assert response.status_code == 303 and response.headers["location"] == "/admin/staff"
    assert (await panel.get("/admin/staff")).status_code == 200
