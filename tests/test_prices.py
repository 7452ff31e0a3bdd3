"""A day's price: the family's tariff band, else the activity's default band, else no price."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, update

from store.bookings import BookingService, Outcome, Refusal
from store.calendar import DEFAULT_TARIFF_BAND
from store.models import ActivityPrice, Family
from store.planning import PlanningService
from tests.helpers import build_town, paris

DAYS = [date(2026, 12, 9), date(2026, 12, 16)]


async def test_the_default_band_prices_a_family_whose_band_has_no_price(sessions, clock):
    town = await build_town(sessions, DAYS, price_cents=410)
    async with sessions.begin() as session:
        session.add(
            ActivityPrice(
                activity_id=town.activity_id, tariff_band=DEFAULT_TARIFF_BAND, price_cents=500
            )
        )
        await session.execute(
            update(Family).where(Family.id == town.family_id).values(tariff_band="QF9")
        )
    clock.set(paris(date(2026, 12, 1)))
    bookings, planning = BookingService(sessions, clock), PlanningService(sessions, clock)
    [outcome, _] = await bookings.book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS, dry_run=True
    )
    assert (outcome.outcome, outcome.price_cents) == (Outcome.CONFIRMED, 500)
    [day, _] = await planning.planning(
        town.guardian, town.child_ids[0], town.activity_id, DAYS[0], DAYS[-1]
    )
    assert day.price_cents == 500
    [other, _] = await bookings.book(
        town.other_guardian, [town.other_child_id], town.activity_id, DAYS, dry_run=True
    )
    assert other.price_cents == 410  # its own band (QF2) has a price

    async with sessions.begin() as session:
        await session.execute(
            delete(ActivityPrice).where(ActivityPrice.tariff_band == DEFAULT_TARIFF_BAND)
        )
    [refused, _] = await bookings.book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS, dry_run=True
    )
    assert (refused.outcome, refused.refusal) == (Outcome.REFUSED, Refusal.NO_PRICE)
