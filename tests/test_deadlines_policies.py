"""Validation of the deadline policies as they are read from the import file."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from store.policies import (
    PARIS,
    ActivityRules,
    DayCount,
    DaysBefore,
    LateBookingMode,
    LateCancellationMode,
    PreviousMonthDay,
    Shift,
    WeekdayBefore,
    WindowOnly,
    parse_weekday,
)


def rules(**fields: Any) -> ActivityRules:
    return ActivityRules.model_validate(fields)


def error_of(**fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        ActivityRules.model_validate(fields)
    return str(caught.value)


def test_defaults() -> None:
    defaults = ActivityRules()
    assert defaults.booking == DaysBefore(rule="days_before", days=3, count=DayCount.CALENDAR)
    assert defaults.booking.time == time(12, 0)
    assert defaults.cancellation == defaults.booking
    assert (defaults.windows, defaults.freezes) == ((), ())
    assert defaults.late_booking.mode is LateBookingMode.REFUSE
    assert defaults.late_cancellation.mode is LateCancellationMode.BILL_FULL
    assert ActivityRules.model_validate({}) == defaults


def test_cancellation_defaults_to_the_booking_rule() -> None:
    policy = rules(booking={"rule": "weekday_before", "weekday": "jeudi", "time": "12:00"})
    assert (
        policy.cancellation
        == policy.booking
        == WeekdayBefore(rule="weekday_before", weekday=3, time=time(12, 0))
    )


@pytest.mark.parametrize(
    ("name", "number"),
    [("monday", 0), ("Lundi", 0), ("MERCREDI", 2), (" sunday ", 6), ("dimanche", 6), (4, 4)],
)
def test_weekdays_in_english_or_french(name: Any, number: int) -> None:
    assert parse_weekday(name) == number


@pytest.mark.parametrize("name", ["mondy", "", 7, -1, True, None])
def test_unknown_weekdays_are_refused(name: Any) -> None:
    with pytest.raises(ValueError, match="weekday"):
        parse_weekday(name)


def test_the_rule_kind_is_the_discriminator() -> None:
    assert isinstance(rules(booking={"rule": "window_only"}).booking, WindowOnly)
    message = error_of(booking={"rule": "days_after", "days": 2})
    assert "days_before" in message and "window_only" in message


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (720, "quote it"),  # YAML 1.1 reads an unquoted 12:00 as 720
        ("24:00", "not a time of day"),
        ("12h00", "HH:MM"),
        ("12:00:30", "HH:MM"),
        ("9:5", "HH:MM"),
    ],
)
def test_times_are_hh_mm_strings(value: Any, hint: str) -> None:
    assert hint in error_of(booking={"rule": "days_before", "days": 1, "time": value})


def test_an_unquoted_yaml_time_gets_a_clear_error() -> None:
    document = yaml.safe_load("booking: {rule: weekday_before, weekday: jeudi, time: 12:00}")
    with pytest.raises(ValidationError, match="quote it"):
        ActivityRules.model_validate(document)


def test_a_full_yaml_document() -> None:
    document = yaml.safe_load(
        """
        booking: {rule: previous_month_day, day: 20, time: "23:59", shift: later}
        cancellation: {rule: days_before, days: 3, count: working, time: "9:00",
                       skip_weekdays: [mercredi]}
        windows:
          - {label: "Noël 2026", start: 2026-12-19, end: 2027-01-03,
             opens: "2026-11-03T08:00", closes: 2026-12-03 23:59:00}
        freezes:
          - {start: 2026-12-19, end: 2027-01-03, at: "2026-12-04T00:00:00+00:00"}
        late_booking: {mode: surcharge, fixed: "2,00"}
        late_cancellation: {mode: bill_reduced, percent: 50}
        """
    )
    policy = ActivityRules.model_validate(document)
    assert policy.booking == PreviousMonthDay(
        rule="previous_month_day", day=20, time=time(23, 59), shift=Shift.LATER
    )
    assert isinstance(policy.cancellation, DaysBefore)
    assert policy.cancellation.skip_weekdays == frozenset({2})
    assert policy.cancellation.time == time(9, 0)
    [window] = policy.windows
    assert window.opens == datetime(2026, 11, 3, 8, 0, tzinfo=PARIS)
    assert window.closes == datetime(2026, 12, 3, 23, 59, tzinfo=PARIS)
    assert window.opens.tzinfo is PARIS
    # An aware moment is converted to Paris.
    assert policy.freezes[0].at == datetime(2026, 12, 4, 1, 0, tzinfo=PARIS)
    assert policy.late_booking.fixed_cents == 200
    assert policy.late_cancellation.percent == 50


def test_json_round_trip() -> None:
    policy = rules(
        booking={"rule": "days_before", "days": 2, "count": "working", "skip_weekdays": ["lundi"]},
        cancellation={"rule": "previous_week", "weekday": "mardi", "weeks_before": 2},
        windows=[
            {
                "label": "Été",
                "start": date(2027, 7, 5),
                "end": date(2027, 8, 27),
                "opens": "2027-05-01T08:00",
                "closes": "2027-06-15T12:00",
            }
        ],
        late_booking={"mode": "surcharge", "percent": 20},
    )
    stored = policy.model_dump(mode="json")
    assert stored["booking"]["time"] == "12:00"
    assert stored["cancellation"]["weekday"] == 1
    assert stored["windows"][0]["opens"] == "2027-05-01T08:00:00+02:00"
    assert ActivityRules.model_validate(stored) == policy


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"booking": {"rule": "days_before", "days": -1}}, "greater than or equal to 0"),
        ({"booking": {"rule": "days_before", "days": 1, "typo": 1}}, "Extra inputs"),
        ({"booking": {"rule": "previous_week", "weekday": 1, "weeks_before": 3}}, "less than"),
        ({"booking": {"rule": "previous_month_day", "day": 32}}, "less than or equal to 31"),
        ({"booking": {"rule": "previous_month_day", "day": 5, "shift": "up"}}, "earlier"),
        ({"booking": {"rule": "weekday_before", "weekday": "jeudy"}}, "unknown weekday"),
        ({"booking": {"rule": "days_before", "days": 1, "count": "weekly"}}, "working"),
        (
            {"booking": {"rule": "days_before", "days": 1, "skip_weekdays": ["lundi"]}},
            "only applies with count: working",
        ),
        (
            {
                "booking": {
                    "rule": "days_before",
                    "days": 1,
                    "count": "working",
                    "skip_weekdays": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
                }
            },
            "cannot skip every weekday",
        ),
        ({"late_booking": {"mode": "surcharge"}}, "exactly one of percent or fixed"),
        (
            {"late_booking": {"mode": "surcharge", "percent": 10, "fixed": "1"}},
            "exactly one of percent or fixed",
        ),
        ({"late_booking": {"mode": "refuse", "percent": 10}}, "takes no percent"),
        ({"late_booking": {"mode": "surcharge", "fixed": "1,234"}}, "more than two decimals"),
        ({"late_booking": {"mode": "surcharge", "fixed": "abc"}}, "not an amount"),
        ({"late_booking": {"mode": "surcharge", "fixed": "1", "fixed_cents": 1}}, "not both"),
        ({"late_cancellation": {"mode": "bill_reduced"}}, "needs a percent"),
        ({"late_cancellation": {"mode": "bill_full", "percent": 50}}, "takes no percent"),
        ({"late_cancellation": {"mode": "bill_reduced", "percent": 150}}, "less than or equal"),
        (
            {
                "windows": [
                    {
                        "label": "Noël",
                        "start": "2026-12-19",
                        "end": "2026-12-01",
                        "opens": "2026-11-03T08:00",
                        "closes": "2026-12-03T23:59",
                    }
                ]
            },
            "end 2026-12-01 is before start",
        ),
        (
            {
                "windows": [
                    {
                        "label": "Noël",
                        "start": "2026-12-19",
                        "end": "2027-01-03",
                        "opens": "2026-12-03T23:59",
                        "closes": "2026-11-03T08:00",
                    }
                ]
            },
            "closes must be after opens",
        ),
        ({"freezes": [{"start": "2026-12-19", "end": "2026-12-18", "at": "2026-12-01"}]}, "end"),
    ],
)
def test_clear_validation_errors(fields: dict[str, Any], message: str) -> None:
    assert message in error_of(**fields)


def test_rules_are_immutable() -> None:
    policy = ActivityRules()
    with pytest.raises(ValidationError):
        policy.booking = WindowOnly(rule="window_only")  # type: ignore[misc]


def test_naive_datetimes_are_paris_wall_clock_even_in_summer() -> None:
    policy = rules(
        freezes=[{"start": "2027-07-01", "end": "2027-07-02", "at": "2027-06-30T18:00"}]
    )
    at = policy.freezes[0].at
    assert at.utcoffset() == timedelta(hours=2)
    assert at.astimezone(UTC) == datetime(2027, 6, 30, 16, 0, tzinfo=UTC)
