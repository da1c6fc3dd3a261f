"""Migration 018 rebuilds `staff` and `role_requests` so their CHECK lists admit 'evaluator':
run on a database that already holds staff, a pending role request and rows pointing at staff."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.core.db import migrate
from tests.core.test_migration_013 import up_to

AT = "2026-11-30T10:00:00.000000Z"


def test_rebuild_keeps_staff_ids_requests_and_links(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    up_to(conn, 18)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO staff (name, role, created_at) VALUES ('E', 'evaluator', ?)",
                     (AT,))
    conn.execute("INSERT INTO staff (id, name, role, username, available, active, created_at,"
                 " unavailable_reason, disabled_reason) VALUES (3, 'Dana Hughes', 'officer',"
                 " 'dana', 0, 1, ?, 'on leave', NULL)", (AT,))
    conn.execute("INSERT INTO clients (id, ref, first_name, officer_id, created_at)"
                 " VALUES (5, 'C-1', 'Sam', 3, ?)", (AT,))
    conn.execute("INSERT INTO role_requests (id, staff_id, from_role, to_role, requested_by,"
                 " requested_at) VALUES (9, 3, 'officer', 'supervisor', 'staff:1', ?)", (AT,))

    assert 18 in migrate(conn)

    assert conn.execute("SELECT id, name, role, username, available, unavailable_reason"
                        " FROM staff").fetchall() == [(3, "Dana Hughes", "officer", "dana", 0,
                                                       "on leave")]
    assert conn.execute("SELECT id, staff_id, to_role, status FROM role_requests").fetchall() \
        == [(9, 3, "supervisor", "pending")]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert "role_requests_one_pending" in {r[1] for r in conn.execute(
        "PRAGMA index_list(role_requests)")}
    conn.execute("INSERT INTO staff (name, role, created_at) VALUES ('Eve', 'evaluator', ?)",
                 (AT,))
    conn.execute("INSERT INTO role_requests (staff_id, to_role, requested_by, requested_at)"
                 " VALUES (4, 'evaluator', 'staff:1', ?)", (AT,))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO staff (name, role, created_at) VALUES ('X', 'boss', ?)", (AT,))
    # Children still point at the rebuilt staff table.
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO clients (ref, first_name, officer_id, created_at)"
                     " VALUES ('C-2', 'Jo', 99, ?)", (AT,))
