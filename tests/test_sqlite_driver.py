"""The SQLite store's driver: one trip to SQLite's thread per statement, with the same rows,
counts and errors as SQLAlchemy's own aiosqlite adapter (`store.sqlite_driver`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from store.database import create_engine
from store.sqlite_driver import OneTripCursor

metadata = MetaData()
item = Table(
    "item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True),
    Column("count", Integer),
)


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_rows_counts_and_returning(engine: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(item), [{"name": f"n{n}", "count": n} for n in range(5)])
        changed = await connection.execute(update(item).where(item.c.count >= 3).values(count=0))
        assert changed.rowcount == 2
        returned = await connection.execute(
            insert(item).values(name="six", count=6).returning(item.c.id, item.c.name)
        )
        assert returned.one() == (6, "six")
    async with engine.connect() as connection:
        rows = (
            await connection.execute(select(item.c.name, item.c.count).order_by(item.c.id))
        ).all()
        assert rows == [("n0", 0), ("n1", 1), ("n2", 2), ("n3", 0), ("n4", 0), ("six", 6)]
        cursor = (await connection.exec_driver_sql("SELECT 1")).cursor
        assert isinstance(cursor, OneTripCursor)


async def test_errors_are_sqlalchemys(engine: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(item).values(name="same", count=1))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(item).values(name="same", count=2))
    async with engine.connect() as connection:
        assert (await connection.execute(select(item.c.count))).scalars().all() == [1]


async def test_one_trip_per_statement(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLAlchemy's own adapter makes four trips per statement (cursor, execute, fetch, close)."""
    trips = 0
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await original(self, fn, *args, **kwargs)

    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the transaction begins here
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        rows = (await connection.execute(select(item.c.id).where(item.c.id > 0))).all()
        assert rows == []
        assert trips == 1
