"""Deadline reminders in the store, on a controlled clock: who is reminded (exactly the families
with nothing booked of the period, siblings in one message), when (never inside quiet hours:
postponed, not dropped), once (two workers, a restart), "as last month" (a recap, then the same
weekdays booked), "not needed" and the per-activity mute, and a wave of 5,000 families."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor
from store.bookings import BookingService, Outcome
from store.database import create_engine, create_sessionmaker
from store.deadlines import PARIS
from store.models import (
    Booking,
    Child,
    Enrollment,
    Family,
    Guardian,
    OutboxItem,
    ReminderWave,
)
from store.models.enums import Channel
from store.outbox import claim_due
from store.policies import ActivityRules
from store.reminders import (
    MONTH,
    SENT,
    SKIPPED,
    WINDOW,
    ReminderService,
    ReminderSettings,
    periods_of,
)
from store.runtime import SendSlots
from tests.helpers import FakeClock, Town, build_town, paris

# The activity opens every weekday of November and December (up to the holidays); a "20th of
# the month, 12:00" rule: December closes on Friday 20 November at noon.
DAYS = [
    date(2026, 11, 2) + timedelta(days=n)
    for n in range(47)
    if (date(2026, 11, 2) + timedelta(days=n)).weekday() < 5
]
TWENTIETH = {"booking": {"rule": "previous_month_day", "day": 20, "time": "12:00"}}
DECEMBER = date(2026, 12, 1)
DEADLINE = paris(date(2026, 11, 20), "12:00")
THREE_DAYS = paris(date(2026, 11, 17), "12:00")
EVE = paris(date(2026, 11, 19), "12:00")


async def _town(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, rules: dict | None = None
) -> Town:
    clock.set(paris(date(2026, 10, 12)))
    town = await build_town(sessions, DAYS, rules=rules or TWENTIETH)
    await _link_every_guardian(sessions)
    return town


async def _link_every_guardian(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(Guardian)
            .where(Guardian.telegram_chat_id.is_(None))
            .values(telegram_chat_id=Guardian.id + 1000)
        )


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxItem]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem).where(OutboxItem.kind == "reminder").order_by(OutboxItem.id)
            )
        )


async def _chat_of(sessions: async_sessionmaker[AsyncSession], actor: Actor) -> str:
    async with sessions() as session:
        chat = await session.scalar(
            select(Guardian.telegram_chat_id).where(Guardian.id == actor.id)
        )
    return str(chat)


def _service(sessions, clock, **settings) -> ReminderService:
    return ReminderService(sessions, clock, ReminderSettings(**settings))


async def test_exactly_the_families_without_bookings_siblings_in_one_message(sessions, clock):
    town = await _town(sessions, clock)
    bookings = BookingService(sessions, clock)
    # F2's only child has one day of December: F2 is not reminded.
    await bookings.book(town.other_guardian, [town.other_child_id], town.activity_id, [DECEMBER])
    service = _service(sessions, clock)

    clock.set(THREE_DAYS - timedelta(minutes=1))
    report = await service.tick("worker")
    assert report.leased and report.planned == 2 and report.sent == []
    clock.set(THREE_DAYS)
    report = await service.tick("worker")
    [message] = await _messages(sessions)
    assert message.recipient == await _chat_of(sessions, town.guardian)
    assert message.payload["children"] == town.child_ids  # Lucas and Emma, one message
    assert message.dedup_key == f"reminder:{report.sent[0]}:g:{town.guardian.id}"
    view = await service.for_delivery(
        message.payload["wave_id"], town.guardian.id, message.payload["children"]
    )
    assert view is not None and [name for _, name in view.children] == ["Lucas", "Emma"]
    assert view.deadline == DEADLINE and view.period_start == DECEMBER

    # Emma booked meanwhile: the eve's reminder names Lucas alone.
    await bookings.book(town.guardian, [town.child_ids[1]], town.activity_id, [DECEMBER])
    clock.set(EVE)
    await service.tick("worker")
    eve = (await _messages(sessions))[1:]
    assert [m.payload["children"] for m in eve] == [[town.child_ids[0]]]
    # And the first message, were it still waiting, would now name Lucas alone too.
    late = await service.for_delivery(message.payload["wave_id"], town.guardian.id, town.child_ids)
    assert late is not None and [name for _, name in late.children] == ["Lucas"]


async def test_quiet_hours_postpone_a_reminder_to_their_end(sessions, clock):
    rules = {"booking": {"rule": "previous_month_day", "day": 20, "time": "21:00"}}
    await _town(sessions, clock, rules)
    service = _service(sessions, clock)
    clock.set(paris(date(2026, 11, 16), "10:00"))
    await service.tick("worker")
    async with sessions() as session:
        due = {
            wave.kind: wave.due_at.astimezone(PARIS)
            for wave in await session.scalars(select(ReminderWave))
        }
    # Three days before 21:00 is inside 20:00-08:00: due at 08:00 the next morning.
    assert due == {
        "d3": paris(date(2026, 11, 18), "08:00"),
        "d1": paris(date(2026, 11, 20), "08:00"),
    }
    for moment in ("21:00", "23:59"):
        clock.set(paris(date(2026, 11, 17), moment))
        await service.tick("worker")
    clock.set(paris(date(2026, 11, 18), "07:59"))
    await service.tick("worker")
    assert await _messages(sessions) == []
    clock.set(paris(date(2026, 11, 18), "08:00"))
    report = await service.tick("worker")
    assert len(report.sent) == 1 and len(await _messages(sessions)) == 2


async def test_a_wave_due_before_quiet_hours_but_ticked_inside_waits_for_their_end(
    sessions, clock
):
    await _town(sessions, clock)
    service = _service(sessions, clock)
    clock.set(paris(date(2026, 11, 16), "10:00"))
    await service.tick("worker")
    # The workers were down from before noon until 22:00: nothing is sent at night...
    clock.set(paris(date(2026, 11, 17), "22:00"))
    assert (await service.tick("worker")).sent == []
    assert await _messages(sessions) == []
    # ...and the wave goes out when the quiet hours end, not dropped.
    clock.set(paris(date(2026, 11, 18), "08:00"))
    assert len((await service.tick("worker")).sent) == 1
    assert len(await _messages(sessions)) == 2


async def test_once_across_two_workers_and_a_restart(sessions, clock, database_url):
    await _town(sessions, clock)
    other_engine = create_engine(database_url)
    try:
        first = _service(sessions, clock)
        second = _service(create_sessionmaker(other_engine), clock)
        clock.set(THREE_DAYS)
        one, two = await first.tick("worker-a"), await second.tick("worker-b")
        assert one.leased and not two.leased
        assert len(one.sent) == 1 and two.sent == []
        sent = await _messages(sessions)
        assert len(sent) == 2  # F1 and F2, one guardian each
        # The lease expires: the second worker ticks, finds the wave sent, sends nothing.
        clock.set(THREE_DAYS + timedelta(minutes=5))
        again = await second.tick("worker-b")
        assert again.leased and again.sent == [] and again.queued == 0
    finally:
        await other_engine.dispose()
    # A restart: new services on new connections, a new worker identity.
    restarted_engine = create_engine(database_url)
    try:
        restarted = _service(create_sessionmaker(restarted_engine), clock)
        clock.set(THREE_DAYS + timedelta(minutes=10))
        report = await restarted.tick("worker-c")
        assert report.leased and report.sent == [] and report.planned == 0
        assert [m.dedup_key for m in await _messages(sessions)] == [m.dedup_key for m in sent]
        # The eve's wave is still due in its turn, once.
        clock.set(EVE)
        assert len((await restarted.tick("worker-c")).sent) == 1
        assert len((await _service(sessions, clock).tick("worker-a")).sent) == 0
    finally:
        await restarted_engine.dispose()
    assert len(await _messages(sessions)) == 4


async def test_waves_due_together_send_only_the_latest(sessions, clock):
    await _town(sessions, clock)
    service = _service(sessions, clock)
    # First tick ever on the eve (the scheduler just deployed): the three-day wave is skipped.
    clock.set(EVE + timedelta(hours=1))
    report = await service.tick("worker")
    assert len(report.sent) == 1 and report.skipped == 1
    async with sessions() as session:
        states = {w.kind: w.state for w in await session.scalars(select(ReminderWave))}
    assert states == {"d3": SKIPPED, "d1": SENT}
    assert len(await _messages(sessions)) == 2


async def _book_last_month(town: Town, clock: FakeClock, sessions) -> list[date]:
    """Lucas booked every Monday and Thursday of November (booked in October)."""
    clock.set(paris(date(2026, 10, 12)))
    november = [d for d in DAYS if d.month == 11 and d.weekday() in (0, 3)]
    outcomes = await BookingService(sessions, clock).book(
        town.guardian, [town.child_ids[0]], town.activity_id, november
    )
    assert all(o.outcome is Outcome.CONFIRMED for o in outcomes)
    return november


async def test_same_as_last_month_recap_then_the_same_weekdays_booked(sessions, clock):
    town = await _town(sessions, clock)
    await _book_last_month(town, clock, sessions)
    service = _service(sessions, clock)
    clock.set(THREE_DAYS)
    [wave_id] = (await service.tick("worker")).sent

    recap = await service.recap(town.guardian, wave_id)
    december = [d for d in DAYS if d.month == 12 and d.weekday() in (0, 3)]
    lucas, emma = recap.children
    assert (lucas.name, [o.day for o in lucas.days]) == ("Lucas", december)
    assert all(o.price_cents == 410 for o in lucas.days)
    assert (emma.name, emma.days, emma.refused) == ("Emma", (), ())
    assert recap.total_cents == 410 * len(december) and recap.day_count == len(december)
    async with sessions() as session:
        before = await session.scalar(select(func.count(Booking.id)))

    booked = await service.book_as_last(town.guardian, wave_id, "k" * 16)
    assert booked.booked == len(december) and not booked.replayed
    assert {(o.child_id, o.day) for o in booked.outcomes} == {
        (town.child_ids[0], day) for day in december
    }
    again = await service.book_as_last(town.guardian, wave_id, "k" * 16)
    assert again.replayed and [o.day for o in again.outcomes] == december
    async with sessions() as session:
        after = await session.scalar(select(func.count(Booking.id)))
    assert after == before + len(december)
    # Lucas is booked now: the eve's reminder names Emma alone.
    clock.set(EVE)
    await service.tick("worker")
    eve = [
        m
        for m in await _messages(sessions)
        if m.recipient == await _chat_of(sessions, town.guardian)
    ]
    assert [m.payload["children"] for m in eve[1:]] == [[town.child_ids[1]]]


async def test_recap_and_booking_refuse_another_familys_reminder(sessions, clock):
    town = await _town(sessions, clock)
    service = _service(sessions, clock)
    clock.set(THREE_DAYS)
    [wave_id] = (await service.tick("worker")).sent
    stranger = Actor.guardian(9999, 9999)
    for call in (
        service.recap(stranger, wave_id),
        service.book_as_last(stranger, wave_id, "s" * 16),
        service.skip_period(stranger, wave_id),
    ):
        with pytest.raises(AccessDenied):
            await call
    with pytest.raises(AccessDenied):
        await service.recap(Actor.system(), wave_id)
    # F2's guardian sees only F2's child in the same activity's reminder.
    other = await service.recap(town.other_guardian, wave_id)
    assert [child.child_id for child in other.children] == [town.other_child_id]


async def test_not_needed_stops_further_reminders_of_that_period(sessions, clock):
    town = await _town(sessions, clock)
    service = _service(sessions, clock)
    clock.set(THREE_DAYS)
    [wave_id] = (await service.tick("worker")).sent
    await service.skip_period(town.guardian, wave_id)
    await service.skip_period(town.guardian, wave_id)  # twice is once
    # A message still queued for the family is not sent.
    assert await service.for_delivery(wave_id, town.guardian.id, town.child_ids) is None
    clock.set(EVE)
    await service.tick("worker")
    eve = (await _messages(sessions))[2:]
    assert [m.recipient for m in eve] == [await _chat_of(sessions, town.other_guardian)]


async def test_muting_an_activity_stops_its_reminders_and_unmuting_restores_them(sessions, clock):
    town = await _town(sessions, clock)
    service = _service(sessions, clock)
    clock.set(paris(date(2026, 11, 16)))
    [line] = await service.mutes(town.guardian)
    assert (line.activity_id, line.name, line.muted) == (town.activity_id, "CL Mercredis", False)
    assert await service.set_muted(town.guardian, town.activity_id, True)
    assert (await service.mutes(town.guardian))[0].muted
    with pytest.raises(Exception, match="not an activity"):
        await service.set_muted(town.guardian, town.activity_id + 99, True)
    clock.set(THREE_DAYS)
    await service.tick("worker")
    mine = await _chat_of(sessions, town.guardian)
    assert [m.recipient for m in await _messages(sessions)] == [
        await _chat_of(sessions, town.other_guardian)
    ]
    assert not await service.set_muted(town.guardian, town.activity_id, False)
    clock.set(EVE)
    await service.tick("worker")
    assert mine in [m.recipient for m in await _messages(sessions)]


async def test_a_wave_of_5000_families_is_queued_whole_and_delivered_paced(sessions, clock):
    town = await _town(sessions, clock)
    await _many_families(sessions, town.activity_id, 5000)
    service = _service(sessions, clock)
    clock.set(THREE_DAYS)
    report = await service.tick("worker")
    assert report.queued == 5002  # every family, none refused
    assert len(await _messages(sessions)) == 5002
    # Delivery takes them a batch at a time, each batch spread over the shared send slots.
    claimed = await claim_due(sessions, Channel.TELEGRAM, clock(), timedelta(seconds=60), 50)
    assert len(claimed) == 50
    slots = SendSlots(sessions, per_second=25.0, chat_spacing=1.1, max_ahead=60.0)
    start = 1_000_000.0
    reserved = await slots.reserve([int(item.recipient) for item in claimed], start)
    times = sorted(reserved.values())
    assert len(times) == 50
    assert times[-1] - times[0] >= 49 / 25.0 - 1e-6
    assert all(b - a >= 1 / 25.0 - 1e-6 for a, b in zip(times, times[1:], strict=False))


async def _many_families(
    sessions: async_sessionmaker[AsyncSession], activity_id: int, count: int
) -> None:
    """`count` one-child families enrolled in the activity, each with a linked guardian."""
    async with sessions.begin() as session:
        await session.execute(
            insert(Family),
            [
                {"code": f"M{n}", "name": f"Famille M{n}", "tariff_band": "QF2"}
                for n in range(count)
            ],
        )
        ids = dict(
            (code, family_id)
            for code, family_id in await session.execute(
                select(Family.code, Family.id).where(Family.code.like("M%"))
            )
        )
        await session.execute(
            insert(Guardian),
            [
                {
                    "family_id": ids[f"M{n}"],
                    "first_name": "P",
                    "last_name": f"M{n}",
                    "email": f"m{n}@exemple.fr",
                    "telegram_chat_id": 100_000 + n,
                }
                for n in range(count)
            ],
        )
        await session.execute(
            insert(Child),
            [
                {
                    "family_id": ids[f"M{n}"],
                    "code": f"M{n}-0",
                    "first_name": "C",
                    "last_name": f"M{n}",
                    "birth_date": date(2019, 5, 1),
                    "school_level": "CP",
                }
                for n in range(count)
            ],
        )
        children = list(await session.scalars(select(Child.id).where(Child.code.like("M%"))))
        await session.execute(
            insert(Enrollment),
            [
                {
                    "child_id": child_id,
                    "activity_id": activity_id,
                    "school_year": "2026-2027",
                    "starts_on": date(2026, 9, 1),
                    "ends_on": date(2027, 8, 31),
                    "weekdays": [],
                }
                for child_id in children
            ],
        )


def test_periods_are_months_and_windows():
    rules = ActivityRules.model_validate(
        {
            "booking": {"rule": "days_before", "days": 3, "count": "working", "time": "10:00"},
            "windows": [
                {
                    "label": "Noël",
                    "start": "2026-12-19",
                    "end": "2027-01-03",
                    "opens": "2026-11-03T08:00",
                    "closes": "2026-12-03T23:59",
                }
            ],
        }
    )
    days = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 21)]
    found = periods_of(rules, days, [])
    assert [(p.kind, p.start, p.end) for p in found] == [
        (WINDOW, date(2026, 12, 19), date(2027, 1, 3)),
        (MONTH, date(2026, 11, 1), date(2026, 11, 30)),
        (MONTH, date(2026, 12, 1), date(2026, 12, 31)),
    ]
    # A per-day rule: the month closes when its first open day does (3 working days before
    # Tuesday 1 December: Thursday 26 November, 10:00); the window when it closes.
    assert found[2].deadline == paris(date(2026, 11, 26), "10:00")
    assert found[0].deadline == paris(date(2026, 12, 3), "23:59")
    assert found[0].opens == paris(date(2026, 11, 3), "08:00")


def test_settings_are_read_and_quiet_hours_end_in_the_morning():
    settings = ReminderSettings.parse("1, 3", "20:00-08:00", True)
    assert settings.days_before == (3, 1)
    assert (settings.quiet_start, settings.quiet_end) == (time(20, 0), time(8, 0))
    evening = paris(date(2026, 11, 17), "21:00")
    assert settings.out_of_quiet(evening) == paris(date(2026, 11, 18), "08:00")
    early = paris(date(2026, 11, 18), "06:30")
    assert settings.out_of_quiet(early) == paris(date(2026, 11, 18), "08:00")
    noon = paris(date(2026, 11, 18), "12:00")
    assert settings.out_of_quiet(noon) == noon
    assert not ReminderSettings.parse("3", "", False).is_quiet(evening)
    with pytest.raises(Exception, match="quiet hours"):
        ReminderSettings.parse("3", "soir", True)
    assert isinstance(evening, datetime)


async def test_the_opening_of_a_holiday_window_is_reminded(sessions, clock):
    window = {
        "booking": {"rule": "window_only"},
        "windows": [
            {
                "label": "Noël",
                "start": "2026-12-14",
                "end": "2026-12-18",
                "opens": "2026-11-03T08:00",
                "closes": "2026-12-03T23:59",
            }
        ],
    }
    await _town(sessions, clock, window)
    service = _service(sessions, clock)
    clock.set(paris(date(2026, 11, 2), "12:00"))
    await service.tick("worker")
    clock.set(paris(date(2026, 11, 3), "08:00"))
    [wave_id] = (await service.tick("worker")).sent
    async with sessions() as session:
        wave = await session.get(ReminderWave, wave_id)
        kinds = set(await session.scalars(select(ReminderWave.kind)))
    assert wave is not None and (wave.kind, wave.period_kind) == ("opening", WINDOW)
    assert kinds == {"opening", "d3", "d1"}
    assert len(await _messages(sessions)) == 2
