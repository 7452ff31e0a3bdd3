"""The family file's rules in the store: changes checked, applied at once or decided by the
family-file service, health details shown only to those who need them, consents an activity
requires, the yearly check."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from store.actors import AccessDenied, Actor, NotFound
from store.bookings import BookingService, Outcome, Refusal
from store.family_records import (
    FamilyFileService,
    FileMoved,
    FileSettings,
    InvalidChange,
    clean_phone,
    last_check_day,
)
from store.models import (
    Activity,
    AuditEntry,
    ChildConsent,
    Family,
    FileChange,
    Guardian,
    OutboxItem,
    PickupPerson,
)
from store.models.enums import Channel, ConsentKind, RequestStatus
from tests.family_file_setup import ALLERGY, add_file_staff, set_health
from tests.helpers import FakeClock, build_town, paris

WED = date(2026, 12, 9)


@pytest.fixture
def service(sessions, clock) -> FamilyFileService:
    return FamilyFileService(sessions, clock)


async def _count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_a_phone_applies_at_once_and_is_recorded_as_accepted(sessions, service):
    town = await build_town(sessions, [])
    guardian_id = town.guardian.id
    change = await service.request_change(
        town.guardian, "guardian.phone", "06 12 34 56 78", target_id=guardian_id
    )
    assert change.status is RequestStatus.ACCEPTED
    assert (change.old_value, change.new_value) == (None, "06 12 34 56 78")
    async with sessions() as session:
        assert (await session.get(Guardian, guardian_id)).phone == "06 12 34 56 78"
        actions = list(await session.scalars(select(AuditEntry.action)))
        assert "file_change.applied" in actions
        # Applied at once: nothing for the service to decide, no email.
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("guardian.phone", "12", "invalid_phone"),
        ("guardian.phone", "bonjour", "invalid_phone"),
        ("guardian.email", "pas-un-email", "invalid_email"),
        ("guardian.email", "parent.f2@exemple.fr", "email_taken"),
        ("guardian.email", "PARENT.F2@exemple.fr", "email_taken"),
        ("family.address", "   ", "empty"),
        ("family.address", "x" * 301, "too_long"),
    ],
)
async def test_bad_values_are_refused_and_nothing_changes(sessions, service, field, value, code):
    town = await build_town(sessions, [])
    with pytest.raises(InvalidChange) as refused:
        await service.request_change(town.guardian, field, value, target_id=town.guardian.id)
    assert refused.value.code == code
    assert await _count(sessions, FileChange) == 0


async def test_a_pickup_person_needs_a_valid_phone(sessions, service):
    town = await build_town(sessions, [])
    child = town.child_ids[0]
    for person, code in (
        ({"name": "Mamie Jo", "phone": ""}, "phone_required"),
        ({"name": "Mamie Jo", "phone": "123"}, "invalid_phone"),
        ({"name": " ", "phone": "0612345678"}, "empty"),
    ):
        with pytest.raises(InvalidChange) as refused:
            await service.request_change(town.guardian, "pickup.add", person, child_id=child)
        assert refused.value.code == code
    assert await _count(sessions, FileChange) == 0


async def test_another_familys_child_or_guardian_is_not_found(sessions, service):
    town = await build_town(sessions, [])
    with pytest.raises(NotFound):
        await service.request_change(
            town.guardian, "child.diet", "végétarien", child_id=town.other_child_id
        )
    with pytest.raises(NotFound):
        await service.request_change(
            town.guardian, "guardian.phone", "0612345678", target_id=town.other_guardian.id
        )
    with pytest.raises(NotFound):
        await service.child_file(town.guardian, town.other_child_id)
    with pytest.raises(NotFound):
        await service.household(town.guardian, town.other_family_id)
    assert await _count(sessions, FileChange) == 0


async def test_a_pickup_person_waits_for_the_file_service_and_the_first_decision_wins(
    sessions, service
):
    town = await build_town(sessions, [])
    staff = await add_file_staff(sessions, town.activity_id)
    child = town.child_ids[0]
    person = {"name": "Josette Martin", "phone": "06 98 76 54 32", "relationship": "grand-mère"}
    change = await service.request_change(town.guardian, "pickup.add", person, child_id=child)
    assert change.status is RequestStatus.PENDING
    assert await _count(sessions, PickupPerson) == 0
    async with sessions() as session:
        [email] = await session.scalars(
            select(OutboxItem).where(OutboxItem.channel == Channel.EMAIL)
        )
        assert (email.kind, email.recipient) == (
            "file_change_to_review",
            "dossier@montclar.example",
        )
    # Only the family-file service decides; a guardian never does.
    for not_allowed in (staff.leisure_staff, staff.other_staff, town.guardian):
        with pytest.raises(AccessDenied):
            await service.decide(not_allowed, change.id, True)
    decision = await service.decide(staff.file_staff, change.id, True)
    assert decision.first and decision.change.status is RequestStatus.ACCEPTED
    assert decision.change.decided_by == "Sophie Martin"
    again = await service.decide(staff.file_staff, change.id, False, "trop tard")
    assert not again.first and again.change.status is RequestStatus.ACCEPTED
    file = await service.child_file(town.guardian, child)
    assert [(p.name, p.phone, p.relationship) for p in file.pickups] == [
        ("Josette Martin", "06 98 76 54 32", "grand-mère")
    ]
    async with sessions() as session:
        notices = list(
            await session.scalars(
                select(OutboxItem.kind).where(OutboxItem.channel == Channel.TELEGRAM)
            )
        )
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert notices == []  # no linked chat in this test: nothing to queue
    assert actions.count("file_change.accepted") == 1


async def test_refusing_needs_a_reason(sessions, service):
    town = await build_town(sessions, [])
    staff = await add_file_staff(sessions, town.activity_id)
    change = await service.request_change(town.guardian, "family.address", "2 rue des Lilas")
    with pytest.raises(InvalidChange):
        await service.decide(staff.file_staff, change.id, False, "  ")
    decision = await service.decide(staff.file_staff, change.id, False, "Justificatif manquant")
    assert decision.change.status is RequestStatus.REFUSED
    assert decision.change.reason == "Justificatif manquant"
    async with sessions() as session:
        assert (await session.get(Family, town.family_id)).address is None


async def test_accepting_a_change_whose_file_moved_changes_nothing(sessions, service):
    town = await build_town(sessions, [])
    staff = await add_file_staff(sessions, town.activity_id)
    first = await service.request_change(town.guardian, "family.address", "2 rue des Lilas")
    second = await service.request_change(town.guardian, "family.address", "9 avenue Foch")
    await service.decide(staff.file_staff, second.id, True)
    with pytest.raises(FileMoved):
        await service.decide(staff.file_staff, first.id, True)
    async with sessions() as session:
        assert (await session.get(Family, town.family_id)).address == "9 avenue Foch"
        assert (await session.get(FileChange, first.id)).status is RequestStatus.PENDING


async def test_an_email_taken_meanwhile_is_refused_at_acceptance(sessions, clock):
    service = FamilyFileService(sessions, clock, FileSettings(applied_at_once=""))
    town = await build_town(sessions, [])
    staff = await add_file_staff(sessions, town.activity_id)
    change = await service.request_change(
        town.guardian, "guardian.email", "nouveau@exemple.fr", target_id=town.guardian.id
    )
    other = await service.request_change(
        town.other_guardian,
        "guardian.email",
        "nouveau@exemple.fr",
        target_id=town.other_guardian.id,
    )
    await service.decide(staff.file_staff, other.id, True)
    with pytest.raises(InvalidChange) as refused:
        await service.decide(staff.file_staff, change.id, True)
    assert refused.value.code == "email_taken"


async def test_health_details_only_for_guardians_file_staff_and_activity_staff(sessions, service):
    town = await build_town(sessions, [])
    staff = await add_file_staff(sessions, town.activity_id)
    child = town.child_ids[0]
    await set_health(sessions, child)
    assert (await service.child_file(town.guardian, child)).allergies == ALLERGY
    assert (await service.child_file(staff.file_staff, child)).allergies == ALLERGY
    assert (await service.child_file(staff.leisure_staff, child)).pai is True
    hidden = await service.child_file(staff.other_staff, child)
    assert not hidden.health_shown
    assert (hidden.allergies, hidden.doctor, hidden.pai) == (None, None, None)

    change = await service.request_change(
        town.guardian, "child.allergies", "Aucune", child_id=child
    )
    shown = await service.change(staff.file_staff, change.id)
    assert (shown.old_value, shown.new_value) == (ALLERGY, "Aucune")
    seen = await service.change(staff.other_staff, change.id)
    assert (seen.old_value, seen.new_value, seen.health_shown) == (None, None, False)
    async with sessions() as session:
        details = list(await session.scalars(select(AuditEntry.details)))
    assert all(ALLERGY not in str(detail) and "Aucune" not in str(detail) for detail in details)


async def test_a_missing_or_refused_consent_blocks_booking_until_given(sessions, clock, service):
    town = await build_town(sessions, [WED])
    async with sessions.begin() as session:
        activity = await session.get(Activity, town.activity_id)
        activity.required_consents = ["outings"]
    clock.set(paris(date(2026, 11, 24)))
    bookings = BookingService(sessions, clock)
    child = town.child_ids[0]
    [refused] = await bookings.book(town.guardian, [child], town.activity_id, [WED])
    assert (refused.outcome, refused.refusal, refused.missing_consent) == (
        Outcome.REFUSED,
        Refusal.CONSENT_MISSING,
        "outings",
    )
    await service.request_change(town.guardian, "consent.outings", False, child_id=child)
    [still] = await bookings.book(town.guardian, [child], town.activity_id, [WED])
    assert still.refusal is Refusal.CONSENT_MISSING
    given = await service.request_change(town.guardian, "consent.outings", True, child_id=child)
    assert given.status is RequestStatus.ACCEPTED  # consents apply at once by default
    [booked] = await bookings.book(town.guardian, [child], town.activity_id, [WED])
    assert booked.outcome is Outcome.CONFIRMED
    async with sessions() as session:
        consent = await session.scalar(select(ChildConsent))
        assert (consent.kind, consent.granted) == (ConsentKind.OUTINGS, True)


def test_the_last_check_day():
    assert last_check_day(date(2026, 12, 3), "09-01") == date(2026, 9, 1)
    assert last_check_day(date(2026, 8, 31), "09-01") == date(2025, 9, 1)
    assert last_check_day(date(2026, 9, 1), "09-01") == date(2026, 9, 1)
    with pytest.raises(ValueError):
        FileSettings(check_day="13-01")


async def test_the_yearly_check(sessions):
    clock = FakeClock(datetime(2026, 8, 20, 8, 0, tzinfo=UTC))
    service = FamilyFileService(sessions, clock)
    town = await build_town(sessions, [])
    async with sessions.begin() as session:
        family = await session.get(Family, town.family_id)
        family.created_at = datetime(2025, 1, 10, tzinfo=UTC)
        family.file_checked_at = datetime(2025, 9, 3, tzinfo=UTC)
    assert not await service.needs_check(town.guardian)  # checked since 1 Sept. 2025
    clock.set(datetime(2026, 9, 1, 8, 0, tzinfo=UTC))
    assert await service.needs_check(town.guardian)
    await service.confirm_checked(town.guardian)
    assert not await service.needs_check(town.guardian)
    # A file never confirmed counts from the family's creation.
    async with sessions.begin() as session:
        other = await session.get(Family, town.other_family_id)
        other.created_at = datetime(2026, 9, 2, tzinfo=UTC)
    assert not await service.needs_check(town.other_guardian)
    clock.set(datetime(2027, 9, 1, 8, 0, tzinfo=UTC))
    assert await service.needs_check(town.other_guardian)


async def test_the_yearly_question_is_asked_once_a_day_even_at_the_same_moment(sessions):
    clock = FakeClock(datetime(2026, 9, 2, 7, 0, tzinfo=UTC))
    service = FamilyFileService(sessions, clock)
    town = await build_town(sessions, [])
    async with sessions.begin() as session:
        family = await session.get(Family, town.family_id)
        family.created_at = datetime(2025, 1, 10, tzinfo=UTC)
    # Two updates of the same parent (or two workers) at once: one question.
    answers = await asyncio.gather(*(service.ask_check_today(town.guardian) for _ in range(4)))
    assert sorted(answers) == [False, False, False, True]
    assert not await service.ask_check_today(town.guardian)
    clock.set(datetime(2026, 9, 3, 7, 0, tzinfo=UTC))
    assert await service.ask_check_today(town.guardian)  # a new day, not yet confirmed
    await service.confirm_checked(town.guardian)
    clock.set(datetime(2026, 9, 4, 7, 0, tzinfo=UTC))
    assert not await service.ask_check_today(town.guardian)
    assert not await service.ask_check_today(Actor.staff(1))


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("0612345678", "06 12 34 56 78"),
        ("+33 6 12 34 56 78", "06 12 34 56 78"),
        ("0033612345678", "06 12 34 56 78"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("+32 470 12 34 56", "+32 470 12 34 56"),
    ],
)
def test_phones_are_kept_as_people_write_them(typed, kept):
    assert clean_phone(typed) == kept


@pytest.mark.parametrize("typed", ["06 12", "bonjour", "+33 1", "06123456789012"])
def test_a_phone_that_is_not_one_is_refused(typed):
    with pytest.raises(InvalidChange):
        clean_phone(typed)
