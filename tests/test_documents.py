"""Documents are checked by content and size, stored privately, and kept within the family."""

from __future__ import annotations

import stat

import pytest

from store.actors import AccessDenied, Actor
from store.documents import DocumentFolder, DocumentRejected, DocumentService, RejectionReason
from store.models.enums import DocumentStatus, DocumentType
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.helpers import build_town

PDF = tiny_pdf()
PNG = tiny_png()


@pytest.fixture
async def town(sessions):
    return await build_town(sessions, [])


@pytest.fixture
def folder(tmp_path):
    return DocumentFolder(tmp_path / "documents")


async def test_document_is_stored_owner_only_under_a_name_we_chose(sessions, town, folder):
    service = DocumentService(sessions, folder, max_bytes=1000)
    view = await service.add(
        town.guardian, town.family_id, DocumentType.INSURANCE, PDF, original_name="../../etc/x.pdf"
    )
    [stored] = list(folder.root.iterdir())
    assert stored.name != "x.pdf" and ".." not in stored.name
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.root.stat().st_mode) == 0o700
    assert view.status is DocumentStatus.PENDING and view.content_type == "application/pdf"
    _, content = await service.read(town.guardian, view.id)
    assert content == PDF
    with pytest.raises(AccessDenied):
        await service.read(town.other_guardian, view.id)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", RejectionReason.EMPTY),
        (b"MZ\x90\x00 not a pdf at all", RejectionReason.WRONG_TYPE),
        (b"%PDF-" + b"x" * 2000, RejectionReason.TOO_LARGE),
    ],
)
async def test_bad_files_are_refused_and_nothing_is_stored(
    sessions, town, folder, content, reason
):
    service = DocumentService(sessions, folder, max_bytes=1000)
    with pytest.raises(DocumentRejected) as refused:
        await service.add(
            town.guardian, town.family_id, DocumentType.OTHER, content, original_name="scan.pdf"
        )
    assert refused.value.reason is reason
    assert not folder.root.exists() or list(folder.root.iterdir()) == []
    assert await service.family_documents(town.guardian, town.family_id) == []


async def test_another_family_cannot_file_or_list(sessions, town, folder):
    service = DocumentService(sessions, folder, max_bytes=1000)
    with pytest.raises(AccessDenied):
        await service.add(town.other_guardian, town.family_id, DocumentType.OTHER, PNG)
    with pytest.raises(AccessDenied):
        await service.add(
            town.guardian, town.family_id, DocumentType.OTHER, PNG, child_id=town.other_child_id
        )
    assert list(folder.root.iterdir()) == []
    with pytest.raises(AccessDenied):
        await service.family_documents(town.other_guardian, town.family_id)


async def test_required_documents_are_listed_with_what_they_block(sessions, folder):
    town = await build_town(sessions, [], required_documents=["vaccination_record"])
    service = DocumentService(sessions, folder, max_bytes=1000)
    missing = await service.missing_documents(town.guardian, town.family_id)
    assert {(m.child_id, m.doc_type, m.pending) for m in missing} == {
        (town.child_ids[0], "vaccination_record", False),
        (town.child_ids[1], "vaccination_record", False),
    }
    assert missing[0].blocked_activities == ["CL Mercredis"]
    view = await service.add(town.guardian, town.family_id, DocumentType.VACCINATION_RECORD, PDF)
    assert all(m.pending for m in await service.missing_documents(town.guardian, town.family_id))
    await service.review(Actor.staff(1), view.id, accept=True)
    assert await service.missing_documents(town.guardian, town.family_id) == []
