"""Absences: a parent reports them, a medical certificate accepted by staff excuses them.

Excused days are not billed. The medical reason a parent may type is kept in the store only:
it never reaches the logs nor the audit entries.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.models import Absence, Booking, Child, Document
from store.models.enums import (
    AbsenceReason,
    AbsenceStatus,
    Attendance,
    BookingState,
    DocumentStatus,
    DocumentType,
)
from store.outbox import notify_family
from store.staff_notices import notify_certificate_to_review

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InvalidAbsence(StoreError):
    """The absence asked for makes no sense (end before start, certificate of another type)."""


@dataclass(frozen=True)
class AbsenceView:
    """An absence as shown to its family."""

    id: int
    child_id: int
    start: date
    end: date
    reason: AbsenceReason
    status: AbsenceStatus
    reference: str
    has_certificate: bool
    days_marked: int


def new_reference() -> str:
    """A short reference parents put in an email subject, e.g. `ABS-7KQ9M2`."""
    return "ABS-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


class AbsenceService:
    """Report absences, attach certificates, and let staff decide on them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def report(
        self,
        actor: Actor,
        child_ids: Sequence[int],
        start: date,
        end: date,
        reason: AbsenceReason,
        detail: str | None = None,
    ) -> list[AbsenceView]:
        """Report an absence of each child over [start, end]; booked days are marked absent."""
        if end < start:
            raise InvalidAbsence("the absence ends before it starts")
        views = []
        async with self._sessions.begin() as session:
            children = list(await session.scalars(select(Child).where(Child.id.in_(child_ids))))
            if len(children) != len(set(child_ids)):
                raise NotFound("unknown child")
            for child in children:
                actor.check_family(child.family_id)
            for child in sorted(children, key=lambda c: c.id):
                absence = Absence(
                    family_id=child.family_id,
                    child_id=child.id,
                    start=start,
                    end=end,
                    reason=reason,
                    reason_detail=detail,
                    status=AbsenceStatus.REPORTED,
                    reference=new_reference(),
                    created_by=actor.label,
                )
                session.add(absence)
                await session.flush()
                marked = await session.execute(
                    update(Booking)
                    .where(
                        Booking.child_id == child.id,
                        Booking.day >= start,
                        Booking.day <= end,
                        Booking.state.in_((BookingState.CONFIRMED, BookingState.PENDING)),
                    )
                    .values(attendance=Attendance.ABSENT, absence_id=absence.id)
                    .execution_options(synchronize_session=False)
                )
                # The reason category is not health data; the free-text detail may be.
                record(
                    session, actor, "report_absence", "absence", absence.id, days=marked.rowcount
                )
                views.append(_view(absence, marked.rowcount))
        return views

    async def attach_certificate(self, actor: Actor, absence_id: int, document_id: int) -> None:
        """Link a medical certificate (already stored) to an absence of the same family.

        A certificate sent again after the previous one was refused reopens the absence: it
        waits for the staff's decision again.
        """
        async with self._sessions.begin() as session:
            absence = await session.get(Absence, absence_id)
            document = await session.get(Document, document_id)
            if absence is None or document is None:
                raise NotFound("unknown absence or document")
            actor.check_family(absence.family_id)
            if document.family_id != absence.family_id:
                raise AccessDenied("the certificate belongs to another family")
            if document.doc_type is not DocumentType.MEDICAL_CERTIFICATE:
                raise InvalidAbsence("only a medical certificate can excuse an absence")
            absence.certificate_id = document.id
            reopened = (
                absence.status is AbsenceStatus.REFUSED
                and document.status is DocumentStatus.PENDING
            )
            if reopened:
                absence.status = AbsenceStatus.REPORTED
            record(
                session,
                actor,
                "attach_certificate",
                "absence",
                absence.id,
                doc=document.id,
                reopened=reopened,
            )
            await notify_staff_of_certificate(session, absence)

    async def decide(self, actor: Actor, absence_id: int, accept: bool, note: str = "") -> int:
        """Staff accept or refuse an absence's certificate; returns the number of days excused.

        Accepting makes the absence excused (its days are not billed) and the certificate
        accepted; refusing leaves the days billed. The family is told either way.
        """
        actor.check_staff()
        async with self._sessions.begin() as session:
            absence = await session.get(Absence, absence_id, with_for_update=True)
            if absence is None:
                raise NotFound("unknown absence")
            if accept and absence.certificate_id is None:
                raise InvalidAbsence("no certificate to accept")
            absence.status = AbsenceStatus.EXCUSED if accept else AbsenceStatus.REFUSED
            if absence.certificate_id is not None:
                document = await session.get(Document, absence.certificate_id)
                assert document is not None
                document.status = DocumentStatus.ACCEPTED if accept else DocumentStatus.REJECTED
                document.reviewed_by = actor.label
                document.review_note = note or None
            excused = 0
            if accept:
                excused = (
                    await session.scalar(
                        select(func.count(Booking.id)).where(Booking.absence_id == absence.id)
                    )
                    or 0
                )
            record(session, actor, "decide_absence", "absence", absence.id, accepted=accept)
            await notify_family(
                session,
                absence.family_id,
                "certificate_accepted" if accept else "certificate_refused",
                {"absence_id": absence.id, "reference": absence.reference, "note": note},
                event_key=f"absence:{absence.id}:{absence.status.value}",
            )
            return excused

    async def family_absences(self, actor: Actor, family_id: int) -> list[AbsenceView]:
        """The family's absences, newest first."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            absences = list(
                await session.scalars(
                    select(Absence)
                    .where(Absence.family_id == family_id)
                    .order_by(Absence.start.desc(), Absence.id.desc())
                    .limit(50)
                )
            )
            counts: dict[int, int] = {}
            if absences:
                rows = await session.execute(
                    select(Booking.absence_id).where(
                        Booking.absence_id.in_([a.id for a in absences])
                    )
                )
                for (absence_id,) in rows:
                    counts[absence_id] = counts.get(absence_id, 0) + 1
            return [_view(a, counts.get(a.id, 0)) for a in absences]

    async def find_by_reference(self, actor: Actor, reference: str) -> AbsenceView | None:
        """The absence of the actor's family with this reference (case-insensitive)."""
        async with self._sessions() as session:
            absence = await session.scalar(
                select(Absence).where(Absence.reference == reference.strip().upper())
            )
            if absence is None:
                return None
            actor.check_family(absence.family_id)
            return _view(absence, 0)


async def notify_staff_of_certificate(session: AsyncSession, absence: Absence) -> None:
    """Queue the 'certificate to review' email to the family file service (sent by the mail
    worker, `bot.staff_mail`)."""
    await notify_certificate_to_review(session, absence)


def _view(absence: Absence, days_marked: int) -> AbsenceView:
    return AbsenceView(
        id=absence.id,
        child_id=absence.child_id,
        start=absence.start,
        end=absence.end,
        reason=absence.reason,
        status=absence.status,
        reference=absence.reference,
        has_certificate=absence.certificate_id is not None,
        days_marked=days_marked,
    )
