"""Staff decide from their mailbox: they reply OK, or REFUS and the reason, to the notification
of a request, over real SMTP; the decision goes through the same store service as the command
line, the parent is told in the chat, and the staff member gets a one-line confirmation — or
a clear answer saying why nothing changed."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select, update

from bot.runner import running_bot
from mail.inbound import InboundMailServer, inbound_service
from mail.parsing import parse_mail
from store.absences import AbsenceService
from store.bookings import BookingService
from store.decide_by_mail import DecisionReplies, RequestKind, new_decision_token
from store.documents import DocumentFolder, DocumentService
from store.inbound import InboundConfig, reply_token
from store.models import (
    Absence,
    Activity,
    AuditEntry,
    Booking,
    ChildRegistration,
    DecisionClaim,
    Document,
    EnrolmentRequest,
    FileChange,
    InboundMail,
    OutboxItem,
    Service,
    StaffMember,
)
from store.models.enums import (
    AbsenceReason,
    AbsenceStatus,
    BookingState,
    DocumentStatus,
    DocumentType,
    RequestStatus,
)
from store.models.inbound import InboundStatus
from store.staff_notices import DOCUMENT_NOTICE_DELAY
from tests.chat_helpers import linked_parent
from tests.enrolment_helpers import CENTRES_STAFF, FILE_STAFF, build_enrolment_town
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris
from tests.mail_helpers import vouched
from tests.mail_stack import staff_mail
from tests.reply_corpus import replies
from tests.test_demo import number_of

DOMAIN = "portail-famille.example"
CONFIG = InboundConfig(DOMAIN, f"documents@{DOMAIN}")
PARENT = "parent.f1@exemple.fr"
WED = date(2026, 12, 9)
THU = date(2026, 12, 10)
DOSSIER = "agent.dossier@montclar.example"
DOSSIER_2 = "p.durand@montclar.example"
CENTRES = "agent.cl@montclar.example"
POLL = 0.02


# The town, its services, the servers ---------------------------------------------------------


async def add_decision_services(portal: Any, activity_id: int) -> None:
    """The family-file service (two staff members) and the leisure centres (one), which
    validates the town's activity."""
    async with portal.sessions.begin() as session:
        dossier = Service(
            code="family_file", name="Dossier famille", email="dossier@montclar.example"
        )
        centres = Service(code="centres", name="Centres de loisirs", email="cl@montclar.example")
        session.add_all([dossier, centres])
        await session.flush()
        session.add_all(
            [
                StaffMember(service_id=dossier.id, name="Sophie Martin", email=DOSSIER),
                StaffMember(service_id=dossier.id, name="Paul Durand", email=DOSSIER_2),
                StaffMember(service_id=centres.id, name="Nadia Belkacem", email=CENTRES),
            ]
        )
        await session.execute(
            update(Activity).where(Activity.id == activity_id).values(service_id=centres.id)
        )


@contextlib.asynccontextmanager
async def mail_server(portal: Any) -> AsyncIterator[InboundMailServer]:
    server = InboundMailServer(inbound_service(portal, CONFIG))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


def _smtp_send(port: int, mail_from: str, rcpts: list[str], raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mail.montclar.example")
        client.sendmail(mail_from, rcpts, raw)


async def reply(
    server: InboundMailServer,
    notification: EmailMessage,
    sender: str,
    body: str,
    *,
    authenticated: bool = True,
) -> None:
    """A staff member's reply to a notification, over SMTP, processed before this returns."""
    to = str(notification["Reply-To"])
    raw = staff_mail(body, sender=sender, to=to)
    if authenticated:
        raw = vouched(raw)
    await asyncio.to_thread(_smtp_send, server.port, sender, [to], raw)
    await server.drain()


async def mail_where(sink: Any, wanted: Callable[[EmailMessage], bool]) -> EmailMessage:
    """The first email the relay received that `wanted` says yes to (waits for it)."""
    for _ in range(int(5 / POLL)):
        for message in sink.messages:
            if wanted(message):
                return message
        await asyncio.sleep(POLL)
    subjects = [str(m["Subject"]) for m in sink.messages]
    raise AssertionError(f"no such email among {subjects}")


def subject_has(words: str, to: str | None = None) -> Callable[[EmailMessage], bool]:
    return lambda m: words in str(m["Subject"]) and (to is None or str(m["To"]) == to)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def answers_to(sink: Any, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if str(m["To"]) == address]


def shaped(client: str, text: str) -> str:
    """`text` written in a reply shaped as `client` writes it (a case of the reply corpus:
    its history, quoting and signature), in place of what its staff member wrote."""
    for case in replies():
        if case.client == client and case.language == "fr" and case.expected:
            body = case.body
            if case.expected in body and body.index(case.expected) < 5:
                return body.replace(case.expected, text, 1)
    raise AssertionError(f"no {client} case in the corpus")


async def chat_says(parent: Any, *words: str) -> str:
    message = await parent.wait_for_message(
        lambda m: all(word in (m.text or "") for word in words)
    )
    return str(message.text)


# Each kind, accepted and refused ---------------------------------------------------------------


async def test_certificates_accepted_and_refused_by_reply(portal, telegram, smtp_sink, clock):
    town = await build_town(portal.sessions, [WED, THU])
    await add_decision_services(portal, town.activity_id)
    documents = DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 10_000_000
    )
    absences = AbsenceService(portal.sessions)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        ids = []
        for day, child in ((WED, town.child_ids[0]), (THU, town.child_ids[1])):
            [absence] = await absences.report(
                town.guardian, [child], day, day, AbsenceReason.ILLNESS
            )
            certificate = await documents.add(
                town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
            )
            await absences.attach_certificate(town.guardian, absence.id, certificate.id)
            ids.append(absence.id)
        first = await mail_where(smtp_sink, subject_has("9 déc."))
        second = await mail_where(smtp_sink, subject_has("10 déc."))
        assert text_of(first).startswith(
            "Répondez OK pour accepter, ou REFUS suivi du motif pour refuser"
        )
        assert reply_token(str(first["Reply-To"]), DOMAIN) is not None
        assert first["Reply-To"] != second["Reply-To"]

        await reply(server, first, DOSSIER, shaped("Gmail", "ok merci\n\nSophie"))
        told = await chat_says(parent, "est excusée")
        assert "Lucas (mer. 9 déc." in told
        confirmation = await mail_where(smtp_sink, subject_has("Accepté", DOSSIER))
        assert str(confirmation["Subject"]) == (
            "[Portail Famille] Accepté : certificat de Lucas F., 9 déc."
        )

        await reply(
            server, second, DOSSIER, shaped("Outlook desktop", "REFUS certificat illisible")
        )
        told = await chat_says(parent, "certificat illisible")
        assert "Emma (jeu. 10 déc." in told and "n'a pas été excusée" in told
        refusal = await mail_where(smtp_sink, subject_has("Refusé", DOSSIER))
        assert "Motif transmis à la famille : certificat illisible" in text_of(refusal)
    async with portal.sessions() as session:
        statuses = {a.id: a.status for a in await session.scalars(select(Absence))}
        actors = set(
            await session.scalars(
                select(AuditEntry.actor).where(AuditEntry.action == "decide_absence")
            )
        )
    assert statuses == {ids[0]: AbsenceStatus.EXCUSED, ids[1]: AbsenceStatus.REFUSED}
    assert len(actors) == 1 and next(iter(actors)).startswith("staff:")


async def test_documents_accepted_with_their_type_corrected_and_refused_by_reply(
    portal, telegram, smtp_sink, clock
):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    documents = DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 10_000_000
    )
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        first = await documents.add(town.guardian, town.family_id, DocumentType.OTHER, tiny_pdf())
        # Announced a moment after it arrived, once it is known to come alone.
        clock.set(max(clock.now, first.created_at) + DOCUMENT_NOTICE_DELAY + timedelta(seconds=1))
        first_mail = await mail_where(smtp_sink, subject_has("Document à vérifier"))
        second = await documents.add(
            town.guardian, town.family_id, DocumentType.INSURANCE, tiny_pdf() + b"\n% 2"
        )
        clock.set(max(clock.now, second.created_at) + DOCUMENT_NOTICE_DELAY + timedelta(seconds=1))
        second_mail = await mail_where(smtp_sink, subject_has("attestation d'assurance"))
        assert "« OK fiche sanitaire »" in text_of(first_mail).split("\n")[0]

        await reply(server, first_mail, DOSSIER, shaped("Apple Mail iPhone", "OK fiche sanitaire"))
        confirmation = await mail_where(smtp_sink, subject_has("Accepté", DOSSIER))
        assert str(confirmation["Subject"]) == (
            "[Portail Famille] Accepté : autre document de la famille."
        )
        assert "Classé comme : fiche sanitaire." in text_of(confirmation)
        await chat_says(parent, "Le service a accepté votre document : fiche sanitaire.")

        await reply(
            server, second_mail, DOSSIER, shaped("Apple Mail macOS", "Non, attestation expirée")
        )
        told = await chat_says(parent, "attestation expirée")
        assert "n'a pas accepté votre document : attestation d'assurance" in told
        await mail_where(smtp_sink, subject_has("Refusé", DOSSIER))
    async with portal.sessions() as session:
        rows = {d.id: (d.status, d.doc_type) for d in await session.scalars(select(Document))}
    assert rows == {
        first.id: (DocumentStatus.ACCEPTED, DocumentType.HEALTH_FORM),
        second.id: (DocumentStatus.REJECTED, DocumentType.INSURANCE),
    }


async def test_bookings_validated_and_refused_by_reply(portal, telegram, smtp_sink, clock):
    town = await build_town(portal.sessions, [WED, THU], requires_validation=True)
    await add_decision_services(portal, town.activity_id)
    clock.set(paris(date(2026, 11, 24)))
    bookings = BookingService(portal.sessions, clock)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        [lucas] = await bookings.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
        first = await mail_where(smtp_sink, subject_has("Lucas"))
        [emma] = await bookings.book(town.guardian, town.child_ids[1:], town.activity_id, [THU])
        second = await mail_where(smtp_sink, subject_has("Emma"))
        assert str(first["To"]) == "cl@montclar.example"

        await reply(server, first, CENTRES, shaped("Outlook web", "Validé, bonne journée"))
        await chat_says(parent, "a validé la réservation de Lucas")
        confirmation = await mail_where(smtp_sink, subject_has("Accepté", CENTRES))
        assert str(confirmation["Subject"]) == (
            "[Portail Famille] Accepté : réservation de Lucas F., CL Mercredis, 9 déc."
        )
        await reply(server, second, CENTRES, shaped("Gmail", "REFUS : groupe complet ce jour-là"))
        told = await chat_says(parent, "n'a pas pu accepter la réservation d'Emma")
        assert "Motif : groupe complet ce jour-là" in told
    async with portal.sessions() as session:
        states = {b.id: b.state for b in await session.scalars(select(Booking))}
    assert states == {
        lucas.booking_id: BookingState.CONFIRMED,
        emma.booking_id: BookingState.REFUSED,
    }


async def test_file_changes_accepted_and_refused_by_reply(portal, telegram, smtp_sink, clock):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        address = await portal.family_file.request_change(
            town.guardian, "family.address", "3 rue des Lilas, 31000 Montclar"
        )
        first = await mail_where(smtp_sink, subject_has("Modification du dossier"))
        email = await portal.family_file.request_change(
            town.guardian, "guardian.email", "camille.neuve@exemple.fr", target_id=town.guardian.id
        )
        second = await mail_where(
            smtp_sink, lambda m: "Modification du dossier" in str(m["Subject"]) and m is not first
        )
        await reply(server, first, DOSSIER, shaped("Outlook desktop", "ACCEPTÉ"))
        await chat_says(parent, "a accepté votre modification : adresse.")
        await mail_where(smtp_sink, subject_has("Accepté : modification du dossier", DOSSIER))
        await reply(server, second, DOSSIER, shaped("Gmail", "refus adresse inconnue chez nous"))
        told = await chat_says(parent, "adresse inconnue chez nous")
        assert "a refusé votre modification : email" in told
        refusal = await mail_where(smtp_sink, subject_has("Refusé", DOSSIER))
        assert str(refusal["Subject"]) == (
            "[Portail Famille] Refusé : modification du dossier : email."
        )
    async with portal.sessions() as session:
        statuses = {c.id: c.status for c in await session.scalars(select(FileChange))}
    assert statuses == {address.id: RequestStatus.ACCEPTED, email.id: RequestStatus.REFUSED}


async def test_enrolments_and_new_children_accepted_and_refused_by_reply(
    portal, telegram, smtp_sink, clock
):
    town = await build_enrolment_town(portal.sessions)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        enrolments = portal.enrolments
        centre = await enrolments.request(
            town.guardian, town.lucas_id, town.centre_id, date(2026, 11, 30), [2]
        )
        centre_mail = await mail_where(smtp_sink, subject_has("CL Mercredis"))
        evening = await enrolments.request(
            town.guardian, town.lucas_id, town.evening_id, date(2026, 11, 30), [0, 1]
        )
        evening_mail = await mail_where(smtp_sink, subject_has("Garderie du soir"))
        lea = await enrolments.register_child(town.guardian, "Léa", "F1", date(2022, 3, 12), "MS")
        lea_mail = await mail_where(smtp_sink, subject_has("Léa"))
        tom = await enrolments.register_child(town.guardian, "Tom", "F1", date(2021, 5, 2), "GS")
        tom_mail = await mail_where(smtp_sink, subject_has("Tom"))

        await reply(server, centre_mail, CENTRES_STAFF, shaped("Gmail", "OK"))
        await chat_says(parent, "Inscription acceptée : Lucas — CL Mercredis")
        await mail_where(smtp_sink, subject_has("Accepté : inscription de Lucas", CENTRES_STAFF))
        await reply(
            server, evening_mail, "agent.garderie@ville.fr", "Refusé : plus de place le lundi"
        )
        told = await chat_says(parent, "plus de place le lundi")
        assert "Inscription refusée : Lucas — Garderie du soir" in told
        await reply(server, lea_mail, FILE_STAFF, shaped("Outlook desktop", "Accepté."))
        await chat_says(parent, "Léa est maintenant dans votre dossier")
        await reply(server, tom_mail, FILE_STAFF, shaped("Apple Mail iPhone", "NON déjà inscrit"))
        told = await chat_says(parent, "déjà inscrit")
        assert "L'ajout de Tom à votre dossier a été refusé" in told
        confirmation = await mail_where(smtp_sink, subject_has("Refusé", FILE_STAFF))
        assert str(confirmation["Subject"]) == "[Portail Famille] Refusé : nouvel enfant : Tom F."
    async with portal.sessions() as session:
        requests = {r.id: r.status for r in await session.scalars(select(EnrolmentRequest))}
        children = {r.id: r.status for r in await session.scalars(select(ChildRegistration))}
    assert requests == {centre.id: RequestStatus.ACCEPTED, evening.id: RequestStatus.REFUSED}
    assert children == {lea.id: RequestStatus.ACCEPTED, tom.id: RequestStatus.REFUSED}


# Who wins, and what changes nothing ------------------------------------------------------------


async def certificate_to_review(portal: Any, smtp_sink: Any, town: Any) -> tuple[int, Any]:
    """Lucas is reported ill on Wednesday with a certificate: the absence and its email."""
    documents = DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 10_000_000
    )
    absences = AbsenceService(portal.sessions)
    [absence] = await absences.report(
        town.guardian, town.child_ids[:1], WED, WED, AbsenceReason.ILLNESS
    )
    certificate = await documents.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
    )
    await absences.attach_certificate(town.guardian, absence.id, certificate.id)
    return absence.id, await mail_where(smtp_sink, subject_has("Certificat médical"))


async def absence_status(portal: Any, absence_id: int) -> AbsenceStatus:
    async with portal.sessions() as session:
        status = await session.scalar(select(Absence.status).where(Absence.id == absence_id))
    assert status is not None
    return status


async def family_notices(portal: Any) -> list[str]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem.kind).where(
                    OutboxItem.kind.in_(("certificate_accepted", "certificate_refused"))
                )
            )
        )


async def test_two_staff_reply_to_the_same_request_the_first_wins(
    portal, telegram, smtp_sink, clock
):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        absence_id, notification = await certificate_to_review(portal, smtp_sink, town)
        await reply(server, notification, DOSSIER, "OK")
        await reply(server, notification, DOSSIER_2, "REFUS certificat illisible")
        await chat_says(parent, "est excusée")
        told = await mail_where(smtp_sink, subject_has("Rien n'a changé", DOSSIER_2))
        assert text_of(told).startswith(
            "Votre réponse n'a rien changé : cette demande (certificat de Lucas F., 9 déc.) a "
            "déjà été acceptée par Sophie Martin. La première décision compte."
        )
        await mail_where(smtp_sink, subject_has("Accepté", DOSSIER))
    assert await absence_status(portal, absence_id) is AbsenceStatus.EXCUSED
    assert await family_notices(portal) == ["certificate_accepted"]
    assert len(await answers_to(smtp_sink, DOSSIER_2)) == 1


async def test_replies_that_change_nothing_get_a_clear_answer(portal, telegram, smtp_sink, clock):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    stranger = "inconnu@montclar.example"
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        absence_id, notification = await certificate_to_review(portal, smtp_sink, town)
        cases = [
            (CENTRES, "OK", {}, "est décidée par un autre service que le vôtre"),
            (DOSSIER, shaped("Gmail", "Vu, je regarde demain"), {}, "le premier mot « Vu »"),
            (DOSSIER_2, "NON\n\nCordialement,\nPaul", {}, "un refus doit donner son motif"),
            (DOSSIER, "OK", {"authenticated": False}, "n'a pas pu vérifier qu'elle venait"),
            (stranger, "OK", {}, "n'est celle d'aucun agent des services"),
        ]
        for sender, body, options, expected in cases:
            before = len(await answers_to(smtp_sink, sender))
            await reply(server, notification, sender, body, **options)
            for _ in range(int(5 / POLL)):
                if len(await answers_to(smtp_sink, sender)) > before:
                    break
                await asyncio.sleep(POLL)
            answer = (await answers_to(smtp_sink, sender))[-1]
            assert expected in text_of(answer), text_of(answer)
            assert await absence_status(portal, absence_id) is AbsenceStatus.REPORTED
        # An unknown sender is told nothing of the request.
        for sender in (stranger,):
            assert "Lucas" not in text_of((await answers_to(smtp_sink, sender))[-1])

        clock.set(clock.now + timedelta(days=31))
        await reply(server, notification, DOSSIER, "OK")
        expired = await mail_where(smtp_sink, lambda m: "expiré" in text_of(m))
        assert str(expired["To"]) == DOSSIER
        assert "(certificat de Lucas F., 9 déc.)" in text_of(expired)
    assert await absence_status(portal, absence_id) is AbsenceStatus.REPORTED
    assert await family_notices(portal) == []
    async with portal.sessions() as session:
        rows = list(await session.scalars(select(InboundMail).order_by(InboundMail.id)))
        claims = await session.scalar(select(func.count()).select_from(DecisionClaim))
    assert [row.status for row in rows] == [
        InboundStatus.QUARANTINED,  # another service
        InboundStatus.IGNORED,  # not understood
        InboundStatus.IGNORED,  # no reason
        InboundStatus.QUARANTINED,  # not authenticated
        InboundStatus.QUARANTINED,  # not a staff member
        InboundStatus.IGNORED,  # expired
    ]
    assert claims == 0


async def test_the_same_mail_processed_again_decides_once_and_confirms_once(portal, clock):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    documents = DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 10_000_000
    )
    absences = AbsenceService(portal.sessions)
    [absence] = await absences.report(
        town.guardian, town.child_ids[:1], WED, WED, AbsenceReason.ILLNESS
    )
    certificate = await documents.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
    )
    await absences.attach_certificate(town.guardian, absence.id, certificate.id)
    token = await new_decision_token(
        portal.sessions, RequestKind.CERTIFICATE, [absence.id], clock()
    )
    address = f"reply+{token}@{DOMAIN}"
    raw = vouched(staff_mail("OK merci", sender=DOSSIER, to=address))
    mail = parse_mail(raw, DOSSIER, authserv_id=portal.settings.mail_authserv_id)
    decisions = DecisionReplies(
        portal.sessions,
        absences=absences,
        documents=documents,
        bookings=portal.bookings,
        family_file=portal.family_file,
        enrolments=portal.enrolments,
        clock=clock,
    )
    request = await decisions.request_for(["unknown-token-0123456789", token])
    assert request is not None
    first = await decisions.decide(41, mail, request, address)
    again = await decisions.decide(41, mail, request, address)  # a retry after a crash
    assert first.status is again.status is InboundStatus.RELAYED
    async with portal.sessions() as session:
        decided = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "decide_absence")
        )
        answers = list(
            await session.scalars(
                select(OutboxItem.payload).where(OutboxItem.kind == "decision_answer")
            )
        )
    assert decided == 1
    assert [answer["outcome"] for answer in answers] == ["decided"]


# Tried as a new user would -----------------------------------------------------------------


async def test_in_the_demo_staff_accept_a_certificate_by_replying_ok_merci(demo, tmp_path):
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "🤒 Signaler une absence"))
    screen = await demo.handle_line("mercredi 2 décembre")
    screen = await demo.handle_line(number_of(screen, "🤒 Maladie"))
    certificate = tmp_path / "certificat.pdf"
    certificate.write_bytes(tiny_pdf())
    screen = await demo.handle_line(f"/fichier {certificate}")
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    screen = await demo.wait_for("Certificat médical à vérifier", 10)
    [notification] = [m for m in demo.mails if "Certificat" in str(m["Subject"])]
    assert "Répondez OK pour accepter" in text_of(notification)

    screen = await demo.handle_line("/repondre ok merci")
    assert screen[0].startswith("✉ ") and "« ok merci »" in screen[0]
    screen += await demo.wait_for("est excusée", 10)
    assert "est excusée" in "\n".join(screen)
    async with demo.portal.sessions() as session:
        statuses = list(await session.scalars(select(Absence.status)))
    assert statuses == [AbsenceStatus.EXCUSED]
