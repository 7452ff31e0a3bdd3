"""Nothing is recorded twice: a confirm's key makes booking, cancelling and reporting an absence
happen once, and a child has one absence per day (a report again extends or updates it)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from store.absences import AbsenceService, ReportChange
from store.actors import Actor
from store.bookings import BookingService, CancelOutcome, Outcome, Refusal
from store.documents import DocumentFolder, DocumentService
from store.idempotency import ConfirmedAction, is_key, new_key, recall
from store.models import Absence, AuditEntry, Booking, OutboxItem
from store.models.enums import AbsenceReason, AbsenceStatus, BookingState, DocumentType
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris

DAYS = [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16)]
STAFF = Actor.staff(1)


@pytest.fixture
async def town(sessions, clock):
    town = await build_town(sessions, DAYS)
    clock.set(paris(date(2026, 11, 20)))
    return town


async def _count(sessions, model, *where) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_keys_are_random_and_forged_ones_are_not_keys():
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100 and all(is_key(key) for key in keys)
    assert not any(is_key(bad) for bad in ("", "short", "x" * 17, "../../etc/passwd", None, 12))


async def test_a_booking_confirmed_twice_with_its_key_is_made_once(sessions, clock, town):
    service = BookingService(sessions, clock)
    key = new_key()
    first = await service.book(town.guardian, town.child_ids, town.activity_id, DAYS[:2], key=key)
    again = await service.book(town.guardian, town.child_ids, town.activity_id, DAYS[:2], key=key)
    assert all(outcome.replayed for outcome in again)
    assert [replace(outcome, replayed=False) for outcome in again] == first
    assert {outcome.outcome for outcome in first} == {Outcome.CONFIRMED}
    assert await _count(sessions, Booking) == 4
    assert await _count(sessions, ConfirmedAction) == 1
    # The same days again without the key (another recap): held already, said how they stand.
    other = await service.book(town.guardian, town.child_ids[:1], town.activity_id, DAYS[:1])
    assert [(o.refusal, o.booked_as) for o in other] == [
        (Refusal.ALREADY_BOOKED, Outcome.CONFIRMED)
    ]
    # Another family cannot read an outcome by its key.
    assert await recall(sessions, town.other_guardian, key) is None
    assert (await recall(sessions, town.guardian, key)).action == "book"


async def test_racing_confirms_with_one_key_book_once(sessions, clock, town):
    service = BookingService(sessions, clock)
    key = new_key()
    results = await asyncio.gather(
        *(
            service.book(town.guardian, town.child_ids[:1], town.activity_id, DAYS, key=key)
            for _ in range(3)
        )
    )
    firsts = [result for result in results if not result[0].replayed]
    assert len(firsts) == 1
    for result in results:
        assert [replace(o, replayed=False) for o in result] == firsts[0]
    assert await _count(sessions, Booking) == 3
    assert await _count(sessions, AuditEntry, AuditEntry.action == "book") == 3


async def test_a_cancellation_confirmed_twice_is_made_once(sessions, clock, town):
    service = BookingService(sessions, clock)
    booked = await service.book(town.guardian, town.child_ids[:1], town.activity_id, DAYS)
    ids = [outcome.booking_id for outcome in booked]
    key = new_key()
    first = await service.cancel(town.guardian, ids[:2], key=key)
    assert [result.outcome for result in first] == [CancelOutcome.CANCELLED] * 2
    assert {result.child_id for result in first} == {town.child_ids[0]}
    # Tapped again once the days are cancelled: the first results, not "cannot be cancelled".
    again = await service.cancel(town.guardian, [], key=key)
    assert [replace(result, replayed=False) for result in again] == first
    assert all(result.replayed for result in again)
    assert await _count(sessions, AuditEntry, AuditEntry.action == "cancel") == 2
    assert await _count(sessions, Booking, Booking.state == BookingState.CONFIRMED) == 1


async def test_a_report_confirmed_twice_is_recorded_once(sessions, clock, town, tmp_path):
    documents = DocumentService(sessions, DocumentFolder(tmp_path / "docs"), 6_000_000)
    pdf = tiny_pdf()
    certificate = await documents.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, pdf
    )
    absences = AbsenceService(sessions)
    # A certificate stored by a confirm that went no further is found again by its bytes.
    sha256 = hashlib.sha256(pdf).hexdigest()
    assert await absences.reusable_certificate(town.guardian, town.family_id, sha256) == (
        certificate.id
    )
    key = new_key()
    lucas = town.child_ids[:1]
    report = (town.guardian, lucas, DAYS[0], DAYS[1], AbsenceReason.ILLNESS)
    [first] = await absences.report(*report, certificate_id=certificate.id, key=key)
    [again] = await absences.report(*report, certificate_id=certificate.id, key=key)
    assert again == replace(first, replayed=True)
    assert first.has_certificate and first.change is ReportChange.CREATED
    assert await _count(sessions, Absence) == 1
    assert await _count(sessions, OutboxItem, OutboxItem.kind == "certificate_to_review") == 1
    # Attached now: not to be reused by another report.
    assert await absences.reusable_certificate(town.guardian, town.family_id, sha256) is None


async def test_an_absence_reported_again_is_extended_or_updated_not_doubled(sessions, clock, town):
    await BookingService(sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS
    )
    absences = AbsenceService(sessions)
    lucas = town.child_ids[:1]
    [first] = await absences.report(town.guardian, lucas, DAYS[1], DAYS[1], AbsenceReason.FAMILY)
    assert (first.change, first.days_marked) == (ReportChange.CREATED, 1)
    [same] = await absences.report(town.guardian, lucas, DAYS[1], DAYS[1], AbsenceReason.FAMILY)
    assert (same.id, same.reference, same.change) == (
        first.id,
        first.reference,
        ReportChange.UNCHANGED,
    )
    [updated] = await absences.report(
        town.guardian, lucas, DAYS[1], DAYS[1], AbsenceReason.ILLNESS
    )
    assert (updated.id, updated.change, updated.reason) == (
        first.id,
        ReportChange.UPDATED,
        AbsenceReason.ILLNESS,
    )
    [extended] = await absences.report(
        town.guardian, lucas, DAYS[0], DAYS[2], AbsenceReason.ILLNESS
    )
    assert (extended.id, extended.change) == (first.id, ReportChange.EXTENDED)
    assert (extended.start, extended.end, extended.days_marked) == (DAYS[0], DAYS[2], 3)
    assert await _count(sessions, Absence) == 1
    # Another child on the same days has an absence of their own.
    [emma] = await absences.report(
        town.guardian, town.child_ids[1:], DAYS[1], DAYS[1], AbsenceReason.FAMILY
    )
    assert emma.change is ReportChange.CREATED and emma.id != first.id


async def test_days_around_a_decided_absence_get_their_own(sessions, clock, town, tmp_path):
    await BookingService(sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, DAYS
    )
    absences = AbsenceService(sessions)
    lucas = town.child_ids[:1]
    documents = DocumentService(sessions, DocumentFolder(tmp_path / "docs"), 6_000_000)
    certificate = await documents.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, tiny_pdf()
    )
    [excused] = await absences.report(
        town.guardian,
        lucas,
        DAYS[1],
        DAYS[1],
        AbsenceReason.ILLNESS,
        certificate_id=certificate.id,
    )
    assert await absences.decide(STAFF, excused.id, accept=True) == 1
    views = await absences.report(town.guardian, lucas, DAYS[0], DAYS[2], AbsenceReason.FAMILY)
    assert [(v.start, v.end, v.change) for v in views] == [
        (DAYS[0], DAYS[1] - timedelta(days=1), ReportChange.CREATED),
        (DAYS[1], DAYS[1], ReportChange.UNCHANGED),
        (DAYS[1] + timedelta(days=1), DAYS[2], ReportChange.CREATED),
    ]
    assert [v.days_marked for v in views] == [1, 1, 1]
    # The excused day stays excused, with its certificate; reported again, nothing changes.
    assert views[1].status is AbsenceStatus.EXCUSED and views[1].reason is AbsenceReason.ILLNESS
    again = await absences.report(town.guardian, lucas, DAYS[0], DAYS[2], AbsenceReason.FAMILY)
    assert [(v.id, v.change) for v in again] == [(v.id, ReportChange.UNCHANGED) for v in views]
    assert await _count(sessions, Absence) == 3
