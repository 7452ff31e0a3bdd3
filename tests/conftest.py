"""Shared fixtures: a migrated database (SQLite file, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import migrate
from store.database import create_engine, create_sessionmaker
from store.models import Base
from tests.helpers import FakeClock

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


async def _empty_postgresql(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the Alembic migrations once: on a template SQLite file, or on the test PostgreSQL."""
    if TEST_DATABASE_URL:
        migrate.upgrade(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if TEST_DATABASE_URL:
        asyncio.run(_empty_postgresql(TEST_DATABASE_URL))
        return TEST_DATABASE_URL
    path = tmp_path / "store.sqlite3"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
