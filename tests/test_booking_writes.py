"""How `BookingService.book` writes: places taken at the end of the transaction, bookings and
audit entries in one statement each; the outcomes are those of the rules, child by child and
day by day, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from store import bookings
from store.bookings import BookingService, Outcome, Refusal
from store.models import AuditEntry, Booking, OpeningDay
from store.models.enums import BookingState
from tests.helpers import build_town, one_child_families, paris

WED = date(2026, 12, 9)
NEXT_WED = date(2026, 12, 16)
LAST_WED = date(2026, 12, 23)
HOLDING = (BookingState.CONFIRMED, BookingState.PENDING)


@pytest.fixture
def service(sessions, clock):
    clock.set(paris(date(2026, 12, 1)))
    return BookingService(sessions, clock)


@pytest.fixture
def booked_meanwhile(monkeypatch):
    """The family's bookings made after the rules read them (as by a concurrent request of the
    family): the rules see none, the partial unique index still does."""
    load_all = bookings._ChildContext.load_all.__func__

    async def load_without_bookings(cls, *args):
        contexts = await load_all(cls, *args)
        return {key: replace(context, booked_days=set()) for key, context in contexts.items()}

    monkeypatch.setattr(bookings._ChildContext, "load_all", classmethod(load_without_bookings))


async def _places(sessions) -> dict[date, tuple[int, int]]:
    """Per day: (taken, bookings holding a place)."""
    async with sessions() as session:
        taken = dict((await session.execute(select(OpeningDay.day, OpeningDay.taken))).all())
        holding = dict(
            (
                await session.execute(
                    select(Booking.day, func.count(Booking.id))
                    .where(Booking.state.in_(HOLDING))
                    .group_by(Booking.day)
                )
            ).all()
        )
    return {day: (taken[day], holding.get(day, 0)) for day in taken}


async def test_siblings_share_the_last_place_in_child_order(sessions, service):
    town = await build_town(sessions, [WED, NEXT_WED], capacity=1)
    first, second = town.child_ids
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED, NEXT_WED])
    assert [(o.child_id, o.day, o.outcome) for o in outcomes] == [
        (first, WED, Outcome.CONFIRMED),
        (first, NEXT_WED, Outcome.CONFIRMED),
        (second, WED, Outcome.WAITLISTED),
        (second, NEXT_WED, Outcome.WAITLISTED),
    ]
    assert all(o.price_cents == 410 and o.deadline is not None for o in outcomes)
    ids = [o.booking_id for o in outcomes]
    assert ids == sorted(ids)
    assert await _places(sessions) == {WED: (1, 1), NEXT_WED: (1, 1)}
    async with sessions() as session:
        entries = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.entity_id, AuditEntry.details)
                .where(AuditEntry.action == "book")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(entry) for entry in entries] == [
        (town.guardian.label, o.booking_id, {"state": o.outcome.value, "day": str(o.day)})
        for o in outcomes
    ]


async def test_a_day_booked_meanwhile_leaves_the_place_to_a_sibling(
    sessions, service, booked_meanwhile
):
    town = await build_town(sessions, [WED], capacity=2)
    first, second = town.child_ids
    [earlier] = await service.book(town.guardian, [first], town.activity_id, [WED])
    assert earlier.outcome is Outcome.CONFIRMED
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED])
    assert [(o.child_id, o.outcome, o.refusal) for o in outcomes] == [
        (first, Outcome.REFUSED, Refusal.ALREADY_BOOKED),
        (second, Outcome.CONFIRMED, None),
    ]
    assert outcomes[0].booking_id is None
    assert await _places(sessions) == {WED: (2, 2)}
    async with sessions() as session:
        booked = await session.scalar(select(func.count()).where(AuditEntry.action == "book"))
    assert booked == 2


async def test_a_full_day_without_waitlist_keeps_no_booking(sessions, service):
    town = await build_town(sessions, [WED, NEXT_WED], capacity=1, waitlist=False)
    await service.book(town.other_guardian, [town.other_child_id], town.activity_id, [WED])
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED, NEXT_WED])
    assert [(o.outcome, o.refusal) for o in outcomes] == [
        (Outcome.REFUSED, Refusal.FULL),
        (Outcome.CONFIRMED, None),
        (Outcome.REFUSED, Refusal.FULL),
        (Outcome.REFUSED, Refusal.FULL),
    ]
    assert [o.price_cents for o in outcomes] == [0, 410, 0, 0]
    assert await _places(sessions) == {WED: (1, 1), NEXT_WED: (1, 1)}
    async with sessions() as session:
        assert await session.scalar(select(func.count(Booking.id))) == 2
        assert await session.scalar(select(func.count()).where(AuditEntry.action == "book")) == 2


async def test_pending_bookings_are_sent_for_validation(sessions, service):
    town = await build_town(sessions, [WED, NEXT_WED], capacity=1, requires_validation=True)
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED, NEXT_WED])
    assert [o.outcome for o in outcomes] == [Outcome.PENDING] * 2 + [Outcome.WAITLISTED] * 2
    assert await _places(sessions) == {WED: (1, 1), NEXT_WED: (1, 1)}


async def test_racing_requests_over_several_days_never_overbook(sessions, service):
    days = [WED, NEXT_WED, LAST_WED]
    town = await build_town(sessions, days, capacity=4)
    racers = await one_child_families(sessions, town.activity_id, 8, "W")
    calls = [service.book(actor, [child], town.activity_id, days) for actor, child in racers]
    calls += [
        service.book(town.guardian, town.child_ids, town.activity_id, days[::-1]) for _ in range(3)
    ]
    results = await asyncio.gather(*calls)
    placed = [o for outcomes in results for o in outcomes if o.outcome is Outcome.CONFIRMED]
    assert len(placed) == 4 * len(days)
    assert await _places(sessions) == {day: (4, 4) for day in days}
    async with sessions() as session:
        active = (
            await session.execute(
                select(Booking.child_id, Booking.day, func.count(Booking.id))
                .where(Booking.state.in_((*HOLDING, BookingState.WAITLISTED)))
                .group_by(Booking.child_id, Booking.day)
            )
        ).all()
    assert len(active) == (len(racers) + 2) * len(days)
    assert {count for _, _, count in active} == {1}
