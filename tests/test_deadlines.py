"""Deadline rules at their edges: cut-off minutes, month and year ends, holidays, DST, windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conversations.kit.deadlines import explain_booking, explain_cancellation
from store.deadlines import (
    PARIS,
    BookingDecision,
    BookingStatus,
    CancellationDecision,
    CancellationStatus,
    Reason,
    WorkingCalendar,
    at_paris,
    deadline_for,
    evaluate_booking,
    evaluate_cancellation,
    next_bookable_date,
)
from store.policies import ActivityRules

NO_CLOSURES = WorkingCalendar()
NEW_YORK = ZoneInfo("America/New_York")


def paris(day: date, at: str = "09:00") -> datetime:
    """An aware Paris datetime from a day and "HH:MM" or "HH:MM:SS"."""
    return datetime.combine(day, time.fromisoformat(at), tzinfo=PARIS)


def rules(**fields: Any) -> ActivityRules:
    """Activity rules as they would be read from the import file."""
    return ActivityRules.model_validate(fields)


def rule(**fields: Any) -> Any:
    """One validated deadline rule."""
    return rules(booking=fields).booking


# --- days_before -----------------------------------------------------------------------------

WED = date(2026, 12, 9)
THREE_DAYS = {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"}


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (paris(date(2026, 12, 6), "11:59:59"), BookingStatus.ON_TIME),
        (paris(date(2026, 12, 6), "12:00:00"), BookingStatus.ON_TIME),
        (paris(date(2026, 12, 6), "12:00:01"), BookingStatus.REFUSED),
        (paris(date(2026, 12, 9), "08:00"), BookingStatus.REFUSED),
    ],
)
def test_the_cut_off_minute_itself_is_on_time(now: datetime, status: BookingStatus) -> None:
    decision = evaluate_booking(rules(booking=THREE_DAYS), WED, now, NO_CLOSURES, 410)
    assert decision.status is status
    assert decision.deadline == paris(date(2026, 12, 6), "12:00")
    if status is BookingStatus.REFUSED:
        assert decision.reason is Reason.DEADLINE_PASSED
        assert decision.price_cents == 0
    else:
        assert (decision.price_cents, decision.surcharge_cents, decision.reason) == (410, 0, None)


def test_defaults_are_three_calendar_days_at_noon_for_both() -> None:
    defaults = ActivityRules()
    assert deadline_for(defaults.booking, WED) == paris(date(2026, 12, 6), "12:00")
    assert deadline_for(defaults.cancellation, WED) == paris(date(2026, 12, 6), "12:00")


def test_now_in_another_time_zone_is_read_in_paris() -> None:
    # 06:00 in New York is 12:00 in Paris on 6 December (no DST in either).
    at_noon = datetime(2026, 12, 6, 6, 0, tzinfo=NEW_YORK)
    a_second_later = at_noon + timedelta(seconds=1)
    assert evaluate_booking(ActivityRules(), WED, at_noon, NO_CLOSURES, 1).status == "on_time"
    assert evaluate_booking(ActivityRules(), WED, a_second_later, NO_CLOSURES, 1).status == (
        "refused"
    )


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate_booking(ActivityRules(), WED, datetime(2026, 12, 1), NO_CLOSURES, 1)


def test_calendar_days_before_across_the_year_end() -> None:
    assert deadline_for(rule(**THREE_DAYS), date(2027, 1, 4)) == paris(date(2027, 1, 1), "12:00")
    assert deadline_for(rule(**THREE_DAYS), date(2026, 3, 2)) == paris(date(2026, 2, 27), "12:00")


def test_same_day_rule_evaluates_today_by_its_time() -> None:
    same_day = rules(booking={"rule": "days_before", "days": 0, "time": "10:00"})
    today = date(2026, 12, 9)
    on_time = evaluate_booking(same_day, today, paris(today, "10:00"), NO_CLOSURES, 100)
    late = evaluate_booking(same_day, today, paris(today, "10:00:01"), NO_CLOSURES, 100)
    assert on_time.status is BookingStatus.ON_TIME
    assert on_time.deadline == paris(today, "10:00")
    assert (late.status, late.reason) == (BookingStatus.REFUSED, Reason.DEADLINE_PASSED)


@pytest.mark.parametrize(
    ("day", "days", "expected"),
    [
        # Christmas Friday 25 Dec 2026 and New Year Friday 1 Jan 2027 are public holidays.
        (date(2027, 1, 4), 3, date(2026, 12, 29)),
        (date(2026, 12, 28), 3, date(2026, 12, 22)),
        (date(2026, 12, 28), 1, date(2026, 12, 24)),
        # All Saints' Monday 1 Nov 2027 and Armistice Thursday 11 Nov 2027.
        (date(2027, 11, 12), 3, date(2027, 11, 8)),
        (date(2027, 11, 3), 2, date(2027, 10, 29)),
        # Ascension Thursday 6 May 2027; Pentecost Monday 17 May 2027; Easter Monday 29 Mar.
        (date(2027, 5, 7), 1, date(2027, 5, 5)),
        (date(2027, 5, 19), 2, date(2027, 5, 14)),
        (date(2027, 3, 30), 1, date(2027, 3, 26)),
        # 11 Nov 2026 is a Wednesday.
        (date(2026, 11, 13), 2, date(2026, 11, 10)),
        # Zero working days: the day itself, even a Sunday.
        (date(2026, 12, 13), 0, date(2026, 12, 13)),
    ],
)
def test_working_days_skip_weekends_and_public_holidays(
    day: date, days: int, expected: date
) -> None:
    working = rule(rule="days_before", days=days, count="working", time="12:00")
    assert deadline_for(working, day) == paris(expected, "12:00")


def test_working_days_skip_facility_closed_days() -> None:
    # The Friday after Ascension is a closed "pont".
    bridge = WorkingCalendar(closed_days=frozenset({date(2027, 5, 7)}))
    working = rule(rule="days_before", days=2, count="working", time="10:00")
    assert deadline_for(working, date(2027, 5, 10), bridge) == paris(date(2027, 5, 4), "10:00")
    assert deadline_for(working, date(2027, 5, 10)) == paris(date(2027, 5, 5), "10:00")


def test_working_days_skip_the_rule_and_calendar_weekdays() -> None:
    no_wednesday = rule(
        rule="days_before", days=2, count="working", time="12:00", skip_weekdays=["Mercredi"]
    )
    assert deadline_for(no_wednesday, date(2026, 12, 11)) == paris(date(2026, 12, 8), "12:00")
    plain = rule(rule="days_before", days=2, count="working", time="12:00")
    no_monday = WorkingCalendar(skip_weekdays=frozenset({0}))
    assert deadline_for(plain, date(2026, 12, 9), no_monday) == paris(date(2026, 12, 4), "12:00")


def test_a_calendar_without_working_days_is_an_error() -> None:
    everything_closed = WorkingCalendar(skip_weekdays=frozenset(range(7)))
    working = rule(rule="days_before", days=1, count="working")
    with pytest.raises(ValueError, match="no working day"):
        deadline_for(working, date(2026, 12, 9), everything_closed)


def test_public_holidays() -> None:
    assert WorkingCalendar.is_public_holiday(date(2027, 5, 17))
    assert not WorkingCalendar.is_public_holiday(date(2027, 5, 18))
    assert not NO_CLOSURES.is_working_day(date(2026, 12, 25))
    assert NO_CLOSURES.is_working_day(date(2026, 12, 24))


# --- weekday_before and previous_week --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 10), date(2026, 12, 3)),  # a Thursday: the one before
        (date(2026, 12, 11), date(2026, 12, 10)),  # a Friday: the day before
        (date(2026, 12, 7), date(2026, 12, 3)),  # a Monday
        (date(2027, 1, 4), date(2026, 12, 31)),  # across the year end
    ],
)
def test_weekday_before_is_strictly_before(day: date, expected: date) -> None:
    thursday = rule(rule="weekday_before", weekday="jeudi", time="12:00")
    assert deadline_for(thursday, day) == paris(expected, "12:00")


@pytest.mark.parametrize(
    ("day", "weeks", "expected"),
    [
        (date(2026, 12, 9), 1, date(2026, 12, 1)),
        (date(2026, 12, 7), 1, date(2026, 12, 1)),  # Monday of the week
        (date(2026, 12, 13), 1, date(2026, 12, 1)),  # Sunday of the week
        (date(2026, 12, 9), 2, date(2026, 11, 24)),
        (date(2027, 1, 4), 1, date(2026, 12, 29)),  # across the year end
        (date(2027, 1, 1), 1, date(2026, 12, 22)),
    ],
)
def test_previous_week_counts_monday_based_weeks(day: date, weeks: int, expected: date) -> None:
    tuesday = rule(rule="previous_week", weekday="Tuesday", weeks_before=weeks, time="12:00")
    assert deadline_for(tuesday, day) == paris(expected, "12:00")


# --- previous_month_day ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        ("earlier", date(2026, 12, 18)),
        ("later", date(2026, 12, 21)),
        ("stay", date(2026, 12, 20)),
    ],
)
def test_previous_month_day_of_january_moves_off_a_sunday(shift: str, expected: date) -> None:
    # 20 December 2026 is a Sunday.
    twentieth = rule(rule="previous_month_day", day=20, time="23:59", shift=shift)
    assert deadline_for(twentieth, date(2027, 1, 13)) == paris(expected, "23:59")


@pytest.mark.parametrize(
    ("shift", "calendar", "expected"),
    [
        ("earlier", NO_CLOSURES, date(2026, 11, 10)),
        ("later", NO_CLOSURES, date(2026, 11, 12)),
        (
            "later",
            WorkingCalendar(closed_days=frozenset({date(2026, 11, 12)})),
            date(2026, 11, 13),
        ),
        ("stay", NO_CLOSURES, date(2026, 11, 11)),
    ],
)
def test_previous_month_day_on_a_public_holiday(
    shift: str, calendar: WorkingCalendar, expected: date
) -> None:
    eleventh = rule(rule="previous_month_day", day=11, time="18:00", shift=shift)
    assert deadline_for(eleventh, date(2026, 12, 2), calendar) == paris(expected, "18:00")


def test_previous_month_day_is_clamped_to_the_month_length() -> None:
    last = rule(rule="previous_month_day", day=31, time="12:00", shift="stay")
    assert deadline_for(last, date(2028, 3, 15)) == paris(date(2028, 2, 29), "12:00")
    assert deadline_for(last, date(2027, 3, 15)) == paris(date(2027, 2, 28), "12:00")
    assert deadline_for(last, date(2027, 5, 3)) == paris(date(2027, 4, 30), "12:00")


def test_later_shift_never_reaches_the_booked_day() -> None:
    # 31 Jan 2027 is a Sunday; the next working day is Monday 1 February, the booked day.
    last = rule(rule="previous_month_day", day=31, time="12:00", shift="later")
    assert deadline_for(last, date(2027, 2, 1)) == paris(date(2027, 1, 29), "12:00")
    assert deadline_for(last, date(2027, 2, 2)) == paris(date(2027, 2, 1), "12:00")


# --- daylight saving time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sunday", "offset_hours"),
    [
        (date(2026, 3, 29), 2),  # spring forward
        (date(2026, 10, 25), 1),  # fall back
        (date(2027, 3, 28), 2),
        (date(2027, 10, 31), 1),
    ],
)
def test_cut_off_on_a_dst_sunday_keeps_the_wall_clock(sunday: date, offset_hours: int) -> None:
    day_before = rule(rule="days_before", days=1, count="calendar", time="12:00")
    deadline = deadline_for(day_before, sunday + timedelta(days=1))
    assert deadline is not None
    assert (deadline.date(), deadline.hour, deadline.minute) == (sunday, 12, 0)
    assert deadline.utcoffset() == timedelta(hours=offset_hours)
    assert deadline.tzinfo is PARIS
    as_utc = deadline.astimezone(UTC).replace(tzinfo=UTC)
    booking = rules(booking={"rule": "weekday_before", "weekday": "sunday", "time": "12:00"})
    monday = sunday + timedelta(days=1)
    assert evaluate_booking(booking, monday, as_utc, NO_CLOSURES, 1).status == "on_time"
    one_second_late = as_utc + timedelta(seconds=1)
    assert evaluate_booking(booking, monday, one_second_late, NO_CLOSURES, 1).status == "refused"


def test_the_day_before_a_dst_change_has_the_old_offset() -> None:
    deadline = deadline_for(rule(**THREE_DAYS), date(2026, 3, 31))  # Saturday 28 March
    assert deadline is not None
    assert deadline.utcoffset() == timedelta(hours=1)


def test_a_non_existent_wall_clock_time_moves_forward_an_hour() -> None:
    at_half_past_two = rule(rule="days_before", days=0, time="02:30")
    deadline = deadline_for(at_half_past_two, date(2026, 3, 29))
    assert deadline == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert deadline is not None
    assert (deadline.hour, deadline.minute, deadline.utcoffset()) == (3, 30, timedelta(hours=2))


def test_an_ambiguous_wall_clock_time_is_the_first_occurrence() -> None:
    deadline = at_paris(date(2026, 10, 25), time(2, 30))
    # Compare in UTC: Python never finds a repeated-hour time equal to one of another zone.
    assert deadline.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert deadline.utcoffset() == timedelta(hours=2)


def test_the_repeated_hour_is_compared_by_instant_not_by_wall_clock() -> None:
    at_half_past_two = rules(booking={"rule": "days_before", "days": 0, "time": "02:30"})
    day = date(2026, 10, 25)
    # 02:15 winter time (second pass through the hour) is 45 minutes after 02:30 summer time.
    second_pass = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=PARIS)
    first_pass = datetime(2026, 10, 25, 2, 15, fold=0, tzinfo=PARIS)
    assert evaluate_booking(at_half_past_two, day, first_pass, NO_CLOSURES, 1).status == "on_time"
    assert evaluate_booking(at_half_past_two, day, second_pass, NO_CLOSURES, 1).status == (
        "refused"
    )


# --- past days -------------------------------------------------------------------------------


def test_a_past_day_is_refused_in_paris_time() -> None:
    same_day = rules(booking={"rule": "days_before", "days": 0, "time": "23:59"})
    # 23:30 UTC on 9 December is already 10 December in Paris.
    late_evening = datetime(2026, 12, 9, 23, 30, tzinfo=UTC)
    booking = evaluate_booking(same_day, WED, late_evening, NO_CLOSURES, 100)
    cancellation = evaluate_cancellation(same_day, WED, late_evening, NO_CLOSURES, 100)
    assert (booking.status, booking.reason) == (BookingStatus.REFUSED, Reason.PAST)
    assert (cancellation.status, cancellation.reason) == (CancellationStatus.REFUSED, Reason.PAST)
    just_before = datetime(2026, 12, 9, 22, 59, tzinfo=UTC)
    assert evaluate_booking(same_day, WED, just_before, NO_CLOSURES, 100).status == "on_time"


# --- late booking and late cancellation ------------------------------------------------------

LATE_NOW = paris(date(2026, 12, 7))


@pytest.mark.parametrize(
    ("late_booking", "surcharge"),
    [
        ({"mode": "surcharge", "percent": 50}, 205),
        ({"mode": "surcharge", "percent": 25}, 103),  # 102.5 rounded half up
        ({"mode": "surcharge", "fixed": "2,00"}, 200),
        ({"mode": "surcharge", "fixed": 1.5}, 150),
        ({"mode": "surcharge", "fixed_cents": 75}, 75),
    ],
)
def test_late_booking_with_a_surcharge(late_booking: dict[str, Any], surcharge: int) -> None:
    policy = rules(booking=THREE_DAYS, late_booking=late_booking)
    decision = evaluate_booking(policy, WED, LATE_NOW, NO_CLOSURES, 410)
    assert decision.status is BookingStatus.LATE
    assert (decision.price_cents, decision.surcharge_cents) == (410 + surcharge, surcharge)
    assert decision.deadline == paris(date(2026, 12, 6), "12:00")
    assert decision.reason is None


@pytest.mark.parametrize(
    ("late_cancellation", "status", "fee", "reason"),
    [
        ({"mode": "bill_full"}, CancellationStatus.LATE_BILLED, 410, None),
        ({"mode": "bill_reduced", "percent": 50}, CancellationStatus.LATE_BILLED, 205, None),
        ({"mode": "refuse"}, CancellationStatus.REFUSED, 0, Reason.DEADLINE_PASSED),
    ],
)
def test_late_cancellation_modes(
    late_cancellation: dict[str, Any],
    status: CancellationStatus,
    fee: int,
    reason: Reason | None,
) -> None:
    policy = rules(booking=THREE_DAYS, late_cancellation=late_cancellation)
    decision = evaluate_cancellation(policy, WED, LATE_NOW, NO_CLOSURES, 410)
    assert (decision.status, decision.fee_cents, decision.reason) == (status, fee, reason)
    assert decision.deadline == paris(date(2026, 12, 6), "12:00")


def test_cancellation_is_free_until_its_own_deadline() -> None:
    policy = rules(
        booking={"rule": "weekday_before", "weekday": "thursday", "time": "12:00"},
        cancellation={"rule": "days_before", "days": 2, "time": "18:00"},
    )
    on_time = evaluate_cancellation(policy, WED, paris(date(2026, 12, 7), "18:00"), NO_CLOSURES, 9)
    late = evaluate_cancellation(policy, WED, paris(date(2026, 12, 7), "18:01"), NO_CLOSURES, 9)
    assert (on_time.status, on_time.fee_cents) == (CancellationStatus.FREE, 0)
    assert on_time.deadline == paris(date(2026, 12, 7), "18:00")
    assert (late.status, late.fee_cents) == (CancellationStatus.LATE_BILLED, 9)


# --- windows and freezes ---------------------------------------------------------------------

CHRISTMAS = {
    "booking": {"rule": "window_only"},
    "windows": [
        {
            "label": "Noël 2026",
            "start": "2026-12-19",
            "end": "2027-01-03",
            "opens": "2026-11-03T08:00",
            "closes": "2026-12-03T23:59",
        }
    ],
    "late_booking": {"mode": "surcharge", "percent": 50},
}
HOLIDAY = date(2026, 12, 21)
OPENS = paris(date(2026, 11, 3), "08:00")
CLOSES = paris(date(2026, 12, 3), "23:59")


@pytest.mark.parametrize(
    ("now", "status", "reason"),
    [
        (OPENS - timedelta(seconds=1), BookingStatus.REFUSED, Reason.WINDOW_NOT_OPEN),
        (OPENS, BookingStatus.ON_TIME, None),
        (CLOSES, BookingStatus.ON_TIME, None),
        (CLOSES + timedelta(seconds=1), BookingStatus.REFUSED, Reason.WINDOW_CLOSED),
    ],
)
def test_a_window_is_open_from_opens_until_closes_included(
    now: datetime, status: BookingStatus, reason: Reason | None
) -> None:
    decision = evaluate_booking(rules(**CHRISTMAS), HOLIDAY, now, NO_CLOSURES, 500)
    assert (decision.status, decision.reason) == (status, reason)
    if reason is Reason.WINDOW_NOT_OPEN:
        assert (decision.opens_at, decision.deadline) == (OPENS, None)
    else:
        assert decision.deadline == CLOSES


def test_a_window_applies_to_cancellation_too_without_late_mode() -> None:
    policy = rules(**CHRISTMAS)
    inside = evaluate_cancellation(policy, HOLIDAY, CLOSES, NO_CLOSURES, 5)
    after = evaluate_cancellation(policy, HOLIDAY, CLOSES + timedelta(minutes=1), NO_CLOSURES, 5)
    before = evaluate_cancellation(policy, HOLIDAY, OPENS - timedelta(days=1), NO_CLOSURES, 5)
    assert (inside.status, inside.deadline) == (CancellationStatus.FREE, CLOSES)
    assert (after.status, after.reason) == (CancellationStatus.REFUSED, Reason.WINDOW_CLOSED)
    assert (before.status, before.reason, before.opens_at) == (
        CancellationStatus.REFUSED,
        Reason.WINDOW_NOT_OPEN,
        OPENS,
    )


def test_window_only_refuses_days_outside_every_window() -> None:
    decision = evaluate_booking(rules(**CHRISTMAS), date(2027, 1, 4), OPENS, NO_CLOSURES, 500)
    assert (decision.status, decision.reason) == (BookingStatus.REFUSED, Reason.NO_WINDOW)


def test_a_window_overrides_a_deadline_rule_on_its_days_only() -> None:
    policy = rules(**{**CHRISTMAS, "booking": THREE_DAYS})
    # Before the window opens, a day it covers is refused even though the rule would allow it.
    covered = evaluate_booking(policy, HOLIDAY, OPENS - timedelta(days=1), NO_CLOSURES, 500)
    assert covered.reason is Reason.WINDOW_NOT_OPEN
    # After it closes, no late mode applies, whatever the rule says.
    closed = evaluate_booking(policy, HOLIDAY, CLOSES + timedelta(days=1), NO_CLOSURES, 500)
    assert closed.reason is Reason.WINDOW_CLOSED
    outside = evaluate_booking(policy, date(2027, 1, 4), OPENS, NO_CLOSURES, 500)
    assert outside.status is BookingStatus.ON_TIME
    assert outside.deadline == paris(date(2027, 1, 1), "12:00")


def test_overlapping_windows_use_the_open_one() -> None:
    second = {
        "start": "2026-12-21",
        "end": "2026-12-24",
        "opens": "2026-12-05T08:00",
        "closes": "2026-12-10T12:00",
    }
    policy = rules(**{**CHRISTMAS, "windows": [*CHRISTMAS["windows"], second]})
    reopened = evaluate_booking(policy, HOLIDAY, paris(date(2026, 12, 6)), NO_CLOSURES, 500)
    assert (reopened.status, reopened.deadline) == (
        BookingStatus.ON_TIME,
        paris(date(2026, 12, 10), "12:00"),
    )
    between = evaluate_booking(policy, HOLIDAY, paris(date(2026, 12, 4)), NO_CLOSURES, 500)
    assert (between.reason, between.opens_at) == (
        Reason.WINDOW_NOT_OPEN,
        paris(date(2026, 12, 5), "08:00"),
    )


def test_a_freeze_makes_days_read_only_from_its_moment() -> None:
    policy = rules(
        booking=THREE_DAYS,
        freezes=[{"start": "2026-12-21", "end": "2026-12-24", "at": "2026-12-04T00:00"}],
        late_booking={"mode": "surcharge", "percent": 10},
    )
    frozen_at = paris(date(2026, 12, 4), "00:00")
    before = frozen_at - timedelta(seconds=1)
    assert evaluate_booking(policy, HOLIDAY, before, NO_CLOSURES, 5).status == "on_time"
    booking = evaluate_booking(policy, HOLIDAY, frozen_at, NO_CLOSURES, 5)
    cancellation = evaluate_cancellation(policy, HOLIDAY, frozen_at, NO_CLOSURES, 5)
    assert (booking.status, booking.reason) == (BookingStatus.REFUSED, Reason.FROZEN)
    assert (cancellation.status, cancellation.reason) == (CancellationStatus.REFUSED, "frozen")
    unfrozen = evaluate_booking(policy, date(2026, 12, 28), frozen_at, NO_CLOSURES, 5)
    assert unfrozen.status is BookingStatus.ON_TIME


def test_a_freeze_wins_over_an_open_window() -> None:
    policy = rules(**CHRISTMAS, freezes=[{"start": HOLIDAY, "end": HOLIDAY, "at": OPENS}])
    decision = evaluate_booking(policy, HOLIDAY, OPENS, NO_CLOSURES, 500)
    assert decision.reason is Reason.FROZEN


# --- next bookable date ----------------------------------------------------------------------


def test_next_bookable_date_is_the_first_still_open_candidate() -> None:
    now = paris(date(2026, 12, 7))
    candidates = [date(2026, 12, 16), date(2026, 12, 8), date(2026, 12, 11), date(2026, 12, 1)]
    assert next_bookable_date(rules(booking=THREE_DAYS), candidates, now, NO_CLOSURES) == date(
        2026, 12, 11
    )
    surcharged = rules(booking=THREE_DAYS, late_booking={"mode": "surcharge", "percent": 50})
    assert next_bookable_date(surcharged, candidates, now, NO_CLOSURES) == date(2026, 12, 8)
    assert next_bookable_date(rules(booking=THREE_DAYS), candidates[1:2], now, NO_CLOSURES) is None
    assert next_bookable_date(ActivityRules(), iter([]), now, NO_CLOSURES) is None


# --- explanations ----------------------------------------------------------------------------


def test_explanation_of_an_on_time_booking() -> None:
    thursday = rules(booking={"rule": "weekday_before", "weekday": "jeudi", "time": "12:00"})
    decision = evaluate_booking(
        thursday, date(2026, 12, 7), paris(date(2026, 12, 1)), NO_CLOSURES, 1
    )
    assert (
        explain_booking(decision, "fr") == "Réservation possible jusqu'au jeudi 3 décembre à 12 h"
    )
    assert explain_booking(decision, "en") == "Booking open until Thursday 3 December, 12:00"


def test_explanation_of_a_late_booking_with_its_surcharge() -> None:
    policy = rules(
        booking={"rule": "days_before", "days": 2, "time": "12:30"},
        late_booking={"mode": "surcharge", "fixed": "1,50"},
    )
    now = paris(date(2026, 12, 7), "13:00")
    decision = evaluate_booking(policy, WED, now, NO_CLOSURES, 410)
    assert explain_booking(decision, "fr") == (
        "Délai dépassé depuis le lundi 7 décembre à 12 h 30 : "
        "réservation possible avec une majoration de 1,50\xa0€"
    )
    assert explain_booking(decision, "en_GB") == (
        "Deadline passed on Monday 7 December, 12:30: "
        "booking still possible with a €1.50 surcharge"
    )


def test_explanation_of_refusals() -> None:
    late = evaluate_booking(rules(booking=THREE_DAYS), WED, LATE_NOW, NO_CLOSURES, 1)
    assert explain_booking(late, "fr") == (
        "Réservation impossible : le délai a expiré le dimanche 6 décembre à 12 h"
    )
    assert explain_booking(late, "en") == (
        "Booking closed: the deadline was Sunday 6 December, 12:00"
    )
    past = evaluate_booking(ActivityRules(), date(2026, 12, 1), LATE_NOW, NO_CLOSURES, 1)
    assert (
        explain_booking(past, "fr") == "Le mardi 1er décembre est passé : réservation impossible"
    )
    assert explain_booking(past, "en") == (
        "Tuesday 1 December is in the past: it can no longer be booked"
    )
    christmas = rules(**CHRISTMAS)
    not_open = evaluate_booking(christmas, HOLIDAY, paris(date(2026, 11, 1)), NO_CLOSURES, 1)
    assert explain_booking(not_open, "fr") == (
        "Les réservations pour le lundi 21 décembre ouvriront le mardi 3 novembre à 8 h"
    )
    closed = evaluate_booking(christmas, HOLIDAY, paris(date(2026, 12, 5)), NO_CLOSURES, 1)
    assert explain_booking(closed, "en") == (
        "Booking for Monday 21 December closed on Thursday 3 December, 23:59"
    )
    no_window = evaluate_booking(christmas, date(2027, 1, 4), OPENS, NO_CLOSURES, 1)
    assert (
        explain_booking(no_window, "fr")
        == "Aucune période de réservation ne couvre le lundi 4 janvier"
    )


def test_explanation_of_cancellations() -> None:
    policy = rules(booking=THREE_DAYS, late_cancellation={"mode": "bill_reduced", "percent": 50})
    free = evaluate_cancellation(policy, WED, paris(date(2026, 12, 1)), NO_CLOSURES, 410)
    billed = evaluate_cancellation(policy, WED, LATE_NOW, NO_CLOSURES, 410)
    assert (
        explain_cancellation(free, "fr")
        == "Annulation gratuite jusqu'au dimanche 6 décembre à 12 h"
    )
    assert explain_cancellation(free, "en") == "Free cancellation until Sunday 6 December, 12:00"
    assert explain_cancellation(billed, "fr") == (
        "Délai d'annulation dépassé depuis le dimanche 6 décembre à 12 h : "
        "la journée sera facturée 2,05\xa0€"
    )
    assert explain_cancellation(billed, "en") == (
        "Cancellation deadline passed on Sunday 6 December, 12:00: the day will be billed €2.05"
    )
    refused = evaluate_cancellation(
        rules(booking=THREE_DAYS, late_cancellation={"mode": "refuse"}),
        WED,
        LATE_NOW,
        NO_CLOSURES,
        410,
    )
    assert explain_cancellation(refused, "fr") == (
        "Annulation impossible : le délai a expiré le dimanche 6 décembre à 12 h"
    )


@pytest.mark.parametrize("reason", list(Reason))
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_every_refusal_has_a_sentence(reason: Reason, locale: str) -> None:
    deadline, opens = paris(date(2026, 12, 3), "23:59"), paris(date(2026, 11, 3), "08:00")
    booking = BookingDecision(WED, BookingStatus.REFUSED, 0, 0, deadline, opens, reason)
    cancellation = CancellationDecision(
        WED, CancellationStatus.REFUSED, 0, deadline, opens, reason
    )
    for sentence in (explain_booking(booking, locale), explain_cancellation(cancellation, locale)):
        assert sentence[:1].isupper()
        assert "{" not in sentence
