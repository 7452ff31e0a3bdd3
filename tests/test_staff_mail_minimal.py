"""Every kind of notification email to a service carries only what that service needs.

One family's child has health details (allergies, doctor, PAI) and an absence whose medical
reason the parent typed; every kind of staff email is then made from that family — a message,
a certificate, a document, bookings to validate, changes of the file (health fields among
them), an enrolment, a new child, an erasure request, the morning digest, the daily list —
and delivered over real SMTP on loopback. None of them, subject, text or attached list, holds
the allergy, the doctor or the medical reason: the family-file service reads them with the
staff command line, the activity's service sees flags ("Allergies", "PAI") only.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

from pypdf import PdfReader
from sqlalchemy import select, update

from mail.email_delivery import deliver_due_emails
from mail.staff_digest_mail import digest_service
from store.actors import Actor
from store.daily_lists import DAILY_LIST_MAIL, DailyListService, Schedule
from store.family_rights import ERASURE_NOTICE
from store.models import Activity, Child, Enrollment, OutboxItem
from store.models.enums import AbsenceReason, Channel, DeliveryState, DocumentType
from store.staff_digest import STAFF_DIGEST_MAIL
from store.staff_notices import DOCUMENT_NOTICE_DELAY
from tests.enrolment_helpers import YEAR_END, build_enrolment_town
from tests.family_file_helpers import tiny_pdf
from tests.family_file_setup import ALLERGY, set_health

WED = date(2026, 12, 9)
MEDICAL_REASON = "Gastro-entérite sévère"
DIET = "Sans gluten (maladie cœliaque)"
# What no service's email may hold: the child's allergy, doctor, diet, and the reason typed.
HEALTH_WORDS = (ALLERGY, "Arachide", "Lefèvre", "Gastro", "cœliaque", "Kiwi", "Dr Martin")
FAMILY_FILE = "dossier@ville.fr"
CENTRES = "cl@ville.fr"
# Each kind of email, and the service it goes to.
EXPECTED = {
    "parent_message": CENTRES,
    "certificate_to_review": FAMILY_FILE,
    "document_to_review": FAMILY_FILE,
    "booking_to_validate": CENTRES,
    "file_change_to_review": FAMILY_FILE,
    "enrolment_to_decide": CENTRES,
    "registration_to_decide": FAMILY_FILE,
    ERASURE_NOTICE: FAMILY_FILE,
    STAFF_DIGEST_MAIL: None,  # one per service with something waiting
    DAILY_LIST_MAIL: CENTRES,
}


def _everything_readable(mail: EmailMessage) -> str:
    """A mail as a person reads it: subject, every text part, the CSV and PDF attached."""
    parts = [str(mail["Subject"])]
    for part in mail.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if content_type.startswith("text/"):
            parts.append(payload.decode("utf-8-sig", errors="replace"))
        elif content_type == "application/pdf":
            reader = PdfReader(io.BytesIO(payload))
            parts.append("\n".join(page.extract_text() for page in reader.pages))
    return "\n".join(parts)


async def test_no_staff_email_holds_a_health_detail(portal, smtp_sink, clock):
    town = await build_enrolment_town(portal.sessions)
    await set_health(portal.sessions, town.lucas_id)
    async with portal.sessions.begin() as session:
        await session.execute(update(Child).where(Child.id == town.lucas_id).values(diet=DIET))
        await session.execute(
            update(Activity).where(Activity.id == town.centre_id).values(requires_validation=True)
        )
        session.add(
            Enrollment(
                child_id=town.lucas_id,
                activity_id=town.centre_id,
                school_year="2026-2027",
                starts_on=date(2026, 9, 1),
                ends_on=YEAR_END,
            )
        )
    family = town.guardian

    await portal.messaging.write(family, "centres", "Bonjour, Lucas viendra avec sa tante.")
    certificate = await portal.documents.add(
        family,
        town.family_id,
        DocumentType.MEDICAL_CERTIFICATE,
        tiny_pdf(),
        child_id=town.lucas_id,
    )
    await portal.absences.report(
        family,
        [town.lucas_id],
        date(2026, 12, 1),
        date(2026, 12, 2),
        AbsenceReason.ILLNESS,
        MEDICAL_REASON,
        certificate_id=certificate.id,
    )
    await portal.documents.add(
        family,
        town.family_id,
        DocumentType.HEALTH_FORM,
        tiny_pdf(),
        child_id=town.lucas_id,
        original_name="fiche.pdf",
    )
    await portal.bookings.book(family, [town.lucas_id], town.centre_id, [WED])
    for field, value in (("child.allergies", "Kiwi"), ("child.doctor", "Dr Martin")):
        await portal.family_file.request_change(family, field, value, child_id=town.lucas_id)
    await portal.family_file.request_change(family, "family.address", "3 rue des Lilas")
    await portal.enrolments.request(family, town.lucas_id, town.nature_id, WED, [2])
    await portal.enrolments.register_child(family, "Léa", "F1", date(2022, 3, 12), "MS")
    await portal.family_rights.ask_erasure(family, town.family_id)
    assert len(await digest_service(portal).send_now()) == 2
    daily = DailyListService(portal.sessions, portal.clock, Schedule())
    [queued] = await daily.queue(Actor.system(), "cl-mer", WED)
    assert queued.expected == 1

    # Documents are stamped by the real clock: every notice due, whatever the time.
    clock.set(max(clock.now, datetime.now(UTC)) + DOCUMENT_NOTICE_DELAY + timedelta(minutes=1))
    await deliver_due_emails(portal)
    async with portal.sessions() as session:
        sent = list(
            await session.execute(
                select(OutboxItem.kind, OutboxItem.recipient).where(
                    OutboxItem.channel == Channel.EMAIL, OutboxItem.state == DeliveryState.SENT
                )
            )
        )
    for kind, recipient in EXPECTED.items():
        to = {to for sent_kind, to in sent if sent_kind == kind}
        assert to, f"no {kind} email was sent"
        assert recipient is None or to == {recipient}, (kind, to)

    mails = list(smtp_sink.messages)
    subjects = [str(mail["Subject"]) for mail in mails]
    assert len(mails) >= len(EXPECTED), subjects
    for mail in mails:
        assert str(mail["To"]) in (FAMILY_FILE, CENTRES), mail["To"]
        readable = _everything_readable(mail)
        for word in HEALTH_WORDS:
            assert word.casefold() not in readable.casefold(), (mail["Subject"], word)

    # The facts did reach the services, as flags: the daily list says Lucas has an allergy,
    # a PAI and a diet, and the file-change emails say a health field changed.
    [daily_mail] = [m for m in mails if "Liste du jour" in str(m["Subject"])]
    [csv_part] = [p for p in daily_mail.iter_attachments() if p.get_filename().endswith(".csv")]
    csv_text = csv_part.get_payload(decode=True).decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(csv_text), delimiter=";"))
    assert list(row.values())[3:6] == ["oui", "oui", "oui"]
    assert sum("Modification du dossier" in s or "dossier" in s.lower() for s in subjects) >= 3
