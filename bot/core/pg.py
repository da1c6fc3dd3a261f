"""PostgreSQL behind the storage interface of bot/core/db.py (`Database`, `Tx`): what differs.

Callers write one dialect: `?` or `:name` placeholders, ISO-8601 TEXT timestamps, INTEGER
flags, GROUP_CONCAT, LIKE ignoring case. Here that SQL is translated once per statement text
(cached), rows come back as `Row` (index and name access like sqlite3.Row), booleans are stored
as 0/1, strings lose any NUL, and NUMERIC results (SUM, AVG) come back as int or float. The
writer connection is synchronous and used on the writer thread only, exactly like SQLite's, so
the group commit and the "a write function never suspends" rule stay one code path. On the
writer, parameters are bound server-side and statements used often are prepared (psycopg's
default, after 5 uses): the hot path runs the same ~18 statements for every message, and parsing
and planning each one afresh cost about a third of a message's time (bench, 30 Nov 2026: 5.2-5.7
ms a message with client-side binding, 3.0-4.1 ms without). Readers (pages, the CLI) bind
client-side (AsyncClientCursor): literals then take the column's type as SQLite's affinity
does, and a `?` whose type PostgreSQL could not infer (`SELECT ? || x`) still works there.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus

URL_PREFIXES = ("postgresql://", "postgres://")
# pg_advisory_lock keys: any fixed 64-bit numbers that no other application on the database uses.
LOCK_MIGRATE = 0x6F32_7201
# Two-int keys (class, id) for pg_advisory_xact_lock: a client's inbound handling, a sender
# without a client (by address hash), the daily planner.
LOCK_CLIENT = 0x6F32_01
LOCK_ADDRESS = 0x6F32_02
LOCK_PLAN = 0x6F32_03


def is_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(URL_PREFIXES)


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or (case-insensitive) column name, with keys() and dict()."""

    _names: dict[str, int]

    def __new__(cls, values: Iterable[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                key = self._names[key.lower()]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names = {d.name.lower(): i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


class _BoolAsInt(Dumper):
    """Flags are INTEGER columns (as in SQLite): True/False go in as 1/0."""

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: Any) -> bytes:
        return self.dump(obj)


class _Text(Dumper):
    """Strings with NUL replaced by U+FFFD: PostgreSQL's text cannot hold NUL and refuses the
    whole statement, so an inbound message or address carrying one (a fuzzer, a broken
    client) would be lost with a 500; SQLite stores it. Replaced here, once, for every caller.
    oid 0 (unknown), as psycopg's default: the literal takes its column's type."""

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        encoding = self.connection.info.encoding if self.connection else "utf-8"
        self._encoding = encoding if encoding != "ascii" else "utf-8"

    def dump(self, obj: str) -> bytes:
        return obj.replace("\x00", "\ufffd").encode(self._encoding)


class _Number(Loader):
    """NUMERIC (what SUM and AVG of integers return) as int or float, as SQLite gives them."""

    def load(self, data: Any) -> Any:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def _adapt(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_dumper(str, _Text)
    conn.adapters.register_loader("numeric", _Number)


def connect(url: str) -> psycopg.Connection[Row]:
    """The writer connection: autocommit, so BEGIN/COMMIT are ours as with SQLite."""
    conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
    _adapt(conn)
    return conn  # type: ignore[return-value]


async def connect_reader(url: str) -> psycopg.AsyncConnection[Row]:
    conn = await psycopg.AsyncConnection.connect(
        url, autocommit=True, cursor_factory=psycopg.AsyncClientCursor, row_factory=_row_factory)
    _adapt(conn)
    return conn  # type: ignore[return-value]


def in_transaction(conn: psycopg.Connection[Any]) -> bool:
    return conn.info.transaction_status != TransactionStatus.IDLE


# SQL translation ------------------------------------------------------------------------------

_TOKEN = re.compile(r"'(?:[^']|'')*'|::|:([A-Za-z_]\w*)|\bIS\s+(NOT\s+)?\?|\?|%|\bLIKE\b",
                    re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"\bGROUP_CONCAT\s*\(", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """Our dialect to psycopg's: `?` -> %s, `:name` -> %(name)s, a literal % doubled,
    `IS [NOT] ?` -> IS [NOT] DISTINCT FROM, GROUP_CONCAT(x[, sep]) -> string_agg(x::text, sep),
    LIKE -> ILIKE, CREATE TABLE's types as in migrations."""
    sql = _group_concat(sql)
    if _CREATE.match(sql):
        sql = ddl(sql)

    def token(m: re.Match[str]) -> str:
        text = m.group(0)
        if text[0] == "'":
            return text.replace("%", "%%")
        if text == "?":
            return "%s"
        if text[-1] == "?":  # SQLite's null-safe `IS ?` / `IS NOT ?`
            return "IS DISTINCT FROM %s" if m.group(2) else "IS NOT DISTINCT FROM %s"
        if text == "%":
            return "%%"
        if text.upper() == "LIKE":  # SQLite's LIKE ignores case (ASCII); PostgreSQL's does not
            return "ILIKE"
        if m.group(1):
            return f"%({m.group(1)})s"
        return text

    return _TOKEN.sub(token, sql)


def _group_concat(sql: str) -> str:
    while (m := _GROUP_CONCAT.search(sql)) is not None:
        depth, args, start = 1, [], m.end()
        i = start
        while depth:
            ch = sql[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                args.append(sql[start:i])
                start = i + 1
            elif ch == "'":
                i = sql.index("'", i + 1)
            i += 1
        args.append(sql[start:i - 1])
        expr = args[0].strip()
        distinct = ""
        if expr.upper().startswith("DISTINCT "):
            distinct, expr = "DISTINCT ", expr[9:].strip()
        sep = args[1].strip() if len(args) > 1 else "','"
        sql = f"{sql[:m.start()]}string_agg({distinct}({expr})::text, {sep}){sql[i:]}"
    return sql


_CREATE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)
_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


def insert_table(sql: str) -> str | None:
    """The table an INSERT without its own RETURNING writes to (for SQLite's lastrowid)."""
    m = _INSERT.match(sql)
    if m is None or re.search(r"\bRETURNING\b", sql, re.IGNORECASE):
        return None
    return m.group(1).lower()


# Migrations -------------------------------------------------------------------------------------

def migration_sql(path: Path) -> str:
    """A migration's text for PostgreSQL: its NNN_name.postgresql.sql override if there is one
    (a SQLite table rebuild has a plain ALTER here), else the shared file with SQLite's types
    mapped: an `id INTEGER PRIMARY KEY` is an identity column, INTEGER is 64-bit as in SQLite,
    REAL is double precision."""
    override = path.with_suffix(".postgresql.sql")
    if override.exists():
        return override.read_text(encoding="utf-8")
    return ddl(path.read_text(encoding="utf-8"))


def ddl(sql: str) -> str:
    """SQLite's column types in PostgreSQL's words (see migration_sql)."""
    sql = re.sub(r"\bid INTEGER PRIMARY KEY\b(?!\s+REFERENCES)",
                 "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)


def has_id(conn: psycopg.Connection[Any], table: str, known: dict[str, bool]) -> bool:
    """Whether `table` has an `id` column (an INSERT into it then returns the new id, as
    SQLite's lastrowid), looked up once per table and connection."""
    found = known.get(table)
    if found is None:
        found = known[table] = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = %s AND column_name = 'id'", (table,)).fetchone() is not None
    return found


def columns_sql() -> str:
    return ("SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position")
