"""Migration 013 rebuilds `escalations` so a stranger's crisis can be a row without a client:
run on a database that already holds escalations, findings and notices."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.core.db import _split_sql, migrate, migration_files

AT = "2026-11-25T10:00:00.000000Z"


def up_to(conn: sqlite3.Connection, before: int) -> None:
    """The schema as a release before migration `before` left it (each file applied and
    recorded)."""
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                 " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for path in migration_files():  # SQLite's files, not the .postgresql.sql versions
        if int(path.name[:3]) >= before:
            break
        for statement in _split_sql(path.read_text(encoding="utf-8")):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                     (int(path.name[:3]), path.stem, AT))


def test_rebuild_keeps_rows_ids_links_and_indexes(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    up_to(conn, 13)
    conn.execute("INSERT INTO staff (id, name, role, created_at) VALUES (3, 'Dana Hughes',"
                 " 'officer', ?)", (AT,))
    conn.execute("INSERT INTO clients (id, ref, first_name, officer_id, created_at)"
                 " VALUES (5, 'C-1', 'Sam', 3, ?)", (AT,))
    conn.execute("INSERT INTO escalations (id, client_id, severity, reason, source, officer_id,"
                 " status, level, created_at, updated_at, acknowledged_by, outcome) VALUES"
                 " (7, 5, 'RED', 'crisis_text', 'answer', 3, 'acknowledged', 1, ?, ?, 3, NULL)",
                 (AT, AT))
    conn.execute("INSERT INTO findings (client_id, severity, reason, source, at, escalation_id)"
                 " VALUES (5, 'RED', 'crisis_text', 'answer', ?, 7)", (AT,))
    conn.execute("INSERT INTO escalation_notices (escalation_id, staff_id, level, at)"
                 " VALUES (7, 3, 0, ?)", (AT,))

    applied = migrate(conn)
    assert applied[0] == 13 and all(v > 13 for v in applied[1:])  # and any later ones

    row = conn.execute("SELECT id, client_id, officer_id, status, level, acknowledged_by,"
                       " inbound_id FROM escalations").fetchall()
    assert row == [(7, 5, 3, "acknowledged", 1, 3, None)]
    assert conn.execute("SELECT escalation_id FROM findings").fetchall() == [(7,)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)  # back on
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(escalations)")}
    assert {"escalations_one_open", "escalations_status", "escalations_inbound"} <= indexes
    # The children still point at the rebuilt table: a notice for a missing escalation fails.
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO escalation_notices (escalation_id, staff_id, level, at)"
                     " VALUES (99, 3, 0, ?)", (AT,))
    # A row without a client must name the message that raised it.
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO escalations (severity, reason, source, created_at, updated_at)"
                     " VALUES ('RED', 'crisis_text', 'unmatched', ?, ?)", (AT, AT))
    conn.execute("INSERT INTO inbound (id, channel, provider_id, address, received_at)"
                 " VALUES (11, 'sms', 'SM1', '+447700900456', ?)", (AT,))
    conn.execute("INSERT INTO escalations (severity, reason, source, created_at, updated_at,"
                 " inbound_id) VALUES ('RED', 'crisis_text', 'unmatched', ?, ?, 11)", (AT, AT))
    # One open per client and reason still holds.
    conn.execute("UPDATE escalations SET status = 'notified' WHERE id = 7")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO escalations (client_id, severity, reason, source, created_at,"
                     " updated_at) VALUES (5, 'RED', 'crisis_text', 'answer', ?, ?)", (AT, AT))
    conn.close()


def test_a_migration_that_breaks_a_foreign_key_is_rolled_back(tmp_path: Path) -> None:
    """The runner turns foreign keys off for rebuilds, so it checks them itself."""
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    up_to(conn, 13)
    conn.execute("PRAGMA foreign_keys=OFF")  # a damaged database: a finding for no client
    conn.execute("INSERT INTO findings (client_id, severity, reason, source, at)"
                 " VALUES (42, 'RED', 'crisis_text', 'answer', ?)", (AT,))
    conn.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(sqlite3.IntegrityError, match="foreign keys broken"):
        migrate(conn)
    assert conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone() == (12,)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    conn.close()
