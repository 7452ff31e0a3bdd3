"""A child's planning for an activity: the state of each day, as the calendar shows it.

For each open day: can it be booked now, until when, at what price (with any surcharge); if
booked, can it still be cancelled for free; and one plain sentence that explains it. The legend
follows the portals parents know (booked, cancellable or not, full, waiting list, pending
validation, closed, deadline passed, past, late cancellation billed). A day that cannot be
booked for a reason of its own (closed, not enrolled, past, already booked) carries the
store's refusal reason (`store.bookings.Refusal`), so the chat words it as the store does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from store import deadlines
from store.actors import Actor, NotFound
from store.bookings import ACTIVE_STATES, Refusal, children_of, eligible
from store.calendar import (
    OpenDay,
    activity_and_price,
    activity_rules,
    calendar_and_days,
    rules_of,
    working_calendar,
)
from store.clock import Clock, system_clock
from store.models import Activity, Booking, Child, Enrollment
from store.models.enums import BookingState


class DayState(StrEnum):
    CLOSED = "closed"
    BOOKABLE = "bookable"
    BOOKABLE_LATE = "bookable_late"
    FULL = "full"
    UNAVAILABLE = "unavailable"
    BOOKED = "booked"
    BOOKED_LOCKED = "booked_locked"
    PENDING = "pending"
    WAITLISTED = "waitlisted"
    LATE_CANCELLED = "late_cancelled"
    NOT_ENROLLED = "not_enrolled"
    PAST = "past"


@dataclass(frozen=True)
class PlanningDay:
    """One day of the calendar for one child and activity."""

    day: date
    state: DayState
    booking_id: int | None = None
    price_cents: int = 0
    surcharge_cents: int = 0
    booking: deadlines.BookingDecision | None = None
    cancellation: deadlines.CancellationDecision | None = None
    # Why the day cannot be booked, when the reason is the day's own (closed, not enrolled or
    # not eligible, past, already booked); deadline refusals are in `booking`.
    refusal: Refusal | None = None
    # A late cancellation: when it was made (its fee is `price_cents`).
    cancelled_at: datetime | None = None

    @property
    def selectable_to_book(self) -> bool:
        return self.state in (DayState.BOOKABLE, DayState.BOOKABLE_LATE, DayState.FULL)

    @property
    def selectable_to_cancel(self) -> bool:
        if self.state in (DayState.PENDING, DayState.WAITLISTED, DayState.BOOKED):
            return True
        return (
            self.state is DayState.BOOKED_LOCKED
            and self.cancellation is not None
            and self.cancellation.status is deadlines.CancellationStatus.LATE_BILLED
        )


class PlanningService:
    """Read a child's days for an activity, with what the rules allow now."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    async def planning(
        self, actor: Actor, child_id: int, activity_id: int, first: date, last: date
    ) -> list[PlanningDay]:
        """Every calendar day of the activity between `first` and `last`, with its state."""
        return (await self.planning_many(actor, [child_id], activity_id, first, last))[child_id]

    async def planning_many(
        self, actor: Actor, child_ids: list[int], activity_id: int, first: date, last: date
    ) -> dict[int, list[PlanningDay]]:
        """The planning of several children (siblings) for one activity, read together.

        One query per kind of row (children, activity with its price, closed days, opening
        days, bookings, enrollments), whatever the number of children.
        """
        now = self._clock()
        async with self._sessions() as session:
            found = await children_of(session, actor, child_ids)
            activity, price = await activity_and_price(session, activity_id, found[0].family_id)
            month = await _ActivityMonth.load(session, activity, child_ids, first, last)
        children = {child.id: child for child in found}
        return {
            child_id: month.planning(children[child_id], price or 0, now) for child_id in child_ids
        }


class _Booked(NamedTuple):
    """What the planning reads of a booking (a row, not an ORM object)."""

    id: int
    child_id: int
    day: date
    state: BookingState
    price_cents: int
    surcharge_cents: int
    cancellation_fee_cents: int
    updated_at: datetime


_BOOKED_COLUMNS = (
    Booking.id,
    Booking.child_id,
    Booking.day,
    Booking.state,
    Booking.price_cents,
    Booking.surcharge_cents,
    Booking.cancellation_fee_cents,
    Booking.updated_at,
)


@dataclass
class _ActivityMonth:
    """What the planning of some children over some days reads from the store, read once."""

    activity: Activity
    rules: deadlines.ActivityRules
    calendar: deadlines.WorkingCalendar
    days: list[OpenDay]
    bookings: dict[tuple[int, date], _Booked]
    enrollments: dict[int, list[tuple[date, date]]]

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        activity: Activity,
        child_ids: list[int],
        first: date,
        last: date,
    ) -> _ActivityMonth:
        calendar, days = await calendar_and_days(session, activity.id, first, last)
        bookings = {
            (booking.child_id, booking.day): _Booked(*booking)
            for booking in await session.execute(
                select(*_BOOKED_COLUMNS)
                .where(
                    Booking.child_id.in_(child_ids),
                    Booking.activity_id == activity.id,
                    Booking.day >= first,
                    Booking.day <= last,
                    Booking.state.in_((*ACTIVE_STATES, BookingState.LATE_CANCELLED)),
                )
                .order_by(Booking.id)
            )
        }
        enrollments: dict[int, list[tuple[date, date]]] = {}
        for child_id, starts_on, ends_on in await session.execute(
            select(Enrollment.child_id, Enrollment.starts_on, Enrollment.ends_on).where(
                Enrollment.child_id.in_(child_ids), Enrollment.activity_id == activity.id
            )
        ):
            enrollments.setdefault(child_id, []).append((starts_on, ends_on))
        return cls(activity, activity_rules(activity), calendar, days, bookings, enrollments)

    def planning(self, child: Child, price: int, now: datetime) -> list[PlanningDay]:
        """One child's days, from what was read."""
        enrollments = self.enrollments.get(child.id, [])
        result = []
        for opening in self.days:
            booking = self.bookings.get((child.id, opening.day))
            if booking is not None:
                result.append(_booked_day(booking, self.rules, now, self.calendar))
            elif opening.closed:
                result.append(PlanningDay(opening.day, DayState.CLOSED, refusal=Refusal.CLOSED))
            elif not any(s <= opening.day <= e for s, e in enrollments):
                result.append(
                    PlanningDay(opening.day, DayState.NOT_ENROLLED, refusal=Refusal.NOT_ENROLLED)
                )
            elif not eligible(self.activity, child, opening.day):
                result.append(
                    PlanningDay(opening.day, DayState.NOT_ENROLLED, refusal=Refusal.NOT_ELIGIBLE)
                )
            else:
                decision = deadlines.evaluate_booking(
                    self.rules, opening.day, now, self.calendar, price
                )
                result.append(_free_day(opening, decision))
        return result


def _booked_day(
    booking: _Booked,
    rules: deadlines.ActivityRules,
    now: datetime,
    calendar: deadlines.WorkingCalendar,
) -> PlanningDay:
    if booking.state is BookingState.LATE_CANCELLED:
        return PlanningDay(
            booking.day,
            DayState.LATE_CANCELLED,
            booking.id,
            booking.cancellation_fee_cents,
            cancelled_at=booking.updated_at,
        )
    cancellation = deadlines.evaluate_cancellation(
        rules, booking.day, now, calendar, booking.price_cents
    )
    state = {
        BookingState.PENDING: DayState.PENDING,
        BookingState.WAITLISTED: DayState.WAITLISTED,
    }.get(booking.state)
    if state is None:
        free = cancellation.status is deadlines.CancellationStatus.FREE
        state = DayState.BOOKED if free else DayState.BOOKED_LOCKED
    return PlanningDay(
        booking.day,
        state,
        booking.id,
        booking.price_cents,
        booking.surcharge_cents,
        cancellation=cancellation,
        refusal=Refusal.ALREADY_BOOKED,
    )


def _free_day(opening: OpenDay, decision: deadlines.BookingDecision) -> PlanningDay:
    if decision.reason is deadlines.Reason.PAST:
        return PlanningDay(opening.day, DayState.PAST, refusal=Refusal.PAST)
    if decision.status is deadlines.BookingStatus.REFUSED:
        return PlanningDay(opening.day, DayState.UNAVAILABLE, booking=decision)
    if opening.taken >= opening.capacity:
        state = DayState.FULL
    elif decision.status is deadlines.BookingStatus.LATE:
        state = DayState.BOOKABLE_LATE
    else:
        state = DayState.BOOKABLE
    return PlanningDay(
        opening.day,
        state,
        price_cents=decision.price_cents,
        surcharge_cents=decision.surcharge_cents,
        booking=decision,
    )


async def enrolled_activities(
    sessions: async_sessionmaker[AsyncSession], actor: Actor, child_id: int, on: date
) -> list[tuple[int, str]]:
    """The activities (id, name) a child is enrolled in on a day, by name."""
    async with sessions() as session:
        family_id = await session.scalar(select(Child.family_id).where(Child.id == child_id))
        if family_id is None:
            raise NotFound("unknown child")
        actor.check_family(family_id)
        rows = await session.execute(
            select(Activity.id, Activity.name)
            .join(Enrollment, Enrollment.activity_id == Activity.id)
            .where(Enrollment.child_id == child_id, Enrollment.ends_on >= on)
            .order_by(Activity.name)
            .distinct()
        )
        return [(row.id, row.name) for row in rows]


@dataclass(frozen=True)
class UpcomingBooking:
    """A booked day still to come, with whether it can be cancelled for free now.

    A waitlisted day holds no place: leaving the waitlist is always free (as
    `BookingService.cancel` does it), and `waitlist_position` says where it stands (1: next
    to get a freed place).
    """

    booking_id: int
    child_id: int
    child_name: str
    activity_name: str
    day: date
    state: BookingState
    cancellation: deadlines.CancellationDecision
    waitlist_position: int | None = None


async def upcoming_bookings(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    child_ids: list[int],
    first: date,
    last: date,
    now: datetime,
    limit: int = 40,
) -> list[UpcomingBooking]:
    """Active bookings of the children between two days, soonest first (bounded)."""
    async with sessions() as session:
        children = {
            child.id: child
            for child in await session.execute(
                select(Child.id, Child.family_id, Child.first_name).where(Child.id.in_(child_ids))
            )
        }
        if len(children) != len(set(child_ids)):
            raise NotFound("unknown child")
        for child in children.values():
            actor.check_family(child.family_id)
        # Rows, not ORM objects: up to `limit` bookings are shown, none is changed here.
        rows = (
            await session.execute(
                select(
                    Booking.id,
                    Booking.child_id,
                    Booking.day,
                    Booking.state,
                    Booking.price_cents,
                    Activity.id.label("activity_id"),
                    Activity.name.label("activity_name"),
                    Activity.rules.label("activity_rules"),
                )
                .join(Activity, Activity.id == Booking.activity_id)
                .where(
                    Booking.child_id.in_(child_ids),
                    Booking.day >= first,
                    Booking.day <= last,
                    Booking.state.in_(ACTIVE_STATES),
                )
                .order_by(Booking.day, Booking.child_id, Activity.name)
                .limit(limit)
            )
        ).all()
        positions = await waitlist_positions(
            session, [b.id for b in rows if b.state is BookingState.WAITLISTED]
        )
        calendars: dict[int, deadlines.WorkingCalendar] = {}
        result = []
        for booking in rows:
            if booking.state is BookingState.WAITLISTED:
                decision = deadlines.CancellationDecision(
                    booking.day, deadlines.CancellationStatus.FREE
                )
            else:
                if booking.activity_id not in calendars:
                    calendars[booking.activity_id] = await working_calendar(
                        session, booking.activity_id, first, last
                    )
                decision = deadlines.evaluate_cancellation(
                    rules_of(booking.activity_rules),
                    booking.day,
                    now,
                    calendars[booking.activity_id],
                    booking.price_cents,
                )
            result.append(
                UpcomingBooking(
                    booking.id,
                    booking.child_id,
                    children[booking.child_id].first_name,
                    booking.activity_name,
                    booking.day,
                    booking.state,
                    decision,
                    positions.get(booking.id),
                )
            )
        return result


async def waitlist_positions(session: AsyncSession, booking_ids: list[int]) -> dict[int, int]:
    """Each waitlisted booking's place in its day's waitlist (the order `give_back_places`
    follows: by id), in one query; none when there is no waitlisted booking."""
    if not booking_ids:
        return {}
    ahead = aliased(Booking)
    rows = await session.execute(
        select(Booking.id, func.count(ahead.id))
        .join(
            ahead,
            and_(
                ahead.opening_day_id == Booking.opening_day_id,
                ahead.state == BookingState.WAITLISTED,
                ahead.id <= Booking.id,
            ),
        )
        .where(Booking.id.in_(booking_ids))
        .group_by(Booking.id)
    )
    return {booking_id: position for booking_id, position in rows}


@dataclass(frozen=True)
class BookingFacts:
    """What a notification about a booking needs to say."""

    child_name: str
    activity_name: str
    day: date
    state: BookingState


async def booking_facts(
    sessions: async_sessionmaker[AsyncSession], booking_id: int
) -> BookingFacts | None:
    """Child, activity, day and state of a booking (for the system's own notifications)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Child.first_name, Activity.name, Booking.day, Booking.state)
                .join(Child, Child.id == Booking.child_id)
                .join(Activity, Activity.id == Booking.activity_id)
                .where(Booking.id == booking_id)
            )
        ).first()
        return BookingFacts(*row) if row else None
