"""Tarifs: each activity's price of a day per tariff band, with the band's quotient limits,
the family's own band, and the activity's booking and cancellation rules.

Prices are public; the family's band is the family's own, so every call knows who asks. An
activity's price for a band is its `ActivityPrice` row for that band, else its "*" row (the
same price for every band), as `store.calendar.day_price` bills it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, NotFound
from store.calendar import DEFAULT_TARIFF_BAND, activity_rules
from store.models import Activity, ActivityPrice, Facility, Family, TariffBand
from store.models.enums import ActivityKind
from store.policies import ActivityRules


@dataclass(frozen=True)
class ActivityEntry:
    """An activity of the tariffs' list."""

    id: int
    name: str
    facility: str
    kind: ActivityKind


@dataclass(frozen=True)
class BandPrice:
    """A band's price of a day (None: no price for that band), and whether it is the family's."""

    code: str
    label: str
    quotient_min: int | None
    quotient_max: int | None
    price_cents: int | None
    is_family_band: bool


@dataclass(frozen=True)
class ActivityTariff:
    """One activity's tariff screen: prices per band (in the bands' order) and rules.

    `same_for_all` is true when only a "*" price exists: every band pays it.
    """

    activity: ActivityEntry
    bands: list[BandPrice]
    same_for_all: bool
    family_band: str
    rules: ActivityRules


class TariffService:
    """Read activities' tariffs for a family."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def activities(self, actor: Actor, family_id: int) -> list[ActivityEntry]:
        """Every activity with a price, by facility and name."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            priced = select(ActivityPrice.activity_id).distinct()
            rows = await session.execute(
                select(Activity.id, Activity.name, Facility.name, Activity.kind)
                .join(Facility, Facility.id == Activity.facility_id)
                .where(Activity.id.in_(priced))
                .order_by(Facility.name, Activity.name, Activity.id)
            )
            return [ActivityEntry(*row) for row in rows]

    async def tariff(self, actor: Actor, family_id: int, activity_id: int) -> ActivityTariff:
        """One activity's prices per band, the family's band marked; unknown: NotFound."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(Activity, Facility.name)
                    .join(Facility, Facility.id == Activity.facility_id)
                    .where(Activity.id == activity_id)
                )
            ).first()
            if found is None:
                raise NotFound("unknown activity")
            activity, facility = found
            family_band = await session.scalar(
                select(Family.tariff_band).where(Family.id == family_id)
            )
            if family_band is None:
                raise NotFound("unknown family")
            prices = {
                band: cents
                for band, cents in await session.execute(
                    select(ActivityPrice.tariff_band, ActivityPrice.price_cents).where(
                        ActivityPrice.activity_id == activity_id
                    )
                )
            }
            bands = list(
                await session.scalars(
                    select(TariffBand).order_by(TariffBand.position, TariffBand.code)
                )
            )
        return ActivityTariff(
            ActivityEntry(activity.id, activity.name, facility, activity.kind),
            _band_prices(bands, prices, family_band),
            set(prices) == {DEFAULT_TARIFF_BAND},
            family_band,
            activity_rules(activity),
        )


def _band_prices(
    bands: list[TariffBand], prices: dict[str, int], family_band: str
) -> list[BandPrice]:
    """The bands in order with their price; bands priced but not described come after."""
    default = prices.get(DEFAULT_TARIFF_BAND)
    rows = [
        BandPrice(
            band.code,
            band.label,
            band.quotient_min,
            band.quotient_max,
            prices.get(band.code, default),
            band.code == family_band,
        )
        for band in bands
    ]
    described = {band.code for band in bands}
    for code in sorted(set(prices) - described - {DEFAULT_TARIFF_BAND}):
        rows.append(BandPrice(code, code, None, None, prices[code], code == family_band))
    if not rows and default is not None:
        rows.append(BandPrice(DEFAULT_TARIFF_BAND, "", None, None, default, True))
    return rows
