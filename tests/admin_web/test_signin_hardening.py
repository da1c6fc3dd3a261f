"""Sign-in hardening: a deny-list of common and repetitive passwords, hashing off the event
loop, TOTP required for supervisors and admins in production, and X-Forwarded-For believed only
from the proxies named in O2R_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from admin_web.permissions import totp_required
from bot.core.passwords import WeakPassword, check_strength, hash_password, verify_password
from config.settings import ConfigError, load_settings
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import Harness

demo = demo_fixture
panels = panels_fixture

WEAK = ("aaaaaaaaaaaa", "123456789012", "passwordpassword", "qwertyuiopas", "abcabcabcabc",
        "letmein12345")


@pytest.mark.parametrize("password", WEAK)
def test_common_and_repetitive_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        hash_password(password, ("dana", "Dana", "Hughes"))


def test_long_unrelated_words_pass_and_short_ones_never() -> None:
    check_strength("correct horse battery staple")
    with pytest.raises(WeakPassword, match="12 characters"):
        check_strength("x7#Kq!2z")


async def test_changing_to_a_weak_password_is_refused_on_the_panel(
        harness: Harness, demo: Demo, panels: Any) -> None:
    dana = await signed_in(panels, "dana")
    before = await harness.db.value("SELECT password_hash FROM staff WHERE username = 'dana'")
    for weak in WEAK:
        await dana.post("/admin/account/password",
                        {"current": "demo-password-only", "new": weak, "confirm": weak})
        page = await dana.get("/admin/account")
        assert "try a few unrelated words" in page.text or "12 characters" in page.text, weak
    assert await harness.db.value(
        "SELECT password_hash FROM staff WHERE username = 'dana'") == before


def test_cli_bootstrap_refuses_a_weak_password(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("passwordpassword\n"))
    code, out, err = cli("staff", "add", "--name", "Ada Admin", "--role", "admin",
                         "--username", "ada", "--password-stdin")
    assert code != 0 and "password" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("lantern quietly orbits marmalade\n"))
    code, out, _ = cli("staff", "add", "--name", "Ada Admin", "--role", "admin",
                       "--username", "ada", "--password-stdin", "--json")
    assert code == 0 and '"id"' in out


async def test_sign_ins_do_not_stall_the_event_loop(harness: Harness, demo: Demo,
                                                    panels: Any) -> None:
    """Eight sign-ins at once; a ticker on the loop must keep running while argon2 works."""
    stored = hash_password("lantern quietly orbits marmalade")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        verify_password(stored, "lantern quietly orbits marmalade")
        timings.append(time.perf_counter() - started)
    one_hash = sorted(timings)[1]
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    results = await asyncio.gather(*(panels().login(u, second_step=False)
                                     for u in ("dana", "lee") * 4))
    stop.set()
    await tick
    assert all(r.status_code == 303 for r in results)
    # On the loop, each check would block it for a whole hash (or several in a row); off it,
    # the loop only waits for page work, far less than a single hash.
    assert max(gaps) < one_hash * 0.8, (sorted(gaps)[-3:], one_hash)


async def test_a_supervisor_must_set_up_totp_before_any_page(harness: Harness, demo: Demo,
                                                             panels: Any) -> None:
    assert totp_required("supervisor", "production") and totp_required("admin", "production")
    assert not totp_required("officer", "production")
    assert not totp_required("supervisor", "demo")
    priya = panels()
    step = await priya.login("priya", second_step=False)
    assert step.status_code == 200 and 'id="totp-secret"' in step.text
    assert (await priya.get("/admin/escalations")).status_code == 303  # not signed in yet
    assert (await priya.post("/admin/login/code", {"code": "000000"})).status_code == 400
    done = await priya.enter_code("priya")
    assert done.status_code == 303
    assert await harness.db.value(
        "SELECT confirmed_at FROM staff_totp WHERE staff_id = ?", (demo.staff["priya"],))
    assert await harness.db.value(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'staff.totp_enabled' AND object_id = ?",
        (demo.staff["priya"],)) == 1
    account = await priya.get("/admin/account")
    assert "Your role must keep it on" in account.text and "/totp/disable" not in account.text
    await priya.post("/admin/account/totp/disable", {"password": "demo-password-only"})
    assert await harness.db.value("SELECT COUNT(*) FROM staff_totp WHERE staff_id = ?",
                                  (demo.staff["priya"],)) == 1
    # An officer may still sign in with a password alone (and may turn TOTP on).
    assert (await panels().login("dana")).status_code == 303


def test_trusted_proxies_setting() -> None:
    env = {"O2R_TRUSTED_PROXIES": "10.0.0.5, 192.168.1.0/24"}
    assert load_settings(env, env_file=None).trusted_proxies == ("10.0.0.5/32", "192.168.1.0/24")
    assert load_settings({}, env_file=None).trusted_proxies == ()
    for bad in ("*", "localhost", "10.0.0.300"):
        with pytest.raises(ConfigError, match="O2R_TRUSTED_PROXIES"):
            load_settings({"O2R_TRUSTED_PROXIES": bad}, env_file=None)


@pytest.mark.parametrize("trusted,peer,expected", [
    ((), "127.0.0.1", "127.0.0.1"),                    # loopback is not trusted by default
    (("10.0.0.5/32",), "127.0.0.1", "127.0.0.1"),      # not the named proxy
    (("10.0.0.5/32",), "10.0.0.5", "203.0.113.9"),     # the named proxy: believed
])
async def test_x_forwarded_for_only_from_named_proxies(harness: Harness, demo: Demo,
                                                       trusted: tuple[str, ...], peer: str,
                                                       expected: str) -> None:
    """The app as `o2r serve` runs it (uvicorn's proxy middleware, configured by us)."""
    import uvicorn

    from bot.cli import proxy_options

    settings = replace(harness.service.settings, trusted_proxies=trusted)
    config = uvicorn.Config(harness.app, **proxy_options(settings))
    config.load()
    transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="https://o2r.example.test") as c:
        form = await c.get("/admin/login")
        token = form.text.split('name="csrftoken" value="')[1].split('"')[0]
        await c.post("/admin/login", data={"csrftoken": token, "username": "dana",
                                            "password": "wrong-password-here"},
                     headers={"x-forwarded-for": "203.0.113.9"})
    assert await harness.db.value(
        "SELECT ip FROM login_attempts ORDER BY id DESC LIMIT 1") == expected


async def test_a_supervisor_session_without_totp_ends(harness: Harness, demo: Demo,
                                                      panels: Any) -> None:
    """A session left from before TOTP was required (here: its enrolment removed under it)
    opens nothing: the person signs in again and sets TOTP up."""
    priya = await signed_in(panels, "priya")
    assert (await priya.get("/admin/staff")).status_code == 200
    await harness.write(lambda tx: tx.execute("DELETE FROM staff_totp WHERE staff_id = ?",
                                              (demo.staff["priya"],)))
    assert (await priya.get("/admin/staff")).status_code == 303
    again = await priya.login("priya", second_step=False)
    assert 'id="totp-secret"' in again.text
