"""6. Typed dates: per-phrase cost of `dates.understand` over the test set, after warm-up.

Each phrase of `tests/data/date_phrases.yaml` is understood `repeats` times; a phrase's cost
is the median of its repeats, and the table gives the median and p99 over phrases. Baseline in
the same run: `dateparser.parse` (the library the module falls back on) on the same phrases.
The first call without `warm_up()` is measured in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from bench.common import ROOT, Section, median, ms, own_peak_rss_mb, percentile, us

PHRASES = ROOT / "tests" / "data" / "date_phrases.yaml"
GOAL_NOTE = "no goal figure in the issue: reported for the chat's budget per typed message"


@dataclass(frozen=True)
class Phrase:
    text: str
    today: date
    intent: str
    allowed_days: frozenset[date] | None


def load_phrases(path: Path = PHRASES) -> list[Phrase]:
    """The phrase set, with the activity's open days when the case restricts weekdays."""
    phrases = []
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
        today = entry["today"]
        today = today if isinstance(today, date) else date.fromisoformat(str(today))
        weekdays = entry.get("allowed_weekdays")
        allowed = None
        if weekdays is not None:
            first = today - timedelta(days=400)
            allowed = frozenset(
                day
                for day in (first + timedelta(days=n) for n in range(800))
                if day.weekday() in weekdays
            )
        phrases.append(Phrase(entry["phrase"], today, entry["intent"], allowed))
    return phrases


def _cost(function, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return median(times)


def cold_pass() -> None:
    """In a fresh interpreter: print the slowest first call over the set, then warm_up()'s cost."""
    from dates import Intent, understand, warm_up

    slowest = 0.0
    for phrase in load_phrases():
        start = time.perf_counter()
        understand(phrase.text, phrase.today, Intent(phrase.intent), phrase.allowed_days)
        slowest = max(slowest, time.perf_counter() - start)
    start = time.perf_counter()
    warm_up()
    print(slowest, time.perf_counter() - start)


def _cold_first_call() -> tuple[float, float]:
    """(slowest call of a first pass without warm-up, warm_up() afterwards), in seconds."""
    code = "from bench.typed_dates import cold_pass; cold_pass()"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def run(repeats: int = 15) -> Section:
    """Measure and describe."""
    import dateparser

    from dates import Intent, understand, warm_up

    started = time.perf_counter()
    section = Section(6, "Typed dates: cost per phrase of `dates.understand`")
    phrases = load_phrases()
    warm_up()
    costs: list[tuple[float, Phrase]] = []
    for phrase in phrases:
        intent = Intent(phrase.intent)
        costs.append(
            (
                _cost(
                    lambda p=phrase, i=intent: understand(p.text, p.today, i, p.allowed_days),
                    repeats,
                ),
                phrase,
            )
        )
    baseline = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dateparser.parse("9 décembre", languages=["fr", "en"])
        for phrase in phrases:
            baseline.append(
                _cost(
                    lambda p=phrase: dateparser.parse(p.text, languages=["fr", "en"]),
                    max(3, repeats // 3),
                )
            )
    cold, warm_up_seconds = _cold_first_call()
    values = [cost for cost, _ in costs]
    slowest = sorted(costs, key=lambda item: item[0], reverse=True)[:3]
    section.setup = [
        f"{len(phrases)} phrases of `tests/data/date_phrases.yaml`, each understood {repeats}"
        " times after `warm_up()`; a phrase's cost is the median of its repeats.",
        "Baseline (same run, same phrases): `dateparser.parse(phrase, languages=['fr','en'])`.",
    ]
    section.table(
        ["measure", "understand()", "dateparser.parse (baseline)", "ratio"],
        [
            [
                "median per phrase",
                us(median(values)),
                us(median(baseline)),
                f"{median(values) / median(baseline):.2f}×",
            ],
            [
                "p99 per phrase",
                us(percentile(values, 99)),
                us(percentile(baseline, 99)),
                f"{percentile(values, 99) / percentile(baseline, 99):.2f}×",
            ],
            [
                "mean per phrase",
                us(sum(values) / len(values)),
                us(sum(baseline) / len(baseline)),
                f"{sum(values) / sum(baseline):.2f}×",
            ],
            ["slowest call of a first pass without warm_up() (fresh process)", ms(cold), "", ""],
            ["warm_up() after that pass", ms(warm_up_seconds), "", ""],
            ["peak memory of the process", f"{own_peak_rss_mb():.0f} MiB", "", ""],
        ],
    )
    section.goal(
        "per-phrase cost small against a chat update (see 1.)",
        f"median {us(median(values))}, p99 {us(percentile(values, 99))}",
        None,
    )
    section.notes.append(
        "Slowest phrases: "
        + "; ".join(f"“{phrase.text}” {us(cost)}" for cost, phrase in slowest)
        + "."
    )
    section.seconds = time.perf_counter() - started
    return section


if __name__ == "__main__":
    print(run().markdown())
