"""Booking and cancelling days: the rules a parent's request goes through, in one place.

`book` takes several children (siblings) and several days in one call and answers one outcome
per child and day; nothing is trusted from the caller but the actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import deadlines
from store.actors import AccessDenied, Actor, NotFound
from store.audit import record
from store.calendar import activity_rules, price_for_band, working_calendar
from store.capacity import give_back_place, promote_waitlist, take_place
from store.clock import Clock, system_clock
from store.models import Activity, Booking, Child, Document, Enrollment, Family, OpeningDay
from store.models.enums import BookingState, DocumentStatus
from store.outbox import notify_family
from store.policies import ActivityRules
from store.staff_notices import notify_bookings_to_validate

ACTIVE_STATES = (BookingState.PENDING, BookingState.CONFIRMED, BookingState.WAITLISTED)
PLACE_HOLDING_STATES = (BookingState.PENDING, BookingState.CONFIRMED)
# How many open days after a refused one are tried when suggesting the next bookable day.
NEXT_DAY_SEARCH_LIMIT = 60


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    PENDING = "pending"
    WAITLISTED = "waitlisted"
    REFUSED = "refused"


class Refusal(StrEnum):
    """Why a day could not be booked or cancelled."""

    PAST = "past"
    DEADLINE_PASSED = "deadline_passed"
    WINDOW_NOT_OPEN = "window_not_open"
    WINDOW_CLOSED = "window_closed"
    NO_WINDOW = "no_window"
    FROZEN = "frozen"
    FULL = "full"
    CLOSED = "closed"
    NOT_ENROLLED = "not_enrolled"
    NOT_ELIGIBLE = "not_eligible"
    DOCUMENT_MISSING = "document_missing"
    ALREADY_BOOKED = "already_booked"
    NO_PRICE = "no_price"
    NOT_CANCELLABLE = "not_cancellable"


@dataclass(frozen=True)
class BookingOutcome:
    """What happened to one child on one day."""

    child_id: int
    day: date
    outcome: Outcome
    refusal: Refusal | None = None
    price_cents: int = 0
    surcharge_cents: int = 0
    booking_id: int | None = None
    deadline: datetime | None = None
    opens_at: datetime | None = None
    missing_document: str | None = None
    next_bookable_day: date | None = None


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"
    REFUSED = "refused"


@dataclass(frozen=True)
class CancellationResult:
    """What happened to one booking asked to be cancelled."""

    booking_id: int
    day: date
    outcome: CancelOutcome
    fee_cents: int = 0
    refusal: Refusal | None = None
    deadline: datetime | None = None
    promoted_booking_id: int | None = None


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def eligible(activity: Activity, child: Child, day: date) -> bool:
    """Whether the child's age and school level fit the activity on that day."""
    age = age_on(child.birth_date, day)
    if activity.min_age is not None and age < activity.min_age:
        return False
    if activity.max_age is not None and age > activity.max_age:
        return False
    return not activity.levels or child.school_level in activity.levels


class BookingService:
    """Book, cancel and validate days of activities."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    async def book(
        self,
        actor: Actor,
        child_ids: Sequence[int],
        activity_id: int,
        days: Iterable[date],
        *,
        dry_run: bool = False,
    ) -> list[BookingOutcome]:
        """Book `days` of an activity for each child; one outcome per child and day.

        With `dry_run`, nothing is written: the outcomes are what booking would give now (used
        for the recap before the parent confirms; capacity may still change before then).
        """
        wanted_days = sorted(set(days))
        now = self._clock()
        async with self._sessions.begin() as session:
            children = await self._children_of(session, actor, child_ids)
            activity = await session.get(Activity, activity_id)
            if activity is None:
                raise NotFound("unknown activity")
            outcomes: list[BookingOutcome] = []
            if not wanted_days:
                return outcomes
            family = await session.get(Family, children[0].family_id)
            assert family is not None
            rules = activity_rules(activity)
            calendar = await working_calendar(
                session, activity.id, wanted_days[0], wanted_days[-1]
            )
            price = await price_for_band(session, activity.id, family.tariff_band)
            opening = await self._opening_days(session, activity.id, wanted_days)
            open_days = await self._open_days_after(session, activity.id, wanted_days[0])
            for child in children:
                context = await _ChildContext.load(session, child, activity, wanted_days)
                for day in wanted_days:
                    outcome = await self._book_one(
                        session,
                        actor,
                        activity,
                        child,
                        day,
                        now,
                        rules,
                        calendar,
                        price,
                        opening.get(day),
                        context,
                        dry_run,
                    )
                    if outcome.outcome is Outcome.REFUSED and outcome.refusal in _TIME_REFUSALS:
                        later = [d for d in open_days if d > day]
                        outcome = _with_next_day(
                            outcome, deadlines.next_bookable_date(rules, later, now, calendar)
                        )
                    outcomes.append(outcome)
            if dry_run:
                await session.rollback()
            else:
                pending = [
                    outcome.booking_id
                    for outcome in outcomes
                    if outcome.outcome is Outcome.PENDING and outcome.booking_id is not None
                ]
                await notify_bookings_to_validate(session, activity.id, pending)
        return outcomes

    async def _book_one(
        self,
        session: AsyncSession,
        actor: Actor,
        activity: Activity,
        child: Child,
        day: date,
        now: datetime,
        rules: ActivityRules,
        calendar: deadlines.WorkingCalendar,
        price: int | None,
        opening_day: OpeningDay | None,
        context: _ChildContext,
        dry_run: bool,
    ) -> BookingOutcome:
        def refused(reason: Refusal, **extra: object) -> BookingOutcome:
            return BookingOutcome(child.id, day, Outcome.REFUSED, reason, **extra)  # type: ignore[arg-type]

        if opening_day is None or opening_day.closed:
            return refused(Refusal.CLOSED)
        if not context.enrolled_on(day):
            return refused(Refusal.NOT_ENROLLED)
        if not eligible(activity, child, day):
            return refused(Refusal.NOT_ELIGIBLE)
        missing = context.missing_document()
        if missing is not None:
            return refused(Refusal.DOCUMENT_MISSING, missing_document=missing)
        if day in context.booked_days:
            return refused(Refusal.ALREADY_BOOKED)
        if price is None:
            return refused(Refusal.NO_PRICE)
        decision = deadlines.evaluate_booking(rules, day, now, calendar, price)
        if decision.status is deadlines.BookingStatus.REFUSED:
            return refused(
                Refusal(decision.reason), deadline=decision.deadline, opens_at=decision.opens_at
            )
        timing = {
            "price_cents": decision.price_cents,
            "surcharge_cents": decision.surcharge_cents,
            "deadline": decision.deadline,
        }
        if dry_run:
            has_place = opening_day.taken < opening_day.capacity
            if not has_place and not activity.waitlist_enabled:
                return refused(Refusal.FULL)
            outcome = _placed_outcome(activity) if has_place else Outcome.WAITLISTED
            return BookingOutcome(child.id, day, outcome, **timing)  # type: ignore[arg-type]

        if await take_place(session, opening_day.id):
            state = BookingState(_placed_outcome(activity).value)
        elif activity.waitlist_enabled:
            state = BookingState.WAITLISTED
        else:
            return refused(Refusal.FULL)
        booking = Booking(
            family_id=child.family_id,
            child_id=child.id,
            activity_id=activity.id,
            opening_day_id=opening_day.id,
            day=day,
            state=state,
            price_cents=decision.price_cents,
            surcharge_cents=decision.surcharge_cents,
            created_by=actor.label,
        )
        try:
            async with session.begin_nested():
                session.add(booking)
        except IntegrityError:
            # Booked meanwhile by another request of the same family.
            if state in PLACE_HOLDING_STATES:
                await give_back_place(session, opening_day.id)
            return refused(Refusal.ALREADY_BOOKED)
        record(session, actor, "book", "booking", booking.id, state=state.value, day=str(day))
        return BookingOutcome(
            child.id,
            day,
            Outcome(state.value),
            booking_id=booking.id,
            **timing,  # type: ignore[arg-type]
        )

    async def cancel(self, actor: Actor, booking_ids: Iterable[int]) -> list[CancellationResult]:
        """Cancel bookings: free before the deadline, billed (or refused) after it."""
        now = self._clock()
        results = []
        async with self._sessions.begin() as session:
            for booking_id in sorted(set(booking_ids)):
                results.append(await self._cancel_one(session, actor, booking_id, now))
        return results

    async def _cancel_one(
        self, session: AsyncSession, actor: Actor, booking_id: int, now: datetime
    ) -> CancellationResult:
        booking = await session.get(Booking, booking_id, with_for_update=True)
        if booking is None:
            raise NotFound("unknown booking")
        actor.check_family(booking.family_id)
        if booking.state not in ACTIVE_STATES:
            return CancellationResult(
                booking.id, booking.day, CancelOutcome.REFUSED, refusal=Refusal.NOT_CANCELLABLE
            )
        if booking.state is BookingState.WAITLISTED:
            booking.state = BookingState.CANCELLED
            record(session, actor, "cancel", "booking", booking.id, was="waitlisted")
            return CancellationResult(booking.id, booking.day, CancelOutcome.CANCELLED)

        activity = await session.get(Activity, booking.activity_id)
        assert activity is not None
        rules = activity_rules(activity)
        calendar = await working_calendar(session, activity.id, booking.day, booking.day)
        decision = deadlines.evaluate_cancellation(
            rules, booking.day, now, calendar, booking.price_cents
        )
        if decision.status is deadlines.CancellationStatus.REFUSED:
            return CancellationResult(
                booking.id,
                booking.day,
                CancelOutcome.REFUSED,
                refusal=Refusal(decision.reason),
                deadline=decision.deadline,
            )
        late = decision.status is deadlines.CancellationStatus.LATE_BILLED
        booking.state = BookingState.LATE_CANCELLED if late else BookingState.CANCELLED
        booking.cancellation_fee_cents = decision.fee_cents if late else 0
        await session.flush()
        await give_back_place(session, booking.opening_day_id)
        promoted = await promote_waitlist(session, booking.opening_day_id)
        record(session, actor, "cancel", "booking", booking.id, late=late, fee=decision.fee_cents)
        return CancellationResult(
            booking.id,
            booking.day,
            CancelOutcome.LATE_CANCELLED if late else CancelOutcome.CANCELLED,
            fee_cents=booking.cancellation_fee_cents,
            deadline=decision.deadline,
            promoted_booking_id=promoted,
        )

    async def decide_pending(self, actor: Actor, booking_id: int, accept: bool) -> BookingState:
        """Staff accept or refuse a booking waiting for validation; the family is told."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            booking = await session.get(Booking, booking_id, with_for_update=True)
            if booking is None:
                raise NotFound("unknown booking")
            if booking.state is not BookingState.PENDING:
                return booking.state
            if accept:
                booking.state = BookingState.CONFIRMED
            else:
                booking.state = BookingState.REFUSED
                await session.flush()
                await give_back_place(session, booking.opening_day_id)
                await promote_waitlist(session, booking.opening_day_id)
            record(session, actor, "validate" if accept else "refuse", "booking", booking.id)
            await notify_family(
                session,
                booking.family_id,
                "booking_validated" if accept else "booking_refused",
                {"booking_id": booking.id, "day": booking.day.isoformat()},
                event_key=f"booking:{booking.id}:{booking.state.value}",
            )
            return booking.state

    async def family_bookings(
        self, actor: Actor, family_id: int, first_day: date, last_day: date
    ) -> list[Booking]:
        """The family's bookings between two days (all states), ordered by day."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Booking)
                .where(
                    Booking.family_id == family_id,
                    Booking.day >= first_day,
                    Booking.day <= last_day,
                )
                .order_by(Booking.day, Booking.child_id, Booking.id)
            )
            return list(rows)

    @staticmethod
    async def _children_of(
        session: AsyncSession, actor: Actor, child_ids: Sequence[int]
    ) -> list[Child]:
        if not child_ids:
            raise NotFound("no child given")
        children = list(
            await session.scalars(
                select(Child).where(Child.id.in_(set(child_ids))).order_by(Child.id)
            )
        )
        if len(children) != len(set(child_ids)):
            raise NotFound("unknown child")
        if len({child.family_id for child in children}) != 1:
            raise AccessDenied("children of several families")
        actor.check_family(children[0].family_id)
        return children

    @staticmethod
    async def _open_days_after(session: AsyncSession, activity_id: int, first: date) -> list[date]:
        """Open days from `first` on (bounded), to suggest the next day still bookable."""
        rows = await session.scalars(
            select(OpeningDay.day)
            .where(
                OpeningDay.activity_id == activity_id,
                OpeningDay.day >= first,
                OpeningDay.closed.is_(False),
            )
            .order_by(OpeningDay.day)
            .limit(NEXT_DAY_SEARCH_LIMIT)
        )
        return list(rows)

    @staticmethod
    async def _opening_days(
        session: AsyncSession, activity_id: int, days: list[date]
    ) -> dict[date, OpeningDay]:
        rows = await session.scalars(
            select(OpeningDay).where(
                OpeningDay.activity_id == activity_id,
                OpeningDay.day >= days[0],
                OpeningDay.day <= days[-1],
            )
        )
        return {row.day: row for row in rows}


_TIME_REFUSALS = frozenset(
    {
        Refusal.PAST,
        Refusal.DEADLINE_PASSED,
        Refusal.WINDOW_CLOSED,
        Refusal.WINDOW_NOT_OPEN,
        Refusal.NO_WINDOW,
        Refusal.FROZEN,
    }
)


def _placed_outcome(activity: Activity) -> Outcome:
    return Outcome.PENDING if activity.requires_validation else Outcome.CONFIRMED


def _with_next_day(outcome: BookingOutcome, next_day: date | None) -> BookingOutcome:
    return replace(outcome, next_bookable_day=next_day)


@dataclass
class _ChildContext:
    """What is known of one child for the activity, loaded once per call (no query per day)."""

    enrollments: list[tuple[date, date]]
    booked_days: set[date]
    missing: list[str]

    @classmethod
    async def load(
        cls, session: AsyncSession, child: Child, activity: Activity, days: list[date]
    ) -> _ChildContext:
        enrollments = (
            await session.execute(
                select(Enrollment.starts_on, Enrollment.ends_on).where(
                    Enrollment.child_id == child.id, Enrollment.activity_id == activity.id
                )
            )
        ).all()
        booked = await session.scalars(
            select(Booking.day).where(
                Booking.child_id == child.id,
                Booking.activity_id == activity.id,
                Booking.day >= days[0],
                Booking.day <= days[-1],
                Booking.state.in_(ACTIVE_STATES),
            )
        )
        missing: list[str] = []
        if activity.required_documents:
            accepted = set(
                await session.scalars(
                    select(Document.doc_type).where(
                        Document.family_id == child.family_id,
                        (Document.child_id.is_(None)) | (Document.child_id == child.id),
                        Document.status == DocumentStatus.ACCEPTED,
                    )
                )
            )
            missing = [doc for doc in activity.required_documents if doc not in accepted]
        return cls(list(enrollments), set(booked), missing)

    def enrolled_on(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.enrollments)

    def missing_document(self) -> str | None:
        return self.missing[0] if self.missing else None
