"""A family's export: a parseable ZIP with every section, its documents byte for byte, and
nothing of another family."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from store.actors import AccessDenied, Actor
from store.documents import DocumentFolder, DocumentService
from store.family_export import ExportTooLarge, FamilyExport
from store.family_rights import ERASURE_NOTICE, FamilyRights
from store.models import (
    AuditEntry,
    Child,
    Document,
    ErasureRequest,
    Invoice,
    InvoiceLine,
    OutboxItem,
    Payment,
)
from store.models.enums import DocumentType, RequestStatus
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.family_file_setup import ALLERGY, set_health
from tests.helpers import FakeClock, build_town, paris

SECTIONS = {
    "LISEZMOI.txt",
    "famille.json",
    "inscriptions.json",
    "reservations.json",
    "absences.json",
    "factures.json",
    "messages.json",
    "demandes.json",
    "documents.json",
}


@pytest.fixture
async def setup(sessions, tmp_path):
    town = await build_town(sessions, [])
    documents = DocumentService(sessions, DocumentFolder(tmp_path / "docs"), max_bytes=100_000)
    await set_health(sessions, town.child_ids[0])
    async with sessions.begin() as session:
        for family_id, number in ((town.family_id, "F-1"), (town.other_family_id, "F-2")):
            invoice = Invoice(
                family_id=family_id,
                number=number,
                issued_on=date(2026, 10, 1),
                due_on=date(2026, 10, 31),
                period_start=date(2026, 9, 1),
                period_end=date(2026, 9, 30),
                total_cents=1230,
            )
            invoice.lines = [
                InvoiceLine(
                    position=1,
                    label="Cantine",
                    quantity=3,
                    unit_price_cents=410,
                    amount_cents=1230,
                )
            ]
            session.add(invoice)
            await session.flush()
            session.add(
                Payment(
                    family_id=family_id,
                    invoice_id=invoice.id,
                    reference=f"P-{number}",
                    paid_on=date(2026, 10, 5),
                    amount_cents=1230,
                    method="card",
                )
            )
    return town, documents


async def test_export_is_complete_and_holds_only_that_family(setup, sessions):
    town, documents = setup
    pdf, png = tiny_pdf(), tiny_png()
    mine = await documents.add(town.guardian, town.family_id, DocumentType.INSURANCE, pdf)
    other = await documents.add(town.other_guardian, town.other_family_id, DocumentType.OTHER, png)
    export = FamilyExport(sessions, documents, FakeClock(paris(date(2026, 11, 2))))

    archive = await export.build(town.guardian, town.family_id)

    with zipfile.ZipFile(io.BytesIO(archive.content)) as unzipped:
        names = set(unzipped.namelist())
        assert names >= SECTIONS
        assert names - SECTIONS == {f"documents/{mine.id}-{mine.file_name}"}
        assert unzipped.read(f"documents/{mine.id}-{mine.file_name}") == pdf
        household = json.loads(unzipped.read("famille.json"))
        bills = json.loads(unzipped.read("factures.json"))
        docs = json.loads(unzipped.read("documents.json"))
        every_text = "".join(unzipped.read(n).decode() for n in SECTIONS)
    assert household["family"]["id"] == town.family_id
    assert {c["id"] for c in household["children"]} == set(town.child_ids)
    assert ALLERGY in [c["allergies"] for c in household["children"]]
    assert [i["number"] for i in bills["invoices"]] == ["F-1"]
    assert bills["invoices"][0]["total_euros"] == "12.30"
    assert bills["invoices"][0]["issued_on"] == "2026-10-01"
    assert [p["reference"] for p in bills["payments"]] == ["P-F-1"]
    assert [d["id"] for d in docs] == [mine.id] and "storage_key" not in docs[0]
    assert "F-2" not in every_text and "Jade" not in every_text and other.id != mine.id
    assert archive.documents == 1 and archive.missing_documents == 0


async def test_another_family_and_strangers_are_refused(setup, sessions):
    town, documents = setup
    export = FamilyExport(sessions, documents, FakeClock(paris(date(2026, 11, 2))))
    with pytest.raises(AccessDenied):
        await export.build(town.other_guardian, town.family_id)
    staff = await export.build(Actor.system(), town.family_id)
    assert staff.content


async def test_too_large_for_telegram_is_said(setup, sessions):
    town, documents = setup
    await documents.add(town.guardian, town.family_id, DocumentType.INSURANCE, tiny_pdf())
    export = FamilyExport(sessions, documents, FakeClock(paris(date(2026, 11, 2))), limit=100)
    with pytest.raises(ExportTooLarge):
        await export.build(town.guardian, town.family_id)
    assert (await export.build(town.guardian, town.family_id, check_size=False)).content


async def test_erasure_keeps_accounting_and_leaves_other_families_alone(setup, sessions, tmp_path):
    town, documents = setup
    await set_health(sessions, town.child_ids[0])
    await set_health(sessions, town.other_child_id)
    mine = await documents.add(town.guardian, town.family_id, DocumentType.INSURANCE, tiny_pdf())
    theirs = await documents.add(
        town.other_guardian, town.other_family_id, DocumentType.OTHER, tiny_png()
    )
    clock = FakeClock(paris(date(2026, 11, 2)))
    rights = FamilyRights(sessions, documents, clock)
    with pytest.raises(AccessDenied):
        await rights.ask_erasure(town.other_guardian, town.family_id)
    asked = await rights.ask_erasure(town.guardian, town.family_id)
    assert (await rights.ask_erasure(town.guardian, town.family_id)).already
    with pytest.raises(AccessDenied):
        await rights.erase(town.guardian, town.family_id)
    [pending] = await rights.pending(Actor.system())
    assert pending.request_id == asked.request_id

    erased = await rights.erase(Actor.system(), town.family_id)

    assert erased.documents == 1 and erased.children == 2
    async with sessions() as session:
        children = {c.id: c for c in await session.scalars(select(Child))}
        invoices = list(await session.scalars(select(Invoice.number).order_by(Invoice.number)))
        payments = list(await session.scalars(select(Payment.reference)))
        documents_left = list(await session.scalars(select(Document.id)))
        [request] = await session.scalars(select(ErasureRequest))
        audit = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "family.erased"))
        ).one()
        outbox = list(await session.scalars(select(OutboxItem.kind)))
    assert all(children[c].allergies is None for c in town.child_ids)
    assert children[town.other_child_id].allergies == ALLERGY
    assert invoices == ["F-1", "F-2"] and sorted(payments) == ["P-F-1", "P-F-2"]
    assert documents_left == [theirs.id] and mine.id not in documents_left
    assert len(list((tmp_path / "docs").iterdir())) == 1
    assert request.status is RequestStatus.ACCEPTED
    assert ALLERGY not in json.dumps(audit.details) and "Lucas" not in json.dumps(audit.details)
    assert outbox.count(ERASURE_NOTICE) == 1
    assert await rights.pending(Actor.system()) == []
