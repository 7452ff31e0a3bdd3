"""Days, moments, months and amounts as parents and staff read them, in one place.

"mer. 9 déc." (`day_label`), "jeudi 3 décembre à 12 h" (`format_moment`), "1er décembre"
(`day_month`), "décembre 2026" (`month_title`), "20,80 €" (`amount`). The chat, the one-shot
handlers and the mails format through this module. It delegates the short day to the date
engine's read-back (`dates.format_days`, so that what the bot shows, a parent can type back)
and the long day, the moment and the amount to `store.deadlines` (the store's invoice PDF and
staff notices use them too, and the store imports no chat code).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from babel.dates import format_date

from dates import format_days
from store.deadlines import BABEL_LOCALES, PARIS, format_amount, format_day, format_moment

__all__ = [
    "BABEL_LOCALES",
    "amount",
    "clock_time",
    "day_and_time",
    "day_label",
    "day_month",
    "day_number",
    "days_label",
    "format_day",
    "format_moment",
    "long_day",
    "month_name",
    "month_title",
    "short_month",
    "weekday_name",
]


def _locale(language: str) -> str:
    return BABEL_LOCALES.get(language, "fr_FR")


def day_label(day: date, language: str) -> str:
    """A short day with its weekday: "mer. 9 déc." / "Wed 9 Dec"."""
    return format_days([day], _locale(language))


def days_label(days: Iterable[date], language: str) -> str:
    """Several short days, in order, comma-separated."""
    return format_days(sorted(days), _locale(language))


def day_number(number: int, language: str) -> str:
    """A day of the month as written before the month: "1er", "9" / "1", "9"."""
    return "1er" if language == "fr" and number == 1 else str(number)


def day_month(day: date, language: str, year: bool = False) -> str:
    """A day and month without weekday: "1er décembre" / "1 December" (with `year`: "1er
    décembre 2026")."""
    label = f"{day_number(day.day, language)} {month_name(day.month, language)}"
    return f"{label} {day.year}" if year else label


def month_name(month: int, language: str) -> str:
    """A month's name (1 = January): "décembre" / "December"."""
    return format_date(date(2024, month, 1), "MMMM", locale=_locale(language))


def clock_time(moment: time, language: str) -> str:
    """A time of day: "12 h" / "12 h 30" in French, "12:00" in English."""
    if language == "en":
        return f"{moment:%H:%M}"
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def weekday_name(weekday: int, language: str) -> str:
    """A weekday's name (0 = Monday): "mercredi" / "Wednesday"."""
    monday = date(2024, 1, 1)
    return format_date(monday + timedelta(days=weekday), "EEEE", locale=_locale(language))


def day_and_time(moment: datetime, language: str) -> str:
    """A short Paris day and its clock time: "mer. 9 déc. 14:05"."""
    local = moment.astimezone(PARIS)
    return f"{day_label(local.date(), language)} {local:%H:%M}"


def long_day(day: date, language: str) -> str:
    """A day in full, with its year: "mercredi 2 décembre 2026"."""
    return f"{format_day(day, language)} {day.year}"


def short_month(day: date, language: str) -> str:
    """A short month and year: "déc. 2026"."""
    return format_date(day, "MMM y", locale=_locale(language))


def month_title(month_start: date, language: str) -> str:
    """A month and year: "décembre 2026" / "December 2026"."""
    return format_date(month_start, "LLLL y", locale=_locale(language))


def amount(cents: int, language: str) -> str:
    """An amount in euros per locale: "20,80 €" / "€20.80"."""
    return format_amount(cents, language)
