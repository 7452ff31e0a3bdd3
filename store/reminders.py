"""Deadline reminders: before an activity's period closes, the families that booked nothing of
it are reminded, and may book "as last month" in one tap.

A period about to close is:
- for a holiday booking window (`rules.windows`), the window's days; it closes when the window
  closes, and opens when it opens (a reminder at the opening too, `on_opening`);
- for every other rule, a calendar month (the days of the month not in a window). Under a
  "20th of the month" rule the whole month closes at one moment; under a per-day rule (N days
  before, the weekday before, the week before) each day has its own deadline, and the month's
  deadline is its first open day's: after it, the month can no longer be booked whole. A month
  rather than an ISO week: one reminder a month per activity, not one a week (a canteen, an
  after-school care and a Wednesday centre would make three a week), and "as last month" reads
  as parents plan (the seeds' monthly planning, the monthly invoice).

What is due lives in the store: one `ReminderWave` per activity, period and kind (`opening`,
`d3` three days before the deadline, `d1` the eve...), planned idempotently (insert if absent)
by every tick, sent once (its row locked and marked sent in the transaction that queues its
messages). A wave due inside quiet hours is due at their end: postponed, never dropped. When
several waves of a period are due at once (the scheduler was down, or just deployed), the latest
alone is sent, the others marked skipped. The tick runs under the cluster lease `REMINDERS`, so
that any number of workers tick once; a second tick, a second worker or a restart finds the
wave sent, and every message has its outbox `dedup_key` `reminder:<wave>:g:<guardian>`.

A family is reminded for a wave when one of its children is enrolled in the activity with at
least one open day of the period on their enrolment's weekdays from today on, and has no
active booking (pending, confirmed, waitlisted) in the period; siblings in one message (one per
guardian with a linked chat). A family that said "not needed" for the period, and a guardian
who muted reminders for the activity, get none. What the message says is read again when it
is sent: a child booked meanwhile is left out, and a family all booked gets nothing.
"""

from __future__ import annotations

import calendar as month_grid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.bookings import ACTIVE_STATES, BookingOutcome, BookingService, Outcome
from store.calendar import rules_of, working_calendar
from store.clock import Clock, system_clock
from store.database import insert_for
from store.deadlines import PARIS, WorkingCalendar, deadline_for
from store.idempotency import step_key
from store.leases import REMINDERS, ClusterLeases
from store.models import (
    Activity,
    Booking,
    Child,
    Enrollment,
    Guardian,
    OpeningDay,
    OutboxItem,
    ReminderMute,
    ReminderSkip,
    ReminderWave,
)
from store.models.enums import ActorKind, Channel, DeliveryState
from store.outbox import DUE_AT_ONCE
from store.policies import ActivityRules, WindowOnly

REMINDER_KIND = "reminder"
OPENING = "opening"
MONTH = "month"
WINDOW = "window"
PLANNED = "planned"
SENT = "sent"
SKIPPED = "skipped"
# How far ahead periods are planned (their first day from today on).
HORIZON = timedelta(days=70)
# Rows per statement when a wave reaches thousands of families.
CHUNK = 500


class InvalidReminderSettings(StoreError):
    """Reminder settings that cannot be read."""


@dataclass(frozen=True)
class ReminderSettings:
    """When to remind: `days_before` a deadline (3 and 1: three days before and the eve, at
    the deadline's time), at a window's opening (`on_opening`), never inside quiet hours
    (Paris time, `quiet_start` to `quiet_end`, across midnight when start > end)."""

    days_before: tuple[int, ...] = (3, 1)
    on_opening: bool = True
    quiet_start: time = time(20, 0)
    quiet_end: time = time(8, 0)

    @classmethod
    def parse(cls, days_before: str, quiet_hours: str, on_opening: bool) -> ReminderSettings:
        """From "3,1" and "20:00-08:00" (an empty quiet hours: none)."""
        try:
            numbers = {int(part) for part in days_before.split(",") if part.strip()}
            days = tuple(sorted(numbers, reverse=True))
        except ValueError:
            raise InvalidReminderSettings(f"days before: {days_before!r}") from None
        if any(day < 1 or day > 60 for day in days):
            raise InvalidReminderSettings("days before a deadline are 1 to 60")
        if not quiet_hours.strip():
            return cls(days, on_opening, time(0, 0), time(0, 0))
        try:
            start, end = (time.fromisoformat(part.strip()) for part in quiet_hours.split("-"))
        except ValueError:
            raise InvalidReminderSettings(f"quiet hours HH:MM-HH:MM: {quiet_hours!r}") from None
        return cls(days, on_opening, start, end)

    def is_quiet(self, moment: datetime) -> bool:
        """Whether `moment` falls inside quiet hours (Paris wall clock)."""
        if self.quiet_start == self.quiet_end:
            return False
        local = moment.astimezone(PARIS).time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end

    def out_of_quiet(self, moment: datetime) -> datetime:
        """`moment`, or the end of the quiet hours it falls in."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(PARIS)
        day = local.date()
        if local.time() >= self.quiet_end:
            day += timedelta(days=1)
        return datetime.combine(day, self.quiet_end, tzinfo=PARIS).astimezone(UTC)


class ReminderClosed(StoreError):
    """The reminder's period closed (its deadline passed): its buttons change nothing now."""

    def __init__(self, deadline: datetime) -> None:
        super().__init__(f"the reminder's period closed at {deadline.isoformat()}")
        self.deadline = deadline


@dataclass(frozen=True)
class Period:
    """Days of an activity that close together: a month or a window."""

    kind: str
    start: date
    end: date
    deadline: datetime
    opens: datetime | None = None


@dataclass(frozen=True)
class ReminderView:
    """A reminder as a parent reads it: what closes, when, and for which children."""

    wave_id: int
    activity_id: int
    activity_name: str
    period_kind: str
    period_start: date
    period_end: date
    deadline: datetime
    opening: bool
    children: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class RecapChild:
    """One child's days "as last month": bookable ones (with their price) and refused ones."""

    child_id: int
    name: str
    days: tuple[BookingOutcome, ...]
    refused: tuple[BookingOutcome, ...] = ()
    # Days of the period already booked for the child (by the parent, or "as last month").
    already: int = 0


@dataclass(frozen=True)
class Recap:
    """ "As last month" for a reminder: each child's days and the total."""

    wave_id: int
    activity_id: int
    activity_name: str
    period_kind: str
    period_start: date
    period_end: date
    children: tuple[RecapChild, ...]

    @property
    def total_cents(self) -> int:
        return sum(day.price_cents for child in self.children for day in child.days)

    @property
    def day_count(self) -> int:
        return sum(len(child.days) for child in self.children)


@dataclass(frozen=True)
class Booked:
    """What confirming "as last month" gave, child by child."""

    outcomes: tuple[BookingOutcome, ...]
    replayed: bool = False

    @property
    def booked(self) -> int:
        return sum(outcome.outcome is not Outcome.REFUSED for outcome in self.outcomes)


@dataclass(frozen=True)
class MuteLine:
    activity_id: int
    name: str
    muted: bool


@dataclass
class TickReport:
    """What a tick did: waves planned, sent, skipped, and messages queued."""

    leased: bool = False
    planned: int = 0
    sent: list[int] = field(default_factory=list)
    skipped: int = 0
    queued: int = 0


def reminder_key(wave_id: int, guardian_id: int) -> str:
    """The outbox `dedup_key` of a wave's message to a guardian."""
    return f"reminder:{wave_id}:g:{guardian_id}"


def _month_end(day: date) -> date:
    return day.replace(day=month_grid.monthrange(day.year, day.month)[1])


def _previous_month(start: date) -> tuple[date, date]:
    end = start.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def periods_of(
    rules: ActivityRules, open_days: Sequence[date], closed: Iterable[date]
) -> list[Period]:
    """The periods of an activity among its open days (in order): its windows, then months."""
    found: list[Period] = []
    for window in rules.windows:
        if any(window.covers(day) for day in open_days):
            found.append(Period(WINDOW, window.start, window.end, window.closes, window.opens))
    if isinstance(rules.booking, WindowOnly):
        return found
    firsts: dict[date, date] = {}
    for day in open_days:
        if any(window.covers(day) for window in rules.windows):
            continue
        firsts.setdefault(day.replace(day=1), day)
    calendar = WorkingCalendar(closed_days=frozenset(closed))
    for month, first in firsts.items():
        deadline = deadline_for(rules.booking, first, calendar)
        if deadline is not None:
            found.append(Period(MONTH, month, _month_end(month), deadline))
    return found


def _aware(moment: datetime) -> datetime:
    """A moment read back from SQLite may be naive UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ReminderService:
    """Plan and send the reminders (`tick`); what a parent does with one."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = system_clock,
        settings: ReminderSettings | None = None,
    ):
        self._sessions = sessions
        self._clock = clock
        self.settings = settings or ReminderSettings()
        self._bookings = BookingService(sessions, clock)
        self._leases = ClusterLeases(sessions)

    # --- The scheduler -------------------------------------------------------------------

    async def tick(self, owner: str, hold: timedelta = timedelta(minutes=1)) -> TickReport:
        """Under the cluster lease: plan the coming waves, send the due ones (not inside
        quiet hours). A worker refused the lease does nothing."""
        now = self._clock()
        report = TickReport()
        if not await self._leases.take(REMINDERS, owner, now, hold):
            return report
        report.leased = True
        report.planned = await self.plan(now)
        if self.settings.is_quiet(now):
            return report
        await self._send_due(now, report)
        return report

    async def plan(self, now: datetime) -> int:
        """Insert the waves of the periods to come that are not planned yet; how many."""
        today = now.astimezone(PARIS).date()
        rows: list[dict[str, Any]] = []
        async with self._sessions() as session:
            activities = list(await session.execute(select(Activity.id, Activity.rules)))
            for activity_id, rules_json in activities:
                rules = rules_of(rules_json)
                rows += await self._waves_of(session, activity_id, rules, now, today)
        if not rows:
            return 0
        planned = 0
        async with self._sessions.begin() as session:
            insert = insert_for(session.get_bind().dialect.name)
            for start in range(0, len(rows), CHUNK):
                result = await session.execute(
                    insert(ReminderWave)
                    .values(rows[start : start + CHUNK])
                    .on_conflict_do_nothing(
                        index_elements=[
                            ReminderWave.activity_id,
                            ReminderWave.period_start,
                            ReminderWave.kind,
                        ]
                    )
                    .returning(ReminderWave.id)
                )
                planned += len(list(result))
        return planned

    async def _waves_of(
        self,
        session: AsyncSession,
        activity_id: int,
        rules: ActivityRules,
        now: datetime,
        today: date,
    ) -> list[dict[str, Any]]:
        last = today + HORIZON
        days = list(
            await session.execute(
                select(OpeningDay.day, OpeningDay.closed)
                .where(
                    OpeningDay.activity_id == activity_id,
                    OpeningDay.day > today,
                    OpeningDay.day <= last,
                )
                .order_by(OpeningDay.day)
            )
        )
        open_days = [day for day, closed in days if not closed]
        if not open_days:
            return []
        calendar = await working_calendar(session, activity_id, today, last)
        rows = []
        for period in periods_of(rules, open_days, calendar.closed_days):
            if period.deadline <= now:
                continue
            due: dict[str, datetime] = {
                f"d{n}": period.deadline - timedelta(days=n) for n in self.settings.days_before
            }
            if period.opens is not None and self.settings.on_opening:
                due[OPENING] = period.opens
            for kind, moment in due.items():
                moment = self.settings.out_of_quiet(moment)
                if moment >= period.deadline:
                    continue
                rows.append(
                    {
                        "activity_id": activity_id,
                        "period_start": period.start,
                        "period_end": period.end,
                        "period_kind": period.kind,
                        "kind": kind,
                        "deadline_at": period.deadline,
                        "due_at": moment,
                        "state": PLANNED,
                        "counts": {},
                    }
                )
        return rows

    async def _send_due(self, now: datetime, report: TickReport) -> None:
        async with self._sessions() as session:
            due = list(
                await session.execute(
                    select(
                        ReminderWave.id,
                        ReminderWave.activity_id,
                        ReminderWave.period_start,
                        ReminderWave.due_at,
                        ReminderWave.deadline_at,
                    )
                    .where(ReminderWave.state == PLANNED, ReminderWave.due_at <= now)
                    .order_by(ReminderWave.due_at, ReminderWave.id)
                )
            )
        latest: dict[tuple[int, date], int] = {}
        skipped: list[int] = []
        for wave_id, activity_id, period_start, _due, deadline in due:
            if _aware(deadline) <= now:
                skipped.append(wave_id)
                continue
            earlier = latest.get((activity_id, period_start))
            if earlier is not None:
                skipped.append(earlier)
            latest[(activity_id, period_start)] = wave_id
        if skipped:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(ReminderWave)
                    .where(ReminderWave.id.in_(skipped), ReminderWave.state == PLANNED)
                    .values(state=SKIPPED)
                    .execution_options(synchronize_session=False)
                )
            report.skipped += len(skipped)
        for wave_id in latest.values():
            queued = await self._send_wave(wave_id, now)
            if queued is not None:
                report.sent.append(wave_id)
                report.queued += queued

    async def _send_wave(self, wave_id: int, now: datetime) -> int | None:
        """Queue a wave's messages and mark it sent, in one transaction; None when another
        tick sent it already."""
        async with self._sessions.begin() as session:
            wave = await session.get(ReminderWave, wave_id, with_for_update=True)
            if wave is None or wave.state != PLANNED:
                return None
            today = now.astimezone(PARIS).date()
            families = await _families_to_remind(session, wave, today)
            queued = await _queue(session, wave, families)
            wave.state = SENT
            wave.sent_at = now
            wave.counts = {"families": len(families), "queued": queued}
            return queued

    # --- What a parent reads and does ------------------------------------------------------

    async def for_delivery(
        self, wave_id: int, guardian_id: int, child_ids: Sequence[int]
    ) -> ReminderView | None:
        """A wave's message as it is sent now: None (nothing sent) when the deadline passed,
        the family said "not needed", the guardian muted the activity, or every child is
        booked meanwhile."""
        now = self._clock()
        async with self._sessions() as session:
            wave = await session.get(ReminderWave, wave_id)
            guardian = await session.get(Guardian, guardian_id)
            if wave is None or guardian is None or _aware(wave.deadline_at) <= now:
                return None
            if await session.get(ReminderMute, (guardian_id, wave.activity_id)) is not None:
                return None
            skip = await session.get(
                ReminderSkip, (guardian.family_id, wave.activity_id, wave.period_start)
            )
            if skip is not None:
                return None
            today = now.astimezone(PARIS).date()
            concerned = await _families_to_remind(session, wave, today, [guardian.family_id])
            names = dict(concerned.get(guardian.family_id, []))
            children = tuple((child, names[child]) for child in child_ids if child in names)
            if not children:
                return None
            activity = await session.get(Activity, wave.activity_id)
            assert activity is not None
            return _view(wave, activity.name, children)

    async def reminder(self, actor: Actor, wave_id: int) -> ReminderView:
        """A wave as the actor's family sees it (its children concerned by the activity);
        `ReminderClosed` once its deadline passed."""
        family_id = _family_of(actor)
        async with self._sessions() as session:
            wave, activity = await _wave_and_activity(session, wave_id)
            children = await _enrolled_children(session, wave, family_id)
            if not children:
                raise AccessDenied("not this family's reminder")
            self._still_open(wave)
            return _view(wave, activity.name, tuple(children))

    def _still_open(self, wave: ReminderWave) -> None:
        """Refuse a tap on a reminder whose period closed: what it offered is over."""
        deadline = _aware(wave.deadline_at)
        if deadline <= self._clock():
            raise ReminderClosed(deadline)

    async def recap(self, actor: Actor, wave_id: int) -> Recap:
        """ "As last month": each child's weekdays booked in the previous period, on the open
        days of the reminder's period they may book (nothing is written: a dry run)."""
        wave, activity, plans = await self._plans(actor, wave_id)
        children = []
        for child_id, name, days, already in plans:
            outcomes = (
                await self._bookings.book(actor, [child_id], wave.activity_id, days, dry_run=True)
                if days
                else []
            )
            children.append(
                RecapChild(
                    child_id,
                    name,
                    tuple(o for o in outcomes if o.outcome is not Outcome.REFUSED),
                    tuple(o for o in outcomes if o.outcome is Outcome.REFUSED),
                    already,
                )
            )
        return Recap(
            wave.id,
            activity.id,
            activity.name,
            wave.period_kind,
            wave.period_start,
            wave.period_end,
            tuple(children),
        )

    async def book_as_last(self, actor: Actor, wave_id: int, key: str) -> Booked:
        """Book what the recap showed, through the bookings service (its rules, deadlines and
        idempotency: the same `key` books once)."""
        wave, _activity, plans = await self._plans(actor, wave_id)
        outcomes: list[BookingOutcome] = []
        replayed = False
        for child_id, _name, days, _already in plans:
            # Called with no day too: a confirm tapped again answers what it first booked.
            booked = await self._bookings.book(
                actor, [child_id], wave.activity_id, days, key=step_key(key, f"c{child_id}")
            )
            replayed = replayed or any(outcome.replayed for outcome in booked)
            outcomes += booked
        return Booked(tuple(outcomes), replayed)

    async def _plans(
        self, actor: Actor, wave_id: int
    ) -> tuple[ReminderWave, Activity, list[tuple[int, str, list[date], int]]]:
        """Each child's days "as last month" still to book, and how many days of the period
        are booked already."""
        family_id = _family_of(actor)
        today = self._clock().astimezone(PARIS).date()
        async with self._sessions() as session:
            wave, activity = await _wave_and_activity(session, wave_id)
            children = await _enrolled_children(session, wave, family_id)
            if not children:
                raise AccessDenied("not this family's reminder")
            self._still_open(wave)
            first, last = await _previous_period(wave, rules_of(activity.rules))
            ids = [child_id for child_id, _ in children]
            before = await session.execute(
                select(Booking.child_id, Booking.day).where(
                    Booking.activity_id == wave.activity_id,
                    Booking.child_id.in_(ids),
                    Booking.day >= first,
                    Booking.day <= last,
                    Booking.state.in_(ACTIVE_STATES),
                )
            )
            weekdays: dict[int, set[int]] = defaultdict(set)
            for child_id, day in before:
                weekdays[child_id].add(day.weekday())
            booked = await session.execute(
                select(Booking.child_id, Booking.day).where(
                    Booking.activity_id == wave.activity_id,
                    Booking.child_id.in_(ids),
                    Booking.day >= wave.period_start,
                    Booking.day <= wave.period_end,
                    Booking.state.in_(ACTIVE_STATES),
                )
            )
            taken = {(child_id, day) for child_id, day in booked}
            open_days = list(
                await session.scalars(
                    select(OpeningDay.day)
                    .where(
                        OpeningDay.activity_id == wave.activity_id,
                        OpeningDay.day >= max(wave.period_start, today),
                        OpeningDay.day <= wave.period_end,
                        OpeningDay.closed.is_(False),
                    )
                    .order_by(OpeningDay.day)
                )
            )
            enrolments = await _enrolments(session, wave.activity_id, ids, wave)
        rules = rules_of(activity.rules)
        in_window = wave.period_kind == WINDOW
        plans = []
        for child_id, name in children:
            days = [
                day
                for day in open_days
                if day.weekday() in weekdays[child_id]
                and (child_id, day) not in taken
                and _enrolled_on(enrolments.get(child_id, []), day)
                and (in_window or not any(window.covers(day) for window in rules.windows))
            ]
            already = sum(1 for taken_child, _day in taken if taken_child == child_id)
            plans.append((child_id, name, days, already))
        return wave, activity, plans

    async def skip_period(self, actor: Actor, wave_id: int) -> None:
        """ "Not needed this month": no more reminders of the wave's period for the family."""
        family_id = _family_of(actor)
        async with self._sessions.begin() as session:
            wave, _activity = await _wave_and_activity(session, wave_id)
            if not await _enrolled_children(session, wave, family_id):
                raise AccessDenied("not this family's reminder")
            self._still_open(wave)
            key = (family_id, wave.activity_id, wave.period_start)
            if await session.get(ReminderSkip, key) is None:
                session.add(
                    ReminderSkip(
                        family_id=family_id,
                        activity_id=wave.activity_id,
                        period_start=wave.period_start,
                        skipped_at=self._clock(),
                    )
                )
                record(session, actor, "skip_reminders", "reminder_wave", wave.id)

    async def mutes(self, actor: Actor) -> list[MuteLine]:
        """The activities the family's children are enrolled in, and whether the guardian
        muted their reminders."""
        guardian_id, family_id = _guardian_of(actor), _family_of(actor)
        today = self._clock().astimezone(PARIS).date()
        async with self._sessions() as session:
            rows = await session.execute(
                select(Activity.id, Activity.name, ReminderMute.guardian_id)
                .join(Enrollment, Enrollment.activity_id == Activity.id)
                .join(Child, Child.id == Enrollment.child_id)
                .outerjoin(
                    ReminderMute,
                    and_(
                        ReminderMute.activity_id == Activity.id,
                        ReminderMute.guardian_id == guardian_id,
                    ),
                )
                .where(Child.family_id == family_id, Enrollment.ends_on >= today)
                .distinct()
                .order_by(Activity.name, Activity.id)
            )
            return [MuteLine(a, name, muted is not None) for a, name, muted in rows]

    async def set_muted(self, actor: Actor, activity_id: int, muted: bool) -> bool:
        """Turn an activity's reminders off (or on) for the guardian; the new setting."""
        guardian_id = _guardian_of(actor)
        if activity_id not in {line.activity_id for line in await self.mutes(actor)}:
            raise NotFound("not an activity of the family")
        async with self._sessions.begin() as session:
            exists = await session.get(ReminderMute, (guardian_id, activity_id))
            if muted and exists is None:
                session.add(
                    ReminderMute(
                        guardian_id=guardian_id, activity_id=activity_id, muted_at=self._clock()
                    )
                )
            elif not muted and exists is not None:
                await session.execute(
                    delete(ReminderMute).where(
                        ReminderMute.guardian_id == guardian_id,
                        ReminderMute.activity_id == activity_id,
                    )
                )
            record(
                session,
                actor,
                "mute_reminders" if muted else "unmute_reminders",
                "activity",
                activity_id,
            )
        return muted


# --- In the caller's transaction -------------------------------------------------------------


def _family_of(actor: Actor) -> int:
    if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
        raise AccessDenied("a family's reminders")
    return actor.family_id


def _guardian_of(actor: Actor) -> int:
    if actor.kind is not ActorKind.GUARDIAN or actor.id is None:
        raise AccessDenied("a guardian's setting")
    return actor.id


def _view(wave: ReminderWave, name: str, children: tuple[tuple[int, str], ...]) -> ReminderView:
    return ReminderView(
        wave.id,
        wave.activity_id,
        name,
        wave.period_kind,
        wave.period_start,
        wave.period_end,
        _aware(wave.deadline_at),
        wave.kind == OPENING,
        children,
    )


async def _wave_and_activity(session: AsyncSession, wave_id: int) -> tuple[ReminderWave, Activity]:
    wave = await session.get(ReminderWave, wave_id)
    if wave is None:
        raise NotFound("unknown reminder")
    activity = await session.get(Activity, wave.activity_id)
    if activity is None:
        raise NotFound("unknown activity")
    return wave, activity


async def _previous_period(wave: ReminderWave, rules: ActivityRules) -> tuple[date, date]:
    """The period "last month" reads: the month before, or the window before this one."""
    if wave.period_kind == WINDOW:
        earlier = [w for w in rules.windows if w.end < wave.period_start]
        if earlier:
            window = max(earlier, key=lambda w: w.end)
            return window.start, window.end
    return _previous_month(wave.period_start)


_Enrolment = tuple[date, date, frozenset[int]]


async def _enrolments(
    session: AsyncSession, activity_id: int, child_ids: Sequence[int], wave: ReminderWave
) -> dict[int, list[_Enrolment]]:
    found: dict[int, list[_Enrolment]] = defaultdict(list)
    for start in range(0, len(child_ids), CHUNK):
        rows = await session.execute(
            select(
                Enrollment.child_id, Enrollment.starts_on, Enrollment.ends_on, Enrollment.weekdays
            ).where(
                Enrollment.activity_id == activity_id,
                Enrollment.child_id.in_(child_ids[start : start + CHUNK]),
                Enrollment.starts_on <= wave.period_end,
                Enrollment.ends_on >= wave.period_start,
            )
        )
        for child_id, first, last, weekdays in rows:
            found[child_id].append((first, last, frozenset(weekdays or ())))
    return found


def _enrolled_on(enrolments: list[_Enrolment], day: date) -> bool:
    return any(
        first <= day <= last and (not weekdays or day.weekday() in weekdays)
        for first, last, weekdays in enrolments
    )


async def _enrolled_children(
    session: AsyncSession, wave: ReminderWave, family_id: int
) -> list[tuple[int, str]]:
    """The family's children enrolled in the wave's activity over its period."""
    rows = await session.execute(
        select(Child.id, Child.first_name)
        .join(Enrollment, Enrollment.child_id == Child.id)
        .where(
            Child.family_id == family_id,
            Enrollment.activity_id == wave.activity_id,
            Enrollment.starts_on <= wave.period_end,
            Enrollment.ends_on >= wave.period_start,
        )
        .distinct()
        .order_by(Child.id)
    )
    return [(child_id, name) for child_id, name in rows]


async def _families_to_remind(
    session: AsyncSession,
    wave: ReminderWave,
    today: date,
    only: Sequence[int] | None = None,
) -> dict[int, list[tuple[int, str]]]:
    """{family: [(child, first name)]} of the children enrolled with an open day of the
    period left, none of it booked, of the families that did not say "not needed"."""
    rules = rules_of(
        await session.scalar(select(Activity.rules).where(Activity.id == wave.activity_id))
    )
    open_days = [
        day
        for day in await session.scalars(
            select(OpeningDay.day).where(
                OpeningDay.activity_id == wave.activity_id,
                OpeningDay.day >= max(wave.period_start, today),
                OpeningDay.day <= wave.period_end,
                OpeningDay.closed.is_(False),
            )
        )
        if wave.period_kind == WINDOW or not any(w.covers(day) for w in rules.windows)
    ]
    if not open_days:
        return {}
    query = (
        select(Child.id, Child.family_id, Child.first_name)
        .join(Enrollment, Enrollment.child_id == Child.id)
        .where(
            Enrollment.activity_id == wave.activity_id,
            Enrollment.starts_on <= wave.period_end,
            Enrollment.ends_on >= wave.period_start,
        )
        .distinct()
        .order_by(Child.family_id, Child.id)
    )
    if only is not None:
        query = query.where(Child.family_id.in_(only))
    children = list(await session.execute(query))
    ids = [child_id for child_id, _, _ in children]
    enrolments = await _enrolments(session, wave.activity_id, ids, wave)
    booked: set[int] = set()
    skipped: set[int] = set()
    families = sorted({family_id for _, family_id, _ in children})
    for start in range(0, len(ids), CHUNK):
        booked |= set(
            await session.scalars(
                select(Booking.child_id)
                .where(
                    Booking.activity_id == wave.activity_id,
                    Booking.child_id.in_(ids[start : start + CHUNK]),
                    Booking.day >= wave.period_start,
                    Booking.day <= wave.period_end,
                    Booking.state.in_(ACTIVE_STATES),
                )
                .distinct()
            )
        )
    for start in range(0, len(families), CHUNK):
        skipped |= set(
            await session.scalars(
                select(ReminderSkip.family_id).where(
                    ReminderSkip.activity_id == wave.activity_id,
                    ReminderSkip.period_start == wave.period_start,
                    ReminderSkip.family_id.in_(families[start : start + CHUNK]),
                )
            )
        )
    concerned: dict[int, list[tuple[int, str]]] = {}
    for child_id, family_id, name in children:
        if child_id in booked or family_id in skipped:
            continue
        if not any(_enrolled_on(enrolments.get(child_id, []), day) for day in open_days):
            continue
        concerned.setdefault(family_id, []).append((child_id, name))
    return concerned


async def _queue(
    session: AsyncSession, wave: ReminderWave, families: dict[int, list[tuple[int, str]]]
) -> int:
    """One outbox message per linked guardian of each family (private chats, not muted for
    the activity, not twice)."""
    wanted: dict[str, dict[str, Any]] = {}
    family_ids = sorted(families)
    for start in range(0, len(family_ids), CHUNK):
        rows = await session.execute(
            select(Guardian.id, Guardian.family_id, Guardian.telegram_chat_id)
            .outerjoin(
                ReminderMute,
                and_(
                    ReminderMute.guardian_id == Guardian.id,
                    ReminderMute.activity_id == wave.activity_id,
                ),
            )
            .where(
                Guardian.family_id.in_(family_ids[start : start + CHUNK]),
                Guardian.telegram_chat_id.is_not(None),
                ReminderMute.guardian_id.is_(None),
            )
            .order_by(Guardian.id)
        )
        for guardian_id, family_id, chat_id in rows:
            if chat_id is None or chat_id <= 0:
                continue
            wanted[reminder_key(wave.id, guardian_id)] = {
                "channel": Channel.TELEGRAM,
                "recipient": str(chat_id),
                "kind": REMINDER_KIND,
                "payload": {
                    "wave_id": wave.id,
                    "guardian_id": guardian_id,
                    "children": [child_id for child_id, _ in families[family_id]],
                },
                "dedup_key": reminder_key(wave.id, guardian_id),
                "state": DeliveryState.PENDING,
                "next_attempt_at": DUE_AT_ONCE,
            }
    keys = list(wanted)
    queued = 0
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        known = set(
            await session.scalars(
                select(OutboxItem.dedup_key).where(OutboxItem.dedup_key.in_(chunk))
            )
        )
        fresh = [wanted[key] for key in chunk if key not in known]
        if fresh:
            await session.execute(insert(OutboxItem), fresh)
            queued += len(fresh)
    return queued
