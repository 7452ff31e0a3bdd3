"""Places of a day, taken and given back by conditional updates only.

`UPDATE ... SET taken = taken + 1 WHERE taken < capacity` is atomic on SQLite (one writer at a
time) and on PostgreSQL (the row is locked and the condition re-checked after any wait), so two
parents racing for the last place can never both get it. `take_places` takes several places of
several days at once: it locks the days first, in id order, then updates them all.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.database import changed_rows
from store.models import Activity, Booking, OpeningDay
from store.models.enums import BookingState
from store.outbox import notify_family
from store.staff_notices import notify_bookings_to_validate


async def take_place(session: AsyncSession, opening_day_id: int) -> bool:
    """Take one place of an open day if one is left; True when taken."""
    changed = await changed_rows(
        session,
        update(OpeningDay)
        .where(
            OpeningDay.id == opening_day_id,
            OpeningDay.closed.is_(False),
            OpeningDay.taken < OpeningDay.capacity,
        )
        .values(taken=OpeningDay.taken + 1)
        .execution_options(synchronize_session=False),
    )
    return changed == 1


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


async def give_back_place(session: AsyncSession, opening_day_id: int) -> None:
    """Give one place back."""
    await session.execute(
        update(OpeningDay)
        .where(OpeningDay.id == opening_day_id, OpeningDay.taken > 0)
        .values(taken=OpeningDay.taken - 1)
        .execution_options(synchronize_session=False)
    )


async def promote_waitlist(session: AsyncSession, opening_day_id: int) -> int | None:
    """Give a freed place to the first waitlisted booking of the day, if any.

    Returns the promoted booking's id. Candidates are tried in waitlist order with a conditional
    update, so two concurrent promotions never pick the same booking.
    """
    candidates = (
        await session.execute(
            select(Booking.id, Booking.family_id, Booking.activity_id, Booking.day)
            .where(
                Booking.opening_day_id == opening_day_id, Booking.state == BookingState.WAITLISTED
            )
            .order_by(Booking.id)
            .limit(5)
        )
    ).all()
    if not candidates or not await take_place(session, opening_day_id):
        return None
    for booking_id, family_id, activity_id, day in candidates:
        needs_validation = await session.scalar(
            select(Activity.requires_validation).where(Activity.id == activity_id)
        )
        new_state = BookingState.PENDING if needs_validation else BookingState.CONFIRMED
        changed = await changed_rows(
            session,
            update(Booking)
            .where(Booking.id == booking_id, Booking.state == BookingState.WAITLISTED)
            .values(state=new_state)
            .execution_options(synchronize_session=False),
        )
        if changed == 1:
            await notify_family(
                session,
                family_id,
                "waitlist_promoted",
                {"booking_id": booking_id, "day": day.isoformat(), "state": new_state.value},
                event_key=f"booking:{booking_id}:promoted",
            )
            if new_state is BookingState.PENDING:
                await notify_bookings_to_validate(session, activity_id, [booking_id])
            return booking_id
    await give_back_place(session, opening_day_id)
    return None
