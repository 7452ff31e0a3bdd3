"""Loading what the rules need about an activity: its policies, prices and working calendar."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.actors import NotFound
from store.deadlines import WorkingCalendar
from store.models import Activity, ActivityPrice, Family, OpeningDay
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


class OpenDay(NamedTuple):
    """A day of an activity's calendar as the rules read it (a row, not an ORM object)."""

    id: int
    day: date
    capacity: int
    taken: int
    closed: bool


async def calendar_and_days(
    session: AsyncSession, activity_id: int, first_day: date, last_day: date
) -> tuple[WorkingCalendar, list[OpenDay]]:
    """In one statement: the activity's working calendar around [first_day, last_day] (as
    `working_calendar`) and its days from `first_day` to `last_day`, in order."""
    rows = await session.execute(
        select(
            OpeningDay.id,
            OpeningDay.day,
            OpeningDay.capacity,
            OpeningDay.taken,
            OpeningDay.closed,
        )
        .where(
            OpeningDay.activity_id == activity_id,
            OpeningDay.day >= first_day - CLOSURE_LOOKBACK,
            OpeningDay.day <= last_day,
            or_(OpeningDay.closed.is_(True), OpeningDay.day >= first_day),
        )
        .order_by(OpeningDay.day)
    )
    days = [OpenDay(*row) for row in rows]
    closed = frozenset(day.day for day in days if day.closed)
    return WorkingCalendar(closed_days=closed), [day for day in days if day.day >= first_day]


def activity_rules(activity: Activity) -> ActivityRules:
    """The validated booking and cancellation rules of an activity (validated once per rules)."""
    return rules_of(activity.rules)


def rules_of(rules: dict[str, Any] | None) -> ActivityRules:
    """The validated rules of an activity's `rules` column (validated once per rules)."""
    return _validated_rules(json.dumps(rules or {}, sort_keys=True))


@lru_cache(maxsize=256)
def _validated_rules(rules_json: str) -> ActivityRules:
    return ActivityRules.model_validate_json(rules_json)


def day_price(activity_id: int, tariff_band: Any) -> ColumnElement[Any]:
    """SQL for the price of a day for a tariff band (a value, or SQL giving the family's band),
    falling back on the activity's default band; NULL without either."""

    def price(band: Any) -> ColumnElement[Any]:
        return (
            select(ActivityPrice.price_cents)
            .where(ActivityPrice.activity_id == activity_id, ActivityPrice.tariff_band == band)
            .scalar_subquery()
        )

    return func.coalesce(price(tariff_band), price(DEFAULT_TARIFF_BAND))


async def activity_and_price(
    session: AsyncSession, activity_id: int, family_id: int
) -> tuple[Activity, int | None]:
    """The activity and the price of one of its days for the family, in one statement."""
    band = select(Family.tariff_band).where(Family.id == family_id).scalar_subquery()
    found = (
        await session.execute(
            select(Activity, day_price(activity_id, band)).where(Activity.id == activity_id)
        )
    ).first()
    if found is None:
        raise NotFound("unknown activity")
    return found[0], found[1]
