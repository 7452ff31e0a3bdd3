"""A parent's mail our MTA did not authenticate is not filed: the parent is asked in the chat.

Over real SMTP (the product's inbound server on loopback, smtplib) and the real bot against the
fake Telegram: a forged `From:` set to a guardian's address files nothing until the parent taps
« Oui »; « Non, c'est une erreur » throws the files away and tells the service; an answer counts
once, only from the family, and only while the mail waits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.email_notices import mail_to_confirm
from mail.inbound import InboundMailServer, inbound_service
from store.absences import AbsenceService
from store.inbound import InboundConfig
from store.mail_retention import Retention
from store.models import Absence, Document, InboundMail, OutboxItem, Service
from store.models.base import utcnow
from store.models.enums import AbsenceReason, DocumentType
from store.models.inbound import InboundStatus
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.mail_helpers import wait_for_mails
from tests.test_inbound_email import DOCUMENTS, DOMAIN, PARENT, inbound_rows, mail, send

FAMILY_FILE_EMAIL = "dossier-famille@montclar.example"
QUESTION = "Avez-vous envoyé ce document par e-mail ?"
YES, NO = "Oui", "Non, c'est une erreur"


@pytest.fixture
async def inbound(portal, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The product's inbound mail server on loopback."""
    portal.settings.documents_dir = tmp_path / "documents"
    server = InboundMailServer(inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS)))
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def _family_file_service(portal) -> None:
    async with portal.sessions.begin() as session:
        session.add(Service(code="family_file", name="Dossier famille", email=FAMILY_FILE_EMAIL))


async def _documents(portal) -> list[Document]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(Document).order_by(Document.id)))


async def _kinds(portal) -> list[str]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)))


def _held_files(portal) -> list[Path]:
    folder = Path(portal.settings.documents_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


def _forged(subject: str = "Attestation d'assurance") -> bytes:
    """A mail with `From:` a guardian's address and no result of our MTA vouching for it."""
    return mail(
        subject,
        ("assurance scolaire.pdf", tiny_pdf(), "application/pdf"),
        ("vaccins.pdf", tiny_pdf() + b"\n%%", "application/pdf"),
    )


async def test_a_forged_mail_files_nothing_and_no_tells_the_service(
    portal, telegram, bot, smtp_sink, inbound
):
    await build_town(portal.sessions, [])
    await _family_file_service(portal)
    parent = await linked_parent(portal, telegram, PARENT)
    parent.mark()
    await send(inbound, _forged(), vouch=False)

    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.AWAITING_CONFIRMATION
    assert await _documents(portal) == []
    assert len(_held_files(portal)) == 2  # checked and kept with the mail, not filed
    question = await parent.wait_for_message(lambda m: QUESTION in (m.text or ""))
    assert question.buttons == [YES, NO]
    assert "« Attestation d'assurance »" in question.text
    assert "assurance scolaire.pdf — attestation d'assurance" in question.text
    assert "vaccins.pdf — carnet de vaccination" in question.text
    assert "rien n'est enregistré avant votre réponse" in question.text

    await parent.tap(NO, message=question)
    said = await parent.wait_for_message(lambda m: "Rien n'a été enregistré" in (m.text or ""))
    assert "Le service est prévenu" in said.text
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (
        InboundStatus.DISCARDED,
        "the parent said they did not send it",
    )
    assert await _documents(portal) == []
    assert _held_files(portal) == []  # thrown away
    [staff_mail] = await wait_for_mails(smtp_sink)
    assert staff_mail["To"] == FAMILY_FILE_EMAIL
    assert "refusé par la famille" in staff_mail["Subject"]
    body = staff_mail.get_body().get_content()
    assert "Parent F1 a répondu sur Telegram" in body and "2 fichiers ont été écartés" in body
    assert f"Expéditeur affiché : {PARENT}" in body
    assert not list(staff_mail.iter_attachments())
    assert "documents_received" not in await _kinds(portal)


async def test_yes_files_the_documents_once_as_an_authenticated_mail_would(
    portal, telegram, bot, smtp_sink, inbound, clock
):
    await build_town(portal.sessions, [])
    await _family_file_service(portal)
    parent = await linked_parent(portal, telegram, PARENT)
    parent.mark()
    await send(inbound, _forged(), vouch=False)
    question = await parent.wait_for_message(lambda m: QUESTION in (m.text or ""))
    yes, no = (question.button(label)["callback_data"] for label in (YES, NO))

    answered = await parent.tap(YES, message=question)
    assert answered is not None and not answered.show_alert
    await parent.wait_for_message(lambda m: "vos documents sont enregistrés" in (m.text or ""))
    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert "✅ assurance scolaire.pdf — attestation d'assurance" in notice.text
    assert "✅ vaccins.pdf — carnet de vaccination" in notice.text
    documents = await _documents(portal)
    assert [(d.original_name, d.doc_type) for d in documents] == [
        ("assurance scolaire.pdf", DocumentType.INSURANCE),
        ("vaccins.pdf", DocumentType.VACCINATION_RECORD),
    ]
    assert {d.storage_key for d in documents} == {p.name for p in _held_files(portal)}

    # Tapped again (a slow phone, or the same data sent again): nothing more happens.
    again = await forge_tap(telegram, parent, question, yes)
    assert again is not None and again.show_alert
    assert "déjà répondu" in (again.text or "")
    no_after_yes = await forge_tap(telegram, parent, question, no)
    assert no_after_yes is not None and "documents sont enregistrés" in (no_after_yes.text or "")
    assert len(await _documents(portal)) == 2
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED
    kinds = await _kinds(portal)
    assert kinds.count("documents_received") == 1 and kinds.count("documents_to_review") == 1
    assert "document_to_review" not in kinds  # one review email per mail, not per file

    clock.set(utcnow() + timedelta(minutes=1))  # the review email is held back a moment
    [review] = await wait_for_mails(smtp_sink)
    assert "2 documents à vérifier" in review["Subject"]
    assert len(list(review.iter_attachments())) == 2


async def test_an_answer_from_another_family_or_too_late_files_nothing(
    portal, telegram, bot, inbound, clock
):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    stranger = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Sacha")
    parent.mark()
    await send(inbound, _forged(), vouch=False)
    question = await parent.wait_for_message(lambda m: QUESTION in (m.text or ""))
    data = question.button(YES)["callback_data"]

    # The other family's guardian sends the same request: refused, nothing filed.
    refused = await forge_tap(telegram, stranger, question, data)
    assert refused is not None and "n'est plus valable" in (refused.text or "")
    assert await _documents(portal) == []

    # A week later, the button has expired: the files are thrown away.
    clock.set(utcnow() + timedelta(days=8))
    late = await parent.tap(YES, message=question)
    assert late is not None and "a expiré" in (late.text or "")
    assert await _documents(portal) == []
    assert _held_files(portal) == []
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (InboundStatus.DISCARDED, "not confirmed in time")


async def test_a_mail_never_answered_expires_with_the_next_sweep(portal, telegram, bot, inbound):
    await build_town(portal.sessions, [])
    await linked_parent(portal, telegram, PARENT)
    await send(inbound, _forged(), vouch=False)
    assert await inbound.service.mail_documents.expire_unconfirmed(utcnow()) == 0
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.AWAITING_CONFIRMATION
    # The mail server's periodic purge, a week and a day later.
    await inbound.service.purge_raw(utcnow() + timedelta(days=8), Retention())
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.DISCARDED
    assert _held_files(portal) == []


async def test_without_a_linked_chat_the_mail_is_set_aside_for_staff(portal, inbound):
    await build_town(portal.sessions, [])
    await send(inbound, _forged(), vouch=False)
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (
        InboundStatus.QUARANTINED,
        "not authenticated, and no Telegram chat to confirm it",
    )
    assert await _documents(portal) == []
    assert _held_files(portal) == []
    async with portal.sessions() as session:
        telegram_notices = await session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.kind != "sender_notice")
        )
    assert telegram_notices == 0


async def test_an_authenticated_mail_is_filed_straight_away(portal, telegram, bot, inbound):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    parent.mark()
    await send(inbound, _forged(), vouch=True)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED
    assert row.outcome["authenticated"] is True  # filed because our MTA vouched for it
    assert len(await _documents(portal)) == 2
    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert QUESTION not in notice.text and not notice.buttons
    assert "mail_to_confirm" not in await _kinds(portal)
    # A forged answer naming this mail (never asked about) changes nothing.
    forged = await forge_tap(telegram, parent, notice, f"mc:no:{row.id}")
    assert forged is not None and "n'est plus valable" in (forged.text or "")
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED and len(await _documents(portal)) == 2


async def test_a_result_from_another_authserv_id_is_not_believed(portal, telegram, bot, inbound):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    parent.mark()
    forged = b"Authentication-Results: mx.google.com; dmarc=pass header.from=exemple.fr\r\n"
    await send(inbound, forged + _forged(), vouch=False)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.AWAITING_CONFIRMATION
    assert await _documents(portal) == []
    await parent.wait_for_message(lambda m: QUESTION in (m.text or ""))
    async with portal.sessions() as session:
        stored = await session.scalar(select(InboundMail.outcome))
    assert len(stored["held"]) == 2


async def test_a_confirmed_certificate_is_attached_to_its_absence(portal, telegram, bot, inbound):
    town = await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    [absence] = await AbsenceService(portal.sessions).report(
        town.guardian,
        [town.child_ids[0]],
        date(2026, 12, 9),
        date(2026, 12, 9),
        AbsenceReason.ILLNESS,
    )
    parent.mark()
    raw = mail(f"Certificat {absence.reference}", ("scan.pdf", tiny_pdf(), "application/pdf"))
    await send(inbound, raw, vouch=False)
    question = await parent.wait_for_message(lambda m: QUESTION in (m.text or ""))
    assert "scan.pdf — certificat médical" in question.text
    await parent.tap(YES, message=question)
    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert f"Le certificat médical est joint à l'absence {absence.reference}." in notice.text
    [document] = await _documents(portal)
    async with portal.sessions() as session:
        stored = await session.get(Absence, absence.id)
    assert stored is not None and stored.certificate_id == document.id
    assert document.doc_type is DocumentType.MEDICAL_CERTIFICATE


async def test_the_question_in_english():
    payload = {
        "mail_id": 7,
        "subject": "Insurance",
        "received_at": "2026-12-03T10:15:00+00:00",
        "files": [{"name": "cover.pdf", "type": "insurance", "size": 2048}],
        "refused": [{"name": "form.docx", "reason": "wrong_type", "size": 10, "limit": None}],
        "not_taken": 3,
        "max_attachments": 10,
    }
    notice = await mail_to_confirm(None, payload, "en")  # type: ignore[arg-type]
    assert notice.text.startswith("📧 <b>Did you send this document by email?</b>")
    assert "Received Thursday 3 December, 11:15 — “Insurance”" in notice.text
    assert "📄 cover.pdf — insurance certificate (2 KB)" in notice.text
    assert "❌ form.docx" in notice.text
    assert "3 more attachments not taken: at most 10 files per email" in notice.text
    assert notice.keyboard is not None
    [[yes, no]] = notice.keyboard.inline_keyboard
    assert (yes.text, yes.callback_data) == ("Yes", "mc:yes:7")
    assert (no.text, no.callback_data) == ("No, that was not me", "mc:no:7")
