"""A process opens at most DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW connections to
PostgreSQL (the next one waits); SQLite keeps its one connection whatever they say."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text

from bot.portal import Portal
from store.database import is_sqlite


async def test_a_process_opens_at_most_pool_plus_overflow_connections(portal):
    settings = portal.settings.model_copy(
        update={"database_pool_size": 3, "database_max_overflow": 2}
    )
    limited = Portal.from_settings(settings, portal.clock)
    most = 1 if is_sqlite(settings.database_url) else 5
    try:
        async with contextlib.AsyncExitStack() as held:
            for _ in range(most):
                connection = await held.enter_async_context(limited.engine.connect())
                assert await connection.scalar(text("SELECT 1")) == 1
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await limited.engine.connect().start()
        # Given back, they serve again.
        async with limited.engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await limited.close()
