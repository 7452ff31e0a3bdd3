"""2. Deadline rush on PostgreSQL: thousands of families book next month before the 20th.

A fresh database is created with psql, migrated by the product's Alembic scripts, filled by
`bench.town` (the canteens' booking deadline is the 20th of the previous month, capacity set so
that popular days overflow), then every family books eight days of January for all its
children in one `BookingService.book` call, the evening before the deadline (Friday 18 December
2026, 18:00 Paris: the 20th is a Sunday, moved to the Friday). Requests run through the
product's own engine (`store.database.create_engine`: pool of 10 + 20 overflow), first one at a
time (as the bot processes updates today: the baseline), then `concurrency` at a time.

Proved in the same run, from the database: no day over capacity (`taken` equals the places
held and never exceeds `capacity`), every request answered (one outcome per child and day, no
exception), waitlists in order (no one waitlisted on a day with a free place; between requests
that did not overlap in time, the earlier one is ahead in the waitlist; cancellations promote
the head of the waitlist, in order). The database is dropped at the end.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from bench import town
from bench.common import (
    Section,
    cpu_of_all,
    cpu_used,
    fresh_postgresql,
    median,
    own_cpu_seconds,
    own_vm_hwm_mb,
    percentile,
    reset_own_peak_rss,
)
from store.actors import Actor
from store.bookings import BookingService
from store.database import create_engine, create_sessionmaker
from store.models import Booking, Child, Enrollment, Guardian, OpeningDay
from store.models.enums import BookingState

RUSH_MOMENT = datetime(2026, 12, 18, 17, 0, tzinfo=UTC)  # 18:00 in Paris
DAYS_PER_FAMILY = 8
# Mondays and Fridays are asked more: those days overflow and build waitlists.
WEEKDAY_WEIGHT = {0: 3.0, 1: 1.0, 3: 1.0, 4: 2.5}


@dataclass(frozen=True)
class Request:
    family_id: int
    guardian_id: int
    children: tuple[int, ...]
    activity_id: int
    days: tuple[date, ...]


@dataclass
class Answered:
    request: Request
    started: float
    finished: float
    outcomes: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    booking_ids: list[int] = field(default_factory=list)


async def _requests(sessions, rng: random.Random) -> list[Request]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        guardians = dict(
            (
                await session.execute(
                    select(Guardian.family_id, func.min(Guardian.id)).group_by(Guardian.family_id)
                )
            ).all()
        )
        rows = (
            await session.execute(
                select(Child.family_id, Child.id, func.min(Enrollment.activity_id))
                .join(Enrollment, Enrollment.child_id == Child.id)
                .group_by(Child.family_id, Child.id)
            )
        ).all()
        january = (
            await session.execute(
                select(OpeningDay.activity_id, OpeningDay.day).where(
                    OpeningDay.day >= date(2027, 1, 4),
                    OpeningDay.day <= date(2027, 1, 29),
                    OpeningDay.closed.is_(False),
                )
            )
        ).all()
    open_days: dict[int, list[date]] = defaultdict(list)
    for activity_id, day in january:
        open_days[activity_id].append(day)
    children: dict[int, list[int]] = defaultdict(list)
    activity: dict[int, int] = {}
    for family_id, child_id, activity_id in rows:
        children[family_id].append(child_id)
        activity[family_id] = activity_id
    requests = []
    for family_id in sorted(children):
        days = open_days[activity[family_id]]
        weights = [WEEKDAY_WEIGHT.get(day.weekday(), 1.0) for day in days]
        chosen: set[date] = set()
        while len(chosen) < min(DAYS_PER_FAMILY, len(days)):
            chosen.add(rng.choices(days, weights)[0])
        requests.append(
            Request(
                family_id,
                guardians[family_id],
                tuple(sorted(children[family_id])),
                activity[family_id],
                tuple(sorted(chosen)),
            )
        )
    rng.shuffle(requests)
    return requests


async def _book(service: BookingService, request: Request, started_at: float) -> Answered:
    answered = Answered(request, time.perf_counter(), 0.0)
    try:
        outcomes = await service.book(
            Actor.guardian(request.guardian_id, request.family_id),
            request.children,
            request.activity_id,
            request.days,
        )
        answered.outcomes.update(o.outcome.value for o in outcomes)
        answered.booking_ids = [o.booking_id for o in outcomes if o.booking_id is not None]
        if len(outcomes) != len(request.children) * len(request.days):
            answered.error = f"{len(outcomes)} outcomes for {len(request.children)} children"
    except Exception as error:  # every failure is counted and shown, none is retried
        answered.error = f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"
    answered.finished = time.perf_counter()
    return answered


async def _run_all(
    service: BookingService, requests: list[Request], concurrency: int
) -> tuple[list[Answered], float]:
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(request: Request) -> Answered:
        async with gate:
            return await _book(service, request, started)

    answers = await asyncio.gather(*(one(r) for r in requests))
    return list(answers), time.perf_counter() - started


@dataclass
class Proof:
    over_capacity: int = 0
    taken_mismatch: int = 0
    waitlisted_with_free_place: int = 0
    order_inversions: int = 0
    promotions: int = 0
    promotions_out_of_order: int = 0
    cancel_errors: int = 0
    full_days: int = 0
    waitlisted: int = 0


async def _prove(sessions, answers: list[Answered], proof: Proof) -> None:  # type: ignore[no-untyped-def]
    held = (BookingState.CONFIRMED, BookingState.PENDING)
    async with sessions() as session:
        days = {
            row.id: row
            for row in (
                await session.execute(
                    select(OpeningDay.id, OpeningDay.capacity, OpeningDay.taken).where(
                        OpeningDay.day >= date(2027, 1, 1), OpeningDay.day <= date(2027, 1, 31)
                    )
                )
            ).all()
        }
        holding = dict(
            (
                await session.execute(
                    select(Booking.opening_day_id, func.count())
                    .where(Booking.state.in_(held), Booking.opening_day_id.in_(list(days)))
                    .group_by(Booking.opening_day_id)
                )
            ).all()
        )
        waiting = (
            await session.execute(
                select(Booking.opening_day_id, Booking.id)
                .where(
                    Booking.state == BookingState.WAITLISTED,
                    Booking.opening_day_id.in_(list(days)),
                )
                .order_by(Booking.id)
            )
        ).all()
    for day_id, row in days.items():
        proof.over_capacity += row.taken > row.capacity
        proof.taken_mismatch += row.taken != holding.get(day_id, 0)
        proof.full_days += row.taken >= row.capacity
    proof.waitlisted = len(waiting)
    by_booking = {b: a for a in answers for b in a.booking_ids}
    waitlists: dict[int, list[int]] = defaultdict(list)
    for day_id, booking_id in waiting:
        waitlists[day_id].append(booking_id)
        if days[day_id].taken < days[day_id].capacity:
            proof.waitlisted_with_free_place += 1
    for queue in waitlists.values():
        # Scanning from the back of the queue: a request that finished before an earlier-queued
        # one even started would be an inversion.
        earliest_end_behind = float("inf")
        for booking_id in reversed(queue):
            answer = by_booking[booking_id]
            if earliest_end_behind < answer.started:
                proof.order_inversions += 1
            earliest_end_behind = min(earliest_end_behind, answer.finished)


async def _cancel_and_promote(
    sessions,
    service: BookingService,
    rng: random.Random,
    proof: Proof,
    concurrency: int,  # type: ignore[no-untyped-def]
) -> None:
    """Cancel confirmed bookings on days with a waitlist; the head of each waitlist moves up."""
    async with sessions() as session:
        waiting = (
            await session.execute(
                select(Booking.opening_day_id, Booking.id)
                .where(Booking.state == BookingState.WAITLISTED)
                .order_by(Booking.id)
            )
        ).all()
        queues: dict[int, list[int]] = defaultdict(list)
        for day_id, booking_id in waiting:
            queues[day_id].append(booking_id)
        confirmed = (
            await session.execute(
                select(Booking.id, Booking.family_id, Booking.opening_day_id).where(
                    Booking.state == BookingState.CONFIRMED,
                    Booking.opening_day_id.in_(list(queues)),
                )
            )
        ).all()
        guardians = dict(
            (
                await session.execute(
                    select(Guardian.family_id, func.min(Guardian.id)).group_by(Guardian.family_id)
                )
            ).all()
        )
    by_day: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for booking_id, family_id, day_id in confirmed:
        by_day[day_id].append((booking_id, family_id))
    cancels: list[tuple[int, int]] = []
    expected: dict[int, list[int]] = {}
    for day_id, queue in queues.items():
        count = min(len(queue), len(by_day[day_id]), rng.randint(1, 6))
        cancels += rng.sample(by_day[day_id], count)
        expected[day_id] = queue[:count]
    gate = asyncio.Semaphore(concurrency)

    async def cancel(booking_id: int, family_id: int) -> int | None:
        async with gate:
            try:
                [result] = await service.cancel(
                    Actor.guardian(guardians[family_id], family_id), [booking_id]
                )
                return result.promoted_booking_id
            except Exception:
                proof.cancel_errors += 1
                return None

    promoted = await asyncio.gather(*(cancel(b, f) for b, f in cancels))
    proof.promotions = sum(p is not None for p in promoted)
    async with sessions() as session:
        states = dict(
            (
                await session.execute(
                    select(Booking.id, Booking.state).where(
                        Booking.id.in_([b for ids in expected.values() for b in ids])
                    )
                )
            ).all()
        )
    for ids in expected.values():
        proof.promotions_out_of_order += sum(
            states[booking_id] is not BookingState.CONFIRMED for booking_id in ids
        )


def _latency_row(
    label: str, answers: list[Answered], elapsed: float, concurrency: int
) -> list[str]:
    bookings = sum(sum(a.outcomes.values()) for a in answers)
    times = [a.finished - a.started for a in answers]
    return [
        label,
        str(concurrency),
        f"{len(answers):,}",
        f"{bookings:,}",
        f"{elapsed:.1f}",
        f"{bookings / elapsed:.0f}",
        f"{len(answers) / elapsed:.1f}",
        f"{median(times) * 1000:.0f}",
        f"{percentile(times, 99) * 1000:.0f}",
        f"{max(times) * 1000:.0f}",
        str(sum(a.error is not None for a in answers)),
    ]


async def measure(families: int, concurrency: int, sequential: int) -> Section:
    """Create, fill, rush, prove, drop."""
    started = time.perf_counter()
    section = Section(2, "Deadline rush on PostgreSQL")
    async with fresh_postgresql("bench_rush") as (name, url):
        facts = await town.build(
            url, families, canteen_rules=town.MONTHLY_RULES, capacity_share=0.5
        )
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        service = BookingService(sessions, lambda: RUSH_MOMENT)
        rng = random.Random(2026)
        requests = await _requests(sessions, rng)
        reset_own_peak_rss()
        cpu = [(own_cpu_seconds(), cpu_of_all("postgres"))]
        first, first_elapsed = await _run_all(service, requests[:sequential], 1)
        cpu.append((own_cpu_seconds(), cpu_of_all("postgres")))
        rest, rest_elapsed = await _run_all(service, requests[sequential:], concurrency)
        cpu.append((own_cpu_seconds(), cpu_of_all("postgres")))
        answers = first + rest
        proof = Proof()
        await _prove(sessions, answers, proof)
        await _cancel_and_promote(sessions, service, rng, proof, concurrency)
        await _prove(sessions, answers, after := Proof())
        peak = own_vm_hwm_mb()
        await engine.dispose()
    totals: Counter[str] = Counter()
    for answer in answers:
        totals.update(answer.outcomes)
    errors = [a.error for a in answers if a.error]
    section.setup = [
        f"Fresh database `{name}` (dropped after). {facts.families:,} families: "
        f"{facts.describe()}.",
        f"{len(requests):,} requests, one per family: {DAYS_PER_FAMILY} January days for all "
        "its children (one `BookingService.book` call), at 18:00 on Friday 18 December "
        "(deadline: the 20th, a Sunday, moved to the Friday 23:59). Canteen capacity: half "
        "of each school's children; Mondays and Fridays are asked more.",
        f"Baseline: the first {sequential:,} requests one at a time (how the bot, which "
        "processes one update at a time, would send them); then the others "
        f"{concurrency} at a time (the product engine's pool: 10 + 20 overflow).",
    ]
    busy = []
    for (own_a, pg_a), (own_b, pg_b), elapsed in zip(
        cpu[:-1], cpu[1:], (first_elapsed, rest_elapsed), strict=True
    ):
        pg = cpu_used(pg_a, pg_b)
        busy.append((f"{(own_b - own_a) / elapsed * 100:.0f} %", f"{pg / elapsed * 100:.0f} %"))
    section.table(
        [
            "requests",
            "concurrent",
            "requests",
            "bookings",
            "seconds",
            "bookings/s",
            "requests/s",
            "p50 ms",
            "p99 ms (slowest 1 %)",
            "max ms",
            "errors",
            "client CPU busy",
            "PostgreSQL CPU busy",
        ],
        [
            [*_latency_row("sequential (baseline)", first, first_elapsed, 1), *busy[0]],
            [*_latency_row("concurrent", rest, rest_elapsed, concurrency), *busy[1]],
        ],
    )
    seq_rate = sum(sum(a.outcomes.values()) for a in first) / first_elapsed
    con_rate = sum(sum(a.outcomes.values()) for a in rest) / rest_elapsed
    section.notes.append(
        f"Concurrent ÷ sequential: {con_rate / seq_rate:.2f}× the bookings per second. "
        f"Outcomes: {', '.join(f'{count:,} {name}' for name, count in sorted(totals.items()))}; "
        f"{proof.full_days} January days full, {proof.waitlisted:,} bookings waitlisted. "
        f"Peak memory of the harness process (the store's client): {peak:.0f} MiB."
    )
    answered = len(answers) - len(errors)
    section.goal(
        "every request answered (one outcome per child and day, no exception)",
        f"{answered:,} / {len(answers):,}",
        not errors,
    )
    section.goal(
        "no day over capacity (`taken` ≤ capacity and = places held), after the rush and "
        "after the cancellations",
        f"{proof.over_capacity + after.over_capacity} over, "
        f"{proof.taken_mismatch + after.taken_mismatch} mismatches",
        proof.over_capacity + after.over_capacity + proof.taken_mismatch + after.taken_mismatch
        == 0,
    )
    section.goal(
        "waitlists in order: nobody waitlisted beside a free place; no request queued behind "
        "one that started after it finished",
        f"{proof.waitlisted_with_free_place + after.waitlisted_with_free_place} beside a free "
        f"place, {proof.order_inversions} inversions",
        proof.waitlisted_with_free_place + after.waitlisted_with_free_place == 0
        and proof.order_inversions == 0,
    )
    section.goal(
        "cancellations promote the head of each waitlist, in order",
        f"{proof.promotions} promoted, {proof.promotions_out_of_order} out of order, "
        f"{proof.cancel_errors} cancel errors",
        proof.promotions_out_of_order == 0 and proof.cancel_errors == 0 and proof.promotions > 0,
    )
    for error, count in Counter(errors).most_common(5):
        section.notes.append(f"- {count}× {error}")
    section.seconds = time.perf_counter() - started
    return section


def run(families: int = 5000, concurrency: int = 30, sequential: int = 300) -> Section:
    return asyncio.run(measure(families, concurrency, sequential))


if __name__ == "__main__":
    print(run(1000, 30, 100).markdown())
