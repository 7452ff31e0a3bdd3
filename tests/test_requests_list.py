"""Mes demandes, the read service: every kind of request with its state, filters, the family's
own only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.requests_list import OPEN, VIEW, View, parse_open, parse_view
from store.actors import AccessDenied, NotFound
from store.models import (
    Absence,
    AuditEntry,
    Booking,
    ChildRegistration,
    Document,
    EnrolmentRequest,
    FileChange,
    OpeningDay,
)
from store.models.enums import (
    AbsenceReason,
    AbsenceStatus,
    BookingState,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    RequestStatus,
)
from store.requests_list import (
    RequestFilter,
    RequestKind,
    RequestsListService,
    RequestState,
    recent_since,
)
from tests.helpers import Town, build_town

DAYS = [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16)]
TODAY = date(2026, 11, 24)


def at(day: int, month: int = 11, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Asked:
    """The town and the ids of the requests `ask_everything` created."""

    town: Town
    ids: dict[str, int]


async def ask_everything(sessions: async_sessionmaker[AsyncSession]) -> Asked:
    """A request of every kind and state for family F1 (Lucas and Emma), some for F2 (Jade).

    Asked in November 2026 (newest: the pre-registration), but one file change in May.
    """
    town = await build_town(sessions, DAYS, requires_validation=True)
    lucas, emma = town.child_ids
    ids: dict[str, int] = {}
    async with sessions.begin() as session:
        opening = {
            row.day: row.id
            for row in await session.scalars(
                select(OpeningDay).where(OpeningDay.activity_id == town.activity_id)
            )
        }

        def booking(family: int, child: int, day: date, state: BookingState, when: datetime):
            return Booking(
                family_id=family,
                child_id=child,
                activity_id=town.activity_id,
                opening_day_id=opening[day],
                day=day,
                state=state,
                price_cents=410,
                created_by="test",
                created_at=when,
                updated_at=when,
            )

        rows = {
            "pending": booking(town.family_id, lucas, DAYS[0], BookingState.PENDING, at(2)),
            "theirs_waiting": booking(
                town.other_family_id, town.other_child_id, DAYS[1], BookingState.WAITLISTED, at(3)
            ),
            "waitlisted": booking(town.family_id, emma, DAYS[1], BookingState.WAITLISTED, at(4)),
            "refused": booking(town.family_id, lucas, DAYS[2], BookingState.REFUSED, at(5)),
            "confirmed": booking(town.family_id, emma, DAYS[0], BookingState.CONFIRMED, at(5)),
        }
        session.add_all(rows.values())
        certificate = Document(
            family_id=town.family_id,
            child_id=lucas,
            doc_type=DocumentType.MEDICAL_CERTIFICATE,
            status=DocumentStatus.REJECTED,
            source=DocumentSource.TELEGRAM,
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            storage_key="cert",
            uploaded_by="test",
            created_at=at(7),
            reviewed_at=at(8),
            review_note="Certificat illisible",
        )
        insurance = Document(
            family_id=town.family_id,
            child_id=None,
            doc_type=DocumentType.INSURANCE,
            status=DocumentStatus.PENDING,
            source=DocumentSource.TELEGRAM,
            content_type="application/pdf",
            size=10,
            sha256="1" * 64,
            storage_key="insurance",
            uploaded_by="test",
            created_at=at(9),
        )
        session.add_all([certificate, insurance])
        await session.flush()
        session.add(
            AuditEntry(
                actor="staff:1",
                action="refuse",
                entity="booking",
                entity_id=rows["refused"].id,
                details={"reason": "Sortie complète"},
            )
        )
        absences = {
            "reported": Absence(
                family_id=town.family_id,
                child_id=emma,
                start=date(2026, 11, 16),
                end=date(2026, 11, 17),
                reason=AbsenceReason.ILLNESS,
                status=AbsenceStatus.REPORTED,
                reference="ABS-0001",
                created_by="test",
                created_at=at(6),
            ),
            "absence_refused": Absence(
                family_id=town.family_id,
                child_id=lucas,
                start=date(2026, 11, 10),
                end=date(2026, 11, 10),
                reason=AbsenceReason.ILLNESS,
                status=AbsenceStatus.REFUSED,
                reference="ABS-0002",
                certificate_id=certificate.id,
                created_by="test",
                created_at=at(6, hour=8),
            ),
        }
        changes = {
            "phone": FileChange(
                family_id=town.family_id,
                field="guardian.phone",
                old_value="06 11 22 33 44",
                new_value="07 55 66 77 88",
                requested_at=at(10),
            ),
            "allergies": FileChange(
                family_id=town.family_id,
                child_id=lucas,
                field="child.allergies",
                old_value=None,
                new_value="arachide",
                status=RequestStatus.REFUSED,
                reason="Merci de joindre le PAI",
                requested_at=at(11),
                decided_at=at(12),
            ),
            "old_address": FileChange(
                family_id=town.family_id,
                field="family.address",
                old_value="1 rue A",
                new_value="2 rue B",
                status=RequestStatus.ACCEPTED,
                requested_at=at(2, month=5),
                decided_at=at(3, month=5),
            ),
            "theirs_change": FileChange(
                family_id=town.other_family_id,
                field="guardian.email",
                new_value="x@exemple.fr",
                requested_at=at(12),
            ),
        }
        enrolments = {
            "theirs_enrolment": EnrolmentRequest(
                family_id=town.other_family_id,
                child_id=town.other_child_id,
                activity_id=town.activity_id,
                school_year="2026-2027",
                starts_on=date(2026, 12, 2),
                weekdays=[2],
                status=RequestStatus.WAITLISTED,
                requested_at=at(12),
            ),
            "enrolment_waiting": EnrolmentRequest(
                family_id=town.family_id,
                child_id=emma,
                activity_id=town.activity_id,
                school_year="2026-2027",
                starts_on=date(2026, 12, 2),
                weekdays=[2, 4],
                status=RequestStatus.WAITLISTED,
                requested_at=at(13),
            ),
            "enrolment_accepted": EnrolmentRequest(
                family_id=town.family_id,
                child_id=lucas,
                activity_id=town.activity_id,
                school_year="2026-2027",
                starts_on=date(2026, 12, 2),
                status=RequestStatus.ACCEPTED,
                requested_at=at(14),
                decided_at=at(15),
            ),
        }
        registration = ChildRegistration(
            family_id=town.family_id,
            first_name="Léa",
            last_name="F1",
            birth_date=date(2022, 3, 4),
            school_level="PS",
            requested_at=at(20),
        )
        session.add_all([*absences.values(), *changes.values(), *enrolments.values()])
        session.add(registration)
        await session.flush()
        for name, row in [
            *rows.items(),
            *absences.items(),
            *changes.items(),
            *enrolments.items(),
            ("certificate", certificate),
            ("insurance", insurance),
            ("registration", registration),
        ]:
            ids[name] = row.id
    return Asked(town, ids)


async def test_every_kind_is_listed_newest_first_with_its_state(sessions):
    asked = await ask_everything(sessions)
    service = RequestsListService(sessions)
    town = asked.town
    items = await service.requests(
        town.guardian, town.family_id, RequestFilter(since=recent_since(TODAY))
    )
    seen = [(item.kind, item.id, item.state) for item in items]
    ids = asked.ids
    assert seen == [
        (RequestKind.REGISTRATION, ids["registration"], RequestState.PENDING),
        (RequestKind.ENROLMENT, ids["enrolment_accepted"], RequestState.ACCEPTED),
        (RequestKind.ENROLMENT, ids["enrolment_waiting"], RequestState.WAITLISTED),
        (RequestKind.FILE_CHANGE, ids["allergies"], RequestState.REFUSED),
        (RequestKind.FILE_CHANGE, ids["phone"], RequestState.PENDING),
        (RequestKind.DOCUMENT, ids["insurance"], RequestState.PENDING),
        (RequestKind.DOCUMENT, ids["certificate"], RequestState.REFUSED),
        (RequestKind.ABSENCE, ids["reported"], RequestState.PENDING),
        (RequestKind.ABSENCE, ids["absence_refused"], RequestState.REFUSED),
        (RequestKind.BOOKING, ids["refused"], RequestState.REFUSED),
        (RequestKind.BOOKING, ids["waitlisted"], RequestState.WAITLISTED),
        (RequestKind.BOOKING, ids["pending"], RequestState.PENDING),
    ]
    by_id = {(item.kind, item.id): item for item in items}
    assert by_id[(RequestKind.BOOKING, ids["waitlisted"])].position == 2
    assert by_id[(RequestKind.BOOKING, ids["refused"])].reason == "Sortie complète"
    assert by_id[(RequestKind.ABSENCE, ids["absence_refused"])].reason == "Certificat illisible"
    assert by_id[(RequestKind.DOCUMENT, ids["certificate"])].reason == "Certificat illisible"
    assert by_id[(RequestKind.FILE_CHANGE, ids["allergies"])].reason == "Merci de joindre le PAI"
    assert by_id[(RequestKind.ENROLMENT, ids["enrolment_waiting"])].position == 2  # F2 asked first
    assert by_id[(RequestKind.ENROLMENT, ids["enrolment_waiting"])].weekdays == (2, 4)


async def test_older_requests_only_when_asked(sessions):
    asked = await ask_everything(sessions)
    service = RequestsListService(sessions)
    town = asked.town
    recent = await service.requests(
        town.guardian, town.family_id, RequestFilter(since=recent_since(TODAY))
    )
    everything = await service.requests(town.guardian, town.family_id, RequestFilter())
    assert asked.ids["old_address"] not in {
        i.id for i in recent if i.kind is RequestKind.FILE_CHANGE
    }
    assert [i.id for i in everything if i.kind is RequestKind.FILE_CHANGE][-1] == asked.ids[
        "old_address"
    ]
    assert len(everything) == len(recent) + 1


async def test_filters_by_kind_and_by_child(sessions):
    asked = await ask_everything(sessions)
    service = RequestsListService(sessions)
    town = asked.town
    lucas, emma = town.child_ids
    bookings = await service.requests(
        town.guardian, town.family_id, RequestFilter(kind=RequestKind.BOOKING)
    )
    assert {item.kind for item in bookings} == {RequestKind.BOOKING} and len(bookings) == 3
    emmas = await service.requests(town.guardian, town.family_id, RequestFilter(child_id=emma))
    assert {item.child_id for item in emmas} == {emma}
    assert {item.kind for item in emmas} == {
        RequestKind.BOOKING,
        RequestKind.ABSENCE,
        RequestKind.ENROLMENT,
    }
    both = await service.requests(
        town.guardian, town.family_id, RequestFilter(kind=RequestKind.FILE_CHANGE, child_id=lucas)
    )
    assert [item.id for item in both] == [asked.ids["allergies"]]


async def test_another_familys_requests_are_never_read(sessions):
    asked = await ask_everything(sessions)
    service = RequestsListService(sessions)
    town = asked.town
    mine = await service.requests(town.guardian, town.family_id, RequestFilter())
    assert asked.ids["theirs_change"] not in {
        i.id for i in mine if i.kind is RequestKind.FILE_CHANGE
    }
    with pytest.raises(AccessDenied):
        await service.requests(town.guardian, town.other_family_id, RequestFilter())
    with pytest.raises(NotFound):
        await service.requests(
            town.guardian, town.family_id, RequestFilter(child_id=town.other_child_id)
        )
    for kind, name in (
        (RequestKind.FILE_CHANGE, "theirs_change"),
        (RequestKind.ENROLMENT, "theirs_enrolment"),
        (RequestKind.BOOKING, "theirs_waiting"),
    ):
        with pytest.raises(NotFound):
            await service.request(town.guardian, town.family_id, kind, asked.ids[name])
    # Theirs, read by them, is there.
    theirs = await service.request(
        town.other_guardian,
        town.other_family_id,
        RequestKind.FILE_CHANGE,
        asked.ids["theirs_change"],
    )
    assert theirs.new_value == "x@exemple.fr"


async def test_one_request_in_detail(sessions):
    asked = await ask_everything(sessions)
    service = RequestsListService(sessions)
    town = asked.town
    change = await service.request(
        town.guardian, town.family_id, RequestKind.FILE_CHANGE, asked.ids["phone"]
    )
    assert (change.subject, change.old_value, change.new_value) == (
        "guardian.phone",
        "06 11 22 33 44",
        "07 55 66 77 88",
    )
    # A confirmed booking is no request of "Mes demandes".
    with pytest.raises(NotFound):
        await service.request(
            town.guardian, town.family_id, RequestKind.BOOKING, asked.ids["confirmed"]
        )


@pytest.mark.parametrize(
    "data",
    [
        "rq:v:all.0.r.0 ",
        "rq:v:all.0.r.0\n",
        "rq:v:xx.0.r.0",
        "rq:v:all.-1.r.0",
        "rq:v:all.00.r.0",
        "rq:v:all.99999999999.r.0",
        "rq:v:all.2147483648.r.0",
        "rq:v:all.0.x.0",
        "rq:v:all.0.r.1000",
        "rq:v:",
        None,
    ],
)
def test_malformed_views_are_refused(data):
    assert parse_view(data, VIEW) is None
    assert parse_open(data) is None


def test_views_read_back_what_they_write():
    view = View(RequestKind.FILE_CHANGE, 2147483647, True, 12)
    assert parse_view(f"{VIEW}{view.data()}", VIEW) == view
    assert parse_view(f"{VIEW}{View().data()}", VIEW) == View()
    data = f"{OPEN}en:42:{view.data()}"
    assert len(data.encode()) <= 64
    assert parse_open(data) == (RequestKind.ENROLMENT, 42, view)
    assert parse_open(f"{OPEN}en:2147483648:{view.data()}") is None
