"""The inbound mail server over real SMTP on loopback: smtplib talks to it on the test's loop.

Parents' documents are filed to the right family and announced on Telegram; staff replies are
relayed with only their new text; everything else (unknown senders, automatic mail, bad tokens,
malformed, oversized) is kept from parents; nothing accepted with 250 is ever lost.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text, update

import handlers.email_notices  # noqa: F401  (registers the documents_received renderer)
from bot.runner import running_bot
from mail.inbound import InboundMailServer, inbound_service, running_smtp
from store.absences import AbsenceService
from store.actors import Actor
from store.inbound import InboundConfig, reply_token
from store.messaging import MessagingService
from store.models import Absence, Document, InboundMail, Message, OutboxItem
from store.models.enums import (
    AbsenceReason,
    Channel,
    DocumentSource,
    DocumentType,
    MessageDirection,
)
from store.models.inbound import InboundStatus
from store.sender_notices import SENDER_NOTICE_MAIL
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.mail_helpers import vouched, wait_for_mails
from tests.messaging_helpers import add_services, link_chat

DOMAIN = "portail-famille.example"
DOCUMENTS = f"documents@{DOMAIN}"
PARENT = "parent.f1@exemple.fr"
STAFF_DOMAIN = "mairie-montclar.fr"
CORPUS = Path(__file__).parent / "data" / "emails"
INDEX: list[dict[str, Any]] = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))
PDF = tiny_pdf()
MAX_MAIL_BYTES = 300_000


@pytest.fixture
async def inbound(portal, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The inbound mail server on loopback, with small limits to test them."""
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(
        inbound_service(portal, config), max_mail_bytes=MAX_MAIL_BYTES, max_recipients=3
    )
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


def on_the_wire(raw: bytes) -> bytes:
    """A message as SMTP carries it: CRLF line ends."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _smtp_send(port: int, mail_from: str, rcpts: list[str], raw: bytes, size: bool) -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.example")
        if not size:
            client.esmtp_features.pop("size", None)
        return client.sendmail(mail_from, rcpts, raw)


async def send(
    server: InboundMailServer,
    raw: bytes,
    rcpts: list[str] | None = None,
    mail_from: str = PARENT,
    *,
    size: bool = True,
    vouch: bool | None = None,
) -> Any:
    """Deliver `raw` over SMTP (CRLF line ends), then wait until it was processed.

    `vouch`: hand it on as our MTA does once DMARC passed for its From domain (`vouched`);
    by default, a mail to the documents address is (the parent's own mail)."""
    rcpts = rcpts or [DOCUMENTS]
    if vouch or (vouch is None and DOCUMENTS in rcpts):
        raw = vouched(raw)
    refused = await asyncio.to_thread(
        _smtp_send, server.port, mail_from, rcpts, on_the_wire(raw), size
    )
    await server.drain()
    return refused


def mail(
    subject: str,
    *files: tuple[str, bytes, str],
    sender: str = f"Camille Dupont <{PARENT}>",
    to: str = DOCUMENTS,
    message_id: str | None = None,
    body: str = "Bonjour, voici le document.",
) -> bytes:
    """A parent's email with attachments, as a mail client would write it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="exemple.fr")
    message.set_content(body)
    for name, content, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=SMTP_POLICY)


async def inbound_rows(portal) -> list[InboundMail]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(InboundMail).order_by(InboundMail.id)))


async def count(portal, model: Any) -> int:
    async with portal.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


# Parents' documents -----------------------------------------------------------------------


async def test_a_parents_certificate_is_filed_and_announced_on_telegram(
    portal, telegram, bot, inbound
):
    town = await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, PARENT)
    [absence] = await AbsenceService(portal.sessions).report(
        town.guardian,
        [town.child_ids[0]],
        date(2026, 12, 9),
        date(2026, 12, 9),
        AbsenceReason.ILLNESS,
    )
    raw = (CORPUS / "29-parent-gmail-certificate-reference.eml").read_bytes()
    raw = raw.replace(b"ABS-7kq9m2", absence.reference.lower().encode())
    parent.mark()
    await send(inbound, raw)

    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id, row.reason) == (
        InboundStatus.FILED,
        town.family_id,
        "1 filed, 0 refused",
    )
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
        stored_absence = await session.get(Absence, absence.id)
    assert document.family_id == town.family_id
    assert document.doc_type is DocumentType.MEDICAL_CERTIFICATE
    assert document.source is DocumentSource.EMAIL
    assert document.original_name == "certificat_medical_lucas.pdf"
    assert stored_absence is not None and stored_absence.certificate_id == document.id

    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert "« Certificat médical absence " in notice.text
    assert "✅ certificat_medical_lucas.pdf — certificat médical (1 Ko)" in notice.text
    assert f"Le certificat médical est joint à l'absence {absence.reference}." in notice.text


async def test_each_attachment_filed_or_refused_with_its_reason(portal, inbound):
    town = await build_town(portal.sessions, [])
    assert town.guardian.id is not None
    await link_chat(portal.sessions, town.guardian.id, 4242)
    raw = (CORPUS / "31-parent-outlook-latin1-rfc2231.eml").read_bytes()
    await send(inbound, raw)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED and row.family_id == town.family_id
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
        [notice] = await session.scalars(
            select(OutboxItem).where(OutboxItem.channel == Channel.TELEGRAM)
        )
    assert (document.original_name, document.doc_type) == (
        "attestation CAF décembre.pdf",
        DocumentType.CAF_QUOTIENT,
    )
    assert notice.kind == "documents_received"
    assert notice.payload["received"] == [
        {"name": "attestation CAF décembre.pdf", "type": "caf_quotient", "size": document.size}
    ]
    assert [(r["name"], r["reason"]) for r in notice.payload["refused"]] == [
        ("Fiche sanitaire.docx", "wrong_type")
    ]


async def test_a_pasted_photo_is_filed_but_a_signature_logo_is_not(portal, inbound):
    town = await build_town(portal.sessions, [])
    await send(inbound, (CORPUS / "32-parent-gmail-pasted-image.eml").read_bytes())
    logo = (CORPUS / "06-outlook-web-fr-html-only-logo.eml").read_bytes()
    logo = logo.replace(b"regie@mairie-montclar.fr", PARENT.encode(), 1)
    await send(inbound, logo)
    first, second = await inbound_rows(portal)
    assert (first.status, first.reason) == (InboundStatus.FILED, "1 filed, 0 refused")
    assert (second.status, second.reason) == (InboundStatus.FILED, "no attachment")
    assert second.outcome is not None and second.outcome["skipped_body_images"] == 1
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
    assert (document.family_id, document.doc_type) == (
        town.family_id,
        DocumentType.PROOF_OF_ADDRESS,
    )


async def test_an_unknown_sender_is_quarantined_and_never_answered(portal, smtp_sink, inbound):
    await build_town(portal.sessions, [])
    raw = mail("certificat", ("certificat.pdf", PDF, "application/pdf"), sender="x@pirate.example")
    await send(inbound, raw, mail_from="x@pirate.example", vouch=False)
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason, row.family_id) == (
        InboundStatus.QUARANTINED,
        "documents from an unknown sender",
        None,
    )
    assert await count(portal, Document) == 0
    async with portal.sessions() as session:
        queued = list(await session.scalars(select(OutboxItem.kind)))
    assert queued == [SENDER_NOTICE_MAIL]  # only the sender, told why (rate-limited)
    assert smtp_sink.messages == []
    recorded = await inbound.service.recorded(Actor.system())
    assert [view.id for view in recorded] == [row.id]
    assert await inbound.service.raw(Actor.system(), row.id) == on_the_wire(raw)


async def test_another_familys_absence_reference_is_not_revealed(portal, inbound):
    town = await build_town(portal.sessions, [])
    [other_absence] = await AbsenceService(portal.sessions).report(
        town.other_guardian,
        [town.other_child_id],
        date(2026, 12, 9),
        date(2026, 12, 9),
        AbsenceReason.ILLNESS,
    )
    assert town.guardian.id is not None
    await link_chat(portal.sessions, town.guardian.id, 4242)
    raw = mail(f"certificat {other_absence.reference}", ("scan.pdf", PDF, "application/pdf"))
    await send(inbound, raw)
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
        [notice] = await session.scalars(
            select(OutboxItem).where(OutboxItem.channel == Channel.TELEGRAM)
        )
        absence = await session.get(Absence, other_absence.id)
    assert document.family_id == town.family_id
    assert absence is not None and absence.certificate_id is None
    assert notice.payload["unknown_reference"] == other_absence.reference


async def test_the_same_message_id_delivered_twice_is_filed_once(portal, inbound):
    await build_town(portal.sessions, [])
    raw = mail(
        "assurance", ("assurance.pdf", PDF, "application/pdf"), message_id="<once@exemple.fr>"
    )
    await send(inbound, raw)
    await send(inbound, raw)
    assert len(await inbound_rows(portal)) == 1
    assert await count(portal, Document) == 1
    async with portal.sessions() as session:
        kinds = list(await session.scalars(select(OutboxItem.kind)))
    assert kinds == ["documents_to_review"]  # for the service; the parent has no linked chat


# Limits and faults ------------------------------------------------------------------------


async def test_an_oversized_mail_is_refused_in_the_dialogue(portal, inbound):
    await build_town(portal.sessions, [])
    big = mail("gros", ("gros.pdf", PDF + b"0" * MAX_MAIL_BYTES, "application/pdf"))
    with pytest.raises(smtplib.SMTPSenderRefused) as announced:
        await send(inbound, big)
    assert announced.value.smtp_code == 552
    with pytest.raises(smtplib.SMTPDataError) as sent_anyway:
        await send(inbound, big, size=False)
    assert sent_anyway.value.smtp_code == 552
    assert await inbound_rows(portal) == []


async def test_unknown_recipients_are_refused_at_rcpt(portal, inbound):
    raw = mail("hello", to=f"nobody@{DOMAIN}")
    for address in (f"nobody@{DOMAIN}", "someone@elsewhere.example", f"reply+short@{DOMAIN}"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await send(inbound, raw, [address])
        assert refused.value.recipients[address][0] == 550
    assert await inbound_rows(portal) == []


async def test_too_many_recipients_are_refused(portal, inbound):
    rcpts = [f"reply+{'a' * 20}{n}@{DOMAIN}" for n in range(4)]
    refused = await send(inbound, mail("hello"), rcpts, mail_from="someone@example.org")
    assert list(refused) == [rcpts[3]] and refused[rcpts[3]][0] == 452
    [row] = await inbound_rows(portal)
    assert row.rcpt_to == rcpts[:3]


async def test_a_malformed_mail_is_kept_raw_and_flagged_and_the_server_goes_on(portal, inbound):
    await build_town(portal.sessions, [])
    broken = (CORPUS / "34-malformed-missing-boundary.eml").read_bytes()
    await send(inbound, broken)
    await send(inbound, mail("assurance", ("assurance.pdf", PDF, "application/pdf")))
    first, second = await inbound_rows(portal)
    assert first.status is InboundStatus.MALFORMED
    assert first.reason == "broken MIME structure: StartBoundaryNotFoundDefect"
    assert b"declared-but-absent" in await inbound.service.raw(Actor.system(), first.id)
    assert second.status is InboundStatus.FILED
    assert await count(portal, Document) == 1


async def test_a_mail_that_cannot_be_stored_is_answered_451(portal, inbound):
    async with portal.sessions.begin() as session:
        await session.execute(text("ALTER TABLE inbound_mail RENAME TO inbound_mail_away"))
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await send(inbound, mail("assurance", ("assurance.pdf", PDF, "application/pdf")))
        assert refused.value.smtp_code == 451
    finally:
        async with portal.sessions.begin() as session:
            await session.execute(text("ALTER TABLE inbound_mail_away RENAME TO inbound_mail"))


async def test_a_mail_accepted_before_a_crash_is_processed_at_the_next_start(portal, tmp_path):
    """The process died right after answering 250: the mail is in the store, unprocessed."""
    town = await build_town(portal.sessions, [])
    portal.settings.documents_dir = tmp_path / "documents"
    service = inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS))
    raw = vouched(mail("vaccins", ("vaccins.pdf", PDF, "application/pdf")))
    accepted = await service.accept_raw(PARENT, [DOCUMENTS], raw, "<crash@exemple.fr>")
    assert (await inbound_rows(portal))[0].status is InboundStatus.RECEIVED

    async with running_smtp(portal, "127.0.0.1", 0) as server:
        await server.drain()
    [row] = await inbound_rows(portal)
    assert (row.id, row.status, row.family_id) == (
        accepted.mail_id,
        InboundStatus.FILED,
        town.family_id,
    )
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
    assert document.doc_type is DocumentType.VACCINATION_RECORD


async def test_a_crash_in_the_middle_of_filing_files_nothing_twice(portal, inbound):
    await build_town(portal.sessions, [])
    raw = mail(
        "pièces", ("a.pdf", PDF, "application/pdf"), ("b.pdf", PDF + b"b", "application/pdf")
    )
    await send(inbound, raw)
    # As if the process had died after filing the documents, before recording the outcome.
    async with portal.sessions.begin() as session:
        await session.execute(update(InboundMail).values(status=InboundStatus.RECEIVED))
    [row] = await inbound_rows(portal)
    view = await inbound.service.process(row.id)
    assert (view.status, view.reason) == (InboundStatus.FILED, "2 filed, 0 refused")
    assert await count(portal, Document) == 2


# Staff replies ----------------------------------------------------------------------------


async def _thread_token(portal, town) -> tuple[int, str]:
    await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    thread = await messaging.write(town.guardian, "leisure_centres", "Question sur la cantine")
    return thread.id, await messaging.new_reply_token(thread.id)


@pytest.mark.parametrize(
    "entry",
    [entry for entry in INDEX if entry["kind"] == "staff_reply"],
    ids=lambda entry: entry["file"].removesuffix(".eml"),
)
async def test_a_staff_reply_of_each_client_is_relayed_with_only_its_new_text(
    portal, inbound, entry
):
    town = await build_town(portal.sessions, [])
    thread_id, token = await _thread_token(portal, town)
    raw = (CORPUS / entry["file"]).read_bytes()
    await send(inbound, raw, [f"reply+{token}@{DOMAIN}"], mail_from="staff@mairie-montclar.fr")
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.RELAYED, town.family_id)
    async with portal.sessions() as session:
        [reply] = await session.scalars(
            select(Message).where(Message.direction == MessageDirection.TO_PARENT)
        )
    assert reply.thread_id == thread_id
    assert reply.body == (CORPUS / entry["expected"]).read_text("utf-8").rstrip("\n")


async def test_a_staff_reply_reaches_the_parents_chat(portal, telegram, smtp_sink, tmp_path):
    portal.settings.documents_dir = tmp_path / "documents"
    town = await build_town(portal.sessions, [])
    services = await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    await messaging.write(town.guardian, "leisure_centres", "Question sur la cantine")
    raw = (CORPUS / "08-apple-iphone-fr.eml").read_bytes()
    raw = raw.replace(b"sophie.martin@mairie-montclar.fr", services.staff_email.encode())
    async with running_bot(portal, poll_timeout=1), running_smtp(portal, "127.0.0.1", 0) as server:
        parent = await linked_parent(portal, telegram, PARENT)
        # The service's notification email carries the thread's reply token.
        [notification] = await wait_for_mails(smtp_sink)
        token = reply_token(notification["Reply-To"], DOMAIN)
        assert token is not None
        parent.mark()
        await send(server, raw, [f"reply+{token}@{DOMAIN}"], mail_from=services.staff_email)
        notice = await parent.wait_for_message(
            lambda m: "je transmets à l'équipe d'animation" in (m.text or "")
        )
    assert "Envoyé de mon iPhone" not in notice.text and "a écrit" not in notice.text
    async with portal.sessions() as session:
        [reply] = await session.scalars(
            select(Message).where(Message.direction == MessageDirection.TO_PARENT)
        )
    assert reply.author == services.staff.label


async def test_a_staff_replys_attachment_reaches_the_chat_as_a_document(
    portal, telegram, smtp_sink
):
    town = await build_town(portal.sessions, [])
    services = await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    await messaging.write(town.guardian, "leisure_centres", "Le programme des vacances ?")
    async with running_bot(portal, poll_timeout=1), running_smtp(portal, "127.0.0.1", 0) as server:
        parent = await linked_parent(portal, telegram, PARENT)
        [notification] = await wait_for_mails(smtp_sink)
        token = reply_token(notification["Reply-To"], DOMAIN)
        reply = EmailMessage()
        reply["From"] = services.staff_email
        reply["To"] = f"reply+{token}@{DOMAIN}"
        reply["Subject"] = "Re: Le programme des vacances ?"
        reply["Message-ID"] = "<programme-1@mairie.example>"
        reply.set_content("Bonjour, voici le programme.\n\nLe 3 déc. a écrit :\n> Le programme ?")
        reply.add_attachment(PDF, maintype="application", subtype="pdf", filename="programme.pdf")
        parent.mark()
        await send(server, reply.as_bytes(), [f"reply+{token}@{DOMAIN}"], services.staff_email)
        document = await parent.wait_for_message(lambda m: m.document_bytes is not None)
    assert document.document_bytes == PDF and document.document_name == "programme.pdf"
    assert "Pièce jointe de Centres de loisirs" in (document.caption or document.text or "")
    texts = [m.text or "" for m in parent.messages]
    assert any("voici le programme" in t for t in texts)
    assert not any("a écrit" in t for t in texts)


@pytest.mark.parametrize(
    "name",
    [entry["file"] for entry in INDEX if entry["kind"] in ("auto_reply", "bounce")],
)
async def test_automatic_mail_never_reaches_a_parent(portal, inbound, name):
    town = await build_town(portal.sessions, [])
    _, token = await _thread_token(portal, town)
    raw = (CORPUS / name).read_bytes()
    envelope_from = "" if b"Return-Path: <>" in raw else "sophie.martin@mairie-montclar.fr"
    await send(inbound, raw, [f"reply+{token}@{DOMAIN}"], mail_from=envelope_from)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.IGNORED and row.reason.startswith("automatic: ")
    async with portal.sessions() as session:
        replies = list(
            await session.scalars(
                select(Message).where(Message.direction == MessageDirection.TO_PARENT)
            )
        )
        kinds = list(await session.scalars(select(OutboxItem.kind)))
    assert replies == [] and "staff_reply" not in kinds


@pytest.mark.parametrize(
    ("sender", "token_ok", "reason"),
    [
        ("intrus@gmail.example", True, "sender not allowed for staff replies"),
        ("sophie.martin@mairie-montclar.fr", False, "unknown or expired reply token"),
    ],
)
async def test_replies_from_strangers_or_with_bad_tokens_are_quarantined(
    portal, inbound, sender, token_ok, reason
):
    town = await build_town(portal.sessions, [])
    _, token = await _thread_token(portal, town)
    if not token_ok:
        token = "Zz" + token[2:]
    raw = (CORPUS / "01-gmail-fr-reply.eml").read_bytes()
    raw = raw.replace(b"sophie.martin@mairie-montclar.fr", sender.encode())
    await send(inbound, raw, [f"reply+{token}@{DOMAIN}"], mail_from=sender)
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (InboundStatus.QUARANTINED, reason)
    async with portal.sessions() as session:
        kinds = sorted(await session.scalars(select(OutboxItem.kind)))
    # The parent's message to the service, and the sender told why (tests/test_sender_notices).
    assert kinds == ["parent_message", "sender_notice"]


async def test_an_older_token_of_the_thread_still_works(portal, inbound):
    town = await build_town(portal.sessions, [])
    thread_id, old = await _thread_token(portal, town)
    await MessagingService(portal.sessions).new_reply_token(thread_id)
    raw = (CORPUS / "02-gmail-en-reply.eml").read_bytes()
    await send(inbound, raw, [f"reply+{old}@{DOMAIN}"], mail_from="j.carter@mairie-montclar.fr")
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.RELAYED, town.family_id)
