"""Each service's morning digest: what waits for it, oldest first, with short codes, and the
mails set aside for it; one reply "OK 1 2 / REFUS 3 complet" decides several requests over real
SMTP, the families are told in the chat, the staff member gets one summary — and a reply that
must change nothing (another service, a forged sender, words not understood, a code unknown,
decided already or expired) changes nothing and says why."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.runner import running_bot
from bot.staff_digest_loop import send_digests_if_due
from conversations.kit.formatting import format_moment
from mail.staff_digest_mail import digest_service, digest_text
from store.absences import AbsenceService
from store.actors import Actor
from store.digest_words import Verb, read_digest_reply
from store.documents import DocumentFolder, DocumentService
from store.models import (
    Absence,
    AuditEntry,
    ChildRegistration,
    FileChange,
    InboundMail,
    OutboxItem,
    StaffDigest,
    StaffMember,
)
from store.models.enums import AbsenceReason, AbsenceStatus, DocumentType, RequestStatus
from store.models.inbound import InboundStatus
from store.staff_digest import DigestSchedule, parse_days, parse_time
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.mail_helpers import vouched
from tests.mail_stack import inbound_rows, mail_stack, replies_to_parent, staff_mail
from tests.test_decide_by_reply import (
    CENTRES,
    DOMAIN,
    DOSSIER,
    DOSSIER_2,
    PARENT,
    POLL,
    WED,
    _smtp_send,
    add_decision_services,
    answers_to,
    chat_says,
    mail_server,
    mail_where,
    text_of,
)

MONDAY_8 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Paris
STRANGER = "inconnu@ailleurs.example"


async def certificate(portal: Any, town: Any, child: int, day: date) -> int:
    """An absence reported with a medical certificate: waits for the family-file service."""
    documents = DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 10_000_000
    )
    absences = AbsenceService(portal.sessions)
    [absence] = await absences.report(town.guardian, [child], day, day, AbsenceReason.ILLNESS)
    document = await documents.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
    )
    await absences.attach_certificate(town.guardian, absence.id, document.id)
    return absence.id


async def three_requests(portal: Any, town: Any, clock: Any) -> tuple[int, int, int]:
    """A certificate, a change of address and a new child, in this order (some rows are
    stamped by the store's clock, others by the database's time: the clock follows it)."""
    absence = await certificate(portal, town, town.child_ids[0], WED)
    clock.set(datetime.now(UTC))
    change = await portal.family_file.request_change(
        town.guardian, "family.address", "3 rue des Lilas, 31000 Montclar"
    )
    tom = await portal.enrolments.register_child(
        town.guardian, "Tom", "F1", date(2021, 5, 2), "GS"
    )
    return absence, change.id, tom.id


async def mail_set_aside(portal: Any, server: Any) -> int:
    """Documents from an address of no family: set aside for the family-file service."""
    raw = staff_mail("Voici le document", sender=STRANGER, to=f"documents@{DOMAIN}")
    await asyncio.to_thread(_smtp_send, server.port, STRANGER, [f"documents@{DOMAIN}"], raw)
    await server.drain()
    async with portal.sessions() as session:
        mail = await session.scalar(select(InboundMail).order_by(InboundMail.id.desc()))
    assert mail is not None and mail.status is InboundStatus.QUARANTINED
    return mail.id


def codes_of(body: str) -> dict[str, int]:
    """The digest's lines "  12 — what", by what."""
    return {
        m.group(2): int(m.group(1))
        for m in re.finditer(r"^  (\d+) — (.+)$", body.replace("\r\n", "\n"), re.MULTILINE)
    }


async def digest_mails(portal: Any) -> list[OutboxItem]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem).where(OutboxItem.kind == "staff_digest").order_by(OutboxItem.id)
            )
        )


async def reply_to_digest(
    server: Any, digest: EmailMessage, sender: str, body: str, *, authenticated: bool = True
) -> None:
    to = str(digest["Reply-To"])
    raw = staff_mail(body, sender=sender, to=to)
    if authenticated:
        raw = vouched(raw)
    await asyncio.to_thread(_smtp_send, server.port, sender, [to], raw)
    await server.drain()


async def next_answer(sink: Any, sender: str, before: int) -> EmailMessage:
    for _ in range(int(5 / POLL)):
        answers = await answers_to(sink, sender)
        if len(answers) > before:
            return answers[-1]
        await asyncio.sleep(POLL)
    raise AssertionError(f"no answer to {sender}")


# The schedule ------------------------------------------------------------------------------


def test_days_and_time_are_read_as_staff_write_them():
    assert parse_days("mon-fri") == parse_days("1-5") == frozenset({1, 2, 3, 4, 5})
    assert parse_days("lun,mer".replace("lun", "mon").replace("mer", "wed")) == {1, 3}
    assert parse_days("1,3,5") == {1, 3, 5}
    with pytest.raises(ValueError):
        parse_days("fri-mon")
    with pytest.raises(ValueError):
        parse_days("someday")
    schedule = DigestSchedule(parse_time("08:00"), parse_days("mon-fri"))
    assert schedule.due_day(MONDAY_8 - timedelta(minutes=1)) is None
    assert schedule.due_day(MONDAY_8) == date(2026, 11, 30)
    assert schedule.due_day(MONDAY_8 + timedelta(days=5)) is None  # Saturday


def test_reply_lines_are_read_one_decision_each():
    lines = read_digest_reply(
        "Bonjour,\n\nok 12, 15 et 18\nRefus 13 14 : complet ce jour-là\nLibérer 21\n"
        "supprimez 22\nVu 3\n\nCordialement\nSophie"
    )
    assert [(line.verb, line.codes, line.reason) for line in lines] == [
        (Verb.ACCEPT, (12, 15, 18), ""),
        (Verb.REFUSE, (13, 14), "complet ce jour-là"),
        (Verb.RELEASE, (21,), ""),
        (Verb.DROP, (22,), ""),
        (None, (), ""),
    ]
    [refusal] = read_digest_reply("REFUS 4\ngroupe plein")
    assert refusal.reason == "groupe plein"
    [no_reason, other] = read_digest_reply("REFUS 4\nREFUS 5 plein")
    assert no_reason.reason == "" and other.reason == "plein"


# Building and sending ------------------------------------------------------------------------


async def test_the_digest_lists_what_waits_oldest_first_and_the_mails_set_aside(portal, clock):
    town = await build_town(portal.sessions, [WED], requires_validation=True)
    await add_decision_services(portal, town.activity_id)
    _, change, _ = await three_requests(portal, town, clock)
    await portal.bookings.book(town.guardian, town.child_ids[1:], town.activity_id, [WED])
    async with mail_server(portal) as server:
        stray = await mail_set_aside(portal, server)
    service = digest_service(portal)
    [dossier, centres] = await service.preview()
    assert [(r.number, r.kind.value) for r in dossier.requests] == [
        (1, "certificate"),
        (2, "file_change"),
        (3, "registration"),
    ]
    assert [(m.number, m.mail_id, m.sender) for m in dossier.mails] == [(4, stray, STRANGER)]
    assert [(r.number, r.kind.value) for r in centres.requests] == [(1, "bookings")]
    subject, body = digest_text(dossier, date(2026, 12, 4))
    assert subject == (
        "[Portail Famille] Dossier famille, 4 déc. : 3 demandes à décider, 1 mail mis de côté"
    )
    assert body.startswith("Pour décider, répondez à ce message")
    assert "OK 12 15 18" in body and "REFUS 13 complet" in body and "LIBÉRER 21" in body
    received = format_moment(dossier.mails[0].received_at, "fr")
    assert codes_of(body) == {
        "certificat de Lucas F., 9 déc.": 1,
        "modification du dossier : adresse": 2,
        "nouvel enfant : Tom F.": 3,
        f"d'{STRANGER}, « Re: Question sur la cantine », reçu {received}": 4,
    }
    assert "Lucas Fontaine" not in body and "Maladie" not in body.lower()
    # A preview keeps nothing; a digest sent keeps its codes, and they stay the same.
    assert await digest_mails(portal) == []
    assert len(await service.send_now()) == 2
    async with portal.sessions() as session:
        await session.execute(
            FileChange.__table__.update()
            .where(FileChange.id == change)
            .values(status=RequestStatus.ACCEPTED)
        )
        await session.commit()
    [dossier_again, _] = await service.preview()
    assert [(r.number, r.kind.value) for r in dossier_again.requests] == [
        (1, "certificate"),
        (3, "registration"),
    ]


async def test_nothing_waiting_sends_nothing(portal, clock):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    clock.set(MONDAY_8)
    assert await send_digests_if_due(portal, "worker-1") == []
    assert await digest_mails(portal) == []
    async with portal.sessions() as session:
        recorded = list(await session.scalars(select(StaffDigest.sent)))
    assert recorded == [False, False]  # the day is done for both services
    assert await digest_service(portal).send_now() == []


async def test_sent_once_a_day_across_runs_and_workers_on_the_days_set(portal, clock):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    await certificate(portal, town, town.child_ids[0], WED)
    clock.set(MONDAY_8 - timedelta(minutes=1))
    assert await send_digests_if_due(portal, "worker-1") == []
    clock.set(MONDAY_8)
    first, second = await asyncio.gather(
        send_digests_if_due(portal, "worker-1"), send_digests_if_due(portal, "worker-2")
    )
    assert len(first + second) == 1
    clock.set(MONDAY_8 + timedelta(hours=3))
    assert await send_digests_if_due(portal, "worker-2") == []  # a restart, a later run
    assert len(await digest_mails(portal)) == 1
    clock.set(MONDAY_8 + timedelta(days=5))  # Saturday
    assert await send_digests_if_due(portal, "worker-1") == []
    clock.set(MONDAY_8 + timedelta(days=7))  # the next Monday: still waiting, sent again
    assert len(await send_digests_if_due(portal, "worker-1")) == 1
    assert len(await digest_mails(portal)) == 2


# Deciding by reply ---------------------------------------------------------------------------


async def test_one_reply_decides_three_requests_of_different_kinds(
    portal, telegram, smtp_sink, clock
):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, PARENT)
        absence, change, tom = await three_requests(portal, town, clock)
        assert len(await send_digests_if_due(portal, "worker-1")) == 1
        digest = await mail_where(smtp_sink, lambda m: "à décider" in str(m["Subject"]))
        assert str(digest["To"]) == "dossier@montclar.example"
        codes = codes_of(text_of(digest))
        first = codes["certificat de Lucas F., 9 déc."]
        second = codes["modification du dossier : adresse"]
        third = codes["nouvel enfant : Tom F."]

        await reply_to_digest(
            server, digest, DOSSIER, f"Bonjour,\n\nOK {first} {second}\nREFUS {third} complet\n"
        )
        await chat_says(parent, "est excusée")
        await chat_says(parent, "a accepté votre modification : adresse.")
        told = await chat_says(parent, "complet")
        assert "L'ajout de Tom à votre dossier a été refusé" in told
        summary = await mail_where(smtp_sink, lambda m: str(m["To"]) == DOSSIER)
        assert str(summary["Subject"]) == (
            "[Portail Famille] Réponse au récapitulatif : 3 sur 3 appliqué(s)"
        )
        assert (
            text_of(summary)
            .replace("\r\n", "\n")
            .startswith(
                f"Accepté : certificat de Lucas F., 9 déc. (code {first}).\n"
                f"Accepté : modification du dossier : adresse (code {second}).\n"
                f"Refusé : nouvel enfant : Tom F. (code {third}). "
                "Motif transmis à la famille : complet\n\n"
                "La famille est prévenue sur Telegram."
            )
        )
        await asyncio.sleep(0.3)
        assert len(await answers_to(smtp_sink, DOSSIER)) == 1
    async with portal.sessions() as session:
        assert await session.scalar(select(Absence.status).where(Absence.id == absence)) is (
            AbsenceStatus.EXCUSED
        )
        assert await session.scalar(select(FileChange.status).where(FileChange.id == change)) is (
            RequestStatus.ACCEPTED
        )
        assert (
            await session.scalar(
                select(ChildRegistration.status).where(ChildRegistration.id == tom)
            )
            is RequestStatus.REFUSED
        )


async def test_replies_that_change_nothing_say_why(portal, telegram, smtp_sink, clock):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        absence = await certificate(portal, town, town.child_ids[0], WED)
        later = await certificate(portal, town, town.child_ids[1], WED)
        stray = await mail_set_aside(portal, server)
        dropped_too = await mail_set_aside(portal, server)
        assert len(await digest_service(portal).send_now("family_file")) == 1
        digest = await mail_where(smtp_sink, lambda m: "à décider" in str(m["Subject"]))
        codes = codes_of(text_of(digest))
        code = codes["certificat de Lucas F., 9 déc."]
        other = codes["certificat d'Emma F., 9 déc."]
        [stray_code, drop_code] = [
            int(n)
            for n, line in re.findall(r"^  (\d+) — (.+)$", text_of(digest), re.MULTILINE)
            if STRANGER in line
        ]

        cases = [
            (CENTRES, f"OK {code}", {}, "celui d'un autre service que le vôtre"),
            (DOSSIER, f"Vu {code}, je regarde", {}, "aucune ligne n'est comprise (« Vu"),
            (DOSSIER, f"OK {code}", {"authenticated": False}, "n'a pas pu vérifier"),
            (STRANGER, f"OK {code}", {}, "n'est celle d'aucun agent des services"),
            (DOSSIER, "OK 99", {}, "Code 99 inconnu dans ce récapitulatif"),
            (DOSSIER, f"REFUS {code}", {}, "un refus doit donner son motif"),
            (DOSSIER, f"LIBÉRER {code}", {}, "c'est une demande (certificat de Lucas F."),
            (DOSSIER, f"OK {stray_code}", {}, "c'est un mail mis de côté"),
            (DOSSIER, f"LIBERER {stray_code}", {}, "ne peut pas être libéré par réponse"),
        ]
        for sender, body, options, expected in cases:
            before = len(await answers_to(smtp_sink, sender))
            await reply_to_digest(server, digest, sender, body, **options)
            answer = await next_answer(smtp_sink, sender, before)
            assert expected in text_of(answer), text_of(answer)
            assert "Rien n'a changé" in str(answer["Subject"]) or "0 sur" in str(answer["Subject"])
        # An unknown or forged sender is told nothing of the requests.
        assert "Lucas" not in text_of((await answers_to(smtp_sink, STRANGER))[-1])

        # Decided by a colleague first (on the command line): said, nothing changes.
        colleague = await portal_staff_id(portal, DOSSIER_2)
        await AbsenceService(portal.sessions).decide(Actor.staff(colleague), absence, True, "")
        before = len(await answers_to(smtp_sink, DOSSIER))
        await reply_to_digest(
            server, digest, DOSSIER, f"REFUS {code} illisible\nSUPPRIMER {drop_code}"
        )
        answer = text_of(await next_answer(smtp_sink, DOSSIER, before))
        assert (
            f"Déjà accepté par Paul Durand : certificat de Lucas F., 9 déc. (code {code})"
            in answer
        )
        assert f"Mail supprimé : d'{STRANGER} (code {drop_code})." in answer

        # Past its days, the digest's codes are no longer valid.
        clock.set(clock.now + timedelta(days=15))
        before = len(await answers_to(smtp_sink, DOSSIER))
        await reply_to_digest(server, digest, DOSSIER, f"OK {other}")
        answer = text_of(await next_answer(smtp_sink, DOSSIER, before))
        assert "ce récapitulatif a plus de 14 jours" in answer
    async with portal.sessions() as session:
        statuses = dict((await session.execute(select(Absence.id, Absence.status))).all())
        mails = dict((await session.execute(select(InboundMail.id, InboundMail.status))).all())
        decisions = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "decide_absence")
        )
    assert statuses == {absence: AbsenceStatus.EXCUSED, later: AbsenceStatus.REPORTED}
    assert decisions == 1  # the colleague's only
    assert mails[stray] is InboundStatus.QUARANTINED
    assert mails[dropped_too] is InboundStatus.DISCARDED
    replies = [m for m in mails if m not in (stray, dropped_too)]
    kept_aside = [mails[m] for m in replies if mails[m] is InboundStatus.QUARANTINED]
    assert len(kept_aside) == 3  # another service, not authenticated, not staff


async def portal_staff_id(portal: Any, email: str) -> int:
    async with portal.sessions() as session:
        staff_id = await session.scalar(select(StaffMember.id).where(StaffMember.email == email))
    assert staff_id is not None
    return int(staff_id)


async def test_a_reply_set_aside_is_released_to_the_family_from_the_digest(
    portal, telegram, smtp_sink, clock
):
    async with mail_stack(portal, telegram, smtp_sink) as stack:
        personal = "n.belkacem.perso@gmail.example"
        raw = staff_mail("Bonjour, c'est noté.", sender=personal, to=stack.reply_address)
        await stack.send(raw, mail_from=personal)
        [held] = await inbound_rows(portal)
        assert held.status is InboundStatus.QUARANTINED
        # The thread's service lists it; the other service (billing) has nothing: no digest.
        assert len(await digest_service(portal).send_now()) == 1
        digest = await mail_where(smtp_sink, lambda m: "mis de côté" in str(m["Subject"]))
        assert str(digest["To"]) == "centres-loisirs@montclar.example"
        [(code, line)] = re.findall(r"^  (\d+) — (.+)$", text_of(digest), re.MULTILINE)
        assert line.startswith(f"de {personal}, « Re: Question sur la cantine »")
        assert "LIBÉRER 21" in text_of(digest) and "SUPPRIMER 22" in text_of(digest)

        await reply_to_digest(stack.server, digest, stack.staff_email, f"Libérer {code}")
        await stack.parent.wait_for_message(lambda m: "c'est noté" in (m.text or ""))
        answer = text_of(await next_answer(smtp_sink, stack.staff_email, 0))
        assert f"Mail libéré : de {personal} (code {code})." in answer
        await reply_to_digest(stack.server, digest, stack.staff_email, f"SUPPRIMER {code}")
        answer = text_of(await next_answer(smtp_sink, stack.staff_email, 1))
        assert "ce mail n'est plus mis de côté" in answer
    [message] = await replies_to_parent(portal)
    assert message.body == "Bonjour, c'est noté."
    async with portal.sessions() as session:
        released = await session.scalar(
            select(AuditEntry.actor).where(AuditEntry.action == "inbound_mail_release")
        )
    assert released is not None and released.startswith("staff:")
