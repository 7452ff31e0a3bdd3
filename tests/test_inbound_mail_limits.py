"""Mail intake under load and with large mail: what the accept path and the worker leave out.

An attachment over the documents' size limit is refused from its encoded size and never
decoded (the parent is still told why); the message is fed to the parser in chunks, read as
the standard parser reads it whole; the worker lets the SMTP dialogue go first.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage, Message
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

import pytest

import handlers.email_notices  # noqa: F401  (registers the documents_received renderer)
from mail import parsing as email_parsing
from mail.inbound import InboundMailServer, inbound_service
from mail.parsing import encoded_size, message_id_of, parse_mail
from store.inbound import InboundConfig
from store.messaging import MessagingService
from store.models import Document
from store.models.inbound import InboundStatus
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import pdf_of_size
from tests.helpers import build_town
from tests.mail_helpers import vouched
from tests.messaging_helpers import add_services
from tests.test_inbound_email import (
    DOCUMENTS,
    DOMAIN,
    PARENT,
    STAFF_DOMAIN,
    count,
    inbound_rows,
    mail,
    on_the_wire,
    send,
)

CORPUS = Path(__file__).parent / "data" / "emails"
LIMIT = 10_000


def pdf(size: int) -> bytes:
    """A real one-page PDF of exactly `size` bytes."""
    return pdf_of_size(size)


@pytest.fixture
def decoded(monkeypatch) -> Iterator[list[tuple[str, int]]]:
    """(content type, size) of every part whose payload was decoded, in any thread."""
    calls: list[tuple[str, int]] = []
    original = Message.get_payload

    def spy(self: Message, i: Any = None, decode: bool = False) -> Any:
        payload = original(self, i, decode)
        if decode and isinstance(payload, bytes):
            calls.append((self.get_content_type(), len(payload)))
        return payload

    monkeypatch.setattr(Message, "get_payload", spy)
    yield calls


@pytest.fixture
async def limited(portal, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The inbound mail server with documents limited to `LIMIT` bytes."""
    portal.settings.documents_dir = tmp_path / "documents"
    portal.settings.max_document_bytes = LIMIT
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(inbound_service(portal, config), max_mail_bytes=300_000)
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


# Reading ----------------------------------------------------------------------------------


def test_an_attachment_over_the_limit_is_told_by_its_size_and_never_decoded(decoded):
    raw = mail(
        "pièces",
        ("gros.pdf", pdf(LIMIT + 1), "application/pdf"),
        ("petit.pdf", pdf(LIMIT), "application/pdf"),
    )
    big, small = parse_mail(raw, max_attachment_bytes=LIMIT).attachments
    assert (big.filename, big.size, big.content) == ("gros.pdf", LIMIT + 1, b"")
    assert (small.filename, small.size, small.content) == ("petit.pdf", LIMIT, pdf(LIMIT))
    assert ("application/pdf", LIMIT + 1) not in decoded
    assert ("application/pdf", LIMIT) in decoded
    # Without a limit every attachment is decoded, as before.
    big, _ = parse_mail(raw).attachments
    assert big.content == pdf(LIMIT + 1) and big.size == LIMIT + 1


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 56, 57, 58, 1000, 10_001])
@pytest.mark.parametrize("line_end", ["\r\n", "\n"])
def test_the_encoded_size_of_base64_is_the_decoded_size(size, line_end):
    content = bytes(range(256)) * (size // 256 + 1)
    content = content[:size]
    text = base64.encodebytes(content).decode().replace("\n", line_end)
    part = email.message_from_string(
        f"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n{text}",
        policy=email.policy.default,
    )
    assert encoded_size(part) == size == len(part.get_payload(decode=True))


def test_the_encoded_size_of_other_encodings():
    part = email.message_from_bytes(
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: 8bit\n\n\xe9t\xe9",
        policy=email.policy.default,
    )
    assert encoded_size(part) == 3 == len(part.get_payload(decode=True))
    quoted = email.message_from_string(
        "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n=C3=A9",
        policy=email.policy.default,
    )
    assert encoded_size(quoted) is None  # only decoding tells


@pytest.mark.parametrize("chunk", [7, 4096])
def test_the_corpus_reads_the_same_in_chunks_as_whole(monkeypatch, chunk):
    monkeypatch.setattr(email_parsing, "FEED_CHUNK_BYTES", chunk)
    for path in sorted(CORPUS.glob("*.eml")):
        for raw in (path.read_bytes(), on_the_wire(path.read_bytes())):
            whole = email.message_from_bytes(raw, policy=email.policy.default)
            fed = email_parsing._parse(raw)
            assert fed.as_bytes() == whole.as_bytes(), path.name
            assert [type(d) for p in fed.walk() for d in p.defects] == [
                type(d) for p in whole.walk() for d in p.defects
            ], path.name


def test_the_message_id_is_read_from_the_headers_alone():
    raw = mail("pièces", ("a.pdf", pdf(500), "application/pdf"), message_id="<m1@exemple.fr>")
    assert message_id_of(raw) == "<m1@exemple.fr>"
    assert message_id_of(raw.replace(b"\r\n", b"\n")) == "<m1@exemple.fr>"
    assert message_id_of(b"Subject: x\r\n\r\nMessage-ID: <body@exemple.fr>\r\n") is None


# Over SMTP --------------------------------------------------------------------------------


async def test_an_oversized_attachment_by_mail_is_refused_and_the_parent_told(
    portal, telegram, bot, limited, decoded
):
    town = await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    raw = mail(
        "assurance",
        ("assurance.pdf", pdf(LIMIT * 3), "application/pdf"),
        ("attestation.pdf", pdf(2_000), "application/pdf"),
    )
    parent.mark()
    await send(limited, raw)

    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id, row.reason) == (
        InboundStatus.FILED,
        town.family_id,
        "1 filed, 1 refused",
    )
    assert row.outcome is not None
    assert row.outcome["refused"] == [
        {"name": "assurance.pdf", "reason": "too_large", "size": LIMIT * 3, "limit": LIMIT}
    ]
    assert await count(portal, Document) == 1
    assert [size for kind, size in decoded if kind == "application/pdf"] == [2_000]
    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert "assurance.pdf" in notice.text and "trop lourd" in notice.text
    assert "attestation.pdf" in notice.text


async def test_a_staff_replys_oversized_attachment_is_not_forwarded(portal, limited, decoded):
    town = await build_town(portal.sessions, [])
    await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    thread = await messaging.write(town.guardian, "leisure_centres", "Question")
    token = await messaging.new_reply_token(thread.id)
    message = EmailMessage()
    message["From"] = f"agent@{STAFF_DOMAIN}"
    message["To"] = f"reply+{token}@{DOMAIN}"
    message["Subject"] = "Re: Question"
    message.set_content("Voici le règlement.")
    message.add_attachment(
        pdf(LIMIT * 2), maintype="application", subtype="pdf", filename="reglement.pdf"
    )
    sender = f"agent@{STAFF_DOMAIN}"
    await send(limited, message.as_bytes(policy=SMTP_POLICY), [message["To"]], sender)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.RELAYED
    assert row.outcome is not None and row.outcome["attachments_not_forwarded"] == 1
    assert not [size for kind, size in decoded if kind == "application/pdf"]


@contextlib.asynccontextmanager
async def worker_timing(
    portal, tmp_path: Path, quiet_seconds: float, max_defer_seconds: float
) -> AsyncIterator[InboundMailServer]:
    """A listening inbound server whose worker waits as told."""
    portal.settings.documents_dir = tmp_path / "documents"
    service = inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS))
    server = InboundMailServer(
        service, quiet_seconds=quiet_seconds, max_defer_seconds=max_defer_seconds
    )
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def hand_over_a_mail(server: InboundMailServer) -> None:
    """A parent's vaccination record accepted, and handed to the worker as after its 250."""
    raw = vouched(mail("vaccins", ("v.pdf", pdf(500), "application/pdf")))
    accepted = await server.service.accept_raw(PARENT, [DOCUMENTS], raw, None)
    server._accept(accepted.mail_id, raw)


async def test_the_worker_waits_for_the_dialogue_to_be_quiet(portal, tmp_path):
    town = await build_town(portal.sessions, [])
    async with worker_timing(portal, tmp_path, quiet_seconds=0.5, max_defer_seconds=30) as server:
        server._touch()  # a client is talking
        await hand_over_a_mail(server)
        await asyncio.sleep(0.2)
        [row] = await inbound_rows(portal)
        assert row.status is InboundStatus.RECEIVED  # not yet: accepting comes first
        await server.drain()
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.FILED, town.family_id)


async def test_the_worker_waits_while_a_message_is_arriving(portal, tmp_path):
    town = await build_town(portal.sessions, [])
    async with worker_timing(portal, tmp_path, quiet_seconds=0.05, max_defer_seconds=30) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

        async def say(line: str) -> bytes:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()
            answer = await reader.readline()
            while answer[3:4] == b"-":  # a multi-line answer (EHLO)
                answer = await reader.readline()
            return answer

        try:
            await reader.readline()  # greeting
            await say("EHLO client.example")
            await say(f"MAIL FROM:<{PARENT}>")
            assert (await say(f"RCPT TO:<{DOCUMENTS}>")).startswith(b"250")
            # Another client's mail is accepted while this one's message is still to come.
            await hand_over_a_mail(server)
            await asyncio.sleep(0.5)  # ten times the quiet delay
            [row] = await inbound_rows(portal)
            assert row.status is InboundStatus.RECEIVED  # the arriving message comes first
            assert (await say("RSET")).startswith(b"250")  # that client gives up its message
            await asyncio.wait_for(server.drain(), timeout=5)
        finally:
            writer.close()
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.FILED, town.family_id)


async def test_a_mail_waits_no_longer_than_the_deferral_limit(portal, tmp_path):
    await build_town(portal.sessions, [])
    async with worker_timing(portal, tmp_path, quiet_seconds=60, max_defer_seconds=0.1) as server:
        await hand_over_a_mail(server)
        server._touch()  # the dialogue never stops
        await asyncio.wait_for(server.drain(), timeout=5)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED


async def test_the_worker_gets_a_mail_just_accepted_with_its_bytes(portal, limited, monkeypatch):
    await build_town(portal.sessions, [])
    given: list[bytes | None] = []
    process = limited.service.process

    async def spy(mail_id: int, raw: bytes | None = None) -> Any:
        given.append(raw)
        return await process(mail_id, raw)

    monkeypatch.setattr(limited.service, "process", spy)
    raw = vouched(mail("vaccins", ("vaccins.pdf", pdf(500), "application/pdf")))
    await send(limited, raw, vouch=False)
    assert given == [on_the_wire(raw)]  # not read again from the store
    assert not limited._held
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED
