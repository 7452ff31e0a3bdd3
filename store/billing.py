"""Balance and invoices of a family: what was invoiced, paid, is due, and is still to invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from store.actors import Actor, NotFound
from store.models import Absence, Booking, Family, Invoice, Payment
from store.models.enums import AbsenceStatus, BookingState, InvoiceKind


class InvoiceStatus(StrEnum):
    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    UNPAID = "unpaid"
    OVERDUE = "overdue"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class InvoiceSummary:
    id: int
    number: str
    issued_on: date
    due_on: date
    period_start: date
    period_end: date
    total_cents: int
    paid_cents: int
    status: InvoiceStatus

    @property
    def due_cents(self) -> int:
        return max(self.total_cents - self.paid_cents, 0)


@dataclass(frozen=True)
class InvoiceLineView:
    label: str
    quantity: int
    unit_price_cents: int
    amount_cents: int


@dataclass(frozen=True)
class InvoiceDetail:
    """An invoice with its lines, and the family it is addressed to."""

    summary: InvoiceSummary
    lines: list[InvoiceLineView]
    family_name: str = ""
    family_code: str = ""


@dataclass(frozen=True)
class Balance:
    """invoiced − paid = due; `uninvoiced_cents` is what this month's bookings will add."""

    invoiced_cents: int
    paid_cents: int
    uninvoiced_cents: int

    @property
    def due_cents(self) -> int:
        return self.invoiced_cents - self.paid_cents


def billable_amount(state: BookingState, price: int, fee: int, excused: bool) -> int:
    """What a booking costs the family: confirmed days unless excused (with, on a day missed
    without notice, the surcharge its activity's rule adds: the booking's `fee`, see
    `store.attendance`), late cancellation fees."""
    if state is BookingState.CONFIRMED:
        return 0 if excused else price + fee
    if state is BookingState.LATE_CANCELLED:
        return fee
    return 0


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of `day`'s month."""
    first = day.replace(day=1)
    following = (first.replace(day=28) + (date.resolution * 4)).replace(day=1)
    return first, following - date.resolution


class BillingService:
    """Read the family's balance and invoices."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def balance(self, actor: Actor, family_id: int, today: date) -> Balance:
        """The family's balance on `today`."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            return await self._balance(session, family_id, today)

    async def overview(
        self, actor: Actor, family_id: int, today: date, limit: int = 6
    ) -> tuple[Balance, list[InvoiceSummary]]:
        """The balance and the latest invoices together, read in one transaction."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            balance = await self._balance(session, family_id, today)
            return balance, await self._latest_invoices(session, family_id, today, limit)

    async def _balance(self, session: AsyncSession, family_id: int, today: date) -> Balance:
        invoiced = (
            select(func.coalesce(func.sum(Invoice.total_cents), 0))
            .where(Invoice.family_id == family_id)
            .scalar_subquery()
        )
        paid = (
            select(func.coalesce(func.sum(Payment.amount_cents), 0))
            .where(Payment.family_id == family_id)
            .scalar_subquery()
        )
        totals = (await session.execute(select(invoiced, paid))).one()
        uninvoiced = await self._uninvoiced(session, family_id, today)
        return Balance(int(totals[0] or 0), int(totals[1] or 0), uninvoiced)

    @staticmethod
    async def _uninvoiced(session: AsyncSession, family_id: int, today: date) -> int:
        first, last = month_bounds(today)
        rows = await session.execute(
            select(
                Booking.state,
                Booking.price_cents,
                Booking.cancellation_fee_cents,
                Absence.status,
            )
            .outerjoin(Absence, Absence.id == Booking.absence_id)
            .where(
                Booking.family_id == family_id,
                Booking.day >= first,
                Booking.day <= last,
                Booking.invoice_line_id.is_(None),
                or_(
                    Booking.state == BookingState.CONFIRMED,
                    and_(
                        Booking.state == BookingState.LATE_CANCELLED,
                        Booking.cancellation_fee_cents > 0,
                    ),
                ),
            )
        )
        return sum(
            billable_amount(state, price, fee, absence_status is AbsenceStatus.EXCUSED)
            for state, price, fee, absence_status in rows
        )

    async def invoices(
        self, actor: Actor, family_id: int, today: date, limit: int = 6
    ) -> list[InvoiceSummary]:
        """The family's latest invoices, newest first, with what was paid on each."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            return await self._latest_invoices(session, family_id, today, limit)

    @staticmethod
    async def _latest_invoices(
        session: AsyncSession, family_id: int, today: date, limit: int
    ) -> list[InvoiceSummary]:
        invoices = list(
            await session.scalars(
                select(Invoice)
                .where(Invoice.family_id == family_id)
                .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
                .limit(limit)
            )
        )
        paid = await _paid_per_invoice(session, [i.id for i in invoices])
        return [_summary(i, paid.get(i.id, 0), today) for i in invoices]

    async def invoice_detail(self, actor: Actor, invoice_id: int, today: date) -> InvoiceDetail:
        """One invoice with its lines and its family's name; another family's is refused."""
        async with self._sessions() as session:
            invoice = await session.scalar(
                select(Invoice)
                .where(Invoice.id == invoice_id)
                .options(selectinload(Invoice.lines))
            )
            if invoice is None:
                raise NotFound("unknown invoice")
            actor.check_family(invoice.family_id)
            paid = await _paid_per_invoice(session, [invoice.id])
            family = (
                await session.execute(
                    select(Family.name, Family.code).where(Family.id == invoice.family_id)
                )
            ).one()
            return InvoiceDetail(
                _summary(invoice, paid.get(invoice.id, 0), today),
                [
                    InvoiceLineView(ln.label, ln.quantity, ln.unit_price_cents, ln.amount_cents)
                    for ln in invoice.lines
                ],
                family.name,
                family.code,
            )


async def _paid_per_invoice(session: AsyncSession, invoice_ids: list[int]) -> dict[int, int]:
    if not invoice_ids:
        return {}
    rows = await session.execute(
        select(Payment.invoice_id, func.sum(Payment.amount_cents))
        .where(Payment.invoice_id.in_(invoice_ids))
        .group_by(Payment.invoice_id)
    )
    return {invoice_id: int(total) for invoice_id, total in rows if invoice_id is not None}


def _summary(invoice: Invoice, paid: int, today: date) -> InvoiceSummary:
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        status = InvoiceStatus.CREDIT_NOTE
    elif paid >= invoice.total_cents:
        status = InvoiceStatus.PAID
    elif today > invoice.due_on:
        status = InvoiceStatus.OVERDUE
    elif paid > 0:
        status = InvoiceStatus.PARTLY_PAID
    else:
        status = InvoiceStatus.UNPAID
    return InvoiceSummary(
        invoice.id,
        invoice.number,
        invoice.issued_on,
        invoice.due_on,
        invoice.period_start,
        invoice.period_end,
        invoice.total_cents,
        paid,
        status,
    )
