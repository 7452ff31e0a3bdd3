"""Days, months and amounts as parents read them ("mer. 9 déc.", "décembre 2026", "20,80 €")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from babel.dates import format_date

from store.deadlines import format_amount, format_moment

BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}

__all__ = ["amount", "day_label", "days_label", "format_moment", "month_title"]


def day_label(day: date, language: str) -> str:
    """A short day with its weekday: "mer. 9 déc." / "Wed 9 Dec"."""
    return format_date(day, "EEE d MMM", locale=BABEL_LOCALES.get(language, "fr_FR"))


def days_label(days: Iterable[date], language: str) -> str:
    """Several short days, comma-separated."""
    return ", ".join(day_label(day, language) for day in sorted(days))


def month_title(month_start: date, language: str) -> str:
    """A month and year: "décembre 2026" / "December 2026"."""
    return format_date(month_start, "LLLL y", locale=BABEL_LOCALES.get(language, "fr_FR"))


def amount(cents: int, language: str) -> str:
    """An amount in euros per locale: "20,80 €" / "€20.80"."""
    return format_amount(cents, language)
