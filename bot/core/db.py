"""SQLite storage: one writer connection, whole transactions serialized, commits grouped.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

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


class Tx:
    """What a write function sees: the writer connection inside an open transaction,
    and the service's settings (deadlines, time zone, public URL) for code that needs them."""

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

    async def savepoint(self, fn: Callable[[Tx], Awaitable[T]], name: str = "inner") -> T:
        """Run `fn` so that its failure undoes only its own writes, then re-raises."""
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError("savepoint names are plain words")
        self.conn.execute(f"SAVEPOINT {name}")
        mark = len(self._after_commit)
        try:
            result = await fn(self)
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            del self._after_commit[mark:]
            raise
        self.conn.execute(f"RELEASE {name}")
        return result


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a write coroutine to completion on this thread; it must never really suspend."""
    try:
        waited = coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError(f"a write function waited on {waited!r}: inside a transaction only the"
                       " transaction itself may be awaited")


@dataclass
class _Job:
    fn: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]
    ok: bool = False
    result: Any = None
    callbacks: list[Callable[[], None]] = field(default_factory=list)


class Database:
    def __init__(self, path: Path | str, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self._thread: ThreadPoolExecutor | None = None
        self._writer: sqlite3.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # exposed for health and benchmarks

    async def open(self) -> Database:
        # Owner-only before SQLite opens it: its -wal and -shm files copy the database's mode.
        await asyncio.to_thread(private_sqlite, self.path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        self._writer = await self._in_writer(self._connect_writer)
        await self._in_writer(migrate, self._writer)
        if self.settings is not None:
            from bot.core.sealing import seal_legacy_totp

            sealed = await self._in_writer(seal_legacy_totp, self._writer, self.settings)
            if sealed:
                log.info("sealed %d plain-text TOTP secret(s)", sealed)
        reader = aiosqlite.connect(self.path, isolation_level=None)
        # Its thread must not keep the interpreter alive if someone forgets close().
        reader._thread.daemon = True
        self._reader = await reader
        self._reader.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await self._reader.execute(pragma)
        self._task = asyncio.create_task(self._write_loop(), name="db-writer")
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
            for job in jobs:
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
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in jobs:
                tx = Tx(conn, self.settings)
                try:
                    job.result = drive(tx.savepoint(job.fn, "job"))
                    job.ok = True
                    job.callbacks = tx._after_commit
                except Exception as exc:
                    job.ok, job.result = False, exc
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # Reads ---------------------------------------------------------------------------------

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "database is not open"
        return list(await self._reader.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def value(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def backup(self, target: Path) -> None:
        """SQLite's online backup: a consistent copy while the service keeps writing."""
        assert self._reader is not None, "database is not open"
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


def _apply(conn: sqlite3.Connection, done: set[int], applied: list[int]) -> None:
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
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
