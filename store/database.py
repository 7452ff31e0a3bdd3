"""Engines and sessions of the shared store, tuned per database.

SQLite: foreign keys on, WAL journal, a busy timeout, and every transaction opened with
`BEGIN IMMEDIATE` so that two writers queue up instead of failing when one upgrades a read
lock. PostgreSQL: a plain pool; rules that must hold under races use conditional updates and
unique indexes, which PostgreSQL re-checks after a lock wait.

A SQLite store holds messages, inbound mails and their attachments: its file, and the `-wal`
and `-shm` files SQLite creates beside it (with the file's own permissions), are the owner's
only (0600), and a folder created for it too (0700).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.base import Executable

from store import sqlite_driver

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 60
SQLITE_CACHE_KIB = 32 * 1024
# Permissions of the SQLite store's files, and of the folders created for them.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
# The files SQLite keeps beside the database.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# PostgreSQL connections a process keeps, and opens beyond them when busy (settings
# DATABASE_POOL_SIZE, DATABASE_MAX_OVERFLOW).
POOL_SIZE = 10
MAX_OVERFLOW = 10


def is_sqlite(url: str) -> bool:
    """Whether the URL points to SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None: not SQLite, in memory, or a `file:` URI)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def make_private_folder(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700 (existing ones are left as they are)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        os.chmod(created, PRIVATE_FOLDER)


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite file of `url` empty and 0600 (its folder 0700) before SQLite does,
    so that no one else can ever read it; an existing file is made 0600 too."""
    path = sqlite_path(url)
    if path is None:
        return
    make_private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    restrict_sqlite_files(path)


def restrict_sqlite_files(path: Path) -> None:
    """Make the database file and its -wal, -shm and -journal files 0600, where they exist."""
    for file in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_SIDE_FILES)):
        try:
            if file.stat().st_mode & 0o777 != PRIVATE_FILE:
                os.chmod(file, PRIVATE_FILE)
        except FileNotFoundError:
            continue
        except OSError as error:  # not ours: say so, SQLite may still read it
            logger.warning("cannot make %s owner-only: %s", file, error.strerror)


def insert_for(dialect_name: str) -> Callable[..., Any]:
    """The `insert` construct with `ON CONFLICT` clauses for the store's SQL dialect."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def create_engine(
    url: str,
    *,
    pool_size: int = POOL_SIZE,
    max_overflow: int = MAX_OVERFLOW,
    **kwargs: Any,
) -> AsyncEngine:
    """Create the async engine for `url`, with the per-database settings above; `pool_size`
    and `max_overflow` are PostgreSQL's (a process opens at most their sum), SQLite keeps
    its one connection."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, **kwargs)

    prepare_sqlite_file(url)
    path = sqlite_path(url)
    # One connection per process: the process's transactions queue in the pool, first come
    # first served, instead of polling SQLite's busy handler (measured in bench/, finding A).
    kwargs.setdefault("pool_size", 1)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
    # One trip to SQLite's thread per statement instead of four (bench/, finding R).
    kwargs.setdefault("module", sqlite_driver.dbapi())
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **kwargs
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        # SQLite's own page cache (2 MiB by default): the indexes a tap walks stay in memory.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()
        # The -wal and -shm files now exist; SQLite gave them the database's permissions,
        # but a store created before these did not have them.
        if path is not None:
            restrict_sqlite_files(path)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per unit of work; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def with_sessions(
    url: str, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]
) -> int:
    """Run `work` on the sessions of a store opened for it (at `url`), closed after."""
    engine = create_engine(url)
    try:
        return await work(create_sessionmaker(engine))
    finally:
        await engine.dispose()


async def changed_rows(session: AsyncSession, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session; how many rows it changed."""
    result = await session.execute(statement)
    return int(cast(CursorResult[Any], result).rowcount or 0)
