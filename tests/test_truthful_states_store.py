"""The store's side of saying the truth: past days, late cancellations with their moment,
waitlist places, and a cancellation that is only ever free when asked so."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from store.bookings import BookingService, CancelOutcome, Refusal
from store.deadlines import CancellationStatus
from store.models import Booking
from store.models.enums import BookingState
from store.planning import DayState, PlanningService, upcoming_bookings
from tests.helpers import build_town, paris

DAYS = [date(2026, 12, d) for d in (2, 9, 16, 23)]


async def test_past_days_late_cancellations_and_eligibility_have_their_own_state(sessions, clock):
    town = await build_town(sessions, DAYS, levels=["CP"])  # Emma is in CE1
    lucas, emma = town.child_ids
    service = BookingService(sessions, clock)
    clock.set(paris(date(2026, 11, 20)))
    booked = await service.book(town.guardian, [lucas], town.activity_id, DAYS[1:3])
    cancelled_at = paris(date(2026, 12, 14), "18:30")
    clock.set(cancelled_at)
    [late] = await service.cancel(town.guardian, [booked[1].booking_id])  # the 16th
    assert late.outcome is CancelOutcome.LATE_CANCELLED
    planning = await PlanningService(sessions, clock).planning_many(
        town.guardian, [lucas, emma], town.activity_id, DAYS[0], DAYS[-1]
    )
    by_day = {day.day: day for day in planning[lucas]}
    assert by_day[DAYS[0]].state is DayState.PAST and by_day[DAYS[0]].refusal is Refusal.PAST
    assert by_day[DAYS[1]].state is DayState.BOOKED_LOCKED  # booked, then past
    assert by_day[DAYS[1]].refusal is Refusal.ALREADY_BOOKED
    sixteenth = by_day[DAYS[2]]
    assert sixteenth.state is DayState.LATE_CANCELLED
    assert (sixteenth.price_cents, sixteenth.cancelled_at) == (410, cancelled_at)
    assert by_day[DAYS[3]].state is DayState.BOOKABLE
    assert {day.refusal for day in planning[emma]} == {Refusal.NOT_ELIGIBLE}


async def test_the_waitlist_place_of_each_day_and_leaving_it_is_free(sessions, clock):
    town = await build_town(sessions, DAYS, capacity=1)
    lucas, emma = town.child_ids
    service = BookingService(sessions, clock)
    clock.set(paris(date(2026, 11, 20)))
    await service.book(town.other_guardian, [town.other_child_id], town.activity_id, DAYS[1:3])
    await service.book(town.guardian, [emma], town.activity_id, DAYS[1:2])
    await service.book(town.guardian, [lucas], town.activity_id, DAYS[1:3])
    clock.set(paris(date(2026, 12, 8), "09:00"))  # the 9th's cancellation deadline passed
    listed = await upcoming_bookings(
        sessions, town.guardian, [lucas, emma], DAYS[1], DAYS[-1], clock()
    )
    places = {(b.day, b.child_id): b.waitlist_position for b in listed}
    assert places == {(DAYS[1], emma): 1, (DAYS[1], lucas): 2, (DAYS[2], lucas): 1}
    assert all(b.state is BookingState.WAITLISTED for b in listed)
    assert all(b.cancellation.status is CancellationStatus.FREE for b in listed)
    results = await service.cancel(town.guardian, [b.booking_id for b in listed])
    assert {r.outcome for r in results} == {CancelOutcome.CANCELLED}
    assert all(r.fee_cents == 0 for r in results)


async def test_a_free_only_cancellation_never_bills(sessions, clock):
    town = await build_town(sessions, DAYS)
    service = BookingService(sessions, clock)
    clock.set(paris(date(2026, 11, 20)))
    ninth, sixteenth = await service.book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS[1:3]
    )
    clock.set(paris(date(2026, 12, 7), "08:00"))  # the 9th is late, the 16th still free
    late, free = await service.cancel(
        town.guardian, [ninth.booking_id, sixteenth.booking_id], free_only=True
    )
    assert (late.outcome, late.refusal) == (CancelOutcome.REFUSED, Refusal.DEADLINE_PASSED)
    assert late.deadline == paris(date(2026, 12, 6), "12:00")
    assert (free.outcome, free.fee_cents) == (CancelOutcome.CANCELLED, 0)
    async with sessions() as session:
        states = dict((await session.execute(select(Booking.id, Booking.state))).all())
        fee = await session.scalar(
            select(Booking.cancellation_fee_cents).where(Booking.id == ninth.booking_id)
        )
    assert states[ninth.booking_id] is BookingState.CONFIRMED and fee == 0
    assert states[sixteenth.booking_id] is BookingState.CANCELLED
