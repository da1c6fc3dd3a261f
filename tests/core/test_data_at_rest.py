"""Data at rest: owner-only files whatever the umask, and TOTP seeds sealed with a key derived
from O2R_SECRET_KEY (plain-text seeds from earlier versions sealed at the next start)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyotp
import pytest

from bot.core.db import Database
from bot.core.sealing import is_sealed, unseal
from tests import conftest
from tests.admin_web.support import Demo, signed_in
from tests.admin_web.support import demo as demo_fixture
from tests.admin_web.support import panels as panels_fixture
from tests.conftest import T0, Harness

demo = demo_fixture
panels = panels_fixture


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def test_database_wal_shm_backup_and_folder_are_owner_only_under_umask_0(
        tmp_path: Path, permissive_umask: None) -> None:
    settings = conftest.test_settings(tmp_path / "var" / "o2r.db", None, None)
    async with Database(settings.db_path, settings) as db:
        await db.write(lambda tx: tx.execute(
            "INSERT INTO staff (name, role, created_at) VALUES ('Ann Example', 'officer', ?)",
            (T0.isoformat(),)))
        var = settings.db_path.parent
        files = {p.name: mode(p) for p in var.iterdir()}
        assert {"o2r.db", "o2r.db-wal", "o2r.db-shm"} <= set(files), files
        assert all(m == 0o600 for m in files.values()), files
        assert mode(var) == 0o700
        await db.backup(tmp_path / "backups" / "b1.db")
    assert mode(tmp_path / "backups") == 0o700
    assert mode(tmp_path / "backups" / "b1.db") == 0o600
    with sqlite3.connect(tmp_path / "backups" / "b1.db") as copy:
        assert copy.execute("SELECT name FROM staff").fetchone() == ("Ann Example",)


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path,
                                                                permissive_umask: None) -> None:
    path = tmp_path / "o2r.db"
    sqlite3.connect(path).close()
    os.chmod(path, 0o644)
    settings = conftest.test_settings(path, None, None)
    async with Database(path, settings):
        assert mode(path) == 0o600


def test_cli_backup_is_owner_only(cli: Any, tmp_path: Path, permissive_umask: None) -> None:
    code, out, _ = cli("backup", str(tmp_path / "b" / "copy.db"))
    assert code == 0, out
    assert mode(tmp_path / "b" / "copy.db") == 0o600 and mode(tmp_path / "b") == 0o700
    assert mode(tmp_path / "o2r.db") == 0o600


async def test_totp_seed_is_stored_sealed(harness: Harness, demo: Demo, panels: Any) -> None:
    panel = await signed_in(panels, "dana")
    await panel.post("/admin/account/totp/start")
    page = await panel.get("/admin/account")
    secret = "".join(page.text.split('id="totp-secret">')[1].split("<")[0].split())
    stored = await harness.db.value("SELECT secret FROM staff_totp WHERE staff_id = ?",
                                    (demo.staff["dana"],))
    assert is_sealed(stored) and secret not in stored
    assert unseal(harness.service.settings, stored) == secret
    # Another O2R_SECRET_KEY cannot open it.
    other = replace(harness.service.settings, secret_key="y" * 40)
    with pytest.raises(ValueError):
        unseal(other, stored)
    await panel.post("/admin/account/totp/confirm", {"code": pyotp.TOTP(secret).now()})
    assert await harness.db.value("SELECT confirmed_at FROM staff_totp") is not None


async def test_plain_text_seeds_from_before_are_sealed_at_start(tmp_path: Path) -> None:
    settings = conftest.test_settings(tmp_path / "o2r.db", None, None)
    async with Database(settings.db_path, settings) as db:
        await db.write(lambda tx: tx.execute(
            "INSERT INTO staff (id, name, role, created_at) VALUES (7, 'Ann Example', 'admin', ?)",
            (T0.isoformat(),)))
    legacy = pyotp.random_base32()
    with sqlite3.connect(settings.db_path) as conn:  # as an earlier version stored it
        conn.execute("INSERT INTO staff_totp (staff_id, secret, confirmed_at, created_at)"
                     " VALUES (7, ?, ?, ?)", (legacy, T0.isoformat(), T0.isoformat()))
    async with Database(settings.db_path, settings) as db:
        stored = await db.value("SELECT secret FROM staff_totp WHERE staff_id = 7")
        assert is_sealed(stored) and legacy not in stored
        assert unseal(settings, stored) == legacy
        from admin_web import totp

        async def check(tx: Any) -> bool:
            return await totp.use_code(tx, T0, 7, pyotp.TOTP(legacy).at(T0))

        assert await db.write(check)


def test_demo_without_a_secret_key_keeps_a_private_key_file(tmp_path: Path,
                                                           permissive_umask: None) -> None:
    from bot.core.sealing import seal

    settings = replace(conftest.test_settings(tmp_path / "o2r.db", None, None), secret_key=None,
                       mode="demo")
    sealed = seal(settings, "JBSWY3DPEHPK3PXP")
    assert mode(tmp_path / "secret.key") == 0o600
    assert unseal(settings, sealed) == "JBSWY3DPEHPK3PXP"
