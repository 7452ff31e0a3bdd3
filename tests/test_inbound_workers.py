"""Several mail workers on one database: each staff reply reaches the parent exactly once.

Every worker claims a mail with a lease before processing it (a mail held by another worker is
left to it, one whose worker died is taken over once the lease expired), and every effect is
keyed on the mail (the staff message's external id, the outbox's dedup key): neither two
workers at once nor a worker dying between the relay and marking the mail done sends twice.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mail.parsing import message_id_of, parse_mail
from store.absences import AbsenceService
from store.database import create_engine, create_sessionmaker, is_sqlite
from store.documents import DocumentFolder, DocumentService
from store.inbound import InboundConfig, InboundMailService
from store.messaging import MessagingService
from store.models import InboundMail, Message, OutboxItem
from store.models.base import utcnow
from store.models.enums import MessageDirection
from store.models.inbound import InboundStatus
from tests.helpers import build_town
from tests.messaging_helpers import add_services, link_chat

DOMAIN = "portail-famille.example"
CONFIG = InboundConfig(DOMAIN, f"documents@{DOMAIN}")
CHAT_ID = 4242
# The backlog: 400 staff replies, two workers (a few seconds on PostgreSQL).
BACKLOG = int(os.environ.get("INBOUND_WORKERS_BACKLOG", "400"))
SQLITE_BACKLOG = 60


class WorkerDied(Exception):
    """A worker stopping dead right after its effect, before the mail is marked done."""


class DiesAfterRelaying(MessagingService):
    """Relays the reply, then dies."""

    async def staff_reply(self, *args: Any, **kwargs: Any) -> Any:
        await super().staff_reply(*args, **kwargs)
        raise WorkerDied


class HoldsTheReply(MessagingService):
    """Relays the reply once `go` is set (the lease is held meanwhile)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def staff_reply(self, *args: Any, **kwargs: Any) -> Any:
        self.started.set()
        await self.go.wait()
        return await super().staff_reply(*args, **kwargs)


@dataclass(frozen=True)
class Thread:
    token: str
    staff_email: str


async def staff_thread(sessions: async_sessionmaker[AsyncSession]) -> Thread:
    """A parent (linked to a chat) who wrote to a service, and the thread's reply token."""
    town = await build_town(sessions, [])
    services = await add_services(sessions)
    await link_chat(sessions, town.guardian.id, CHAT_ID)
    messaging = MessagingService(sessions)
    thread = await messaging.write(town.guardian, "leisure_centres", "Question sur la cantine")
    return Thread(await messaging.new_reply_token(thread.id), services.staff_email)


def staff_reply(thread: Thread, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Nadia Belkacem <{thread.staff_email}>"
    message["To"] = f"reply+{thread.token}@{DOMAIN}"
    message["Subject"] = "Re: Question sur la cantine"
    message["Message-ID"] = f"<reply-{number}@montclar.example>"
    message.set_content(f"Bonjour, réponse numéro {number}.")
    return message.as_bytes(policy=SMTP_POLICY)


async def accept_backlog(service: InboundMailService, thread: Thread, count: int) -> None:
    for number in range(count):
        raw = staff_reply(thread, number)
        await service.accept_raw(
            thread.staff_email, [f"reply+{thread.token}@{DOMAIN}"], raw, message_id_of(raw)
        )


def mail_service(
    sessions: async_sessionmaker[AsyncSession],
    folder: Path,
    messaging: MessagingService | None = None,
    lease: timedelta = CONFIG.lease,
) -> InboundMailService:
    """The inbound mail service as `portail smtp` builds it, on these sessions."""
    documents = DocumentService(sessions, DocumentFolder(folder), 10_000_000)
    return InboundMailService(
        sessions,
        InboundConfig(DOMAIN, CONFIG.documents_address, lease=lease),
        functools.partial(parse_mail, max_attachment_bytes=documents.max_bytes),
        documents,
        AbsenceService(sessions),
        messaging or MessagingService(sessions),
    )


@pytest.fixture
async def other_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A second engine on the same database: another worker process, as far as the store
    can tell."""
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def work_through(service: InboundMailService) -> int:
    """One worker going through the backlog, as the mail server does; how many mails it
    finished itself (a mail another worker holds or finished is only looked at)."""
    finished = 0
    finish = service._finish

    async def counted(*args: Any) -> Any:
        nonlocal finished
        finished += 1
        return await finish(*args)

    service._finish = counted  # type: ignore[method-assign]
    for mail_id in await service.pending():
        await service.process(mail_id)
    return finished


async def to_parents(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[str], int, int]:
    """Staff messages' bodies, the chat notices queued for them, and distinct notices."""
    async with sessions() as session:
        bodies = list(
            await session.scalars(
                select(Message.body).where(Message.direction == MessageDirection.TO_PARENT)
            )
        )
        notices = list(
            await session.scalars(
                select(OutboxItem.payload).where(OutboxItem.kind == "staff_reply")
            )
        )
    return bodies, len(notices), len({notice["message_id"] for notice in notices})


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[InboundStatus, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(InboundMail.status, func.count()).group_by(InboundMail.status)
        )
        return {status: count for status, count in rows.all()}


async def test_two_workers_relay_each_reply_of_a_backlog_exactly_once(
    sessions, other_sessions, database_url, tmp_path
):
    count = SQLITE_BACKLOG if is_sqlite(database_url) else BACKLOG
    thread = await staff_thread(sessions)
    first = mail_service(sessions, tmp_path / "documents")
    second = mail_service(other_sessions, tmp_path / "documents")
    await accept_backlog(first, thread, count)

    relayed = await asyncio.gather(work_through(first), work_through(second))

    bodies, notices, distinct = await to_parents(sessions)
    assert sorted(bodies) == sorted(f"Bonjour, réponse numéro {n}." for n in range(count))
    assert (notices, distinct) == (count, count)  # one chat message per reply, none lost
    assert sum(relayed) == count
    assert await statuses(sessions) == {InboundStatus.RELAYED: count}
    if not is_sqlite(database_url):
        assert min(relayed) > 0  # both workers took part


async def test_a_mail_leased_to_a_worker_is_left_to_it(sessions, other_sessions, tmp_path):
    thread = await staff_thread(sessions)
    holding = HoldsTheReply(sessions)
    first = mail_service(sessions, tmp_path / "documents", holding)
    second = mail_service(other_sessions, tmp_path / "documents")
    await accept_backlog(first, thread, 1)
    [mail_id] = await first.pending()

    processing = asyncio.create_task(first.process(mail_id))
    await holding.started.wait()
    async with sessions() as session:
        row = await session.get(InboundMail, mail_id)
        assert row is not None and row.lease_owner == first.worker_id
    assert (await second.process(mail_id)).status is InboundStatus.RECEIVED  # not taken
    holding.go.set()
    assert (await processing).status is InboundStatus.RELAYED
    assert (await second.process(mail_id)).status is InboundStatus.RELAYED  # done, untouched

    bodies, notices, _ = await to_parents(sessions)
    assert (len(bodies), notices) == (1, 1)
    async with sessions() as session:
        row = await session.get(InboundMail, mail_id)
        assert row is not None
        assert (row.lease_owner, row.lease_until, row.attempts) == (None, None, 1)


async def test_a_worker_dying_after_the_relay_does_not_relay_twice(
    sessions, other_sessions, tmp_path
):
    thread = await staff_thread(sessions)
    dying = mail_service(sessions, tmp_path / "documents", DiesAfterRelaying(sessions))
    second = mail_service(other_sessions, tmp_path / "documents")
    await accept_backlog(dying, thread, 1)
    [mail_id] = await dying.pending()

    with pytest.raises(WorkerDied):
        await dying.process(mail_id)
    # Died for good: its lease was never given back.
    async with sessions.begin() as session:
        await session.execute(
            update(InboundMail)
            .where(InboundMail.id == mail_id)
            .values(lease_owner=dying.worker_id, lease_until=utcnow() + timedelta(minutes=5))
        )
    assert (await to_parents(sessions))[1] == 1  # relayed, not marked done
    assert (await second.process(mail_id)).status is InboundStatus.RECEIVED  # lease held

    async with sessions.begin() as session:  # ... until it expires
        await session.execute(
            update(InboundMail)
            .where(InboundMail.id == mail_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    view = await second.process(mail_id)

    assert view.status is InboundStatus.RELAYED
    bodies, notices, distinct = await to_parents(sessions)
    assert (bodies, notices, distinct) == (["Bonjour, réponse numéro 0."], 1, 1)
    assert view.outcome is not None
    async with sessions() as session:
        [message_id] = await session.scalars(
            select(Message.id)
            .where(Message.external_id.is_not(None))
            .where(Message.direction == MessageDirection.TO_PARENT)
        )
    assert view.outcome["message_id"] == message_id


async def test_a_failed_attempt_gives_its_lease_back(sessions, tmp_path):
    thread = await staff_thread(sessions)
    dying = mail_service(sessions, tmp_path / "documents", DiesAfterRelaying(sessions))
    await accept_backlog(dying, thread, 1)
    [mail_id] = await dying.pending()
    with pytest.raises(WorkerDied):
        await dying.process(mail_id)
    async with sessions() as session:
        row = await session.get(InboundMail, mail_id)
        assert row is not None
        assert (row.status, row.lease_owner, row.lease_until) == (
            InboundStatus.RECEIVED,
            None,
            None,
        )
    retry = mail_service(sessions, tmp_path / "documents")
    assert (await retry.process(mail_id)).status is InboundStatus.RELAYED
    assert (await to_parents(sessions))[1:] == (1, 1)
