"""Staff decisions the family must be able to follow: a refused booking says why, and a
certificate sent again after a refusal waits for a decision again."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from store.absences import AbsenceService
from store.bookings import BookingService
from store.documents import DocumentFolder, DocumentService
from store.models import Absence, AuditEntry, Booking, OutboxItem
from store.models.enums import AbsenceReason, AbsenceStatus, BookingState, DocumentType
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris
from tests.staff_helpers import staff_command_aside

WED = date(2026, 12, 9)
REASON = "Sortie piscine : le groupe est complet ce jour-là."


async def test_rejecting_a_booking_needs_a_reason_and_the_parent_reads_it(
    portal, telegram, bot, clock
):
    town = await build_town(portal.sessions, [WED], requires_validation=True)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    clock.set(paris(date(2026, 11, 24)))
    [pending] = await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, [WED]
    )
    booking_id = str(pending.booking_id)

    for without in (
        ("reject", "booking", booking_id),
        ("reject", "booking", booking_id, "--reason", "  "),
    ):
        status, out, err = await staff_command_aside(portal.settings, *without)
        assert (status, out) == (2, "")
        assert err == (
            f"Booking #{booking_id} was not rejected: give the reason the family will read, "
            'with --reason "...".\n'
        )
    async with portal.sessions() as session:
        assert await session.scalar(select(Booking.state)) is BookingState.PENDING

    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings, "reject", "booking", booking_id, "--reason", REASON
    )
    assert (status, out) == (0, f"Booking #{booking_id} refused. The family is told.\n")
    notice = await parent.wait_for_message(lambda m: "n'a pas pu accepter" in (m.text or ""))
    assert notice.text == (
        "❌ Le service n'a pas pu accepter la réservation de Lucas le mer. 9 déc. "
        f"(CL Mercredis).\nMotif : {REASON}"
    )
    async with portal.sessions() as session:
        payload = await session.scalar(
            select(OutboxItem.payload).where(OutboxItem.kind == "booking_refused")
        )
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "refuse"))
    assert payload["reason"] == REASON
    assert audit is not None and audit.details == {"reason": REASON}


async def test_a_certificate_sent_again_after_a_refusal_waits_for_a_decision(portal):
    town = await build_town(portal.sessions, [WED])
    folder = DocumentFolder(portal.settings.documents_dir)
    documents = DocumentService(portal.sessions, folder, portal.settings.max_document_bytes)
    absences = AbsenceService(portal.sessions)
    [absence] = await absences.report(
        town.guardian, town.child_ids[:1], WED, WED, AbsenceReason.ILLNESS
    )

    async def send_certificate() -> int:
        certificate = await documents.add(
            town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
        )
        await absences.attach_certificate(town.guardian, absence.id, certificate.id)
        return certificate.id

    first = await send_certificate()
    status, _, _ = await staff_command_aside(
        portal.settings, "refuse", "certificate", str(absence.id), "--note", "Illisible"
    )
    assert status == 0
    assert await staff_command_aside(portal.settings, "pending") == (
        0,
        "Nothing is waiting for a decision.\n",
        "",
    )

    second = await send_certificate()
    status, out, _ = await staff_command_aside(portal.settings, "pending")
    assert status == 0
    assert f"  absence #{absence.id}  {absence.reference}  Lucas F1 (Famille F1)" in out
    assert f"certificate: document #{second}" in out
    assert f"document #{first}" not in out
    status, out, _ = await staff_command_aside(
        portal.settings, "accept", "certificate", str(absence.id)
    )
    assert status == 0 and "accepted" in out
    async with portal.sessions() as session:
        assert await session.scalar(select(Absence.status)) is AbsenceStatus.EXCUSED
