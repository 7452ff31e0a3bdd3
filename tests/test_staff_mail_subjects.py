"""Staff emails' subjects read back as written, spaces included, once sent over real SMTP.

A long subject is folded over several header lines; where plain words met encoded ones, the
standard folding lost or doubled a space ("21 déc. 2026" read back as "21déc. 2026").
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from conversations.kit.texts import CATALOG
from mail.email_delivery import build_message, deliver_due_emails
from mail.mailer import send_message
from mail.staff_mail import StaffMail, short_dates, words
from store.bookings import BookingService
from store.models import Activity
from tests.helpers import build_town, paris
from tests.mail_helpers import wait_for_mails
from tests.messaging_helpers import add_services

CHRISTMAS = [date(2026, 12, 21), date(2026, 12, 22)]
HOLIDAY_DAY = "Vacances de Noël – Journée avec repas"


async def test_the_booking_email_subject_keeps_its_spaces(portal, smtp_sink, clock):
    town = await build_town(portal.sessions, CHRISTMAS, requires_validation=True)
    services = await add_services(portal.sessions)
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Activity).values(name=HOLIDAY_DAY, service_id=services.leisure_id)
        )
    clock.set(paris(date(2026, 11, 24)))
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, CHRISTMAS
    )
    assert await deliver_due_emails(portal) == 1
    [mail] = smtp_sink.messages
    assert mail["Subject"] == (
        f"[Portail Famille] Réservation à valider : Lucas F1, {HOLIDAY_DAY}, "
        "21 déc. 2026, 22 déc. 2026"
    )


def _subjects() -> list[str]:
    """A long subject of every kind of staff email, with French names, dates and typed text."""
    dates = short_dates(date(2026, 12, 21), date(2026, 12, 23))
    message = words(
        "staffmail.subject.message",
        family="Famille Lefèvre-Beauséjour",
        subject="Question sur la cantine du lundi 21 déc. 2026 à l'école Jean-Jaurès",
    )
    return [
        message,
        words("staffmail.subject.follow_up", subject=message),
        words(
            "staffmail.certificate.subject",
            child="Léonie Lefèvre-Beauséjour",
            dates=dates,
            reference="ABS-7KQ9M2",
        ),
        words(
            "staffmail.document.subject",
            doc_type=CATALOG["doc.caf_quotient"]["fr"],
            family="Famille Lefèvre-Beauséjour",
        ),
        words(
            "staffmail.booking.subject",
            children="Lucas Martin",
            activity=HOLIDAY_DAY,
            days="21 déc. 2026, 22 déc. 2026, 23 déc. 2026…",
        ),
        # Plain ASCII, long, and a parent's text that looks like an encoded word.
        "[Portail Famille] Famille Martin : a question about the  wednesday  club =?utf-8?q?x?=",
    ]


@pytest.mark.parametrize("subject", _subjects())
async def test_every_subject_reads_back_as_written(portal, smtp_sink, subject):
    mail = StaffMail(subject, "Bonjour.\n", "<subject-test@portail-famille.example>")
    message = build_message(portal, "dossier-famille@montclar.example", mail, portal.clock())
    await send_message(portal.settings, message)
    [received] = await wait_for_mails(smtp_sink)
    assert received["Subject"] == subject
