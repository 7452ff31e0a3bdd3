"""Bounds on what one parent's mail does: at most N attachments, one review email, and a notice
that Telegram takes (never over 4,096 characters), over real SMTP and the real bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from fake_telegram.server import MAX_TEXT
from handlers.email_notices import fit_list, telegram_length
from mail.inbound import InboundMailServer, inbound_service
from store.inbound import InboundConfig
from store.mail_documents import ATTACHMENT_TOO_LARGE, TOO_MANY_ATTACHMENTS, UNKNOWN_SENDER
from store.models import Document, OutboxItem, Service
from store.models.base import utcnow
from store.models.enums import Channel
from store.models.inbound import InboundStatus
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.mail_helpers import wait_for_mails
from tests.test_inbound_email import DOCUMENTS, DOMAIN, PARENT, inbound_rows, mail, send

FAMILY_FILE_EMAIL = "dossier-famille@montclar.example"


def distinct_pdf(number: int) -> bytes:
    """A valid PDF whose bytes differ from every other number's (a comment after the end)."""
    return tiny_pdf() + f"\n%{number}\n".encode()


def long_name(number: int, extension: str = "pdf") -> str:
    """A 200-character file name."""
    stem = f"{number:03d}-attestation-tres-longue-"
    return (stem + "x" * 200)[: 200 - len(extension) - 1] + "." + extension


@pytest.fixture
async def inbound(portal, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The product's inbound mail server on loopback, with the default limits."""
    portal.settings.documents_dir = tmp_path / "documents"
    server = InboundMailServer(inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS)))
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def _documents(portal) -> list[Document]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(Document).order_by(Document.id)))


async def _outbox(portal) -> list[OutboxItem]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _sent_texts(telegram) -> list[str]:
    return [str(call["text"]) for call in telegram.calls_to("sendMessage")]


async def test_a_thousand_pdfs_in_one_mail_make_ten_documents_and_one_review_email(
    portal, telegram, bot, smtp_sink, inbound, clock
):
    await build_town(portal.sessions, [])
    async with portal.sessions.begin() as session:
        session.add(Service(code="family_file", name="Dossier famille", email=FAMILY_FILE_EMAIL))
    parent = await linked_parent(portal, telegram, PARENT)
    parent.mark()
    files = [(f"f{i}.pdf", distinct_pdf(i), "application/pdf") for i in range(1000)]
    await send(inbound, mail("justificatifs", *files))

    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED
    assert row.reason == "10 filed, 0 refused, 990 not taken"
    assert row.outcome["not_taken"] == 990
    assert row.outcome["sender_notice"]["reason"] == TOO_MANY_ATTACHMENTS
    assert [d.original_name for d in await _documents(portal)] == [f"f{i}.pdf" for i in range(10)]
    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert "990 autres pièces jointes non prises en compte" in notice.text
    assert "au plus 10 fichiers par e-mail" in notice.text
    kinds = [item.kind for item in await _outbox(portal)]
    assert kinds.count("documents_to_review") == 1
    assert "document_to_review" not in kinds

    clock.set(utcnow() + timedelta(minutes=1))  # the review email is held back a moment
    await wait_for_mails(smtp_sink, 2)  # the review email, and the sender's notice
    [review] = [m for m in smtp_sink.messages if "à vérifier" in m["Subject"]]
    assert "10 documents à vérifier" in review["Subject"]
    body = review.get_body().get_content()
    assert all(
        f"document {i + 1} : f{i}.pdf — document à classer, 1 Ko" in body for i in range(10)
    )
    assert len(list(review.iter_attachments())) == 10


async def test_ten_files_with_long_names_make_notices_telegram_takes(
    portal, telegram, bot, inbound
):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    parent.mark()
    files = [(long_name(i), distinct_pdf(i), "application/pdf") for i in range(10)]
    await send(inbound, mail("x" * 300, *files), vouch=False)
    question = await parent.wait_for_message(lambda m: "Avez-vous envoyé" in (m.text or ""))
    assert question.text.count("📄 ") == 10  # each file listed
    await parent.tap("Oui", message=question)
    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert notice.text.count("✅ ") == 10
    assert len(await _documents(portal)) == 10
    sent = [t for t in _sent_texts(telegram) if "Documents reçus" in t or "Avez-vous" in t]
    assert len(sent) == 2
    assert all(telegram_length(t) <= MAX_TEXT for t in sent)


async def test_many_refusals_are_summed_up_within_the_limit(portal, telegram, bot, tmp_path):
    await build_town(portal.sessions, [])
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS, max_attachments=200)
    server = InboundMailServer(inbound_service(portal, config))
    await server.start("127.0.0.1", 0)
    try:
        parent = await linked_parent(portal, telegram, PARENT)
        parent.mark()
        word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        files = [(long_name(i, "docx"), b"PK\x03\x04 not a pdf", word) for i in range(120)]
        files.append(("vaccins.pdf", distinct_pdf(1), "application/pdf"))
        await send(server, mail("fiches", *files))
        # Unauthenticated this time: the question lists the same files, within the limit too.
        await send(server, mail("fiches encore", *files[:-1], files[-1]), vouch=False)
    finally:
        await server.close()
    # The two notices come in either order (two outbox items, delivered side by side).
    both = [
        await parent.wait_for_message(
            lambda m: "Documents reçus" in (m.text or "") or "Avez-vous envoyé" in (m.text or "")
        )
        for _ in range(2)
    ]
    [notice] = [m for m in both if "Documents reçus" in (m.text or "")]
    [question] = [m for m in both if "Avez-vous envoyé" in (m.text or "")]
    assert "… et " in notice.text and " autres fichiers" in notice.text
    assert "… et " in question.text and question.buttons == ["Oui", "Non, c'est une erreur"]
    texts = _sent_texts(telegram)
    assert any("Documents reçus" in t for t in texts)
    assert all(telegram_length(t) <= MAX_TEXT for t in texts)
    # Nothing was refused by Telegram for its length, and nothing retried.
    telegram_items = [i for i in await _outbox(portal) if i.channel is Channel.TELEGRAM]
    assert [(i.kind, i.last_error) for i in telegram_items] == [
        ("documents_received", None),
        ("mail_to_confirm", None),
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_list_is_cut_to_what_telegram_takes(language):
    items = [f"❌ {'📄' * 50}{'é' * 150} — non enregistré" for _ in range(500)]
    message = fit_list(["📎 <b>titre</b>", ""], items, ["", "fin"], language)
    assert telegram_length(message) <= MAX_TEXT
    shown = message.count("❌ ")
    more = "autres fichiers" if language == "fr" else "more files"
    assert 0 < shown < 500 and f"{500 - shown} {more}" in message
    assert message.endswith("\nfin")
    assert fit_list([], ["a", "b"], [], language) == "a\nb"


async def test_the_sender_is_told_of_an_unknown_address_or_a_file_too_large(portal, tmp_path):
    await build_town(portal.sessions, [])
    portal.settings.documents_dir = tmp_path / "documents"
    portal.settings.max_document_bytes = 2_000
    server = InboundMailServer(inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS)))
    await server.start("127.0.0.1", 0)
    try:
        big = ("scan.pdf", distinct_pdf(1) + b"%" * 5_000, "application/pdf")
        await send(server, mail("scan", big))
        stranger = "x@pirate.example"
        await send(server, mail("scan", big, sender=stranger), mail_from=stranger, vouch=False)
    finally:
        await server.close()
    too_large, unknown = await inbound_rows(portal)
    assert (too_large.status, too_large.reason) == (InboundStatus.FILED, "0 filed, 1 refused")
    assert too_large.outcome["sender_notice"]["reason"] == ATTACHMENT_TOO_LARGE
    assert unknown.status is InboundStatus.QUARANTINED
    assert unknown.outcome["sender_notice"]["reason"] == UNKNOWN_SENDER
    assert await _documents(portal) == []
