"""Helpers shared by the tests: a settable clock and a small town built in a few lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor
from store.models import (
    Activity,
    ActivityPrice,
    Child,
    Enrollment,
    Facility,
    Family,
    Guardian,
    OpeningDay,
)
from store.models.enums import ActivityKind

PARIS = ZoneInfo("Europe/Paris")


def paris(day: date, at: str = "09:00") -> datetime:
    """An aware datetime in Paris."""
    return datetime.combine(day, time.fromisoformat(at), tzinfo=PARIS)


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


@dataclass
class Town:
    """Ids of what `build_town` created."""

    activity_id: int
    family_id: int
    guardian: Actor
    child_ids: list[int]
    other_family_id: int
    other_guardian: Actor
    other_child_id: int
    facility_id: int


async def build_town(
    sessions: async_sessionmaker[AsyncSession],
    days: list[date],
    *,
    capacity: int = 10,
    rules: dict[str, Any] | None = None,
    required_documents: list[str] | None = None,
    requires_validation: bool = False,
    waitlist: bool = True,
    levels: list[str] | None = None,
    closed: set[date] | None = None,
    price_cents: int = 410,
) -> Town:
    """One facility, one activity open on `days`, two families (2 children and 1 child)."""
    async with sessions.begin() as session:
        facility = Facility(code="fac", name="École")
        session.add(facility)
        await session.flush()
        activity = Activity(
            code="act",
            facility_id=facility.id,
            name="CL Mercredis",
            kind=ActivityKind.LEISURE_CENTRE,
            capacity=capacity,
            requires_validation=requires_validation,
            waitlist_enabled=waitlist,
            levels=levels or [],
            required_documents=required_documents or [],
            rules=rules
            or {
                "booking": {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"}
            },
        )
        session.add(activity)
        await session.flush()
        session.add(
            ActivityPrice(activity_id=activity.id, tariff_band="QF2", price_cents=price_cents)
        )
        for day in days:
            session.add(
                OpeningDay(
                    activity_id=activity.id,
                    day=day,
                    capacity=capacity,
                    closed=day in (closed or set()),
                )
            )
        family = await _family(session, "F1", ["Lucas", "Emma"], ["CP", "CE1"])
        other = await _family(session, "F2", ["Jade"], ["CP"])
        children = [c.id for c in family.children]
        for child_id in [*children, other.children[0].id]:
            session.add(_enrollment(child_id, activity.id))
        return Town(
            activity_id=activity.id,
            family_id=family.id,
            guardian=Actor.guardian(family.guardians[0].id, family.id),
            child_ids=children,
            other_family_id=other.id,
            other_guardian=Actor.guardian(other.guardians[0].id, other.id),
            other_child_id=other.children[0].id,
            facility_id=facility.id,
        )


async def _family(session: AsyncSession, code: str, names: list[str], levels: list[str]) -> Family:
    family = Family(code=code, name=f"Famille {code}", tariff_band="QF2")
    family.guardians = [
        Guardian(first_name="Parent", last_name=code, email=f"parent.{code.lower()}@exemple.fr")
    ]
    family.children = [
        Child(
            code=f"{code}-{index}",
            first_name=name,
            last_name=code,
            birth_date=date(2019, 5, 1),
            school_level=level,
        )
        for index, (name, level) in enumerate(zip(names, levels, strict=True))
    ]
    session.add(family)
    await session.flush()
    return family


def _enrollment(child_id: int, activity_id: int) -> Enrollment:
    return Enrollment(
        child_id=child_id,
        activity_id=activity_id,
        school_year="2026-2027",
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 8, 31),
    )


async def one_child_families(
    sessions: async_sessionmaker[AsyncSession], activity_id: int, count: int, prefix: str
) -> list[tuple[Actor, int]]:
    """`count` more families of one child enrolled in the activity (codes `<prefix><n>`):
    each family's guardian and child, for requests racing each other."""
    racers = []
    async with sessions.begin() as session:
        for index in range(count):
            family = await _family(session, f"{prefix}{index}", ["C"], ["CP"])
            child_id = family.children[0].id
            session.add(_enrollment(child_id, activity_id))
            racers.append((Actor.guardian(family.guardians[0].id, family.id), child_id))
    return racers
