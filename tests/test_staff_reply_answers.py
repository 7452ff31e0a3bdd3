"""Staff answering by mail get a clear answer, and an automatic answer gets none.

Over real SMTP, to the notification of a request (a certificate to check), a digest and a
daily list: a reply with an empty text, a reply of a signature only, Outlook's HTML-only "OK",
a digest's code that only another service's digest has, "OK" to a daily list (which asks
nothing: refused at RCPT with words that say so, kept nowhere) and out-of-office answers
(`Auto-Submitted: auto-replied`, or only "Réponse automatique" in the subject): these change
nothing and are never answered (RFC 3834: no loop).
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from bot.runner import running_bot
from mail.email_delivery import deliver_due_emails
from mail.staff_digest_mail import digest_service
from store.actors import Actor
from store.daily_lists import DailyListService, Schedule
from store.models import Booking, InboundMail
from store.models.enums import AbsenceStatus, BookingState
from store.models.inbound import InboundStatus
from tests.helpers import build_town
from tests.mail_helpers import vouched
from tests.mail_stack import staff_mail
from tests.test_decide_by_reply import (
    CENTRES,
    DOSSIER,
    POLL,
    WED,
    _smtp_send,
    absence_status,
    add_decision_services,
    answers_to,
    certificate_to_review,
    mail_server,
    mail_where,
    text_of,
)
from tests.test_staff_digest import codes_of, next_answer, reply_to_digest

SIGNATURE = "-- \nSophie Martin\nService Dossier famille\nMairie de Montclar\n05 61 00 00 00"
OUTLOOK_OK = (
    '<html><body><div style="font-family:Calibri">OK</div><div><br></div>'
    '<div id="Signature"><p>Sophie Martin<br>Dossier famille</p></div>'
    "<hr><p><b>De :</b> Portail Famille<br><b>Objet :</b> Certificat</p></body></html>"
)


async def _send(server, sender: str, to: str, raw: bytes) -> None:
    await asyncio.to_thread(_smtp_send, server.port, sender, [to], raw)
    await server.drain()


async def _answer_after(sink, sender: str, before: int) -> EmailMessage:
    for _ in range(int(5 / POLL)):
        answers = await answers_to(sink, sender)
        if len(answers) > before:
            return answers[-1]
        await asyncio.sleep(POLL)
    raise AssertionError(f"no answer to {sender}")


async def _statuses(portal) -> list[InboundStatus]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(InboundMail.status).order_by(InboundMail.id)))


async def test_empty_signature_only_and_html_only_replies_to_a_request(
    portal, telegram, smtp_sink, clock
):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        absence_id, notification = await certificate_to_review(portal, smtp_sink, town)
        to = str(notification["Reply-To"])
        for body in ("", "\n\n", SIGNATURE):
            before = len(await answers_to(smtp_sink, DOSSIER))
            await _send(server, DOSSIER, to, vouched(staff_mail(body, sender=DOSSIER, to=to)))
            answer = await _answer_after(smtp_sink, DOSSIER, before)
            said = text_of(answer)
            assert "Rien n'a changé" in str(answer["Subject"])
            assert "elle est vide, ou ne contient qu'une signature" in said, said
            assert "Répondez OK pour accepter, ou REFUS" in said  # and how to answer
            assert await absence_status(portal, absence_id) is AbsenceStatus.REPORTED

        # Outlook's HTML-only reply, its signature and history below: "OK" is read, decided.
        before = len(await answers_to(smtp_sink, DOSSIER))
        raw = staff_mail(None, sender=DOSSIER, to=to, html=OUTLOOK_OK)
        await _send(server, DOSSIER, to, vouched(raw))
        confirmed = await _answer_after(smtp_sink, DOSSIER, before)
        assert "accept" in text_of(confirmed).lower(), text_of(confirmed)
        assert await absence_status(portal, absence_id) is AbsenceStatus.EXCUSED
    assert await _statuses(portal) == [InboundStatus.IGNORED] * 3 + [InboundStatus.RELAYED]


OUT_OF_OFFICE = [
    {"Auto-Submitted": "auto-replied", "Subject": "Réponse automatique : Certificat"},
    {"Subject": "Réponse automatique : Certificat médical à vérifier"},  # Outlook, no header
    {"X-Autoreply": "yes", "Subject": "Absent du bureau"},
]


@pytest.mark.parametrize("headers", OUT_OF_OFFICE, ids=["auto-submitted", "subject", "x-auto"])
async def test_an_out_of_office_is_never_answered_and_decides_nothing(
    portal, telegram, smtp_sink, clock, headers
):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        absence_id, notification = await certificate_to_review(portal, smtp_sink, town)
        assert len(await digest_service(portal).send_now("family_file")) == 1
        digest = await mail_where(smtp_sink, lambda m: "à décider" in str(m["Subject"]))
        code = codes_of(text_of(digest))["certificat de Lucas F., 9 déc."]
        before = len(smtp_sink.messages)
        # "OK" in its text, and "OK <code>": an automatic answer still decides nothing.
        for to, body in (
            (str(notification["Reply-To"]), "OK"),
            (str(digest["Reply-To"]), f"OK {code}"),
        ):
            message = EmailMessage()
            for name, value in headers.items():
                message[name] = value
            message["From"], message["To"] = DOSSIER, to
            message.set_content(f"{body}\nJe suis absente jusqu'au 14 décembre.")
            await _send(server, DOSSIER, to, vouched(message.as_bytes()))
        await asyncio.sleep(0.3)
        await deliver_due_emails(portal)
        assert len(smtp_sink.messages) == before  # nothing sent back, to anyone
        assert await absence_status(portal, absence_id) is AbsenceStatus.REPORTED
    assert await _statuses(portal) == [InboundStatus.IGNORED, InboundStatus.IGNORED]


async def test_a_code_of_another_services_digest_is_unknown_in_this_one(
    portal, telegram, smtp_sink, clock
):
    town = await build_town(portal.sessions, [WED], requires_validation=True)
    await add_decision_services(portal, town.activity_id)
    async with mail_server(portal) as server, running_bot(portal, poll_timeout=1):
        absence_id, _ = await certificate_to_review(portal, smtp_sink, town)
        await portal.family_file.request_change(town.guardian, "family.address", "3 rue Haute")
        [pending] = await portal.bookings.book(
            town.guardian, town.child_ids[1:], town.activity_id, [WED]
        )
        assert len(await digest_service(portal).send_now()) == 2
        dossier = await mail_where(smtp_sink, lambda m: "Dossier famille," in str(m["Subject"]))
        centres = await mail_where(smtp_sink, lambda m: "Centres de loisirs," in str(m["Subject"]))
        dossier_codes = set(codes_of(text_of(dossier)).values())
        centres_codes = set(codes_of(text_of(centres)).values())
        [elsewhere] = sorted(dossier_codes - centres_codes)[-1:]
        before = len(await answers_to(smtp_sink, CENTRES))
        await reply_to_digest(server, centres, CENTRES, f"OK {elsewhere}")
        answer = text_of(await next_answer(smtp_sink, CENTRES, before))
        assert f"Code {elsewhere} inconnu dans ce récapitulatif" in answer, answer
        # A reply with only a signature: said so, with how to answer.
        await reply_to_digest(server, centres, CENTRES, SIGNATURE)
        answer = text_of(await next_answer(smtp_sink, CENTRES, before + 1))
        assert "elle est vide, ou ne contient qu'une signature" in answer, answer
        assert "OK 12 15" in answer
        assert await absence_status(portal, absence_id) is AbsenceStatus.REPORTED
    async with portal.sessions() as session:
        state = await session.scalar(select(Booking.state).where(Booking.id == pending.booking_id))
    assert state is BookingState.PENDING


async def test_ok_to_a_daily_list_is_refused_with_clear_words_and_kept_nowhere(
    portal, smtp_sink, clock
):
    town = await build_town(portal.sessions, [WED])
    await add_decision_services(portal, town.activity_id)
    await portal.bookings.book(town.guardian, town.child_ids, town.activity_id, [WED])
    daily = DailyListService(portal.sessions, portal.clock, Schedule())
    await daily.queue(Actor.system(), "act", WED)
    assert await deliver_due_emails(portal) == 1
    [listing] = smtp_sink.messages
    assert listing["Reply-To"] is None and listing["Auto-Submitted"] == "auto-generated"
    assert "il n'attend pas de réponse" in text_of(listing)
    to = parseaddr(str(listing["From"]))[1]
    raw = vouched(staff_mail("OK", sender=CENTRES, to=to))
    async with mail_server(portal) as server:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await _send(server, CENTRES, to, raw)
    code, words = refused.value.recipients[to]
    assert code == 550
    assert b"takes no replies" in words and b"Adresse sans reponse" in words
    assert await _statuses(portal) == []
    assert len(smtp_sink.messages) == 1  # nothing sent back
