"""A generated town for load runs: thousands of families, written fast with Core bulk inserts.

Rows are built in Python with explicit ids, family by family, and written in batches with
`connection.execute(insert(table), rows)` (one executemany per table and batch), never through
the ORM. What a real store holds is there: one or two guardians per family (most of them linked
to Telegram), one to three children, enrollments in their school's canteen (some also in the
Wednesday leisure centre), bookings of the current and next month, two invoices with lines,
payments, sent notifications and a few drafts left in the chat state.

The schema comes from the product's own migrations (`store.migrate.upgrade`).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import holidays
from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from store.models import (
    Activity,
    ActivityPrice,
    Booking,
    ChatState,
    Child,
    Enrollment,
    Facility,
    Family,
    Guardian,
    Invoice,
    InvoiceLine,
    OpeningDay,
    OutboxItem,
    Payment,
)
from store.policies import ActivityRules

SCHOOL_YEAR = "2026-2027"
YEAR_START, YEAR_END = date(2026, 9, 1), date(2027, 7, 3)
# Zone C school holidays 2026-2027 (first and last day without school).
SCHOOL_HOLIDAYS = [
    (date(2026, 10, 17), date(2026, 11, 1)),
    (date(2026, 12, 19), date(2027, 1, 3)),
    (date(2027, 2, 20), date(2027, 3, 7)),
    (date(2027, 4, 17), date(2027, 5, 2)),
]
BANDS = {"QF1": 80, "QF2": 230, "QF3": 410, "QF4": 520, "QF5": 610}
LEISURE_BANDS = {"QF1": 300, "QF2": 650, "QF3": 1100, "QF4": 1500, "QF5": 1800}
FIRST_NAMES = [
    "Lucas",
    "Emma",
    "Jade",
    "Louis",
    "Léo",
    "Alice",
    "Gabriel",
    "Chloé",
    "Hugo",
    "Lina",
    "Arthur",
    "Rose",
    "Jules",
    "Anna",
    "Adam",
    "Mia",
    "Raphaël",
    "Inès",
    "Nathan",
    "Léa",
    "Tom",
    "Manon",
    "Paul",
    "Camille",
    "Sacha",
    "Zoé",
    "Noah",
    "Eva",
    "Ethan",
    "Lou",
    "Victor",
    "Nina",
    "Maël",
    "Sarah",
    "Léon",
    "Juliette",
    "Théo",
    "Agathe",
    "Aaron",
    "Clara",
    "Mathis",
    "Iris",
    "Axel",
    "Romane",
    "Timéo",
    "Lola",
    "Malo",
    "Margaux",
    "Noé",
    "Élise",
    "Samuel",
    "Ambre",
    "Martin",
    "Louise",
    "Marius",
    "Alba",
    "Simon",
    "Jeanne",
    "Nolan",
    "Lya",
]
ADULT_NAMES = [
    "Camille",
    "Julie",
    "Thomas",
    "Nicolas",
    "Sophie",
    "Marie",
    "Pierre",
    "Claire",
    "Antoine",
    "Laura",
    "Julien",
    "Céline",
    "Mathieu",
    "Aurélie",
    "Romain",
    "Émilie",
    "Karim",
    "Fatima",
    "Olivier",
    "Nadia",
    "Sébastien",
    "Élodie",
    "David",
    "Sandrine",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
]
CANTEEN_RULES: dict[str, Any] = {
    "booking": {"rule": "days_before", "days": 3, "count": "working", "time": "10:00"},
    "cancellation": {"rule": "days_before", "days": 3, "count": "working", "time": "10:00"},
    "late_booking": {"mode": "refuse"},
    "late_cancellation": {"mode": "bill_full"},
}
MONTHLY_RULES: dict[str, Any] = {
    "booking": {"rule": "previous_month_day", "day": 20, "time": "23:59", "shift": "earlier"},
    "cancellation": {"rule": "days_before", "days": 3, "count": "working", "time": "10:00"},
    "late_booking": {"mode": "refuse"},
    "late_cancellation": {"mode": "bill_full"},
}
LEISURE_RULES: dict[str, Any] = {
    "booking": {"rule": "previous_month_day", "day": 20, "time": "23:59", "shift": "earlier"},
    "cancellation": {"rule": "previous_week", "weekday": "tuesday", "weeks_before": 1},
    "late_booking": {"mode": "refuse"},
    "late_cancellation": {"mode": "bill_reduced", "percent": 50},
}
TELEGRAM_ID_BASE = 700_000_000
BATCH_FAMILIES = 2000


@dataclass(frozen=True)
class Parent:
    """A linked guardian the load generator can play."""

    telegram_user_id: int
    family_id: int
    first_name: str
    language: str
    children: tuple[str, ...]
    canteen: str


@dataclass
class TownFacts:
    """What was generated, and how long it took."""

    families: int
    rows: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    parents: list[Parent] = field(default_factory=list)
    activity_ids: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def describe(self) -> str:
        parts = ", ".join(f"{count:,} {table}" for table, count in sorted(self.rows.items()))
        return f"{self.total_rows:,} rows in {self.seconds:.1f} s ({parts})"


def _school_day(day: date) -> bool:
    return YEAR_START <= day <= YEAR_END and not any(a <= day <= b for a, b in SCHOOL_HOLIDAYS)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass
class _Counter:
    value: int = 0

    def __call__(self) -> int:
        self.value += 1
        return self.value


async def build(
    url: str,
    families: int,
    *,
    seed: int = 20261124,
    linked_share: float = 0.6,
    canteen_rules: dict[str, Any] | None = None,
    capacity_share: float = 1.3,
    bookings: bool = True,
) -> TownFacts:
    """Fill an empty, migrated database at `url` with a town of `families` families."""
    started = time.perf_counter()
    facts = TownFacts(families)
    rng = random.Random(seed)
    schools = max(2, min(40, families // 1000))
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                await connection.exec_driver_sql("PRAGMA synchronous=OFF")
            await _generate(
                connection,
                facts,
                rng,
                schools,
                linked_share,
                canteen_rules or CANTEEN_RULES,
                capacity_share,
                bookings,
            )
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                for table in facts.rows:
                    await connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
                await connection.execute(text("ANALYZE"))
            else:
                await connection.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    facts.seconds = time.perf_counter() - started
    return facts


async def _write(
    connection: AsyncConnection, facts: TownFacts, model: Any, rows: list[dict[str, Any]]
) -> None:
    if rows:
        await connection.execute(insert(model.__table__), rows)
        facts.rows[model.__tablename__] += len(rows)
        rows.clear()


async def _generate(
    connection: AsyncConnection,
    facts: TownFacts,
    rng: random.Random,
    schools: int,
    linked_share: float,
    canteen_rules: dict[str, Any],
    capacity_share: float,
    with_bookings: bool,
) -> None:
    ActivityRules.model_validate(canteen_rules)
    ActivityRules.model_validate(LEISURE_RULES)
    public = holidays.France(years=[2026, 2027])
    children_per_school = facts.families * 1.8 / schools
    canteen_capacity = max(30, int(children_per_school * capacity_share))
    facilities, activities, prices, opening = [], [], [], []
    opening_ids: dict[tuple[int, date], int] = {}
    next_opening = _Counter()
    for school in range(1, schools + 1):
        facilities.append({"id": school, "code": f"ECOLE{school:02d}", "name": f"École {school}"})
        activities.append(
            {
                "id": school,
                "code": f"CANTINE{school:02d}",
                "facility_id": school,
                "name": f"Cantine École {school}",
                "kind": "canteen",
                "capacity": canteen_capacity,
                "requires_validation": False,
                "waitlist_enabled": True,
                "levels": [],
                "required_documents": [],
                "rules": canteen_rules,
            }
        )
        facts.activity_ids[f"Cantine École {school}"] = school
        prices += [
            {"activity_id": school, "tariff_band": band, "price_cents": cents}
            for band, cents in BANDS.items()
        ]
        for day in _days(YEAR_START, YEAR_END):
            if day.weekday() in (0, 1, 3, 4) and _school_day(day):
                opening_ids[(school, day)] = next_opening()
                opening.append(
                    {
                        "id": next_opening.value,
                        "activity_id": school,
                        "day": day,
                        "capacity": canteen_capacity,
                        "taken": 0,
                        "closed": day in public,
                        "closed_reason": public.get(day),
                    }
                )
    leisure = schools + 1
    leisure_capacity = max(30, int(facts.families * 0.55 * capacity_share))
    facilities.append({"id": leisure, "code": "CLSH", "name": "Centre de loisirs"})
    activities.append(
        {
            "id": leisure,
            "code": "CLSH",
            "facility_id": leisure,
            "name": "Centre de loisirs",
            "kind": "leisure_centre",
            "capacity": leisure_capacity,
            "requires_validation": False,
            "waitlist_enabled": True,
            "levels": [],
            "required_documents": [],
            "rules": LEISURE_RULES,
        }
    )
    facts.activity_ids["Centre de loisirs"] = leisure
    prices += [
        {"activity_id": leisure, "tariff_band": band, "price_cents": cents}
        for band, cents in LEISURE_BANDS.items()
    ]
    for day in _days(YEAR_START, date(2027, 8, 27)):
        wednesday = day.weekday() == 2 and _school_day(day)
        holiday_weekday = day.weekday() < 5 and not _school_day(day)
        if wednesday or holiday_weekday:
            opening_ids[(leisure, day)] = next_opening()
            opening.append(
                {
                    "id": next_opening.value,
                    "activity_id": leisure,
                    "day": day,
                    "capacity": leisure_capacity,
                    "taken": 0,
                    "closed": day in public,
                    "closed_reason": public.get(day),
                }
            )
    await _write(connection, facts, Facility, facilities)
    await _write(connection, facts, Activity, activities)
    await _write(connection, facts, ActivityPrice, prices)
    for start in range(0, len(opening), 5000):
        await _write(connection, facts, OpeningDay, opening[start : start + 5000])

    # Days bookings are drawn from: this month and the next (Nov-Dec 2026).
    canteen_days = {
        school: [
            day
            for day in _days(date(2026, 11, 2), date(2026, 12, 18))
            if (school, day) in opening_ids and day not in public
        ]
        for school in range(1, schools + 1)
    }
    leisure_days = [d for d in _days(date(2026, 11, 2), date(2026, 12, 16)) if d.weekday() == 2]
    taken: Counter[int] = Counter()
    ids = {name: _Counter() for name in ("guardian", "child", "enrollment", "booking")}
    ids.update({name: _Counter() for name in ("invoice", "line", "payment", "outbox", "state")})
    tables: dict[Any, list[dict[str, Any]]] = {
        model: []
        for model in (
            Family,
            Guardian,
            Child,
            Enrollment,
            Booking,
            Invoice,
            InvoiceLine,
            Payment,
            OutboxItem,
            ChatState,
        )
    }
    sent_at = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)
    for family_id in range(1, facts.families + 1):
        school = 1 + (family_id - 1) % schools
        band = rng.choice(list(BANDS))
        last_name = rng.choice(LAST_NAMES)
        tables[Family].append(
            {
                "id": family_id,
                "code": f"F{family_id:07d}",
                "name": f"Famille {last_name}",
                "tariff_band": band,
            }
        )
        n_children = rng.choices((1, 2, 3), weights=(40, 40, 20))[0]
        names = sorted(rng.sample(FIRST_NAMES, n_children))
        guardian_rows = []
        for index in range(2 if rng.random() < 0.65 else 1):
            guardian_id = ids["guardian"]()
            linked = rng.random() < linked_share
            language = "en" if rng.random() < 0.1 else "fr"
            first = rng.choice(ADULT_NAMES)
            guardian_rows.append((guardian_id, linked, language, first))
            tables[Guardian].append(
                {
                    "id": guardian_id,
                    "family_id": family_id,
                    "first_name": first,
                    "last_name": last_name,
                    "email": f"g{guardian_id}.{index}@exemple.fr",
                    "phone": None,
                    "language": language,
                    "telegram_user_id": TELEGRAM_ID_BASE + guardian_id if linked else None,
                    "telegram_chat_id": TELEGRAM_ID_BASE + guardian_id if linked else None,
                    "telegram_linked_at": sent_at if linked else None,
                }
            )
            if linked:
                tables[OutboxItem].append(
                    {
                        "id": ids["outbox"](),
                        "channel": "telegram",
                        "recipient": str(TELEGRAM_ID_BASE + guardian_id),
                        "kind": "booking_validated",
                        "payload": {"booking_id": 1, "day": "2026-11-05"},
                        "dedup_key": f"history:{guardian_id}",
                        "state": "sent",
                        "attempts": 1,
                        "next_attempt_at": sent_at,
                        "sent_at": sent_at,
                    }
                )
                if guardian_id % 37 == 0:
                    tables[ChatState].append(
                        {
                            "id": ids["state"](),
                            "kind": "user_data",
                            "key": str(TELEGRAM_ID_BASE + guardian_id),
                            "data": {"language": language, "booking": {"month": "2026-12-01"}},
                        }
                    )
        child_rows = []
        for name in names:
            child_id = ids["child"]()
            birth = date(rng.randint(2015, 2022), rng.randint(1, 12), rng.randint(1, 28))
            tables[Child].append(
                {
                    "id": child_id,
                    "family_id": family_id,
                    "code": f"E{child_id:07d}",
                    "first_name": name,
                    "last_name": last_name,
                    "birth_date": birth,
                    "school_level": "CP",
                }
            )
            in_leisure = rng.random() < 0.3
            child_rows.append((child_id, name, in_leisure))
            for activity in (school, leisure) if in_leisure else (school,):
                tables[Enrollment].append(
                    {
                        "id": ids["enrollment"](),
                        "child_id": child_id,
                        "activity_id": activity,
                        "school_year": SCHOOL_YEAR,
                        "starts_on": YEAR_START,
                        "ends_on": date(2027, 8, 31),
                    }
                )
            if not with_bookings:
                continue
            picks = [(school, d) for d in rng.sample(canteen_days[school], 8)]
            if in_leisure:
                picks += [(leisure, d) for d in rng.sample(leisure_days, 2)]
            for activity, day in picks:
                state = "cancelled" if rng.random() < 0.05 else "confirmed"
                opening_id = opening_ids[(activity, day)]
                if state == "confirmed":
                    taken[opening_id] += 1
                cents = (LEISURE_BANDS if activity == leisure else BANDS)[band]
                tables[Booking].append(
                    {
                        "id": ids["booking"](),
                        "family_id": family_id,
                        "child_id": child_id,
                        "activity_id": activity,
                        "opening_day_id": opening_id,
                        "day": day,
                        "state": state,
                        "price_cents": cents,
                        "surcharge_cents": 0,
                        "cancellation_fee_cents": 0,
                        "created_by": f"guardian:{guardian_rows[0][0]}",
                    }
                )
        _bill(tables, ids, rng, family_id, band, child_rows)
        for guardian_id, linked, language, first in guardian_rows:
            if linked and guardian_id % 37 != 0:
                facts.parents.append(
                    Parent(
                        TELEGRAM_ID_BASE + guardian_id,
                        family_id,
                        first,
                        language,
                        tuple(names),
                        f"Cantine École {school}",
                    )
                )
        if family_id % BATCH_FAMILIES == 0 or family_id == facts.families:
            for model, rows in tables.items():
                await _write(connection, facts, model, rows)
    if taken:
        await connection.execute(
            update(OpeningDay.__table__)
            .where(OpeningDay.__table__.c.id == bindparam("opening_id"))
            .values(taken=bindparam("count")),
            [{"opening_id": key, "count": count} for key, count in taken.items()],
        )


def _bill(
    tables: dict[Any, list[dict[str, Any]]],
    ids: dict[str, _Counter],
    rng: random.Random,
    family_id: int,
    band: str,
    children: list[tuple[int, str, bool]],
) -> None:
    """September and October invoices (one line per child), September paid, October partly."""
    for month, issued, paid_share in ((9, date(2026, 10, 5), 1.0), (10, date(2026, 11, 5), 0.7)):
        invoice_id = ids["invoice"]()
        total = 0
        for position, (_, name, _) in enumerate(children, start=1):
            quantity = rng.randint(8, 16)
            unit = BANDS[band]
            total += quantity * unit
            tables[InvoiceLine].append(
                {
                    "id": ids["line"](),
                    "invoice_id": invoice_id,
                    "position": position,
                    "label": f"Cantine — {name}",
                    "quantity": quantity,
                    "unit_price_cents": unit,
                    "amount_cents": quantity * unit,
                }
            )
        tables[Invoice].append(
            {
                "id": invoice_id,
                "family_id": family_id,
                "number": f"FA2026{month:02d}-{family_id:07d}",
                "issued_on": issued,
                "due_on": issued + timedelta(days=25),
                "period_start": date(2026, month, 1),
                "period_end": date(2026, month, 30 if month == 9 else 31),
                "total_cents": total,
            }
        )
        if rng.random() < paid_share:
            tables[Payment].append(
                {
                    "id": ids["payment"](),
                    "family_id": family_id,
                    "invoice_id": invoice_id,
                    "reference": f"PAY-{invoice_id:08d}",
                    "paid_on": issued + timedelta(days=rng.randint(3, 20)),
                    "amount_cents": total,
                    "method": rng.choice(("prélèvement", "carte", "chèque")),
                }
            )
