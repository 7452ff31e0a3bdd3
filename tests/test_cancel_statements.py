"""Cancelling N days runs as many SQL statements as cancelling one, and stays right in races.

The statements are counted on the engine (`before_cursor_execute`) around the service call,
on SQLite and on PostgreSQL; the races run each parent in its own task and connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor
from store.bookings import BookingService, CancelOutcome, Outcome
from store.idempotency import new_key
from store.models import Booking, Guardian, OpeningDay, OutboxItem
from store.models.enums import BookingState
from tests.helpers import build_town, one_child_families, paris

WEDNESDAYS = [date(2026, 12, 9) + timedelta(weeks=week) for week in range(5)]
FIRST, REST = WEDNESDAYS[0], WEDNESDAYS[1:]


@contextmanager
def counted(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    """The SQL statements run on the sessions' engine inside the block."""
    engine = sessions.kw["bind"].sync_engine
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def statements_of(
    sessions: async_sessionmaker[AsyncSession], call: Callable[[], Awaitable[Any]]
) -> tuple[Any, list[str]]:
    with counted(sessions) as statements:
        result = await call()
    return result, statements


async def booking_ids(
    service: BookingService, actor: Actor, child_ids: list[int], activity_id: int
) -> dict[tuple[int, date], int]:
    outcomes = await service.book(actor, child_ids, activity_id, WEDNESDAYS)
    assert {o.outcome for o in outcomes} <= {Outcome.CONFIRMED, Outcome.WAITLISTED}
    return {(o.child_id, o.day): o.booking_id for o in outcomes if o.booking_id is not None}


async def taken_by_day(sessions: async_sessionmaker[AsyncSession]) -> dict[date, int]:
    async with sessions() as session:
        return dict((await session.execute(select(OpeningDay.day, OpeningDay.taken))).all())


async def test_cancelling_four_days_of_two_children_runs_the_statements_of_one(sessions, clock):
    town = await build_town(sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 12, 1)))
    service = BookingService(sessions, clock)
    first, second = town.child_ids
    booked = await booking_ids(service, town.guardian, town.child_ids, town.activity_id)
    clock.set(paris(date(2026, 12, 7)))  # FIRST's free cancellation is over: billed
    [one], one_day = await statements_of(
        sessions, lambda: service.cancel(town.guardian, [booked[first, FIRST]], key=new_key())
    )
    four = [booked[second, FIRST], booked[first, REST[0]], booked[second, REST[0]]]
    four.append(booked[first, REST[1]])
    results, four_days = await statements_of(
        sessions, lambda: service.cancel(town.guardian, four, key=new_key())
    )

    assert (one.outcome, one.fee_cents) == (CancelOutcome.LATE_CANCELLED, 410)
    assert {r.booking_id: (r.outcome, r.fee_cents) for r in results} == {
        four[0]: (CancelOutcome.LATE_CANCELLED, 410),
        four[1]: (CancelOutcome.CANCELLED, 0),
        four[2]: (CancelOutcome.CANCELLED, 0),
        four[3]: (CancelOutcome.CANCELLED, 0),
    }
    assert len(four_days) == len(one_day), (one_day, four_days)
    assert await taken_by_day(sessions) == dict(zip(WEDNESDAYS, [0, 0, 1, 2, 2], strict=True))
    async with sessions() as session:
        states = dict((await session.execute(select(Booking.id, Booking.state))).all())
    assert [states[i] for i in four] == [BookingState.LATE_CANCELLED] + 3 * [
        BookingState.CANCELLED
    ]


async def test_promoting_four_waitlists_runs_the_statements_of_one(sessions, clock):
    town = await build_town(sessions, WEDNESDAYS, capacity=1)
    async with sessions.begin() as session:
        guardian = await session.get(Guardian, town.other_guardian.id)
        assert guardian is not None
        guardian.telegram_user_id = guardian.telegram_chat_id = 777
    clock.set(paris(date(2026, 12, 1)))
    service = BookingService(sessions, clock)
    first = town.child_ids[0]
    placed = await booking_ids(service, town.guardian, [first], town.activity_id)
    queued = await booking_ids(
        service, town.other_guardian, [town.other_child_id], town.activity_id
    )
    later = await booking_ids(service, town.guardian, [town.child_ids[1]], town.activity_id)
    clock.set(paris(date(2026, 12, 7)))  # FIRST's cancellation is billed, and still promotes
    [one], one_day = await statements_of(
        sessions, lambda: service.cancel(town.guardian, [placed[first, FIRST]], key=new_key())
    )
    results, four_days = await statements_of(
        sessions,
        lambda: service.cancel(town.guardian, [placed[first, day] for day in REST], key=new_key()),
    )

    promoted = [queued[town.other_child_id, day] for day in WEDNESDAYS]
    assert [one.promoted_booking_id] + [r.promoted_booking_id for r in results] == promoted
    assert len(four_days) == len(one_day), (one_day, four_days)
    assert await taken_by_day(sessions) == dict.fromkeys(WEDNESDAYS, 1)
    async with sessions() as session:
        states = dict((await session.execute(select(Booking.id, Booking.state))).all())
        notices = (
            await session.execute(
                select(OutboxItem.kind, OutboxItem.recipient, OutboxItem.payload)
            )
        ).all()
    assert {states[i] for i in promoted} == {BookingState.CONFIRMED}
    assert {states[i] for i in later.values()} == {BookingState.WAITLISTED}
    assert sorted(payload["booking_id"] for _, _, payload in notices) == promoted
    assert {(kind, recipient) for kind, recipient, _ in notices} == {("waitlist_promoted", "777")}


async def test_cancelling_a_waitlisted_day_with_a_placed_one_gives_the_place_to_the_next(
    sessions, clock
):
    """A family cancels a child's placed day and a sibling's waitlisted one together: the
    place goes to the next family in line, not to the sibling being cancelled."""
    town = await build_town(sessions, [FIRST], capacity=1)
    clock.set(paris(date(2026, 12, 1)))
    service = BookingService(sessions, clock)
    first, second = town.child_ids
    [placed] = await service.book(town.guardian, [first], town.activity_id, [FIRST])
    [sibling] = await service.book(town.guardian, [second], town.activity_id, [FIRST])
    [other] = await service.book(
        town.other_guardian, [town.other_child_id], town.activity_id, [FIRST]
    )
    results = await service.cancel(town.guardian, [placed.booking_id, sibling.booking_id])
    assert [(r.outcome, r.promoted_booking_id) for r in results] == [
        (CancelOutcome.CANCELLED, other.booking_id),
        (CancelOutcome.CANCELLED, None),
    ]
    assert await taken_by_day(sessions) == {FIRST: 1}


async def test_racing_cancellations_keep_places_and_waitlist_order(sessions, clock):
    """Two families free their days while waitlisted families cancel theirs, all at once:
    every day ends with its places held by the first still waiting, none over capacity."""
    days = WEDNESDAYS[:4]
    town = await build_town(sessions, days, capacity=2)
    racers = await one_child_families(sessions, town.activity_id, 6, "R")
    clock.set(paris(date(2026, 12, 1)))
    service = BookingService(sessions, clock)
    first = town.child_ids[0]
    holders = [(town.guardian, first), (town.other_guardian, town.other_child_id)]
    held: dict[tuple[int, date], int] = {}
    for actor, child_id in holders + racers:
        outcomes = await service.book(actor, [child_id], town.activity_id, days)
        held |= {(o.child_id, o.day): o.booking_id for o in outcomes if o.booking_id}
    start = asyncio.Event()

    async def cancel(actor: Actor, child_id: int) -> None:
        await start.wait()
        results = await service.cancel(actor, [held[child_id, day] for day in days])
        assert {r.outcome for r in results} == {CancelOutcome.CANCELLED}

    leaving = holders + racers[:3]
    tasks = [asyncio.create_task(cancel(actor, child_id)) for actor, child_id in leaving]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)

    async with sessions() as session:
        rows = (await session.execute(select(Booking.child_id, Booking.day, Booking.state))).all()
        taken = dict((await session.execute(select(OpeningDay.day, OpeningDay.taken))).all())
        holding = dict(
            (
                await session.execute(
                    select(Booking.day, func.count(Booking.id))
                    .where(Booking.state.in_((BookingState.CONFIRMED, BookingState.PENDING)))
                    .group_by(Booking.day)
                )
            ).all()
        )
    state = {(child_id, day): booking_state for child_id, day, booking_state in rows}
    assert taken == holding == dict.fromkeys(days, 2)
    for day in days:
        assert [state[child_id, day] for _, child_id in racers] == [
            *3 * [BookingState.CANCELLED],
            BookingState.CONFIRMED,
            BookingState.CONFIRMED,
            BookingState.WAITLISTED,
        ]
