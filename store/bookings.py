"""Booking and cancelling days: the rules a parent's request goes through, in one place.

`book` takes several children (siblings) and several days in one call and answers one outcome
per child and day; nothing is trusted from the caller but the actor. A confirm's `key` makes
`book` and `cancel` happen once (`store.idempotency`): called again with it, they answer the
first outcome, flagged `replayed`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TypeGuard

from sqlalchemy import Delete, Update, case, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import deadlines
from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.calendar import (
    OpenDay,
    activity_and_price,
    activity_rules,
    calendar_and_days,
    working_calendar,
)
from store.capacity import give_back_places, take_places
from store.clock import Clock, system_clock
from store.database import insert_for
from store.family_records import missing_consents
from store.idempotency import decode, encode, run_once
from store.models import (
    Activity,
    AuditEntry,
    Booking,
    Child,
    Document,
    Enrollment,
    OpeningDay,
)
from store.models.booking import ACTIVE_STATES_SQL
from store.models.enums import BookingState, DocumentStatus
from store.outbox import notify_family
from store.policies import ActivityRules
from store.staff_notices import notify_bookings_to_validate

ACTIVE_STATES = (BookingState.PENDING, BookingState.CONFIRMED, BookingState.WAITLISTED)
# How many open days after a refused one are tried when suggesting the next bookable day.
NEXT_DAY_SEARCH_LIMIT = 60


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    PENDING = "pending"
    WAITLISTED = "waitlisted"
    REFUSED = "refused"


class Refusal(StrEnum):
    """Why a day could not be booked or cancelled."""

    PAST = "past"
    DEADLINE_PASSED = "deadline_passed"
    WINDOW_NOT_OPEN = "window_not_open"
    WINDOW_CLOSED = "window_closed"
    NO_WINDOW = "no_window"
    FROZEN = "frozen"
    FULL = "full"
    CLOSED = "closed"
    NOT_ENROLLED = "not_enrolled"
    NOT_ELIGIBLE = "not_eligible"
    DOCUMENT_MISSING = "document_missing"
    # The document was sent and awaits the service's validation: bookable once accepted.
    DOCUMENT_PENDING = "document_pending"
    # A consent the activity requires is refused or not answered (`store.family_records`).
    CONSENT_MISSING = "consent_missing"
    ALREADY_BOOKED = "already_booked"
    NO_PRICE = "no_price"
    NOT_CANCELLABLE = "not_cancellable"


class ReasonRequired(StoreError):
    """Refusing a booking needs a reason the family can read."""


@dataclass(frozen=True)
class BookingOutcome:
    """What happened to one child on one day."""

    child_id: int
    day: date
    outcome: Outcome
    refusal: Refusal | None = None
    price_cents: int = 0
    surcharge_cents: int = 0
    booking_id: int | None = None
    deadline: datetime | None = None
    opens_at: datetime | None = None
    missing_document: str | None = None
    missing_consent: str | None = None
    next_bookable_day: date | None = None
    # Refused as already booked: how the child's booking of that day stands.
    booked_as: Outcome | None = None
    # The outcome recorded when the same confirm was carried out first.
    replayed: bool = False


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"
    REFUSED = "refused"


@dataclass(frozen=True)
class CancellationResult:
    """What happened to one booking asked to be cancelled."""

    booking_id: int
    day: date
    outcome: CancelOutcome
    fee_cents: int = 0
    refusal: Refusal | None = None
    deadline: datetime | None = None
    promoted_booking_id: int | None = None
    child_id: int | None = None
    # The result recorded when the same confirm was carried out first.
    replayed: bool = False


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def eligible(activity: Activity, child: Child, day: date) -> bool:
    """Whether the child's age and school level fit the activity on that day."""
    age = age_on(child.birth_date, day)
    if activity.min_age is not None and age < activity.min_age:
        return False
    if activity.max_age is not None and age > activity.max_age:
        return False
    return not activity.levels or child.school_level in activity.levels


class BookingService:
    """Book, cancel and validate days of activities."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    async def book(
        self,
        actor: Actor,
        child_ids: Sequence[int],
        activity_id: int,
        days: Iterable[date],
        *,
        dry_run: bool = False,
        key: str | None = None,
    ) -> list[BookingOutcome]:
        """Book `days` of an activity for each child; one outcome per child and day.

        Every child's day goes through the rules first (reads only); the requests left are
        written at the end of the transaction, so that the days' places stay locked only for
        its last statements. With `dry_run`, nothing is written: the outcomes are what booking
        would give now (used for the recap before the parent confirms; capacity may still
        change before then). With a confirm's `key`, booking happens once: called again, it
        answers the outcomes of the first call (`replayed`).
        """
        wanted_days = sorted(set(days))

        async def work(session: AsyncSession) -> list[BookingOutcome]:
            return await self._book(session, actor, child_ids, activity_id, wanted_days, dry_run)

        return await run_once(
            self._sessions,
            actor,
            None if dry_run else key,
            "book",
            work,
            encode,
            lambda data: decode(BookingOutcome, data, replayed=True),
        )

    async def _book(
        self,
        session: AsyncSession,
        actor: Actor,
        child_ids: Sequence[int],
        activity_id: int,
        wanted_days: list[date],
        dry_run: bool,
    ) -> list[BookingOutcome]:
        """`book` in the caller's transaction (rolled back for a dry run)."""
        children = await children_of(session, actor, child_ids)
        activity, price = await activity_and_price(session, activity_id, children[0].family_id)
        if not wanted_days:
            return []
        terms = await _Terms.load(session, activity, price, wanted_days, self._clock())
        contexts = await _ChildContext.load_all(session, children, activity, wanted_days)
        decided = [
            terms.decide(child, contexts[child.id], day)
            for child in children
            for day in wanted_days
        ]
        if any(_is_time_refusal(item) for item in decided):
            open_days = await _open_days_after(session, activity.id, wanted_days[0])
            decided = [
                terms.with_next_day(item, open_days) if _is_time_refusal(item) else item
                for item in decided
            ]
        requests = [item for item in decided if isinstance(item, _Request)]
        if dry_run:
            placed = {request.key: _dry_run_outcome(activity, request) for request in requests}
            await session.rollback()
        else:
            placed = await _write_bookings(session, actor, activity, requests)
            pending = [
                outcome.booking_id
                for outcome in placed.values()
                if outcome.outcome is Outcome.PENDING and outcome.booking_id is not None
            ]
            await notify_bookings_to_validate(session, activity.id, pending)
        return [placed[item.key] if isinstance(item, _Request) else item for item in decided]

    async def cancel(
        self,
        actor: Actor,
        booking_ids: Iterable[int],
        *,
        free_only: bool = False,
        key: str | None = None,
    ) -> list[CancellationResult]:
        """Cancel bookings: free before the deadline, billed (or refused) after it.

        With `free_only`, a booking whose free cancellation has ended is left as it is
        (refused, deadline passed): for a parent who was offered to cancel without charge.
        With a confirm's `key`, cancelling happens once: called again, it answers the results
        of the first call (`replayed`).
        """
        now = self._clock()
        wanted = sorted(set(booking_ids))

        async def work(session: AsyncSession) -> list[CancellationResult]:
            return await self._cancel(session, actor, wanted, now, free_only)

        return await run_once(
            self._sessions,
            actor,
            key,
            "cancel",
            work,
            encode,
            lambda data: decode(CancellationResult, data, replayed=True),
        )

    async def _cancel(
        self,
        session: AsyncSession,
        actor: Actor,
        booking_ids: list[int],
        now: datetime,
        free_only: bool,
    ) -> list[CancellationResult]:
        """`cancel` in the caller's transaction, in one statement per kind whatever the number
        of bookings: the bookings read and locked (in id order), their activities and closed
        days, one update of the bookings, the places given back and the waitlists promoted
        (`store.capacity.give_back_places`), the audit entries."""
        if not booking_ids:
            return []
        found = {
            row.id: row
            for row in await session.execute(
                select(*_CANCEL_COLUMNS)
                .where(Booking.id.in_(booking_ids))
                .order_by(Booking.id)
                .with_for_update()
            )
        }
        for booking_id in booking_ids:
            if booking_id not in found:
                raise NotFound("unknown booking")
            actor.check_family(found[booking_id].family_id)
        bookings = [_Cancelling(*found[booking_id]) for booking_id in booking_ids]
        terms = await _CancelTerms.load(
            session, [b for b in bookings if b.state in _PLACED_STATES], now
        )
        cancelled = [terms.decide(booking, free_only) for booking in bookings]
        written = [item for item in cancelled if item.state is not None]
        await _write_cancellations(session, written, now)
        freed = Counter(item.booking.opening_day_id for item in written if item.frees_place)
        promoted = await give_back_places(
            session, freed, leaving=[item.booking.id for item in written]
        )
        next_in_line = {day_id: iter(ids) for day_id, ids in promoted.items()}
        results = [
            replace(
                item.result,
                promoted_booking_id=next(next_in_line[item.booking.opening_day_id], None),
            )
            if item.frees_place and item.booking.opening_day_id in next_in_line
            else item.result
            for item in cancelled
        ]
        await _record_cancellations(session, actor, written)
        return results

    async def decide_pending(
        self, actor: Actor, booking_id: int, accept: bool, reason: str = ""
    ) -> BookingState:
        """Staff accept or refuse a booking waiting for validation; the family is told.

        Refusing needs a `reason` (ReasonRequired otherwise): the family reads it in the
        notice. A booking no longer pending is left as it is, and its state returned.
        """
        actor.check_staff()
        reason = " ".join(reason.split())
        async with self._sessions.begin() as session:
            booking = await session.get(Booking, booking_id, with_for_update=True)
            if booking is None:
                raise NotFound("unknown booking")
            if booking.state is not BookingState.PENDING:
                return booking.state
            if not accept and not reason:
                raise ReasonRequired("a refused booking needs a reason for the family")
            if accept:
                booking.state = BookingState.CONFIRMED
            else:
                booking.state = BookingState.REFUSED
                await session.flush()
                await give_back_places(session, {booking.opening_day_id: 1}, [booking.id])
            details = {} if accept else {"reason": reason}
            action = "validate" if accept else "refuse"
            record(session, actor, action, "booking", booking.id, **details)
            await notify_family(
                session,
                booking.family_id,
                "booking_validated" if accept else "booking_refused",
                {"booking_id": booking.id, "day": booking.day.isoformat(), **details},
                event_key=f"booking:{booking.id}:{booking.state.value}",
            )
            return booking.state

    async def family_bookings(
        self, actor: Actor, family_id: int, first_day: date, last_day: date
    ) -> list[Booking]:
        """The family's bookings between two days (all states), ordered by day."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Booking)
                .where(
                    Booking.family_id == family_id,
                    Booking.day >= first_day,
                    Booking.day <= last_day,
                )
                .order_by(Booking.day, Booking.child_id, Booking.id)
            )
            return list(rows)


async def children_of(
    session: AsyncSession, actor: Actor, child_ids: Sequence[int]
) -> list[Child]:
    """The children asked for, by id: all of one family, the actor's (else refused)."""
    if not child_ids:
        raise NotFound("no child given")
    children = list(
        await session.scalars(select(Child).where(Child.id.in_(set(child_ids))).order_by(Child.id))
    )
    if len(children) != len(set(child_ids)):
        raise NotFound("unknown child")
    if len({child.family_id for child in children}) != 1:
        raise AccessDenied("children of several families")
    actor.check_family(children[0].family_id)
    return children


_TIME_REFUSALS = frozenset(
    {
        Refusal.PAST,
        Refusal.DEADLINE_PASSED,
        Refusal.WINDOW_CLOSED,
        Refusal.WINDOW_NOT_OPEN,
        Refusal.NO_WINDOW,
        Refusal.FROZEN,
    }
)


def _is_time_refusal(item: BookingOutcome | _Request) -> TypeGuard[BookingOutcome]:
    return isinstance(item, BookingOutcome) and item.refusal in _TIME_REFUSALS


def _placed_outcome(activity: Activity) -> Outcome:
    return Outcome.PENDING if activity.requires_validation else Outcome.CONFIRMED


def _placed_state(activity: Activity) -> BookingState:
    return BookingState(_placed_outcome(activity).value)


def _with_next_day(outcome: BookingOutcome, next_day: date | None) -> BookingOutcome:
    return replace(outcome, next_bookable_day=next_day)


@dataclass(frozen=True)
class _Request:
    """A child's day that passed every rule: it gets a place, the waitlist, or is refused full
    (or already booked, when another request of the family booked it meanwhile)."""

    child_id: int
    family_id: int
    day: date
    opening_day: OpenDay
    decision: deadlines.BookingDecision

    @property
    def key(self) -> tuple[int, date]:
        return self.child_id, self.day

    def booked(self, outcome: Outcome, booking_id: int | None = None) -> BookingOutcome:
        return BookingOutcome(
            self.child_id,
            self.day,
            outcome,
            price_cents=self.decision.price_cents,
            surcharge_cents=self.decision.surcharge_cents,
            booking_id=booking_id,
            deadline=self.decision.deadline,
        )

    def refused(self, reason: Refusal) -> BookingOutcome:
        return BookingOutcome(self.child_id, self.day, Outcome.REFUSED, reason)


@dataclass(frozen=True)
class _Terms:
    """What one call knows of the activity on the days asked: rules, calendar, price, days."""

    activity: Activity
    rules: ActivityRules
    calendar: deadlines.WorkingCalendar
    price: int | None
    opening: dict[date, OpenDay]
    now: datetime

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        activity: Activity,
        price: int | None,
        days: list[date],
        now: datetime,
    ) -> _Terms:
        calendar, open_days = await calendar_and_days(session, activity.id, days[0], days[-1])
        opening = {open_day.day: open_day for open_day in open_days}
        return cls(activity, activity_rules(activity), calendar, price, opening, now)

    def with_next_day(self, refusal: BookingOutcome, open_days: list[date]) -> BookingOutcome:
        """A refusal in time (too late, window closed…) with the next day that can be booked."""
        later = [open_day for open_day in open_days if open_day > refusal.day]
        next_day = deadlines.next_bookable_date(self.rules, later, self.now, self.calendar)
        return _with_next_day(refusal, next_day)

    def decide(self, child: Child, context: _ChildContext, day: date) -> BookingOutcome | _Request:
        """The rules for one child's day (no write): a refusal, or a request to place."""

        def refused(reason: Refusal, **extra: object) -> BookingOutcome:
            return BookingOutcome(child.id, day, Outcome.REFUSED, reason, **extra)  # type: ignore[arg-type]

        opening_day = self.opening.get(day)
        if opening_day is None or opening_day.closed:
            return refused(Refusal.CLOSED)
        if not context.enrolled_on(day):
            return refused(Refusal.NOT_ENROLLED)
        if not eligible(self.activity, child, day):
            return refused(Refusal.NOT_ELIGIBLE)
        missing = context.missing_document()
        if missing is not None:
            reason = Refusal.DOCUMENT_PENDING if missing in context.pending else None
            return refused(reason or Refusal.DOCUMENT_MISSING, missing_document=missing)
        if context.missing_consents:
            return refused(Refusal.CONSENT_MISSING, missing_consent=context.missing_consents[0])
        if day in context.booked_days:
            booked_as = Outcome(context.booked_days[day].value)
            return refused(Refusal.ALREADY_BOOKED, booked_as=booked_as)
        if self.price is None:
            return refused(Refusal.NO_PRICE)
        decision = deadlines.evaluate_booking(self.rules, day, self.now, self.calendar, self.price)
        if decision.status is deadlines.BookingStatus.REFUSED:
            assert decision.reason is not None  # a refusal always says why
            return refused(
                Refusal(decision.reason), deadline=decision.deadline, opens_at=decision.opens_at
            )
        return _Request(child.id, child.family_id, day, opening_day, decision)


async def _open_days_after(session: AsyncSession, activity_id: int, first: date) -> list[date]:
    """Open days from `first` on (bounded), to suggest the next day still bookable."""
    rows = await session.scalars(
        select(OpeningDay.day)
        .where(
            OpeningDay.activity_id == activity_id,
            OpeningDay.day >= first,
            OpeningDay.closed.is_(False),
        )
        .order_by(OpeningDay.day)
        .limit(NEXT_DAY_SEARCH_LIMIT)
    )
    return list(rows)


def _dry_run_outcome(activity: Activity, request: _Request) -> BookingOutcome:
    """What booking would give now, from the places left when the day was read."""
    opening_day = request.opening_day
    has_place = opening_day.taken < opening_day.capacity
    if not has_place and not activity.waitlist_enabled:
        return request.refused(Refusal.FULL)
    return request.booked(_placed_outcome(activity) if has_place else Outcome.WAITLISTED)


async def _write_bookings(
    session: AsyncSession, actor: Actor, activity: Activity, requests: list[_Request]
) -> dict[tuple[int, date], BookingOutcome]:
    """Write the requests at the end of the transaction and answer each by (child, day).

    One statement per step: the bookings are inserted (a child's day booked meanwhile is
    skipped), the places are taken (days locked in id order, held until the commit), the
    bookings left without a place are waitlisted or removed, and the audit entries written.
    """
    booking_ids = await _insert_bookings(session, actor, activity, requests)
    inserted = [request for request in requests if request.key in booking_ids]
    taken = await take_places(session, Counter(request.opening_day.id for request in inserted))
    placed = _share_places(inserted, taken)
    unplaced = [booking_ids[request.key] for request in inserted if request.key not in placed]
    await _settle_unplaced(session, activity, unplaced)
    outcomes = {
        request.key: _written_outcome(
            activity, request, booking_ids.get(request.key), request.key in placed
        )
        for request in requests
    }
    await _record_bookings(session, actor, outcomes.values())
    return outcomes


async def _insert_bookings(
    session: AsyncSession, actor: Actor, activity: Activity, requests: list[_Request]
) -> dict[tuple[int, date], int]:
    """Insert the requests' bookings, as placed, in one statement; returns their ids by
    (child, day). A child's day already booked (`uq_booking_active`, by a concurrent request
    of the family) is skipped: on PostgreSQL the insert waits for that request's commit."""
    if not requests:
        return {}
    state = _placed_state(activity)
    rows = [
        {
            "family_id": request.family_id,
            "child_id": request.child_id,
            "activity_id": activity.id,
            "opening_day_id": request.opening_day.id,
            "day": request.day,
            "state": state,
            "price_cents": request.decision.price_cents,
            "surcharge_cents": request.decision.surcharge_cents,
            "created_by": actor.label,
        }
        for request in requests
    ]
    statement = (
        insert_for(session.get_bind().dialect.name)(Booking)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=["child_id", "activity_id", "day"],
            index_where=text(ACTIVE_STATES_SQL),
        )
        .returning(Booking.id, Booking.child_id, Booking.day)
    )
    result = await session.execute(statement)
    return {(child_id, day): booking_id for booking_id, child_id, day in result}


def _share_places(requests: list[_Request], taken: Mapping[int, int]) -> set[tuple[int, date]]:
    """Which requests get the places taken: the first ones of each day, in request order."""
    left = Counter(taken)
    placed = set()
    for request in requests:
        if left[request.opening_day.id] > 0:
            left[request.opening_day.id] -= 1
            placed.add(request.key)
    return placed


async def _settle_unplaced(
    session: AsyncSession, activity: Activity, booking_ids: list[int]
) -> None:
    """Bookings inserted as placed that got no place: waitlisted, or removed (refused full)."""
    if not booking_ids:
        return
    statement: Update | Delete
    if activity.waitlist_enabled:
        statement = (
            update(Booking)
            .where(Booking.id.in_(booking_ids))
            .values(state=BookingState.WAITLISTED)
        )
    else:
        statement = delete(Booking).where(Booking.id.in_(booking_ids))
    await session.execute(statement.execution_options(synchronize_session=False))


def _written_outcome(
    activity: Activity, request: _Request, booking_id: int | None, placed: bool
) -> BookingOutcome:
    if booking_id is None:
        return request.refused(Refusal.ALREADY_BOOKED)
    if placed:
        return request.booked(_placed_outcome(activity), booking_id)
    if activity.waitlist_enabled:
        return request.booked(Outcome.WAITLISTED, booking_id)
    return request.refused(Refusal.FULL)


async def _record_bookings(
    session: AsyncSession, actor: Actor, outcomes: Iterable[BookingOutcome]
) -> None:
    """The audit entry of each new booking (what `store.audit.record` writes), in one
    executemany."""
    entries = [
        {
            "actor": actor.label,
            "action": "book",
            "entity": "booking",
            "entity_id": outcome.booking_id,
            "details": {"state": outcome.outcome.value, "day": str(outcome.day)},
        }
        for outcome in outcomes
        if outcome.booking_id is not None
    ]
    if entries:
        await session.execute(insert(AuditEntry), entries)


@dataclass
class _ChildContext:
    """What is known of one child for the activity, loaded once per call (no query per day)."""

    enrollments: list[tuple[date, date]]
    # The days the child holds an active booking on, with its state.
    booked_days: dict[date, BookingState]
    missing: list[str]
    # Missing documents the family sent, awaiting the service's validation.
    pending: set[str]
    # Consents the activity requires that are refused or not answered (`ConsentKind` values).
    missing_consents: list[str]

    @classmethod
    async def load_all(
        cls, session: AsyncSession, children: list[Child], activity: Activity, days: list[date]
    ) -> dict[int, _ChildContext]:
        """Every child's context, one query per kind of row whatever the number of children."""
        ids = [child.id for child in children]
        enrollments: dict[int, list[tuple[date, date]]] = {child_id: [] for child_id in ids}
        for child_id, starts_on, ends_on in await session.execute(
            select(Enrollment.child_id, Enrollment.starts_on, Enrollment.ends_on).where(
                Enrollment.child_id.in_(ids), Enrollment.activity_id == activity.id
            )
        ):
            enrollments[child_id].append((starts_on, ends_on))
        booked: dict[int, dict[date, BookingState]] = {child_id: {} for child_id in ids}
        for child_id, day, state in await session.execute(
            select(Booking.child_id, Booking.day, Booking.state).where(
                Booking.child_id.in_(ids),
                Booking.activity_id == activity.id,
                Booking.day >= days[0],
                Booking.day <= days[-1],
                Booking.state.in_(ACTIVE_STATES),
            )
        ):
            booked[child_id][day] = state
        documents: list[tuple[int | None, str, DocumentStatus]] = []
        if activity.required_documents:
            documents = [
                (child_id, doc_type, status)
                for child_id, doc_type, status in await session.execute(
                    select(Document.child_id, Document.doc_type, Document.status).where(
                        Document.family_id == children[0].family_id,
                        (Document.child_id.is_(None)) | (Document.child_id.in_(ids)),
                        Document.status.in_((DocumentStatus.ACCEPTED, DocumentStatus.PENDING)),
                    )
                )
            ]
        consents = await missing_consents(session, ids, activity)
        contexts = {}
        for child_id in ids:
            held = {
                status: {
                    doc
                    for owner, doc, doc_status in documents
                    if doc_status is status and owner in (None, child_id)
                }
                for status in (DocumentStatus.ACCEPTED, DocumentStatus.PENDING)
            }
            required = activity.required_documents or []
            missing = [doc for doc in required if doc not in held[DocumentStatus.ACCEPTED]]
            pending = {doc for doc in missing if doc in held[DocumentStatus.PENDING]}
            contexts[child_id] = cls(
                enrollments[child_id], booked[child_id], missing, pending, consents[child_id]
            )
        return contexts

    def enrolled_on(self, day: date) -> bool:
        return any(start <= day <= end for start, end in self.enrollments)

    def missing_document(self) -> str | None:
        """The first required document not accepted: one the family has yet to send, before
        one sent and awaiting validation."""
        to_send = [doc for doc in self.missing if doc not in self.pending]
        return next(iter(to_send or self.missing), None)


# What cancelling reads of each booking (`_Cancelling`), locked until the commit.
_CANCEL_COLUMNS = (
    Booking.id,
    Booking.family_id,
    Booking.child_id,
    Booking.activity_id,
    Booking.opening_day_id,
    Booking.day,
    Booking.state,
    Booking.price_cents,
)
# Bookings holding a place of their day: cancelling one gives the place back.
_PLACED_STATES = (BookingState.PENDING, BookingState.CONFIRMED)


@dataclass(frozen=True)
class _Cancelling:
    """A booking asked to be cancelled, as read (and locked) at the start."""

    id: int
    family_id: int
    child_id: int
    activity_id: int
    opening_day_id: int
    day: date
    state: BookingState
    price_cents: int


@dataclass(frozen=True)
class _Cancelled:
    """The answer for one booking, and what to write for it (`state` None: nothing)."""

    booking: _Cancelling
    result: CancellationResult
    state: BookingState | None = None
    fee_cents: int | None = None
    audit: dict[str, object] | None = None

    @property
    def frees_place(self) -> bool:
        return self.state is not None and self.booking.state in _PLACED_STATES


@dataclass(frozen=True)
class _CancelTerms:
    """The cancellation rules and closed days of the activities of the bookings placed."""

    rules: dict[int, ActivityRules]
    calendars: dict[int, deadlines.WorkingCalendar]
    now: datetime

    @classmethod
    async def load(
        cls, session: AsyncSession, placed: list[_Cancelling], now: datetime
    ) -> _CancelTerms:
        """The activities in one query, the closed days with one query per activity."""
        days: dict[int, list[date]] = {}
        for booking in placed:
            days.setdefault(booking.activity_id, []).append(booking.day)
        activities = await session.scalars(select(Activity).where(Activity.id.in_(days)))
        rules = {activity.id: activity_rules(activity) for activity in activities}
        calendars = {
            activity_id: await working_calendar(session, activity_id, min(dates), max(dates))
            for activity_id, dates in days.items()
        }
        return cls(rules, calendars, now)

    def decide(self, booking: _Cancelling, free_only: bool) -> _Cancelled:
        """The rules for one booking (no write): refused, or cancelled free or billed."""
        if booking.state not in ACTIVE_STATES:
            refused = CancellationResult(
                booking.id,
                booking.day,
                CancelOutcome.REFUSED,
                refusal=Refusal.NOT_CANCELLABLE,
                child_id=booking.child_id,
            )
            return _Cancelled(booking, refused)
        if booking.state is BookingState.WAITLISTED:
            result = CancellationResult(
                booking.id, booking.day, CancelOutcome.CANCELLED, child_id=booking.child_id
            )
            return _Cancelled(booking, result, BookingState.CANCELLED, audit={"was": "waitlisted"})
        decision = deadlines.evaluate_cancellation(
            self.rules[booking.activity_id],
            booking.day,
            self.now,
            self.calendars[booking.activity_id],
            booking.price_cents,
        )
        late = decision.status is deadlines.CancellationStatus.LATE_BILLED
        refusal: Refusal | None = None
        if decision.status is deadlines.CancellationStatus.REFUSED:
            assert decision.reason is not None  # a refusal always says why
            refusal = Refusal(decision.reason)
        elif late and free_only:
            refusal = Refusal.DEADLINE_PASSED
        if refusal is not None:
            refused = CancellationResult(
                booking.id,
                booking.day,
                CancelOutcome.REFUSED,
                refusal=refusal,
                deadline=decision.deadline,
                child_id=booking.child_id,
            )
            return _Cancelled(booking, refused)
        fee = decision.fee_cents if late else 0
        result = CancellationResult(
            booking.id,
            booking.day,
            CancelOutcome.LATE_CANCELLED if late else CancelOutcome.CANCELLED,
            fee_cents=fee,
            deadline=decision.deadline,
            child_id=booking.child_id,
        )
        state = BookingState.LATE_CANCELLED if late else BookingState.CANCELLED
        audit: dict[str, object] = {"late": late, "fee": decision.fee_cents}
        return _Cancelled(booking, result, state, fee, audit)


async def _write_cancellations(
    session: AsyncSession, cancelled: list[_Cancelled], now: datetime
) -> None:
    """The new states (and fees) of the cancelled bookings, in one statement; when it was
    cancelled, by the service's clock (a late one says it, with its fee)."""
    if not cancelled:
        return
    states = {item.booking.id: item.state.value for item in cancelled if item.state is not None}
    fees = {item.booking.id: item.fee_cents for item in cancelled if item.fee_cents is not None}
    values: dict[str, object] = {"state": case(states, value=Booking.id), "updated_at": now}
    if fees:
        values["cancellation_fee_cents"] = case(
            fees, value=Booking.id, else_=Booking.cancellation_fee_cents
        )
    await session.execute(
        update(Booking)
        .where(Booking.id.in_(states))
        .values(values)
        .execution_options(synchronize_session=False)
    )


async def _record_cancellations(
    session: AsyncSession, actor: Actor, cancelled: list[_Cancelled]
) -> None:
    """The audit entry of each cancelled booking (what `store.audit.record` writes), in one
    executemany."""
    entries = [
        {
            "actor": actor.label,
            "action": "cancel",
            "entity": "booking",
            "entity_id": item.booking.id,
            "details": item.audit,
        }
        for item in cancelled
    ]
    if entries:
        await session.execute(insert(AuditEntry), entries)
