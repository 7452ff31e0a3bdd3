"""When a day of an activity can still be booked or cancelled, evaluated in Paris time.

Pure logic, no I/O. Every datetime returned is aware, in Europe/Paris; `now` may be aware in
any zone (a naive `now` is an error). A cut-off is a wall-clock time on a Paris day: 12:00 on
a daylight-saving Sunday is 12:00 local time, with that day's offset. Non-existent or
ambiguous wall-clock times are normalised by `store.policies.paris_wall_clock`.

Booking is on time while `now <= deadline` (a deadline "12:00" accepts 12:00:00, not
12:00:01). A booking window is open while `opens <= now <= closes`, alike.

Moments are compared in UTC: Python compares two datetimes of the same zone by wall clock,
which is wrong in the repeated hour of the autumn change.

A decision carries a status or a refusal `Reason` and the moments and amount that go with it;
the sentence a parent reads is written from them by `conversations.kit.deadlines`, from the
catalogs' `deadline.*` texts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

import holidays
from babel.dates import format_date
from babel.numbers import format_currency

from store.policies import (
    PARIS,
    ActivityRules,
    BookingWindow,
    DayCount,
    DaysBefore,
    DeadlineRule,
    LateBookingMode,
    LateCancellationMode,
    PreviousMonthDay,
    PreviousWeek,
    Shift,
    WeekdayBefore,
    WindowOnly,
    paris_wall_clock,
)

__all__ = [
    "BABEL_LOCALES",
    "PARIS",
    "BookingDecision",
    "BookingStatus",
    "CancellationDecision",
    "CancellationStatus",
    "Reason",
    "WorkingCalendar",
    "at_paris",
    "deadline_for",
    "evaluate_booking",
    "evaluate_cancellation",
    "format_amount",
    "format_day",
    "format_moment",
    "next_bookable_date",
]

# How far a search for a working day may go before the calendar is deemed misconfigured.
MAX_SEARCH = timedelta(days=400)


@lru_cache(maxsize=64)
def _french_public_holidays(year: int) -> frozenset[date]:
    """The French public holidays of one year (metropolitan France)."""
    return frozenset(holidays.France(years=year))


@dataclass(frozen=True)
class WorkingCalendar:
    """What is a working day: not a weekend, public holiday, closed day or skipped weekday."""

    closed_days: frozenset[date] = frozenset()
    skip_weekdays: frozenset[int] = frozenset()

    @staticmethod
    def is_public_holiday(day: date) -> bool:
        """Whether the day is a French public holiday."""
        return day in _french_public_holidays(day.year)

    def is_working_day(self, day: date, skip_weekdays: frozenset[int] = frozenset()) -> bool:
        """Whether the day counts as a working day (also skipping the extra `skip_weekdays`)."""
        weekday = day.weekday()
        return not (
            weekday >= 5
            or weekday in self.skip_weekdays
            or weekday in skip_weekdays
            or day in self.closed_days
            or self.is_public_holiday(day)
        )

    def working_day_from(
        self, day: date, step: int, skip_weekdays: frozenset[int] = frozenset()
    ) -> date:
        """The first working day from `day` (included) going by `step` days (+1 or -1)."""
        current = day
        while not self.is_working_day(current, skip_weekdays):
            current += timedelta(days=step)
            if abs(current - day) > MAX_SEARCH:
                raise ValueError(f"no working day within {MAX_SEARCH.days} days of {day}")
        return current


def at_paris(day: date, cut_off: time) -> datetime:
    """The Paris wall-clock `cut_off` on `day`, aware (see `paris_wall_clock` for DST gaps)."""
    return paris_wall_clock(datetime.combine(day, cut_off))


def _working_days_before(
    day: date, days: int, calendar: WorkingCalendar, skip_weekdays: frozenset[int]
) -> date:
    """The day `days` working days before `day` (`day` itself is not counted)."""
    current = day
    for _ in range(days):
        current = calendar.working_day_from(current - timedelta(days=1), -1, skip_weekdays)
    return current


def _previous_month_day(rule: PreviousMonthDay, day: date, calendar: WorkingCalendar) -> date:
    """Day `rule.day` of the month before `day`, clamped and shifted off non-working days."""
    last_of_previous = day.replace(day=1) - timedelta(days=1)
    cut_off_day = last_of_previous.replace(day=min(rule.day, last_of_previous.day))
    if rule.shift is Shift.STAY or calendar.is_working_day(cut_off_day):
        return cut_off_day
    if rule.shift is Shift.LATER:
        later = calendar.working_day_from(cut_off_day, +1)
        if later < day:
            return later
        # Every day up to the booked day is off: the last working day before it is earlier.
    return calendar.working_day_from(cut_off_day, -1)


def deadline_for(
    rule: DeadlineRule, day: date, calendar: WorkingCalendar | None = None
) -> datetime | None:
    """The last on-time moment to book or cancel `day` under a rule (None for window_only)."""
    if calendar is None:
        calendar = WorkingCalendar()
    match rule:
        case DaysBefore(count=DayCount.CALENDAR):
            return at_paris(day - timedelta(days=rule.days), rule.time)
        case DaysBefore():
            cut_off = _working_days_before(day, rule.days, calendar, rule.skip_weekdays)
            return at_paris(cut_off, rule.time)
        case WeekdayBefore():
            back = (day.weekday() - rule.weekday - 1) % 7 + 1
            return at_paris(day - timedelta(days=back), rule.time)
        case PreviousWeek():
            monday = day - timedelta(days=day.weekday(), weeks=rule.weeks_before)
            return at_paris(monday + timedelta(days=rule.weekday), rule.time)
        case PreviousMonthDay():
            return at_paris(_previous_month_day(rule, day, calendar), rule.time)
        case WindowOnly():
            return None
    raise TypeError(f"unknown deadline rule: {rule!r}")


class BookingStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    REFUSED = "refused"


class CancellationStatus(StrEnum):
    FREE = "free"
    LATE_BILLED = "late_billed"
    REFUSED = "refused"


class Reason(StrEnum):
    """Why a booking or a cancellation is refused."""

    PAST = "past"
    DEADLINE_PASSED = "deadline_passed"
    WINDOW_NOT_OPEN = "window_not_open"
    WINDOW_CLOSED = "window_closed"
    NO_WINDOW = "no_window"
    FROZEN = "frozen"


@dataclass(frozen=True)
class BookingDecision:
    """Whether a day can be booked now, and at what price (0 when refused)."""

    day: date
    status: BookingStatus
    price_cents: int = 0
    surcharge_cents: int = 0
    deadline: datetime | None = None
    opens_at: datetime | None = None
    reason: Reason | None = None


@dataclass(frozen=True)
class CancellationDecision:
    """Whether a booked day can be cancelled now, and what is billed anyway."""

    day: date
    status: CancellationStatus
    fee_cents: int = 0
    deadline: datetime | None = None
    opens_at: datetime | None = None
    reason: Reason | None = None


@dataclass(frozen=True)
class _Timing:
    """Where `now` stands for a day, before the late modes are applied.

    `reason` set: refused whatever the late mode; otherwise `late` tells the deadline passed.
    """

    deadline: datetime | None = None
    opens_at: datetime | None = None
    reason: Reason | None = None
    late: bool = False


def _to_utc(now: datetime) -> datetime:
    """`now` in UTC, for comparisons that are right across DST changes."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(UTC)


def _window_timing(windows: list[BookingWindow], now: datetime) -> _Timing:
    """The timing given by the windows covering a day: open, not open yet, or closed."""
    open_windows = [w for w in windows if w.opens <= now <= w.closes]
    if open_windows:
        return _Timing(deadline=max(w.closes for w in open_windows))
    coming = [w for w in windows if now < w.opens]
    if coming:
        return _Timing(opens_at=min(w.opens for w in coming), reason=Reason.WINDOW_NOT_OPEN)
    return _Timing(deadline=max(w.closes for w in windows), reason=Reason.WINDOW_CLOSED)


def _timing(
    rules: ActivityRules, rule: DeadlineRule, day: date, now: datetime, calendar: WorkingCalendar
) -> _Timing:
    """Past day, freezes, windows, then the rule, in that order of precedence."""
    if day < now.astimezone(PARIS).date():
        return _Timing(reason=Reason.PAST)
    if any(freeze.covers(day) and now >= freeze.at for freeze in rules.freezes):
        return _Timing(reason=Reason.FROZEN)
    windows = [window for window in rules.windows if window.covers(day)]
    if windows:
        return _window_timing(windows, now)
    deadline = deadline_for(rule, day, calendar)
    if deadline is None:
        return _Timing(reason=Reason.NO_WINDOW)
    return _Timing(deadline=deadline, late=now > deadline)


def evaluate_booking(
    rules: ActivityRules, day: date, now: datetime, calendar: WorkingCalendar, price_cents: int
) -> BookingDecision:
    """Whether `day` can be booked at `now`: on time, late (with a surcharge) or refused."""
    timing = _timing(rules, rules.booking, day, _to_utc(now), calendar)
    refused = BookingDecision(
        day, BookingStatus.REFUSED, deadline=timing.deadline, opens_at=timing.opens_at
    )
    if timing.reason is not None:
        return replace(refused, reason=timing.reason)
    if not timing.late:
        return BookingDecision(day, BookingStatus.ON_TIME, price_cents, deadline=timing.deadline)
    if rules.late_booking.mode is LateBookingMode.REFUSE:
        return replace(refused, reason=Reason.DEADLINE_PASSED)
    surcharge = rules.late_booking.surcharge_cents(price_cents)
    return BookingDecision(
        day, BookingStatus.LATE, price_cents + surcharge, surcharge, deadline=timing.deadline
    )


def evaluate_cancellation(
    rules: ActivityRules, day: date, now: datetime, calendar: WorkingCalendar, price_cents: int
) -> CancellationDecision:
    """Whether a booked `day` can be cancelled at `now`: free, late and billed, or refused."""
    timing = _timing(rules, rules.cancellation, day, _to_utc(now), calendar)
    refused = CancellationDecision(
        day, CancellationStatus.REFUSED, deadline=timing.deadline, opens_at=timing.opens_at
    )
    if timing.reason is not None:
        return replace(refused, reason=timing.reason)
    if not timing.late:
        return CancellationDecision(day, CancellationStatus.FREE, deadline=timing.deadline)
    if rules.late_cancellation.mode is LateCancellationMode.REFUSE:
        return replace(refused, reason=Reason.DEADLINE_PASSED)
    fee = rules.late_cancellation.fee_cents(price_cents)
    return CancellationDecision(day, CancellationStatus.LATE_BILLED, fee, deadline=timing.deadline)


def next_bookable_date(
    rules: ActivityRules, candidate_days: Iterable[date], now: datetime, calendar: WorkingCalendar
) -> date | None:
    """The first candidate day that can still be booked now, on time or late."""
    for day in sorted(candidate_days):
        if evaluate_booking(rules, day, now, calendar, 0).status is not BookingStatus.REFUSED:
            return day
    return None


# The Babel locale of each catalog language (dates and amounts as read in France, in Britain).
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def format_day(day: date, language: str) -> str:
    """A day as "jeudi 3 décembre" ("mardi 1er décembre") or "Thursday 3 December"."""
    if language == "fr" and day.day == 1:
        weekday, month = (
            format_date(day, "EEEE", locale="fr"),
            format_date(day, "MMMM", locale="fr"),
        )
        return f"{weekday} 1er {month}"
    return format_date(day, "EEEE d MMMM", locale=language)


def format_moment(moment: datetime, language: str) -> str:
    """A Paris moment as "jeudi 3 décembre à 12 h" or "Thursday 3 December, 12:00"."""
    local = moment.astimezone(PARIS)
    if language == "en":
        return f"{format_day(local.date(), 'en')}, {local:%H:%M}"
    clock = f"{local.hour} h" if local.minute == 0 else f"{local.hour} h {local.minute:02d}"
    return f"{format_day(local.date(), 'fr')} à {clock}"


def format_amount(cents: int, language: str) -> str:
    """An amount in euros: "1,50 €" (with a no-break space) or "€1.50"."""
    return format_currency(Decimal(cents) / 100, "EUR", locale=BABEL_LOCALES[language])
