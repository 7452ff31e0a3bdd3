"""Schema upgrades through Alembic, callable from the command line and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from store.database import prepare_sqlite_file

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for the store's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder (0700) and the file (0600) of a SQLite store, so that a fresh machine
    needs no manual step and no one else may read it."""
    prepare_sqlite_file(database_url)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema to `revision` (must not run inside an event loop)."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def make_revision(database_url: str, message: str) -> None:
    """Autogenerate a new migration from the models (developer tool)."""
    ensure_sqlite_folder(database_url)
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
