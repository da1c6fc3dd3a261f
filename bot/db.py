"""SQLite storage: one writer connection, whole transactions serialized, commits grouped.

Every write is a coroutine `fn(tx)` handed to `Database.write`. A single writer task takes
whatever writes are waiting, runs each inside its own SAVEPOINT within one `BEGIN IMMEDIATE`
transaction, and commits once. A failing write rolls back only its own savepoint and raises to
its caller; the others commit. So under load many webhooks share one fsync (group commit),
while each caller still gets "my transaction committed or it did not" semantics, and
`synchronous=FULL` keeps each commit durable. Reads go through a second connection (WAL lets
it read while the writer writes).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

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


class Tx:
    """What a write function sees: the writer connection inside an open transaction,
    and the service's settings (deadlines, time zone, public URL) for code that needs them."""

    def __init__(self, conn: aiosqlite.Connection, settings: Settings | None = None) -> None:
        self.conn = conn
        self._settings = settings
        self._after_commit: list[Callable[[], None]] = []

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("this database was opened without settings")
        return self._settings

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one statement; returns lastrowid for inserts, rowcount otherwise."""
        cur = await self.conn.execute(sql, params)
        try:
            if sql.lstrip()[:6].upper() == "INSERT" and cur.rowcount == 1:
                return int(cur.lastrowid or 0)
            return cur.rowcount
        finally:
            await cur.close()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the enclosing transaction has committed (e.g. wake the dispatcher)."""
        self._after_commit.append(callback)

    async def savepoint(self, fn: Callable[[Tx], Awaitable[T]], name: str = "inner") -> T:
        """Run `fn` so that its failure undoes only its own writes, then re-raises."""
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError("savepoint names are plain words")
        await self.conn.execute(f"SAVEPOINT {name}")
        mark = len(self._after_commit)
        try:
            result = await fn(self)
        except BaseException:
            await self.conn.execute(f"ROLLBACK TO {name}")
            await self.conn.execute(f"RELEASE {name}")
            del self._after_commit[mark:]
            raise
        await self.conn.execute(f"RELEASE {name}")
        return result


@dataclass
class _Job:
    fn: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]
    callbacks: list[Callable[[], None]] = field(default_factory=list)


class Database:
    def __init__(self, path: Path | str, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self.settings = settings
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # exposed for health and benchmarks

    async def open(self) -> Database:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await migrate(self._writer)
        self._reader = await self._connect()
        self._task = asyncio.create_task(self._write_loop(), name="db-writer")
        return self

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

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
        assert self._writer is not None
        while True:
            jobs = [await self._queue.get()]
            while len(jobs) < BATCH_MAX and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            await self._run_batch(self._writer, jobs)

    async def _run_batch(self, conn: aiosqlite.Connection, jobs: list[_Job]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except Exception as exc:
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job in jobs:
            tx = Tx(conn, self.settings)
            try:
                result = await tx.savepoint(job.fn, "job")
                outcomes.append((True, result))
                job.callbacks = tx._after_commit
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcomes.append((False, exc))
        try:
            await conn.execute("COMMIT")
            self.commits += 1
        except Exception as exc:
            log.exception("commit failed; %d writes rolled back", len(jobs))
            try:
                await conn.execute("ROLLBACK")
            except Exception:
                log.exception("rollback after failed commit also failed")
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if job.future.done():  # caller gave up waiting; the write still stands
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        for job in jobs:
            for cb in job.callbacks:
                try:
                    cb()
                except Exception:
                    log.exception("after-commit callback failed")

    # Reads ---------------------------------------------------------------------------------

    async def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "database is not open"
        async with self._reader.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        assert self._reader is not None, "database is not open"
        async with self._reader.execute(sql, params) as cur:
            return await cur.fetchone()

    async def value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def backup(self, target: Path) -> None:
        """SQLite's online backup: a consistent copy while the service keeps writing."""
        assert self._reader is not None, "database is not open"
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as dest:
            await self._reader.backup(dest)


async def migrate(conn: aiosqlite.Connection) -> list[int]:
    """Apply numbered migrations (NNN_name.sql) not yet recorded; each in its own transaction."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        done = {row[0] for row in await cur.fetchall()}
    applied: list[int] = []
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:3])
        if version in done:
            continue
        sql = path.read_text(encoding="utf-8")
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Recheck under the write lock: a CLI and the service may start together.
            async with conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ) as cur:
                if await cur.fetchone():
                    await conn.execute("ROLLBACK")
                    continue
            for statement in _split_sql(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at)"
                " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                (version, path.stem),
            )
            await conn.execute("COMMIT")
        except Exception:
            await conn.execute("ROLLBACK")
            raise
        applied.append(version)
        log.info("applied migration %s", path.name)
    return applied


def _split_sql(script: str) -> list[str]:
    """Statements of a migration file (no semicolons inside string literals in our migrations)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
