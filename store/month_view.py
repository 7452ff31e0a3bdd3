"""The month of all a family's children at a glance ("Mon planning"): a row per child and
activity, the state of each day as the family sees it.

Built on the planning (`store.planning.PlanningService.planning_many`, one read per activity
for all the siblings enrolled in it), with what the planning does not say: whether a booked
day was attended (`Booking.attendance`, set by staff or by a reported absence) and whether the
absence is billed (the rule of `store.billing.billable_amount`: a confirmed day is billed
unless its absence was excused). Every read is checked against the acting guardian's family.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, NotFound
from store.billing import billable_amount, month_bounds
from store.models import Absence, Activity, Booking, Child, Enrollment
from store.models.enums import AbsenceStatus, Attendance, BookingState
from store.planning import DayState, PlanningDay, PlanningService


class CellState(StrEnum):
    """What a day of the month is for a child and an activity, in the legend's order."""

    BOOKED = "booked"
    PRESENT = "present"
    PENDING = "pending"
    WAITLISTED = "waitlisted"
    LATE_CANCELLED = "late_cancelled"
    ABSENT_EXCUSED = "absent_excused"
    ABSENT_BILLED = "absent_billed"
    BOOKABLE = "bookable"
    FULL = "full"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    PAST = "past"


# The planning's states as the month shows them (a day not enrolled shows nothing).
_FROM_PLANNING: dict[DayState, CellState | None] = {
    DayState.BOOKED: CellState.BOOKED,
    DayState.BOOKED_LOCKED: CellState.BOOKED,
    DayState.PENDING: CellState.PENDING,
    DayState.WAITLISTED: CellState.WAITLISTED,
    DayState.LATE_CANCELLED: CellState.LATE_CANCELLED,
    DayState.BOOKABLE: CellState.BOOKABLE,
    DayState.BOOKABLE_LATE: CellState.BOOKABLE,
    DayState.FULL: CellState.FULL,
    DayState.UNAVAILABLE: CellState.NOT_OPEN,
    DayState.CLOSED: CellState.CLOSED,
    DayState.PAST: CellState.PAST,
    DayState.NOT_ENROLLED: None,
}


@dataclass(frozen=True)
class MonthCell:
    """One day of a row: its state and, for a day still to book, until when."""

    day: date
    state: CellState
    deadline: datetime | None = None


@dataclass(frozen=True)
class MonthRow:
    """A child on an activity over the month: the days the activity opens for them."""

    child_id: int
    child_name: str
    activity_id: int
    activity_name: str
    cells: dict[date, MonthCell]


@dataclass(frozen=True)
class FamilyMonth:
    """The month (its first and last day) of the family's children, today, and the rows by
    child (first name) then activity (name)."""

    first: date
    last: date
    today: date
    rows: list[MonthRow]


class MonthViewService:
    """Read the month of every child of the acting guardian's family."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], planning: PlanningService):
        self._sessions = sessions
        self._planning = planning

    async def family_month(self, actor: Actor, month: date, today: date) -> FamilyMonth:
        """The month of `month` for the actor's family: a row per child and activity the child
        is enrolled in during the month."""
        if actor.family_id is None:
            raise NotFound("no family")
        first, last = month_bounds(month)
        async with self._sessions() as session:
            enrolled = await _enrolled(session, actor, actor.family_id, first, last)
            attended = await _attendance(session, [child for child, *_ in enrolled], first, last)
        siblings: dict[int, list[int]] = {}
        for child_id, _name, activity_id, _activity in enrolled:
            siblings.setdefault(activity_id, []).append(child_id)
        plannings: dict[tuple[int, int], list[PlanningDay]] = {}
        for activity_id, child_ids in siblings.items():
            read = await self._planning.planning_many(actor, child_ids, activity_id, first, last)
            for child_id, days in read.items():
                plannings[(child_id, activity_id)] = days
        rows = [
            MonthRow(
                child_id,
                child_name,
                activity_id,
                activity_name,
                _cells(
                    plannings.get((child_id, activity_id), []), attended, child_id, activity_id
                ),
            )
            for child_id, child_name, activity_id, activity_name in enrolled
        ]
        return FamilyMonth(first, last, today, rows)


async def _enrolled(
    session: AsyncSession, actor: Actor, family_id: int, first: date, last: date
) -> list[tuple[int, str, int, str]]:
    """(child id, first name, activity id, activity name) of the family's enrolments that
    overlap the month, by child then activity."""
    actor.check_family(family_id)
    rows = await session.execute(
        select(Child.id, Child.first_name, Activity.id, Activity.name)
        .join(Enrollment, Enrollment.child_id == Child.id)
        .join(Activity, Activity.id == Enrollment.activity_id)
        .where(
            Child.family_id == family_id,
            Enrollment.starts_on <= last,
            Enrollment.ends_on >= first,
        )
        .order_by(Child.first_name, Child.id, Activity.name, Activity.id)
        .distinct()
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


async def _attendance(
    session: AsyncSession, child_ids: list[int], first: date, last: date
) -> dict[tuple[int, int, date], CellState]:
    """The attended and missed booked days of the children, as the month shows them."""
    if not child_ids:
        return {}
    rows = await session.execute(
        select(
            Booking.child_id,
            Booking.activity_id,
            Booking.day,
            Booking.state,
            Booking.price_cents,
            Booking.cancellation_fee_cents,
            Booking.attendance,
            Absence.status,
        )
        .outerjoin(Absence, Absence.id == Booking.absence_id)
        .where(
            Booking.child_id.in_(set(child_ids)),
            Booking.day >= first,
            Booking.day <= last,
            Booking.state.in_((BookingState.CONFIRMED, BookingState.PENDING)),
            Booking.attendance.is_not(None),
        )
    )
    found: dict[tuple[int, int, date], CellState] = {}
    for child_id, activity_id, day, state, price, fee, attendance, absence_status in rows:
        if attendance is Attendance.PRESENT:
            found[(child_id, activity_id, day)] = CellState.PRESENT
            continue
        excused = absence_status is AbsenceStatus.EXCUSED
        billed = billable_amount(state, price, fee, excused) > 0
        found[(child_id, activity_id, day)] = (
            CellState.ABSENT_BILLED if billed else CellState.ABSENT_EXCUSED
        )
    return found


def _cells(
    days: list[PlanningDay],
    attended: dict[tuple[int, int, date], CellState],
    child_id: int,
    activity_id: int,
) -> dict[date, MonthCell]:
    cells = {}
    for planned in days:
        state = attended.get((child_id, activity_id, planned.day)) or _FROM_PLANNING[planned.state]
        if state is None:
            continue
        deadline = None
        # A day booked late (with a surcharge) is past its deadline: none to announce.
        late = planned.state is DayState.BOOKABLE_LATE
        if (
            state in (CellState.BOOKABLE, CellState.FULL)
            and planned.booking is not None
            and not late
        ):
            deadline = planned.booking.deadline
        cells[planned.day] = MonthCell(planned.day, state, deadline)
    return cells
