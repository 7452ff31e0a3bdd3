"""Run the benchmarks in order and rewrite `bench/RESULTS.md`.

    python -m bench                 # what `make bench` runs (≤ 10 minutes on 2 cores; all
                                    # sections but 9, which `--only 9` runs)
    python -m bench --quick         # smaller runs, for a first look (~3 minutes)
    python -m bench --full          # the issue's full sizes (longer than 10 minutes)
    python -m bench --only 6,1      # some sections only (1 chat, 2 rush, 3 growth, 5 pacing,
                                    # 4 mail, 6 dates, 7 replies, 8 mail memory, 9 webhook
                                    # workers); the others
                                    # keep their previous text

Each section is measured against a baseline taken in the same run; the results file says
which command produced it, on which machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    chat_sections,
    mail,
    mail_memory,
    pacing,
    reply_reduction,
    rush,
    typed_dates,
    workers,
)
from bench.common import ROOT, WORK_DIR, Section, load_average, machine_info
from bot.privacy_keys import install_keyring
from bot.settings import Settings
from store.encryption import new_key

RESULTS = ROOT / "bench" / "RESULTS.md"
FINDINGS = ROOT / "bench" / "findings.md"
ALL = (6, 7, 1, 3, 2, 5, 4, 8, 9)
# What `make bench` runs without SECTIONS: section 9 (webhook workers on PostgreSQL, about
# 5 minutes on its own) runs when asked for (`make bench SECTIONS=9`), so that the default
# stays under 10 minutes on a busy 2-core machine.
DEFAULT = (6, 7, 1, 3, 2, 5, 4, 8)


@dataclass(frozen=True)
class Profile:
    """The size of every run."""

    chat: chat_sections.ChatSizes
    rush_families: int
    rush_sequential: int
    rush_concurrency: int
    pacing_parents: int
    pacing_back_to_back: int
    mail_messages: int


PROFILES = {
    "quick": Profile(chat_sections.QUICK, 1000, 100, 30, 200, 100, 60),
    "default": Profile(chat_sections.ChatSizes(), 5000, 200, 30, 600, 200, 200),
    "full": Profile(chat_sections.FULL, 5000, 500, 30, 2000, 300, 500),
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller runs")
    size.add_argument("--full", action="store_true", help="the issue's full sizes")
    parser.add_argument("--only", default="", help="comma-separated section numbers")
    return parser.parse_args(argv)


def _previous_sections() -> dict[int, str]:
    """The sections of the current RESULTS.md, to keep those not re-measured."""
    if not RESULTS.exists():
        return {}
    found: dict[int, str] = {}
    parts = re.split(r"(?m)^## ", RESULTS.read_text(encoding="utf-8"))
    for part in parts[1:]:
        number = part.split(".", 1)[0]
        if number.isdigit():
            found[int(number)] = "## " + part.rstrip() + "\n"
    return found


async def _chat_and_growth(
    wanted: set[int], sizes: chat_sections.ChatSizes
) -> tuple[list[Section], Path | None]:
    sections = []
    big_database = None
    started = time.perf_counter()
    small = await chat_sections.run_product(
        sizes.small_town,
        sizes,
        ["goal", "sustained", "saturation"] if 1 in wanted else ["sustained"],
    )
    if 1 in wanted:
        floor, floor_peak = await chat_sections.run_floor(sizes, small.phases["goal"].updates)
        # Product, floor, product: the pooled goal phase is measured, on average, when the
        # floor is, so a drift of the machine over the section does not tilt their ratio.
        await chat_sections.run_again(small, sizes, "goal")
        postgresql = await chat_sections.run_product_postgresql(sizes.small_town, sizes)
        sections.append(
            chat_sections.chat_section(
                small, floor, floor_peak, time.perf_counter() - started, postgresql
            )
        )
    if 3 in wanted:
        started = time.perf_counter()
        big = await chat_sections.run_product(sizes.big_town, sizes, ["sustained"])
        # Small, big, big, small: the machine's drift over the section weighs on both towns.
        await chat_sections.run_again(big, sizes)
        await chat_sections.run_again(small, sizes)
        sections.append(chat_sections.growth_section(small, big, time.perf_counter() - started))
        big_database = big.database
    return sections, big_database


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    try:
        wanted = {int(n) for n in args.only.split(",") if n.strip()} or set(DEFAULT)
    except ValueError:
        sys.exit(f"--only (SECTIONS): section numbers separated by commas, not {args.only!r}")
    if wanted - set(ALL):
        sys.exit(f"no section {sorted(wanted - set(ALL))}: the sections are {sorted(ALL)}")
    profile = PROFILES["quick" if args.quick else "full" if args.full else "default"]
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    # Health details and documents are encrypted at rest: one key for the whole run, in this
    # process and the product processes it starts (PostgreSQL has no default key).
    os.environ.setdefault("PRIVACY_KEYS", new_key())
    install_keyring(Settings())
    load_before = load_average()
    started = time.perf_counter()
    measured: list[Section] = []
    big_database: list[Path | None] = [None]

    def chat_and_growth() -> list[Section]:
        results, big_database[0] = asyncio.run(_chat_and_growth(wanted, profile.chat))
        return results

    steps: list[tuple[set[int], str, Callable[[], list[Section]]]] = [
        ({6}, "6. typed dates", lambda: [typed_dates.run()]),
        ({7}, "7. reply reduction", lambda: [reply_reduction.run()]),
        ({1, 3}, "1./3. chat cost and growth", chat_and_growth),
        (
            {2},
            "2. deadline rush on PostgreSQL",
            lambda: [
                rush.run(profile.rush_families, profile.rush_concurrency, profile.rush_sequential)
            ],
        ),
        (
            {5},
            "5. outbound pacing",
            lambda: [
                pacing.run(
                    4000, profile.pacing_parents, profile.pacing_back_to_back, big_database[0]
                )
            ],
        ),
        ({4}, "4. mail intake", lambda: [mail.run(profile.mail_messages, 4)]),
        ({8}, "8. mail memory", lambda: [mail_memory.run()]),
        (
            {9},
            "9. webhook workers on PostgreSQL",
            lambda: [workers.run("quick" if args.quick else "full" if args.full else "default")],
        ),
    ]
    for numbers, title, step in steps:
        if not numbers & wanted:
            continue
        print(title, flush=True)
        try:
            measured += step()
        except Exception as error:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            for number in sorted(numbers & wanted):
                name = title.split(" ", 1)[1]
                failed = Section(number, f"{name[0].upper()}{name[1:]}: not measured")
                failed.notes.append(f"The run failed: `{type(error).__name__}: {error}`.")
                measured.append(failed)
    # Read the other sections now, not at the start: a run of other sections that ended
    # meanwhile (`make bench SECTIONS=...` in another shell) keeps its text.
    sections: dict[int, str] = _previous_sections()
    for section in measured:
        sections[section.number] = section.markdown()
        print(f"   section {section.number} done in {section.seconds:.0f} s", flush=True)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    load = f"load average {load_before} at the start, {load_average()} at the end"
    _write(sections, command.strip(), time.perf_counter() - started, wanted, load)


def _write(
    sections: dict[int, str], command: str, seconds: float, wanted: set[int], load: str
) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Measured performance",
        "",
        f"Written by `{command}` (`make bench`) on {stamp}, in {seconds:.0f} s; sections "
        f"{', '.join(str(n) for n in sorted(wanted))} were measured by that run"
        + (", the others are kept from an earlier run." if set(sections) - wanted else "."),
        "",
        "Machine:",
        "",
        *[f"- {line}" for line in machine_info()],
        f"- {load} (1 minute; other work on the machine during the run skews the figures)",
        "",
        "Every figure is compared with a baseline measured in the same run (the echo bot for "
        "the chat, the small town for growth, ...). See `bench/README.md` for the layout of "
        "the processes and how each figure is taken.",
        "",
    ]
    for number in sorted(sections):
        lines.append(sections[number])
    lines.append(FINDINGS.read_text(encoding="utf-8"))
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
