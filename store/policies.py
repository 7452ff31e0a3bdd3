"""Booking and cancellation policies of an activity, as validated from the import file.

`ActivityRules` is stored as JSON on each activity. Times are "HH:MM" strings, weekdays are
English or French names (stored as 0 = Monday), amounts are euros. Naive datetimes are read as
Paris wall-clock time (see `paris_wall_clock`). The evaluation of these rules against the
clock lives in `store.deadlines`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

PARIS = ZoneInfo("Europe/Paris")

WEEKDAY_NAMES: dict[str, int] = {
    name: number
    for names in (
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    )
    for number, name in enumerate(names)
}


def paris_wall_clock(moment: datetime) -> datetime:
    """Read a naive datetime as Paris wall-clock time; convert an aware one to Paris.

    A wall-clock time that does not exist (02:30 on the spring-forward Sunday) is taken with
    the offset in force just before the change and normalised through UTC, i.e. it becomes
    03:30 summer time. An ambiguous one (02:30 on the fall-back Sunday) is the first,
    earlier occurrence (summer time, fold=0).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS, fold=0)
    return moment.astimezone(UTC).astimezone(PARIS)


def parse_weekday(value: Any) -> int:
    """A weekday number 0 = Monday from an English or French name, or from 0..6."""
    if isinstance(value, bool):
        raise ValueError("a weekday name is expected")
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise ValueError(f"a weekday number is 0 (Monday) to 6 (Sunday), not {value}")
    if isinstance(value, str):
        number = WEEKDAY_NAMES.get(value.strip().lower())
        if number is not None:
            return number
    raise ValueError(f"unknown weekday {value!r}: expected monday..sunday or lundi..dimanche")


def parse_clock_time(value: Any) -> time:
    """A time of day from "HH:MM" (or a `time` without seconds)."""
    if isinstance(value, time):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        hours, _, minutes = text.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
            raise ValueError(f'a time "HH:MM" is expected, not {value!r}')
        if int(hours) > 23 or int(minutes) > 59:
            raise ValueError(f"not a time of day: {value!r}")
        moment = time(int(hours), int(minutes))
    elif isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 12:00 as the number 720.
        raise ValueError(f'a time "HH:MM" is expected, not {value!r} (quote it in YAML: "12:00")')
    else:
        raise ValueError(f'a time "HH:MM" is expected, not {value!r}')
    if moment.second or moment.microsecond or moment.tzinfo is not None:
        raise ValueError('a time "HH:MM" is expected, without seconds nor time zone')
    return moment


def euros_to_cents(value: Any) -> int:
    """An amount in euros ("2,00", "2.00", 2) as integer cents."""
    if isinstance(value, bool):
        raise ValueError("an amount in euros is expected")
    try:
        amount = Decimal(str(value).replace(",", ".").replace("€", "").strip())
    except InvalidOperation as error:
        raise ValueError(f"not an amount in euros: {value!r}") from error
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"more than two decimals: {value!r}")
    return int(cents)


Weekday = Annotated[int, BeforeValidator(parse_weekday)]
ClockTime = Annotated[
    time,
    BeforeValidator(parse_clock_time),
    PlainSerializer(lambda moment: moment.strftime("%H:%M"), return_type=str),
]
ParisDateTime = Annotated[datetime, AfterValidator(paris_wall_clock)]
NOON = time(12, 0)


class Strict(BaseModel):
    """Unknown fields are errors: a typo in the file must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class DayCount(StrEnum):
    """How `days_before` counts days."""

    CALENDAR = "calendar"
    WORKING = "working"


class Shift(StrEnum):
    """Where `previous_month_day` moves a cut-off day that is not a working day."""

    EARLIER = "earlier"
    LATER = "later"
    STAY = "stay"


class DaysBefore(Strict):
    """N calendar or working days before the day, at `time` ("3 jours ouvrés avant, 12 h")."""

    rule: Literal["days_before"]
    days: int = Field(ge=0, le=366)
    count: DayCount = DayCount.CALENDAR
    time: ClockTime = NOON
    skip_weekdays: frozenset[Weekday] = frozenset()

    @model_validator(mode="after")
    def _check_skipped_weekdays(self) -> DaysBefore:
        if self.skip_weekdays and self.count is not DayCount.WORKING:
            raise ValueError("skip_weekdays only applies with count: working")
        if set(range(5)) <= self.skip_weekdays:
            raise ValueError("skip_weekdays cannot skip every weekday from Monday to Friday")
        return self


class WeekdayBefore(Strict):
    """The last given weekday strictly before the day ("le jeudi précédent à 12 h")."""

    rule: Literal["weekday_before"]
    weekday: Weekday
    time: ClockTime = NOON


class PreviousWeek(Strict):
    """A weekday of the (Monday-based) week one or two weeks before the day's week."""

    rule: Literal["previous_week"]
    weekday: Weekday
    weeks_before: int = Field(default=1, ge=1, le=2)
    time: ClockTime = NOON


class PreviousMonthDay(Strict):
    """Day `day` of the month before the day's month, moved off non-working days by `shift`."""

    rule: Literal["previous_month_day"]
    day: int = Field(ge=1, le=31)
    time: ClockTime = NOON
    shift: Shift = Shift.EARLIER


class WindowOnly(Strict):
    """Only inside one of the activity's booking windows."""

    rule: Literal["window_only"]


DeadlineRule = Annotated[
    DaysBefore | WeekdayBefore | PreviousWeek | PreviousMonthDay | WindowOnly,
    Field(discriminator="rule"),
]


class BookingWindow(Strict):
    """A period of days (e.g. holidays) bookable and cancellable only from `opens` to `closes`."""

    label: str = ""
    start: date
    end: date
    opens: ParisDateTime
    closes: ParisDateTime

    @model_validator(mode="after")
    def _check_order(self) -> BookingWindow:
        if self.end < self.start:
            raise ValueError(f"window {self.label!r}: end {self.end} is before start {self.start}")
        if self.closes <= self.opens:
            raise ValueError(f"window {self.label!r}: closes must be after opens")
        return self

    def covers(self, day: date) -> bool:
        """Whether the day is one of the window's days."""
        return self.start <= day <= self.end


class Freeze(Strict):
    """From `at` on, the days from `start` to `end` can no longer be changed online."""

    start: date
    end: date
    at: ParisDateTime

    @model_validator(mode="after")
    def _check_order(self) -> Freeze:
        if self.end < self.start:
            raise ValueError(f"freeze: end {self.end} is before start {self.start}")
        return self

    def covers(self, day: date) -> bool:
        """Whether the day is one of the frozen days."""
        return self.start <= day <= self.end


def read_fixed_euros(data: Any) -> Any:
    """A surcharge's `fixed` amount in euros read as `fixed_cents` (both given: an error)."""
    if isinstance(data, dict) and "fixed" in data:
        data = dict(data)
        if "fixed_cents" in data:
            raise ValueError("give either fixed (euros) or fixed_cents, not both")
        data["fixed_cents"] = euros_to_cents(data.pop("fixed"))
    return data


class LateBookingMode(StrEnum):
    REFUSE = "refuse"
    SURCHARGE = "surcharge"


class Surcharged(Strict):
    """A mode and, with the mode `surcharge` only, exactly one of `percent` (of the day's
    price) or `fixed` (euros): what late bookings and unannounced absences share."""

    mode: StrEnum
    percent: int | None = Field(default=None, gt=0, le=1000)
    fixed_cents: int | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _read_fixed_euros(cls, data: Any) -> Any:
        return read_fixed_euros(data)

    @model_validator(mode="after")
    def _check_amount(self) -> Surcharged:
        given = (self.percent is not None) + (self.fixed_cents is not None)
        surcharged = self.mode.value == "surcharge"
        if surcharged and given != 1:
            raise ValueError("mode surcharge needs exactly one of percent or fixed")
        if not surcharged and given:
            raise ValueError(f"mode {self.mode.value} takes no percent nor fixed amount")
        return self

    def surcharge_cents(self, price_cents: int) -> int:
        """The surcharge on a day of that price (percent rounded half up); 0 without one."""
        if self.fixed_cents is not None:
            return self.fixed_cents
        if self.percent is not None:
            return (price_cents * self.percent + 50) // 100
        return 0


class LateBooking(Surcharged):
    """After a deadline: refuse, or accept with a surcharge (`percent` or `fixed_cents`)."""

    mode: LateBookingMode = LateBookingMode.REFUSE


class LateCancellationMode(StrEnum):
    BILL_FULL = "bill_full"
    BILL_REDUCED = "bill_reduced"
    REFUSE = "refuse"


class LateCancellation(Strict):
    """After a deadline: bill the full price, bill `percent` of it, or refuse to cancel."""

    mode: LateCancellationMode = LateCancellationMode.BILL_FULL
    percent: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _check_percent(self) -> LateCancellation:
        if self.mode is LateCancellationMode.BILL_REDUCED and self.percent is None:
            raise ValueError("mode bill_reduced needs a percent")
        if self.mode is not LateCancellationMode.BILL_REDUCED and self.percent is not None:
            raise ValueError(f"mode {self.mode.value} takes no percent")
        return self

    def fee_cents(self, price_cents: int) -> int:
        """What a late cancellation of a day of that price costs (percent rounded half up)."""
        if self.mode is LateCancellationMode.BILL_REDUCED and self.percent is not None:
            return (price_cents * self.percent + 50) // 100
        return price_cents


class UnannouncedAbsenceMode(StrEnum):
    BILL_FULL = "bill_full"
    SURCHARGE = "surcharge"


class UnannouncedAbsence(Surcharged):
    """A booked day the child missed with no absence reported (staff marked it absent at
    attendance): billed at the full price (`bill_full`, the default: "toute inscription donnera
    lieu à une facturation"), or at the price plus a surcharge (`surcharge`, with `percent` of
    the day's price or a `fixed` amount in euros: the "majoration" of some portals). A medical
    certificate sent afterwards still excuses it, as any absence (`store.attendance`)."""

    mode: UnannouncedAbsenceMode = UnannouncedAbsenceMode.BILL_FULL


def _default_booking_rule() -> DaysBefore:
    return DaysBefore(rule="days_before", days=3)


class ActivityRules(Strict):
    """All the booking and cancellation policies of one activity, and how a missed day that
    was not announced is billed (`unannounced_absence`).

    When `cancellation` is omitted it is the same rule as `booking`.
    """

    booking: DeadlineRule = Field(default_factory=_default_booking_rule)
    cancellation: DeadlineRule = Field(default_factory=_default_booking_rule)
    windows: tuple[BookingWindow, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    late_booking: LateBooking = LateBooking()
    late_cancellation: LateCancellation = LateCancellation()
    unannounced_absence: UnannouncedAbsence = UnannouncedAbsence()

    @model_validator(mode="before")
    @classmethod
    def _cancellation_defaults_to_booking(cls, data: Any) -> Any:
        if isinstance(data, dict) and "booking" in data and "cancellation" not in data:
            data = {**data, "cancellation": data["booking"]}
        return data
