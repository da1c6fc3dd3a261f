"""The storage module on a real temp file: group commit, per-write rollback, savepoints,
after-commit callbacks, the never-suspend rule, migrations, reads, backup and reopen."""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.core import db as storage
from bot.core.db import BATCH_MAX, Database, IntegrityError, Tx, drive, migrate


class Boom(Exception):
    """A write function's own failure."""


async def _make_table(tx: Tx) -> None:
    await tx.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")


@pytest.fixture
def target(tmp_path: Path, db_url: str | None) -> Path | str:
    """Where the test's database lives: a temp SQLite file or a fresh PostgreSQL schema."""
    return db_url or tmp_path / "o2r.db"


@pytest.fixture
async def db(target: Path | str) -> AsyncIterator[Database]:
    """An open database (either engine), with a `notes` table of our own."""
    database = await Database(target).open()
    await database.write(_make_table)
    try:
        yield database
    finally:
        await database.close()


def insert(v: str) -> Callable[[Tx], Awaitable[int]]:
    """A write that inserts one note and returns its row id."""

    async def fn(tx: Tx) -> int:
        return await tx.execute("INSERT INTO notes (v) VALUES (?)", (v,))

    return fn


async def notes(db: Database) -> list[str]:
    return [r[0] for r in await db.all("SELECT v FROM notes ORDER BY id")]


def migration_files() -> list[tuple[int, str]]:
    return [(int(p.name[:3]), p.stem) for p in storage.migration_files()]


def read_elsewhere(db: Database, sql: str) -> list[tuple[object, ...]]:
    """Rows as a separate connection sees them (what is committed)."""
    if db.url is not None:
        import psycopg

        with psycopg.connect(db.url) as other:
            return [tuple(r) for r in other.execute(sql).fetchall()]
    other = sqlite3.connect(db.path)
    try:
        return [tuple(r) for r in other.execute(sql)]
    finally:
        other.close()


# Group commit --------------------------------------------------------------------------------

async def test_concurrent_writes_all_commit_with_own_results_in_few_batches(db: Database) -> None:
    """200 concurrent writes all commit, each caller gets its own row id, in far fewer commits."""
    n = 200
    before = db.commits

    def work(i: int) -> Callable[[Tx], Awaitable[tuple[int, int]]]:
        async def fn(tx: Tx) -> tuple[int, int]:
            rowid = await tx.execute("INSERT INTO notes (v) VALUES (?)", (f"n{i}",))
            return i, rowid

        return fn

    results = await asyncio.gather(*(db.write(work(i)) for i in range(n)))

    assert [i for i, _ in results] == list(range(n))
    by_id = {r[0]: r[1] for r in await db.all("SELECT id, v FROM notes")}
    assert len(by_id) == n
    for i, rowid in results:
        assert by_id[rowid] == f"n{i}"  # the id each caller got is the row it wrote
    batches = db.commits - before
    assert math.ceil(n / BATCH_MAX) <= batches < n


async def test_failing_write_undoes_only_itself_and_raises_to_its_caller(db: Database) -> None:
    """In one batch, a write that raises loses its rows and gets its error; the others commit."""

    async def bad(tx: Tx) -> None:
        await tx.execute("INSERT INTO notes (v) VALUES ('bad-1')")
        await tx.execute("INSERT INTO notes (v) VALUES ('bad-2')")
        raise Boom("no")

    before = db.commits
    results = await asyncio.gather(
        db.write(insert("a")), db.write(bad), db.write(insert("b")),
        return_exceptions=True)

    assert db.commits - before == 1  # all three shared one transaction
    assert isinstance(results[1], Boom) and str(results[1]) == "no"
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert await notes(db) == ["a", "b"]


async def test_constraint_violation_fails_only_that_write(db: Database) -> None:
    """A real SQLite error (duplicate key) in one write leaves its neighbours committed."""
    await db.write(insert("dup"))

    async def dup_after_insert(tx: Tx) -> None:
        await tx.execute("INSERT INTO notes (v) VALUES ('first-half')")
        await tx.execute("INSERT INTO notes (v) VALUES ('dup')")

    results = await asyncio.gather(db.write(dup_after_insert), db.write(insert("ok")),
                                   return_exceptions=True)
    assert isinstance(results[0], IntegrityError)
    assert await notes(db) == ["dup", "ok"]


async def test_write_on_closed_database_raises(target: Path | str) -> None:
    """Writing before open or after close is refused, not queued forever."""
    database = Database(target)
    with pytest.raises(RuntimeError, match="not open"):
        await database.write(insert("x"))
    await database.open()
    assert database.is_open
    await database.close()
    assert not database.is_open
    with pytest.raises(RuntimeError, match="not open"):
        await database.write(insert("x"))


# Savepoints and callbacks --------------------------------------------------------------------

async def test_savepoint_failure_rolls_back_only_the_inner_part(db: Database) -> None:
    """A failing `tx.savepoint` undoes its own rows; the outer write keeps going and commits."""

    async def inner(tx: Tx) -> None:
        await tx.execute("INSERT INTO notes (v) VALUES ('inner')")
        raise Boom("inner")

    async def ok_inner(tx: Tx) -> str:
        await tx.execute("INSERT INTO notes (v) VALUES ('kept-inner')")
        return "done"

    async def outer(tx: Tx) -> str:
        await tx.execute("INSERT INTO notes (v) VALUES ('before')")
        with pytest.raises(Boom):
            await tx.savepoint(inner)
        await tx.execute("INSERT INTO notes (v) VALUES ('after')")
        return await tx.savepoint(ok_inner, "second")

    assert await db.write(outer) == "done"
    assert await notes(db) == ["before", "after", "kept-inner"]


async def test_savepoint_names_must_be_plain_words(db: Database) -> None:
    """A savepoint name is spliced into SQL, so anything but [a-z_]+ is refused."""

    async def fn(tx: Tx) -> None:
        await tx.savepoint(insert("x"), "x; DROP TABLE notes")

    with pytest.raises(ValueError, match="plain words"):
        await db.write(fn)
    assert await notes(db) == []


async def test_after_commit_runs_only_once_committed(db: Database) -> None:
    """Callbacks run after COMMIT (another connection already sees the row), not inside the write."""
    seen: list[list[str]] = []

    def check() -> None:
        seen.append([r[0] for r in read_elsewhere(db, "SELECT v FROM notes")])

    async def fn(tx: Tx) -> None:
        await tx.execute("INSERT INTO notes (v) VALUES ('committed')")
        tx.after_commit(check)
        assert seen == []  # registering does not run it

    await db.write(fn)
    await asyncio.sleep(0)
    assert seen == [["committed"]]


async def test_after_commit_skipped_for_failed_write_and_failed_savepoint(db: Database) -> None:
    """A write that raises runs none of its callbacks; a failed savepoint drops only its own."""
    calls: list[str] = []

    async def failing(tx: Tx) -> None:
        tx.after_commit(lambda: calls.append("failed-write"))
        raise Boom

    async def inner(tx: Tx) -> None:
        tx.after_commit(lambda: calls.append("failed-savepoint"))
        raise Boom

    async def partly(tx: Tx) -> None:
        tx.after_commit(lambda: calls.append("outer"))
        with pytest.raises(Boom):
            await tx.savepoint(inner)

    with pytest.raises(Boom):
        await db.write(failing)
    await db.write(partly)
    await asyncio.sleep(0)
    assert calls == ["outer"]


async def test_a_raising_callback_does_not_stop_the_others(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    """One broken after-commit callback is logged; later callbacks and writes still run."""
    calls: list[str] = []

    def broken() -> None:
        raise Boom("callback")

    async def fn(tx: Tx) -> None:
        tx.after_commit(broken)
        tx.after_commit(lambda: calls.append("second"))

    with caplog.at_level(logging.ERROR, logger="bot.core.db"):
        await db.write(fn)
        await asyncio.sleep(0)
    assert calls == ["second"]
    assert "after-commit callback failed" in caplog.text
    await db.write(insert("still-works"))
    assert await notes(db) == ["still-works"]


async def test_tx_settings_without_settings_raises(db: Database) -> None:
    """A database opened without settings says so instead of handing out None."""

    async def fn(tx: Tx) -> object:
        return tx.settings

    with pytest.raises(RuntimeError, match="without settings"):
        await db.write(fn)


# The never-suspend rule ----------------------------------------------------------------------

def test_drive_runs_a_non_suspending_coroutine() -> None:
    """`drive` returns the value of a coroutine that only awaits non-suspending code."""

    async def leaf() -> int:
        return 41

    async def top() -> int:
        return await leaf() + 1

    assert drive(top()) == 42


def test_drive_refuses_a_coroutine_that_suspends() -> None:
    """`drive` fails loudly, naming the awaited thing, when a coroutine really suspends."""
    closed: list[bool] = []

    async def suspends() -> None:
        try:
            await asyncio.sleep(0)
        finally:
            closed.append(True)

    with pytest.raises(RuntimeError, match="only the transaction itself may be awaited"):
        drive(suspends())
    assert closed == [True]  # the coroutine was closed, its cleanup ran


async def test_awaiting_anything_but_the_transaction_fails_the_write(db: Database) -> None:
    """A write that awaits e.g. asyncio.sleep raises to its caller, its rows are rolled back,
    and its batch neighbours still commit."""

    async def sleeper(tx: Tx) -> None:
        await tx.execute("INSERT INTO notes (v) VALUES ('sleeper')")
        await asyncio.sleep(0)
        await tx.execute("INSERT INTO notes (v) VALUES ('never')")

    results = await asyncio.gather(db.write(insert("a")), db.write(sleeper),
                                   db.write(insert("b")), return_exceptions=True)
    assert isinstance(results[1], RuntimeError)
    assert "only the transaction itself may be awaited" in str(results[1])
    assert await notes(db) == ["a", "b"]


# Migrations ----------------------------------------------------------------------------------

async def test_fresh_database_gets_every_migration_once(db: Database) -> None:
    """schema_migrations lists exactly the numbered files in bot/core/migrations."""
    assert migration_files(), "no migration files found"
    rows = await db.all("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r[0], r[1]) for r in rows] == migration_files()


async def test_reopening_applies_nothing_twice(target: Path | str) -> None:
    """A second open (and a direct `migrate`) finds every migration recorded and applies none."""
    async with Database(target) as first:
        applied = await first.all("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    async with Database(target) as second:
        again = await second.all("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    assert [tuple(r) for r in again] == [tuple(r) for r in applied]

    if isinstance(target, str):
        from bot.core import pg

        with pg.connect(target) as conn:
            assert storage.migrate_pg(conn) == []
        return
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        assert migrate(conn) == []
    finally:
        conn.close()


async def test_instances_starting_together_apply_each_migration_once(
        target: Path | str) -> None:
    """Three opens at once on one empty database: every version recorded once, all open."""
    dbs = [Database(target) for _ in range(3)]
    await asyncio.gather(*(d.open() for d in dbs))
    try:
        rows = await dbs[0].all("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r[0], r[1]) for r in rows] == migration_files()
    finally:
        for d in dbs:
            await d.close()


async def test_both_engines_end_with_the_same_tables_and_columns(
        tmp_path: Path, pg_database: str) -> None:
    """After all migrations SQLite and PostgreSQL have the same tables, columns in order
    (a PostgreSQL override of a SQLite rebuild must land on the same schema)."""
    from tests.conftest import pg_schema_url

    async with Database(tmp_path / "lite.db") as lite, \
            Database(pg_schema_url(pg_database)) as big:
        assert await lite.columns() == await big.columns()


def test_migrate_on_a_bare_connection_applies_all_in_order(tmp_path: Path) -> None:
    """`migrate` returns the versions it applied, in file order, then nothing the second time."""
    conn = sqlite3.connect(tmp_path / "bare.db", isolation_level=None)
    try:
        assert migrate(conn) == [v for v, _ in migration_files()]
        assert migrate(conn) == []
        count = conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
        assert count == len(migration_files())
    finally:
        conn.close()


# Reads, backup, reopen -----------------------------------------------------------------------

async def test_reads_see_committed_writes(db: Database) -> None:
    """Once `write` returns, the reader connection sees the row (one, value, all)."""
    rowid = await db.write(insert("visible"))
    assert await db.value("SELECT v FROM notes WHERE id = ?", (rowid,)) == "visible"
    row = await db.one("SELECT id, v FROM notes")
    assert row is not None and (row["id"], row["v"]) == (rowid, "visible")
    assert await db.one("SELECT v FROM notes WHERE id = -1") is None
    assert await db.value("SELECT v FROM notes WHERE id = -1") is None


async def test_a_nul_in_a_string_is_stored_not_refused(db: Database) -> None:
    """PostgreSQL's text cannot hold NUL: there it becomes U+FFFD instead of failing the write
    (an inbound message would be lost); SQLite keeps it. Reads with a NUL parameter work too."""
    rowid = await db.write(insert("a\x00b"))
    stored = await db.value("SELECT v FROM notes WHERE id = ?", (rowid,))
    assert stored == ("a\ufffdb" if db.url else "a\x00b")
    assert await db.value("SELECT COUNT(*) FROM notes WHERE v = ?", ("a\x00b",)) == 1


async def test_like_ignores_case_on_both_engines(db: Database) -> None:
    """SQLite's LIKE ignores (ASCII) case, PostgreSQL's does not: it is translated to ILIKE."""
    await db.write(insert("D-001"))
    assert await db.value("SELECT COUNT(*) FROM notes WHERE v LIKE ?", ("d-00%",)) == 1
    assert await db.value("SELECT COUNT(*) FROM notes WHERE v NOT LIKE 'd%'") == 0


async def test_backup_holds_the_same_rows(tmp_path: Path) -> None:
    """`backup` writes a file that opens on its own with the same rows and migrations."""
    db = await Database(tmp_path / "o2r.db").open()
    await db.write(_make_table)
    for v in ("one", "two", "three"):
        await db.write(insert(v))
    target = tmp_path / "backups" / "copy.db"
    await db.backup(target)
    await db.close()

    conn = sqlite3.connect(target)
    try:
        assert [r[0] for r in conn.execute("SELECT v FROM notes ORDER BY id")] == ["one", "two", "three"]
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        conn.close()
    assert versions == [v for v, _ in migration_files()]


async def test_data_survives_close_and_reopen(target: Path | str) -> None:
    """Rows written before close are there after a fresh open of the same database."""
    async with Database(target) as first:
        await first.write(_make_table)
        await asyncio.gather(*(first.write(insert(f"r{i}")) for i in range(20)))
    async with Database(target) as second:
        assert await notes(second) == [f"r{i}" for i in range(20)]
        await second.write(insert("after-reopen"))
        assert await second.value("SELECT COUNT(*) FROM notes") == 21


async def test_a_lock_held_elsewhere_delays_the_write_without_failing_it(
        db: Database, target: Path | str) -> None:
    """PostgreSQL: a write whose advisory lock another instance holds is undone and run again
    once it is free (its neighbours commit meanwhile); SQLite: the lock is already ours."""

    async def locked(tx: Tx) -> int:
        await tx.advisory_lock(7, 42)
        return await tx.execute("INSERT INTO notes (v) VALUES ('locked')")

    if isinstance(target, Path):
        assert await db.write(locked) > 0
        return
    import psycopg

    with psycopg.connect(target) as other:  # another instance, mid-transaction
        other.execute("SELECT pg_advisory_xact_lock(7, 42)")
        pending = asyncio.ensure_future(db.write(locked))
        await asyncio.sleep(0.2)
        assert not pending.done()
        await db.write(insert("meanwhile"))
        other.commit()
    assert await asyncio.wait_for(pending, 5) > 0
    assert await notes(db) == ["meanwhile", "locked"]
