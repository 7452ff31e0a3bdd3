"""Absences excused by an accepted certificate are not billed; the balance adds up."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from store.absences import AbsenceService, InvalidAbsence
from store.actors import AccessDenied, Actor
from store.billing import BillingService, InvoiceStatus
from store.bookings import BookingService
from store.documents import DocumentFolder, DocumentService
from store.importer import import_file
from store.models import Family, Invoice, InvoiceLine, Payment
from store.models.enums import AbsenceReason, AbsenceStatus, DocumentType
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"

DAYS = [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16)]
PDF = tiny_pdf()
STAFF = Actor.staff(1)


@pytest.fixture
async def booked(sessions, clock):
    town = await build_town(sessions, DAYS, price_cents=500)
    clock.set(paris(date(2026, 11, 20)))
    await BookingService(sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS
    )
    return town


async def _certificate(sessions, tmp_path, town):
    documents = DocumentService(sessions, DocumentFolder(tmp_path / "docs"), 6_000_000)
    return await documents.add(
        town.guardian,
        town.family_id,
        DocumentType.MEDICAL_CERTIFICATE,
        PDF,
        child_id=town.child_ids[0],
    )


async def test_accepted_certificate_excuses_the_days_and_they_are_not_billed(
    sessions, booked, tmp_path
):
    absences = AbsenceService(sessions)
    billing = BillingService(sessions)
    today = date(2026, 12, 20)
    assert (
        await billing.balance(booked.guardian, booked.family_id, today)
    ).uninvoiced_cents == 1500
    [absence] = await absences.report(
        booked.guardian, booked.child_ids[:1], DAYS[0], DAYS[1], AbsenceReason.ILLNESS, "fièvre"
    )
    assert absence.days_marked == 2
    assert absence.status is AbsenceStatus.REPORTED
    certificate = await _certificate(sessions, tmp_path, booked)
    await absences.attach_certificate(booked.guardian, absence.id, certificate.id)
    assert await absences.decide(STAFF, absence.id, accept=True) == 2
    balance = await billing.balance(booked.guardian, booked.family_id, today)
    assert balance.uninvoiced_cents == 500
    [view] = await absences.family_absences(booked.guardian, booked.family_id)
    assert view.status is AbsenceStatus.EXCUSED and view.has_certificate


async def test_refused_certificate_leaves_the_days_billed(sessions, booked, tmp_path):
    absences = AbsenceService(sessions)
    [absence] = await absences.report(
        booked.guardian, booked.child_ids[:1], DAYS[0], DAYS[0], AbsenceReason.ILLNESS
    )
    certificate = await _certificate(sessions, tmp_path, booked)
    await absences.attach_certificate(booked.guardian, absence.id, certificate.id)
    await absences.decide(STAFF, absence.id, accept=False, note="illisible")
    balance = await BillingService(sessions).balance(booked.guardian, booked.family_id, DAYS[2])
    assert balance.uninvoiced_cents == 1500


async def test_absence_rules_refuse_bad_requests(sessions, booked):
    absences = AbsenceService(sessions)
    with pytest.raises(InvalidAbsence):
        await absences.report(
            booked.guardian, booked.child_ids[:1], DAYS[1], DAYS[0], AbsenceReason.FAMILY
        )
    with pytest.raises(AccessDenied):
        await absences.report(
            booked.other_guardian, booked.child_ids[:1], DAYS[0], DAYS[0], AbsenceReason.FAMILY
        )
    [absence] = await absences.report(
        booked.guardian, booked.child_ids[:1], DAYS[0], DAYS[0], AbsenceReason.FAMILY
    )
    with pytest.raises(InvalidAbsence):
        await absences.decide(STAFF, absence.id, accept=True)  # no certificate
    with pytest.raises(AccessDenied):
        await absences.decide(booked.guardian, absence.id, accept=False)


async def test_late_cancellation_is_billed_this_month(sessions, booked, clock):
    service = BookingService(sessions, clock)
    bookings = await service.family_bookings(booked.guardian, booked.family_id, DAYS[0], DAYS[0])
    clock.set(paris(DAYS[0], "08:00"))
    [result] = await service.cancel(booked.guardian, [bookings[0].id])
    assert result.outcome.value == "late_cancelled"
    balance = await BillingService(sessions).balance(booked.guardian, booked.family_id, DAYS[0])
    assert balance.uninvoiced_cents == 1500  # 2 confirmed days + the billed late cancellation


async def test_balance_invoices_and_detail(sessions, booked):
    async with sessions.begin() as session:
        invoice = Invoice(
            family_id=booked.family_id,
            number="FAC-1",
            issued_on=date(2026, 11, 5),
            due_on=date(2026, 11, 30),
            period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31),
            total_cents=2080,
            lines=[
                InvoiceLine(
                    position=1,
                    label="Restauration",
                    quantity=4,
                    unit_price_cents=310,
                    amount_cents=1240,
                ),
                InvoiceLine(
                    position=2,
                    label="CL Mercredis",
                    quantity=2,
                    unit_price_cents=420,
                    amount_cents=840,
                ),
            ],
        )
        session.add(invoice)
        await session.flush()
        session.add(
            Payment(
                family_id=booked.family_id,
                invoice_id=invoice.id,
                reference="P1",
                paid_on=date(2026, 11, 10),
                amount_cents=1000,
                method="payfip",
            )
        )
    billing = BillingService(sessions)
    balance = await billing.balance(booked.guardian, booked.family_id, date(2026, 11, 24))
    assert (balance.invoiced_cents, balance.paid_cents, balance.due_cents) == (2080, 1000, 1080)
    assert balance.uninvoiced_cents == 0  # the December bookings are not this month
    [summary] = await billing.invoices(booked.guardian, booked.family_id, date(2026, 11, 24))
    assert summary.status is InvoiceStatus.PARTLY_PAID and summary.due_cents == 1080
    [overdue] = await billing.invoices(booked.guardian, booked.family_id, date(2026, 12, 1))
    assert overdue.status is InvoiceStatus.OVERDUE
    detail = await billing.invoice_detail(booked.guardian, summary.id, date(2026, 11, 24))
    assert [(line.label, line.amount_cents) for line in detail.lines] == [
        ("Restauration", 1240),
        ("CL Mercredis", 840),
    ]
    assert (detail.family_name, detail.family_code) == ("Famille F1", "F1")
    with pytest.raises(AccessDenied):
        await billing.invoice_detail(booked.other_guardian, summary.id, date(2026, 11, 24))
    with pytest.raises(AccessDenied):
        await billing.balance(booked.other_guardian, booked.family_id, date(2026, 11, 24))
    with pytest.raises(AccessDenied):
        await billing.overview(booked.other_guardian, booked.family_id, date(2026, 11, 24))
    assert await billing.overview(booked.guardian, booked.family_id, date(2026, 11, 24)) == (
        balance,
        [summary],
    )


async def test_a_credit_note_counts_as_a_credit_and_is_never_due(sessions):
    await import_file(sessions, DEMO)
    async with sessions() as session:
        family_id = await session.scalar(select(Family.id).where(Family.code == "F001"))
    assert family_id is not None
    guardian = Actor.guardian(1, family_id)
    balance, invoices = await BillingService(sessions).overview(
        guardian, family_id, date(2026, 11, 24)
    )
    credit = next(summary for summary in invoices if summary.number == "AVO-2026-10-001")
    assert credit.status is InvoiceStatus.CREDIT_NOTE and credit.due_cents == 0
    # Two invoices of 15,20 €, a credit note of 0,80 €, 23,20 € paid.
    assert (balance.invoiced_cents, balance.paid_cents) == (2960, 2320)
