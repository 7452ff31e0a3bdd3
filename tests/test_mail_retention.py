"""Raw mails are emptied after their retention period; what staff see of them stays.

Mails come in over real SMTP; the purge runs at a time set by the test's clock (the mail
server's own purge, and `portail mail purge`); it is one idempotent statement, safe with
several workers running it at once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mail.inbound import InboundMailServer, inbound_service
from store.actors import Actor
from store.inbound import InboundConfig
from store.mail_retention import Retention, purge_raw
from store.models import InboundMail
from store.models.inbound import InboundStatus
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.test_inbound_email import DOCUMENTS, DOMAIN, PARENT, STAFF_DOMAIN, mail, send

ROOT = Path(__file__).resolve().parent.parent
RETENTION = Retention(raw_days=30, set_aside_days=90)


@pytest.fixture
async def inbound(portal, clock, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The inbound mail server, purging at the test clock's time (never on its own)."""
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(
        inbound_service(portal, config), retention=RETENTION, clock=clock, purge_seconds=3600
    )
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def rows(portal) -> dict[str, InboundMail]:
    """The stored mails by subject (read when processed), their bytes loaded."""
    async with portal.sessions() as session:
        found = await session.scalars(select(InboundMail).order_by(InboundMail.id))
        mails = list(found)
        for row in mails:
            await session.refresh(row, ["raw"])
    return {row.subject or "pending": row for row in mails}  # its subject is read later


async def three_mails(portal, server: InboundMailServer) -> datetime:
    """An automatic reply (done with: ignored), a stranger's document (set aside: quarantined),
    a parent's still to process; the time they were processed."""
    await build_town(portal.sessions, [])
    attachment = ("vaccins.pdf", tiny_pdf(), "application/pdf")
    automatic = mail("done", attachment).replace(
        b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1
    )
    await send(server, automatic)
    stranger = "inconnu@ailleurs.example"
    await send(server, mail("set aside", attachment, sender=stranger), mail_from=stranger)
    # Accepted, but its worker died before processing it.
    await server.service.accept_raw(PARENT, [DOCUMENTS], mail("pending", attachment), None)
    found = await rows(portal)
    assert found["done"].status is InboundStatus.IGNORED
    assert found["set aside"].status is InboundStatus.QUARANTINED
    assert found["pending"].status is InboundStatus.RECEIVED
    processed = max(row.processed_at for row in found.values() if row.processed_at)
    return processed


async def test_raw_mails_are_emptied_after_their_retention_and_set_aside_ones_later(
    portal, clock, inbound
):
    processed = await three_mails(portal, inbound)
    before = await rows(portal)

    clock.set(processed + timedelta(days=29))
    assert await inbound.purge_once() == 0
    clock.set(processed + timedelta(days=31))
    assert await inbound.purge_once() == 1
    found = await rows(portal)
    assert (found["done"].raw, found["done"].raw_deleted_at) == (b"", clock.now)
    assert found["set aside"].raw == before["set aside"].raw != b""
    assert found["pending"].raw == before["pending"].raw
    # What staff see of it stays.
    done = found["done"]
    assert (done.status, done.size, done.mail_from, done.header_from, done.outcome) == (
        before["done"].status,
        before["done"].size,
        PARENT,
        PARENT,
        before["done"].outcome,
    )
    view = await inbound.service.view(Actor.staff(1), done.id)
    assert (view.subject, view.size) == ("done", before["done"].size)
    assert view.raw_deleted_at == clock.now

    clock.set(processed + timedelta(days=91))
    assert await inbound.purge_once() == 1
    found = await rows(portal)
    assert found["set aside"].raw == b"" and found["set aside"].raw_deleted_at == clock.now
    assert found["set aside"].reason == before["set aside"].reason
    assert found["pending"].raw == before["pending"].raw  # never before it is processed

    clock.set(processed + timedelta(days=400))
    assert await inbound.purge_once() == 0  # idempotent: emptied once
    assert (await rows(portal))["done"].raw_deleted_at == processed + timedelta(days=31)


async def test_workers_purging_at_once_empty_each_mail_once(portal, clock, inbound):
    processed = await three_mails(portal, inbound)
    later = processed + timedelta(days=100)
    purged = await asyncio.gather(
        *(purge_raw(portal.sessions, later, RETENTION) for _ in range(4))
    )
    assert sum(purged) == 2
    found = await rows(portal)
    assert found["done"].raw == found["set aside"].raw == b""


async def test_the_mail_server_purges_when_it_starts(portal, clock, tmp_path):
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS)
    first = InboundMailServer(inbound_service(portal, config), retention=RETENTION, clock=clock)
    await first.start("127.0.0.1", 0)
    try:
        processed = await three_mails(portal, first)
    finally:
        await first.close()
    clock.set(processed + timedelta(days=31))
    second = InboundMailServer(inbound_service(portal, config), retention=RETENTION, clock=clock)
    await second.start("127.0.0.1", 0)
    try:
        for _ in range(100):
            if (await rows(portal))["done"].raw == b"":
                break
            await asyncio.sleep(0.02)
    finally:
        await second.close()
    found = await rows(portal)
    assert found["done"].raw == b"" and found["set aside"].raw != b""


async def test_portail_mail_purge(portal, inbound, database_url, tmp_path):
    await three_mails(portal, inbound)
    # The command reads the real time: the mails were processed 40 days ago.
    long_ago = datetime.now(UTC) - timedelta(days=40)
    async with portal.sessions.begin() as session:
        await session.execute(
            update(InboundMail)
            .where(InboundMail.processed_at.is_not(None))
            .values(processed_at=long_ago)
        )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "DATABASE_URL"))
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "mail", "purge"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**environment, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 raw mail(s) emptied")
    found = await rows(portal)
    assert found["done"].raw == b"" and found["set aside"].raw != b""
