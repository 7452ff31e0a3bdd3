"""The SQLite store holds messages and every inbound mail with its attachments: its file and
the -wal and -shm files beside it are the owner's only (0600), the folders made for it 0700."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from store import migrate
from store.database import create_engine
from store.documents import DocumentFolder

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), under which files are created world-readable by default."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def _write_and_look(url: str, database: Path) -> dict[str, int]:
    """Write in WAL mode and read the modes while the connection holds -wal and -shm open."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
            await connection.commit()
            journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            assert journal == "wal"
            return {suffix: mode(Path(f"{database}{suffix}")) for suffix in ("", "-wal", "-shm")}
    finally:
        await engine.dispose()


def test_a_new_store_and_its_folders_are_the_owners_only(tmp_path, open_umask):
    database = tmp_path / "var" / "data" / "portail.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    migrate.upgrade(url)
    assert mode(database) == 0o600
    assert mode(tmp_path / "var") == mode(tmp_path / "var" / "data") == 0o700
    modes = asyncio.run(_write_and_look(url, database))
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_an_existing_world_readable_store_is_made_the_owners_only(tmp_path, open_umask):
    database = tmp_path / "portail.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    migrate.upgrade(url)
    os.chmod(database, 0o644)
    # Left behind, world-readable, by an older version that crashed.
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").touch(mode=0o644)
    modes = asyncio.run(_write_and_look(url, database))
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_an_existing_folder_keeps_its_permissions(tmp_path, open_umask):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    migrate.upgrade(f"sqlite+aiosqlite:///{folder / 'portail.sqlite3'}")
    assert mode(folder) == 0o755
    assert mode(folder / "portail.sqlite3") == 0o600


def test_documents_stay_the_owners_only(tmp_path, open_umask):
    folder = DocumentFolder(tmp_path / "documents")
    key = folder.write(b"%PDF-1.4 test")
    assert mode(tmp_path / "documents") == 0o700
    assert mode(tmp_path / "documents" / key) == 0o600
