"""Enrolment requests (inscriptions) and pre-registrations of a new child.

A guardian asks to enrol a child in an activity of the current school year, from a start date
and on chosen weekdays: the request waits for the activity's service, which accepts it (the
enrolment line, `Enrollment`, then exists and booking opens at once) or refuses it with a
reason. When the activity's enrolment capacity is reached, a request waits in a list (oldest
first; its position is computed). A guardian may also ask to add a new child to the family: the
family-file service accepts it (a `Child` is created) or refuses it with a reason.

Every request reaches its service by email through the outbox, and every decision reaches the
family on Telegram the same way, in the transaction that makes it. Only staff of the right
service decide (the activity's service; the family-file service for a new child), and the first
decision wins. Nothing here carries health data.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.bookings import age_on, eligible
from store.calendar import day_price
from store.clock import Clock, system_clock
from store.deadlines import PARIS
from store.family_file import FAMILY_FILE_SERVICE
from store.models import (
    Activity,
    Child,
    ChildConsent,
    ChildRegistration,
    Document,
    Enrollment,
    EnrolmentRequest,
    Facility,
    Family,
    OpeningDay,
    Service,
    StaffMember,
)
from store.models.enums import ActivityKind, ActorKind, DocumentStatus, RequestStatus
from store.outbox import notify_family
from store.staff_notices import notify_service, service_recipient

# A school year starts on the 1st of September ("2026-2027").
SCHOOL_YEAR_START_MONTH = 9
# The school levels a new child may be registered at; "NS": not yet at school.
SCHOOL_LEVELS = ("PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2", "NS")
NOT_AT_SCHOOL = "NS"
# A child registered through the chat is under this age (older: the service is asked directly).
MAX_CHILD_AGE = 17
NAME_LENGTH = 100
REASON_LENGTH = 500
# Requests still open: they count as "already asked" and may be decided.
OPEN = (RequestStatus.PENDING, RequestStatus.WAITLISTED)
LEISURE_WEDNESDAY = 2


class EnrolmentRefused(StoreError):
    """A request the store will not record, and why (`code`, a catalog suffix)."""

    def __init__(self, code: str, *, until: date | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.until = until


class AlreadyDecided(StoreError):
    """The request was decided already (the first decision wins)."""

    def __init__(self, status: RequestStatus) -> None:
        super().__init__(f"already {status.value}")
        self.status = status


class DecisionRefused(StoreError):
    """A decision the store will not make: `code` says why (no_place, reason_required)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SchoolYear:
    """A school year: its label ("2026-2027") and its first and last days."""

    label: str
    start: date
    end: date


@dataclass(frozen=True)
class OfferedActivity:
    """An activity a child may be enrolled in: its price for the family (None: no price
    known), the weekdays it opens on (0 = Monday), its rules (`store.policies.ActivityRules`
    as stored), and what the child still lacks for it (document types, consent kinds)."""

    id: int
    name: str
    facility_name: str
    kind: ActivityKind
    price_cents: int | None
    weekdays: tuple[int, ...]
    first_day: date
    last_day: date
    requires_validation: bool
    rules: dict[str, object]
    missing_documents: tuple[str, ...]
    pending_documents: tuple[str, ...]
    missing_consents: tuple[str, ...]
    full: bool

    @property
    def preselected_weekdays(self) -> tuple[int, ...]:
        """The weekdays ticked before the parent chooses: the only one, or Wednesday for a
        leisure centre that opens on Wednesdays."""
        if len(self.weekdays) == 1:
            return self.weekdays
        if self.kind is ActivityKind.LEISURE_CENTRE and LEISURE_WEDNESDAY in self.weekdays:
            return (LEISURE_WEDNESDAY,)
        return ()


@dataclass(frozen=True)
class EnrolmentOffer:
    """For one child: the school year, and the activities the child may be enrolled in."""

    child_id: int
    child_name: str
    year: SchoolYear
    activities: tuple[OfferedActivity, ...]


@dataclass(frozen=True)
class EnrolmentView:
    """An enrolment request as its family and staff read it."""

    id: int
    family_id: int
    family_name: str
    child_id: int
    child_name: str
    activity_id: int
    activity_name: str
    school_year: str
    starts_on: date
    weekdays: tuple[int, ...]
    status: RequestStatus
    position: int | None
    reason: str | None
    requested_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class RegistrationView:
    """A pre-registration of a new child as its family and staff read it."""

    id: int
    family_id: int
    family_name: str
    first_name: str
    last_name: str
    birth_date: date
    school_level: str
    status: RequestStatus
    reason: str | None
    child_id: int | None
    requested_at: datetime
    decided_at: datetime | None


def school_year_of(today: date) -> tuple[str, date]:
    """The label and first day of the school year `today` falls in."""
    first = today.year if today.month >= SCHOOL_YEAR_START_MONTH else today.year - 1
    return f"{first}-{first + 1}", date(first, SCHOOL_YEAR_START_MONTH, 1)


class EnrolmentService:
    """Ask for, list and decide enrolments and pre-registrations."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(PARIS).date()

    # The family's side -----------------------------------------------------------------------

    async def school_year(self) -> SchoolYear:
        """The current school year; it ends when its enrolments do (as the import gave them),
        else on the 31st of August."""
        async with self._sessions() as session:
            return await _school_year(session, self.today())

    async def offer(self, actor: Actor, child_id: int) -> EnrolmentOffer:
        """The activities of the school year the child may be enrolled in (age, level, days
        left), not already enrolled in nor asked for; NotFound for another family's child."""
        today = self.today()
        async with self._sessions() as session:
            child = await _family_child(session, actor, child_id)
            year = await _school_year(session, today)
            activities = await _open_activities(session, today, year)
            taken = await _taken_activities(session, child.id, year.label, today)
            offered = []
            for activity, facility_name in activities:
                if activity.id in taken or not eligible(activity, child, today):
                    continue
                offered.append(
                    await _offered(session, activity, facility_name, child, year, today)
                )
            return EnrolmentOffer(child.id, child.first_name, year, tuple(offered))

    async def offered(self, actor: Actor, child_id: int, activity_id: int) -> OfferedActivity:
        """One activity of the child's offer; EnrolmentRefused("not_eligible") otherwise."""
        offer = await self.offer(actor, child_id)
        for activity in offer.activities:
            if activity.id == activity_id:
                return activity
        raise EnrolmentRefused("not_eligible")

    async def request(
        self,
        actor: Actor,
        child_id: int,
        activity_id: int,
        starts_on: date,
        weekdays: Sequence[int],
    ) -> EnrolmentView:
        """Ask to enrol the child from `starts_on` on `weekdays`: pending, or waitlisted when
        the activity is full; the activity's service is told by email. Everything is checked
        again here (the child is the family's, eligible, not enrolled nor asked for already,
        the date within the year, the weekdays among the activity's)."""
        if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
            raise AccessDenied("a guardian asks for an enrolment")
        today = self.today()
        async with self._sessions.begin() as session:
            child = await _family_child(session, actor, child_id)
            year = await _school_year(session, today)
            activity = await session.get(Activity, activity_id, with_for_update=True)
            if activity is None:
                raise EnrolmentRefused("not_eligible")
            open_days = await _open_days(session, activity.id, today, year.end)
            if not open_days or not eligible(activity, child, today):
                raise EnrolmentRefused("not_eligible")
            if await _enrolled(session, child.id, activity.id, year.label, today):
                raise EnrolmentRefused("already_enrolled")
            if await _asked(session, child.id, activity.id, year.label):
                raise EnrolmentRefused("already_requested")
            if starts_on < today:
                raise EnrolmentRefused("past_date")
            if starts_on > year.end:
                raise EnrolmentRefused("after_year", until=year.end)
            if starts_on > open_days[-1]:
                raise EnrolmentRefused("no_day_left", until=open_days[-1])
            open_weekdays = {day.weekday() for day in open_days}
            chosen = sorted(set(weekdays))
            if not chosen:
                raise EnrolmentRefused("no_weekday")
            if not set(chosen) <= open_weekdays:
                raise EnrolmentRefused("closed_weekday")
            full = await _full(session, activity, year.label)
            request = EnrolmentRequest(
                family_id=child.family_id,
                child_id=child.id,
                activity_id=activity.id,
                school_year=year.label,
                starts_on=starts_on,
                weekdays=chosen,
                status=RequestStatus.WAITLISTED if full else RequestStatus.PENDING,
                requested_by=actor.id,
                requested_at=self._clock(),
            )
            session.add(request)
            await session.flush()
            record(
                session,
                actor,
                "request_enrolment",
                "enrolment_request",
                request.id,
                activity=activity.code,
                status=request.status.value,
            )
            await notify_service(
                session,
                await service_recipient(session, service_id=activity.service_id),
                "enrolment_to_decide",
                {"request_id": request.id},
                f"enrolment:{request.id}:to_decide",
            )
            return await _enrolment_view(session, request)

    async def family_enrolments(self, actor: Actor, family_id: int) -> list[EnrolmentView]:
        """The family's enrolment requests, newest first."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(EnrolmentRequest)
                .where(EnrolmentRequest.family_id == family_id)
                .order_by(EnrolmentRequest.requested_at.desc(), EnrolmentRequest.id.desc())
            )
            return [await _enrolment_view(session, request) for request in rows]

    async def register_child(
        self,
        actor: Actor,
        first_name: str,
        last_name: str,
        birth_date: date,
        school_level: str,
    ) -> RegistrationView:
        """Ask to add a new child to the family: pending until the family-file service
        decides; the service is told by email."""
        if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
            raise AccessDenied("a guardian registers a child")
        first, last = check_name(first_name), check_name(last_name)
        check_birth_date(birth_date, self.today())
        if school_level not in SCHOOL_LEVELS:
            raise EnrolmentRefused("bad_level")
        async with self._sessions.begin() as session:
            family = await session.get(Family, actor.family_id, with_for_update=True)
            if family is None:
                raise NotFound("unknown family")
            same = func.lower(Child.first_name) == first.lower()
            known = await session.scalar(
                select(Child.id).where(
                    Child.family_id == family.id, same, Child.birth_date == birth_date
                )
            )
            asked = await session.scalar(
                select(ChildRegistration.id).where(
                    ChildRegistration.family_id == family.id,
                    func.lower(ChildRegistration.first_name) == first.lower(),
                    ChildRegistration.birth_date == birth_date,
                    ChildRegistration.status == RequestStatus.PENDING,
                )
            )
            if known is not None or asked is not None:
                raise EnrolmentRefused("already_registered")
            registration = ChildRegistration(
                family_id=family.id,
                first_name=first,
                last_name=last,
                birth_date=birth_date,
                school_level=school_level,
                status=RequestStatus.PENDING,
                requested_by=actor.id,
                requested_at=self._clock(),
            )
            session.add(registration)
            await session.flush()
            record(session, actor, "register_child", "child_registration", registration.id)
            await notify_service(
                session,
                await service_recipient(session, code=FAMILY_FILE_SERVICE),
                "registration_to_decide",
                {"registration_id": registration.id},
                f"registration:{registration.id}:to_decide",
            )
            return _registration_view(registration, family.name)

    async def family_registrations(self, actor: Actor, family_id: int) -> list[RegistrationView]:
        """The family's pre-registrations, newest first."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            family = await session.get(Family, family_id)
            if family is None:
                raise NotFound("unknown family")
            rows = await session.scalars(
                select(ChildRegistration)
                .where(ChildRegistration.family_id == family_id)
                .order_by(ChildRegistration.requested_at.desc(), ChildRegistration.id.desc())
            )
            return [_registration_view(row, family.name) for row in rows]

    # The services' side ---------------------------------------------------------------------

    async def enrolments(self, actor: Actor, *, everything: bool = False) -> list[EnrolmentView]:
        """Staff: the requests still open (all of them with `everything`), oldest first."""
        actor.check_staff()
        query = select(EnrolmentRequest).order_by(
            EnrolmentRequest.requested_at, EnrolmentRequest.id
        )
        if not everything:
            query = query.where(EnrolmentRequest.status.in_(OPEN))
        async with self._sessions() as session:
            return [await _enrolment_view(session, row) for row in await session.scalars(query)]

    async def enrolment(self, actor: Actor, request_id: int) -> EnrolmentView:
        """Staff: one request; NotFound otherwise."""
        actor.check_staff()
        async with self._sessions() as session:
            request = await session.get(EnrolmentRequest, request_id)
            if request is None:
                raise NotFound("unknown enrolment request")
            return await _enrolment_view(session, request)

    async def decide_enrolment(
        self, actor: Actor, request_id: int, accept: bool, reason: str = ""
    ) -> EnrolmentView:
        """Staff of the activity's service accept (the enrolment line is created from the
        request's start date, on its weekdays; a free place is needed) or refuse (a reason is
        needed) an open request; the family is told."""
        actor.check_staff()
        reason = reason.strip()[:REASON_LENGTH]
        if not accept and not reason:
            raise DecisionRefused("reason_required")
        async with self._sessions.begin() as session:
            request = await session.get(EnrolmentRequest, request_id, with_for_update=True)
            if request is None:
                raise NotFound("unknown enrolment request")
            activity = await session.get(Activity, request.activity_id, with_for_update=True)
            assert activity is not None
            await _check_service(session, actor, activity.service_id)
            if request.status not in OPEN:
                raise AlreadyDecided(request.status)
            if accept:
                if await _full(session, activity, request.school_year, queue=False):
                    raise DecisionRefused("no_place")
                year = await _school_year(session, self.today())
                ends_on = year.end if year.label == request.school_year else request.starts_on
                enrollment = Enrollment(
                    child_id=request.child_id,
                    activity_id=request.activity_id,
                    school_year=request.school_year,
                    starts_on=request.starts_on,
                    ends_on=max(ends_on, request.starts_on),
                    weekdays=list(request.weekdays or []),
                )
                session.add(enrollment)
                await session.flush()
                request.enrollment_id = enrollment.id
            request.conclude(accept, reason, actor.staff_id, self._clock())
            record(
                session,
                actor,
                "decide_enrolment",
                "enrolment_request",
                request.id,
                accepted=accept,
            )
            await notify_family(
                session,
                request.family_id,
                "enrolment_accepted" if accept else "enrolment_refused",
                {"request_id": request.id},
                event_key=f"enrolment:{request.id}:{request.status.value}",
            )
            return await _enrolment_view(session, request)

    async def registrations(
        self, actor: Actor, *, everything: bool = False
    ) -> list[RegistrationView]:
        """Staff: the pre-registrations still pending (all with `everything`), oldest first."""
        actor.check_staff()
        query = (
            select(ChildRegistration, Family.name)
            .join(Family, Family.id == ChildRegistration.family_id)
            .order_by(ChildRegistration.requested_at, ChildRegistration.id)
        )
        if not everything:
            query = query.where(ChildRegistration.status == RequestStatus.PENDING)
        async with self._sessions() as session:
            return [_registration_view(row, name) for row, name in await session.execute(query)]

    async def registration(self, actor: Actor, registration_id: int) -> RegistrationView:
        """Staff: one pre-registration; NotFound otherwise."""
        actor.check_staff()
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(ChildRegistration, Family.name)
                    .join(Family, Family.id == ChildRegistration.family_id)
                    .where(ChildRegistration.id == registration_id)
                )
            ).first()
            if found is None:
                raise NotFound("unknown registration")
            return _registration_view(found[0], found[1])

    async def decide_registration(
        self, actor: Actor, registration_id: int, accept: bool, reason: str = ""
    ) -> RegistrationView:
        """Staff of the family-file service accept (the child is added to the family, with a
        code of its own) or refuse (a reason is needed) a pending pre-registration; the family
        is told."""
        actor.check_staff()
        reason = reason.strip()[:REASON_LENGTH]
        if not accept and not reason:
            raise DecisionRefused("reason_required")
        async with self._sessions.begin() as session:
            registration = await session.get(
                ChildRegistration, registration_id, with_for_update=True
            )
            if registration is None:
                raise NotFound("unknown registration")
            await _check_family_file_staff(session, actor)
            if registration.status is not RequestStatus.PENDING:
                raise AlreadyDecided(registration.status)
            family = await session.get(Family, registration.family_id)
            assert family is not None
            if accept:
                child = Child(
                    family_id=family.id,
                    code=await _new_child_code(session, family.code),
                    first_name=registration.first_name,
                    last_name=registration.last_name,
                    birth_date=registration.birth_date,
                    school_level=registration.school_level,
                )
                session.add(child)
                await session.flush()
                registration.child_id = child.id
            registration.conclude(accept, reason, actor.staff_id, self._clock())
            record(
                session,
                actor,
                "decide_registration",
                "child_registration",
                registration.id,
                accepted=accept,
            )
            await notify_family(
                session,
                family.id,
                "registration_accepted" if accept else "registration_refused",
                {"registration_id": registration.id},
                event_key=f"registration:{registration.id}:{registration.status.value}",
            )
            return _registration_view(registration, family.name)


# Checks shared with the chat (which checks typed input before the recap) ---------------------


def check_name(value: str) -> str:
    """A first or last name as typed, trimmed; EnrolmentRefused("bad_name") when empty, too
    long, or made of no letter."""
    name = " ".join(value.split())
    if not name or len(name) > NAME_LENGTH or not any(c.isalpha() for c in name):
        raise EnrolmentRefused("bad_name")
    return name


def check_birth_date(birth_date: date, today: date) -> None:
    """Refuse a birth date in the future, or of a child older than `MAX_CHILD_AGE`."""
    if birth_date > today:
        raise EnrolmentRefused("future_birth")
    if age_on(birth_date, today) > MAX_CHILD_AGE:
        raise EnrolmentRefused("too_old")


# Facts for the notifications (the outbox worker acts for no family) ------------------------


async def enrolment_facts(
    sessions: async_sessionmaker[AsyncSession], request_id: int
) -> EnrolmentView | None:
    """An enrolment request as the family's notice and the service's email tell it."""
    async with sessions() as session:
        request = await session.get(EnrolmentRequest, request_id)
        return None if request is None else await _enrolment_view(session, request)


async def registration_facts(
    sessions: async_sessionmaker[AsyncSession], registration_id: int
) -> RegistrationView | None:
    """A pre-registration as the family's notice and the service's email tell it."""
    async with sessions() as session:
        found = (
            await session.execute(
                select(ChildRegistration, Family.name)
                .join(Family, Family.id == ChildRegistration.family_id)
                .where(ChildRegistration.id == registration_id)
            )
        ).first()
        return None if found is None else _registration_view(found[0], found[1])


async def activity_place(
    sessions: async_sessionmaker[AsyncSession], activity_id: int
) -> tuple[str, str] | None:
    """An activity's name and its facility's, for a service's email."""
    async with sessions() as session:
        found = (
            await session.execute(
                select(Activity.name, Facility.name)
                .join(Facility, Facility.id == Activity.facility_id)
                .where(Activity.id == activity_id)
            )
        ).first()
        return None if found is None else (found[0], found[1])


# Helpers --------------------------------------------------------------------------------------


async def _school_year(session: AsyncSession, today: date) -> SchoolYear:
    label, start = school_year_of(today)
    end = await session.scalar(
        select(func.max(Enrollment.ends_on)).where(Enrollment.school_year == label)
    )
    return SchoolYear(label, start, end or date(start.year + 1, 8, 31))


async def _family_child(session: AsyncSession, actor: Actor, child_id: int) -> Child:
    """The child, when the actor may act for its family; NotFound otherwise (the same answer
    for another family's child and for no child at all)."""
    child = await session.get(Child, child_id)
    if child is None:
        raise NotFound("unknown child")
    try:
        actor.check_family(child.family_id)
    except AccessDenied:
        raise NotFound("unknown child") from None
    return child


async def _open_activities(
    session: AsyncSession, today: date, year: SchoolYear
) -> list[tuple[Activity, str]]:
    """The activities with a day still open this school year, by name."""
    has_days = (
        select(OpeningDay.id)
        .where(
            OpeningDay.activity_id == Activity.id,
            OpeningDay.day >= today,
            OpeningDay.day <= year.end,
            OpeningDay.closed.is_(False),
        )
        .exists()
    )
    rows = await session.execute(
        select(Activity, Facility.name)
        .join(Facility, Facility.id == Activity.facility_id)
        .where(has_days)
        .order_by(Activity.name, Activity.id)
    )
    return [(activity, name) for activity, name in rows]


async def _open_days(
    session: AsyncSession, activity_id: int, today: date, until: date
) -> list[date]:
    return list(
        await session.scalars(
            select(OpeningDay.day)
            .where(
                OpeningDay.activity_id == activity_id,
                OpeningDay.day >= today,
                OpeningDay.day <= until,
                OpeningDay.closed.is_(False),
            )
            .order_by(OpeningDay.day)
        )
    )


async def _taken_activities(
    session: AsyncSession, child_id: int, year: str, today: date
) -> set[int]:
    """The activities the child is enrolled in (still running) or asked for, this year."""
    enrolled = await session.scalars(
        select(Enrollment.activity_id).where(
            Enrollment.child_id == child_id,
            Enrollment.school_year == year,
            Enrollment.ends_on >= today,
        )
    )
    asked = await session.scalars(
        select(EnrolmentRequest.activity_id).where(
            EnrolmentRequest.child_id == child_id,
            EnrolmentRequest.school_year == year,
            EnrolmentRequest.status.in_(OPEN),
        )
    )
    return set(enrolled) | set(asked)


async def _enrolled(
    session: AsyncSession, child_id: int, activity_id: int, year: str, today: date
) -> bool:
    found = await session.scalar(
        select(Enrollment.id).where(
            Enrollment.child_id == child_id,
            Enrollment.activity_id == activity_id,
            Enrollment.school_year == year,
            Enrollment.ends_on >= today,
        )
    )
    return found is not None


async def _asked(session: AsyncSession, child_id: int, activity_id: int, year: str) -> bool:
    found = await session.scalar(
        select(EnrolmentRequest.id).where(
            EnrolmentRequest.child_id == child_id,
            EnrolmentRequest.activity_id == activity_id,
            EnrolmentRequest.school_year == year,
            EnrolmentRequest.status.in_((*OPEN, RequestStatus.ACCEPTED)),
        )
    )
    return found is not None


async def _full(
    session: AsyncSession, activity: Activity, year: str, *, queue: bool = True
) -> bool:
    """Whether the activity has no enrolment place left this year (a limit reached); with
    `queue`, a waiting list already there counts as full too (no one jumps it)."""
    if activity.enrolment_capacity is None:
        return False
    enrolled = await session.scalar(
        select(func.count(Enrollment.id)).where(
            Enrollment.activity_id == activity.id, Enrollment.school_year == year
        )
    )
    if (enrolled or 0) >= activity.enrolment_capacity:
        return True
    if not queue:
        return False
    waiting = await session.scalar(
        select(EnrolmentRequest.id)
        .where(
            EnrolmentRequest.activity_id == activity.id,
            EnrolmentRequest.school_year == year,
            EnrolmentRequest.status == RequestStatus.WAITLISTED,
        )
        .limit(1)
    )
    return waiting is not None


async def waitlist_positions(
    session: AsyncSession, requests: Sequence[EnrolmentRequest]
) -> dict[int, int]:
    """Each waitlisted request's place on its activity's list for its school year (1: next),
    oldest first; the one rule the chat, the requests list and staff read positions by."""
    positions: dict[int, int] = {}
    lists = {
        (request.activity_id, request.school_year)
        for request in requests
        if request.status is RequestStatus.WAITLISTED
    }
    for activity_id, year in lists:
        queue = await session.scalars(
            select(EnrolmentRequest.id)
            .where(
                EnrolmentRequest.activity_id == activity_id,
                EnrolmentRequest.school_year == year,
                EnrolmentRequest.status == RequestStatus.WAITLISTED,
            )
            .order_by(EnrolmentRequest.requested_at, EnrolmentRequest.id)
        )
        positions.update({request_id: rank for rank, request_id in enumerate(queue, start=1)})
    return positions


async def _offered(
    session: AsyncSession,
    activity: Activity,
    facility_name: str,
    child: Child,
    year: SchoolYear,
    today: date,
) -> OfferedActivity:
    band = select(Family.tariff_band).where(Family.id == child.family_id).scalar_subquery()
    price = await session.scalar(select(day_price(activity.id, band)))
    upcoming = await _open_days(session, activity.id, today, year.end)
    missing, pending = await _documents_lacking(session, child, activity.required_documents)
    consents = await _consents_lacking(session, child.id, activity.required_consents)
    return OfferedActivity(
        id=activity.id,
        name=activity.name,
        facility_name=facility_name,
        kind=activity.kind,
        price_cents=price,
        weekdays=tuple(sorted({day.weekday() for day in upcoming})),
        first_day=upcoming[0],
        last_day=upcoming[-1],
        requires_validation=activity.requires_validation,
        rules=dict(activity.rules or {}),
        missing_documents=missing,
        pending_documents=pending,
        missing_consents=consents,
        full=await _full(session, activity, year.label),
    )


async def _documents_lacking(
    session: AsyncSession, child: Child, required: Sequence[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The required document types not accepted for the child (or the family): those not sent
    at all, and those sent and awaiting validation."""
    if not required:
        return (), ()
    rows = (
        await session.execute(
            select(Document.doc_type, Document.status).where(
                Document.family_id == child.family_id,
                (Document.child_id == child.id) | Document.child_id.is_(None),
                Document.status != DocumentStatus.REJECTED,
            )
        )
    ).all()
    accepted = {kind.value for kind, status in rows if status is DocumentStatus.ACCEPTED}
    sent = {kind.value for kind, status in rows if status is DocumentStatus.PENDING}
    lacking = [doc_type for doc_type in required if doc_type not in accepted]
    return (
        tuple(doc_type for doc_type in lacking if doc_type not in sent),
        tuple(doc_type for doc_type in lacking if doc_type in sent),
    )


async def _consents_lacking(
    session: AsyncSession, child_id: int, required: Sequence[str] | None
) -> tuple[str, ...]:
    """The required consents not given for the child (refused or not answered)."""
    if not required:
        return ()
    given = set(
        await session.scalars(
            select(ChildConsent.kind).where(
                ChildConsent.child_id == child_id, ChildConsent.granted.is_(True)
            )
        )
    )
    given_values = {kind.value for kind in given}
    return tuple(kind for kind in required if kind not in given_values)


async def _check_service(session: AsyncSession, actor: Actor, service_id: int | None) -> None:
    """Refuse a staff member of another service than `service_id` (the system may decide;
    an activity without a service is decided by any staff member)."""
    if actor.kind is not ActorKind.STAFF or service_id is None:
        return
    staff_service = await session.scalar(
        select(StaffMember.service_id).where(StaffMember.id == actor.id)
    )
    if staff_service != service_id:
        raise AccessDenied("another service decides this request")


async def _check_family_file_staff(session: AsyncSession, actor: Actor) -> None:
    """Refuse a staff member who is not of the family-file service."""
    if actor.kind is not ActorKind.STAFF:
        return
    code = await session.scalar(
        select(Service.code)
        .join(StaffMember, StaffMember.service_id == Service.id)
        .where(StaffMember.id == actor.id)
    )
    if code != FAMILY_FILE_SERVICE:
        raise AccessDenied("the family-file service decides this request")


async def _new_child_code(session: AsyncSession, family_code: str) -> str:
    """A child code no other child has: the family's code and a short random tag."""
    while True:
        code = f"{family_code}-{secrets.token_hex(3).upper()}"[:40]
        if await session.scalar(select(Child.id).where(Child.code == code)) is None:
            return code


async def _enrolment_view(session: AsyncSession, request: EnrolmentRequest) -> EnrolmentView:
    row = (
        await session.execute(
            select(Child.first_name, Activity.name, Family.name)
            .select_from(EnrolmentRequest)
            .join(Child, Child.id == EnrolmentRequest.child_id)
            .join(Activity, Activity.id == EnrolmentRequest.activity_id)
            .join(Family, Family.id == EnrolmentRequest.family_id)
            .where(EnrolmentRequest.id == request.id)
        )
    ).one()
    return EnrolmentView(
        id=request.id,
        family_id=request.family_id,
        family_name=row[2],
        child_id=request.child_id,
        child_name=row[0],
        activity_id=request.activity_id,
        activity_name=row[1],
        school_year=request.school_year,
        starts_on=request.starts_on,
        weekdays=tuple(request.weekdays or ()),
        status=request.status,
        position=(await waitlist_positions(session, [request])).get(request.id),
        reason=request.reason,
        requested_at=request.requested_at,
        decided_at=request.decided_at,
    )


def _registration_view(registration: ChildRegistration, family_name: str) -> RegistrationView:
    return RegistrationView(
        id=registration.id,
        family_id=registration.family_id,
        family_name=family_name,
        first_name=registration.first_name,
        last_name=registration.last_name,
        birth_date=registration.birth_date,
        school_level=registration.school_level,
        status=registration.status,
        reason=registration.reason,
        child_id=registration.child_id,
        requested_at=registration.requested_at,
        decided_at=registration.decided_at,
    )
