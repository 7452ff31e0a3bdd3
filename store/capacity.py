"""Places of a day, taken and given back by conditional updates only.

`take_places` takes several places of several days at once: it locks the days first, in id
order, then updates them all with `UPDATE ... SET taken = taken + n WHERE taken + n <=
capacity`, atomic on SQLite (one writer at a time) and on PostgreSQL (the rows are locked and the
condition re-checked after any wait), so two parents racing for the last place can never both
get it. `give_back_places` gives places of several days back the same way and hands them to the
days' waitlists, in one statement per kind whatever the number of days.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from store.database import changed_rows
from store.models import Activity, Booking, OpeningDay
from store.models.enums import BookingState
from store.outbox import FamilyNotice, notify_families
from store.staff_notices import notify_bookings_to_validate

# Waitlisted bookings read beyond the places to give, per day: the next ones in line when a
# concurrent request changed one of the first (cancelled or promoted it) since it was read.
SPARE_CANDIDATES = 4


async def take_places(session: AsyncSession, wanted: Mapping[int, int]) -> dict[int, int]:
    """Take up to `wanted[id]` places of each open day; returns the places taken per day.

    The days are locked in id order (`FOR NO KEY UPDATE`, the lock an UPDATE takes; SQLite has
    one writer at a time) so that requests sharing days queue instead of deadlocking. The locks
    are held until the commit: call it at the end of the transaction.
    """
    if not wanted:
        return {}
    free = await session.execute(
        select(OpeningDay.id, OpeningDay.capacity - OpeningDay.taken)
        .where(OpeningDay.id.in_(wanted), OpeningDay.closed.is_(False))
        .order_by(OpeningDay.id)
        .with_for_update(key_share=True)
    )
    taken = {day_id: min(wanted[day_id], left) for day_id, left in free if left > 0}
    if not taken:
        return {}
    places = case(taken, value=OpeningDay.id, else_=0)
    changed = await changed_rows(
        session,
        update(OpeningDay)
        .where(OpeningDay.id.in_(taken), OpeningDay.taken + places <= OpeningDay.capacity)
        .values(taken=OpeningDay.taken + places)
        .execution_options(synchronize_session=False),
    )
    if changed != len(taken):
        raise RuntimeError("opening days changed while locked")
    return taken


@dataclass(frozen=True)
class _Waiting:
    """A waitlisted booking that may get a freed place."""

    booking_id: int
    opening_day_id: int
    family_id: int
    activity_id: int
    day: date
    requires_validation: bool

    @property
    def promoted_state(self) -> BookingState:
        return BookingState.PENDING if self.requires_validation else BookingState.CONFIRMED


async def give_back_places(
    session: AsyncSession, freed: Mapping[int, int], leaving: Collection[int] = ()
) -> dict[int, list[int]]:
    """Give back `freed[id]` places of each day and hand them to the days' waitlists.

    The days are locked in id order, as `take_places` does. A day's places go to its first
    waitlisted bookings (in booking order; never one of `leaving`, the bookings this
    transaction cancels), as many as the day has room for once they are given back (none on a
    closed day); the promoted bookings' families are notified, and the service when the
    activity needs its validation. Returns the promoted bookings' ids per day, in waitlist
    order. One statement per kind, whatever the number of days.
    """
    if not freed:
        return {}
    days = (
        await session.execute(
            select(OpeningDay.id, OpeningDay.capacity, OpeningDay.taken, OpeningDay.closed)
            .where(OpeningDay.id.in_(freed))
            .order_by(OpeningDay.id)
            .with_for_update(key_share=True)
        )
    ).all()
    given_back = {day_id: max(taken - freed[day_id], 0) for day_id, _, taken, _ in days}
    room = {
        day_id: min(freed[day_id], capacity - given_back[day_id])
        for day_id, capacity, _, closed in days
        if not closed and capacity > given_back[day_id]
    }
    promoted = await _promote(session, room, leaving)
    changes = {
        day_id: given_back[day_id] + len(promoted.get(day_id, [])) - taken
        for day_id, _, taken, _ in days
    }
    changes = {day_id: change for day_id, change in changes.items() if change}
    if changes:
        changed = await changed_rows(
            session,
            update(OpeningDay)
            .where(OpeningDay.id.in_(changes))
            .values(taken=OpeningDay.taken + case(changes, value=OpeningDay.id, else_=0))
            .execution_options(synchronize_session=False),
        )
        if changed != len(changes):
            raise RuntimeError("opening days changed while locked")
    await _notify_promoted(session, [waiting for day in promoted.values() for waiting in day])
    return {day_id: [w.booking_id for w in waiting] for day_id, waiting in promoted.items()}


async def _promote(
    session: AsyncSession, room: Mapping[int, int], leaving: Collection[int]
) -> dict[int, list[_Waiting]]:
    """Promote up to `room[id]` waitlisted bookings of each day, first in line first.

    Each is promoted by a conditional update (still waitlisted), so two concurrent promotions
    never pick the same booking; one a concurrent request changed meanwhile, or holds locked
    (its family cancelling it: `SKIP LOCKED`, so that this request, holding the days, never
    waits for one that may wait for them), is passed over for the next in line (read with
    `SPARE_CANDIDATES`).
    """
    if not room:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=Booking.opening_day_id, order_by=Booking.id)
        .label("rank")
    )
    ranked = (
        select(
            Booking.id,
            Booking.opening_day_id,
            Booking.family_id,
            Booking.activity_id,
            Booking.day,
            Activity.requires_validation,
            rank,
        )
        .join(Activity, Activity.id == Booking.activity_id)
        .where(
            Booking.opening_day_id.in_(room),
            Booking.state == BookingState.WAITLISTED,
            Booking.id.not_in(leaving),
        )
        .subquery()
    )
    wanted = case(room, value=ranked.c.opening_day_id, else_=0) + SPARE_CANDIDATES
    rows = await session.execute(
        select(ranked)
        .where(ranked.c.rank <= wanted)
        .order_by(ranked.c.opening_day_id, ranked.c.id)
    )
    candidate = aliased(Booking)
    queues: dict[int, deque[_Waiting]] = defaultdict(deque)
    for row in rows:
        queues[row.opening_day_id].append(_Waiting(*row[:6]))
    promoted: dict[int, list[_Waiting]] = defaultdict(list)
    while True:
        chosen = [
            queue.popleft()
            for day_id, queue in queues.items()
            for _ in range(min(room[day_id] - len(promoted[day_id]), len(queue)))
        ]
        if not chosen:
            break
        states = {waiting.booking_id: waiting.promoted_state.value for waiting in chosen}
        still_waiting = (
            select(candidate.id)
            .where(candidate.id.in_(states), candidate.state == BookingState.WAITLISTED)
            .with_for_update(skip_locked=True)
        )
        done = set(
            await session.scalars(
                update(Booking)
                .where(Booking.id.in_(still_waiting))
                .values(state=case(states, value=Booking.id))
                .returning(Booking.id)
                .execution_options(synchronize_session=False)
            )
        )
        for waiting in chosen:
            if waiting.booking_id in done:
                promoted[waiting.opening_day_id].append(waiting)
        if len(done) == len(chosen):
            break
    return {day_id: waiting for day_id, waiting in promoted.items() if waiting}


async def _notify_promoted(session: AsyncSession, promoted: list[_Waiting]) -> None:
    """Tell each promoted booking's family (in one go), and the service of each one awaiting
    its validation (one email per booking, as each was made by another family)."""
    await notify_families(
        session,
        [
            FamilyNotice(
                waiting.family_id,
                "waitlist_promoted",
                {
                    "booking_id": waiting.booking_id,
                    "day": waiting.day.isoformat(),
                    "state": waiting.promoted_state.value,
                },
                event_key=f"booking:{waiting.booking_id}:promoted",
            )
            for waiting in promoted
        ],
    )
    for waiting in promoted:
        if waiting.promoted_state is BookingState.PENDING:
            await notify_bookings_to_validate(session, waiting.activity_id, [waiting.booking_id])
