"""Storage: one writer connection, whole transactions serialized, commits grouped.

Two engines, one code path: a file path means SQLite (the default, one instance), a
postgresql:// URL means PostgreSQL (several instances may share it; what differs lives in
bot/core/pg.py: placeholder translation, rows, migrations' types, advisory locks).

Every write is a coroutine function `fn(tx)` handed to `Database.write`. A writer task takes
whatever writes are waiting and hands the whole batch to the writer thread in ONE hop. There,
inside one `BEGIN IMMEDIATE` transaction, each write runs in its own SAVEPOINT: a failing write
rolls back only itself and raises to its caller; the others commit together, with one fsync
(`synchronous=FULL`) for the batch. So under load many webhooks share a commit, and each caller
still gets "my transaction committed, or it did not".

Why a thread of our own for the writer: aiosqlite runs every call as a round trip between the
event loop and its thread (~0.2 ms each under load), and routing one message takes a couple of
dozen statements. Here the write functions are still written as `async def` (so the same code
reads naturally and could later await a networked database), but the `Tx` they receive executes
each statement synchronously on the writer thread: the coroutine never suspends, and the thread
drives it to completion. A write function must therefore only await the transaction (and other
such functions); anything else fails loudly. Reads outside transactions (pages, health, CLI)
use aiosqlite on a second connection, which WAL lets read while the writer writes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from bot.core import pg
from bot.core.clock import iso
from bot.core.private_files import private_dir, private_file, private_sqlite

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BATCH_MAX = 128
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)
Params = Sequence[Any] | dict[str, Any]

# A constraint violation on either engine (duplicate key, foreign key, CHECK, NOT NULL).
IntegrityError = (sqlite3.IntegrityError, pg.psycopg.IntegrityError)


class Tx:
    """What a write function sees: the writer connection inside an open transaction,
    and the service's settings (deadlines, time zone, public URL) for code that needs them."""

    # Several instances may share a PostgreSQL database; claim queries then end in SKIP_LOCKED
    # (rows another instance's open transaction holds are left to it). SQLite: one instance.
    postgresql = False
    SKIP_LOCKED = ""

    def __init__(self, conn: sqlite3.Connection, settings: Settings | None = None) -> None:
        self.conn = conn
        self._settings = settings
        self._after_commit: list[Callable[[], None]] = []

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("this database was opened without settings")
        return self._settings

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns lastrowid for inserts, rowcount otherwise."""
        cur = self.conn.execute(sql, params)
        if sql.lstrip()[:6].upper() == "INSERT" and cur.rowcount == 1:
            return int(cur.lastrowid or 0)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return self.conn.executemany(sql, rows).rowcount

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    async def value(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` on the event loop once the transaction has committed."""
        self._after_commit.append(callback)

    async def advisory_lock(self, *key: int) -> None:
        """Hold a lock on `key` (one or two ints) until this transaction ends, against other
        instances. SQLite has one instance and one writer: already held.

        PostgreSQL: never waits. A batch holds its locks until it commits, so two instances
        waiting for each other's batches would deadlock; a lock held elsewhere raises `Busy`
        instead, which undoes this write only and runs it again in a later batch."""

    async def savepoint(self, fn: Callable[[Tx], Awaitable[T]], name: str = "inner") -> T:
        """Run `fn` so that its failure undoes only its own writes, then re-raises."""
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError("savepoint names are plain words")
        self.conn.execute(f"SAVEPOINT sp_{name}")  # sp_: "inner" is reserved in PostgreSQL
        mark = len(self._after_commit)
        try:
            result = await fn(self)
        except BaseException:
            self.conn.execute(f"ROLLBACK TO sp_{name}")
            self.conn.execute(f"RELEASE sp_{name}")
            del self._after_commit[mark:]
            raise
        self.conn.execute(f"RELEASE sp_{name}")
        return result


def all_of(conditions: Sequence[str]) -> str:
    """Conditions joined for a WHERE clause; with none, a true one. Not a bare `1`: PostgreSQL
    wants a boolean where SQLite takes any number."""
    return " AND ".join(conditions) or "1 = 1"


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a write coroutine to completion on this thread; it must never really suspend."""
    try:
        waited = coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError(f"a write function waited on {waited!r}: inside a transaction only the"
                       " transaction itself may be awaited")


class PgTx(Tx):
    """The same interface over the PostgreSQL writer connection (statements translated)."""

    postgresql = True
    SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(self, conn: Any, settings: Settings | None, id_tables: dict[str, bool]) -> None:
        super().__init__(conn, settings)
        self._id_tables = id_tables

    async def execute(self, sql: str, params: Params = ()) -> int:
        table = pg.insert_table(sql)
        if table is not None and pg.has_id(self.conn, table, self._id_tables):
            rows = self.conn.execute(pg.translate(sql) + " RETURNING id", params).fetchall()
            return int(rows[0][0]) if len(rows) == 1 else len(rows)
        return int(self.conn.execute(pg.translate(sql), params).rowcount)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        cur = self.conn.cursor()
        cur.executemany(pg.translate(sql), list(rows))
        return int(cur.rowcount)

    async def one(self, sql: str, params: Params = ()) -> Any:
        return self.conn.execute(pg.translate(sql), params).fetchone()

    async def all(self, sql: str, params: Params = ()) -> list[Any]:
        return list(self.conn.execute(pg.translate(sql), params).fetchall())

    async def advisory_lock(self, *key: int) -> None:
        if not self.conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s)" if len(key) == 2
                                 else "SELECT pg_try_advisory_xact_lock(%s)", key).fetchone()[0]:
            raise Busy(key)


class Busy(BaseException):
    """An advisory lock is held by another instance's open transaction: the write is undone and
    queued again (a BaseException, so handlers' `except Exception` let it through)."""


BUSY_RETRY = 0.005  # seconds before a Busy write is queued again
BUSY_GIVE_UP = 30.0  # seconds of Busy after which the write fails to its caller


@dataclass
class _Job:
    fn: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]
    ok: bool = False
    result: Any = None
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    busy_since: float | None = None  # first Busy (monotonic), while it is being retried


class Database:
    """`Database(path, settings)`: when `settings.db_url` is set (O2R_DB is a postgresql:// URL)
    that database is used and `path` is ignored, so every caller follows the configuration."""

    def __init__(self, path: Path | str, settings: Settings | None = None) -> None:
        url = getattr(settings, "db_url", None) or (path if pg.is_url(path) else None)
        self.url: str | None = str(url) if url else None
        self.path = Path(path) if self.url is None else Path()
        self.settings = settings
        self._thread: ThreadPoolExecutor | None = None
        self._writer: Any = None
        self._reader: Any = None
        self._id_tables: dict[str, bool] = {}
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # exposed for health and benchmarks

    @property
    def is_postgresql(self) -> bool:
        return self.url is not None

    async def open(self) -> Database:
        if self.url is not None:
            return await self._open_pg(self.url)
        # Owner-only before SQLite opens it: its -wal and -shm files copy the database's mode.
        await asyncio.to_thread(private_sqlite, self.path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        self._writer = await self._in_writer(self._connect_writer)
        await self._in_writer(migrate, self._writer)
        reader = aiosqlite.connect(self.path, isolation_level=None)
        # Its thread must not keep the interpreter alive if someone forgets close().
        reader._thread.daemon = True
        self._reader = await reader
        self._reader.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await self._reader.execute(pragma)
        self._task = asyncio.create_task(self._write_loop(), name="db-writer")
        await self._seal()
        return self

    async def _seal(self) -> None:
        if self.settings is not None:
            from bot.core.sealing import seal_legacy_totp

            sealed = await self.write(seal_legacy_totp)
            if sealed:
                log.info("sealed %d plain-text TOTP secret(s)", sealed)

    async def _open_pg(self, url: str) -> Database:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        self._writer = await self._in_writer(pg.connect, url)
        await self._in_writer(migrate_pg, self._writer)
        self._reader = await pg.connect_reader(url)
        self._task = asyncio.create_task(self._write_loop(), name="db-writer")
        await self._seal()
        return self

    def _connect_writer(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. Used on the writer thread only.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            conn.execute(pragma)
        return conn

    async def _in_writer(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._thread is not None
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._writer is not None and self._thread is not None:
            await self._in_writer(self._writer.close)
            self._writer = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        return self._task is not None and not self._task.done()

    async def write(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `fn` in a write transaction; returns once it has committed (or raises)."""
        if not self.is_open:
            raise RuntimeError("database is not open")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(fn, fut))
        return await fut

    async def _write_loop(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            while len(jobs) < BATCH_MAX and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            try:
                await self._in_writer(self._run_batch, jobs)
            except Exception as exc:  # BEGIN or COMMIT failed: nothing of the batch stands
                log.exception("write batch of %d failed", len(jobs))
                for job in jobs:
                    job.ok, job.result = False, exc
            else:
                self.commits += 1
            loop = asyncio.get_running_loop()
            for job in jobs:
                if isinstance(job.result, Busy) and not job.future.done():
                    job.busy_since = job.busy_since or loop.time()
                    if loop.time() - job.busy_since < BUSY_GIVE_UP:
                        job.ok, job.result, job.callbacks = False, None, []
                        loop.call_later(BUSY_RETRY, self._queue.put_nowait, job)
                        continue
                    job.result = RuntimeError(f"lock {job.result.args[0]} held for too long")
                if job.future.done():  # the caller gave up waiting; the write still stands
                    continue
                if job.ok:
                    job.future.set_result(job.result)
                else:
                    job.future.set_exception(job.result)
            for job in jobs:
                for cb in job.callbacks if job.ok else ():
                    try:
                        cb()
                    except Exception:
                        log.exception("after-commit callback failed")

    def _run_batch(self, jobs: list[_Job]) -> None:
        """On the writer thread: one transaction, a savepoint per job, one commit."""
        conn = self._writer
        assert conn is not None
        postgresql = self.url is not None
        if postgresql and conn.broken:  # the server restarted or failed over: connect again
            self._writer = conn = pg.connect(self.url)  # type: ignore[arg-type]
        conn.execute("BEGIN" if postgresql else "BEGIN IMMEDIATE")
        try:
            for job in jobs:
                self._run_job(conn, job, postgresql)
            conn.execute("COMMIT")
        except BaseException:
            if pg.in_transaction(conn) if postgresql else conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _run_job(self, conn: Any, job: _Job, postgresql: bool, retry: bool = True) -> None:
        tx = PgTx(conn, self.settings, self._id_tables) if postgresql else Tx(conn, self.settings)
        try:
            job.result = drive(tx.savepoint(job.fn, "job"))
            job.ok = True
            job.callbacks = tx._after_commit
        except Busy as exc:  # undone by its savepoint; queued again by the write loop
            job.ok, job.result = False, exc
        except pg.psycopg.errors.TransactionRollback as exc:
            # A deadlock with another instance (locks taken in different orders): the server
            # undid this write's savepoint; run it once more.
            if not retry:
                job.ok, job.result = False, exc
                return
            log.warning("write rolled back by the server (%s); running it again", exc.sqlstate)
            self._run_job(conn, job, postgresql, retry=False)
        except Exception as exc:
            job.ok, job.result = False, exc

    # Reads ---------------------------------------------------------------------------------

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "database is not open"
        if self.url is not None:
            if self._reader.broken:
                self._reader = await pg.connect_reader(self.url)
            cur = await self._reader.execute(pg.translate(sql), params)
            return list(await cur.fetchall())
        return list(await self._reader.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def value(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def columns(self) -> dict[str, list[str]]:
        """Each table's columns, in order (for exports and checks that read the schema)."""
        if self.url is not None:
            rows = await self.all(pg.columns_sql())
        else:
            rows = await self.all(
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p"
                " WHERE m.type = 'table' ORDER BY m.name, p.cid")
        tables: dict[str, list[str]] = {}
        for table, column in rows:
            tables.setdefault(table, []).append(column)
        return tables

    async def backup(self, target: Path) -> None:
        """SQLite's online backup: a consistent copy while the service keeps writing.
        (PostgreSQL is backed up with pg_dump, see README.)"""
        assert self._reader is not None, "database is not open"
        if self.url is not None:
            raise RuntimeError("back up PostgreSQL with pg_dump (README: Backups)")
        await asyncio.to_thread(private_dir, target.parent)
        await asyncio.to_thread(private_file, target)  # 0600 before any page is copied into it
        async with aiosqlite.connect(target) as dest:
            await self._reader.backup(dest)


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply numbered migrations (NNN_name.sql) not yet recorded; each in its own transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied: list[int] = []
    # A table rebuild (create, copy, drop, rename) needs foreign keys off while the old table is
    # dropped; they are checked before each migration commits and turned back on after.
    fk_on = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        _apply(conn, done, applied)
    finally:
        if fk_on:
            conn.execute("PRAGMA foreign_keys=ON")
    return applied


def migration_files() -> list[Path]:
    """NNN_name.sql in order; NNN_name.postgresql.sql files are PostgreSQL's versions of them."""
    return sorted(p for p in MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")
                  if not p.name.endswith(".postgresql.sql"))


def migrate_pg(conn: Any) -> list[int]:
    """PostgreSQL: the same numbered migrations, each in its own transaction, under an advisory
    lock so that instances starting together apply each version once."""
    conn.execute("SELECT pg_advisory_lock(%s)", (pg.LOCK_MIGRATE,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        applied: list[int] = []
        for path in migration_files():
            version = int(path.name[:3])
            if version in done:
                continue
            with conn.transaction():
                for statement in _split_sql(pg.migration_sql(path)):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (version, name, applied_at)"
                             " VALUES (%s, %s, %s)", (version, path.stem, _now_iso()))
            applied.append(version)
            log.info("applied migration %s (PostgreSQL)", path.name)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (pg.LOCK_MIGRATE,))


def _now_iso() -> str:
    return iso(datetime.now(UTC))


def _apply(conn: sqlite3.Connection, done: set[int], applied: list[int]) -> None:
    for path in migration_files():
        version = int(path.name[:3])
        if version in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Recheck under the write lock: a CLI and the service may start together.
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?",
                            (version,)).fetchone():
                conn.execute("ROLLBACK")
                continue
            for statement in _split_sql(path.read_text(encoding="utf-8")):
                conn.execute(statement)
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise sqlite3.IntegrityError(
                    f"migration {path.name} leaves foreign keys broken: {broken[:5]}")
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))", (version, path.stem))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
        log.info("applied migration %s", path.name)


def _split_sql(script: str) -> list[str]:
    """Statements of a migration file (no semicolons inside string literals in our migrations)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
