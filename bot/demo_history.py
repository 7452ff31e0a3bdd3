"""The demo town's last month: Lucas (Famille Martin) booked every Wednesday of the leisure
centre in the demo day's month (the month before the one a reminder is about), as if booked in
time, through the bookings service, so that a deadline reminder's "Comme le mois dernier" has
something to copy. Done once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot.portal import Portal
from store.actors import Actor
from store.bookings import BookingService
from store.deadlines import PARIS
from store.models import Activity, Booking, Child, Guardian, OpeningDay

CHILD = "E0011"
ACTIVITY = "wednesday_primary_day"


async def book_last_month(portal: Portal, today: date) -> int:
    """Book the child's open days of the activity in `today`'s month (its Wednesdays),
    unless some are booked already; how many were booked."""
    first = today.replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    async with portal.sessions() as session:
        child = await session.scalar(select(Child).where(Child.code == CHILD))
        activity_id = await session.scalar(select(Activity.id).where(Activity.code == ACTIVITY))
        if child is None or activity_id is None:
            return 0
        guardian_id = await session.scalar(
            select(Guardian.id).where(Guardian.family_id == child.family_id).order_by(Guardian.id)
        )
        booked = await session.scalar(
            select(Booking.id).where(
                Booking.child_id == child.id,
                Booking.activity_id == activity_id,
                Booking.day >= first,
                Booking.day <= last,
            )
        )
        days = list(
            await session.scalars(
                select(OpeningDay.day).where(
                    OpeningDay.activity_id == activity_id,
                    OpeningDay.day >= first,
                    OpeningDay.day <= last,
                    OpeningDay.closed.is_(False),
                )
            )
        )
    if booked is not None or guardian_id is None or not days:
        return 0
    # As booked three weeks before the month began.
    then = datetime.combine(first - timedelta(days=21), time(9, 0), tzinfo=PARIS)
    outcomes = await BookingService(portal.sessions, lambda: then).book(
        Actor.guardian(guardian_id, child.family_id), [child.id], activity_id, days
    )
    return sum(outcome.booking_id is not None for outcome in outcomes)
