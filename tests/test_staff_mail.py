"""Notification emails to the services, over real SMTP on loopback (the `smtp_sink` relay).

Each kind (a parent's message, a certificate, a document, bookings to validate) gives one email
with its subject, body, threading headers and attachment; a relay that is down is retried with
backoff and the email is delivered once; a staff member's reply to the email's Reply-To reaches
the parent's chat through the inbound server.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy import select, update

from bot.runner import running_bot
from mail.email_delivery import deliver_due_emails
from mail.inbound import running_smtp
from store.absences import AbsenceService
from store.actors import Actor
from store.bookings import BookingService
from store.documents import DocumentFolder, DocumentService
from store.inbound import reply_token
from store.messaging import MessagingService
from store.models import Activity, OutboxItem, Service
from store.models.enums import AbsenceReason, DeliveryState, DocumentType
from store.staff_notices import DOCUMENT_NOTICE_DELAY
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import Town, build_town, paris
from tests.mail_helpers import wait_for_mails
from tests.messaging_helpers import LEISURE, Services, add_services

DOMAIN = "portail-famille.example"
LEISURE_EMAIL = "centres-loisirs@montclar.example"
FAMILY_FILE_EMAIL = "dossier-famille@montclar.example"
PARENT = "parent.f1@exemple.fr"
PDF = tiny_pdf()
WED = date(2026, 12, 9)


@pytest.fixture
async def town(portal) -> Town:
    return await build_town(portal.sessions, [WED])


@pytest.fixture
async def services(portal, town) -> Services:
    """Leisure centres (with a staff member), billing, and the family file service."""
    services = await add_services(portal.sessions)
    async with portal.sessions.begin() as session:
        session.add(Service(code="family_file", name="Dossier famille", email=FAMILY_FILE_EMAIL))
    return services


@pytest.fixture
def documents(portal) -> DocumentService:
    settings = portal.settings
    return DocumentService(
        portal.sessions, DocumentFolder(settings.documents_dir), settings.max_document_bytes
    )


@pytest.fixture
def messaging(portal) -> MessagingService:
    return MessagingService(portal.sessions, portal.clock)


async def outbox(portal, kind: str) -> list[OutboxItem]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)
            )
        )


def attachments(mail: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_content())
        for part in mail.iter_attachments()
    ]


def body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


# Each kind ------------------------------------------------------------------------------------


async def test_a_parents_messages_thread_in_the_services_mailbox(
    portal, smtp_sink, clock, town, services, documents, messaging
):
    scan = await documents.add(
        town.guardian, town.family_id, DocumentType.TO_CLASSIFY, PDF, original_name="ordo.pdf"
    )
    thread = await messaging.write(
        town.guardian, LEISURE, "Bonjour,\nLucas sera absent mercredi.", [scan.id]
    )
    assert await deliver_due_emails(portal) == 1
    [first] = smtp_sink.messages
    assert first["To"] == LEISURE_EMAIL
    assert first["From"] == portal.settings.smtp_from
    assert first["Subject"] == "[Portail Famille] Famille F1 : Bonjour,"
    assert first["Message-ID"] == f"<thread-{thread.id}@{DOMAIN}>"
    assert first["In-Reply-To"] is None and first["References"] is None
    assert first["Auto-Submitted"] == "auto-generated"
    token = reply_token(first["Reply-To"], DOMAIN)
    assert token is not None
    assert (await messaging.thread_for_reply_token(token)).id == thread.id
    text = body(first)
    assert "Parent F1 écrit au service « Centres de loisirs » sur Telegram, le mardi 24 " in text
    assert "Bonjour,\nLucas sera absent mercredi." in text
    name = f"document-{scan.id}.pdf"  # ours; the family's name is only quoted
    assert f"Pièce jointe : {name} (envoyée sous le nom « ordo.pdf »)" in text
    assert "Famille : Famille F1 (dossier F1)" in text
    assert "Enfants : Lucas F1 (CP), Emma F1 (CE1)" in text
    assert "Responsables : Parent F1 <parent.f1@exemple.fr>" in text
    assert attachments(first) == [(name, "application/pdf", PDF)]

    clock.set(clock.now + timedelta(minutes=5))
    await messaging.continue_thread(town.guardian, thread.id, "Et jeudi aussi.")
    await messaging.continue_thread(town.guardian, thread.id, "Merci !")
    assert await deliver_due_emails(portal) == 2
    _, second, third = smtp_sink.messages
    root = f"<thread-{thread.id}@{DOMAIN}>"
    assert second["Subject"] == "Re: [Portail Famille] Famille F1 : Bonjour,"
    assert (second["In-Reply-To"], second["References"]) == (root, root)
    assert third["In-Reply-To"] == second["Message-ID"]
    assert third["References"] == f"{root} {second['Message-ID']}"
    assert len({first["Message-ID"], second["Message-ID"], third["Message-ID"]}) == 3
    assert "Et jeudi aussi." in body(second) and attachments(second) == []
    # The latest email's token answers the thread; each email's token replaces the previous.
    assert reply_token(third["Reply-To"], DOMAIN) != reply_token(second["Reply-To"], DOMAIN)

    # The file sent with the message is not announced again to the family file service (its
    # arrival is stamped by the real clock: the notice is due, whatever the time).
    clock.set(max(clock.now, scan.created_at) + DOCUMENT_NOTICE_DELAY + timedelta(seconds=1))
    assert await deliver_due_emails(portal) == 0
    [notice] = await outbox(portal, "document_to_review")
    assert notice.state is DeliveryState.FAILED
    assert notice.last_error == "not sent: sent with its message's own notification"
    clock.set(clock.now + timedelta(hours=2))
    assert await deliver_due_emails(portal) == 0  # never twice
    assert len(smtp_sink.messages) == 3


async def test_an_absence_certificate_goes_to_the_family_file_service_attached(
    portal, smtp_sink, clock, town, services, documents
):
    certificate = await documents.add(
        town.guardian,
        town.family_id,
        DocumentType.MEDICAL_CERTIFICATE,
        PDF,
        original_name="certificat.pdf",
    )
    absences = AbsenceService(portal.sessions)
    [absence] = await absences.report(
        town.guardian,
        town.child_ids[:1],
        date(2026, 12, 9),
        date(2026, 12, 11),
        AbsenceReason.ILLNESS,
        "gastro-entérite",
    )
    await absences.attach_certificate(town.guardian, absence.id, certificate.id)
    # The document's arrival is stamped by the real clock: both notices due, whatever the time.
    due = max(clock.now, certificate.created_at) + DOCUMENT_NOTICE_DELAY + timedelta(seconds=1)
    clock.set(due)
    assert await deliver_due_emails(portal) == 1
    [mail] = smtp_sink.messages
    assert mail["To"] == FAMILY_FILE_EMAIL
    assert mail["Subject"] == (
        "[Portail Famille] Certificat médical à vérifier : Lucas F1, "
        f"9 déc. 2026 – 11 déc. 2026 ({absence.reference})"
    )
    # Its own reply address: the service decides by replying OK or REFUS (decide_by_mail).
    assert reply_token(mail["Reply-To"], DOMAIN) is not None
    text = body(mail)
    assert text.startswith("Répondez OK pour accepter, ou REFUS suivi du motif pour refuser")
    assert f"Absence : {absence.reference}" in text
    assert "Dates : du mercredi 9 décembre 2026 au vendredi 11 décembre 2026" in text
    assert "Motif : maladie" in text
    assert f"portail staff accept certificate {absence.id}" in text
    assert "gastro" not in mail.as_string()  # the parent's words about health stay in the store
    name = f"certificat-medical-{absence.reference}.pdf"
    assert attachments(mail) == [(name, "application/pdf", PDF)]
    [notice] = await outbox(portal, "document_to_review")
    assert notice.last_error == "not sent: sent with its absence's own notification"
    # The certificate went to the service's mailbox: the family's access log says so.
    [read] = await portal.access_log.for_family(town.guardian, town.family_id)
    assert (read.service_name, read.what, read.what_id, read.why) == (
        "Dossier famille",
        "document",
        certificate.id,
        f"certificate_to_review:{absence.id}",
    )
    assert read.subject == "medical_certificate" and read.reader_name is None


async def test_a_new_document_is_announced_a_moment_later_with_the_file(
    portal, smtp_sink, clock, town, services, documents
):
    clock.set(datetime.now(UTC))  # the document's arrival is stamped by the real clock
    await documents.add(
        town.guardian,
        town.family_id,
        DocumentType.INSURANCE,
        PDF,
        child_id=town.child_ids[1],
        original_name="assurance.pdf",
    )
    assert await deliver_due_emails(portal) == 0  # held back: an absence may still claim it
    clock.set(clock.now + DOCUMENT_NOTICE_DELAY + timedelta(seconds=2))
    assert await deliver_due_emails(portal) == 1
    [mail] = smtp_sink.messages
    assert mail["To"] == FAMILY_FILE_EMAIL
    assert mail["Subject"] == (
        "[Portail Famille] Document à vérifier : attestation d'assurance, Famille F1"
    )
    text = body(mail)
    assert "Un document attend votre vérification : attestation d'assurance, reçu sur " in text
    assert "Pour : Emma F1" in text
    assert "portail staff accept document 1" in text
    assert attachments(mail) == [("assurance-1.pdf", "application/pdf", PDF)]


async def test_bookings_waiting_for_validation_go_to_the_activitys_service(
    portal, smtp_sink, clock, town, services
):
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Activity).values(requires_validation=True, service_id=services.leisure_id)
        )
    clock.set(paris(date(2026, 11, 24)))
    bookings = BookingService(portal.sessions, clock)
    outcomes = await bookings.book(town.guardian, town.child_ids, town.activity_id, [WED])
    assert [o.outcome.value for o in outcomes] == ["pending", "pending"]
    assert await deliver_due_emails(portal) == 1
    [mail] = smtp_sink.messages
    assert mail["To"] == LEISURE_EMAIL
    assert mail["Subject"] == (
        "[Portail Famille] Réservation à valider : Emma F1, Lucas F1, CL Mercredis, 9 déc. 2026"
    )
    text = body(mail)
    assert "Des réservations attendent votre validation : CL Mercredis (École)." in text
    for outcome, child in zip(outcomes, ("Lucas F1", "Emma F1"), strict=True):
        assert (
            f"• mercredi 9 décembre 2026 : {child}, 4,10\xa0€ "
            f"(réservation n° {outcome.booking_id})"
        ) in text

    # Decided before the relay could take the email: nothing to tell any more.
    [more] = await bookings.book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WED]
    )
    await bookings.decide_pending(services.staff, more.booking_id, accept=True)
    assert await deliver_due_emails(portal) == 0
    _, decided = await outbox(portal, "booking_to_validate")
    assert decided.last_error == "not sent: no booking is waiting for validation any more"
    assert len(smtp_sink.messages) == 1


async def test_a_service_without_an_address_uses_the_fallback_or_waits(
    portal, smtp_sink, clock, town, services
):
    # The town's activity has no service: its bookings to validate have no address.
    async with portal.sessions.begin() as session:
        await session.execute(update(Activity).values(requires_validation=True))
    clock.set(paris(date(2026, 11, 24)))
    bookings = BookingService(portal.sessions, clock)
    await bookings.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    assert await deliver_due_emails(portal) == 0
    [item] = await outbox(portal, "booking_to_validate")
    assert (item.recipient, item.state, item.last_error) == (
        "service:",
        DeliveryState.PENDING,
        "no address for service:",
    )
    portal.settings.staff_fallback_email = "accueil@montclar.example"
    clock.set(clock.now + timedelta(minutes=1))
    assert await deliver_due_emails(portal) == 1
    assert smtp_sink.messages[0]["To"] == "accueil@montclar.example"


# Faults ---------------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_relay_down_then_back_delivers_once_with_backoff(
    portal, smtp_sink, clock, town, services, messaging
):
    await messaging.write(town.guardian, LEISURE, "Le relais est-il là ?")
    portal.settings.smtp_port = closed_port()
    assert await deliver_due_emails(portal) == 0
    [item] = await outbox(portal, "parent_message")
    assert (item.state, item.attempts) == (DeliveryState.PENDING, 1)
    assert item.next_attempt_at == clock.now + timedelta(seconds=5)
    assert "refused" in (item.last_error or "").lower()
    assert await deliver_due_emails(portal) == 0  # not due yet: no new attempt
    assert (await outbox(portal, "parent_message"))[0].attempts == 1

    clock.set(clock.now + timedelta(seconds=5))
    assert await deliver_due_emails(portal) == 0  # still down: waits twice as long
    [item] = await outbox(portal, "parent_message")
    assert (item.attempts, item.next_attempt_at) == (2, clock.now + timedelta(seconds=10))

    portal.settings.smtp_port = smtp_sink.port
    clock.set(clock.now + timedelta(seconds=9))
    assert await deliver_due_emails(portal) == 0
    clock.set(clock.now + timedelta(seconds=1))
    assert await deliver_due_emails(portal) == 1
    clock.set(clock.now + timedelta(hours=3))
    assert await deliver_due_emails(portal) == 0
    [mail] = smtp_sink.messages
    assert "Le relais est-il là ?" in body(mail)
    [item] = await outbox(portal, "parent_message")
    assert (item.state, item.attempts) == (DeliveryState.SENT, 3)


class RefusingRelay:
    """A relay that refuses every recipient for good."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options):
        return "550 5.1.1 No such mailbox"


@pytest.fixture
async def refusing_relay() -> AsyncIterator[int]:
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(RefusingRelay()), "127.0.0.1", 0
    )
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def test_a_recipient_refused_for_good_is_not_retried(
    portal, clock, town, services, messaging, refusing_relay
):
    await messaging.write(town.guardian, LEISURE, "Adresse du service erronée")
    portal.settings.smtp_port = refusing_relay
    assert await deliver_due_emails(portal) == 0
    clock.set(clock.now + timedelta(hours=1))
    assert await deliver_due_emails(portal) == 0
    [item] = await outbox(portal, "parent_message")
    assert (item.state, item.attempts) == (DeliveryState.FAILED, 1)
    assert "550" in (item.last_error or "")


# A staff reply by email -----------------------------------------------------------------------


def reply_to(notification: EmailMessage, sender: str, text: str) -> bytes:
    """A staff member's answer from their mail client: new text above the quoted email."""
    answer = EmailMessage()
    answer["From"] = f"Nadia Belkacem <{sender}>"
    answer["To"] = notification["Reply-To"]
    answer["Subject"] = "RE: " + notification["Subject"]
    answer["Message-ID"] = "<answer-1@montclar.example>"
    answer["In-Reply-To"] = notification["Message-ID"]
    answer["References"] = notification["Message-ID"]
    quoted = "\n".join("> " + line for line in body(notification).splitlines())
    answer.set_content(
        f"{text}\n\n-- \nNadia Belkacem\nService Centres de loisirs\n\n"
        f"Le mar. 24 nov. 2026 à 10:00, Portail Famille <ne-pas-repondre@{DOMAIN}> a écrit :\n"
        f"{quoted}\n"
    )
    return answer.as_bytes(policy=SMTP_POLICY)


def smtp_send(port: int, sender: str, recipient: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [recipient], raw)


async def test_a_staff_reply_to_the_email_reaches_the_parents_chat(
    portal, telegram, smtp_sink, town, services, messaging
):
    async with running_bot(portal, poll_timeout=1), running_smtp(portal, "127.0.0.1", 0) as inbox:
        parent = await linked_parent(portal, telegram, PARENT)
        await messaging.write(town.guardian, LEISURE, "Lucas peut-il venir à vélo ?")
        [notification] = await wait_for_mails(smtp_sink)
        parent.mark()
        staff = services.staff_email
        raw = reply_to(notification, staff, "Oui, avec un casque et un antivol.")
        await asyncio.to_thread(smtp_send, inbox.port, staff, notification["Reply-To"], raw)
        notice = await parent.wait_for_message(
            lambda m: "Oui, avec un casque et un antivol." in (m.text or "")
        )
    assert "a écrit" not in notice.text and "Nadia Belkacem" not in notice.text
    assert "Centres de loisirs" in notice.text
    history = await messaging.thread_history(Actor.system(), 1)
    assert [m.body for m in history] == [
        "Lucas peut-il venir à vélo ?",
        "Oui, avec un casque et un antivol.",
    ]
