"""The daily lists (la liste du jour): each morning, each activity with children expected that
day gets its list by email at its service's address — the day's sheet (`store.attendance`) as a
PDF to print and a CSV — and, once it is sent, a short follow-up whenever the day changes.

- When: from `Schedule.at` (Europe/Paris) on the days `Schedule.weekdays` allows (every day
  the activity is open, by default); a day without a confirmed or pending booking sends
  nothing, a closed day neither. A worker started later in the day still sends it.
- Once: one row per activity and day (`DailyList`, unique), inserted in the transaction that
  queues the email into the outbox; the tick runs under the cluster lease `DAILY_LISTS`, and a
  second worker, a restart or `portail staff daily-list` finds the row and queues nothing.
- What it said: the row keeps a snapshot of the bookings listed (id, child, state, absence),
  taken again when the email is written (`mailed_list`), so that it is what the service read.
- Follow-ups: once the list's email is sent, each look (`queue_updates`, every few minutes)
  compares the day's bookings with the snapshot: a booking added, validated, cancelled (late or
  not), an absence reported or withdrawn. The changes go in one email, and the snapshot becomes
  the current one (a conditional update, so that two workers never mail the same change).
  Nothing when nothing changed; nothing once the day is over.
- Health: the list carries the children's allergy, PAI and diet *flags* (the service's staff
  read them on the day's sheet too); each mailed flag is a read of the family's data by the
  service's mailbox, in the access log (`record_mailed_health`), never in a log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.access_log import record_mailed_health
from store.actors import AccessDenied, Actor, NotFound
from store.attendance import SHEET_STATES, DaySheet, read_day_sheet
from store.clock import Clock, system_clock
from store.database import changed_rows, insert_for
from store.deadlines import PARIS
from store.leases import DAILY_LISTS, ClusterLeases
from store.models import (
    Absence,
    Activity,
    Booking,
    Child,
    DailyList,
    OpeningDay,
    OutboxItem,
    Service,
    StaffMember,
)
from store.models.enums import ActorKind, BookingState, DeliveryState
from store.staff_notices import notify_service, service_recipient

DAILY_LIST_MAIL = "daily_list"
"""The outbox kind of a daily list's email."""
DAILY_LIST_UPDATE_MAIL = "daily_list_update"
"""The outbox kind of a daily list's follow-up."""
WHY = "daily list"
"""Why a child's health flags were mailed, in the access log (then `:ACTIVITY:DAY`)."""

# Weekday names (English or French, 3 letters) to their numbers (Monday 0).
WEEKDAYS = {
    name: index
    for names in (
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"),
    )
    for index, name in enumerate(names)
}


class ScheduleError(ValueError):
    """A daily list setting that cannot be read."""


def parse_weekdays(text: str) -> frozenset[int]:
    """ "mon,tue,thu,fri" (or "lun,mar,jeu,ven") as weekday numbers; "" is every day."""
    days = set()
    for word in text.replace(";", ",").split(","):
        name = word.strip().lower()[:3]
        if not name:
            continue
        if name not in WEEKDAYS:
            raise ScheduleError(f"unknown day {word.strip()!r} (mon, tue, ... or lun, mar, ...)")
        days.add(WEEKDAYS[name])
    return frozenset(days)


@dataclass(frozen=True)
class Schedule:
    """When the lists go: from `at` (Paris) on `weekdays` (empty: every day an activity is
    open); the follow-ups are looked for every `followup_every`."""

    at: time = time(7, 0)
    weekdays: frozenset[int] = frozenset()
    followup_every: timedelta = timedelta(minutes=5)

    @classmethod
    def parse(cls, at: str, days: str, followup_minutes: int) -> Schedule:
        try:
            moment = time.fromisoformat(at.strip())
        except ValueError:
            raise ScheduleError(f"not a time of day (HH:MM): {at!r}") from None
        return cls(moment, parse_weekdays(days), timedelta(minutes=followup_minutes))

    def due(self, now: datetime) -> bool:
        """Whether today's lists are due at `now`."""
        local = now.astimezone(PARIS)
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        return local.time().replace(tzinfo=None) >= self.at


class Outcome(StrEnum):
    """What asking for a list did."""

    QUEUED = "queued"
    ALREADY = "already"  # queued before (by the tick, another worker, a command)
    NOBODY = "nobody"  # no child expected that day: nothing sent


@dataclass(frozen=True)
class QueuedList:
    activity_code: str
    activity_name: str
    day: date
    outcome: Outcome
    expected: int
    queued_at: datetime | None = None


@dataclass(frozen=True)
class ListPreview:
    """A list as it would go now (health hidden), and when it went if it did."""

    sheet: DaySheet
    queued_at: datetime | None


@dataclass(frozen=True)
class MailedList:
    """What a daily list's email says, read when it is written."""

    list_id: int
    service_name: str
    sheet: DaySheet


class ChangeKind(StrEnum):
    """What changed in a day since its list (or last follow-up) was sent."""

    ADDED = "added"
    CONFIRMED = "confirmed"  # a pending booking validated
    ABSENT = "absent"  # an absence reported
    BACK = "back"  # an absence withdrawn: expected again
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"
    REMOVED = "removed"  # refused, or back on the waiting list


@dataclass(frozen=True)
class Flags:
    """A child's health flags, without their details."""

    allergies: bool
    pai: bool
    diet: bool

    def __bool__(self) -> bool:
        return self.allergies or self.pai or self.diet


@dataclass(frozen=True)
class ChangeLine:
    """A change, for the follow-up: the child as "Lucas M.", when (Paris), and the health
    flags of a child added (None otherwise)."""

    child_name: str
    kind: ChangeKind
    at: datetime | None
    flags: Flags | None = None


@dataclass(frozen=True)
class ListUpdate:
    """A follow-up's facts."""

    list_id: int
    round: int
    activity_code: str
    activity_name: str
    day: date
    service_name: str
    changes: list[ChangeLine]


@dataclass
class TickReport:
    leased: bool = False
    queued: list[QueuedList] = field(default_factory=list)
    updates: int = 0


def list_key(activity_id: int, day: date) -> str:
    """The outbox dedup key of a list's email (its follow-ups: `…:update:N`)."""
    return f"daily_list:{activity_id}:{day.isoformat()}"


def short_name(first_name: str, last_name: str) -> str:
    """ "Lucas M."."""
    return f"{first_name} {last_name[:1]}." if last_name else first_name


class DailyListService:
    """Queue the daily lists and their follow-ups; the facts their emails say."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = system_clock,
        schedule: Schedule | None = None,
    ):
        self._sessions = sessions
        self._clock = clock
        self.schedule = schedule or Schedule()
        self._leases = ClusterLeases(sessions)

    def today(self) -> date:
        return self._clock().astimezone(PARIS).date()

    async def tick(self, owner: str, hold: timedelta, *, updates: bool = True) -> TickReport:
        """Under the cluster lease: queue today's lists when due, then (with `updates`) the
        follow-ups. A worker refused the lease does nothing."""
        report = TickReport()
        if not await self._leases.take(DAILY_LISTS, owner, self._clock(), hold):
            return report
        report.leased = True
        report.queued = await self.queue_due()
        if updates:
            report.updates = await self.queue_updates()
        return report

    async def queue_due(self) -> list[QueuedList]:
        """Queue today's lists not queued yet, if their time has come."""
        now = self._clock()
        if not self.schedule.due(now):
            return []
        day = now.astimezone(PARIS).date()
        async with self._sessions() as session:
            activity_ids = list(
                await session.scalars(
                    _expected_activities(day)
                    .outerjoin(
                        DailyList,
                        (DailyList.activity_id == Activity.id) & (DailyList.day == day),
                    )
                    .where(DailyList.id.is_(None))
                )
            )
        queued = [await self._queue(activity_id, day, now) for activity_id in activity_ids]
        return [item for item in queued if item.outcome is Outcome.QUEUED]

    async def queue(self, actor: Actor, activity_code: str | None, day: date) -> list[QueuedList]:
        """Queue the lists of `day` now (`portail staff daily-list`): the activity's, or every
        one the actor may send with children expected that day. A list is queued once: asked
        again, it says when it went."""
        activity_ids = await self._activities_for(actor, activity_code, day)
        now = self._clock()
        return [await self._queue(activity_id, day, now) for activity_id in activity_ids]

    async def preview(
        self, actor: Actor, activity_code: str | None, day: date
    ) -> list[ListPreview]:
        """The lists of `day` as they would go now, without health flags, queuing nothing."""
        activity_ids = await self._activities_for(actor, activity_code, day)
        previews = []
        async with self._sessions() as session:
            for activity_id in activity_ids:
                activity = await session.get_one(Activity, activity_id)
                sheet, _families = await read_day_sheet(session, activity, day, health=False)
                queued_at = await session.scalar(
                    select(DailyList.queued_at).where(
                        DailyList.activity_id == activity_id, DailyList.day == day
                    )
                )
                previews.append(ListPreview(sheet, queued_at))
        return previews

    async def _activities_for(
        self, actor: Actor, activity_code: str | None, day: date
    ) -> list[int]:
        """The activities a command names: the one named (refused to staff of another
        service), or those with children expected that day (a staff member's service's)."""
        actor.check_staff()
        async with self._sessions() as session:
            service_id = await _staff_service_id(session, actor)
            if activity_code is not None:
                activity = await session.scalar(
                    select(Activity).where(Activity.code == activity_code)
                )
                if activity is None:
                    raise NotFound("unknown activity")
                if (
                    actor.kind is ActorKind.STAFF
                    and activity.service_id is not None
                    and activity.service_id != service_id
                ):
                    raise AccessDenied("another service's activity")
                return [activity.id]
            query = _expected_activities(day)
            if actor.kind is ActorKind.STAFF:
                query = query.where(
                    (Activity.service_id == service_id) | Activity.service_id.is_(None)
                )
            return list(await session.scalars(query))

    async def _queue(self, activity_id: int, day: date, now: datetime) -> QueuedList:
        """Insert the list's row and queue its email, in one transaction; or say it went."""
        async with self._sessions.begin() as session:
            activity = await session.get_one(Activity, activity_id)
            snapshot = await _snapshot(session, activity_id, day)
            if not snapshot:
                return QueuedList(activity.code, activity.name, day, Outcome.NOBODY, 0)
            insert = insert_for(session.get_bind().dialect.name)
            list_id = await session.scalar(
                insert(DailyList)
                .values(
                    activity_id=activity_id,
                    day=day,
                    queued_at=now,
                    snapshot=snapshot,
                    updates=0,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=[DailyList.activity_id, DailyList.day])
                .returning(DailyList.id)
            )
            if list_id is None:
                row = (
                    await session.execute(
                        select(DailyList.queued_at, DailyList.snapshot).where(
                            DailyList.activity_id == activity_id, DailyList.day == day
                        )
                    )
                ).one()
                return QueuedList(
                    activity.code, activity.name, day, Outcome.ALREADY, len(row[1]), row[0]
                )
            await notify_service(
                session,
                await service_recipient(session, service_id=activity.service_id),
                DAILY_LIST_MAIL,
                {"daily_list_id": list_id},
                list_key(activity_id, day),
            )
            return QueuedList(
                activity.code, activity.name, day, Outcome.QUEUED, len(snapshot), now
            )

    async def queue_updates(self) -> int:
        """Queue a follow-up for each of today's lists sent whose day changed since; how many."""
        now = self._clock()
        day = now.astimezone(PARIS).date()
        async with self._sessions() as session:
            lists = (
                await session.execute(
                    select(DailyList.id, DailyList.activity_id).where(DailyList.day == day)
                )
            ).all()
            if not lists:
                return 0
            keys = {list_key(activity_id, day): list_id for list_id, activity_id in lists}
            sent = set(
                await session.scalars(
                    select(OutboxItem.dedup_key).where(
                        OutboxItem.dedup_key.in_(keys), OutboxItem.state == DeliveryState.SENT
                    )
                )
            )
        # A list still in the outbox may yet be written anew: its follow-ups wait for it.
        count = 0
        for key in sorted(sent):
            count += await self._queue_update(keys[key], now)
        return count

    async def _queue_update(self, list_id: int, now: datetime) -> bool:
        async with self._sessions.begin() as session:
            row = await session.get_one(DailyList, list_id)
            current = await _snapshot(session, row.activity_id, row.day)
            changes = _diff(row.snapshot, current)
            if not changes:
                return False
            details = await _change_details(session, changes)
            round_ = row.updates + 1
            moved = await changed_rows(
                session,
                update(DailyList)
                .where(DailyList.id == list_id, DailyList.updates == row.updates)
                .values(snapshot=current, updates=round_, updated_at=now)
                .execution_options(synchronize_session=False),
            )
            if moved != 1:
                return False  # another worker mailed these changes
            service_id = await session.scalar(
                select(Activity.service_id).where(Activity.id == row.activity_id)
            )
            return await notify_service(
                session,
                await service_recipient(session, service_id=service_id),
                DAILY_LIST_UPDATE_MAIL,
                {"daily_list_id": list_id, "round": round_, "changes": details},
                f"{list_key(row.activity_id, row.day)}:update:{round_}",
            )

    # --- What the emails say ----------------------------------------------------------------

    async def mailed_list(self, list_id: int) -> MailedList | None:
        """The list as its email says it now (health flags included), its snapshot taken
        again so that follow-ups start from what was mailed, and the mailbox's read of each
        child's flags in the access log. None: the list no longer exists."""
        async with self._sessions.begin() as session:
            row = await session.get(DailyList, list_id, with_for_update=True)
            if row is None:
                return None
            activity = await session.get_one(Activity, row.activity_id)
            if row.updates == 0:
                # Taken before the sheet: a change between the two is mailed again, not lost.
                row.snapshot = await _snapshot(session, activity.id, row.day)
            sheet, families = await read_day_sheet(session, activity, row.day, health=True)
            service_name = await _service_name(session, activity.service_id)
            why = f"{WHY}:{activity.code}:{row.day.isoformat()}"
            for entry in sheet.entries:
                if entry.allergies or entry.pai or entry.diet:
                    await record_mailed_health(
                        session,
                        families[entry.child_id],
                        entry.child_id,
                        why,
                        service_name=service_name,
                    )
            return MailedList(row.id, service_name, sheet)

    async def list_update(
        self, list_id: int, round_: int, changes: Sequence[dict[str, Any]]
    ) -> ListUpdate | None:
        """A follow-up's facts: the children by short name, in the order the changes came;
        the flags of a child added (a mailed read, in the access log)."""
        async with self._sessions.begin() as session:
            row = await session.get(DailyList, list_id)
            if row is None:
                return None
            activity = await session.get_one(Activity, row.activity_id)
            service_name = await _service_name(session, activity.service_id)
            ids = [int(change["booking"]) for change in changes]
            children = {
                booking_id: child
                for booking_id, child in await session.execute(
                    select(Booking.id, Child)
                    .join(Child, Child.id == Booking.child_id)
                    .where(Booking.id.in_(ids))
                )
            }
            why = f"{WHY}:{activity.code}:{row.day.isoformat()}"
            lines = []
            for change in changes:
                child = children.get(int(change["booking"]))
                if child is None:
                    continue  # the family was erased since
                kind = ChangeKind(change["kind"])
                flags = None
                if kind is ChangeKind.ADDED:
                    flags = Flags(bool(child.allergies), child.pai, bool(child.diet))
                    if flags:
                        await record_mailed_health(
                            session, child.family_id, child.id, why, service_name=service_name
                        )
                at = datetime.fromisoformat(change["at"]) if change.get("at") else None
                lines.append(
                    ChangeLine(short_name(child.first_name, child.last_name), kind, at, flags)
                )
            return ListUpdate(
                row.id,
                round_,
                activity.code,
                activity.name,
                row.day,
                service_name,
                lines,
            )


def _expected_activities(day: date) -> Any:
    """The ids of the activities open on `day` with children expected."""
    return (
        select(Activity.id)
        .join(OpeningDay, (OpeningDay.activity_id == Activity.id) & (OpeningDay.day == day))
        .where(
            OpeningDay.closed.is_(False),
            Activity.id.in_(
                select(Booking.activity_id).where(
                    Booking.day == day, Booking.state.in_(SHEET_STATES)
                )
            ),
        )
        .order_by(Activity.code)
    )


async def _snapshot(session: AsyncSession, activity_id: int, day: date) -> dict[str, Any]:
    """The bookings a list of the day shows: id (as text) → child, state, absence."""
    rows = await session.execute(
        select(Booking.id, Booking.child_id, Booking.state, Booking.absence_id).where(
            Booking.activity_id == activity_id,
            Booking.day == day,
            Booking.state.in_(SHEET_STATES),
        )
    )
    return {
        str(booking_id): {"child": child_id, "state": state.value, "absence": absence_id}
        for booking_id, child_id, state, absence_id in rows
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[int, ChangeKind | None]]:
    """What changed, booking by booking (None: left the list; why is read from the booking)."""
    changes: list[tuple[int, ChangeKind | None]] = []
    for key in before.keys() - after.keys():
        changes.append((int(key), None))
    for key in after.keys() - before.keys():
        changes.append((int(key), ChangeKind.ADDED))
    for key in before.keys() & after.keys():
        was, now = before[key], after[key]
        if now["absence"] is not None and now["absence"] != was["absence"]:
            changes.append((int(key), ChangeKind.ABSENT))
        elif now["absence"] is None and was["absence"] is not None:
            changes.append((int(key), ChangeKind.BACK))
        if was["state"] == BookingState.PENDING.value and now["state"] != was["state"]:
            changes.append((int(key), ChangeKind.CONFIRMED))
    return changes


async def _change_details(
    session: AsyncSession, changes: list[tuple[int, ChangeKind | None]]
) -> list[dict[str, Any]]:
    """The changes as the follow-up's payload (ids, kinds and moments: no names), in the
    order they happened."""
    ids = [booking_id for booking_id, _ in changes]
    rows = {
        booking_id: (state, updated_at, absence_at)
        for booking_id, state, updated_at, absence_at in await session.execute(
            select(Booking.id, Booking.state, Booking.updated_at, Absence.created_at)
            .outerjoin(Absence, Absence.id == Booking.absence_id)
            .where(Booking.id.in_(ids))
        )
    }
    details = []
    for booking_id, kind in changes:
        if booking_id not in rows:
            continue
        state, updated_at, absence_at = rows[booking_id]
        if kind is None:
            kind = {
                BookingState.CANCELLED: ChangeKind.CANCELLED,
                BookingState.LATE_CANCELLED: ChangeKind.LATE_CANCELLED,
            }.get(state, ChangeKind.REMOVED)
        at = absence_at if kind is ChangeKind.ABSENT and absence_at else updated_at
        details.append({"booking": booking_id, "kind": kind.value, "at": at.isoformat()})
    details.sort(key=lambda detail: (detail["at"], detail["booking"]))
    return details


async def _staff_service_id(session: AsyncSession, actor: Actor) -> int | None:
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        return None
    return await session.scalar(select(StaffMember.service_id).where(StaffMember.id == actor.id))


async def _service_name(session: AsyncSession, service_id: int | None) -> str:
    """The service whose mailbox gets the list (an activity without one: the fallback)."""
    name = None
    if service_id is not None:
        name = await session.scalar(select(Service.name).where(Service.id == service_id))
    return name or "?"
