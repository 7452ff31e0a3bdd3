"""A document the canteen requires, from the parent's phone to the staff's decision: the types
offered follow what the activities require, a document awaiting validation is said so (not
missing) with what it will unblock, and staff may file a document under another type."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from store.absences import AbsenceService
from store.actors import AccessDenied, Actor
from store.bookings import BookingService, Outcome, Refusal
from store.documents import DocumentFolder, DocumentService, InvalidReclassification
from store.models import Activity, AuditEntry, Document
from store.models.enums import (
    AbsenceReason,
    ActivityKind,
    DocumentStatus,
    DocumentType,
)
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.helpers import Town, build_town, paris
from tests.staff_helpers import staff_command_aside

CANTEEN = "Restauration scolaire"
THURSDAY = date(2026, 12, 3)
PENDING_REASON = "fiche sanitaire en attente de validation par le service"


async def _canteen_town(portal) -> Town:
    """The town's activity made a canteen that requires a health form ("fiche sanitaire")."""
    town = await build_town(portal.sessions, [THURSDAY], required_documents=["health_form"])
    async with portal.sessions.begin() as session:
        await session.execute(update(Activity).values(name=CANTEEN, kind=ActivityKind.CANTEEN))
    return town


async def _documents(portal) -> list[Document]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(Document).order_by(Document.id)))


def _service(portal) -> DocumentService:
    folder = DocumentFolder(portal.settings.documents_dir)
    return DocumentService(portal.sessions, folder, portal.settings.max_document_bytes)


async def test_a_health_form_sent_from_the_phone_unblocks_the_canteen_once_accepted(
    portal, telegram, bot, clock
):
    town = await _canteen_town(portal)
    clock.set(paris(date(2026, 11, 24)))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/documents")
    screen = await parent.next_message()
    assert f"fiche sanitaire pour Lucas — bloque : {CANTEEN}" in screen.text

    # The type is offered because the canteen requires it.
    await parent.tap("➕ Envoyer un document")
    kinds = await parent.next_message()
    assert "Fiche sanitaire" in kinds.buttons
    await parent.tap("Fiche sanitaire")
    assert "Pour qui ?" in (await parent.next_message()).text
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.send_photo(tiny_png())
    done = await parent.next_message()
    assert "Bien reçu : fiche sanitaire — Lucas (photo)" in done.text
    [document] = await _documents(portal)
    assert (document.doc_type, document.child_id, document.status) == (
        DocumentType.HEALTH_FORM,
        town.child_ids[0],
        DocumentStatus.PENDING,
    )

    # Awaiting validation, not missing: and it says what it will unblock.
    await parent.tap("📎 Mes documents")
    screen = await parent.next_message()
    assert "• fiche sanitaire — Lucas — ⏳ en attente de validation (envoyé le" in screen.text
    assert f"— dès sa validation, débloquera : {CANTEEN}" in screen.text
    assert "fiche sanitaire pour Lucas" not in screen.text
    assert f"fiche sanitaire pour Emma — bloque : {CANTEEN}" in screen.text

    # Booking meanwhile: the day is refused, saying the document awaits validation.
    await parent.send_command("/reserver")
    await parent.wait_for_message(lambda m: "Pour quel enfant" in (m.text or ""))
    await parent.tap("Lucas")
    calendar = await parent.next_message()
    assert CANTEEN in calendar.text
    await parent.tap("3")
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    assert f"jeu. 3 déc. — Lucas : ❌ {PENDING_REASON}" in recap.text
    assert "document manquant" not in recap.text
    assert "✅ Confirmer" not in recap.buttons

    # Staff accept it from the command line; the parent is told.
    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings, "accept", "document", str(document.id)
    )
    assert (status, out) == (0, f"Document #{document.id} accepted. The family is told.\n")
    notice = await parent.wait_for_message(lambda m: "accepté" in (m.text or ""))
    assert "Le service a accepté votre document : fiche sanitaire (Lucas)." in notice.text

    # Now the canteen day can be booked, in the same chat.
    await parent.tap("◀ Modifier", message=recap)
    await parent.wait_for_message(lambda m: "☑️3" in m.buttons)
    await parent.tap("Valider (1)")
    recap = await parent.wait_for_message(lambda m: "✅ Confirmer" in m.buttons)
    assert "jeu. 3 déc. — Lucas : 4,10\u00a0€" in recap.text
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()
    assert "✅ jeu. 3 déc. — Lucas : réservé (4,10\u00a0€)" in result.text


async def test_an_other_document_filed_by_staff_as_the_health_form_unblocks_booking(
    portal, telegram, bot, clock
):
    town = await _canteen_town(portal)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/documents")
    await parent.next_message()
    await parent.tap("➕ Envoyer un document")
    kinds = await parent.next_message()
    assert "Attestation d'assurance" not in kinds.buttons  # no activity requires one
    await forge_tap(telegram, parent, kinds, "dc:type:insurance")
    assert "pas possible depuis votre compte" in (await parent.next_message()).text
    await parent.tap("Autre document", message=kinds)
    await parent.next_message()
    await parent.tap("Toute la famille")
    await parent.next_message()
    await parent.send_document(tiny_pdf(), "fiche.pdf", "application/pdf")
    assert "Bien reçu : autre document — famille (fiche.pdf)" in (await parent.next_message()).text
    [document] = await _documents(portal)

    clock.set(paris(date(2026, 11, 24)))
    bookings = BookingService(portal.sessions, clock)

    async def book(dry_run: bool = True):
        [outcome] = await bookings.book(
            town.guardian, town.child_ids[:1], town.activity_id, [THURSDAY], dry_run=dry_run
        )
        return outcome

    assert (await book()).refusal is Refusal.DOCUMENT_MISSING  # "autre document" counts for none

    status, out, _ = await staff_command_aside(
        portal.settings, "reclassify", "document", str(document.id), "fiche_sanitaire"
    )
    assert (status, out) == (0, f"Document #{document.id} filed as health_form (pending).\n")
    pending = await book()
    assert (pending.refusal, pending.missing_document) == (Refusal.DOCUMENT_PENDING, "health_form")
    await parent.send_command("/documents")
    screen = await parent.next_message()
    assert "• fiche sanitaire — famille — ⏳ en attente de validation" in screen.text
    assert f"débloquera : {CANTEEN}" in screen.text and "À fournir" not in screen.text

    status, _, _ = await staff_command_aside(
        portal.settings, "accept", "document", str(document.id)
    )
    assert status == 0
    booked = await book(dry_run=False)
    assert booked.outcome is Outcome.CONFIRMED and booked.booking_id is not None

    async with portal.sessions() as session:
        [entry] = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reclassify_document")
        )
    assert (entry.actor, entry.entity_id, entry.details) == (
        "system",
        document.id,
        {"was": "other", "type": "health_form"},
    )


async def test_accept_with_a_type_and_who_may_reclassify(portal, clock):
    town = await _canteen_town(portal)
    service = _service(portal)
    other = await service.add(town.guardian, town.family_id, DocumentType.OTHER, tiny_pdf())
    with pytest.raises(AccessDenied):  # staff only
        await service.reclassify(town.guardian, other.id, DocumentType.HEALTH_FORM)

    # Filed and accepted in one decision, by a named staff member.
    await service.review(Actor.staff(7), other.id, accept=True, doc_type=DocumentType.HEALTH_FORM)
    clock.set(paris(date(2026, 11, 24)))
    outcomes = await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids, town.activity_id, [THURSDAY]
    )
    assert [o.outcome for o in outcomes] == [Outcome.CONFIRMED, Outcome.CONFIRMED]
    async with portal.sessions() as session:
        actions = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor)
                .where(AuditEntry.entity == "document")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert actions[-2:] == [("reclassify_document", "staff:7"), ("review_document", "staff:7")]

    # An absence's medical certificate stays one.
    certificate = await service.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
    )
    absences = AbsenceService(portal.sessions)
    [absence] = await absences.report(
        town.guardian, town.child_ids[:1], THURSDAY, THURSDAY, AbsenceReason.ILLNESS
    )
    await absences.attach_certificate(town.guardian, absence.id, certificate.id)
    with pytest.raises(InvalidReclassification):
        await service.reclassify(Actor.staff(7), certificate.id, DocumentType.HEALTH_FORM)


async def test_the_command_line_reads_types_by_code_or_french_name(portal):
    settings = portal.settings
    status, _, err = await staff_command_aside(
        settings, "reclassify", "document", "99", "fiche sanitaire"
    )
    assert (status, err) == (2, "No document #99.\n")
    status, _, err = await staff_command_aside(
        settings, "accept", "document", "99", "--type", "fiche"
    )
    assert status == 2 and "unknown document type 'fiche'" in err
    status, _, err = await staff_command_aside(
        settings, "accept", "certificate", "1", "--type", "Carnet de vaccination"
    )
    assert (status, err) == (2, "--type is for documents: a certificate stays a certificate.\n")
