"""Parents racing for the last places: never overbooked, on SQLite and on PostgreSQL.

Each parent runs in its own task with its own session and connection, all released at once;
the guarantee comes from the database (conditional update, partial unique index).
"""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import func, select

from store.actors import Actor
from store.bookings import BookingService, Outcome
from store.models import Booking, OpeningDay
from store.models.enums import BookingState
from tests.helpers import build_town, one_child_families, paris

WED = date(2026, 12, 9)
RACERS = 24
PLACES = 5


async def _race(sessions, clock, waitlist: bool):
    town = await build_town(sessions, [WED], capacity=PLACES, waitlist=waitlist)
    racers = await one_child_families(sessions, town.activity_id, RACERS, "R")
    clock.set(paris(date(2026, 12, 1)))
    service = BookingService(sessions, clock)
    start = asyncio.Event()

    async def parent(actor: Actor, child_id: int):
        await start.wait()
        [outcome] = await service.book(actor, [child_id], town.activity_id, [WED])
        return outcome

    tasks = [asyncio.create_task(parent(actor, child)) for actor, child in racers]
    await asyncio.sleep(0)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    async with sessions() as session:
        taken = await session.scalar(select(OpeningDay.taken))
        holding = await session.scalar(
            select(func.count(Booking.id)).where(
                Booking.state.in_((BookingState.CONFIRMED, BookingState.PENDING))
            )
        )
    return outcomes, taken, holding


async def test_racing_parents_never_overbook_the_last_places(sessions, clock):
    outcomes, taken, holding = await _race(sessions, clock, waitlist=True)
    confirmed = [o for o in outcomes if o.outcome is Outcome.CONFIRMED]
    waitlisted = [o for o in outcomes if o.outcome is Outcome.WAITLISTED]
    assert len(confirmed) == PLACES
    assert len(waitlisted) == RACERS - PLACES
    assert taken == holding == PLACES


async def test_racing_parents_without_waitlist_get_full(sessions, clock):
    outcomes, taken, holding = await _race(sessions, clock, waitlist=False)
    assert sum(o.outcome is Outcome.CONFIRMED for o in outcomes) == PLACES
    assert sum(o.outcome is Outcome.REFUSED for o in outcomes) == RACERS - PLACES
    assert taken == holding == PLACES


async def test_same_child_booked_twice_at_once_holds_one_place(sessions, clock):
    town = await build_town(sessions, [WED], capacity=PLACES)
    clock.set(paris(date(2026, 12, 1)))
    service = BookingService(sessions, clock)
    results = await asyncio.gather(
        *[
            service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
            for _ in range(6)
        ]
    )
    outcomes = [outcome for [outcome] in results]
    assert sum(o.outcome is Outcome.CONFIRMED for o in outcomes) == 1
    async with sessions() as session:
        assert await session.scalar(select(OpeningDay.taken)) == 1
