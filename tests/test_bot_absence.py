"""Reporting absences in the chat, end to end: certificate, billing, staff decisions, lists."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.runner import running_bot
from store.absences import AbsenceService
from store.actors import Actor
from store.billing import BillingService
from store.bookings import BookingService
from store.documents import DocumentFolder, DocumentService
from store.models import Absence, Document, Service
from store.models.enums import (
    AbsenceReason,
    AbsenceStatus,
    DocumentSource,
    DocumentStatus,
    DocumentType,
)
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import (
    EXE_AS_PDF,
    speak_english,
    tiny_pdf,
    tiny_png,
)
from tests.helpers import build_town, paris

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]
DAY_OF_ABSENCE = date(2026, 12, 9)


async def _town_with_bookings(portal, clock):
    """Lucas booked on 2 and 9 December; the clock on the morning of the 9th."""
    town = await build_town(portal.sessions, WEDNESDAYS)
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[:2]
    )
    clock.set(paris(DAY_OF_ABSENCE, "08:00"))
    return town


async def _uninvoiced(portal, town) -> int:
    balance = await BillingService(portal.sessions).balance(
        town.guardian, town.family_id, DAY_OF_ABSENCE
    )
    return balance.uninvoiced_cents


async def _absences(portal) -> list[Absence]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(Absence).order_by(Absence.id)))


async def test_illness_with_a_photo_then_accepted_is_not_billed(portal, telegram, bot, clock):
    town = await _town_with_bookings(portal, clock)
    assert await _uninvoiced(portal, town) == 820
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/absence")
    assert "Pour quel enfant" in (await parent.next_message()).text
    await parent.tap("Lucas")
    question = await parent.next_message()
    assert "Quel jour" in question.text and "Aujourd'hui" in question.buttons
    await parent.send_text("du 2 au 9 décembre")
    reasons = await parent.next_message()
    assert "Lucas, du mer. 2 déc. au mer. 9 déc." in reasons.text
    await parent.tap("🤒 Maladie")
    ask = await parent.next_message()
    assert "Certificat médical" in ask.text and "6 Mo maximum" in ask.text
    await parent.send_photo(tiny_png())
    recap = await parent.next_message()
    for line in (
        "Pour : Lucas",
        "Jours : du mer. 2 déc. au mer. 9 déc.",
        "Raison : maladie",
        "Certificat médical : joint (photo)",
    ):
        assert line in recap.text
    await parent.tap("✅ Confirmer")
    done = await parent.next_message()
    [absence] = await _absences(portal)
    period = "du mer. 2 déc. au mer. 9 déc."
    assert f"Absence de Lucas enregistrée ({period}) — référence {absence.reference}" in done.text
    assert "2 jours réservés sont marqués absents" in done.text
    assert "certificat médical est transmis" in done.text
    async with portal.sessions() as session:
        certificate = await session.get(Document, absence.certificate_id)
    assert certificate.doc_type is DocumentType.MEDICAL_CERTIFICATE
    assert certificate.source is DocumentSource.TELEGRAM
    assert certificate.child_id == town.child_ids[0]
    assert certificate.content_type == "image/png"
    assert absence.reason is AbsenceReason.ILLNESS and absence.reason_detail is None
    assert await _uninvoiced(portal, town) == 820  # billed until staff accept the certificate

    parent.mark()
    await AbsenceService(portal.sessions).decide(Actor.staff(1), absence.id, accept=True)
    notice = await parent.wait_for_message(lambda m: "excusée" in (m.text or ""))
    assert "L'absence de Lucas (du mer. 2 déc. au mer. 9 déc." in notice.text
    assert absence.reference in notice.text and "ne seront pas facturés" in notice.text
    assert await _uninvoiced(portal, town) == 0


async def test_in_english_with_a_pdf_then_refused_stays_billed(portal, telegram, bot, clock):
    town = await _town_with_bookings(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/absence")
    assert "For which child" in (await parent.next_message()).text
    await parent.tap("Lucas")
    assert "Which day? Tap “Today”" in (await parent.next_message()).text
    await parent.send_text("9 December")
    reasons = await parent.next_message()
    assert "Lucas, Wed 9 Dec" in reasons.text and "What is the reason?" in reasons.text
    await parent.tap("🤒 Illness")
    assert "6 MB at most" in (await parent.next_message()).text
    await parent.send_document(tiny_pdf(), "certificate.pdf", "application/pdf")
    recap = await parent.next_message()
    assert "Days: Wed 9 Dec" in recap.text
    assert "Medical certificate: attached (certificate.pdf)" in recap.text
    await parent.tap("✅ Confirm")
    done = await parent.next_message()
    [absence] = await _absences(portal)
    assert f"Lucas's absence recorded (Wed 9 Dec) — reference {absence.reference}" in done.text
    assert "1 booked day is marked absent." in done.text

    parent.mark()
    await AbsenceService(portal.sessions).decide(
        Actor.staff(1), absence.id, accept=False, note="Scan illisible <b>"
    )
    notice = await parent.wait_for_message(lambda m: "not excused" in (m.text or ""))
    assert "Lucas's absence (Wed 9 Dec, reference" in notice.text
    assert "still billed" in notice.text
    assert "Note from the service: Scan illisible <b>" in notice.text  # escaped, shown as typed
    assert await _uninvoiced(portal, town) == 820
    async with portal.sessions() as session:
        status = await session.scalar(select(Document.status))
    assert status is DocumentStatus.REJECTED


async def test_a_day_without_booking_is_recorded_and_said_so(portal, telegram, bot):
    town = await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    await forge_tap(telegram, parent, parent.last_message, "menu:absence")  # the menu's button
    question = await parent.next_message()  # an only child: no child question
    assert "Signaler une absence — Jade" in question.text
    await parent.tap("Aujourd'hui")
    reasons = await parent.next_message()
    assert "Jade, mar. 24 nov." in reasons.text
    await parent.tap("👪 Raison familiale")
    recap = await parent.next_message()
    assert "Raison : raison familiale" in recap.text
    assert "Certificat médical : aucun" in recap.text
    assert "restent facturés" in recap.text
    await parent.tap("✅ Confirmer")
    done = await parent.next_message()
    assert "Aucun jour réservé à ces dates" in done.text
    assert "restent facturés" not in done.text
    [absence] = await _absences(portal)
    assert (absence.child_id, absence.start, absence.end) == (
        town.other_child_id,
        date(2026, 11, 24),
        date(2026, 11, 24),
    )


async def test_certificate_later_gives_the_address_and_each_reference(portal, telegram, bot):
    await build_town(portal.sessions, WEDNESDAYS)
    async with portal.sessions.begin() as session:
        session.add(
            Service(code="family_file", name="Dossier famille", email="dossier@montclar.example")
        )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.tap("Tous mes enfants")
    await parent.next_message()
    await parent.send_text("demain")
    await parent.next_message()
    await parent.tap("🤒 Maladie")
    await parent.next_message()
    await parent.tap("Je l'enverrai plus tard")
    recap = await parent.next_message()
    assert "Pour : Lucas, Emma" in recap.text or "Pour : Emma, Lucas" in recap.text
    assert "à envoyer plus tard par e-mail à documents@portail-famille.example" in recap.text
    await parent.tap("✅ Confirmer")
    done = await parent.next_message()
    absences = await _absences(portal)
    assert len(absences) == 2 and all(a.certificate_id is None for a in absences)
    assert all(a.start == date(2026, 11, 25) for a in absences)
    references = ", ".join(a.reference for a in absences)
    address = "documents@portail-famille.example"
    assert f"Envoyez le certificat médical à {address} en indiquant {references}" in done.text
    assert done.text.count("Aucun jour réservé") == 2


async def test_bad_files_and_text_are_explained_and_nothing_is_stored(
    portal, telegram, bot, tmp_path
):
    portal.settings.max_document_bytes = 1024 * 1024
    await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.tap("Aujourd'hui")
    await parent.next_message()
    await parent.tap("🤒 Maladie")
    assert "1 Mo maximum" in (await parent.next_message()).text

    await parent.send_document(b"%PDF-1.4\n" + b"0" * (1024 * 1024), "scan.pdf")
    assert "Ce fichier est trop lourd : 1 Mo maximum" in (await parent.next_message()).text
    assert telegram.calls_to("getFile") == []  # refused before any download
    await parent.send_document(EXE_AS_PDF, "certificat.pdf", "application/pdf")
    assert "ni un PDF, ni une image JPG ou PNG" in (await parent.next_message()).text
    await parent.send_document(b"", "vide.pdf", "application/pdf")
    assert "Ce fichier est vide" in (await parent.next_message()).text
    await parent.send_text("Je l'apporterai à l'école")
    answer = await parent.next_message()
    assert "J'attends un fichier" in answer.text and "Je l'enverrai plus tard" in answer.text

    await parent.tap("Je l'enverrai plus tard")
    recap = await parent.next_message()
    assert "documents@portail-famille.example" in recap.text  # the inbound server files it
    await parent.tap("✖ Abandonner")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    assert await _absences(portal) == []
    docs = portal.settings.documents_dir
    assert not docs.exists() or list(docs.iterdir()) == []


async def test_typed_dates_are_asked_back_when_unclear(portal, telegram, bot, clock):
    await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(DAY_OF_ABSENCE, "08:00"))
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.send_text("mardi ou mercredi")
    question = await parent.next_message()
    assert "mardi 8 décembre ou mercredi 9 décembre" in question.text
    await parent.send_text("hier")
    assert "Jade, mar. 8 déc." in (await parent.next_message()).text


async def test_stale_forged_and_aborted(portal, telegram, bot):
    town = await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/absence")
    first = await parent.next_message()
    await forge_tap(telegram, parent, first, f"ab:child:{town.other_child_id}")
    assert "pas possible depuis votre compte" in (await parent.next_message()).text
    await parent.tap("Lucas", message=first)
    days = await parent.next_message()
    assert days.message_id == first.message_id  # navigation edits the same message
    today = days.button("Aujourd'hui")["callback_data"]
    await parent.send_command("/absence")  # a new flow: the old message is closed
    assert "fermé" in (await parent.next_message()).text and days.buttons == []
    await parent.next_message()
    answer = await forge_tap(telegram, parent, days, today)  # an old client's tap
    assert answer is not None and "plus valide" in answer.text
    await parent.tap("✖ Abandonner")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    answer = await forge_tap(telegram, parent, days, today)  # no flow any more
    assert answer is not None
    assert "plus valide" in (await parent.next_message()).text
    assert await _absences(portal) == []


async def test_my_absences_list_their_status(portal, telegram, bot, clock):
    town = await _town_with_bookings(portal, clock)
    service = AbsenceService(portal.sessions)
    lucas, emma = town.child_ids
    [excused] = await service.report(
        town.guardian, [lucas], WEDNESDAYS[0], WEDNESDAYS[0], AbsenceReason.ILLNESS
    )
    certificate = await DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 10_000
    ).add(town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf())
    await service.attach_certificate(town.guardian, excused.id, certificate.id)
    await service.decide(Actor.staff(1), excused.id, accept=True)
    [refused] = await service.report(
        town.guardian, [emma], WEDNESDAYS[1], WEDNESDAYS[1], AbsenceReason.OTHER
    )
    await service.decide(Actor.staff(1), refused.id, accept=False)
    [reported] = await service.report(
        town.guardian, [lucas], date(2026, 12, 14), date(2026, 12, 15), AbsenceReason.FAMILY
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/mesabsences")
    listing = await parent.wait_for_message(lambda m: "Mes absences" in (m.text or ""))
    assert (
        f"Lucas, du lun. 14 déc. au mar. 15 déc. — raison familiale — ⏳ signalée · "
        f"{reported.reference}" in listing.text
    )
    assert f"Emma, mer. 9 déc. — autre raison — ❌ refusée (facturée) · {refused.reference}" in (
        listing.text
    )
    assert (
        f"Lucas, mer. 2 déc. — maladie, certificat joint — ✅ excusée (non facturée) · "
        f"{excused.reference}" in listing.text
    )
    await speak_english(portal, parent)
    await forge_tap(telegram, parent, listing, "menu:absences")
    listing = await parent.wait_for_message(lambda m: "My absences" in (m.text or ""))
    assert "❌ refused (billed)" in listing.text and "✅ excused (not billed)" in listing.text
    await parent.tap("🤒 Report an absence")
    assert "For which child" in (await parent.next_message()).text
    statuses = {a.status for a in await _absences(portal)}
    assert statuses == set(AbsenceStatus)


async def test_a_report_in_progress_survives_a_restart(portal, telegram, clock):
    town = await _town_with_bookings(portal, clock)
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        await parent.send_command("/absence")
        await parent.next_message()
        await parent.tap("Lucas")
        await parent.next_message()
        await parent.send_text("aujourd'hui")
        await parent.next_message()
        await parent.tap("🤒 Maladie")
        await parent.next_message()
        await parent.send_document(tiny_pdf(), "certificat.pdf")
        recap = await parent.next_message()
    async with running_bot(portal, poll_timeout=1):
        await parent.tap("✅ Confirmer", message=recap)
        done = await parent.next_message()
    assert "1 jour réservé est marqué absent" in done.text
    [absence] = await _absences(portal)
    assert absence.certificate_id is not None
    assert await _uninvoiced(portal, town) == 820


async def test_an_unanswered_report_times_out_kindly(portal, telegram):
    await build_town(portal.sessions, WEDNESDAYS)
    portal.settings.conversation_timeout_seconds = 1
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
        await parent.send_command("/absence")
        await parent.next_message()
        notice = await parent.wait_for_message(lambda m: "Sans réponse" in (m.text or ""), 10)
    assert "Rien n'a été modifié" in notice.text
