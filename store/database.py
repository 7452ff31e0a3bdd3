"""Engines and sessions of the shared store, tuned per database.

SQLite: foreign keys on, WAL journal, a busy timeout, and every transaction opened with
`BEGIN IMMEDIATE` so that two writers queue up instead of failing when one upgrades a read
lock. PostgreSQL: a plain pool; rules that must hold under races use conditional updates and
unique indexes, which PostgreSQL re-checks after a lock wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_SECONDS = 60
SQLITE_CACHE_KIB = 32 * 1024


def is_sqlite(url: str) -> bool:
    """Whether the URL points to SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def insert_for(dialect_name: str) -> Callable[..., Any]:
    """The `insert` construct with `ON CONFLICT` clauses for the store's SQL dialect."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for `url`, with the per-database settings above."""
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        return create_async_engine(url, **kwargs)

    # One connection per process: the process's transactions queue in the pool, first come
    # first served, instead of polling SQLite's busy handler (measured in bench/, finding A).
    kwargs.setdefault("pool_size", 1)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
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

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per unit of work; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
