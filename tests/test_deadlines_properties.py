"""Properties of the deadline rules over random days (2025-2030), rules and calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.kit.deadlines import explain_booking, explain_cancellation
from store.deadlines import (
    PARIS,
    BookingStatus,
    CancellationStatus,
    WorkingCalendar,
    at_paris,
    deadline_for,
    evaluate_booking,
    evaluate_cancellation,
)
from store.policies import ActivityRules, DaysBefore

FAST = settings(max_examples=200, deadline=None)
WEEKDAYS_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
ZONES = [UTC, PARIS, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")]

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31))
# The DST hours are over-represented so that gaps and repeated hours are exercised.
clock_times = st.builds(
    lambda hour, minute: f"{hour:02d}:{minute:02d}",
    st.one_of(st.integers(0, 23), st.sampled_from([2, 3, 12, 23])),
    st.integers(0, 59),
)
weekdays = st.one_of(st.sampled_from(WEEKDAYS_EN), st.sampled_from(WEEKDAYS_FR))
skipped_weekdays = st.lists(st.sampled_from(WEEKDAYS_FR), max_size=3)

days_before = st.fixed_dictionaries(
    {
        "rule": st.just("days_before"),
        "days": st.integers(0, 15),
        "count": st.just("calendar"),
        "time": clock_times,
    }
) | st.fixed_dictionaries(
    {
        "rule": st.just("days_before"),
        "days": st.integers(0, 15),
        "count": st.just("working"),
        "time": clock_times,
        "skip_weekdays": skipped_weekdays,
    }
)
weekday_before = st.fixed_dictionaries(
    {"rule": st.just("weekday_before"), "weekday": weekdays, "time": clock_times}
)
previous_week = st.fixed_dictionaries(
    {
        "rule": st.just("previous_week"),
        "weekday": weekdays,
        "weeks_before": st.integers(1, 2),
        "time": clock_times,
    }
)
previous_month_day = st.fixed_dictionaries(
    {
        "rule": st.just("previous_month_day"),
        "day": st.integers(1, 31),
        "time": clock_times,
        "shift": st.sampled_from(["earlier", "later", "stay"]),
    }
)
deadline_rules = st.one_of(days_before, weekday_before, previous_week, previous_month_day)
late_bookings = st.one_of(
    st.just({"mode": "refuse"}),
    st.builds(lambda p: {"mode": "surcharge", "percent": p}, st.integers(1, 200)),
    st.builds(lambda c: {"mode": "surcharge", "fixed_cents": c}, st.integers(1, 1000)),
)
late_cancellations = st.one_of(
    st.just({"mode": "bill_full"}),
    st.just({"mode": "refuse"}),
    st.builds(lambda p: {"mode": "bill_reduced", "percent": p}, st.integers(0, 100)),
)


@st.composite
def activity_rules(draw: st.DrawFn) -> ActivityRules:
    """Random valid rules using the deadline rules 1 to 4 (no windows nor freezes)."""
    fields: dict[str, Any] = {
        "booking": draw(deadline_rules),
        "late_booking": draw(late_bookings),
        "late_cancellation": draw(late_cancellations),
    }
    if draw(st.booleans()):
        fields["cancellation"] = draw(deadline_rules)
    return ActivityRules.model_validate(fields)


@st.composite
def calendars(draw: st.DrawFn) -> WorkingCalendar:
    """A facility calendar with a few random closed days and maybe a skipped weekday."""
    start = draw(days)
    closed = draw(st.lists(st.integers(-60, 60), max_size=10))
    skipped = draw(st.sets(st.integers(0, 4), max_size=1))
    return WorkingCalendar(
        closed_days=frozenset(start + timedelta(days=n) for n in closed),
        skip_weekdays=frozenset(skipped),
    )


def moments_around(deadline: datetime) -> st.SearchStrategy[datetime]:
    """Aware moments in various zones within ten days of a deadline, down to the second."""
    return st.builds(
        lambda seconds, zone: (deadline + timedelta(seconds=seconds)).astimezone(zone),
        st.integers(-10 * 86400, 10 * 86400),
        st.sampled_from(ZONES),
    )


@FAST
@given(rule=deadline_rules, day=days, calendar=calendars())
def test_a_deadline_is_never_after_the_day(
    rule: dict[str, Any], day: date, calendar: WorkingCalendar
) -> None:
    """Same-day rules end at the cut-off on the day; every other rule before the day starts."""
    parsed = ActivityRules.model_validate({"booking": rule}).booking
    deadline = deadline_for(parsed, day, calendar)
    assert deadline is not None
    if isinstance(parsed, DaysBefore) and parsed.days == 0:
        assert deadline.astimezone(UTC) == at_paris(day, parsed.time).astimezone(UTC)
    else:
        assert deadline < at_paris(day, time(0, 0))


@FAST
@given(rule=deadline_rules, day=days, calendar=calendars())
def test_a_deadline_is_the_cut_off_wall_clock_in_paris(
    rule: dict[str, Any], day: date, calendar: WorkingCalendar
) -> None:
    """The wall clock is the rule's time, unless that time does not exist that day (DST gap)."""
    parsed = ActivityRules.model_validate({"booking": rule}).booking
    deadline = deadline_for(parsed, day, calendar)
    assert deadline is not None
    assert deadline.tzinfo is PARIS
    assert deadline.second == deadline.microsecond == 0
    naive = datetime.combine(deadline.date(), parsed.time)
    in_gap = (
        naive.replace(tzinfo=PARIS).astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != naive
    )
    if in_gap:
        assert deadline.time() == (naive + timedelta(hours=1)).time()
    else:
        assert deadline.time() == parsed.time


BOOKING_RANK = {BookingStatus.ON_TIME: 0, BookingStatus.LATE: 1, BookingStatus.REFUSED: 2}
CANCELLATION_RANK = {
    CancellationStatus.FREE: 0,
    CancellationStatus.LATE_BILLED: 1,
    CancellationStatus.REFUSED: 2,
}


@FAST
@given(data=st.data(), rules=activity_rules(), day=days, calendar=calendars())
def test_moving_the_clock_forward_never_reopens_a_day(
    data: st.DataObject, rules: ActivityRules, day: date, calendar: WorkingCalendar
) -> None:
    """on_time -> late -> refused only ever goes forward as time passes (rules 1 to 4)."""
    deadline = deadline_for(rules.booking, day, calendar)
    assert deadline is not None
    now1 = data.draw(moments_around(deadline), label="now1")
    now2 = now1 + timedelta(seconds=data.draw(st.integers(1, 5 * 86400), label="later by"))
    first = evaluate_booking(rules, day, now1, calendar, 500)
    second = evaluate_booking(rules, day, now2, calendar, 500)
    assert BOOKING_RANK[first.status] <= BOOKING_RANK[second.status]
    if first.status is not BookingStatus.ON_TIME:
        assert second.status is not BookingStatus.ON_TIME
    cancel_first = evaluate_cancellation(rules, day, now1, calendar, 500)
    cancel_second = evaluate_cancellation(rules, day, now2, calendar, 500)
    assert CANCELLATION_RANK[cancel_first.status] <= CANCELLATION_RANK[cancel_second.status]


@FAST
@given(data=st.data(), rules=activity_rules(), day=days, calendar=calendars())
def test_on_time_exactly_until_the_deadline(
    data: st.DataObject, rules: ActivityRules, day: date, calendar: WorkingCalendar
) -> None:
    """On time iff now <= deadline, for any day not yet past."""
    deadline = deadline_for(rules.booking, day, calendar)
    assert deadline is not None
    now = data.draw(moments_around(deadline), label="now")
    decision = evaluate_booking(rules, day, now, calendar, 500)
    if day < now.astimezone(PARIS).date():
        assert decision.reason == "past"
    else:
        assert decision.deadline == deadline
        # Compared in UTC: same-zone comparisons ignore `fold` in the repeated autumn hour.
        on_time = now.astimezone(UTC) <= deadline.astimezone(UTC)
        assert (decision.status is BookingStatus.ON_TIME) == on_time
        assert decision.price_cents == (0 if decision.status is BookingStatus.REFUSED else 500) + (
            decision.surcharge_cents
        )


def expected_moment(deadline: datetime, language: str) -> str:
    """The deadline as the sentence should show it, built from Babel's names."""
    weekday = format_date(deadline, "EEEE", locale=language)
    month = format_date(deadline, "MMMM", locale=language)
    if language == "en":
        return f"{weekday} {deadline.day} {month}, {deadline:%H:%M}"
    number = "1er" if deadline.day == 1 else str(deadline.day)
    clock = f"{deadline.hour} h" + (f" {deadline.minute:02d}" if deadline.minute else "")
    return f"{weekday} {number} {month} à {clock}"


@FAST
@given(
    data=st.data(),
    rules=activity_rules(),
    day=days,
    calendar=calendars(),
    language=st.sampled_from(["fr", "en"]),
)
def test_the_explanation_shows_the_computed_deadline(
    data: st.DataObject,
    rules: ActivityRules,
    day: date,
    calendar: WorkingCalendar,
    language: str,
) -> None:
    deadline = deadline_for(rules.booking, day, calendar)
    assert deadline is not None
    now = data.draw(moments_around(deadline), label="now")
    booking = evaluate_booking(rules, day, now, calendar, 500)
    cancellation = evaluate_cancellation(rules, day, now, calendar, 500)
    for decision, sentence in (
        (booking, explain_booking(booking, language)),
        (cancellation, explain_cancellation(cancellation, language)),
    ):
        if decision.deadline is None:
            assert decision.reason == "past"
            continue
        assert expected_moment(decision.deadline, language) in sentence
        assert sentence[0].isupper()
