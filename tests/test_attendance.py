"""Attendance (`store.attendance`): who was there, what each kind of day costs, what the month
view shows, who is told, and what is refused."""

from __future__ import annotations

from datetime import date
from html import unescape
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update

import conversations.absence  # noqa: F401  (registers the attendance notices)
from conversations.kit.notices import Notice, render
from conversations.tariffs import rules_lines
from store.absences import AbsenceService
from store.access_log import AccessLogService
from store.actors import AccessDenied, Actor, NotFound
from store.attendance import (
    CORRECTED_NOTICE,
    UNANNOUNCED_NOTICE,
    AttendanceRefused,
    AttendanceService,
    Mark,
    Problem,
)
from store.billing import BillingService
from store.bookings import BookingService
from store.documents import DocumentFolder, DocumentService
from store.import_schema import ActivityIn
from store.models import (
    Activity,
    AuditEntry,
    Booking,
    Child,
    Family,
    OpeningDay,
    OutboxItem,
    PickupPerson,
    Service,
    StaffMember,
)
from store.models.enums import AbsenceReason, BookingState, DocumentType
from store.month_view import CellState, MonthViewService
from store.outbox import Delivery
from store.planning import PlanningService
from store.policies import ActivityRules
from tests.family_file_helpers import tiny_pdf
from tests.helpers import FakeClock, Town, build_town, paris
from tests.messaging_helpers import add_services, link_chat

D1, D2, D3 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)
LATER = date(2027, 1, 6)  # booked, and still to come: not in December's bill
SURCHARGE = {"unannounced_absence": {"mode": "surcharge", "fixed": "2,00"}}
BOOKING_RULE = {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"}


async def _town(sessions, clock: FakeClock, rules: dict[str, Any] | None = None) -> Town:
    """Lucas booked on D1, D2, D3; Emma on D1; Jade (another family) on D1; today is D3."""
    town = await build_town(
        sessions, [D1, D2, D3, LATER], rules={"booking": BOOKING_RULE, **(rules or {})}
    )
    clock.set(paris(date(2026, 11, 20)))
    bookings = BookingService(sessions, clock)
    lucas, emma = town.child_ids
    await bookings.book(town.guardian, [lucas], town.activity_id, [D1, D2, D3, LATER])
    await bookings.book(town.guardian, [emma], town.activity_id, [D1])
    await bookings.book(town.other_guardian, [town.other_child_id], town.activity_id, [D1])
    await link_chat(sessions, town.guardian.id, 5001)
    await link_chat(sessions, town.other_guardian.id, 5002)
    clock.set(paris(D3, "18:00"))
    return town


async def _certificate(sessions, tmp_path, town: Town, child_id: int) -> int:
    documents = DocumentService(sessions, DocumentFolder(tmp_path / "docs"), 6_000_000)
    document = await documents.add(
        town.guardian,
        town.family_id,
        DocumentType.MEDICAL_CERTIFICATE,
        tiny_pdf(),
        child_id=child_id,
    )
    return document.id


async def _notices(sessions, kind: str | None = None) -> list[OutboxItem]:
    async with sessions() as session:
        query = select(OutboxItem).order_by(OutboxItem.id)
        if kind is not None:
            query = query.where(OutboxItem.kind == kind)
        return list(await session.scalars(query))


async def _cells(sessions, clock, town: Town) -> dict[tuple[str, date], CellState]:
    month = await MonthViewService(sessions, PlanningService(sessions, clock)).family_month(
        town.guardian, D1, D3
    )
    return {
        (row.child_name, day): cell.state for row in month.rows for day, cell in row.cells.items()
    }


async def test_each_kind_of_day_is_billed_right_and_shown_on_the_month(sessions, clock, tmp_path):
    town = await _town(sessions, clock, SURCHARGE)
    lucas, emma = town.child_ids
    absences, billing = AbsenceService(sessions), BillingService(sessions)
    attendance = AttendanceService(sessions, clock)
    # Emma's absence on D1 is announced and excused (certificate accepted); Lucas's on D2 is
    # announced for a family reason (not excused).
    [emma_absence] = await absences.report(
        town.guardian,
        [emma],
        D1,
        D1,
        AbsenceReason.ILLNESS,
        certificate_id=await _certificate(sessions, tmp_path, town, emma),
    )
    await absences.decide(Actor.system(), emma_absence.id, accept=True)
    await absences.report(town.guardian, [lucas], D2, D2, AbsenceReason.FAMILY)
    before = await billing.balance(town.guardian, town.family_id, D3)
    assert before.uninvoiced_cents == 3 * 410  # D1, D2, D3 of Lucas; Emma's D1 excused

    day1 = await attendance.record_day(Actor.system(), "act", D1, [])
    assert [(c.child_name, c.mark, c.billed_cents) for c in day1.children] == [
        ("Emma F1", Mark.ABSENT_ANNOUNCED, 0),
        ("Lucas F1", Mark.PRESENT, 410),
        ("Jade F2", Mark.PRESENT, 410),
    ]
    day2 = await attendance.record_day(Actor.system(), "act", D2, [lucas])
    assert [(c.mark, c.billed_cents, c.surcharge_cents) for c in day2.children] == [
        (Mark.ABSENT_ANNOUNCED, 410, 0)  # named absent, but announced: no surcharge
    ]
    day3 = await attendance.record_day(Actor.system(), "act", D3, [lucas])
    [lucas_d3] = day3.children
    assert (lucas_d3.mark, lucas_d3.billed_cents, lucas_d3.surcharge_cents) == (
        Mark.ABSENT_UNANNOUNCED,
        610,
        200,
    )
    assert day3.unannounced_billed_cents == 610

    # present 410 + excused 0 + announced 410 + unannounced 410 + 200 surcharge
    after = await billing.balance(town.guardian, town.family_id, D3)
    assert after.uninvoiced_cents == 410 + 0 + 410 + 610
    other = await billing.balance(town.other_guardian, town.other_family_id, D3)
    assert other.uninvoiced_cents == 410
    cells = await _cells(sessions, clock, town)
    assert cells[("Lucas", D1)] is CellState.PRESENT
    assert cells[("Emma", D1)] is CellState.ABSENT_EXCUSED
    assert cells[("Lucas", D2)] is CellState.ABSENT_BILLED
    assert cells[("Lucas", D3)] is CellState.ABSENT_BILLED

    # The unannounced day alone is told, to the family's linked guardian, with its amounts.
    [told] = await _notices(sessions, UNANNOUNCED_NOTICE)
    assert told.recipient == "5001"
    assert told.payload == {
        "activity_id": town.activity_id,
        "day": "2026-12-03",
        "items": [
            {
                "booking_id": lucas_d3.booking_id,
                "round": 0,
                "amount_cents": 610,
                "surcharge_cents": 200,
            }
        ],
    }


async def test_without_a_rule_an_unannounced_absence_costs_the_full_price(sessions, clock):
    town = await _town(sessions, clock)
    lucas, emma = town.child_ids
    attendance = AttendanceService(sessions, clock)
    day = await attendance.record_day(Actor.system(), "act", D1, [lucas, emma])
    assert day.count(Mark.ABSENT_UNANNOUNCED) == 2 and day.count(Mark.PRESENT) == 1
    assert day.unannounced_billed_cents == 820
    balance = await BillingService(sessions).balance(town.guardian, town.family_id, D3)
    assert balance.uninvoiced_cents == 4 * 410  # Lucas D1 to D3, Emma D1: the full price
    # Siblings in one message per guardian.
    [told] = await _notices(sessions, UNANNOUNCED_NOTICE)
    assert [item["amount_cents"] for item in told.payload["items"]] == [410, 410]
    assert [item["surcharge_cents"] for item in told.payload["items"]] == [0, 0]


async def test_marking_again_changes_nothing_and_corrections_are_audited_and_told(sessions, clock):
    town = await _town(
        sessions, clock, {"unannounced_absence": {"mode": "surcharge", "percent": 50}}
    )
    lucas, _emma = town.child_ids
    attendance = AttendanceService(sessions, clock)
    billing = BillingService(sessions)

    first = await attendance.record_day(Actor.system(), "act", D1, [lucas])
    assert first.changed == 3
    again = await attendance.record_day(Actor.system(), "act", D1, [lucas])
    assert again.changed == 0
    assert len(await _notices(sessions, UNANNOUNCED_NOTICE)) == 1
    # 410 + 205 on D1 (50 %), Emma 410 on D1, Lucas D2 and D3 not marked yet: 410 each
    assert (await billing.balance(town.guardian, town.family_id, D3)).uninvoiced_cents == (
        615 + 410 + 410 + 410
    )

    # Absent → present: the surcharge and the price of the absence go, the family is told.
    corrected = await attendance.record_day(Actor.system(), "act", D1, [])
    assert [c.child_name for c in corrected.children if c.changed] == ["Lucas F1"]
    assert corrected.count(Mark.PRESENT) == 3
    assert (await billing.balance(town.guardian, town.family_id, D3)).uninvoiced_cents == (4 * 410)
    [correction] = await _notices(sessions, CORRECTED_NOTICE)
    assert correction.payload["booking_ids"] == [corrected.children[1].booking_id]
    # Present → absent again: a new notice of its own.
    await attendance.record_day(Actor.system(), "act", D1, [lucas])
    assert len(await _notices(sessions, UNANNOUNCED_NOTICE)) == 2

    async with sessions() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "booking", AuditEntry.action.like("attendance%"))
                .order_by(AuditEntry.id)
            )
        )
    # D1: Emma and Jade present, Lucas absent; Lucas corrected; Lucas absent again.
    assert actions == [
        "attendance",
        "attendance_unannounced",
        "attendance",
        "attendance_corrected",
        "attendance_unannounced",
    ]


async def test_refusals_change_nothing(sessions, clock):
    town = await _town(sessions, clock)
    lucas, emma = town.child_ids
    services = await add_services(sessions)
    attendance = AttendanceService(sessions, clock)

    with pytest.raises(AttendanceRefused) as future:
        await attendance.record_day(Actor.system(), "act", LATER, [])
    assert future.value.problem is Problem.FUTURE_DAY
    # Emma is not booked on D2.
    with pytest.raises(AttendanceRefused) as not_booked:
        await attendance.record_day(Actor.system(), "act", D2, [lucas, emma])
    assert (not_booked.value.problem, not_booked.value.children) == (
        Problem.NOT_BOOKED,
        ("Emma F1",),
    )
    # A booking waiting for validation is not confirmed.
    async with sessions.begin() as session:
        await session.execute(
            update(Booking)
            .where(Booking.child_id == lucas, Booking.day == D3)
            .values(state=BookingState.PENDING)
        )
    with pytest.raises(AttendanceRefused) as pending:
        await attendance.record_day(Actor.system(), "act", D3, [lucas])
    assert pending.value.problem is Problem.NOT_CONFIRMED
    with pytest.raises(NotFound):
        await attendance.record_day(Actor.system(), "nope", D1, [])
    with pytest.raises(AccessDenied):
        await attendance.record_day(town.guardian, "act", D1, [])
    # Staff of another service than the activity's.
    async with sessions.begin() as session:
        await session.execute(update(Activity).values(service_id=services.billing_id))
    with pytest.raises(AccessDenied):
        await attendance.record_day(services.staff, "act", D1, [lucas])
    async with sessions.begin() as session:
        await session.execute(update(Activity).values(service_id=services.leisure_id))
    day = await attendance.record_day(services.staff, "act", D1, [])
    assert day.count(Mark.PRESENT) == 3
    async with sessions() as session:
        marked = await session.scalar(
            select(func.count(Booking.id)).where(Booking.attendance.is_not(None))
        )
    assert marked == 3  # only the last, allowed, call marked anything


async def test_children_named_by_id_or_name_strictly(sessions, clock):
    town = await _town(sessions, clock)
    lucas, emma = town.child_ids
    attendance = AttendanceService(sessions, clock)
    resolve = attendance.resolve_children
    assert await resolve(Actor.system(), "act", D1, [str(emma), "lucas  f1"]) == [emma, lucas]
    assert await resolve(Actor.system(), "act", D1, ["JADE f2"]) == [town.other_child_id]
    with pytest.raises(AttendanceRefused) as unknown:
        await resolve(Actor.system(), "act", D1, ["Zoé Nobody"])
    assert unknown.value.problem is Problem.UNKNOWN_CHILD
    with pytest.raises(AttendanceRefused):
        await resolve(Actor.system(), "act", D1, ["9999"])
    # A second "Lucas F1" (accents and case aside) booked that day: the name is ambiguous.
    async with sessions.begin() as session:
        family = await session.get(Family, town.other_family_id)
        assert family is not None
        twin = Child(
            family_id=family.id,
            code="F2-9",
            first_name="Lùcas",
            last_name="F1",
            birth_date=date(2019, 1, 1),
            school_level="CP",
        )
        session.add(twin)
        await session.flush()
        twin_id = twin.id
    # Not booked that day: the booked Lucas is meant.
    assert await resolve(Actor.system(), "act", D1, ["Lucas F1"]) == [lucas]
    async with sessions.begin() as session:
        opening_day_id = await session.scalar(
            select(OpeningDay.id).where(
                OpeningDay.activity_id == town.activity_id, OpeningDay.day == D1
            )
        )
        assert opening_day_id is not None
        session.add(
            Booking(
                family_id=town.other_family_id,
                child_id=twin_id,
                activity_id=town.activity_id,
                opening_day_id=opening_day_id,
                day=D1,
                state=BookingState.CONFIRMED,
                price_cents=410,
                created_by="test",
            )
        )
    with pytest.raises(AttendanceRefused) as ambiguous:
        await resolve(Actor.system(), "act", D1, ["lucas f1"])
    assert ambiguous.value.problem is Problem.AMBIGUOUS
    assert ambiguous.value.candidates == tuple(sorted([lucas, twin_id]))


async def test_a_certificate_sent_afterwards_still_excuses_an_unannounced_absence(
    sessions, clock, tmp_path
):
    town = await _town(sessions, clock, SURCHARGE)
    lucas, _ = town.child_ids
    attendance = AttendanceService(sessions, clock)
    billing = BillingService(sessions)
    await attendance.record_day(Actor.system(), "act", D2, [lucas])
    assert (await billing.balance(town.guardian, town.family_id, D3)).uninvoiced_cents == (
        410 + 610 + 410 + 410  # Emma D1, Lucas D1, D2 (+ 2 €), D3
    )
    # The parent reports the past day with a certificate; staff accept it.
    absences = AbsenceService(sessions)
    [absence] = await absences.report(
        town.guardian,
        [lucas],
        D2,
        D2,
        AbsenceReason.ILLNESS,
        certificate_id=await _certificate(sessions, tmp_path, town, lucas),
    )
    assert absence.days_marked == 1
    await absences.decide(Actor.system(), absence.id, accept=True)
    assert (await billing.balance(town.guardian, town.family_id, D3)).uninvoiced_cents == 3 * 410
    assert (await _cells(sessions, clock, town))[("Lucas", D2)] is CellState.ABSENT_EXCUSED
    # Marked again, the day keeps the parent's (now announced, excused) absence.
    [again] = (await attendance.record_day(Actor.system(), "act", D2, [lucas])).children
    assert (again.mark, again.excused, again.billed_cents) == (Mark.ABSENT_ANNOUNCED, True, 0)


def test_the_rule_is_validated_and_imported():
    rules = ActivityRules.model_validate(
        {"unannounced_absence": {"mode": "surcharge", "percent": 25}}
    )
    assert rules.unannounced_absence.surcharge_cents(410) == 103  # 102.5 rounded half up
    assert ActivityRules().unannounced_absence.surcharge_cents(410) == 0
    fixed = ActivityRules.model_validate(SURCHARGE)
    assert fixed.unannounced_absence.fixed_cents == 200
    assert ActivityRules.model_validate(fixed.model_dump(mode="json")) == fixed
    for wrong, message in (
        ({"mode": "surcharge"}, "exactly one of percent or fixed"),
        ({"mode": "bill_full", "percent": 10}, "takes no percent"),
        ({"mode": "surcharge", "fixed": "1,234"}, "more than two decimals"),
        ({"mode": "forgive"}, "bill_full"),
        ({"mode": "surcharge", "percent": 10, "amount": 1}, "Extra inputs"),
    ):
        with pytest.raises(ValidationError, match=message):
            ActivityRules.model_validate({"unannounced_absence": wrong})
    activity = ActivityIn.model_validate(
        {
            "code": "cantine",
            "facility": "ecole",
            "name": "Cantine",
            "kind": "canteen",
            "capacity": 100,
            "prices": {"*": "4,20"},
            "rules": {"unannounced_absence": {"mode": "surcharge", "fixed": 1.5}},
            "calendar": {"start": "2026-09-01", "end": "2027-07-02", "weekdays": ["monday"]},
        }
    )
    assert activity.rules.unannounced_absence.surcharge_cents(420) == 150
    # Parents read it with the activity's rules (🏷 Tarifs), when it adds a surcharge.
    assert rules_lines(activity.rules, "fr")[-1] == (
        "• Absence non signalée (sans prévenir) : le jour est facturé avec une majoration de "
        "1,50\u00a0€."
    )
    assert rules_lines(rules, "en")[-1].endswith("billed with a 25% surcharge.")
    assert not any("signalée" in line for line in rules_lines(ActivityRules(), "fr"))


async def test_the_day_sheet_shows_health_flags_to_the_activity_staff_only(sessions, clock):
    town = await _town(sessions, clock)
    lucas, emma = town.child_ids
    services = await add_services(sessions)
    async with sessions.begin() as session:
        await session.execute(update(Activity).values(service_id=services.leisure_id))
        await session.execute(
            update(Child)
            .where(Child.id == lucas)
            .values(allergies="arachide", pai=True, diet="sans porc", school="École Jaurès")
        )
        session.add(PickupPerson(child_id=lucas, name="Mamie Jo", phone="0600000000"))
        other = StaffMember(
            service_id=services.billing_id, name="Régie", email="regie.agent@montclar.example"
        )
        file_service = Service(code="family_file", name="Dossier famille", email="df@m.example")
        session.add_all([other, file_service])
        await session.flush()
        file_staff = StaffMember(
            service_id=file_service.id, name="DF", email="df.agent@montclar.example"
        )
        session.add(file_staff)
        await session.flush()
        other_actor, file_actor = Actor.staff(other.id), Actor.staff(file_staff.id)
    await AbsenceService(sessions).report(town.guardian, [emma], D1, D1, AbsenceReason.FAMILY)
    attendance = AttendanceService(sessions, clock)

    sheet = await attendance.day_sheet(services.staff, "act", D1)
    assert sheet.health_shown and sheet.facility_name == "École"
    by_name = {entry.child_name: entry for entry in sheet.entries}
    assert list(by_name) == ["Emma F1", "Lucas F1", "Jade F2"]
    assert (by_name["Lucas F1"].allergies, by_name["Lucas F1"].pai) == ("arachide", True)
    assert by_name["Lucas F1"].school == "École Jaurès"
    assert [p.name for p in by_name["Lucas F1"].pickups] == ["Mamie Jo"]
    assert by_name["Emma F1"].absence is not None
    assert (await attendance.day_sheet(file_actor, "act", D1)).health_shown
    for reader in (other_actor, Actor.system()):
        hidden = await attendance.day_sheet(reader, "act", D1)
        assert not hidden.health_shown
        assert all(e.allergies is None and e.pai is None for e in hidden.entries)
    with pytest.raises(AccessDenied):
        await attendance.day_sheet(town.guardian, "act", D1)
    # Lucas's flags were printed twice (the activity's staff, the family-file staff): logged.
    reads = await AccessLogService(sessions, False).for_family(Actor.system(), town.family_id)
    assert [(r.what, r.what_id, r.why) for r in reads] == [
        ("health", lucas, f"day_sheet:act:{D1.isoformat()}")
    ] * 2


async def test_the_notices_read_in_each_language_siblings_together(sessions, clock):
    town = await _town(sessions, clock, SURCHARGE)
    lucas, emma = town.child_ids
    attendance = AttendanceService(sessions, clock)
    await attendance.record_day(Actor.system(), "act", D1, [lucas, emma])
    await attendance.record_day(Actor.system(), "act", D1, [emma])
    told, corrected = await _notices(sessions)
    portal = SimpleNamespace(sessions=sessions)

    def delivery(item: OutboxItem) -> Delivery:
        return Delivery(item.id, item.recipient, item.kind, item.payload, 0)

    french = await render(portal, delivery(told), "fr")  # type: ignore[arg-type]
    assert isinstance(french, Notice)
    assert (
        unescape(french.text)
        .replace("\u00a0", " ")
        .startswith(
            "⚠️ <b>Absence non signalée</b> : Emma (6,10 € (dont 2,00 € de majoration)), "
            "Lucas (6,10 € (dont 2,00 € de majoration)), CL Mercredis du mardi 1er décembre — "
            "facturée 12,20 €."
        )
    )
    assert french.keyboard is not None
    english = await render(portal, delivery(told), "en")  # type: ignore[arg-type]
    assert isinstance(english, Notice)
    assert "Absence not reported</b>: Emma (€6.10 (including a €2.00 surcharge))" in (
        unescape(english.text).replace("\u00a0", " ")
    )
    assert "Tuesday 1 December — billed €12.20." in unescape(english.text)
    correction = await render(portal, delivery(corrected), "fr")  # type: ignore[arg-type]
    assert correction == (
        "✅ <b>Correction</b> : Lucas était bien présent(e) à CL Mercredis le mardi 1er "
        "décembre. L'absence n'est pas facturée."
    )
