"""Relevé de compte, the read service and its PDF: operations by school year, running balance,
old balance carried over, and the same final figure as the balance view."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.kit.texts import CATALOG
from conversations.statement import method_words
from store.actors import AccessDenied, NotFound
from store.billing import BillingService, month_bounds
from store.invoice_pdf import Issuer
from store.models import Invoice, Payment
from store.models.enums import InvoiceKind
from store.statement import (
    OperationKind,
    StatementService,
    school_year_bounds,
    school_year_of,
)
from store.statement_pdf import LABELS, render_statement
from tests.helpers import Town, build_town

TODAY = date(2026, 11, 24)


def _invoice(
    family_id: int, number: str, issued: date, total: int, kind: InvoiceKind = InvoiceKind.INVOICE
) -> Invoice:
    start, end = month_bounds(issued.replace(day=1) - timedelta(days=1))
    return Invoice(
        family_id=family_id,
        number=number,
        issued_on=issued,
        due_on=issued + timedelta(days=20),
        period_start=start,
        period_end=end,
        total_cents=total,
        kind=kind,
    )


async def build_account(sessions: async_sessionmaker[AsyncSession]) -> Town:
    """F1's account: 20,00 € owed from 2025-2026; this year two invoices, a credit note, a
    payment by PayFiP for September and one by cheque; 16,70 € left to pay. F2 has one
    invoice."""
    town = await build_town(sessions, [date(2026, 12, 2)])
    family = town.family_id
    async with sessions.begin() as session:
        june = _invoice(family, "FAC-2026-06-001", date(2026, 7, 5), 3000)
        september = _invoice(family, "FAC-2026-09-001", date(2026, 10, 8), 1280)
        october = _invoice(family, "FAC-2026-10-001", date(2026, 11, 6), 2080)
        credit = _invoice(
            family, "AV-2026-11-001", date(2026, 11, 10), -410, InvoiceKind.CREDIT_NOTE
        )
        theirs = _invoice(town.other_family_id, "FAC-2026-10-002", date(2026, 11, 6), 900)
        session.add_all([june, september, october, credit, theirs])
        await session.flush()
        session.add_all(
            [
                Payment(
                    family_id=family,
                    invoice_id=june.id,
                    reference="PAY-2026-000",
                    paid_on=date(2026, 7, 20),
                    amount_cents=1000,
                    method="cheque",
                ),
                Payment(
                    family_id=family,
                    invoice_id=september.id,
                    reference="PAY-2026-001",
                    paid_on=date(2026, 10, 20),
                    amount_cents=1280,
                    method="payfip",
                ),
                Payment(
                    family_id=family,
                    invoice_id=None,
                    reference="PAY-2026-002",
                    paid_on=date(2026, 11, 15),
                    amount_cents=2000,
                    method="cheque",
                ),
            ]
        )
    return town


def test_school_years_run_from_september_to_august():
    assert school_year_of(date(2026, 9, 1)) == 2026
    assert school_year_of(date(2026, 8, 31)) == 2025
    assert school_year_bounds(2026) == (date(2026, 9, 1), date(2027, 8, 31))


async def test_running_balance_matches_the_balance_view(sessions):
    town = await build_account(sessions)
    statement = await StatementService(sessions).statement(town.guardian, town.family_id, TODAY)
    assert statement.year == 2026 and statement.years == [2026, 2025]
    assert statement.opening_cents == 2000
    assert [
        (o.day, o.kind, o.number, o.debit_cents, o.credit_cents, o.balance_cents, o.method)
        for o in statement.operations
    ] == [
        (date(2026, 10, 8), OperationKind.INVOICE, "FAC-2026-09-001", 1280, 0, 3280, None),
        (date(2026, 10, 20), OperationKind.PAYMENT, "PAY-2026-001", 0, 1280, 2000, "payfip"),
        (date(2026, 11, 6), OperationKind.INVOICE, "FAC-2026-10-001", 2080, 0, 4080, None),
        (date(2026, 11, 10), OperationKind.CREDIT_NOTE, "AV-2026-11-001", 0, 410, 3670, None),
        (date(2026, 11, 15), OperationKind.PAYMENT, "PAY-2026-002", 0, 2000, 1670, "cheque"),
    ]
    assert statement.operations[1].invoice_number == "FAC-2026-09-001"
    balance = await BillingService(sessions).balance(town.guardian, town.family_id, TODAY)
    assert statement.closing_cents == balance.due_cents == 1670


async def test_an_earlier_school_year(sessions):
    town = await build_account(sessions)
    statement = await StatementService(sessions).statement(
        town.guardian, town.family_id, TODAY, 2025
    )
    assert statement.opening_cents == 0
    assert [o.balance_cents for o in statement.operations] == [3000, 2000]
    assert statement.closing_cents == 2000
    with pytest.raises(NotFound):
        await StatementService(sessions).statement(town.guardian, town.family_id, TODAY, 2023)


async def test_a_family_without_operations_has_an_empty_statement(sessions):
    town = await build_town(sessions, [date(2026, 12, 2)])
    statement = await StatementService(sessions).statement(town.guardian, town.family_id, TODAY)
    assert (statement.opening_cents, statement.operations, statement.closing_cents) == (0, [], 0)
    assert statement.years == [2026]


async def test_another_familys_statement_is_refused(sessions):
    town = await build_account(sessions)
    with pytest.raises(AccessDenied):
        await StatementService(sessions).statement(town.guardian, town.other_family_id, TODAY)
    theirs = await StatementService(sessions).statement(
        town.other_guardian, town.other_family_id, TODAY
    )
    assert [o.number for o in theirs.operations] == ["FAC-2026-10-002"]


async def test_the_pdf_lists_every_operation_with_its_balance(sessions):
    town = await build_account(sessions)
    statement = await StatementService(sessions).statement(town.guardian, town.family_id, TODAY)
    labels = {key: CATALOG[f"statement_pdf.{key}"]["fr"] for key in LABELS}
    data = render_statement(
        statement,
        [f"Opération {o.number}" for o in statement.operations],
        issuer=Issuer("Ville de Montclar", "Régie Enfance"),
        labels=labels,
        language="fr",
        font=None,
    )
    printed = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    printed = printed.replace("\u00a0", " ").replace("\u202f", " ")
    for words in (
        "Ville de Montclar",
        "Relevé de compte 2026-2027",
        "Compte de Famille F1 (F1)",
        "Solde reporté 20,00 €",
        "Opération FAC-2026-09-001 12,80 € 32,80 €",
        "Opération AV-2026-11-001 4,10 € 36,70 €",
        "Opération PAY-2026-002 20,00 € 16,70 €",
        "16,70 €",
    ):
        assert words in printed
    with pytest.raises(ValueError):
        render_statement(
            statement, [], issuer=Issuer("V", "R"), labels=labels, language="fr", font=None
        )


def test_payment_methods_in_words():
    assert method_words("cheque", "fr") == "chèque"
    assert method_words("Direct-Debit", "en") == "direct debit"
    assert method_words("CESU", "fr") == "CESU"
    assert method_words("bon d'achat", "fr") == "bon d'achat"
    assert method_words("", "en") == "unspecified method"
