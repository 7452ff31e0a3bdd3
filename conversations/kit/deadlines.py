"""The sentence a parent reads on whether, and until when, a day can be booked or cancelled,
and an activity's deadline rules in words.

The store decides (`store.deadlines`: a status or a refusal reason, with the deadline, the
opening moment and the amount); the sentences are the catalogs' `deadline.*` texts, the rules'
words the `rule.*` texts (`rules.po`).
"""

from __future__ import annotations

from datetime import date, datetime

from conversations.kit.formatting import (
    amount,
    clock_time,
    format_day,
    format_moment,
    weekday_name,
)
from conversations.kit.texts import language_of, text
from store.deadlines import BookingDecision, CancellationDecision
from store.planning import PlanningDay
from store.policies import (
    DayCount,
    DaysBefore,
    DeadlineRule,
    PreviousMonthDay,
    PreviousWeek,
    WeekdayBefore,
)

__all__ = ["explain_booking", "explain_cancellation", "explain_day", "rule_words"]


def _sentence(
    key: str,
    language: str,
    day: date,
    deadline: datetime | None,
    opens_at: datetime | None,
    amount_cents: int,
) -> str:
    sentence = text(
        key,
        language,
        day=format_day(day, language),
        deadline=format_moment(deadline, language) if deadline else "",
        opens=format_moment(opens_at, language) if opens_at else "",
        amount=amount(amount_cents, language),
    )
    return sentence[:1].upper() + sentence[1:]


def explain_booking(decision: BookingDecision, locale: str) -> str:
    """One sentence telling a parent whether and until when the day can be booked."""
    code = decision.reason or decision.status
    return _sentence(
        f"deadline.booking.{code.value}",
        language_of(locale),
        decision.day,
        decision.deadline,
        decision.opens_at,
        decision.surcharge_cents,
    )


def explain_cancellation(decision: CancellationDecision, locale: str) -> str:
    """One sentence telling a parent whether and until when the day can be cancelled freely."""
    code = decision.reason or decision.status
    return _sentence(
        f"deadline.cancellation.{code.value}",
        language_of(locale),
        decision.day,
        decision.deadline,
        decision.opens_at,
        decision.fee_cents,
    )


def explain_day(day: PlanningDay, locale: str) -> str:
    """One sentence on what can be done with a planned day now ("" when nothing is decided)."""
    if day.cancellation is not None:
        return explain_cancellation(day.cancellation, locale)
    if day.booking is not None:
        return explain_booking(day.booking, locale)
    return ""


def rule_words(rule: DeadlineRule, language: str) -> str:
    """A deadline rule as a parent reads it: "jusqu'à 3 jours ouvrés avant, à 12 h"."""
    if isinstance(rule, DaysBefore):
        at = clock_time(rule.time, language)
        if rule.days == 0:
            return text("rule.same_day", language, time=at)
        key = "rule.working_days" if rule.count is DayCount.WORKING else "rule.days"
        return text(f"{key}.one" if rule.days == 1 else key, language, days=rule.days, time=at)
    if isinstance(rule, WeekdayBefore | PreviousWeek):
        key = (
            "rule.weekday_before"
            if isinstance(rule, WeekdayBefore)
            else f"rule.previous_week_{rule.weeks_before}"
        )
        return text(
            key,
            language,
            weekday=weekday_name(int(rule.weekday), language),
            time=clock_time(rule.time, language),
        )
    if isinstance(rule, PreviousMonthDay):
        return text(
            "rule.previous_month_day",
            language,
            day=rule.day,
            time=clock_time(rule.time, language),
        )
    return text("rule.window_only", language)
