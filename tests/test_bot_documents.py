"""Documents in the chat, end to end: what is missing, sending one, checks, staff review."""

from __future__ import annotations

from sqlalchemy import select

from store.actors import Actor
from store.documents import DocumentFolder, DocumentService
from store.models import Document
from store.models.enums import DocumentSource, DocumentStatus, DocumentType
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import (
    EXE_AS_PDF,
    speak_english,
    tiny_pdf,
    tiny_png,
)
from tests.helpers import build_town

MEGABYTE = 1024 * 1024


async def _documents(portal) -> list[Document]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(Document).order_by(Document.id)))


def _review_service(portal) -> DocumentService:
    folder = DocumentFolder(portal.settings.documents_dir)
    return DocumentService(portal.sessions, folder, portal.settings.max_document_bytes)


async def test_missing_documents_then_send_one_for_a_child(portal, telegram, bot, tmp_path):
    town = await build_town(portal.sessions, [], required_documents=["vaccination_record"])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/documents")
    screen = await parent.next_message()
    assert "Mes documents" in screen.text and "Aucun document envoyé" in screen.text
    assert "À fournir" in screen.text
    assert "carnet de vaccination pour Emma — bloque : CL Mercredis" in screen.text
    assert "carnet de vaccination pour Lucas — bloque : CL Mercredis" in screen.text
    await parent.tap("➕ Envoyer un document")
    kinds = await parent.next_message()
    assert kinds.message_id == screen.message_id  # navigation edits the same message
    # What the activities require (here a vaccination record), plus the general documents.
    assert kinds.buttons == [
        "Justificatif de domicile",
        "Attestation de quotient familial CAF",
        "Carnet de vaccination",
        "Certificat médical",
        "Autre document",
        "✖ Abandonner",
    ]
    await parent.tap("Carnet de vaccination")
    owners = await parent.next_message()
    assert "Pour qui ?" in owners.text
    assert owners.buttons == ["Toute la famille", "Emma", "Lucas", "✖ Abandonner"]
    await parent.tap("Emma")
    ask = await parent.next_message()
    assert "Carnet de vaccination — Emma" in ask.text and "6 Mo maximum" in ask.text
    await parent.send_photo(tiny_png())
    done = await parent.next_message()
    assert "Bien reçu : carnet de vaccination — Emma (photo)" in done.text
    [document] = await _documents(portal)
    assert (document.doc_type, document.child_id, document.source, document.status) == (
        DocumentType.VACCINATION_RECORD,
        town.child_ids[1],
        DocumentSource.TELEGRAM,
        DocumentStatus.PENDING,
    )
    stored = [path.name for path in portal.settings.documents_dir.iterdir()]
    assert stored == [document.storage_key]

    await parent.tap("📎 Mes documents")
    screen = await parent.next_message()
    assert "• carnet de vaccination — Emma — ⏳ en attente de validation (envoyé le" in screen.text
    assert "— dès sa validation, débloquera : CL Mercredis" in screen.text
    assert "pour Emma" not in screen.text  # sent: no longer listed as missing
    assert "carnet de vaccination pour Lucas — bloque : CL Mercredis" in screen.text

    parent.mark()
    await _review_service(portal).review(Actor.staff(1), document.id, accept=True)
    notice = await parent.wait_for_message(lambda m: "accepté" in (m.text or ""))
    assert "Le service a accepté votre document : carnet de vaccination (Emma)." in notice.text
    await parent.send_command("/documents")
    screen = await parent.next_message()
    assert "carnet de vaccination — Emma — ✅ accepté" in screen.text
    assert "pour Emma" not in screen.text


async def test_in_english_a_household_document_then_rejected(portal, telegram, bot):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    await speak_english(portal, parent)
    await parent.send_command("/documents")
    screen = await parent.next_message()
    assert "My documents" in screen.text and "No document sent yet." in screen.text
    assert "Missing" not in screen.text
    await parent.tap("➕ Send a document")
    await parent.next_message()
    await parent.tap("Proof of address")
    ask = await parent.next_message()  # a household document: no "for whom?" question
    assert "Proof of address — family" in ask.text and "6 MB at most" in ask.text
    await parent.send_document(tiny_pdf(), "domicile.pdf", "application/pdf")
    done = await parent.next_message()
    assert "Received: proof of address — family (domicile.pdf)." in done.text
    [document] = await _documents(portal)
    assert document.child_id is None and document.original_name == "domicile.pdf"
    assert document.content_type == "application/pdf"

    parent.mark()
    await _review_service(portal).review(
        Actor.staff(1), document.id, accept=False, note="Older than 3 months"
    )
    notice = await parent.wait_for_message(lambda m: "did not accept" in (m.text or ""))
    assert "The service did not accept your document: proof of address." in notice.text
    assert "Note from the service: Older than 3 months" in notice.text
    await parent.tap("☰ Menu", message=done)
    await forge_tap(telegram, parent, await parent.next_message(), "menu:documents")
    screen = await parent.next_message()
    assert "• proof of address — family — ❌ refused (sent on" in screen.text


async def test_bad_files_and_text_are_explained_and_nothing_is_stored(
    portal, telegram, bot, tmp_path
):
    portal.settings.max_document_bytes = 2 * MEGABYTE
    await build_town(portal.sessions, [], required_documents=["insurance"])
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    await parent.send_command("/documents")
    await parent.next_message()
    await parent.tap("➕ Envoyer un document")
    await parent.next_message()
    await parent.tap("Attestation d'assurance")
    await parent.next_message()
    await parent.tap("Jade")
    assert "2 Mo maximum" in (await parent.next_message()).text

    await parent.send_document(b"%PDF-1.4\n" + bytes(2 * MEGABYTE), "assurance.pdf")
    assert "Ce fichier est trop lourd : 2 Mo maximum" in (await parent.next_message()).text
    await parent.send_document(EXE_AS_PDF, "assurance.pdf", "application/pdf")
    assert "ni un PDF, ni une image JPG ou PNG" in (await parent.next_message()).text
    await parent.send_text("je l'envoie demain")
    answer = await parent.next_message()
    assert "J'attends un fichier" in answer.text and "plus tard" not in answer.text
    assert len(telegram.calls_to("getFile")) == 1  # only the renamed program was downloaded

    portal.settings.max_document_bytes = 64 * MEGABYTE  # beyond what a bot may download
    await parent.send_document(b"%PDF-1.4\n" + bytes(21 * MEGABYTE), "scan.pdf")
    assert "Ce fichier est trop lourd : 20 Mo maximum" in (await parent.next_message()).text
    assert len(telegram.calls_to("getFile")) == 1  # refused before any download
    await parent.send_command("/abandon")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    assert await _documents(portal) == []
    docs = portal.settings.documents_dir
    assert not docs.exists() or list(docs.iterdir()) == []


async def test_stale_forged_and_aborted(portal, telegram, bot):
    town = await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/documents")
    await parent.next_message()
    await parent.tap("➕ Envoyer un document")
    await parent.next_message()
    await parent.tap("Certificat médical")
    owners = await parent.next_message()
    await forge_tap(telegram, parent, owners, f"dc:owner:{town.other_child_id}")
    assert "pas possible depuis votre compte" in (await parent.next_message()).text
    lucas = owners.button("Lucas")["callback_data"]
    await parent.send_command("/documents")  # the flow in progress is closed
    assert "Envoi de document : fermé" in (await parent.next_message()).text
    screen = await parent.next_message()
    await parent.tap("➕ Envoyer un document", message=screen)  # a new flow
    await parent.next_message()
    answer = await forge_tap(telegram, parent, owners, lucas)
    assert answer is not None and "plus valide" in answer.text
    await parent.send_photo(tiny_png())  # no file expected at this step
    assert "Utilisez les boutons" in (await parent.next_message()).text
    await parent.tap("✖ Abandonner")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    answer = await forge_tap(telegram, parent, owners, lucas)  # no flow any more
    assert answer is not None
    assert "plus valide" in (await parent.next_message()).text
    assert await _documents(portal) == []
