"""The question the date engine asks back, as the parent reads it.

`dates.understand` answers a phrase it cannot take as it is with an `AskBack`: why it asks, which
question (`AskBack.question`) and the days and numbers the question names. This module words it:
the sentences are the catalogs' `dates.ask.<question>` texts (`locale/<language>/LC_MESSAGES/
dates.po`), the days are formatted by `conversations.kit.formatting`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import reduce
from html import escape
from typing import Any

from conversations.kit.formatting import (
    day_month,
    day_number,
    format_day,
    long_day,
    month_name,
    weekday_name,
)
from conversations.kit.texts import text
from dates import AskBack

__all__ = ["ask_back_text"]

SHOWN_DAYS = 5  # a count mismatch names the first days read, then "..."

Values = dict[str, Any]


def ask_back_text(ask: AskBack, language: str) -> str:
    """The question `ask` in `language` (HTML: the values are escaped)."""
    words = _WORDS.get(ask.question.partition(".")[0], _no_values)
    return text(f"dates.ask.{ask.question}", language, **words(ask, language))


# -- the values of each question, worded --------------------------------------------------------


def _day(ask: AskBack, name: str) -> date:
    value = ask.values[name]
    assert isinstance(value, date), f"{ask.question}: {name} is not a day"
    return value


def _number(ask: AskBack, name: str) -> int:
    value = ask.values[name]
    assert isinstance(value, int), f"{ask.question}: {name} is not a number"
    return value


def _days(ask: AskBack, name: str) -> tuple[date, ...]:
    value = ask.values[name]
    assert isinstance(value, tuple), f"{ask.question}: {name} are not days"
    return value


def _count(count: int, language: str, key: str = "dates.days") -> str:
    """A number of days: "1 jour", "3 jours" / "1 day", "3 days" (`key`: the texts' prefix)."""
    return text(f"{key}.one" if count <= 1 else f"{key}.many", language, count=count)


def _no_values(ask: AskBack, language: str) -> Values:
    del ask, language
    return {}


def _examples(ask: AskBack, language: str) -> Values:
    """The example phrases: « mercredi 9 décembre », « du 7 au 11 décembre » ou « tous les
    mercredis de janvier »."""
    monday, friday = _day(ask, "example_monday"), _day(ask, "example_friday")
    same_month = monday.month == friday.month
    first = str(monday.day) if same_month else day_month(monday, language)
    week = text("dates.examples.range", language, first=first, last=day_month(friday, language))
    examples = text(
        "dates.examples",
        language,
        wednesday=format_day(_day(ask, "example_wednesday"), language),
        range_html=week,
        month=month_name(_day(ask, "example_month").month, language),
    )
    return {"examples_html": examples}


def _vague(ask: AskBack, language: str) -> Values:
    if ask.question != "vague.duration":
        return _examples(ask, language)
    return {
        "span": _count(_number(ask, "count"), language),
        "start": format_day(_day(ask, "start"), language),
        "later": format_day(_day(ask, "later"), language),
    }


def _weekday_mismatch(ask: AskBack, language: str) -> Values:
    day, other = _day(ask, "day"), _day(ask, "other")  # `other` has the weekday written
    return {
        "date": day_month(day, language, year=True),
        "weekday": weekday_name(day.weekday(), language),
        "written": weekday_name(other.weekday(), language),
        "day": format_day(day, language),
        "other": format_day(other, language),
    }


def _past(ask: AskBack, language: str) -> Values:
    values = {
        "day": long_day(_day(ask, "day"), language),
        "today": format_day(_day(ask, "today"), language),
    }
    if "suggestion" in ask.values:
        values["suggestion"] = long_day(_day(ask, "suggestion"), language)
    return values


def _invalid_date(ask: AskBack, language: str) -> Values:
    values: Values = {
        "day": day_number(_number(ask, "day"), language),
        "month": month_name(_number(ask, "month"), language),
    }
    if "year" in ask.values:
        values["year"] = _number(ask, "year")
    return values


def _invalid_range(ask: AskBack, language: str) -> Values:
    return {
        "first": format_day(_day(ask, "first"), language),
        "last": format_day(_day(ask, "last"), language),
    }


def _too_long(ask: AskBack, language: str) -> Values:
    return {
        "count": _number(ask, "count"),
        "first": long_day(_day(ask, "first"), language),
        "last": long_day(_day(ask, "last"), language),
        "most": _number(ask, "most"),
    }


def _count_mismatch(ask: AskBack, language: str) -> Values:
    days = _days(ask, "days")
    shown = ", ".join(format_day(day, language) for day in days[:SHOWN_DAYS])
    return {
        "written": _count(_number(ask, "count"), language),
        "read": _count(len(days), language, "dates.days_read"),  # en: "but I read 2"
        "days": shown + (" ..." if len(days) > SHOWN_DAYS else ""),
    }


def _ambiguous(ask: AskBack, language: str) -> Values:
    if ask.question != "ambiguous":
        return {}
    options = [format_day(day, language) for day in _days(ask, "options")]
    return {
        "options_html": reduce(
            lambda left, right: text("dates.or", language, left_html=left, right=right),
            options[1:],
            escape(options[0]),
        )
    }


# By reason (the question's first part): the values its sentences name, worded.
_WORDS: dict[str, Callable[[AskBack, str], Values]] = {
    "weekday_mismatch": _weekday_mismatch,
    "vague": _vague,
    "not_understood": _examples,
    "past": _past,
    "invalid_date": _invalid_date,
    "invalid_range": _invalid_range,
    "too_long": _too_long,
    "count_mismatch": _count_mismatch,
    "ambiguous": _ambiguous,
}
