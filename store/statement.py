"""Relevé de compte: a family's account by school year, operation by operation.

Invoices are debits, credit notes (negative totals) and payments credits; each operation is
followed by the balance after it. What was invoiced and paid before the school year is carried
over as the opening balance. The figures are those of `store.billing` (balance = invoiced −
paid, over every invoice and payment): the statement of the latest school year ends on the
balance view's amount due.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, NotFound
from store.models import Family, Invoice, Payment
from store.models.enums import InvoiceKind

SCHOOL_YEAR_STARTS = 9
"""A school year runs from 1 September to 31 August."""


def school_year_of(day: date) -> int:
    """The year a day's school year starts in: 2026 for any day from 1 Sep 2026 to 31 Aug 2027."""
    return day.year if day.month >= SCHOOL_YEAR_STARTS else day.year - 1


def school_year_bounds(year: int) -> tuple[date, date]:
    """First and last day of the school year starting in `year`."""
    return date(year, SCHOOL_YEAR_STARTS, 1), date(
        year + 1, SCHOOL_YEAR_STARTS, 1
    ) - date.resolution


class OperationKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"


@dataclass(frozen=True)
class Operation:
    """A line of the statement: a debit or a credit (cents, ≥ 0) and the balance after it.

    `number` is the invoice's or credit note's number, or the payment's reference; `method` the
    payment's method as stored (e.g. "cheque"); `invoice_number` the invoice a payment settles.
    """

    day: date
    kind: OperationKind
    number: str
    debit_cents: int
    credit_cents: int
    balance_cents: int
    method: str | None = None
    invoice_number: str | None = None
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class Statement:
    """A school year of the family's account; balances are what the family owes (< 0: credit)."""

    year: int
    family_name: str
    family_code: str
    opening_cents: int
    operations: list[Operation]
    closing_cents: int
    years: list[int]

    @property
    def first_day(self) -> date:
        return school_year_bounds(self.year)[0]

    @property
    def last_day(self) -> date:
        return school_year_bounds(self.year)[1]

    @property
    def debits_cents(self) -> int:
        return sum(operation.debit_cents for operation in self.operations)

    @property
    def credits_cents(self) -> int:
        return sum(operation.credit_cents for operation in self.operations)


class StatementService:
    """Read a family's account statement."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def statement(
        self, actor: Actor, family_id: int, today: date, year: int | None = None
    ) -> Statement:
        """The statement of the school year starting in `year` (None: today's).

        A year with no operation and not today's is NotFound; the latest year shown (today's,
        or a later one that has operations) takes every operation from its start on, so that
        it ends on the balance view's figure.
        """
        actor.check_family(family_id)
        async with self._sessions() as session:
            family = (
                await session.execute(
                    select(Family.name, Family.code).where(Family.id == family_id)
                )
            ).first()
            if family is None:
                raise NotFound("unknown family")
            years = await _years(session, family_id, school_year_of(today))
            chosen = school_year_of(today) if year is None else year
            if chosen not in years:
                raise NotFound("no operation that school year")
            first, last = school_year_bounds(chosen)
            until = None if chosen == years[0] else last
            opening = await _balance_before(session, family_id, first)
            operations = await _operations(session, family_id, first, until, opening)
        closing = operations[-1].balance_cents if operations else opening
        return Statement(chosen, family.name, family.code, opening, operations, closing, years)


async def _years(session: AsyncSession, family_id: int, current: int) -> list[int]:
    """The school years with an operation, and the current one, latest first."""
    days = list(
        await session.scalars(
            select(Invoice.issued_on).where(Invoice.family_id == family_id).distinct()
        )
    )
    days += list(
        await session.scalars(
            select(Payment.paid_on).where(Payment.family_id == family_id).distinct()
        )
    )
    return sorted({current, *(school_year_of(day) for day in days)}, reverse=True)


async def _balance_before(session: AsyncSession, family_id: int, first: date) -> int:
    invoiced = (
        select(func.coalesce(func.sum(Invoice.total_cents), 0))
        .where(Invoice.family_id == family_id, Invoice.issued_on < first)
        .scalar_subquery()
    )
    paid = (
        select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.family_id == family_id, Payment.paid_on < first)
        .scalar_subquery()
    )
    totals = (await session.execute(select(invoiced, paid))).one()
    return int(totals[0] or 0) - int(totals[1] or 0)


async def _operations(
    session: AsyncSession, family_id: int, first: date, until: date | None, opening: int
) -> list[Operation]:
    invoices = select(Invoice).where(Invoice.family_id == family_id, Invoice.issued_on >= first)
    payments = (
        select(Payment, Invoice.number)
        .outerjoin(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.family_id == family_id, Payment.paid_on >= first)
    )
    if until is not None:
        invoices = invoices.where(Invoice.issued_on <= until)
        payments = payments.where(Payment.paid_on <= until)
    # (day, debits before credits on a day, id): a stable order the PDF and the chat share.
    entries: list[tuple[tuple[date, int, int], Operation]] = []
    for invoice in await session.scalars(invoices):
        credit = invoice.kind is InvoiceKind.CREDIT_NOTE or invoice.total_cents < 0
        entries.append(
            (
                (invoice.issued_on, 1 if credit else 0, invoice.id),
                Operation(
                    invoice.issued_on,
                    OperationKind.CREDIT_NOTE if credit else OperationKind.INVOICE,
                    invoice.number,
                    max(invoice.total_cents, 0),
                    max(-invoice.total_cents, 0),
                    0,
                    period_start=invoice.period_start,
                    period_end=invoice.period_end,
                ),
            )
        )
    for payment, invoice_number in (await session.execute(payments)).all():
        entries.append(
            (
                (payment.paid_on, 2, payment.id),
                Operation(
                    payment.paid_on,
                    OperationKind.PAYMENT,
                    payment.reference,
                    max(-payment.amount_cents, 0),
                    max(payment.amount_cents, 0),
                    0,
                    method=payment.method,
                    invoice_number=invoice_number,
                ),
            )
        )
    entries.sort(key=lambda entry: entry[0])
    balance = opening
    operations = []
    for _, operation in entries:
        balance += operation.debit_cents - operation.credit_cents
        operations.append(replace(operation, balance_cents=balance))
    return operations
