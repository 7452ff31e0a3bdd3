"""Attendance (le pointage): staff mark who was there on a day of an activity, so that the
month view and the bill say what happened.

A day is marked in one call: the children named absent, every other confirmed booking of the
day present. The rules:

- Staff of the activity's service mark it (the system may; an activity without a service may be
  marked by any staff member); the day is today or past, by the service's clock in Paris.
- Only confirmed bookings are marked. A child named absent who is not booked that day (never
  booked, cancelled, refused) or whose booking is not confirmed (pending, waitlisted) is
  refused, and nothing changes.
- A child whose absence the family reported keeps it: absent, *announced*, billed as that
  absence says (excused by an accepted certificate: not billed; otherwise the price), whether
  named absent or not.
- A child named absent with no absence reported is an *unannounced* absence: billed per the
  activity's `unannounced_absence` rule (`store.policies.UnannouncedAbsence`: the full price,
  or the price and a surcharge, kept on the booking as its fee, see `store.billing`), shown on
  the month view as absent billed, and the family is told through the outbox, in each
  guardian's language. A medical certificate sent afterwards still excuses it, as the portals'
  rules say ("sauf [...] sur présentation d'un certificat médical daté du jour de l'absence"):
  the parent reports the absence of that day with the certificate (the chat reads past days
  for an absence), the booking takes that absence, and staff accepting the certificate make
  the day excused, not billed, surcharge included.
- Marking again is idempotent (the same marks change nothing, tell no one again) and corrects:
  absent → present drops the unannounced absence and its surcharge (the family is told),
  present → absent makes it one. Every change is audited, booking by booking, without names.

Also the day's sheet staff print (`day_sheet`, `store.day_sheet_pdf`): the children expected,
their class, the absences announced, the pick-up persons, and the health flags (allergies, PAI,
diet) for staff allowed to read them: the activity's service and the family-file service.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.access_log import HEALTH, record_staff_read
from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.billing import billable_amount
from store.calendar import activity_rules
from store.clock import Clock, system_clock
from store.deadlines import PARIS
from store.family_file import FAMILY_FILE_SERVICE
from store.models import (
    Absence,
    Activity,
    AuditEntry,
    Booking,
    Child,
    Facility,
    PickupPerson,
    Service,
    StaffMember,
)
from store.models.enums import AbsenceStatus, ActorKind, Attendance, BookingState
from store.outbox import FamilyNotice, notify_families

UNANNOUNCED_NOTICE = "unannounced_absence"
"""The outbox kind telling a family a day was marked absent without notice, and billed."""
CORRECTED_NOTICE = "attendance_corrected"
"""The outbox kind telling a family an unannounced absence was corrected: the child was there."""

# Audit actions, one entry per booking whose mark changed.
MARKED = "attendance"
MARKED_UNANNOUNCED = "attendance_unannounced"
CORRECTED = "attendance_corrected"

# The bookings the day's sheet lists: those expected (a pending one is noted as such).
SHEET_STATES = (BookingState.CONFIRMED, BookingState.PENDING)


class Mark(StrEnum):
    """How a booked day ended."""

    PRESENT = "present"
    ABSENT_ANNOUNCED = "absent_announced"
    ABSENT_UNANNOUNCED = "absent_unannounced"


class Problem(StrEnum):
    """Why a day's attendance was refused."""

    FUTURE_DAY = "future_day"
    NOT_BOOKED = "not_booked"
    NOT_CONFIRMED = "not_confirmed"
    UNKNOWN_CHILD = "unknown_child"
    AMBIGUOUS = "ambiguous"


class AttendanceRefused(StoreError):
    """The day cannot be marked as asked; nothing changed. `children` are the children (as
    named, or their ids) at fault; `candidates` the ids a name could mean (`AMBIGUOUS`)."""

    def __init__(
        self, problem: Problem, children: Sequence[str] = (), candidates: Sequence[int] = ()
    ) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.children = tuple(children)
        self.candidates = tuple(candidates)


@dataclass(frozen=True)
class MarkedChild:
    """One confirmed booking of the day, as marked; `billed_cents` is what the day costs the
    family now (`store.billing.billable_amount`), `surcharge_cents` the unannounced absence's
    part of it."""

    booking_id: int
    child_id: int
    child_name: str
    mark: Mark
    billed_cents: int
    surcharge_cents: int
    excused: bool
    # Its mark before this call (None: not marked yet).
    previous: Mark | None

    @property
    def changed(self) -> bool:
        return self.mark is not self.previous


@dataclass(frozen=True)
class DayAttendance:
    """A day of an activity as marked, children by name."""

    activity_code: str
    activity_name: str
    day: date
    children: list[MarkedChild]

    def count(self, mark: Mark) -> int:
        return sum(1 for child in self.children if child.mark is mark)

    @property
    def changed(self) -> int:
        return sum(1 for child in self.children if child.changed)

    @property
    def unannounced_billed_cents(self) -> int:
        return sum(
            child.billed_cents for child in self.children if child.mark is Mark.ABSENT_UNANNOUNCED
        )


@dataclass(frozen=True)
class Pickup:
    name: str
    phone: str
    relationship: str | None


@dataclass(frozen=True)
class SheetEntry:
    """A child on the day's sheet. The health fields are None when the reader may not see
    them (`DaySheet.health_shown`)."""

    child_id: int
    child_name: str
    school_level: str
    school: str | None
    pending: bool
    absence: AbsenceStatus | None
    mark: Mark | None
    pickups: list[Pickup]
    allergies: str | None = None
    pai: bool | None = None
    diet: str | None = None


@dataclass(frozen=True)
class DaySheet:
    """The children expected on a day of an activity, for staff to print and tick."""

    activity_code: str
    activity_name: str
    facility_name: str
    day: date
    health_shown: bool
    entries: list[SheetEntry]


def child_key(text: str) -> str:
    """A child's name as compared: no accents, no case, single spaces ("Léa  Martin" is
    "lea martin")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


class AttendanceService:
    """Mark a day's attendance, and read the day's sheet."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    def _today(self) -> date:
        return self._clock().astimezone(PARIS).date()

    async def resolve_children(
        self, actor: Actor, activity_code: str, day: date, named: Sequence[str]
    ) -> list[int]:
        """The ids of the children named by id ("12") or by "Firstname Lastname" (case and
        accents aside). A name is looked for among the children booked that day first, then
        among every child; one name for several children is refused (`AMBIGUOUS`, with their
        ids), an id or a name no child has too (`UNKNOWN_CHILD`)."""
        actor.check_staff()
        async with self._sessions() as session:
            activity = await _activity(session, activity_code)
            booked = await _children_of_day(session, activity.id, day)
            ids: list[int] = []
            for name in named:
                text = name.strip()
                if text.isdigit():
                    found = await session.scalar(select(Child.id).where(Child.id == int(text)))
                    if found is None:
                        raise AttendanceRefused(Problem.UNKNOWN_CHILD, [text])
                    ids.append(found)
                    continue
                key = child_key(text)
                matches = [child_id for child_id, full in booked if child_key(full) == key]
                if not matches:
                    matches = [
                        child_id
                        for child_id, full in await _every_child(session)
                        if child_key(full) == key
                    ]
                if not matches:
                    raise AttendanceRefused(Problem.UNKNOWN_CHILD, [text])
                if len(matches) > 1:
                    raise AttendanceRefused(Problem.AMBIGUOUS, [text], sorted(matches))
                ids.append(matches[0])
            return ids

    async def record_day(
        self, actor: Actor, activity_code: str, day: date, absent: Sequence[int]
    ) -> DayAttendance:
        """Mark the day: the children `absent` (ids) absent, every other confirmed booking
        present, announced absences kept (see the module). Refused as a whole
        (`AttendanceRefused`) for a day to come or a child named absent who is not confirmed
        booked that day."""
        actor.check_staff()
        if day > self._today():
            raise AttendanceRefused(Problem.FUTURE_DAY)
        wanted_absent = set(absent)
        async with self._sessions.begin() as session:
            activity = await _activity(session, activity_code)
            await _check_activity_staff(session, actor, activity)
            rows = (
                await session.execute(
                    select(Booking, Child.first_name, Child.last_name, Absence.status)
                    .join(Child, Child.id == Booking.child_id)
                    .outerjoin(Absence, Absence.id == Booking.absence_id)
                    .where(Booking.activity_id == activity.id, Booking.day == day)
                    .order_by(Child.last_name, Child.first_name, Booking.id)
                    .with_for_update(of=Booking)
                )
            ).all()
            confirmed = [row for row in rows if row[0].state is BookingState.CONFIRMED]
            await _check_absent_are_booked(
                session, wanted_absent, {row[0].child_id for row in confirmed}, rows
            )
            rule = activity_rules(activity).unannounced_absence
            unannounced_before = await _unannounced_counts(session, [r[0].id for r in confirmed])
            marked: list[MarkedChild] = []
            told: dict[int, list[dict[str, int]]] = {}
            corrected: dict[int, list[int]] = {}
            for booking, first_name, last_name, absence_status in confirmed:
                previous = _mark_of(booking)
                if booking.absence_id is not None:
                    mark = Mark.ABSENT_ANNOUNCED
                elif booking.child_id in wanted_absent:
                    mark = Mark.ABSENT_UNANNOUNCED
                else:
                    mark = Mark.PRESENT
                if mark is not previous:
                    _apply(session, actor, booking, mark, previous, rule.surcharge_cents)
                    if mark is Mark.ABSENT_UNANNOUNCED:
                        told.setdefault(booking.family_id, []).append(
                            {
                                "booking_id": booking.id,
                                "round": unannounced_before.get(booking.id, 0),
                                "amount_cents": booking.price_cents
                                + booking.cancellation_fee_cents,
                                "surcharge_cents": booking.cancellation_fee_cents,
                            }
                        )
                    elif previous is Mark.ABSENT_UNANNOUNCED:
                        corrected.setdefault(booking.family_id, []).append(booking.id)
                excused = absence_status is AbsenceStatus.EXCUSED
                marked.append(
                    MarkedChild(
                        booking.id,
                        booking.child_id,
                        f"{first_name} {last_name}",
                        mark,
                        billable_amount(
                            booking.state,
                            booking.price_cents,
                            booking.cancellation_fee_cents,
                            excused,
                        ),
                        0 if excused else booking.cancellation_fee_cents,
                        excused,
                        previous,
                    )
                )
            await _tell_families(session, activity.id, day, told, corrected)
            return DayAttendance(activity.code, activity.name, day, marked)

    async def day_sheet(self, actor: Actor, activity_code: str, day: date) -> DaySheet:
        """The day's children to print: confirmed (and pending, noted) bookings by name, with
        their class, announced absence, mark and pick-up persons; their health flags only for
        staff of the activity's service or of the family-file service."""
        actor.check_staff()
        async with self._sessions() as session:
            activity = await _activity(session, activity_code)
            health = await _reads_health(session, actor, activity)
            sheet, families = await read_day_sheet(session, activity, day, health=health)
            if health:
                # Each child whose health flags print is a read of them: in the family's log.
                why = f"day_sheet:{activity.code}:{day.isoformat()}"
                for entry in sheet.entries:
                    if entry.allergies or entry.pai or entry.diet:
                        await record_staff_read(
                            session, actor, families[entry.child_id], HEALTH, entry.child_id, why
                        )
                await session.commit()
        return sheet


async def read_day_sheet(
    session: AsyncSession, activity: Activity, day: date, *, health: bool
) -> tuple[DaySheet, dict[int, int]]:
    """The day's sheet of `activity` (health flags when `health`: the caller checked who
    reads, and records the read), and each listed child's family id."""
    facility = await session.get(Facility, activity.facility_id)
    rows = (
        await session.execute(
            select(Booking, Child, Absence.status)
            .join(Child, Child.id == Booking.child_id)
            .outerjoin(Absence, Absence.id == Booking.absence_id)
            .where(
                Booking.activity_id == activity.id,
                Booking.day == day,
                Booking.state.in_(SHEET_STATES),
            )
            .order_by(Child.last_name, Child.first_name, Booking.id)
        )
    ).all()
    pickups: dict[int, list[Pickup]] = {}
    child_ids = [child.id for _, child, _ in rows]
    if child_ids:
        for person in await session.scalars(
            select(PickupPerson)
            .where(PickupPerson.child_id.in_(child_ids))
            .order_by(PickupPerson.id)
        ):
            pickups.setdefault(person.child_id, []).append(
                Pickup(person.name, person.phone, person.relationship)
            )
    entries = [
        SheetEntry(
            child.id,
            f"{child.first_name} {child.last_name}",
            child.school_level,
            child.school,
            booking.state is BookingState.PENDING,
            absence,
            _mark_of(booking),
            pickups.get(child.id, []),
            allergies=child.allergies if health else None,
            pai=child.pai if health else None,
            diet=child.diet if health else None,
        )
        for booking, child, absence in rows
    ]
    sheet = DaySheet(
        activity.code,
        activity.name,
        facility.name if facility is not None else "",
        day,
        health,
        entries,
    )
    return sheet, {child.id: child.family_id for _, child, _ in rows}


def _apply(
    session: AsyncSession,
    actor: Actor,
    booking: Booking,
    mark: Mark,
    previous: Mark | None,
    surcharge: Callable[[int], int],
) -> None:
    """Write a booking's new mark, and its audit entry: an unannounced absence takes the
    surcharge of the rule (on the day's price, a late booking's surcharge aside); a day
    corrected to present loses it."""
    was = previous.value if previous is not None else None
    if mark is Mark.PRESENT:
        booking.attendance = Attendance.PRESENT
        if previous is Mark.ABSENT_UNANNOUNCED:
            booking.cancellation_fee_cents = 0
            record(session, actor, CORRECTED, "booking", booking.id, previous=was)
            return
        record(session, actor, MARKED, "booking", booking.id, mark=mark.value, previous=was)
        return
    booking.attendance = Attendance.ABSENT
    if mark is Mark.ABSENT_UNANNOUNCED:
        booking.cancellation_fee_cents = surcharge(booking.price_cents - booking.surcharge_cents)
        fee = booking.cancellation_fee_cents
        record(session, actor, MARKED_UNANNOUNCED, "booking", booking.id, surcharge=fee)
        return
    record(session, actor, MARKED, "booking", booking.id, mark=mark.value, previous=was)


def _mark_of(booking: Booking) -> Mark | None:
    if booking.attendance is Attendance.PRESENT:
        return Mark.PRESENT
    if booking.attendance is Attendance.ABSENT:
        return Mark.ABSENT_ANNOUNCED if booking.absence_id else Mark.ABSENT_UNANNOUNCED
    return None


async def _activity(session: AsyncSession, code: str) -> Activity:
    activity = await session.scalar(select(Activity).where(Activity.code == code))
    if activity is None:
        raise NotFound("unknown activity")
    return activity


async def _children_of_day(
    session: AsyncSession, activity_id: int, day: date
) -> list[tuple[int, str]]:
    """(id, "First Last") of the children with any booking of the activity that day."""
    rows = await session.execute(
        select(Child.id, Child.first_name, Child.last_name)
        .join(Booking, Booking.child_id == Child.id)
        .where(Booking.activity_id == activity_id, Booking.day == day)
        .distinct()
    )
    return [(child_id, f"{first} {last}") for child_id, first, last in rows]


async def _every_child(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, "First Last") of every child: a name not booked that day is looked for there, to
    tell a child not booked from a name no child has."""
    rows = await session.execute(select(Child.id, Child.first_name, Child.last_name))
    return [(child_id, f"{first} {last}") for child_id, first, last in rows]


async def _check_absent_are_booked(
    session: AsyncSession,
    absent: set[int],
    confirmed: set[int],
    rows: Sequence[tuple[Booking, str, str, AbsenceStatus | None]],
) -> None:
    """Refuse absent children without a confirmed booking: pending or waitlisted ones as not
    confirmed, the others as not booked."""
    missing = absent - confirmed
    if not missing:
        return
    waiting = {
        booking.child_id: f"{first} {last}"
        for booking, first, last, _ in rows
        if booking.child_id in missing
        and booking.state in (BookingState.PENDING, BookingState.WAITLISTED)
    }
    if waiting:
        raise AttendanceRefused(Problem.NOT_CONFIRMED, sorted(waiting.values()))
    names = {
        child_id: f"{first} {last}"
        for child_id, first, last in await session.execute(
            select(Child.id, Child.first_name, Child.last_name).where(Child.id.in_(missing))
        )
    }
    raise AttendanceRefused(
        Problem.NOT_BOOKED, [names.get(child_id, str(child_id)) for child_id in sorted(missing)]
    )


async def _unannounced_counts(session: AsyncSession, booking_ids: list[int]) -> dict[int, int]:
    """How many times each booking was marked an unannounced absence before: each time is a
    notice of its own (marked, corrected, marked again: told twice), never the same twice."""
    if not booking_ids:
        return {}
    rows = await session.execute(
        select(AuditEntry.entity_id, func.count(AuditEntry.id))
        .where(
            AuditEntry.entity == "booking",
            AuditEntry.action == MARKED_UNANNOUNCED,
            AuditEntry.entity_id.in_(booking_ids),
        )
        .group_by(AuditEntry.entity_id)
    )
    return {entity_id: int(count) for entity_id, count in rows if entity_id is not None}


async def _tell_families(
    session: AsyncSession,
    activity_id: int,
    day: date,
    told: dict[int, list[dict[str, int]]],
    corrected: dict[int, list[int]],
) -> None:
    """One message per family (siblings together) and guardian, through the outbox."""
    notices = [
        FamilyNotice(
            family_id,
            UNANNOUNCED_NOTICE,
            {"activity_id": activity_id, "day": day.isoformat(), "items": items},
            "unannounced:" + ",".join(f"{item['booking_id']}.{item['round']}" for item in items),
        )
        for family_id, items in told.items()
    ]
    rounds = await _unannounced_counts(session, [b for ids in corrected.values() for b in ids])
    notices += [
        FamilyNotice(
            family_id,
            CORRECTED_NOTICE,
            {"activity_id": activity_id, "day": day.isoformat(), "booking_ids": ids},
            "attendance_corrected:" + ",".join(f"{b}.{rounds.get(b, 0)}" for b in ids),
        )
        for family_id, ids in corrected.items()
    ]
    await notify_families(session, notices)


async def _staff_service(session: AsyncSession, actor: Actor) -> tuple[int | None, str | None]:
    """The acting staff member's service: its id and code (None, None: not a staff member)."""
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        return None, None
    row = (
        await session.execute(
            select(Service.id, Service.code)
            .join(StaffMember, StaffMember.service_id == Service.id)
            .where(StaffMember.id == actor.id)
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


async def _check_activity_staff(session: AsyncSession, actor: Actor, activity: Activity) -> None:
    """Refuse a staff member of another service than the activity's (the system may mark; an
    activity without a service may be marked by any staff member)."""
    if actor.kind is not ActorKind.STAFF or activity.service_id is None:
        return
    service_id, _code = await _staff_service(session, actor)
    if service_id != activity.service_id:
        raise AccessDenied("another service marks this activity")


async def _reads_health(session: AsyncSession, actor: Actor, activity: Activity) -> bool:
    """Whether the actor reads the children's health flags on the activity's sheet: staff of
    its service (of any service when it has none) and of the family-file service. The system
    (a command run without naming who reads) does not."""
    if actor.kind is not ActorKind.STAFF:
        return False
    service_id, code = await _staff_service(session, actor)
    if code == FAMILY_FILE_SERVICE:
        return True
    return activity.service_id is None or service_id == activity.service_id
