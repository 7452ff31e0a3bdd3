"""Bookings of a child on a day of an activity, and the absences that excuse them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from store.encryption import EncryptedText
from store.models.base import Base, str_enum, utcnow
from store.models.enums import AbsenceReason, AbsenceStatus, Attendance, BookingState

ACTIVE_STATES_SQL = "state IN ('pending', 'confirmed', 'waitlisted')"


class Booking(Base):
    """A child on an activity on a day.

    A child holds at most one active (pending, confirmed or waitlisted) booking per activity and
    day: the partial unique index enforces it in the database.
    """

    __tablename__ = "booking"
    __table_args__ = (
        Index(
            "uq_booking_active",
            "child_id",
            "activity_id",
            "day",
            unique=True,
            sqlite_where=text(ACTIVE_STATES_SQL),
            postgresql_where=text(ACTIVE_STATES_SQL),
        ),
        Index("ix_booking_opening_day_state", "opening_day_id", "state", "id"),
        Index("ix_booking_child_day", "child_id", "day"),
        Index("ix_booking_family_day", "family_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"))
    opening_day_id: Mapped[int] = mapped_column(ForeignKey("opening_day.id"))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[BookingState] = mapped_column(str_enum(BookingState))
    price_cents: Mapped[int]
    surcharge_cents: Mapped[int] = mapped_column(default=0)
    # What is billed beyond the price: a late cancellation's fee; on a confirmed day the child
    # missed with no absence reported, the surcharge of the activity's `unannounced_absence`
    # rule (`store.attendance`; 0 otherwise, and never billed once the absence is excused).
    cancellation_fee_cents: Mapped[int] = mapped_column(default=0)
    attendance: Mapped[Attendance | None] = mapped_column(str_enum(Attendance))
    absence_id: Mapped[int | None] = mapped_column(ForeignKey("absence.id"), index=True)
    invoice_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_line.id"))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Absence(Base):
    """A reported absence of a child over a range of days.

    `reason_detail` may hold health information: it is never logged nor audited.
    """

    __tablename__ = "absence"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    reason: Mapped[AbsenceReason] = mapped_column(str_enum(AbsenceReason))
    reason_detail: Mapped[str | None] = mapped_column(EncryptedText)  # encrypted at rest
    status: Mapped[AbsenceStatus] = mapped_column(str_enum(AbsenceStatus))
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
