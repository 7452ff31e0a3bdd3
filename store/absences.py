"""Absences: a parent reports them, a medical certificate accepted by staff excuses them.

Excused days are not billed. The medical reason a parent may type is kept in the store only:
it never reaches the logs nor the audit entries.

A child has one absence per day: a report over days that already have one extends or updates
that absence instead of adding another (`ReportChange` says which). An absence staff already
decided on (excused or refused) is left as it is; the days around it get their own. A
confirm's `key` makes a report happen once (`store.idempotency`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.database import changed_rows
from store.idempotency import decode, encode, run_once
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
from store.visibility import sees_health

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class InvalidAbsence(StoreError):
    """The absence asked for makes no sense (end before start, certificate of another type)."""


class ReportChange(StrEnum):
    """What a report did to an absence of the child."""

    CREATED = "created"
    # Days that already had this absence: it now covers the new days too.
    EXTENDED = "extended"
    # Same days; its reason or its certificate changed.
    UPDATED = "updated"
    # Every day already had this absence, as reported: nothing changed.
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class AbsenceView:
    """An absence as shown to its family (and, from a report, what the report did to it)."""

    id: int
    child_id: int
    start: date
    end: date
    # None for a guardian who does not see health details (`store.visibility`): the reason
    # may be "illness", and a certificate says as much.
    reason: AbsenceReason | None
    status: AbsenceStatus
    reference: str
    has_certificate: bool
    days_marked: int
    change: ReportChange = ReportChange.CREATED
    # The outcome recorded when the same confirm was carried out first.
    replayed: bool = False
    health_shown: bool = True


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
        *,
        certificate_id: int | None = None,
        key: str | None = None,
    ) -> list[AbsenceView]:
        """Report an absence of each child over [start, end]; booked days are marked absent.

        Days that already have an absence of the child extend or update it (one absence per
        child and day); `certificate_id`, a medical certificate already stored, is attached in
        the same transaction. With a confirm's `key`, the report happens once: called again,
        it answers the views of the first call (`replayed`).
        """
        if end < start:
            raise InvalidAbsence("the absence ends before it starts")

        async def work(session: AsyncSession) -> list[AbsenceView]:
            # Reports of one child queue up on its row: two never both create an absence.
            children = list(
                await session.scalars(
                    select(Child)
                    .where(Child.id.in_(child_ids))
                    .order_by(Child.id)
                    .with_for_update()
                )
            )
            if len(children) != len(set(child_ids)):
                raise NotFound("unknown child")
            for child in children:
                actor.check_family(child.family_id)
            document = await _certificate(session, children[0].family_id, certificate_id)
            views = []
            for child in children:
                for absence, change in await _report_child(
                    session, actor, child, start, end, reason, detail
                ):
                    if _takes_certificate(absence, document):
                        assert document is not None
                        await _attach(session, actor, absence, document)
                        if change is ReportChange.UNCHANGED:
                            change = ReportChange.UPDATED
                    await session.flush()
                    marked = await session.scalar(
                        select(func.count(Booking.id)).where(Booking.absence_id == absence.id)
                    )
                    views.append(_view(absence, marked or 0, change))
            return views

        return await run_once(
            self._sessions,
            actor,
            key,
            "absence",
            work,
            encode,
            lambda data: decode(AbsenceView, data, replayed=True),
        )

    async def reusable_certificate(self, actor: Actor, family_id: int, sha256: str) -> int | None:
        """A medical certificate of the family with these bytes, awaiting review and attached
        to no absence: one stored by a report that did not go through, to attach instead of
        storing the same file again."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            return await session.scalar(
                select(Document.id)
                .where(
                    Document.family_id == family_id,
                    Document.doc_type == DocumentType.MEDICAL_CERTIFICATE,
                    Document.status == DocumentStatus.PENDING,
                    Document.sha256 == sha256,
                    ~select(Absence.id).where(Absence.certificate_id == Document.id).exists(),
                )
                .order_by(Document.id.desc())
                .limit(1)
            )

    async def attach_certificate(self, actor: Actor, absence_id: int, document_id: int) -> None:
        """Link a medical certificate (already stored) to an absence of the same family.

        A certificate sent again after the previous one was refused reopens the absence: it
        waits for the staff's decision again.
        """
        async with self._sessions.begin() as session:
            absence = await session.get(Absence, absence_id)
            if absence is None:
                raise NotFound("unknown absence or document")
            actor.check_family(absence.family_id)
            document = await _certificate(session, absence.family_id, document_id)
            assert document is not None
            await _attach(session, actor, absence, document)

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
                    if absence_id is not None:  # always so: filtered by `in_` above
                        counts[absence_id] = counts.get(absence_id, 0) + 1
            shown = await sees_health(session, actor)
            return [_view(a, counts.get(a.id, 0), shown=shown) for a in absences]

    async def find_by_reference(self, actor: Actor, reference: str) -> AbsenceView | None:
        """The absence of the actor's family with this reference (case-insensitive)."""
        async with self._sessions() as session:
            absence = await session.scalar(
                select(Absence).where(Absence.reference == reference.strip().upper())
            )
            if absence is None:
                return None
            actor.check_family(absence.family_id)
            return _view(absence, 0, shown=await sees_health(session, actor))


async def notify_staff_of_certificate(session: AsyncSession, absence: Absence) -> None:
    """Queue the 'certificate to review' email to the family file service (sent by the mail
    worker, `mail.staff_mail`)."""
    await notify_certificate_to_review(session, absence)


async def _certificate(
    session: AsyncSession, family_id: int, document_id: int | None
) -> Document | None:
    """The medical certificate `document_id` of the family (None for no id)."""
    if document_id is None:
        return None
    document = await session.get(Document, document_id)
    if document is None:
        raise NotFound("unknown absence or document")
    if document.family_id != family_id:
        raise AccessDenied("the certificate belongs to another family")
    if document.doc_type is not DocumentType.MEDICAL_CERTIFICATE:
        raise InvalidAbsence("only a medical certificate can excuse an absence")
    return document


def _takes_certificate(absence: Absence, document: Document | None) -> bool:
    """Whether a report's certificate is attached to this absence: not one excused already
    (its accepted certificate stays), nor one that holds this certificate."""
    return (
        document is not None
        and absence.status is not AbsenceStatus.EXCUSED
        and absence.certificate_id != document.id
    )


async def _attach(
    session: AsyncSession, actor: Actor, absence: Absence, document: Document
) -> None:
    """Link the certificate to the absence (reopening a refused one) and tell the service."""
    absence.certificate_id = document.id
    reopened = (
        absence.status is AbsenceStatus.REFUSED and document.status is DocumentStatus.PENDING
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


async def _report_child(
    session: AsyncSession,
    actor: Actor,
    child: Child,
    start: date,
    end: date,
    reason: AbsenceReason,
    detail: str | None,
) -> list[tuple[Absence, ReportChange]]:
    """One child's report over [start, end], one absence per day: the absences staff decided
    on are left as they are (unchanged); each run of days outside them extends the absence
    still open that shares a day with it, or gets a new one."""
    overlapping = list(
        await session.scalars(
            select(Absence)
            .where(Absence.child_id == child.id, Absence.start <= end, Absence.end >= start)
            .order_by(Absence.id)
        )
    )
    decided = [a for a in overlapping if a.status is not AbsenceStatus.REPORTED]
    still_open = [a for a in overlapping if a.status is AbsenceStatus.REPORTED]
    changes: dict[int, tuple[Absence, ReportChange]] = {
        absence.id: (absence, ReportChange.UNCHANGED) for absence in decided
    }
    for first, last in _uncovered(start, end, [(a.start, a.end) for a in decided]):
        absence = next((a for a in still_open if a.start <= last and a.end >= first), None)
        if absence is None:
            absence = Absence(
                family_id=child.family_id,
                child_id=child.id,
                start=first,
                end=last,
                reason=reason,
                reason_detail=detail,
                status=AbsenceStatus.REPORTED,
                reference=new_reference(),
                created_by=actor.label,
            )
            session.add(absence)
            await session.flush()
            change = ReportChange.CREATED
            action = "report_absence"
        else:
            change = _extend(absence, first, last, reason, detail)
            action = f"{change.value}_absence"
        marked = await changed_rows(
            session,
            update(Booking)
            .where(
                Booking.child_id == child.id,
                Booking.day >= first,
                Booking.day <= last,
                Booking.state.in_((BookingState.CONFIRMED, BookingState.PENDING)),
                Booking.absence_id.is_(None),
            )
            .values(attendance=Attendance.ABSENT, absence_id=absence.id)
            .execution_options(synchronize_session=False),
        )
        if change is ReportChange.UNCHANGED and marked:
            change = ReportChange.UPDATED  # days booked since are marked absent too
        if change is not ReportChange.UNCHANGED:
            # The reason category is not health data; the free-text detail may be.
            record(session, actor, action, "absence", absence.id, days=marked)
        known = changes.get(absence.id)
        if known is None or known[1] is ReportChange.UNCHANGED:
            changes[absence.id] = (absence, change)
    return sorted(changes.values(), key=lambda item: (item[0].start, item[0].id))


def _extend(
    absence: Absence, first: date, last: date, reason: AbsenceReason, detail: str | None
) -> ReportChange:
    """Make an open absence cover [first, last] too, with the reason reported last."""
    change = ReportChange.UNCHANGED
    if first < absence.start or last > absence.end:
        absence.start, absence.end = min(absence.start, first), max(absence.end, last)
        change = ReportChange.EXTENDED
    if absence.reason is not reason or (detail and detail != absence.reason_detail):
        absence.reason = reason
        absence.reason_detail = detail or absence.reason_detail
        if change is ReportChange.UNCHANGED:
            change = ReportChange.UPDATED
    return change


def _uncovered(
    start: date, end: date, covered: list[tuple[date, date]]
) -> list[tuple[date, date]]:
    """The runs of days of [start, end] outside the `covered` ranges, in order."""
    runs = []
    first = start
    for covered_start, covered_end in sorted(covered):
        if covered_start > first:
            runs.append((first, min(end, covered_start - timedelta(days=1))))
        first = max(first, covered_end + timedelta(days=1))
        if first > end:
            return runs
    if first <= end:
        runs.append((first, end))
    return runs


def _view(
    absence: Absence,
    days_marked: int,
    change: ReportChange = ReportChange.CREATED,
    *,
    shown: bool = True,
) -> AbsenceView:
    """An absence as its family sees it; `shown` False (a guardian who does not see health
    details) leaves out its reason and whether a certificate came with it."""
    return AbsenceView(
        id=absence.id,
        child_id=absence.child_id,
        start=absence.start,
        end=absence.end,
        reason=absence.reason if shown else None,
        status=absence.status,
        reference=absence.reference,
        has_certificate=shown and absence.certificate_id is not None,
        days_marked=days_marked,
        change=change,
        health_shown=shown,
    )
