"""The planning shows each day's state and explains it in one sentence per language."""

from __future__ import annotations

from datetime import date

import pytest

from conversations.kit.deadlines import explain_day
from store.actors import AccessDenied
from store.bookings import BookingService
from store.planning import DayState, PlanningService
from tests.helpers import build_town, paris

DAYS = [date(2026, 12, d) for d in (2, 9, 16, 23, 30)]


async def test_each_day_state_and_its_explanation(sessions, clock):
    rules = {
        "booking": {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"},
        "late_booking": {"mode": "surcharge", "percent": 50},
        "late_cancellation": {"mode": "bill_full"},
    }
    town = await build_town(
        sessions, DAYS, capacity=1, rules=rules, closed={DAYS[4]}, price_cents=400
    )
    clock.set(paris(date(2026, 11, 20)))
    service = BookingService(sessions, clock)
    await service.book(town.guardian, town.child_ids[:1], town.activity_id, DAYS[:2])
    await service.book(town.other_guardian, [town.other_child_id], town.activity_id, [DAYS[2]])
    clock.set(paris(date(2026, 12, 7), "08:00"))
    planning = await PlanningService(sessions, clock).planning(
        town.guardian, town.child_ids[0], town.activity_id, DAYS[0], DAYS[-1]
    )
    states = {p.day: p.state for p in planning}
    assert states == {
        DAYS[0]: DayState.BOOKED_LOCKED,  # past: neither cancellable nor bookable
        DAYS[1]: DayState.BOOKED_LOCKED,  # its cancellation deadline (6 Dec) passed
        DAYS[2]: DayState.FULL,  # the other family took the only place
        DAYS[3]: DayState.BOOKABLE,
        DAYS[4]: DayState.CLOSED,
    }
    by_day = {p.day: p for p in planning}
    assert by_day[DAYS[3]].price_cents == 400
    assert (
        explain_day(by_day[DAYS[3]], "fr")
        == "Réservation possible jusqu'au dimanche 20 décembre à 12 h"
    )
    assert explain_day(by_day[DAYS[3]], "en").startswith("Booking open until Sunday 20 December")
    assert "facturée" in explain_day(by_day[DAYS[1]], "fr")
    assert by_day[DAYS[1]].selectable_to_cancel and not by_day[DAYS[0]].selectable_to_cancel


async def test_late_booking_shows_the_surcharge(sessions, clock):
    rules = {
        "booking": {"rule": "weekday_before", "weekday": "jeudi", "time": "12:00"},
        "late_booking": {"mode": "surcharge", "percent": 50},
    }
    town = await build_town(sessions, DAYS, rules=rules, price_cents=400)
    clock.set(paris(date(2026, 12, 3), "12:01"))  # Thursday, just after noon
    [day] = await PlanningService(sessions, clock).planning(
        town.guardian, town.child_ids[0], town.activity_id, DAYS[1], DAYS[1]
    )
    assert day.state is DayState.BOOKABLE_LATE
    assert (day.price_cents, day.surcharge_cents) == (600, 200)
    assert "majoration de 2,00" in explain_day(day, "fr")


async def test_siblings_are_planned_together_as_each_alone(sessions, clock):
    town = await build_town(sessions, DAYS, capacity=3, price_cents=400)
    clock.set(paris(date(2026, 11, 20)))
    await BookingService(sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS[:2]
    )
    service = PlanningService(sessions, clock)
    together = await service.planning_many(
        town.guardian, town.child_ids, town.activity_id, DAYS[0], DAYS[-1]
    )
    for child_id in town.child_ids:
        alone = await service.planning(
            town.guardian, child_id, town.activity_id, DAYS[0], DAYS[-1]
        )
        assert together[child_id] == alone
    first, second = (together[child_id] for child_id in town.child_ids)
    assert [d.state for d in first[:2]] == [DayState.BOOKED, DayState.BOOKED]
    assert [d.state for d in second[:2]] == [DayState.BOOKABLE, DayState.BOOKABLE]


async def test_planning_another_familys_child_is_refused(sessions, clock):
    town = await build_town(sessions, DAYS)
    with pytest.raises(AccessDenied):
        await PlanningService(sessions, clock).planning_many(
            town.guardian,
            [*town.child_ids, town.other_child_id],
            town.activity_id,
            DAYS[0],
            DAYS[-1],
        )
