"""Floods and bounds of the inbound mail server, over real SMTP on loopback.

One sender gets a limited number of mails accepted in an hour (counted in the store, from the
envelope sender and the From header): past it, 450 and nothing stored, while other senders
are still taken and a staff reply is relayed at once. At most a few messages are received at
once: one more DATA is told 452.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from mail.inbound import (
    TOO_MANY_AT_ONCE,
    InboundMailServer,
    SenderLimits,
    header_from_of,
    inbound_service,
)
from store.inbound import InboundConfig
from store.messaging import MessagingService
from store.models import InboundMail, Message
from store.models.enums import MessageDirection
from store.models.inbound import InboundStatus
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.messaging_helpers import add_services
from tests.test_inbound_email import DOCUMENTS, DOMAIN, PARENT, STAFF_DOMAIN, mail, on_the_wire

PER_HOUR = 3
STAFF_PER_HOUR = 6
CAP = 2
OTHER_PARENT = "parent.f2@exemple.fr"
AGENT = f"agent@{STAFF_DOMAIN}"


@pytest.fixture
async def inbound(portal, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The inbound mail server with small limits: 3 mails an hour per sender (6 for staff),
    two messages received at once."""
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(
        inbound_service(portal, config),
        max_mail_bytes=300_000,
        limits=SenderLimits(PER_HOUR, STAFF_PER_HOUR),
        max_concurrent_data=CAP,
    )
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


def _deliver(port: int, mail_from: str, rcpts: list[str], raw: bytes) -> str:
    """One mail over its own SMTP connection: "250", or the refusal's code and where."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        try:
            client.sendmail(mail_from, rcpts, on_the_wire(raw))
        except smtplib.SMTPRecipientsRefused as error:
            [(code, _)] = error.recipients.values()
            return f"RCPT {code}"
        except smtplib.SMTPDataError as error:
            return f"DATA {error.smtp_code}"
    return "250"


async def deliver(
    server: InboundMailServer, raw: bytes, mail_from: str = PARENT, rcpts: list[str] | None = None
) -> str:
    answer = await asyncio.to_thread(_deliver, server.port, mail_from, rcpts or [DOCUMENTS], raw)
    await server.drain()
    return answer


def document_mail(number: int, sender: str = PARENT) -> bytes:
    return mail(
        f"pièce {number}", (f"p{number}.pdf", tiny_pdf(), "application/pdf"), sender=sender
    )


async def stored(portal) -> list[InboundMail]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(InboundMail).order_by(InboundMail.id)))


async def test_a_sender_past_its_hourly_limit_is_refused_and_nothing_is_stored(portal, inbound):
    await build_town(portal.sessions, [])
    answers = [await deliver(inbound, document_mail(n)) for n in range(PER_HOUR + 3)]
    # Counted at the end of DATA; refused at RCPT from then on (before its message).
    assert answers == ["250"] * PER_HOUR + ["DATA 450"] + ["RCPT 450"] * 2
    # Another sender is still taken; the limit is per sender, whatever its case.
    assert await deliver(inbound, document_mail(9, OTHER_PARENT), OTHER_PARENT) == "250"
    assert await deliver(inbound, document_mail(10), PARENT.upper()) == "RCPT 450"
    rows = await stored(portal)
    assert [row.mail_from for row in rows] == [PARENT] * PER_HOUR + [OTHER_PARENT]


async def test_a_forged_from_header_is_counted_whatever_the_envelope(portal, inbound):
    await build_town(portal.sessions, [])
    # Each mail from a new envelope sender, all claiming to be the same parent.
    answers = [
        await deliver(inbound, document_mail(n), f"bot{n}@spam.example")
        for n in range(PER_HOUR + 2)
    ]
    assert answers == ["250"] * PER_HOUR + ["DATA 450"] * 2
    rows = await stored(portal)
    assert len(rows) == PER_HOUR
    assert {row.header_from for row in rows} == {PARENT}


def test_the_from_header_is_read_from_the_headers_alone():
    assert header_from_of(document_mail(1, "Camille <Parent.F1@Exemple.FR>")) == PARENT
    assert header_from_of(b"Subject: x\r\n\r\nFrom: a@b.example\r\n") is None
    assert header_from_of(b"From: =?utf-8?q?Cl=C3=A9ment?= <c@exemple.fr>\n\nhi") == "c@exemple.fr"
    assert header_from_of(b"\xff\xfe garbage") is None


async def _thread_token(portal) -> tuple[int, str]:
    town = await build_town(portal.sessions, [])
    await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    thread = await messaging.write(town.guardian, "leisure_centres", "Question sur la cantine")
    return thread.id, await messaging.new_reply_token(thread.id)


def staff_reply(token: str, number: int) -> bytes:
    return mail(
        "Re: Question sur la cantine",
        sender=f"Agent <{AGENT}>",
        to=f"reply+{token}@{DOMAIN}",
        body=f"Bonjour, c'est noté ({number}).",
    )


async def test_a_staff_reply_just_after_a_flood_is_relayed_at_once(portal, inbound):
    thread_id, token = await _thread_token(portal)
    flood = [await deliver(inbound, document_mail(n)) for n in range(PER_HOUR + 20)]
    assert flood.count("250") == PER_HOUR
    started = time.perf_counter()
    answer = await deliver(inbound, staff_reply(token, 1), AGENT, [f"reply+{token}@{DOMAIN}"])
    relayed_after = time.perf_counter() - started
    assert answer == "250"
    async with portal.sessions() as session:
        [reply] = await session.scalars(
            select(Message).where(Message.direction == MessageDirection.TO_PARENT)
        )
    assert reply.thread_id == thread_id and "c'est noté (1)" in reply.body
    assert relayed_after < 3.0  # the issue measured 17 s behind a flood


def _deliver_all(port: int, mails: list[tuple[str, list[str], bytes]]) -> list[str]:
    """Mails one after the other on one SMTP connection (as a relay flushing its queue)."""
    answers = []
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        for mail_from, rcpts, raw in mails:
            try:
                client.sendmail(mail_from, rcpts, on_the_wire(raw))
                answers.append("250")
            except smtplib.SMTPRecipientsRefused:
                answers.append("refused")
    return answers


async def test_a_staff_reply_goes_before_the_backlog_of_other_mail(portal, tmp_path):
    """Parents' mail (many senders, under their limit) is waiting to be processed when a
    staff reply comes in: the reply is processed first, not after the backlog."""
    thread_id, token = await _thread_token(portal)
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    # The worker waits for the dialogue to be quiet: the backlog builds up meanwhile.
    server = InboundMailServer(
        inbound_service(portal, config), quiet_seconds=0.3, max_defer_seconds=30
    )
    await server.start("127.0.0.1", 0)
    try:
        backlog = [
            (f"p{n}@exemple.fr", [DOCUMENTS], document_mail(n, f"p{n}@exemple.fr"))
            for n in range(15)
        ]
        reply = (AGENT, [f"reply+{token}@{DOMAIN}"], staff_reply(token, 1))
        answers = await asyncio.to_thread(_deliver_all, server.port, [*backlog, reply])
        assert answers == ["250"] * 16
        await asyncio.wait_for(server.drain(), 30)
    finally:
        await server.close()
    rows = await stored(portal)
    relayed = [row for row in rows if row.status is InboundStatus.RELAYED]
    assert [row.mail_from for row in relayed] == [AGENT]
    others = [row for row in rows if row not in relayed]
    assert len(others) == 15
    assert all(relayed[0].processed_at < row.processed_at for row in others)
    async with portal.sessions() as session:
        [message] = await session.scalars(
            select(Message).where(Message.direction == MessageDirection.TO_PARENT)
        )
    assert message.thread_id == thread_id


async def test_staff_addresses_have_their_own_higher_limit(portal, inbound):
    _, token = await _thread_token(portal)
    rcpt = [f"reply+{token}@{DOMAIN}"]
    answers = [
        await deliver(inbound, staff_reply(token, n), AGENT, rcpt)
        for n in range(STAFF_PER_HOUR + 1)
    ]
    assert answers == ["250"] * STAFF_PER_HOUR + ["DATA 450"]
    rows = await stored(portal)
    assert [row.status for row in rows] == [InboundStatus.RELAYED] * STAFF_PER_HOUR


async def test_the_count_is_shared_by_every_worker_on_the_store(portal, inbound):
    """A second server on the same store (another `portail smtp`) sees the first's mails."""
    await build_town(portal.sessions, [])
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    other = InboundMailServer(
        inbound_service(portal, config), limits=SenderLimits(PER_HOUR, STAFF_PER_HOUR)
    )
    await other.start("127.0.0.1", 0)
    try:
        answers = []
        for n in range(PER_HOUR + 1):
            answers.append(await deliver(inbound if n % 2 else other, document_mail(n)))
    finally:
        await other.close()
    assert answers == ["250"] * PER_HOUR + ["DATA 450"]


# Concurrent messages ------------------------------------------------------------------------


class Client:
    """A raw SMTP client on the test's loop, to stop a session in the middle of DATA."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        assert (await client.answer()).startswith("220")
        return client

    async def answer(self) -> str:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        while line[3:4] == b"-":  # a multi-line answer (EHLO)
            line = await asyncio.wait_for(self.reader.readline(), 5)
        return line.decode().strip()

    async def say(self, line: str) -> str:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()
        return await self.answer()

    async def up_to_data(self, sender: str) -> str:
        """EHLO, MAIL, RCPT, then DATA: its answer (354 to go on)."""
        assert (await self.say("EHLO client.example")).startswith("250")
        assert (await self.say(f"MAIL FROM:<{sender}>")).startswith("250")
        assert (await self.say(f"RCPT TO:<{DOCUMENTS}>")).startswith("250")
        return await self.say("DATA")

    async def message(self, raw: bytes) -> str:
        """The message and its final dot; the answer to it."""
        self.writer.write(on_the_wire(raw).replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        await self.writer.drain()
        return await self.answer()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), 5)


async def test_one_message_more_than_the_cap_is_told_452_and_may_come_later(portal, inbound):
    await build_town(portal.sessions, [])
    senders = [PARENT, OTHER_PARENT, "parent.f3@exemple.fr"]
    clients = [await Client.open(inbound.port) for _ in senders]
    try:
        # Two messages are being received (their DATA started, their bytes still to come).
        assert (await clients[0].up_to_data(senders[0])).startswith("354")
        assert (await clients[1].up_to_data(senders[1])).startswith("354")
        assert await clients[2].up_to_data(senders[2]) == TOO_MANY_AT_ONCE
        assert inbound.data_slots.busy == CAP
        # One ends: a slot is free again.
        assert (await clients[0].message(document_mail(0))).startswith("250")
        assert (await clients[2].say("DATA")).startswith("354")
        assert (await clients[2].message(document_mail(2))).startswith("250")
        # A client that drops its connection in the middle of DATA gives its slot back.
        await clients[1].close()
        for _ in range(100):
            if inbound.data_slots.busy == 0:
                break
            await asyncio.sleep(0.02)
        assert inbound.data_slots.busy == 0
    finally:
        for client in clients:
            await client.close()
    await inbound.drain()
    assert len(await stored(portal)) == 2


async def test_smtplib_clients_past_the_cap_are_told_452(portal, inbound):
    """Threads of smtplib clients, each held in DATA by a message it sends slowly."""
    await build_town(portal.sessions, [])
    raw = on_the_wire(document_mail(1))
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_client(number: int) -> str:
        with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as client:
            client.ehlo("client.example")
            client.mail(f"p{number}@exemple.fr")
            client.rcpt(DOCUMENTS)
            client.putcmd("data")
            code, _ = client.getreply()
            if code != 354:
                return str(code)
            client.send(raw[:100])
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(10)
            client.send(raw[100:] + b"\r\n.\r\n")
            code, _ = client.getreply()
            return str(code)

    tasks = [asyncio.create_task(asyncio.to_thread(slow_client, n)) for n in range(CAP + 2)]
    for _ in range(250):
        if inbound.data_slots.busy == CAP and inbound.data_slots.refused >= 2:
            break
        await asyncio.sleep(0.02)
    release.set()
    codes = sorted(await asyncio.gather(*tasks))
    assert codes == ["250"] * CAP + ["452"] * 2
