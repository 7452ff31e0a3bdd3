"""Mes demandes: everything a family asked staff and what became of it, read in one place.

Bookings waiting for validation, on a waiting list (with the place) or refused (with the
reason staff gave); absences and their certificates; documents sent; changes of the family
file; enrolment requests; pre-registrations of a new child. One vocabulary of states
(`RequestState`) for all of them, newest first, filtered by kind and child. Read only: the
services that create and decide these requests live elsewhere.

Health values a family-file change may hold (allergies, doctor...) are returned to the family's
own guardians only, never logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from store.actors import Actor, NotFound
from store.enrolments import waitlist_positions as enrolment_positions
from store.family_records import HEALTH_FIELDS
from store.models import (
    Absence,
    Activity,
    AuditEntry,
    Booking,
    Child,
    ChildRegistration,
    Document,
    EnrolmentRequest,
    ErasureRequest,
    FileChange,
)
from store.models.enums import (
    AbsenceStatus,
    BookingState,
    DocumentSource,
    DocumentStatus,
    RequestStatus,
)
from store.planning import waitlist_positions
from store.visibility import HEALTH_DOCUMENT_TYPES, sees_health

FAMILY_SOURCES = (DocumentSource.TELEGRAM, DocumentSource.EMAIL)
RECENT_DAYS = 92
"""The list shows the last three months unless older requests are asked for."""
# The subject of an absence, and of a health field's change, for a guardian who does not see
# health details (`store.visibility`).
HIDDEN = "hidden"
HEALTH = "health"


class RequestKind(StrEnum):
    """What was asked; the values are short, for callback data."""

    BOOKING = "bk"
    ABSENCE = "ab"
    DOCUMENT = "dc"
    FILE_CHANGE = "fc"
    ENROLMENT = "en"
    REGISTRATION = "rg"
    ERASURE = "er"


class RequestState(StrEnum):
    """Where a request stands, whatever its kind."""

    PENDING = "pending"
    WAITLISTED = "waitlisted"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


_BOOKING_STATES = {
    BookingState.PENDING: RequestState.PENDING,
    BookingState.WAITLISTED: RequestState.WAITLISTED,
    BookingState.REFUSED: RequestState.REFUSED,
}
_ABSENCE_STATES = {
    AbsenceStatus.REPORTED: RequestState.PENDING,
    AbsenceStatus.EXCUSED: RequestState.ACCEPTED,
    AbsenceStatus.REFUSED: RequestState.REFUSED,
}
_DOCUMENT_STATES = {
    DocumentStatus.PENDING: RequestState.PENDING,
    DocumentStatus.ACCEPTED: RequestState.ACCEPTED,
    DocumentStatus.REJECTED: RequestState.REFUSED,
}
_DECIDED_STATES = {
    RequestStatus.PENDING: RequestState.PENDING,
    RequestStatus.WAITLISTED: RequestState.WAITLISTED,
    RequestStatus.ACCEPTED: RequestState.ACCEPTED,
    RequestStatus.REFUSED: RequestState.REFUSED,
    RequestStatus.WITHDRAWN: RequestState.WITHDRAWN,
}


@dataclass(frozen=True)
class RequestItem:
    """One request of the family, as the list and its detail show it.

    `subject` depends on the kind: the activity's name (booking, enrolment), the document type
    (document, `DocumentType` value), the absence reason (`AbsenceReason` value), the changed
    field (file change, e.g. `guardian.phone`), the new child's name (pre-registration).
    `day` and `until` are the booked day, the absence's days or the enrolment's start.
    """

    kind: RequestKind
    id: int
    asked_at: datetime
    state: RequestState
    subject: str
    child_id: int | None = None
    child_name: str | None = None
    day: date | None = None
    until: date | None = None
    position: int | None = None
    reason: str | None = None
    decided_at: datetime | None = None
    old_value: Any = None
    new_value: Any = None
    weekdays: tuple[int, ...] = ()
    reference: str | None = None
    with_certificate: bool = False


@dataclass(frozen=True)
class RequestFilter:
    """Which requests to list: of one kind, of one child, since a day (None: all)."""

    kind: RequestKind | None = None
    child_id: int | None = None
    since: date | None = None


def _aware(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite gives them back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def recent_since(today: date) -> date:
    """The first day of the default list: three months back."""
    return today - timedelta(days=RECENT_DAYS)


class RequestsListService:
    """Read the family's requests of every kind, and one of them in detail."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def requests(
        self, actor: Actor, family_id: int, wanted: RequestFilter
    ) -> list[RequestItem]:
        """The family's requests matching `wanted`, newest first; another family's child, or
        another family, is refused."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            names = await _children(session, family_id)
            if wanted.child_id is not None and wanted.child_id not in names:
                raise NotFound("unknown child")
            since = (
                datetime.combine(wanted.since, time.min, tzinfo=UTC)
                if wanted.since is not None
                else None
            )
            items: list[RequestItem] = []
            for kind in RequestKind:
                if wanted.kind is None or wanted.kind is kind:
                    items += await _READERS[kind](session, family_id, since, None, names)
            if not await sees_health(session, actor):
                items = _without_health(items)
        if wanted.child_id is not None:
            items = [item for item in items if item.child_id == wanted.child_id]
        items.sort(key=lambda item: (item.asked_at, item.id), reverse=True)
        return items

    async def request(
        self, actor: Actor, family_id: int, kind: RequestKind, request_id: int
    ) -> RequestItem:
        """One request of the family; another family's, or none, is NotFound alike."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            names = await _children(session, family_id)
            found = await _READERS[kind](session, family_id, None, request_id, names)
            if not await sees_health(session, actor):
                found = _without_health(found)
        if not found:
            raise NotFound("unknown request")
        return found[0]


def _without_health(items: list[RequestItem]) -> list[RequestItem]:
    """The requests as a guardian who does not see health details sees them: absences without
    their reason, certificate or staff note; no health document; a health field's change
    without its field, values or reason."""
    health_types = {doc_type.value for doc_type in HEALTH_DOCUMENT_TYPES}
    seen = []
    for item in items:
        if item.kind is RequestKind.ABSENCE:
            item = replace(item, subject=HIDDEN, with_certificate=False, reason=None)
        elif item.kind is RequestKind.DOCUMENT and item.subject in health_types:
            continue
        elif item.kind is RequestKind.FILE_CHANGE and item.subject in HEALTH_FIELDS:
            item = replace(item, subject=HEALTH, old_value=None, new_value=None, reason=None)
        seen.append(item)
    return seen


Narrowed = TypeVar("Narrowed", bound="Select[*tuple[Any, ...]]")


def _narrowed(
    query: Narrowed,
    id_column: InstrumentedAttribute[int],
    asked_column: InstrumentedAttribute[datetime],
    since: datetime | None,
    only: int | None,
) -> Narrowed:
    """A reader's query kept to what was asked since `since`, or to the one row `only`."""
    if since is not None:
        query = query.where(asked_column >= since)
    if only is not None:
        query = query.where(id_column == only)
    return query


async def _children(session: AsyncSession, family_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Child.id, Child.first_name).where(Child.family_id == family_id)
    )
    return {child_id: name for child_id, name in rows}


Reader = Callable[
    [AsyncSession, int, datetime | None, int | None, dict[int, str]],
    Awaitable[list[RequestItem]],
]
"""Reads one kind of request: (session, family, since, only this id, children's names)."""


async def _bookings(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    query = (
        select(Booking, Activity.name)
        .join(Activity, Activity.id == Booking.activity_id)
        .where(Booking.family_id == family_id, Booking.state.in_(list(_BOOKING_STATES)))
    )
    query = _narrowed(query, Booking.id, Booking.created_at, since, only)
    rows = (await session.execute(query)).all()
    positions = await waitlist_positions(
        session, [b.id for b, _ in rows if b.state is BookingState.WAITLISTED]
    )
    refused = [b.id for b, _ in rows if b.state is BookingState.REFUSED]
    reasons: dict[int, str] = {}
    if refused:
        entries = await session.execute(
            select(AuditEntry.entity_id, AuditEntry.details)
            .where(
                AuditEntry.entity == "booking",
                AuditEntry.action == "refuse",
                AuditEntry.entity_id.in_(refused),
            )
            .order_by(AuditEntry.id)
        )
        for booking_id, details in entries:
            if booking_id is not None and isinstance(details, dict) and details.get("reason"):
                reasons[booking_id] = str(details["reason"])
    return [
        RequestItem(
            kind=RequestKind.BOOKING,
            id=booking.id,
            asked_at=_aware(booking.created_at),
            state=_BOOKING_STATES[booking.state],
            subject=activity_name,
            child_id=booking.child_id,
            child_name=names.get(booking.child_id),
            day=booking.day,
            position=positions.get(booking.id),
            reason=reasons.get(booking.id),
            decided_at=_aware(booking.updated_at)
            if booking.state is BookingState.REFUSED
            else None,
        )
        for booking, activity_name in rows
    ]


async def _absences(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    query = (
        select(Absence, Document.review_note, Document.reviewed_at)
        .outerjoin(Document, Document.id == Absence.certificate_id)
        .where(Absence.family_id == family_id)
    )
    query = _narrowed(query, Absence.id, Absence.created_at, since, only)
    return [
        RequestItem(
            kind=RequestKind.ABSENCE,
            id=absence.id,
            asked_at=_aware(absence.created_at),
            state=_ABSENCE_STATES[absence.status],
            subject=absence.reason.value,
            child_id=absence.child_id,
            child_name=names.get(absence.child_id),
            day=absence.start,
            until=absence.end,
            reason=note if absence.status is AbsenceStatus.REFUSED else None,
            decided_at=_aware(reviewed_at) if reviewed_at is not None else None,
            reference=absence.reference,
            with_certificate=absence.certificate_id is not None,
        )
        for absence, note, reviewed_at in (await session.execute(query)).all()
    ]


async def _documents(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    # What the family sent (chat or mail); not what staff or the import filed for them.
    query = select(Document).where(
        Document.family_id == family_id, Document.source.in_(FAMILY_SOURCES)
    )
    query = _narrowed(query, Document.id, Document.created_at, since, only)
    return [
        RequestItem(
            kind=RequestKind.DOCUMENT,
            id=document.id,
            asked_at=_aware(document.created_at),
            state=_DOCUMENT_STATES[document.status],
            subject=document.doc_type.value,
            child_id=document.child_id,
            child_name=names.get(document.child_id) if document.child_id else None,
            reason=document.review_note if document.status is DocumentStatus.REJECTED else None,
            decided_at=_aware(document.reviewed_at) if document.reviewed_at else None,
        )
        for document in await session.scalars(query)
    ]


async def _file_changes(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    query = select(FileChange).where(FileChange.family_id == family_id)
    query = _narrowed(query, FileChange.id, FileChange.requested_at, since, only)
    return [
        RequestItem(
            kind=RequestKind.FILE_CHANGE,
            id=change.id,
            asked_at=_aware(change.requested_at),
            state=_DECIDED_STATES[change.status],
            subject=change.field,
            child_id=change.child_id,
            child_name=names.get(change.child_id) if change.child_id else None,
            reason=change.reason,
            decided_at=_aware(change.decided_at) if change.decided_at else None,
            old_value=change.old_value,
            new_value=change.new_value,
        )
        for change in await session.scalars(query)
    ]


async def _enrolments(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    query = (
        select(EnrolmentRequest, Activity.name)
        .join(Activity, Activity.id == EnrolmentRequest.activity_id)
        .where(EnrolmentRequest.family_id == family_id)
    )
    query = _narrowed(query, EnrolmentRequest.id, EnrolmentRequest.requested_at, since, only)
    rows = (await session.execute(query)).all()
    positions = await enrolment_positions(session, [request for request, _ in rows])
    return [
        RequestItem(
            kind=RequestKind.ENROLMENT,
            id=enrolment.id,
            asked_at=_aware(enrolment.requested_at),
            state=_DECIDED_STATES[enrolment.status],
            subject=activity_name,
            child_id=enrolment.child_id,
            child_name=names.get(enrolment.child_id),
            day=enrolment.starts_on,
            position=positions.get(enrolment.id),
            reason=enrolment.reason,
            decided_at=_aware(enrolment.decided_at) if enrolment.decided_at else None,
            weekdays=tuple(enrolment.weekdays or ()),
        )
        for enrolment, activity_name in rows
    ]


async def _registrations(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    query = select(ChildRegistration).where(ChildRegistration.family_id == family_id)
    query = _narrowed(query, ChildRegistration.id, ChildRegistration.requested_at, since, only)
    return [
        RequestItem(
            kind=RequestKind.REGISTRATION,
            id=registration.id,
            asked_at=_aware(registration.requested_at),
            state=_DECIDED_STATES[registration.status],
            subject=f"{registration.first_name} {registration.last_name}",
            child_id=registration.child_id,
            child_name=names.get(registration.child_id) if registration.child_id else None,
            day=registration.birth_date,
            reason=registration.reason,
            decided_at=_aware(registration.decided_at) if registration.decided_at else None,
            reference=registration.school_level,
        )
        for registration in await session.scalars(query)
    ]


async def _erasures(
    session: AsyncSession,
    family_id: int,
    since: datetime | None,
    only: int | None,
    names: dict[int, str],
) -> list[RequestItem]:
    query = select(ErasureRequest).where(ErasureRequest.family_id == family_id)
    query = _narrowed(query, ErasureRequest.id, ErasureRequest.requested_at, since, only)
    return [
        RequestItem(
            kind=RequestKind.ERASURE,
            id=erasure.id,
            asked_at=_aware(erasure.requested_at),
            state=_DECIDED_STATES[erasure.status],
            subject="",
            reason=erasure.reason,
            decided_at=_aware(erasure.decided_at) if erasure.decided_at else None,
        )
        for erasure in await session.scalars(query)
    ]


_READERS: dict[RequestKind, Reader] = {
    RequestKind.BOOKING: _bookings,
    RequestKind.ABSENCE: _absences,
    RequestKind.DOCUMENT: _documents,
    RequestKind.FILE_CHANGE: _file_changes,
    RequestKind.ENROLMENT: _enrolments,
    RequestKind.REGISTRATION: _registrations,
    RequestKind.ERASURE: _erasures,
}
