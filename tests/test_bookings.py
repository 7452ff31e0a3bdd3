"""Booking rules end to end through the store service, on the test database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from store.actors import AccessDenied, Actor
from store.bookings import BookingService, Outcome, ReasonRequired, Refusal
from store.models import Booking, Document, Enrollment, Guardian, OpeningDay, OutboxItem
from store.models.enums import (
    BookingState,
    DocumentSource,
    DocumentStatus,
    DocumentType,
)
from tests.helpers import build_town, paris

WED = date(2026, 12, 9)  # a Wednesday; 3 days before at 12:00 is Sunday 6 December, 12:00
NEXT_WED = date(2026, 12, 16)


@pytest.fixture
def service(sessions, clock):
    clock.set(paris(date(2026, 12, 1)))
    return BookingService(sessions, clock)


async def test_siblings_are_booked_in_one_call_with_their_price(sessions, service):
    town = await build_town(sessions, [WED, NEXT_WED])
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED, NEXT_WED])
    assert [(o.child_id, o.day, o.outcome) for o in outcomes] == [
        (town.child_ids[0], WED, Outcome.CONFIRMED),
        (town.child_ids[0], NEXT_WED, Outcome.CONFIRMED),
        (town.child_ids[1], WED, Outcome.CONFIRMED),
        (town.child_ids[1], NEXT_WED, Outcome.CONFIRMED),
    ]
    assert {o.price_cents for o in outcomes} == {410}
    async with sessions() as session:
        taken = await session.scalar(select(OpeningDay.taken).where(OpeningDay.day == WED))
    assert taken == 2


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (paris(date(2026, 12, 6), "11:59"), Outcome.CONFIRMED),
        (paris(date(2026, 12, 6), "12:00"), Outcome.CONFIRMED),
        (paris(date(2026, 12, 6), "12:01"), Outcome.REFUSED),
        (paris(date(2026, 12, 8), "09:00"), Outcome.REFUSED),
    ],
)
async def test_deadline_day_and_cut_off_hour(sessions, service, clock, now, expected):
    town = await build_town(sessions, [WED, NEXT_WED])
    clock.set(now)
    [outcome] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    assert outcome.outcome is expected
    assert outcome.deadline == paris(date(2026, 12, 6), "12:00")
    if expected is Outcome.REFUSED:
        assert outcome.refusal is Refusal.DEADLINE_PASSED
        assert outcome.next_bookable_day == NEXT_WED


async def test_a_day_in_the_past_is_refused(sessions, service, clock):
    town = await build_town(sessions, [WED])
    clock.set(paris(WED + timedelta(days=1)))
    [outcome] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.refusal in (Refusal.PAST, Refusal.DEADLINE_PASSED)


async def test_full_day_waitlists_then_cancellation_promotes_in_order(sessions, service):
    town = await build_town(sessions, [WED], capacity=1)
    first, second = town.child_ids
    [placed] = await service.book(town.guardian, [first], town.activity_id, [WED])
    [queued] = await service.book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WED]
    )
    [queued_later] = await service.book(town.guardian, [second], town.activity_id, [WED])
    assert (placed.outcome, queued.outcome, queued_later.outcome) == (
        Outcome.CONFIRMED,
        Outcome.WAITLISTED,
        Outcome.WAITLISTED,
    )
    [result] = await service.cancel(town.guardian, [placed.booking_id])
    assert result.promoted_booking_id == queued.booking_id
    async with sessions() as session:
        states = dict((await session.execute(select(Booking.id, Booking.state))).all())
        notices = list(await session.scalars(select(OutboxItem.kind)))
    assert states[queued.booking_id] is BookingState.CONFIRMED
    assert states[queued_later.booking_id] is BookingState.WAITLISTED
    assert states[placed.booking_id] is BookingState.CANCELLED
    assert notices == []  # nobody linked Telegram yet: nothing to deliver


async def test_promotion_notifies_linked_guardians_through_the_outbox(sessions, service):
    town = await build_town(sessions, [WED], capacity=1)
    async with sessions.begin() as session:
        guardian = await session.get(Guardian, town.other_guardian.id)
        guardian.telegram_user_id = guardian.telegram_chat_id = 777
    [placed] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    await service.book(town.other_guardian, [town.other_child_id], town.activity_id, [WED])
    await service.cancel(town.guardian, [placed.booking_id])
    async with sessions() as session:
        notices = list(await session.execute(select(OutboxItem.kind, OutboxItem.recipient)))
    assert [tuple(n) for n in notices] == [("waitlist_promoted", "777")]


async def test_full_day_without_waitlist_is_refused(sessions, service):
    town = await build_town(sessions, [WED], capacity=1, waitlist=False)
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED])
    assert [o.outcome for o in outcomes] == [Outcome.CONFIRMED, Outcome.REFUSED]
    assert outcomes[1].refusal is Refusal.FULL


async def test_closed_and_unknown_days_are_refused(sessions, service):
    town = await build_town(sessions, [WED, NEXT_WED], closed={WED})
    outcomes = await service.book(
        town.guardian, town.child_ids[:1], town.activity_id, [WED, date(2026, 12, 10)]
    )
    assert [o.refusal for o in outcomes] == [Refusal.CLOSED, Refusal.CLOSED]


async def test_not_enrolled_and_not_eligible(sessions, service):
    town = await build_town(sessions, [WED], levels=["CP"])
    async with sessions.begin() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.child_id == town.child_ids[0])
        )
        await session.delete(enrollment)
    outcomes = await service.book(town.guardian, town.child_ids, town.activity_id, [WED])
    assert [o.refusal for o in outcomes] == [Refusal.NOT_ENROLLED, Refusal.NOT_ELIGIBLE]


async def test_required_document_blocks_until_accepted(sessions, service):
    town = await build_town(sessions, [WED], required_documents=["vaccination_record"])
    [outcome] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    assert outcome.refusal is Refusal.DOCUMENT_MISSING
    assert outcome.missing_document == "vaccination_record"
    async with sessions.begin() as session:
        session.add(
            Document(
                family_id=town.family_id,
                child_id=town.child_ids[0],
                doc_type=DocumentType.VACCINATION_RECORD,
                status=DocumentStatus.ACCEPTED,
                source=DocumentSource.STAFF,
                content_type="application/pdf",
                size=1,
                sha256="0" * 64,
                storage_key="k1",
                uploaded_by="staff:1",
            )
        )
    [outcome] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    assert outcome.outcome is Outcome.CONFIRMED


async def test_already_booked(sessions, service):
    town = await build_town(sessions, [WED])
    await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    [again] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    assert again.refusal is Refusal.ALREADY_BOOKED


async def test_another_familys_child_is_refused_and_nothing_changes(sessions, service):
    town = await build_town(sessions, [WED])
    with pytest.raises(AccessDenied):
        await service.book(town.guardian, [town.other_child_id], town.activity_id, [WED])
    with pytest.raises(AccessDenied):
        await service.book(
            town.guardian, [town.child_ids[0], town.other_child_id], town.activity_id, [WED]
        )
    [booked] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    with pytest.raises(AccessDenied):
        await service.cancel(town.other_guardian, [booked.booking_id])
    async with sessions() as session:
        assert await session.scalar(select(OpeningDay.taken)) == 1


async def test_pending_validation_then_staff_decide(sessions, service):
    town = await build_town(sessions, [WED, NEXT_WED], requires_validation=True)
    outcomes = await service.book(
        town.guardian, town.child_ids[:1], town.activity_id, [WED, NEXT_WED]
    )
    assert [o.outcome for o in outcomes] == [Outcome.PENDING, Outcome.PENDING]
    staff = Actor.staff(1)
    with pytest.raises(AccessDenied):
        await service.decide_pending(town.guardian, outcomes[0].booking_id, True)
    assert (
        await service.decide_pending(staff, outcomes[0].booking_id, True) is BookingState.CONFIRMED
    )
    with pytest.raises(ReasonRequired):  # the family must be told why
        await service.decide_pending(staff, outcomes[1].booking_id, False, " ")
    assert (
        await service.decide_pending(staff, outcomes[1].booking_id, False, "Groupe complet")
        is BookingState.REFUSED
    )
    async with sessions() as session:
        taken = dict((await session.execute(select(OpeningDay.day, OpeningDay.taken))).all())
    assert taken == {WED: 1, NEXT_WED: 0}


async def test_cancel_before_deadline_is_free_after_is_billed(sessions, service, clock):
    town = await build_town(sessions, [WED, NEXT_WED])
    booked = await service.book(
        town.guardian, town.child_ids[:1], town.activity_id, [WED, NEXT_WED]
    )
    clock.set(paris(date(2026, 12, 7)))  # after WED's deadline, before NEXT_WED's
    results = await service.cancel(town.guardian, [b.booking_id for b in booked])
    by_day = {r.day: r for r in results}
    assert by_day[WED].outcome.value == "late_cancelled"
    assert by_day[WED].fee_cents == 410
    assert by_day[NEXT_WED].outcome.value == "cancelled"
    assert by_day[NEXT_WED].fee_cents == 0
    [again] = await service.cancel(town.guardian, [booked[1].booking_id])
    assert again.refusal is Refusal.NOT_CANCELLABLE


async def test_dry_run_writes_nothing(sessions, service):
    town = await build_town(sessions, [WED])
    outcomes = await service.book(
        town.guardian, town.child_ids, town.activity_id, [WED], dry_run=True
    )
    assert [o.outcome for o in outcomes] == [Outcome.CONFIRMED, Outcome.CONFIRMED]
    async with sessions() as session:
        assert await session.scalar(select(OpeningDay.taken)) == 0
        assert list(await session.scalars(select(Booking))) == []
