"""Erasure must decide about every table that holds a client_id, on the live schema (all
migrations, other branches' included): a new table cannot silently keep a person's data."""

from __future__ import annotations

import sqlite3

from bot.core.db import migrate
from bot.privacy.erase import SCRUB


def test_every_table_with_a_client_is_named_by_erasure() -> None:
    conn = sqlite3.connect(":memory:")
    migrate(conn)
    tables = {name for (name,) in conn.execute(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS"
        " (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'client_id')")}
    assert tables - SCRUB.keys() == set(), "add a rule to bot/privacy/erase.SCRUB"
    assert SCRUB.keys() - tables - {"clients"} == set()
    # Every statement runs on the schema.
    for statements in SCRUB.values():
        for sql in statements:
            conn.execute(sql, {"cid": 1, "now": "2026-11-25T10:00:00.000000Z"})
