"""Shared fixtures: a migrated database (SQLite file, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo import DemoSession
from bot.portal import Portal
from bot.runner import running_bot
from bot.settings import Settings
from fake_telegram import FakeTelegram
from store import migrate
from store.database import create_engine, create_sessionmaker
from store.encryption import Keyring, installed, new_key
from store.models import Base
from tests.health_log_scan import finish_scan, start_scan
from tests.helpers import FakeClock
from tests.mail_helpers import MTA_AUTHSERV_ID

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
# Property tests draw the same examples on every run, so a CI result can be reproduced;
# a new example set is drawn when a test's code changes. No example database is written.
hypothesis_settings.register_profile("portail", derandomize=True, database=None)
hypothesis_settings.load_profile("portail")
# PTB 22 warns when it builds RetryAfter unless durations are timedeltas; opt in.
os.environ.setdefault("PTB_TIMEDELTA", "true")


# Every row deleted, dependents first, and every sequence back to 1, in one statement: as
# TRUNCATE … RESTART IDENTITY does, but about 40 times faster on near-empty tables (TRUNCATE
# gives each of the ~50 tables a new file, at every test).
_DELETES = "\n".join(f'DELETE FROM "{t.name}";' for t in reversed(Base.metadata.sorted_tables))
EMPTY_POSTGRESQL = f"""DO $$
DECLARE sequence record;
BEGIN
{_DELETES}
FOR sequence IN
    SELECT c.oid::regclass AS name FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'S' AND n.nspname = current_schema()
LOOP
    PERFORM setval(sequence.name, 1, false);
END LOOP;
END $$"""


async def _empty_postgresql(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text(EMPTY_POSTGRESQL))
    await engine.dispose()


@pytest.fixture(autouse=True)
def privacy_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Keyring]:
    """A fresh encryption key for each test: the process's keyring, and PRIVACY_KEYS for the
    settings and subprocesses the test makes; the previous keyring back after it."""
    key = new_key()
    monkeypatch.setenv("PRIVACY_KEYS", key)
    monkeypatch.delenv("PRIVACY_KEY_FILE", raising=False)
    with installed(Keyring([key])) as keyring:
        yield keyring


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


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """A local Bot API on loopback."""
    async with FakeTelegram() as server:
        yield server


class SmtpSink:
    """Keeps every message a real SMTP conversation delivered."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server on loopback, on the test's own loop."""
    sink = SmtpSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


@pytest.fixture
async def portal(
    database_url: str,
    clock: FakeClock,
    telegram: FakeTelegram,
    smtp_sink: SmtpSink,
    tmp_path: Path,
) -> AsyncIterator[Portal]:
    """The store's services as the bot sees them, on the test database and clock."""
    settings = Settings(
        database_url=database_url,
        telegram_token=telegram.token,
        telegram_api_url=telegram.url,
        telegram_bot_username="MontclarBot",
        conversation_timeout_seconds=30,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        documents_dir=tmp_path / "documents",
        mail_authserv_id=MTA_AUTHSERV_ID,
        _env_file=None,
    )
    portal = Portal.from_settings(settings, clock)
    yield portal
    await portal.close()


@pytest.fixture
async def bot(portal: Portal) -> AsyncIterator[Any]:
    """The real application, polling the local Bot API and delivering its outbox."""
    async with running_bot(portal, poll_timeout=1) as application:
        yield application


# The demo town's day in the demo tests: a Tuesday; Wednesday 2 December is still bookable.
DEMO_TODAY = date(2026, 11, 24)


@pytest.fixture
async def demo(database_url: str, tmp_path: Path) -> AsyncIterator[DemoSession]:
    """`portail demo` without a terminal, on a migrated empty database, on `DEMO_TODAY`."""
    settings = Settings(conversation_timeout_seconds=30, _env_file=None)  # type: ignore[call-arg]
    session = DemoSession(
        database_url,
        documents_dir=tmp_path / "documents",
        today=DEMO_TODAY,
        settings=settings,
        settle=0.2,
    )
    yield session
    await session.close()


def pytest_configure(config: pytest.Config) -> None:
    """Scan every log record of the session for children's health data."""
    start_scan()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    finish_scan(session)
