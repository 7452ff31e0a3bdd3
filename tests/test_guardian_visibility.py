"""What each guardian sees (separated parents): two guardians of one family, one whose account
the family-file service set to `limited`. Driving the real bot through the local Bot API, the
limited one sees no health detail in any chat view (family file, absences, documents, requests,
the export ZIP, a certificate's notice) while the other does; the store refuses the limited
one's health reads; the staff command sets it, audited, and the guardian is told."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import handlers.email_notices  # noqa: F401  (registers the mail notices)
from conversations.kit.notices import render
from fake_telegram.models import ChatMessage
from fake_telegram.users import FakeUser
from store.actors import AccessDenied, Actor, NotFound
from store.family_records import ALLERGIES
from store.importer import import_file
from store.models import AuditEntry, Guardian, OutboxItem
from store.models.enums import AbsenceReason, DocumentType, GuardianVisibility
from store.outbox import Delivery
from store.visibility import HealthHidden, VisibilityService
from tests.chat_helpers import linked_parent
from tests.enrolment_helpers import CENTRES_STAFF, FILE_STAFF, EnrolmentTown, build_enrolment_town
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.family_file_setup import ALLERGY, set_health
from tests.staff_helpers import staff_command_aside

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
FULL_EMAIL = "parent.f1@exemple.fr"
LIMITED_EMAIL = "alex.f1@exemple.fr"
ILLNESS_WORDS = "Gastro-entérite sévère"
STAFF_NOTE = "Gastro confirmée par le médecin"
# What a limited guardian must never read, whatever the screen.
HEALTH_WORDS = (
    ALLERGY,
    "Arachides",
    "Lefèvre",
    "Gastro",
    "maladie",
    "certificat",
    "fiche sanitaire",
    "PAI",
)
HIDDEN_LINE = (
    "Informations de santé : non visibles pour votre compte — voir avec le service Famille"
)


async def _family(portal) -> tuple[EnrolmentTown, Actor, int, dict[str, int]]:
    """Family F1: Lucas with his health details, a second guardian (Alex), an absence for
    illness with its certificate, a health form and a proof of address."""
    town = await build_enrolment_town(portal.sessions)
    await set_health(portal.sessions, town.lucas_id)
    async with portal.sessions.begin() as session:
        second = Guardian(
            family_id=town.family_id, first_name="Alex", last_name="F1", email=LIMITED_EMAIL
        )
        session.add(second)
        await session.flush()
        limited = Actor.guardian(second.id, town.family_id)
    full = town.guardian
    certificate = await portal.documents.add(
        full,
        town.family_id,
        DocumentType.MEDICAL_CERTIFICATE,
        tiny_pdf(),
        child_id=town.lucas_id,
    )
    form = await portal.documents.add(
        full, town.family_id, DocumentType.HEALTH_FORM, tiny_pdf(), child_id=town.lucas_id
    )
    proof = await portal.documents.add(
        full, town.family_id, DocumentType.PROOF_OF_ADDRESS, tiny_png()
    )
    [absence] = await portal.absences.report(
        full,
        [town.lucas_id],
        date(2026, 12, 1),
        date(2026, 12, 2),
        AbsenceReason.ILLNESS,
        ILLNESS_WORDS,
        certificate_id=certificate.id,
    )
    ids = {
        "certificate": certificate.id,
        "form": form.id,
        "proof": proof.id,
        "absence": absence.id,
    }
    return town, limited, second.id, ids


async def _screen(user: FakeUser, command: str, marker: str) -> ChatMessage:
    await user.send_command(command)
    return await user.wait_for_message(lambda m: marker in (m.text or m.caption or ""))


def _no_health(words: str) -> None:
    for word in HEALTH_WORDS:
        assert word not in words, word


async def _export(user: FakeUser) -> dict[str, bytes]:
    await user.send_command("/mesdonnees")
    await user.wait_for_message(lambda m: "Mes données" in (m.text or ""))
    await user.tap("📦 Télécharger nos données")
    await user.next_message()
    await user.tap("✅ Recevoir le fichier")
    sent = await user.wait_for_message(lambda m: m.document is not None)
    with zipfile.ZipFile(io.BytesIO(sent.document_bytes)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["caption"] = (sent.caption or "").encode()
    await user.wait_for_message(lambda m: "vous a été envoyé" in (m.text or ""))
    return files


async def test_a_limited_guardian_sees_no_health_detail_in_the_chat(portal, telegram, bot, clock):
    town, _, _, ids = await _family(portal)
    full = await linked_parent(portal, telegram, FULL_EMAIL)
    limited = await linked_parent(portal, telegram, LIMITED_EMAIL, first_name="Alex")

    # The family-file service sets it from the command line; Alex is told, neutrally.
    status, out, err = await staff_command_aside(
        portal.settings,
        "file",
        "visibility",
        "F1",
        LIMITED_EMAIL,
        "limited",
        "--as",
        FILE_STAFF,
    )
    assert status == 0, err
    assert "now sees limited" in out
    told = await limited.wait_for_message(lambda m: "ce que votre compte voit" in (m.text or ""))
    assert "informations de santé des enfants ne sont pas visibles" in told.text
    _no_health(told.text)

    # Mon dossier, Lucas's file.
    for user in (full, limited):
        await _screen(user, "/dossier", "Mon dossier")
        await user.tap("👧 Lucas")
    child_full = await full.wait_for_message(lambda m: "Lucas" in (m.text or ""))
    child_limited = await limited.wait_for_message(lambda m: "Lucas" in (m.text or ""))
    assert ALLERGY in child_full.text and "Dr Lefèvre" in child_full.text
    assert HIDDEN_LINE in child_limited.text
    _no_health(child_limited.text)
    # Nor may Alex ask to change a health field: the chat does not offer it.
    await limited.tap("✏️ Modifier la fiche de Lucas")
    fields = await limited.next_message()
    assert not any("Allergies" in b or "PAI" in b or "Médecin" in b for b in fields.buttons)
    await limited.tap("✖ Abandonner")
    await limited.next_message()

    # Mes absences: the days and the status, not the reason nor the certificate.
    absences_full = await _screen(full, "/mesabsences", "Mes absences")
    absences_limited = await _screen(limited, "/mesabsences", "Mes absences")
    assert "maladie" in absences_full.text and "certificat joint" in absences_full.text
    assert "motif non visible" in absences_limited.text and HIDDEN_LINE in absences_limited.text
    _no_health(absences_limited.text)

    # Mes documents: no certificate nor health form, the proof of address still there.
    documents_full = await _screen(full, "/documents", "Mes documents")
    documents_limited = await _screen(limited, "/documents", "Mes documents")
    assert "certificat médical" in documents_full.text
    assert "fiche sanitaire" in documents_full.text
    assert "justificatif de domicile" in documents_limited.text
    _no_health(documents_limited.text)

    # Mes demandes.
    requests_full = await _screen(full, "/demandes", "demandes")
    requests_limited = await _screen(limited, "/demandes", "demandes")
    assert "maladie" in requests_full.text
    _no_health(requests_limited.text)

    # The export ZIP: the limited one's leaves health out and says so.
    zip_full = await _export(full)
    clock.set(clock.now + timedelta(minutes=61))  # once an hour per family
    zip_limited = await _export(limited)
    assert ALLERGY in zip_full["famille.json"].decode()
    assert any(name.startswith("documents/") and "certificat" in name for name in zip_full)
    texts = [name for name, content in zip_limited.items() if name.endswith((".json", ".txt"))]
    everything = "\n".join([*zip_limited, *(zip_limited[name].decode() for name in texts)])
    for word in (ALLERGY, "Lefèvre", "Gastro", "illness", "medical_certificate", "health_form"):
        assert word not in everything, word
    assert not any("certificat" in name or "sanitaire" in name for name in zip_limited)
    assert "non visibles pour votre compte" in zip_limited["LISEZMOI.txt"].decode()
    assert "non visibles pour votre compte" in zip_limited["caption"].decode()
    household = json.loads(zip_limited["famille.json"])
    assert "allergies" not in household["children"][0]
    assert [d["doc_type"] for d in json.loads(zip_limited["documents.json"])] == [
        "proof_of_address"
    ]

    # Staff accept the certificate: both are told, only the full one of the certificate.
    file_staff = (await portal.staff.by_email(FILE_STAFF)).actor
    full.mark()
    limited.mark()
    await portal.absences.decide(file_staff, ids["absence"], True, note=STAFF_NOTE)
    notice_full = await full.wait_for_message(lambda m: "est excusée" in (m.text or ""))
    notice_limited = await limited.wait_for_message(lambda m: "est excusée" in (m.text or ""))
    assert "certificat" in notice_full.text and STAFF_NOTE in notice_full.text
    _no_health(notice_limited.text)
    assert "ne seront pas facturés" in notice_limited.text

    # A health document reviewed: the limited one is not told which one, nor the note.
    full.mark()
    limited.mark()
    await portal.documents.review(file_staff, ids["form"], True, "Fiche sanitaire avec PAI")
    review_full = await full.wait_for_message(lambda m: "accepté votre document" in (m.text or ""))
    review_limited = await limited.wait_for_message(
        lambda m: "accepté votre document" in (m.text or "")
    )
    assert "fiche sanitaire" in review_full.text
    _no_health(review_limited.text)

    # Every message Alex ever got from the bot.
    for message in limited.messages:
        for version in [message, *message.history]:
            _no_health(version.text or version.caption or "")


async def test_the_store_refuses_a_limited_guardians_health_reads(portal):
    town, limited, guardian_id, ids = await _family(portal)
    file_staff = (await portal.staff.by_email(FILE_STAFF)).actor
    service = VisibilityService(portal.sessions, portal.clock)

    # Only the family-file service sets it.
    for who in (limited, town.guardian, (await portal.staff.by_email(CENTRES_STAFF)).actor):
        with pytest.raises(AccessDenied):
            await service.set(who, "F1", LIMITED_EMAIL, GuardianVisibility.LIMITED)
    with pytest.raises(NotFound):  # a guardian of another family
        await service.set(file_staff, "F2", LIMITED_EMAIL, GuardianVisibility.LIMITED)
    set_ = await service.set(file_staff, "F1", LIMITED_EMAIL.upper(), GuardianVisibility.LIMITED)
    assert set_.changed and set_.visibility is GuardianVisibility.LIMITED
    again = await service.set(file_staff, "F1", LIMITED_EMAIL, GuardianVisibility.LIMITED)
    assert not again.changed
    async with portal.sessions() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "guardian.visibility")
            )
        )
        # Not linked to Telegram: nothing to tell in the chat.
        assert not list(
            await session.scalars(
                select(OutboxItem).where(OutboxItem.kind == "visibility_changed")
            )
        )
    assert [(e.actor, e.entity_id, e.details["visibility"]) for e in entries] == [
        (file_staff.label, guardian_id, "limited")
    ]
    assert [s.visibility.value for s in await service.of_family(file_staff, "F1")] == [
        "full",
        "limited",
    ]

    # Health reads as the limited guardian: refused, or left out.
    with pytest.raises(HealthHidden):
        await portal.documents.read(limited, ids["certificate"])
    with pytest.raises(HealthHidden):
        await portal.documents.view(limited, ids["form"])
    view, _ = await portal.documents.read(limited, ids["proof"])
    assert view.doc_type is DocumentType.PROOF_OF_ADDRESS
    listed = await portal.documents.family_documents(limited, town.family_id)
    assert [d.doc_type for d in listed] == [DocumentType.PROOF_OF_ADDRESS]
    child = await portal.family_file.child_file(limited, town.lucas_id)
    assert not child.health_shown and child.allergies is None and child.doctor is None
    with pytest.raises(HealthHidden):
        await portal.family_file.request_change(limited, ALLERGIES, "Rien", child_id=town.lucas_id)
    [absence] = await portal.absences.family_absences(limited, town.family_id)
    assert absence.reason is None and not absence.has_certificate and not absence.health_shown
    sections = await portal.family_export.sections(limited, town.family_id)
    assert "allergies" not in sections["famille.json"]["children"][0]
    assert "reason_detail" not in sections["absences.json"][0]

    # The other guardian, and staff, still read it all.
    full_child = await portal.family_file.child_file(town.guardian, town.lucas_id)
    assert full_child.allergies == ALLERGY
    [full_absence] = await portal.absences.family_absences(town.guardian, town.family_id)
    assert full_absence.reason is AbsenceReason.ILLNESS and full_absence.has_certificate
    await portal.documents.read(town.guardian, ids["certificate"])
    assert (await portal.family_file.child_file(file_staff, town.lucas_id)).allergies == ALLERGY

    # Back to full: the limited guardian reads health again.
    await service.set(file_staff, "F1", LIMITED_EMAIL, GuardianVisibility.FULL)
    assert (await portal.family_file.child_file(limited, town.lucas_id)).allergies == ALLERGY


async def test_the_staff_command_lists_and_refuses(portal):
    await _family(portal)
    status, out, _ = await staff_command_aside(portal.settings, "file", "visibility", "F1")
    assert status == 0
    assert f"{LIMITED_EMAIL}  Alex F1  full" in out
    status, _, err = await staff_command_aside(
        portal.settings,
        "file",
        "visibility",
        "F1",
        LIMITED_EMAIL,
        "limited",
        "--as",
        CENTRES_STAFF,
    )
    assert status == 2 and "Only staff of the family-file service" in err
    status, _, err = await staff_command_aside(
        portal.settings, "file", "visibility", "F1", LIMITED_EMAIL, "limited"
    )
    assert status == 2 and "--as" in err
    status, _, err = await staff_command_aside(
        portal.settings, "file", "visibility", "F2", LIMITED_EMAIL, "limited", "--as", FILE_STAFF
    )
    assert status == 2 and "No guardian" in err


async def test_the_import_sets_what_a_guardian_sees(sessions):
    await import_file(sessions, DEMO)
    async with sessions() as session:
        rows = {
            email: seen
            for email, seen in await session.execute(select(Guardian.email, Guardian.visibility))
        }
    assert rows["marc.bernard@exemple.fr"] is GuardianVisibility.LIMITED
    assert rows["julie.bernard@exemple.fr"] is GuardianVisibility.FULL
    assert rows["camille.martin@exemple.fr"] is GuardianVisibility.FULL


async def test_a_mailed_certificate_is_told_without_health_to_a_limited_guardian(portal):
    town, _, _, _ = await _family(portal)
    file_staff = (await portal.staff.by_email(FILE_STAFF)).actor
    await VisibilityService(portal.sessions).set(
        file_staff, "F1", LIMITED_EMAIL, GuardianVisibility.LIMITED
    )
    async with portal.sessions.begin() as session:
        for email, chat_id in ((FULL_EMAIL, 501), (LIMITED_EMAIL, 502)):
            guardian = await session.scalar(select(Guardian).where(Guardian.email == email))
            assert guardian is not None
            guardian.telegram_chat_id = chat_id
    payload = {
        "subject": "Certificat Gastro de Lucas",
        "received": [
            {"name": "certif-gastro.pdf", "type": "medical_certificate", "size": 2048},
            {"name": "edf.pdf", "type": "proof_of_address", "size": 4096},
        ],
        "refused": [],
        "not_taken": 0,
        "certificate_for": "ABS-7KQ9M2",
    }

    async def told(chat_id: int) -> str:
        delivery = Delivery(1, str(chat_id), "documents_received", payload, 0)
        notice = await render(portal, delivery, "fr")
        assert isinstance(notice, str)
        return notice

    full_text, limited_text = await told(501), await told(502)
    assert "Gastro" in full_text and "certificat médical" in full_text
    assert "ABS-7KQ9M2" in full_text
    _no_health(limited_text)
    assert "ABS-7KQ9M2" not in limited_text and "edf.pdf" in limited_text
    assert HIDDEN_LINE in limited_text
