"""The enrolment service's rules: what a child is offered, requests, the waiting list,
decisions by the right service, and pre-registrations of a new child."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from store.actors import AccessDenied, Actor, NotFound
from store.enrolments import (
    AlreadyDecided,
    DecisionRefused,
    EnrolmentRefused,
    EnrolmentService,
    school_year_of,
)
from store.models import (
    AuditEntry,
    Child,
    ChildConsent,
    ChildRegistration,
    Enrollment,
    EnrolmentRequest,
    OutboxItem,
    StaffMember,
)
from store.models.enums import Channel, ConsentKind, RequestStatus
from tests.enrolment_helpers import (
    CENTRES_STAFF,
    FILE_STAFF,
    NURSERY_STAFF,
    YEAR_END,
    build_enrolment_town,
)

MONDAY = date(2026, 11, 30)
WEDNESDAY = 2


async def _staff(sessions, email: str) -> Actor:
    async with sessions() as session:
        staff_id = await session.scalar(select(StaffMember.id).where(StaffMember.email == email))
    return Actor.staff(staff_id)


async def _count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count(model.id)))


def test_the_school_year_starts_in_september():
    assert school_year_of(date(2026, 11, 24)) == ("2026-2027", date(2026, 9, 1))
    assert school_year_of(date(2027, 3, 1)) == ("2026-2027", date(2026, 9, 1))
    assert school_year_of(date(2027, 9, 1)) == ("2027-2028", date(2027, 9, 1))


async def test_a_child_is_offered_what_fits_with_the_family_price(sessions, clock):
    town = await build_enrolment_town(sessions)
    service = EnrolmentService(sessions, clock)
    offer = await service.offer(town.guardian, town.lucas_id)
    assert offer.year.label == "2026-2027" and offer.year.end == YEAR_END
    by_name = {activity.name: activity for activity in offer.activities}
    # The nursery is for PS to GS: Lucas (CP) is not offered it.
    assert set(by_name) == {"CL Mercredis", "Stage nature", "Garderie du soir"}
    centre, nature, evening = (
        by_name["CL Mercredis"],
        by_name["Stage nature"],
        by_name["Garderie du soir"],
    )
    # Family F1 is in band QF2; the evening nursery has only the "any band" price.
    assert (centre.price_cents, nature.price_cents, evening.price_cents) == (520, 1200, 150)
    assert centre.weekdays == (WEDNESDAY,) and centre.preselected_weekdays == (WEDNESDAY,)
    assert nature.weekdays == (2, 3) and nature.preselected_weekdays == (WEDNESDAY,)
    assert evening.weekdays == (0, 1, 3, 4) and evening.preselected_weekdays == ()
    assert nature.missing_documents == ("vaccination_record",)
    assert nature.missing_consents == ("outings",)
    assert centre.missing_documents == () and centre.missing_consents == ()
    async with sessions.begin() as session:
        session.add(
            ChildConsent(
                child_id=town.lucas_id,
                kind=ConsentKind.OUTINGS,
                granted=True,
                answered_on=date(2026, 11, 1),
            )
        )
    nature = await service.offered(town.guardian, town.lucas_id, town.nature_id)
    assert nature.missing_consents == ()


async def test_an_enrolled_child_is_not_offered_the_activity_again(sessions, clock):
    town = await build_enrolment_town(sessions)
    offer = await EnrolmentService(sessions, clock).offer(town.other_guardian, town.hugo_id)
    names = [activity.name for activity in offer.activities]
    assert "Garderie du soir" not in names  # enrolled already
    assert "CL Mercredis" in names
    centre = next(a for a in offer.activities if a.name == "CL Mercredis")
    assert centre.price_cents == 300  # family F2 is in band QF1


async def test_another_familys_child_is_not_found_and_nothing_is_stored(sessions, clock):
    town = await build_enrolment_town(sessions)
    service = EnrolmentService(sessions, clock)
    with pytest.raises(NotFound):
        await service.offer(town.guardian, town.jade_id)
    with pytest.raises(NotFound):
        await service.request(town.guardian, town.jade_id, town.centre_id, MONDAY, [WEDNESDAY])
    with pytest.raises(NotFound):
        await service.request(town.guardian, 999_999, town.centre_id, MONDAY, [WEDNESDAY])
    assert await _count(sessions, EnrolmentRequest) == 0


@pytest.mark.parametrize(
    ("activity", "starts_on", "weekdays", "code"),
    [
        ("nursery_id", MONDAY, [0], "not_eligible"),
        ("centre_id", date(2026, 11, 23), [WEDNESDAY], "past_date"),
        ("centre_id", date(2027, 7, 5), [WEDNESDAY], "after_year"),
        ("centre_id", date(2027, 3, 1), [WEDNESDAY], "no_day_left"),
        ("centre_id", MONDAY, [], "no_weekday"),
        ("centre_id", MONDAY, [0], "closed_weekday"),
    ],
)
async def test_a_request_out_of_the_rules_is_refused(
    sessions, clock, activity, starts_on, weekdays, code
):
    town = await build_enrolment_town(sessions)
    service = EnrolmentService(sessions, clock)
    with pytest.raises(EnrolmentRefused) as refused:
        await service.request(
            town.guardian, town.lucas_id, getattr(town, activity), starts_on, weekdays
        )
    assert refused.value.code == code
    assert await _count(sessions, EnrolmentRequest) == 0


async def test_a_request_waits_for_the_activitys_service_which_is_told_by_email(sessions, clock):
    town = await build_enrolment_town(sessions)
    service = EnrolmentService(sessions, clock)
    view = await service.request(town.guardian, town.lucas_id, town.centre_id, MONDAY, [2, 2])
    assert (view.status, view.position, view.weekdays) == (RequestStatus.PENDING, None, (2,))
    with pytest.raises(EnrolmentRefused) as again:
        await service.request(town.guardian, town.lucas_id, town.centre_id, MONDAY, [2])
    assert again.value.code == "already_requested"
    async with sessions() as session:
        [mail] = await session.scalars(select(OutboxItem))
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "request_enrolment")
        )
    assert (mail.channel, mail.recipient, mail.kind) == (
        Channel.EMAIL,
        "cl@ville.fr",
        "enrolment_to_decide",
    )
    assert audit is not None and audit.actor == town.guardian.label
    # No longer offered while the request waits.
    offer = await service.offer(town.guardian, town.lucas_id)
    assert "CL Mercredis" not in [activity.name for activity in offer.activities]


async def test_accepted_by_its_service_the_enrolment_line_exists(sessions, clock):
    town = await build_enrolment_town(sessions)
    service = EnrolmentService(sessions, clock)
    view = await service.request(town.guardian, town.lucas_id, town.centre_id, MONDAY, [2])
    with pytest.raises(AccessDenied):  # the after-school service does not decide for centres
        await service.decide_enrolment(await _staff(sessions, NURSERY_STAFF), view.id, True)
    with pytest.raises(DecisionRefused) as no_reason:
        await service.decide_enrolment(await _staff(sessions, CENTRES_STAFF), view.id, False)
    assert no_reason.value.code == "reason_required"
    decider = await _staff(sessions, CENTRES_STAFF)
    accepted = await service.decide_enrolment(decider, view.id, True)
    assert accepted.status is RequestStatus.ACCEPTED
    with pytest.raises(AlreadyDecided):  # the first decision wins
        await service.decide_enrolment(decider, view.id, False, "trop tard")
    async with sessions() as session:
        [enrollment] = await session.scalars(
            select(Enrollment).where(Enrollment.child_id == town.lucas_id)
        )
        request = await session.get(EnrolmentRequest, view.id)
    assert (enrollment.activity_id, enrollment.school_year) == (town.centre_id, "2026-2027")
    assert (enrollment.starts_on, enrollment.ends_on, enrollment.weekdays) == (
        MONDAY,
        YEAR_END,
        [2],
    )
    assert request.enrollment_id == enrollment.id and request.decided_by == decider.id
    with pytest.raises(EnrolmentRefused) as enrolled:
        await service.request(town.guardian, town.lucas_id, town.centre_id, MONDAY, [2])
    assert enrolled.value.code == "already_enrolled"


async def test_beyond_capacity_requests_wait_in_a_list_oldest_first(sessions, clock):
    town = await build_enrolment_town(sessions, centre_capacity=1)
    service = EnrolmentService(sessions, clock)
    decider = await _staff(sessions, CENTRES_STAFF)
    lucas = await service.request(town.guardian, town.lucas_id, town.centre_id, MONDAY, [2])
    assert lucas.status is RequestStatus.PENDING
    await service.decide_enrolment(decider, lucas.id, True)
    offer = await service.offer(town.other_guardian, town.jade_id)
    assert next(a for a in offer.activities if a.name == "CL Mercredis").full
    jade = await service.request(town.other_guardian, town.jade_id, town.centre_id, MONDAY, [2])
    hugo = await service.request(town.other_guardian, town.hugo_id, town.centre_id, MONDAY, [2])
    assert (jade.status, jade.position) == (RequestStatus.WAITLISTED, 1)
    assert (hugo.status, hugo.position) == (RequestStatus.WAITLISTED, 2)
    with pytest.raises(DecisionRefused) as full:
        await service.decide_enrolment(decider, jade.id, True)
    assert full.value.code == "no_place"
    # Jade's family withdraws... here, staff refuse her: Hugo moves up.
    await service.decide_enrolment(decider, jade.id, False, "Autre centre proposé")
    assert (await service.enrolment(decider, hugo.id)).position == 1
    # A place frees (Lucas leaves): the waitlisted request may be accepted.
    async with sessions.begin() as session:
        [line] = await session.scalars(
            select(Enrollment).where(Enrollment.child_id == town.lucas_id)
        )
        await session.delete(line)
    assert (
        await service.decide_enrolment(decider, hugo.id, True)
    ).status is RequestStatus.ACCEPTED


async def test_a_new_child_is_checked_then_added_by_the_family_file_service(sessions, clock):
    town = await build_enrolment_town(sessions)
    service = EnrolmentService(sessions, clock)
    for birth, code in ((date(2027, 1, 1), "future_birth"), (date(2001, 1, 1), "too_old")):
        with pytest.raises(EnrolmentRefused) as refused:
            await service.register_child(town.guardian, "Léa", "F1", birth, "MS")
        assert refused.value.code == code
    with pytest.raises(EnrolmentRefused):
        await service.register_child(town.guardian, "Léa", "F1", date(2022, 3, 12), "6e")
    with pytest.raises(EnrolmentRefused):
        await service.register_child(town.guardian, "  ", "F1", date(2022, 3, 12), "MS")
    assert await _count(sessions, ChildRegistration) == 0
    view = await service.register_child(town.guardian, " Léa ", "F1", date(2022, 3, 12), "MS")
    assert (view.first_name, view.status) == ("Léa", RequestStatus.PENDING)
    with pytest.raises(EnrolmentRefused) as twice:
        await service.register_child(town.guardian, "léa", "F1", date(2022, 3, 12), "MS")
    assert twice.value.code == "already_registered"
    with pytest.raises(AccessDenied):
        await service.decide_registration(await _staff(sessions, CENTRES_STAFF), view.id, True)
    accepted = await service.decide_registration(await _staff(sessions, FILE_STAFF), view.id, True)
    async with sessions() as session:
        child = await session.get(Child, accepted.child_id)
        mails = list(await session.scalars(select(OutboxItem.recipient)))
    assert (child.family_id, child.first_name, child.school_level) == (town.family_id, "Léa", "MS")
    assert child.code.startswith("F1-")
    assert mails == ["dossier@ville.fr"]
    offer = await service.offer(town.guardian, child.id)
    assert "Garderie maternelle" in [activity.name for activity in offer.activities]
