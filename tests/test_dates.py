"""Date understanding (dates): the phrase set, read-back formatting and the CLI helper."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates_cli import add_dates_command
from conversations.kit.ask_back import ask_back_text
from dates import (
    MAX_DAYS,
    AskBack,
    Intent,
    Understood,
    format_days,
    understand,
    warm_up,
)

PHRASES_FILE = Path(__file__).parent / "data" / "date_phrases.yaml"


@dataclass(frozen=True)
class Case:
    """One phrase of the YAML set and what it must give."""

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


def _as_date(value: object) -> date:
    """A date from YAML (already a date, or ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _expand(values: list[object]) -> tuple[date, ...]:
    """Expected days, with "A..B" standing for every day from A to B."""
    days: list[date] = []
    for value in values:
        if isinstance(value, str) and ".." in value:
            first, last = (date.fromisoformat(part) for part in value.split(".."))
            days.extend(first + timedelta(days=n) for n in range((last - first).days + 1))
        else:
            days.append(_as_date(value))
    return tuple(days)


def _load_cases() -> list[Case]:
    """The cases of the YAML phrase set."""
    raw = yaml.safe_load(PHRASES_FILE.read_text(encoding="utf-8"))
    cases = []
    for entry in raw:
        assert ("expect" in entry) != ("ask_back" in entry), entry
        weekdays = entry.get("allowed_weekdays")
        cases.append(
            Case(
                phrase=entry["phrase"],
                today=_as_date(entry["today"]),
                intent=Intent(entry["intent"]),
                expect=_expand(entry["expect"]) if "expect" in entry else None,
                ask_back=entry.get("ask_back"),
                allowed_weekdays=None if weekdays is None else frozenset(weekdays),
            )
        )
    return cases


CASES = _load_cases()


def _ids() -> Iterator[str]:
    """Readable test ids."""
    for number, case in enumerate(CASES):
        yield f"{number:03d}-{case.intent.value}-{case.today}-{case.phrase[:40]}"


def _exact(case: Case, result: Understood | AskBack) -> bool:
    """True if the result is exactly what the case expects."""
    if case.expect is not None:
        return isinstance(result, Understood) and result.days == case.expect
    return isinstance(result, AskBack) and result.reason == case.ask_back


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load dateparser once for the module."""
    warm_up()


def test_phrase_set_is_large_and_varied() -> None:
    assert len(CASES) >= 120
    assert len({c.today for c in CASES}) >= 8
    assert sum(c.intent is Intent.ABSENCE for c in CASES) >= 30
    assert sum(c.ask_back is not None for c in CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=list(_ids()))
def test_phrase(case: Case) -> None:
    """A wrong date always fails; a question instead of the expected days is only inexact."""
    result = case.run()
    if isinstance(result, Understood):
        assert list(result.days) == sorted(set(result.days)), "days must be sorted and unique"
        assert case.expect is not None, f"expected a question ({case.ask_back}), got {result}"
        assert result.days == case.expect
        return
    assert ask_back_text(result, "fr").strip() and ask_back_text(result, "en").strip()
    if case.expect is not None:
        pytest.xfail(f"asked back ({result.reason}) instead of {case.expect}")
    assert result.reason == case.ask_back


def test_exact_match_rate(capsys: pytest.CaptureFixture[str]) -> None:
    exact = sum(_exact(case, case.run()) for case in CASES)
    rate = exact / len(CASES)
    with capsys.disabled():
        print(f"\ndate phrases exactly right: {exact}/{len(CASES)} = {rate:.1%}")
    assert rate >= 0.95


# -- questions and options ------------------------------------------------------------------


def test_weekday_mismatch_question_names_both_readings() -> None:
    result = understand("mercredi 3 décembre", date(2026, 11, 24))
    assert isinstance(result, AskBack)
    assert result.reason == "weekday_mismatch"
    assert ask_back_text(result, "fr") == (
        "Le 3 décembre 2026 est un jeudi, pas un mercredi. "
        "Vouliez-vous dire jeudi 3 décembre ou mercredi 2 décembre ?"
    )
    assert ask_back_text(result, "en") == (
        "3 December 2026 is a Thursday, not a Wednesday. "
        "Did you mean Thursday 3 December or Wednesday 2 December?"
    )


QUESTIONS = [
    (
        "blah",
        date(2026, 11, 24),
        "Je n'ai pas reconnu de date. Pouvez-vous l'écrire par exemple « mercredi 25 novembre », "
        "« du 30 novembre au 4 décembre » ou « tous les mercredis de décembre » ?",
        "I could not find a date. Could you write it like “Wednesday 25 November”, "
        "“from 30 November to 4 December” or “every Wednesday in December”?",
    ),
    (
        "blah",
        date(2026, 12, 4),
        "Je n'ai pas reconnu de date. Pouvez-vous l'écrire par exemple « mercredi 9 décembre », "
        "« du 7 au 11 décembre » ou « tous les mercredis de janvier » ?",
        "I could not find a date. Could you write it like “Wednesday 9 December”, "
        "“from 7 to 11 December” or “every Wednesday in January”?",
    ),
    (
        "lundi, mardi ou jeudi",
        date(2026, 11, 24),
        "Lequel voulez-vous : lundi 30 novembre ou mardi 1er décembre ou jeudi 3 décembre ?",
        "Which one do you mean: Monday 30 November or Tuesday 1 December or Thursday 3 December?",
    ),
    (
        "le 31 novembre",
        date(2026, 11, 24),
        "Le 31 novembre n'existe pas. Quelle date vouliez-vous dire ?",
        "31 November does not exist. Which date did you mean?",
    ),
    (
        "1 jour : mardi et jeudi",
        date(2026, 12, 4),
        "Vous avez écrit 1 jour, mais je lis 2 jours (mardi 8 décembre, jeudi 10 décembre). "
        "Quels jours voulez-vous exactement ?",
        "You wrote 1 day, but I read 2 (Tuesday 8 December, Thursday 10 December). "
        "Which days do you mean exactly?",
    ),
]


@pytest.mark.parametrize(("phrase", "today", "french", "english"), QUESTIONS)
def test_questions_are_worded_from_the_catalogs(
    phrase: str, today: date, french: str, english: str
) -> None:
    """The engine gives the values, the kit the words: examples, lists, "1er", plurals."""
    result = understand(phrase, today)
    assert isinstance(result, AskBack)
    assert (ask_back_text(result, "fr"), ask_back_text(result, "en")) == (french, english)


def test_past_day_without_year_suggests_next_year() -> None:
    result = understand("le 3/11", date(2026, 11, 24))
    assert isinstance(result, AskBack) and result.reason == "past"
    assert "3 novembre 2027" in ask_back_text(result, "fr")
    assert "3 November 2027" in ask_back_text(result, "en")


def test_absence_accepts_the_past_that_a_booking_refuses() -> None:
    today = date(2026, 11, 24)
    assert understand("hier", today, Intent.ABSENCE) == Understood((date(2026, 11, 23),))
    assert isinstance(understand("hier", today, Intent.BOOK), AskBack)


def test_single_day_outside_allowed_days_is_still_returned() -> None:
    wednesdays = {date(2026, 12, 2), date(2026, 12, 9)}
    today = date(2026, 11, 24)
    assert understand("jeudi 3 décembre", today, allowed_days=wednesdays) == Understood(
        (date(2026, 12, 3),)
    )
    assert understand("du 1er au 10 décembre", today, allowed_days=wednesdays) == Understood(
        (date(2026, 12, 2), date(2026, 12, 9))
    )


def test_day_cap() -> None:
    """The cap is on the days a message gives (`MAX_DAYS`), not on its calendar span."""
    today = date(2026, 11, 24)
    last = date(2026, 12, 1) + timedelta(days=MAX_DAYS - 1)
    fits = understand(f"du 1/12 au {last:%d/%m/%Y}", today)
    assert isinstance(fits, Understood) and len(fits.days) == MAX_DAYS
    too_long = understand(f"du 1/12 au {last + timedelta(days=1):%d/%m/%Y}", today)
    assert isinstance(too_long, AskBack) and too_long.reason == "too_long"
    assert f"{MAX_DAYS + 1} jours" in ask_back_text(too_long, "fr")
    assert f"at most {MAX_DAYS}" in ask_back_text(too_long, "en")


def test_short_words_are_never_weekdays() -> None:
    for text in ("je ma sa me le", "mon fils", "la mer", "un jeu", "Sam vient", "mais oui"):
        result = understand(text, date(2026, 11, 24))
        assert isinstance(result, AskBack) and result.reason == "not_understood", text


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60), st.dates(date(2020, 1, 1), date(2035, 12, 31)))
def test_any_text_gives_days_or_a_question(text: str, today: date) -> None:
    result = understand(text, today)
    if isinstance(result, Understood):
        assert result.days and list(result.days) == sorted(set(result.days))
    else:
        assert result.reason and ask_back_text(result, "fr") and ask_back_text(result, "en")


@settings(max_examples=60, deadline=None)
@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(-400, 400))
def test_numeric_dates_are_read_day_first(today: date, shift: int) -> None:
    day = today + timedelta(days=shift)
    result = understand(f"le {day:%d/%m/%Y}", today)
    if day >= today:
        assert result == Understood((day,))
    else:
        assert isinstance(result, AskBack) and result.reason == "past"


@settings(max_examples=40, deadline=None)
@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(1, 31))
def test_day_number_alone_is_the_next_one_for_booking(today: date, number: int) -> None:
    result = understand(f"le {number}", today)
    assert isinstance(result, Understood) and len(result.days) == 1
    day = result.days[0]
    assert day.day == number and today <= day <= today + timedelta(days=62)
    back = understand(f"le {number}", today, Intent.ABSENCE)
    assert isinstance(back, Understood) and back.days[0] <= today


# -- read-back -----------------------------------------------------------------------------


def test_format_days_french_and_english() -> None:
    days = [date(2026, 12, 9), date(2026, 12, 10)]
    assert format_days(days, "fr") == "mer. 9 déc., jeu. 10 déc."
    assert format_days(days, "en") == "Wed 9 Dec, Thu 10 Dec"
    assert format_days([date(2027, 1, 1)], "fr") == "ven. 1 janv."
    assert format_days([], "fr") == ""


def test_format_days_reads_back_into_the_same_days() -> None:
    days = (date(2026, 12, 9), date(2026, 12, 10), date(2027, 2, 3))
    for locale in ("fr", "en"):
        assert understand(format_days(days, locale), date(2026, 11, 24)) == Understood(days)


# -- CLI -----------------------------------------------------------------------------------


def _run_cli(argv: list[str]) -> int:
    """Run the `dates` command through a parser built like bot/cli.py's."""
    parser = argparse.ArgumentParser(prog="portail")
    add_dates_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(None, args))


def test_cli_prints_every_day_of_a_range(capsys: pytest.CaptureFixture[str]) -> None:
    status = _run_cli(["dates", "du 21 au 24 décembre", "--today", "2026-11-24"])
    assert status == 0
    assert capsys.readouterr().out.split() == [
        "2026-12-21",
        "2026-12-22",
        "2026-12-23",
        "2026-12-24",
    ]


def test_cli_absence_looks_back(capsys: pytest.CaptureFixture[str]) -> None:
    status = _run_cli(["dates", "lundi", "--today", "2026-12-04", "--intent", "absence"])
    assert status == 0
    assert capsys.readouterr().out.split() == ["2026-11-30"]


def test_cli_asks_back_with_status_3(capsys: pytest.CaptureFixture[str]) -> None:
    status = _run_cli(["dates", "mercredi 3 décembre", "--today", "2026-11-24"])
    assert status == 3
    assert capsys.readouterr().out.startswith("Le 3 décembre 2026 est un jeudi")
    status = _run_cli(["dates", "mi-décembre", "--today", "2026-11-24", "--lang", "en"])
    assert status == 3
    assert capsys.readouterr().out.startswith("Could you give the exact days?")


def test_cli_rejects_a_bad_today(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _run_cli(["dates", "demain", "--today", "24/11/2026"])
    assert "YYYY-MM-DD" in capsys.readouterr().err
