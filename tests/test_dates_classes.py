"""Date understanding (dates): the classes of phrases a held-out set found silently wrong.

The phrases live in `tests/data/date_phrases_classes.yaml`, written by hand with their exact
expected days (or the reason of the question asked back), under several "today"s: a Friday,
a Sunday, a Monday, the 30th and 31st of a month, New Year's Eve and the 2028 leap day.
Each class has its own parametrized test; `test_score` measures the whole set.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from conversations.kit.ask_back import ask_back_text
from dates import MAX_DAYS, AskBack, Intent, Understood, understand, warm_up

PHRASES_FILE = Path(__file__).parent / "data" / "date_phrases_classes.yaml"
CLASSES = (
    "numeric_year",
    "quantity",
    "weekday_list",
    "day_count",
    "sunday_week",
    "this_weekday",
    "relative_after",
    "sms",
    "long_recurrence",
)
MIN_EXACT_RATE = 0.98


@dataclass(frozen=True)
class Case:
    """One phrase of the set and what it must give."""

    kind: str
    phrase: str
    today: date
    intent: Intent
    expect: tuple[date, ...] | None
    ask_back: str | None
    allowed_weekdays: frozenset[int] | None

    def allowed_days(self) -> set[date] | None:
        """Opening days around `today` for the allowed weekdays, if any."""
        if self.allowed_weekdays is None:
            return None
        first = self.today - timedelta(days=400)
        days = (first + timedelta(days=n) for n in range(800))
        return {d for d in days if d.weekday() in self.allowed_weekdays}

    def run(self) -> Understood | AskBack:
        """Understand the phrase as the chat would."""
        return understand(self.phrase, self.today, self.intent, self.allowed_days())

    def exact(self, result: Understood | AskBack) -> bool:
        """True if `result` is exactly what the case expects."""
        if self.expect is not None:
            return isinstance(result, Understood) and result.days == self.expect
        return isinstance(result, AskBack) and result.reason == self.ask_back

    def silently_wrong(self, result: Understood | AskBack) -> bool:
        """True for days returned that are not the expected ones (a question never is)."""
        return isinstance(result, Understood) and result.days != self.expect


def _as_date(value: object) -> date:
    """A date from YAML (already a date, or ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def expand(values: list[object]) -> tuple[date, ...]:
    """Expected days: "A..B" is every day from A to B, "A..B/024" only those weekdays."""
    days: set[date] = set()
    for value in values:
        if isinstance(value, str) and ".." in value:
            span, _, weekdays = value.partition("/")
            first, last = (date.fromisoformat(part) for part in span.split(".."))
            chosen = {int(w) for w in weekdays} if weekdays else set(range(7))
            every = (first + timedelta(days=n) for n in range((last - first).days + 1))
            days.update(d for d in every if d.weekday() in chosen)
        else:
            days.add(_as_date(value))
    return tuple(sorted(days))


def load_cases() -> list[Case]:
    """The cases of the YAML phrase set."""
    cases = []
    for entry in yaml.safe_load(PHRASES_FILE.read_text(encoding="utf-8")):
        assert ("expect" in entry) != ("ask_back" in entry), entry
        assert entry["class"] in CLASSES, entry
        weekdays = entry.get("allowed_weekdays")
        cases.append(
            Case(
                kind=entry["class"],
                phrase=entry["phrase"],
                today=_as_date(entry["today"]),
                intent=Intent(entry["intent"]),
                expect=expand(entry["expect"]) if "expect" in entry else None,
                ask_back=entry.get("ask_back"),
                allowed_weekdays=None if weekdays is None else frozenset(weekdays),
            )
        )
    return cases


CASES = load_cases()


def of_class(kind: str) -> list[pytest.param]:  # type: ignore[valid-type]
    """The cases of one class, with readable ids."""
    return [
        pytest.param(case, id=f"{case.intent.value}-{case.today}-{case.phrase[:40]}")
        for case in CASES
        if case.kind == kind
    ]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load dateparser once for the module."""
    warm_up()


def check(case: Case) -> None:
    """Assert the exact days, or the exact reason of the question."""
    result = case.run()
    if case.expect is not None:
        assert isinstance(result, Understood), f"asked back: {result}"
        assert list(result.days) == sorted(set(result.days))
        assert result.days == case.expect
    else:
        assert isinstance(result, AskBack), f"expected a question, got {result}"
        assert result.reason == case.ask_back
        assert ask_back_text(result, "fr").strip() and ask_back_text(result, "en").strip()


# -- the set as a whole -----------------------------------------------------------------------


def test_set_covers_every_class_and_the_calendar_traps() -> None:
    counts = Counter(case.kind for case in CASES)
    assert set(counts) == set(CLASSES)
    assert min(counts.values()) >= 12, counts
    todays = {case.today for case in CASES}
    assert {d.weekday() for d in todays} >= {0, 4, 6}  # a Monday, a Friday, a Sunday
    assert {d.day for d in todays} >= {30, 31}
    assert date(2026, 12, 31) in todays  # year change
    assert {date(2028, 2, 28), date(2028, 2, 29)} <= todays  # leap day
    assert sum(case.intent is Intent.ABSENCE for case in CASES) >= 15
    assert sum(case.ask_back is not None for case in CASES) >= 25


def test_score(capsys: pytest.CaptureFixture[str]) -> None:
    """At least `MIN_EXACT_RATE` exactly right, and never a wrong set of days."""
    results = [(case, case.run()) for case in CASES]
    exact = sum(case.exact(result) for case, result in results)
    wrong = [
        (case.phrase, case.today, result)
        for case, result in results
        if case.silently_wrong(result)
    ]
    rate = exact / len(CASES)
    with capsys.disabled():
        print(
            f"\nclass phrases exactly right: {exact}/{len(CASES)} = {rate:.1%}, "
            f"silently wrong: {len(wrong)}"
        )
    assert not wrong
    assert rate >= MIN_EXACT_RATE


# -- one test per class -----------------------------------------------------------------------


@pytest.mark.parametrize("case", of_class("numeric_year"))
def test_numeric_date_with_a_year_is_one_day(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("quantity"))
def test_number_before_a_noun_is_not_a_day(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("weekday_list"))
def test_abbreviated_weekdays_in_lists(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("day_count"))
def test_number_of_days_is_a_span_or_a_question(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("sunday_week"))
def test_this_week_said_on_a_sunday(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("this_weekday"))
def test_this_weekday(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("relative_after"))
def test_day_or_period_after_the_previous_one(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("sms"))
def test_text_message_spellings(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", of_class("long_recurrence"))
def test_long_recurrences_are_capped_by_days_produced(case: Case) -> None:
    check(case)


# -- questions and properties -----------------------------------------------------------------


def test_too_many_days_question_says_how_many_and_the_cap() -> None:
    result = understand("tous les jours de janvier à juin", date(2026, 12, 4))
    assert isinstance(result, AskBack) and result.reason == "too_long"
    fr, en = ask_back_text(result, "fr"), ask_back_text(result, "en")
    assert "181 jours" in fr and f"{MAX_DAYS} au plus" in fr
    assert "181 days" in en and f"at most {MAX_DAYS}" in en


def test_cap_counts_opening_days_not_calendar_days() -> None:
    """A term of Wednesdays spans months but gives few days: understood."""
    today = date(2026, 8, 31)
    result = understand("tous les mercredis du 2 septembre au 16 décembre", today)
    assert isinstance(result, Understood) and len(result.days) == 16
    every_day = understand("du 2 septembre au 16 décembre", today)  # 106 days
    assert isinstance(every_day, AskBack) and every_day.reason == "too_long"
    term = {date(2026, 9, 2) + timedelta(days=n) for n in range(106)}
    open_days = {d for d in term if d.weekday() in (0, 1, 3, 4)}
    trimmed = understand("du 2 septembre au 16 décembre", today, allowed_days=open_days)
    assert trimmed == Understood(tuple(sorted(open_days)))


def test_count_alone_question_offers_both_readings() -> None:
    result = understand("pendant 4 jours", date(2026, 12, 4))
    assert isinstance(result, AskBack) and result.reason == "vague"
    fr, en = ask_back_text(result, "fr"), ask_back_text(result, "en")
    assert "« 4 jours à partir du lundi 7 décembre »" in fr
    assert "« dans 4 jours » (le mardi 8 décembre)" in fr
    assert "“4 days from Monday 7 December”" in en
    assert "“in 4 days” (Tuesday 8 December)" in en


def test_count_mismatch_question_names_the_days_read() -> None:
    result = understand("3 jours : mardi et jeudi", date(2026, 12, 4))
    assert isinstance(result, AskBack) and result.reason == "count_mismatch"
    fr, en = ask_back_text(result, "fr"), ask_back_text(result, "en")
    assert "3 jours" in fr and "mardi 8 décembre" in fr
    assert "jeudi 10 décembre" in fr
    assert "You wrote 3 days" in en


@pytest.mark.parametrize("shift", range(0, 7 * 60, 7))
def test_this_week_on_any_sunday_is_the_coming_week(shift: int) -> None:
    sunday = date(2026, 1, 4) + timedelta(days=shift)
    result = understand("cette semaine", sunday)
    monday = sunday + timedelta(days=1)
    assert result == Understood(tuple(monday + timedelta(days=n) for n in range(7)))
    back = understand("absent cette semaine", sunday, Intent.ABSENCE)
    assert back == Understood(tuple(sunday - timedelta(days=6 - n) for n in range(7)))


@pytest.mark.parametrize("shift", range(0, 365 * 2, 11))
def test_numeric_date_with_a_two_digit_year_is_that_day(shift: int) -> None:
    today = date(2026, 1, 1)
    day = today + timedelta(days=shift)
    for text in (f"{day:%d-%m-%y}", f"{day.day}-{day.month}-{day:%y}", f"{day:%d.%m.%y}"):
        assert understand(text, today) == Understood((day,)), text


@pytest.mark.parametrize(
    "text",
    ["la mer", "un jeu", "mon fils", "Sam vient", "ma sœur et sa fille", "le jeu et la mer"],
)
def test_abbreviation_after_an_article_is_a_word(text: str) -> None:
    result = understand(text, date(2026, 12, 4))
    assert isinstance(result, AskBack) and result.reason == "not_understood"
