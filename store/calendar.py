"""Loading what the rules need about an activity: its policies, prices and working calendar."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.deadlines import WorkingCalendar
from store.models import Activity, ActivityPrice, OpeningDay
from store.policies import ActivityRules

# Working-day rules count backwards from the booked day; this is how far closures are read.
CLOSURE_LOOKBACK = timedelta(days=100)
DEFAULT_TARIFF_BAND = "*"


async def working_calendar(
    session: AsyncSession, activity_id: int, first_day: date, last_day: date
) -> WorkingCalendar:
    """The activity's closed days around [first_day, last_day], for working-day counting."""
    closed = await session.scalars(
        select(OpeningDay.day).where(
            OpeningDay.activity_id == activity_id,
            OpeningDay.closed.is_(True),
            OpeningDay.day >= first_day - CLOSURE_LOOKBACK,
            OpeningDay.day <= last_day,
        )
    )
    return WorkingCalendar(closed_days=frozenset(closed))


def activity_rules(activity: Activity) -> ActivityRules:
    """The validated booking and cancellation rules of an activity (validated once per rules)."""
    return _validated_rules(json.dumps(activity.rules or {}, sort_keys=True))


@lru_cache(maxsize=256)
def _validated_rules(rules_json: str) -> ActivityRules:
    return ActivityRules.model_validate_json(rules_json)


async def price_for_band(session: AsyncSession, activity_id: int, tariff_band: str) -> int | None:
    """The price of a day for a tariff band, falling back on the activity's default band."""
    rows = await session.execute(
        select(ActivityPrice.tariff_band, ActivityPrice.price_cents).where(
            ActivityPrice.activity_id == activity_id,
            ActivityPrice.tariff_band.in_([tariff_band, DEFAULT_TARIFF_BAND]),
        )
    )
    prices = dict(rows.all())
    return prices.get(tariff_band, prices.get(DEFAULT_TARIFF_BAND))
