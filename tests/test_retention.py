"""Children's data past their retention are deleted, at the boundary day and not before:
certificates and the medical side of absences, older documents (the newest of a kind stays),
audit entries; files leave the storage with their rows; the purge is idempotent, runs once a
day among workers, and logs counts only."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select, update

from bot.retention_loop import purge_if_due
from store.documents import DocumentFolder, DocumentService
from store.models import Absence, AuditEntry, Document
from store.models.enums import AbsenceReason, AbsenceStatus, DocumentType
from store.retention import (
    Purged,
    RetentionRules,
    add_months,
    expired,
    purge,
    school_year_end,
)
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris

RULES = RetentionRules(certificate_months=12, default_document_months=24, audit_months=24)
PDF = tiny_pdf()
CHILD_WORDS = "Angine de Lucas, antibiotiques"


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def test_the_periods_count_from_the_end_of_the_school_year():
    assert school_year_end(date(2025, 6, 10)) == date(2025, 8, 31)
    assert school_year_end(date(2025, 9, 1)) == date(2026, 8, 31)
    assert add_months(date(2025, 8, 31), 12) == date(2026, 8, 31)
    assert add_months(date(2026, 3, 31), 11) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 3), -24) == date(2024, 12, 3)
    assert not expired(date(2025, 6, 10), 12, date(2026, 8, 31))
    assert expired(date(2025, 6, 10), 12, date(2026, 9, 1))


def test_document_months_are_read_per_type():
    rules = RetentionRules.parse(12, "36,proof_of_address=12", 24)
    assert rules.months_for(DocumentType.PROOF_OF_ADDRESS) == 12
    assert rules.months_for(DocumentType.INSURANCE) == 36
    assert rules.months_for(DocumentType.MEDICAL_CERTIFICATE) == 12
    with pytest.raises(ValueError, match="unknown document type"):
        RetentionRules.parse(12, "24,passport=3", 24)
    with pytest.raises(ValueError):
        RetentionRules.parse(12, "-1", 24)


async def _setup(sessions, tmp_path):
    """A certificate excusing an absence in June 2025; an absence with words and no
    certificate, the same month; two proofs of address (2023 and 2025); audit entries."""
    town = await build_town(sessions, [])
    folder = DocumentFolder(tmp_path / "documents")
    documents = DocumentService(sessions, folder, 10_000_000)
    add = documents.add
    certificate = await add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, PDF, review_notice=False
    )
    old_proof = await add(
        town.guardian, town.family_id, DocumentType.PROOF_OF_ADDRESS, PDF, review_notice=False
    )
    new_proof = await add(
        town.guardian, town.family_id, DocumentType.PROOF_OF_ADDRESS, PDF, review_notice=False
    )
    async with sessions.begin() as session:
        for document_id, received in (
            (certificate.id, date(2025, 6, 12)),
            (old_proof.id, date(2023, 10, 2)),
            (new_proof.id, date(2024, 1, 15)),
        ):
            await session.execute(
                update(Document).where(Document.id == document_id).values(created_at=at(received))
            )
        child = town.child_ids[0]
        session.add_all(
            [
                Absence(
                    family_id=town.family_id,
                    child_id=child,
                    start=date(2025, 6, 9),
                    end=date(2025, 6, 10),
                    reason=AbsenceReason.ILLNESS,
                    reason_detail=CHILD_WORDS,
                    status=AbsenceStatus.EXCUSED,
                    reference="ABS-OLD1",
                    certificate_id=certificate.id,
                    created_by="guardian:1",
                ),
                Absence(
                    family_id=town.family_id,
                    child_id=child,
                    start=date(2025, 9, 8),
                    end=date(2025, 9, 8),
                    reason=AbsenceReason.ILLNESS,
                    reason_detail="Fièvre",
                    status=AbsenceStatus.REPORTED,
                    reference="ABS-NEW1",
                    created_by="guardian:1",
                ),
                AuditEntry(
                    at=at(date(2024, 8, 30)), actor="system", action="old", entity="t", entity_id=1
                ),
                AuditEntry(
                    at=at(date(2024, 9, 2)),
                    actor="system",
                    action="recent",
                    entity="t",
                    entity_id=1,
                ),
            ]
        )
    keys = {
        "certificate": certificate,
        "old_proof": old_proof,
        "new_proof": new_proof,
    }
    async with sessions() as session:
        stored = dict((await session.execute(select(Document.id, Document.storage_key))).all())
    return documents, folder, {name: stored[view.id] for name, view in keys.items()}


async def _state(sessions):
    async with sessions() as session:
        types = sorted(t.value for t in await session.scalars(select(Document.doc_type)))
        absences = (
            await session.execute(
                select(
                    Absence.reference, Absence.reason, Absence.reason_detail, Absence.status
                ).order_by(Absence.reference)
            )
        ).all()
        audit = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.in_(("old", "recent")))
                .order_by(AuditEntry.id)
            )
        )
    return types, [tuple(row) for row in absences], audit


async def test_nothing_goes_the_day_before_and_each_thing_goes_on_its_day(
    sessions, tmp_path, caplog
):
    documents, folder, keys = await _setup(sessions, tmp_path)
    before = await _state(sessions)
    assert before[0] == ["medical_certificate", "proof_of_address", "proof_of_address"]

    # 31 August 2026: the certificate's year (2024-25) ended 12 months ago today: kept.
    assert await purge(sessions, documents.remove_files, paris(date(2026, 8, 31)), RULES) == (
        Purged(audit_entries=1)  # 30 August 2024 is more than 24 months before
    )
    types, absences, audit = await _state(sessions)
    assert types == before[0] and absences == before[1] and audit == ["recent"]

    # 1 September 2026: the certificate and the June absence's medical side go, the file too;
    # the old proof of address (2023-24, +24 months: 31 August 2026) goes, the newest stays.
    with caplog.at_level(logging.INFO):
        purged = await purge(sessions, documents.remove_files, paris(date(2026, 9, 1)), RULES)
    assert purged == Purged(certificates=1, documents=1, absence_reasons=1)
    types, absences, audit = await _state(sessions)
    assert types == ["proof_of_address"]
    assert absences == [
        ("ABS-NEW1", AbsenceReason.ILLNESS, "Fièvre", AbsenceStatus.REPORTED),
        ("ABS-OLD1", AbsenceReason.OTHER, None, AbsenceStatus.EXCUSED),  # still excused
    ]
    assert audit == ["recent"]  # 2 September 2024: 24 months tomorrow
    async with sessions() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(Absence)
                .where(Absence.certificate_id.is_not(None))
            )
            == 0
        )
    assert not (folder.root / keys["certificate"]).exists()
    assert not (folder.root / keys["old_proof"]).exists()
    assert (folder.root / keys["new_proof"]).exists()
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "1 certificate(s)" in logged
    assert CHILD_WORDS not in logged and "Lucas" not in logged

    # Again: nothing more (idempotent); a year later the September absence's words go too.
    assert (
        await purge(sessions, documents.remove_files, paris(date(2026, 9, 2)), RULES) == Purged()
    )
    later = await purge(sessions, documents.remove_files, paris(date(2027, 9, 1)), RULES)
    assert later == Purged(absence_reasons=1, audit_entries=1)
    assert (await _state(sessions))[0] == ["proof_of_address"]  # the newest stays, always


async def test_one_worker_a_day_purges(portal, clock):
    clock.set(paris(date(2026, 9, 1)))
    assert await purge_if_due(portal, "worker-a")
    assert not await purge_if_due(portal, "worker-b")  # the day's lease is worker-a's
    clock.set(paris(date(2026, 9, 2)))
    assert await purge_if_due(portal, "worker-b")  # a day later, whoever asks first
