"""One person's updates one at a time across every worker process.

On PostgreSQL, a worker handles a person's update only while it holds that person's session
advisory lock (`pg_advisory_lock`): a second worker given the same person's next update waits
for the first to finish. Each lock is held on a connection of a small pool of its own (one per
update in flight), never on the connection a handler's queries use: a pool shared by both
could run dry with every connection holding a lock and none left to do the work. A worker
that dies releases its locks with its connections.

On SQLite, the store is one file written by one process (the embedded default): there is no
other process to wait for, and the lock is the process's own (`bot.update_order`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from store.database import is_sqlite

logger = logging.getLogger(__name__)

# Advisory lock keys are one 64-bit space for the whole database: ours are hashed from a prefix.
KEY_PREFIX = "portail:person:"
# A lock not granted within this is given up (logged): the update goes on without it.
WAIT_LIMIT_MS = 30_000


class PersonLocks:
    """Cross-process locks per person (a Telegram user or chat id)."""

    def __init__(self, engine: AsyncEngine | None):
        self._engine = engine

    @classmethod
    def for_database(cls, url: str, in_flight: int) -> PersonLocks:
        """Locks on the store at `url`: PostgreSQL's advisory locks on a pool of `in_flight`
        connections; none on SQLite."""
        if is_sqlite(url):
            return cls(None)
        engine = create_async_engine(
            url,
            pool_size=in_flight,
            max_overflow=0,
            # No ping at each checkout (a statement per update): a connection found dead at
            # the lock is dropped by SQLAlchemy, and the update goes on (see `_lock`).
            isolation_level="AUTOCOMMIT",
            connect_args={"server_settings": {"lock_timeout": str(WAIT_LIMIT_MS)}},
        )
        return cls(engine)

    @property
    def shared(self) -> bool:
        """Whether the locks hold across processes."""
        return self._engine is not None

    @contextlib.asynccontextmanager
    async def holding(self, person: int) -> AsyncIterator[None]:
        """Hold `person`'s lock for the block (at once when there is no cross-process lock)."""
        if self._engine is None:
            yield
            return
        key = func.hashtextextended(f"{KEY_PREFIX}{person}", 0)
        async with self._engine.connect() as connection:
            held = await _lock(connection, key)
            try:
                yield
            finally:
                if held:
                    await _unlock(connection, key)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()


async def _lock(connection: AsyncConnection, key: object) -> bool:
    try:
        await connection.execute(select(func.pg_advisory_lock(key)))
    except DBAPIError:
        # Waited past the limit (or the connection failed): better late than never, the
        # update goes on; the store's own rules still refuse what a race would double.
        logger.warning("a person's lock was not granted in time; handling without it")
        return False
    return True


async def _unlock(connection: AsyncConnection, key: object) -> None:
    try:
        await connection.execute(select(func.pg_advisory_unlock(key)))
    except BaseException:
        # The lock must not go back to the pool still held: the connection is dropped instead.
        await connection.invalidate()
        raise
