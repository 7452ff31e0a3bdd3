"""A small town for enrolment tests: services with staff, activities open for enrolment, two
families (one child; two children, one of them enrolled already)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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
    Service,
    StaffMember,
)
from store.models.enums import ActivityKind

# The tests' clock says Tuesday 24 November 2026; the school year's enrolments end on 3 July.
YEAR_END = date(2027, 7, 3)
CENTRES_STAFF = "agent.cl@ville.fr"
NURSERY_STAFF = "agent.garderie@ville.fr"
FILE_STAFF = "agent.dossier@ville.fr"


@dataclass
class EnrolmentTown:
    """Ids of what `build_enrolment_town` created."""

    centre_id: int
    nature_id: int
    evening_id: int
    nursery_id: int
    family_id: int
    guardian: Actor
    lucas_id: int
    other_family_id: int
    other_guardian: Actor
    jade_id: int
    hugo_id: int


def _days(first: date, last: date, weekdays: set[int]) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


async def build_enrolment_town(
    sessions: async_sessionmaker[AsyncSession], *, centre_capacity: int | None = None
) -> EnrolmentTown:
    """Four activities of the school year:

    - "CL Mercredis" (leisure centre, centres' service): Wednesdays, ages 3 to 11, 3,00 € (QF1),
      5,20 € (QF2), 8,00 € (any other band); `centre_capacity` children at most;
    - "Stage nature" (centres' service): Wednesdays and Thursdays, needs a vaccination record
      and the outings consent;
    - "Garderie du soir" (after school, its own service): Mon, Tue, Thu, Fri, CP to CM2, 1,50 €;
    - "Garderie maternelle": PS to GS only.

    Family F1 (QF2): Lucas (CP, 7). Family F2 (QF1): Jade (CP) and Hugo (CM2), Hugo enrolled in
    the evening nursery until 3 July 2027 (the school year's end).
    """
    async with sessions.begin() as session:
        centres = Service(code="centres", name="Centres de loisirs", email="cl@ville.fr")
        periscolaire = Service(code="periscolaire", name="ALAE", email="alae@ville.fr")
        dossier = Service(code="family_file", name="Dossier famille", email="dossier@ville.fr")
        session.add_all([centres, periscolaire, dossier])
        await session.flush()
        session.add_all(
            [
                StaffMember(service_id=centres.id, name="Agent CL", email=CENTRES_STAFF),
                StaffMember(service_id=periscolaire.id, name="Agent ALAE", email=NURSERY_STAFF),
                StaffMember(service_id=dossier.id, name="Agent dossier", email=FILE_STAFF),
            ]
        )
        facility = Facility(code="jf", name="École Jules Ferry")
        session.add(facility)
        await session.flush()
        rule = {"booking": {"rule": "days_before", "days": 2, "time": "12:00"}}
        centre = Activity(
            code="cl-mer",
            facility_id=facility.id,
            service_id=centres.id,
            name="CL Mercredis",
            kind=ActivityKind.LEISURE_CENTRE,
            capacity=20,
            min_age=3,
            max_age=11,
            enrolment_capacity=centre_capacity,
            rules=rule,
        )
        nature = Activity(
            code="nature",
            facility_id=facility.id,
            service_id=centres.id,
            name="Stage nature",
            kind=ActivityKind.LEISURE_CENTRE,
            capacity=12,
            required_documents=["vaccination_record"],
            required_consents=["outings"],
            rules=rule,
        )
        evening = Activity(
            code="garderie",
            facility_id=facility.id,
            service_id=periscolaire.id,
            name="Garderie du soir",
            kind=ActivityKind.AFTER_SCHOOL,
            capacity=30,
            levels=["CP", "CE1", "CE2", "CM1", "CM2"],
            rules={"booking": {"rule": "days_before", "days": 1, "time": "18:00"}},
        )
        nursery = Activity(
            code="maternelle",
            facility_id=facility.id,
            service_id=periscolaire.id,
            name="Garderie maternelle",
            kind=ActivityKind.AFTER_SCHOOL,
            capacity=30,
            levels=["PS", "MS", "GS"],
            rules=rule,
        )
        session.add_all([centre, nature, evening, nursery])
        await session.flush()
        session.add_all(
            [
                ActivityPrice(activity_id=centre.id, tariff_band="QF1", price_cents=300),
                ActivityPrice(activity_id=centre.id, tariff_band="QF2", price_cents=520),
                ActivityPrice(activity_id=centre.id, tariff_band="*", price_cents=800),
                ActivityPrice(activity_id=nature.id, tariff_band="*", price_cents=1200),
                ActivityPrice(activity_id=evening.id, tariff_band="*", price_cents=150),
                ActivityPrice(activity_id=nursery.id, tariff_band="*", price_cents=150),
            ]
        )
        last = date(2027, 1, 29)
        for activity, weekdays in (
            (centre, {2}),
            (nature, {2, 3}),
            (evening, {0, 1, 3, 4}),
            (nursery, {0, 1, 3, 4}),
        ):
            for day in _days(date(2026, 11, 24), last, weekdays):
                session.add(
                    OpeningDay(activity_id=activity.id, day=day, capacity=activity.capacity)
                )
        one = _family("F1", "QF2", [("Lucas", "CP", date(2019, 5, 1))])
        two = _family(
            "F2", "QF1", [("Jade", "CP", date(2019, 2, 2)), ("Hugo", "CM2", date(2015, 6, 6))]
        )
        session.add_all([one, two])
        await session.flush()
        lucas = one.children[0]
        jade, hugo = two.children
        session.add(
            Enrollment(
                child_id=hugo.id,
                activity_id=evening.id,
                school_year="2026-2027",
                starts_on=date(2026, 9, 1),
                ends_on=YEAR_END,
            )
        )
        return EnrolmentTown(
            centre_id=centre.id,
            nature_id=nature.id,
            evening_id=evening.id,
            nursery_id=nursery.id,
            family_id=one.id,
            guardian=Actor.guardian(one.guardians[0].id, one.id),
            lucas_id=lucas.id,
            other_family_id=two.id,
            other_guardian=Actor.guardian(two.guardians[0].id, two.id),
            jade_id=jade.id,
            hugo_id=hugo.id,
        )


def _family(code: str, band: str, children: list[tuple[str, str, date]]) -> Family:
    family = Family(code=code, name=f"Famille {code}", tariff_band=band)
    family.guardians = [
        Guardian(first_name="Parent", last_name=code, email=f"parent.{code.lower()}@exemple.fr")
    ]
    family.children = [
        Child(
            code=f"{code}-{index}",
            first_name=name,
            last_name=code,
            birth_date=born,
            school_level=level,
        )
        for index, (name, level, born) in enumerate(children)
    ]
    return family
