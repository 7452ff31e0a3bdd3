"""Invoices issued by the billing office, their lines, and the family's payments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, str_enum
from store.models.enums import InvoiceKind


class Invoice(Base):
    """An invoice of a family for a billing period; its total is the sum of its lines."""

    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    total_cents: Mapped[int]
    kind: Mapped[InvoiceKind] = mapped_column(
        str_enum(InvoiceKind), default=InvoiceKind.INVOICE, server_default="invoice"
    )

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )


class InvoiceLine(Base):
    """One line of an invoice: designation, quantity, unit price, amount."""

    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price_cents: Mapped[int]
    amount_cents: Mapped[int]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(Base):
    """Money received from a family, possibly for one invoice."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), index=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int]
    method: Mapped[str] = mapped_column(String(40))
