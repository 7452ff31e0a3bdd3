"""Understand the dates parents type, in French or English, for every chat flow.

`understand(text, today, intent, allowed_days)` returns either the days meant
(`Understood`) or a question to ask back (`AskBack`): the chat never guesses silently. The
engine writes no sentence: an `AskBack` carries why it asks and the days and numbers the
question names, and the chat words it (`conversations.kit.ask_back`).
`format_days` reads days back ("mer. 9 déc., jeu. 10 déc."); `warm_up` loads dateparser.

A small grammar (`dates.lexicon`, `dates.grammar`) reads the message; dateparser
(DMY, Europe/Paris, RELATIVE_BASE = today) only reads complete dates the grammar does not
know ("2026.12.09", "9 12 2026", "2 days from now").

Conventions (`today` is always given, the clock is never read):

* Day before month: "9/12" and "9-12" are 9 December; "9-12-26", "9/12/26", "9.12.26" and
  "9-12-2026" are 9 December 2026 (one day, never a range). A year is never needed.
* Direction depends on the intent. Booking or cancelling looks forward: "le 12", "le 1er",
  "mercredi" mean the next such day, today included ("mercredi" on a Wednesday is today).
  An absence looks back: the most recent such day, today included ("mercredi" on a
  Wednesday is today too), unless the message is in the future tense ("il sera absent
  mercredi", "she will be absent"); "demain" always works.
* A day with a month but no year ("3 décembre"): for a booking, this year's if it is still
  to come, else next year's, except that a date of the last three months is taken as
  meant in the past and asked back (reason "past"); for an absence, the nearest one.
* "mercredi prochain" / "next Wednesday" is the Wednesday of next week; "ce mercredi" the
  coming Wednesday, today included, when looking forward (a booking: "ce vendredi" said on a
  Monday is that week's Friday), the last one in the past tense ("il était absent ce
  lundi"), else the nearest one (before or after today) when looking back;
  "mercredi dernier" the last one before today;
  "mercredi qui vient" the first after today; "mercredi en huit" a week after the coming
  Wednesday; "dans huit jours" in a week. "mardi et jeudi prochains": both of next week.
* A week is Monday to Sunday; "cette semaine", "ce mois-ci", "les mercredis de décembre"
  keep, for a booking, only the days from today on; an explicit range starting in the
  past ("du 3 au 5" on the 4th, when the month is given) is asked back. On a Sunday,
  "cette semaine" / "this week" looking forward is the week starting tomorrow (see
  `_Resolver.period_span`); looking back (an absence), the week ending today.
* Months as range ends: "de janvier à mars", "jusqu'en juin", "jusqu'à fin mars" run from
  the first / to the last day of the month ("de décembre à mars" said in December, for a
  booking, starts today).
* An item may follow the previous one: "le 9 et le lendemain" (10th), "lundi et le
  surlendemain" (Wednesday), "demain et le surlendemain" (the day after tomorrow: demain is
  itself today's "lendemain"), "Monday and the day after", "mercredi et le suivant" (the
  next Wednesday), "cette semaine et la suivante", "lundi et le mercredi suivant".
  "le lendemain" alone is tomorrow; "la suivante" alone is asked back.
* A number of days with a start is a span: "3 jours à partir de lundi", "du 7 pendant 3
  jours", "for 2 days from the 9th": for a booking whose opening days are known, that many
  opening days; otherwise that many calendar days. "dans 3 jours" is in three days. Alone
  ("3 jours", "pendant 3 jours") it is asked back, unless the days written are exactly that
  many ("2 jours : mardi et jeudi").
* Items in a list follow each other: in "jeudi et vendredi" or "le 30 et le 2", the second
  day is the first one after the first day (for an absence: the closest to it).
* "sauf ..." / "except ..." removes days: "du 21 au 24 sauf le 23".
* `allowed_days` (the activity's opening days) trims ranges, weeks, months and recurring
  days. A day named on its own is returned even if it is not open: the booking service
  refuses it with its own reason, which is clearer than silently dropping it.
* A message giving more than `MAX_DAYS` days (after opening days and exceptions) is asked
  back ("too_long"): the cap is on the days produced, not on the calendar span, so "tous
  les mercredis du 6 janvier au 31 mars" works.

Ask-back reasons: "weekday_mismatch", "vague", "not_understood", "past", "ambiguous"
("mercredi ou jeudi"), "invalid_date" ("31 novembre"), "invalid_range", "too_long",
"no_open_day" (a range with no opening day), "empty" (everything excluded),
"count_mismatch" ("3 jours : mardi et jeudi"). Questions (`AskBack.question`, with its
values): "weekday_mismatch" (day, other), "vague" / "vague.open_ended" / "vague.holidays" /
"vague.month_only" / "not_understood" (the example days: example_wednesday, example_monday,
example_friday, example_month), "vague.duration" (count, start, later), "past" (day, today),
"past.suggestion" (day, today, suggestion), "invalid_date" (day, month numbers),
"invalid_date.year" (day, month, year), "invalid_range" (first, last), "too_long" (count,
first, last, most), "count_mismatch" (count written, days read), "ambiguous" (options),
"ambiguous.or" (none), "no_open_day" and "empty" (none).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from babel import Locale
from babel.dates import format_date

from dates.grammar import Every, Item, Parsed, Period, Point, Range, Span, parse
from dates.lexicon import normalise, tokenize

__all__ = [
    "MAX_DAYS",
    "AskBack",
    "Intent",
    "Understood",
    "format_days",
    "understand",
    "warm_up",
]

# At most this many days in one message: a term of Wednesdays or a month and a half of
# every day fits; a school year of every day does not (asked back, to be split).
MAX_DAYS = 100
# A computation guard only: no realistic phrase spans ten years.
_LONGEST_SPAN_DAYS = 3660
# A range end up to this many days before its start is a slip, asked back ("du 24/12 au
# 21/12"); further before, the end is the next one, if the range stays within a school year.
_SWAPPED_RANGE_DAYS = 62
_LONGEST_RANGE_DAYS = 320
PAST_WINDOW_DAYS = 92  # a day-month this close behind today is read as meant in the past
MAX_TEXT_LENGTH = 500


class Intent(StrEnum):
    """What the dates are for: booking and cancelling look forward, an absence looks back."""

    BOOK = "book"
    ABSENCE = "absence"


@dataclass(frozen=True)
class Understood:
    """The days meant, sorted and unique."""

    days: tuple[date, ...]


AskValue = int | date | tuple[date, ...]
"""A value a question names: a number, a day, or days."""


@dataclass(frozen=True)
class AskBack:
    """A question for the parent: why it is asked, which one, and the values it names.

    `reason` is one of the ask-back reasons above; `question` is the reason, or the reason and
    a kind of it ("vague.duration", "past.suggestion"); `values` are the days and numbers the
    question names, by name. The engine writes no sentence: the chat words the question
    (`conversations.kit.ask_back`, the catalogs' `dates.ask.<question>` texts).
    """

    reason: str
    question: str
    values: Mapping[str, AskValue] = field(default_factory=dict, hash=False)


def _ask(reason: str, kind: str | None = None, /, **values: AskValue) -> AskBack:
    """The question `reason` (of kind `kind`, if any) naming `values`."""
    return AskBack(
        reason, reason if kind is None else f"{reason}.{kind}", MappingProxyType(values)
    )


def format_days(days: Iterable[date], locale: str | Locale = "fr") -> str:
    """Read days back with their weekday: fr "mer. 9 déc., jeu. 10 déc.", en "Wed 9 Dec"."""
    return ", ".join(format_date(day, "EEE d MMM", locale=locale) for day in days)


class _Problem(Exception):
    """A reason to ask back, raised while resolving."""

    PRIORITY = (
        "weekday_mismatch",
        "invalid_date",
        "invalid_range",
        "ambiguous",
        "past",
        "too_long",
        "no_open_day",
        "count_mismatch",
        "vague",
        "empty",
        "not_understood",
    )

    def __init__(self, ask: AskBack) -> None:
        super().__init__(ask.reason)
        self.ask = ask

    @property
    def rank(self) -> int:
        """Priority among problems: the lowest is asked."""
        return self.PRIORITY.index(self.ask.reason)


def _examples(today: date) -> dict[str, AskValue]:
    """The days of the example phrases built on `today` ("mercredi 9 décembre", "du 7 au 11
    décembre", "tous les mercredis de janvier"): the next Wednesday, next week's Monday and
    Friday, and the first day of next month."""
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    monday = today + timedelta(days=7 - today.weekday())
    return {
        "example_wednesday": wednesday,
        "example_monday": monday,
        "example_friday": monday + timedelta(days=4),
        "example_month": date(today.year + today.month // 12, today.month % 12 + 1, 1),
    }


def _vague(detail: str, today: date, count: int = 3) -> AskBack:
    """The question for a vague phrase, by kind of vagueness (`count`: of "3 jours")."""
    if detail == "duration":
        start = today + timedelta(days=7 - today.weekday())
        return _ask("vague", detail, count=count, start=start, later=today + timedelta(days=count))
    if detail in ("open_ended", "holidays", "month_only"):
        return _ask("vague", detail, **_examples(today))
    return _ask("vague", **_examples(today))


def _not_understood(today: date) -> AskBack:
    """The question when no date was found."""
    return _ask("not_understood", **_examples(today))


def _mismatch(day: date, weekday: int) -> _Problem:
    """The question when the weekday written does not match the date: `other` is the nearest
    day with the weekday written."""
    shift = (weekday - day.weekday()) % 7
    other = day + timedelta(days=shift if shift <= 3 else shift - 7)
    return _Problem(_ask("weekday_mismatch", day=day, other=other))


def _past(day: date, today: date, suggestion: date | None) -> _Problem:
    """The question for a booking in the past, with next year's date if it fits."""
    if suggestion is None:
        return _Problem(_ask("past", day=day, today=today))
    return _Problem(_ask("past", "suggestion", day=day, today=today, suggestion=suggestion))


def _invalid_date(day: int, month: int, year: int | None = None) -> _Problem:
    """The question for a date that does not exist ("31 novembre")."""
    if year is None:
        return _Problem(_ask("invalid_date", day=day, month=month))
    return _Problem(_ask("invalid_date", "year", day=day, month=month, year=year))


def _too_long(count: int, first: date, last: date) -> _Problem:
    """The question for more than `MAX_DAYS` days in one message."""
    return _Problem(_ask("too_long", count=count, first=first, last=last, most=MAX_DAYS))


def _count_mismatch(count: int, days: list[date]) -> _Problem:
    """The question when "3 jours" goes with another number of days."""
    return _Problem(_ask("count_mismatch", count=count, days=tuple(days)))


# -- calendar helpers ------------------------------------------------------------------------


def _safe_date(year: int, month: int, day: int) -> date | None:
    """The date, or None when it does not exist."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _monday(day: date) -> date:
    """The Monday of the week of `day`."""
    return day - timedelta(days=day.weekday())


def _month_span(year: int, month: int) -> tuple[date, date]:
    """First and last day of a month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _shift_month(year: int, month: int, shift: int) -> tuple[int, int]:
    """The (year, month) `shift` months away."""
    index = year * 12 + month - 1 + shift
    return index // 12, index % 12 + 1


def _days(first: date, last: date) -> list[date]:
    """Every day from `first` to `last` included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# -- resolution ------------------------------------------------------------------------------


class _Resolver:
    """Turns parsed items into dates for one `today`, intent and tense."""

    def __init__(
        self,
        today: date,
        intent: Intent,
        forward: bool,
        allowed: frozenset[date] | None,
        past_tense: bool = False,
    ) -> None:
        self.today = today
        self.intent = intent
        self.forward = forward
        self.allowed = allowed
        self.past_tense = past_tense

    # points

    def _chain(self, after_anchor: date, anchor: date, alone: date, forward: bool) -> date:
        """A bare item after another: the next one going forward; going back, the closest."""
        if forward:
            return after_anchor
        if abs((after_anchor - anchor).days) < abs((alone - anchor).days):
            return after_anchor
        return alone

    def _weekday(
        self, weekday: int, modifier: str | None, anchor: date | None, forward: bool, chain: bool
    ) -> date:
        """A weekday with its modifier ("prochain", "dernier", "ce", "en huit")."""
        today = self.today
        ahead = (weekday - today.weekday()) % 7
        behind = (today.weekday() - weekday) % 7
        if modifier == "next":
            return _monday(today) + timedelta(days=7 + weekday)
        if modifier == "last":
            return today - timedelta(days=behind or 7)
        if modifier == "this":
            if forward:
                return today + timedelta(days=ahead)  # "ce vendredi" on a Monday: that Friday
            if self.past_tense:
                return today - timedelta(behind)  # "il était absent ce lundi"
            return today + timedelta(days=ahead) if ahead <= behind else today - timedelta(behind)
        if modifier == "following":
            base = anchor or today  # the grammar asks back "le mercredi suivant" alone
            return base + timedelta(days=(weekday - base.weekday()) % 7 or 7)
        if modifier == "upcoming":
            return today + timedelta(days=ahead or 7)
        if modifier in ("en8", "en15"):
            return today + timedelta(days=ahead + (7 if modifier == "en8" else 14))
        alone = today + timedelta(days=ahead) if forward else today - timedelta(behind)
        if anchor is None:
            return alone
        after_anchor = anchor + timedelta(days=(weekday - anchor.weekday()) % 7)
        return self._chain(after_anchor, anchor, alone, forward or chain)

    def _day_only(self, day: int, anchor: date | None, forward: bool, chain: bool) -> date:
        """A day number without month: the next (or last) one, or after `anchor`."""

        def first_from(start: date) -> date:
            """The first date with that day number on or after `start`."""
            year, month = start.year, start.month
            for _ in range(13):
                found = _safe_date(year, month, day)
                if found is not None and found >= start:
                    return found
                year, month = _shift_month(year, month, 1)
            raise AssertionError("every day number exists within a year")

        def last_until(end: date) -> date:
            """The last date with that day number on or before `end`."""
            year, month = end.year, end.month
            for _ in range(13):
                found = _safe_date(year, month, day)
                if found is not None and found <= end:
                    return found
                year, month = _shift_month(year, month, -1)
            raise AssertionError("every day number exists within a year")

        alone = first_from(self.today) if forward else last_until(self.today)
        if anchor is None:
            return alone
        return self._chain(first_from(anchor), anchor, alone, forward or chain)

    def _day_month(self, day: int, month: int, anchor: date | None, chain: bool) -> date:
        """A day and month without year: the year by intent, or after `anchor`."""
        years = range(self.today.year - 8, self.today.year + 9)
        candidates = [d for d in (_safe_date(y, month, day) for y in years) if d is not None]
        if not candidates:
            raise _invalid_date(day, month)
        if anchor is not None and chain:
            # A range end: the nearest to the start; before it, the range is asked back
            # ("du 24/12 au 21/12"), unless that is months before: then the end is in the
            # next year ("du 1er septembre au 30 juin", "jusqu'au 30 juin" said in December).
            before = [d for d in candidates if d < anchor]
            after = [d for d in candidates if d >= anchor]
            if not before:
                return after[0]
            if not after:
                return before[-1]
            ahead, behind = (after[0] - anchor).days, (anchor - before[-1]).days
            wraps = behind > _SWAPPED_RANGE_DAYS and ahead <= _LONGEST_RANGE_DAYS
            return after[0] if ahead <= behind or wraps else before[-1]
        if anchor is not None:
            after = [d for d in candidates if d >= anchor]
            if after and (after[0] - anchor).days <= 183:
                return after[0]
        today = self.today
        if self.intent is Intent.BOOK:
            this_year = _safe_date(today.year, month, day)
            reference = this_year or date(today.year, month, 28)  # 29 February, common year
            if reference >= today or (today - reference).days <= PAST_WINDOW_DAYS:
                if this_year is None:
                    raise _invalid_date(day, month, today.year)
                return this_year  # when just past, the caller asks back
            following = _safe_date(today.year + 1, month, day)
            if following is None:
                raise _invalid_date(day, month, today.year + 1)
            return following
        near = [d for d in candidates if abs(d.year - today.year) <= 1]
        if not near:
            raise _invalid_date(day, month, today.year)
        return min(near, key=lambda d: (abs((d - today).days), d > today))

    def point(
        self,
        point: Point,
        anchor: date | None = None,
        chain: bool = False,
        forward: bool | None = None,
    ) -> date:
        """The date of one point after `anchor` (`chain`: a range end, after its start).

        `forward` overrides the direction of the intent for days without a month.
        """
        forward = self.forward if forward is None else forward
        found = self._point(point, anchor, chain, forward)
        return found + timedelta(days=point.shift) if point.shift else found

    def _point(self, point: Point, anchor: date | None, chain: bool, forward: bool) -> date:
        """The date of one point as written, before its `shift`."""
        if point.offset is not None:
            return self.today + timedelta(days=point.offset)
        if point.after is not None:
            return (anchor or self.today) + timedelta(days=point.after)
        if point.edge is not None:
            return self._edge(point, anchor if chain else None)
        if point.within is not None:
            return self._within(point)
        if point.day is None:
            assert point.weekday is not None
            return self._weekday(point.weekday, point.modifier, anchor, forward, chain)
        if point.month is None:
            found = self._day_only(point.day, anchor, forward, chain)
        elif point.year is not None:
            exact = _safe_date(point.year, point.month, point.day)
            if exact is None:
                raise _invalid_date(point.day, point.month, point.year)
            found = exact
        else:
            found = self._day_month(point.day, point.month, anchor, chain)
        if point.weekday is not None and found.weekday() != point.weekday:
            raise _mismatch(found, point.weekday)
        return found

    def _edge(self, point: Point, after: date | None) -> date:
        """The first or last day of a month or week ("de janvier", "jusqu'à fin mars").

        A range end (`after` = its start) is the first such month ending after the start.
        """
        assert point.within is not None
        period = point.within
        if after is not None and period.month is not None and period.year is None:
            year = after.year if period.month >= after.month else after.year + 1
            period = Period("month", month=period.month, year=year, extra=period.extra)
        first, last = self.period_span(period)
        return first if point.edge == "start" else last

    def _within(self, point: Point) -> date:
        """A weekday or day number inside a week or month ("mercredi de la semaine prochaine")."""
        assert point.within is not None
        first, last = self.period_span(point.within)
        days = _days(first, last)
        if point.day is not None:
            matching = [d for d in days if d.day == point.day]
            if not matching:
                month = point.month or first.month
                raise _invalid_date(point.day, month)
            found = matching[0]
            if point.weekday is not None and found.weekday() != point.weekday:
                raise _mismatch(found, point.weekday)
            return found
        matching = [d for d in days if d.weekday() == point.weekday]
        if len(matching) != 1:
            raise _Problem(_vague("vague", self.today))
        return matching[0]

    # periods

    def _named_month(self, month: int, year: int | None) -> tuple[int, int]:
        """The (year, month) of a month named without year, by intent."""
        today = self.today
        if year is not None:
            return year, month
        if self.intent is Intent.BOOK:
            if month >= today.month:
                return today.year, month
            _, last = _month_span(today.year, month)
            if (today - last).days <= PAST_WINDOW_DAYS:
                return today.year, month
            return today.year + 1, month
        current = today.year * 12 + today.month - 1
        years = (today.year - 1, today.year, today.year + 1)
        distance = {y: y * 12 + month - 1 - current for y in years}
        year = min(years, key=lambda y: (abs(distance[y]), distance[y] > 0))
        return year, month

    def period_span(self, period: Period) -> tuple[date, date]:
        """First and last day of a week, weekend or month."""
        today = self.today
        shift = {"this": 0, "next": 1, "last": -1, None: 0}[period.ref] + period.extra
        if period.kind in ("week", "weekend"):
            base = _monday(self.point(period.anchor)) if period.anchor else _monday(today)
            if (
                period.kind == "week"
                and period.anchor is None
                and period.ref in ("this", None)
                and today.weekday() == 6
                and self.forward
            ):
                # On a Sunday, "cette semaine" looking forward is the week starting tomorrow:
                # a parent booking on Sunday evening means the coming school week, not the
                # one day left of the ending week (and "la semaine prochaine" is the same
                # week, as most people say it on a Sunday). Looking back (an absence), it is
                # the week ending today.
                base += timedelta(days=7)
            monday = base + timedelta(days=7 * shift)
            if period.kind == "weekend":
                return monday + timedelta(days=5), monday + timedelta(days=6)
            return monday, monday + timedelta(days=6)
        if period.month is not None:
            year, month = self._named_month(period.month, period.year)
            year, month = _shift_month(year, month, period.extra)
        else:
            year, month = _shift_month(today.year, today.month, shift)
        return _month_span(year, month)

    # items

    def check_past(self, day: date, point: Point | None) -> None:
        """Raise the "past" question for a booking before today."""
        if self.intent is not Intent.BOOK or day >= self.today:
            return
        suggestion: date | None = None
        if point is not None and point.month is not None and point.year is None:
            following = _safe_date(day.year + 1, day.month, day.day)
            if following is not None and (
                point.weekday is None or following.weekday() == point.weekday
            ):
                suggestion = following
        raise _past(day, self.today, suggestion)

    def _open(self, days: list[date]) -> list[date]:
        """The days the activity opens, when its opening days are known."""
        if self.allowed is None:
            return days
        return [d for d in days if d in self.allowed]

    def _range(self, item: Range, anchor: date | None) -> tuple[date, date]:
        """First and last day of a range, checked (order, length, past)."""
        if item.start is None:
            first = self.today
        elif item.since:
            first = self.point(item.start, forward=False)
        elif self.intent is Intent.ABSENCE and self.forward and anchor is None:
            # An absence announced as "du 3 au 5" on the 4th is the one going on now.
            first = self.point(item.start, forward=False)
            ongoing = item.end is not None and self.point(item.end, first, True) >= self.today
            if not ongoing:
                first = self.point(item.start)
        else:
            first = self.point(item.start, anchor)
            if (
                self.intent is Intent.BOOK
                and item.start.bare_day
                and anchor is None
                and item.end is not None
                and self._going_on(item.start, item.end)
            ):
                # "du 3 au 5" on the 4th: not next month, the one going on (asked back).
                raise _past(self.point(item.start, forward=False), self.today, None)
        if (
            item.start is not None
            and item.start.edge == "start"
            and self.intent is Intent.BOOK
            and (first.year, first.month) == (self.today.year, self.today.month)
        ):
            first = max(first, self.today)  # "de décembre à mars" said in December
        last = self.today if item.end is None else self.point(item.end, first, chain=True)
        if last < first:
            raise _Problem(_ask("invalid_range", first=first, last=last))
        if (last - first).days + 1 > _LONGEST_SPAN_DAYS:
            raise _too_long((last - first).days + 1, first, last)
        if item.start is not None:
            self.check_past(first, item.start)
        elif item.end is not None:
            self.check_past(last, item.end)
        return first, last

    def _going_on(self, start: Point, end: Point) -> bool:
        """True if the range read backwards started before today and is not over."""
        try:
            going_on = self.point(start, forward=False)
            return going_on < self.today <= self.point(end, going_on, chain=True)
        except _Problem:
            return False  # "du lundi 7 au vendredi 11": the past 7th is no Monday

    def _period_days(self, period: Period) -> list[date]:
        """The days of a period; for a booking, from today on."""
        first, last = self.period_span(period)
        days = _days(first, last)
        if self.intent is Intent.BOOK:
            days = [d for d in days if d >= self.today]
            if not days:
                raise _past(last, self.today, None)
        return days

    def item(self, item: Item, anchor: date | None) -> tuple[list[date], bool]:
        """The days of one item, and whether it names a single day explicitly."""
        if isinstance(item, Point):
            day = self.point(item, anchor)
            self.check_past(day, item)
            return [day], True
        if isinstance(item, Range):
            first, last = self._range(item, anchor)
            return self._open(_days(first, last)), False
        if isinstance(item, Period):
            return self._open(self._period_days(item)), False
        if isinstance(item, Span):
            return self._span(item, anchor), False
        assert isinstance(item, Every)
        if isinstance(item.scope, Range):
            days = _days(*self._range(item.scope, anchor))
        elif isinstance(item.scope, Period):
            days = self._period_days(item.scope)
        else:
            raise _Problem(_vague("open_ended", self.today))
        if item.weekdays is not None:
            days = [d for d in days if d.weekday() in item.weekdays]
        return self._open(days), False

    def _span(self, item: Span, anchor: date | None) -> list[date]:
        """The days of "3 jours à partir de lundi": opening days for a booking when known."""
        first = self.point(item.start, anchor, forward=False if item.since else None)
        self.check_past(first, item.start)
        if item.count > MAX_DAYS:
            raise _too_long(item.count, first, first + timedelta(days=item.count - 1))
        if item.unit == "week":
            return self._open(_days(first, first + timedelta(days=7 * item.count - 1)))
        if self.intent is Intent.BOOK and self.allowed is not None:
            # "3 jours" of canteen from a Friday: Friday, Monday, Tuesday.
            return sorted(d for d in self.allowed if d >= first)[: item.count]
        return _days(first, first + timedelta(days=item.count - 1))

    def excluded(self, item: Item, included: list[date]) -> set[date]:
        """The days an "except" item removes from `included`."""
        if isinstance(item, Point) and item.bare_weekday:
            return {d for d in included if d.weekday() == item.weekday}
        if isinstance(item, Point) and item.bare_day and item.weekday is None:
            return {d for d in included if d.day == item.day}
        if isinstance(item, Point) and item.month is not None and item.year is None:
            return {d for d in included if (d.day, d.month) == (item.day, item.month)}
        anchor = min(included) if included else None
        if isinstance(item, Point):
            return {self.point(item, anchor)}
        if isinstance(item, Range):
            return set(_days(*self._range(item, anchor)))
        if isinstance(item, Period):
            return set(_days(*self.period_span(item)))
        return set(self.item(item, anchor)[0])


_DATEPARSER_SETTINGS: dict[str, object] = {
    "DATE_ORDER": "DMY",
    "STRICT_PARSING": True,
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": False,
    "TIMEZONE": "Europe/Paris",
}


def _dateparser_date(text: str, today: date, forward: bool) -> date | None:
    """A complete date in a form the grammar does not know ("2026.12.09"), via dateparser."""
    import dateparser

    settings = dict(_DATEPARSER_SETTINGS)
    settings["PREFER_DATES_FROM"] = "future" if forward else "past"
    settings["RELATIVE_BASE"] = datetime(today.year, today.month, today.day, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = dateparser.parse(text, languages=["fr", "en"], settings=settings)
    return None if found is None else found.date()


_DIGIT = re.compile(r"\d")


def understand(
    text: str,
    today: date,
    intent: Intent = Intent.BOOK,
    allowed_days: Collection[date] | None = None,
) -> Understood | AskBack:
    """The days `text` means, seen from `today`, or the question to ask back."""
    normalised = normalise(text[:MAX_TEXT_LENGTH])
    parsed = parse(tokenize(normalised))
    forward = intent is Intent.BOOK or (parsed.future_tense and not parsed.past_tense)
    allowed = None if allowed_days is None else frozenset(allowed_days)
    resolver = _Resolver(today, intent, forward, allowed, parsed.past_tense)
    if parsed.attached_vague:
        return _vague(_first_vague(parsed), today)
    if parsed.ambiguous:
        return _ambiguous(parsed, resolver)
    if not any(not entry.excluded for entry in parsed.placed):
        return _without_items(text, parsed, resolver)
    try:
        days = _resolve(parsed, resolver)
    except _Problem as problem:
        return problem.ask
    if not days:
        return _ask("empty")
    return Understood(tuple(sorted(days)))


def _without_items(text: str, parsed: Parsed, resolver: _Resolver) -> Understood | AskBack:
    """Nothing the grammar knows: a complete date dateparser reads, or a question."""
    today = resolver.today
    found = None
    if _DIGIT.search(text) and len(text) <= 80 and not parsed.counts:
        found = _dateparser_date(text, today, resolver.forward)
    if found is None:
        if not parsed.vague:
            return _not_understood(today)
        return _vague(_first_vague(parsed), today, parsed.counts[0] if parsed.counts else 3)
    try:
        resolver.check_past(found, None)
    except _Problem as problem:
        return problem.ask
    return Understood((found,))


def _resolve(parsed: Parsed, resolver: _Resolver) -> set[date]:
    """The days of all items, minus the excluded ones; raises the most important problem."""
    problems: list[_Problem] = []
    days: set[date] = set()
    anchor: date | None = None
    for entry in parsed.placed:
        if entry.excluded:
            continue
        try:
            found, single = resolver.item(entry.item, anchor)
        except _Problem as problem:
            problems.append(problem)
            continue
        if not found and not single:
            problems.append(_no_open_day())
            continue
        days.update(found)
        anchor = max(found)
    if problems:
        raise min(problems, key=lambda p: p.rank)
    for entry in parsed.placed:
        if entry.excluded:
            days -= resolver.excluded(entry.item, sorted(days))
    if len(days) > MAX_DAYS:
        raise _too_long(len(days), min(days), max(days))
    if days and parsed.counts and len(days) not in parsed.counts:
        raise _count_mismatch(parsed.counts[0], sorted(days))
    return days


def _first_vague(parsed: Parsed) -> str:
    """The most telling kind of vagueness found in the message."""
    for detail in ("open_ended", "holidays", "month_only", "duration", "vague"):
        if detail in parsed.vague:
            return detail
    return "vague"


def _no_open_day() -> _Problem:
    """The question when a range holds no opening day of the activity."""
    return _Problem(_ask("no_open_day"))


def _ambiguous(parsed: Parsed, resolver: _Resolver) -> AskBack:
    """The question for "mercredi ou jeudi": which one?"""
    options: list[date] = []
    anchor: date | None = None
    for entry in parsed.placed:
        try:
            found, _ = resolver.item(entry.item, anchor)
        except _Problem:
            continue
        options.extend(found[:1])
        anchor = found[0] if found else anchor
    if len(options) >= 2:
        return _ask("ambiguous", options=tuple(options))
    return _ask("ambiguous", "or")


def warm_up() -> None:
    """Load dateparser's and babel's language data now (the first call costs ~0.2 s)."""
    today = date(2026, 1, 5)
    _dateparser_date("09.12.2026", today, forward=True)
    understand("mercredi 7 janvier", today)
    format_days([today], "fr")
    format_days([today], "en")
