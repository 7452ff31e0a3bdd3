"""What the services read: who a staff member is, the work waiting for them, a day's list.

Medical details never leave the store here: a pending certificate is shown by its absence's
reference, child and dates, never by the reason a parent may have typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from store.actors import Actor, NotFound
from store.models import Absence, Activity, Booking, Child, Document, Family, StaffMember
from store.models.enums import AbsenceStatus, BookingState, DocumentStatus, DocumentType

# Who is expected on a day, or was and is still billed: everything but cancelled and refused.
DAY_LIST_STATES = (
    BookingState.CONFIRMED,
    BookingState.PENDING,
    BookingState.WAITLISTED,
    BookingState.LATE_CANCELLED,
)


@dataclass(frozen=True)
class StaffView:
    """A staff member, as the command line names them."""

    id: int
    name: str
    email: str
    actor: Actor


@dataclass(frozen=True)
class PendingCertificate:
    """An absence whose medical certificate waits for a decision."""

    absence_id: int
    reference: str
    family_name: str
    child_name: str
    start: date
    end: date
    document_id: int


@dataclass(frozen=True)
class PendingDocument:
    """A document waiting for review (certificates of absences are listed apart)."""

    document_id: int
    family_name: str
    child_name: str | None
    doc_type: DocumentType
    original_name: str | None
    received_at: datetime


@dataclass(frozen=True)
class PendingBooking:
    """A booking waiting for the service's validation."""

    booking_id: int
    family_name: str
    child_name: str
    activity_name: str
    day: date


@dataclass(frozen=True)
class PendingWork:
    certificates: list[PendingCertificate]
    documents: list[PendingDocument]
    bookings: list[PendingBooking]


@dataclass(frozen=True)
class DayEntry:
    """One child on a day's list."""

    booking_id: int
    child_name: str
    school_level: str
    state: BookingState
    absence: AbsenceStatus | None


@dataclass(frozen=True)
class DayList:
    activity_code: str
    activity_name: str
    day: date
    entries: list[DayEntry]


def _full_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}"


class StaffService:
    """Read-only views for the services' staff."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def by_email(self, email: str) -> StaffView:
        """The staff member with this email (case-insensitive); NotFound otherwise."""
        async with self._sessions() as session:
            staff = await session.scalar(
                select(StaffMember).where(func.lower(StaffMember.email) == email.strip().lower())
            )
        if staff is None:
            raise NotFound("unknown staff member")
        return StaffView(staff.id, staff.name, staff.email, Actor.staff(staff.id))

    async def pending(self, actor: Actor) -> PendingWork:
        """Certificates, documents and bookings waiting for a decision, oldest first."""
        actor.check_staff()
        async with self._sessions() as session:
            return PendingWork(
                certificates=await _pending_certificates(session),
                documents=await _pending_documents(session),
                bookings=await _pending_bookings(session),
            )

    async def day_list(self, actor: Actor, activity_code: str, day: date) -> DayList:
        """The children booked on an activity on a day, with their state and any absence."""
        actor.check_staff()
        async with self._sessions() as session:
            activity = await session.scalar(select(Activity).where(Activity.code == activity_code))
            if activity is None:
                raise NotFound("unknown activity")
            rows = await session.execute(
                select(Booking.id, Child, Booking.state, Absence.status)
                .join(Child, Child.id == Booking.child_id)
                .outerjoin(Absence, Absence.id == Booking.absence_id)
                .where(
                    Booking.activity_id == activity.id,
                    Booking.day == day,
                    Booking.state.in_(DAY_LIST_STATES),
                )
                .order_by(Child.last_name, Child.first_name, Booking.id)
            )
            entries = [
                DayEntry(
                    booking_id,
                    _full_name(child.first_name, child.last_name),
                    child.school_level,
                    state,
                    absence,
                )
                for booking_id, child, state, absence in rows
            ]
        return DayList(activity.code, activity.name, day, entries)


async def _pending_certificates(session: AsyncSession) -> list[PendingCertificate]:
    rows = await session.execute(
        select(
            Absence.id,
            Absence.reference,
            Family.name,
            Child.first_name,
            Child.last_name,
            Absence.start,
            Absence.end,
            Document.id,
        )
        .join(Family, Family.id == Absence.family_id)
        .join(Child, Child.id == Absence.child_id)
        .join(Document, Document.id == Absence.certificate_id)
        .where(
            # Not decided yet; or refused, with a new certificate sent since then.
            (Absence.status == AbsenceStatus.REPORTED)
            | (
                (Absence.status == AbsenceStatus.REFUSED)
                & (Document.status == DocumentStatus.PENDING)
            )
        )
        .order_by(Absence.created_at, Absence.id)
    )
    return [
        PendingCertificate(
            absence_id, reference, family, _full_name(first, last), start, end, document_id
        )
        for absence_id, reference, family, first, last, start, end, document_id in rows
    ]


async def _pending_documents(session: AsyncSession) -> list[PendingDocument]:
    child = aliased(Child)
    certificates = select(Absence.certificate_id).where(Absence.certificate_id.is_not(None))
    rows = await session.execute(
        select(
            Document.id,
            Family.name,
            child.first_name,
            child.last_name,
            Document.doc_type,
            Document.original_name,
            Document.created_at,
        )
        .join(Family, Family.id == Document.family_id)
        .outerjoin(child, child.id == Document.child_id)
        .where(Document.status == DocumentStatus.PENDING, Document.id.not_in(certificates))
        .order_by(Document.created_at, Document.id)
    )
    return [
        PendingDocument(
            document_id,
            family,
            _full_name(first, last) if first is not None else None,
            doc_type,
            name,
            received_at,
        )
        for document_id, family, first, last, doc_type, name, received_at in rows
    ]


async def _pending_bookings(session: AsyncSession) -> list[PendingBooking]:
    rows = await session.execute(
        select(
            Booking.id, Family.name, Child.first_name, Child.last_name, Activity.name, Booking.day
        )
        .join(Family, Family.id == Booking.family_id)
        .join(Child, Child.id == Booking.child_id)
        .join(Activity, Activity.id == Booking.activity_id)
        .where(Booking.state == BookingState.PENDING)
        .order_by(Booking.day, Booking.id)
    )
    return [
        PendingBooking(booking_id, family, _full_name(first, last), activity, day)
        for booking_id, family, first, last, activity, day in rows
    ]
