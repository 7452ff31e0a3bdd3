"""7. Reply reduction: the share of staff replies reduced exactly, per language and client.

The corpus is `tests/data/replies` (replies to our notifications from the usual clients, in
the staff's languages, each with the exact text the parent must read). Each reply is reduced
three ways, in the same run:

- the product: `reduce_reply` knowing what the notification said (`Sent`, as the inbound
  service gets it from `store.staff_notices.notified_texts`);
- the markers alone (`markers_only=True`): the mail clients' attributions, header blocks,
  separators and footers, the second line of defence;
- the previous reducer: the last committed `handlers/email_reply.py` (now `mail/reply.py`)
  that did not know what we sent (French and English markers only), loaded from git: the
  baseline before it did.

"Exact" is equality with the expected text; "leaks" counts results holding our reply address
(its token). Cost: the median time to reduce one reply (body already parsed), the product's.
"""

from __future__ import annotations

import subprocess
import sys
import time
import types
from collections import defaultdict
from collections.abc import Callable

from bench.common import ROOT, Section, median, percentile, us
from mail.reply import reduce_reply
from tests.reply_corpus import CORPUS, Reply, replies

GOAL_EXACT = 0.95
# Where the reducer lived while it did not know what we sent (now `mail/reply.py`).
REDUCER = "handlers/email_reply.py"


def previous_reducer() -> Callable[[str], str] | None:
    """`reduce_reply` of the last committed reducer that did not know what we sent (the
    markers of French and English only), loaded from git; None without git history."""
    try:
        commits = _git("log", "--format=%H", "--", REDUCER).split()
        for commit in commits:
            try:
                source = _git("show", f"{commit}:{REDUCER}")
            except subprocess.CalledProcessError:
                continue  # the commit that moved it to `mail/reply.py`
            if "class Sent" not in source:
                break
        else:
            return None
    except (OSError, subprocess.CalledProcessError):
        return None
    name = "bench_previous_email_reply"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{commit[:10]}:{REDUCER}", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__["reduce_reply"]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f} %)" if total else "—"


def _rows(
    groups: dict[str, list[Reply]], results: dict[str, dict[str, str]], ways: list[str]
) -> list[list[str]]:
    rows = []
    for key in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        cases = groups[key]
        row = [key, str(len(cases))]
        for way in ways:
            exact = sum(results[way][r.name] == r.expected for r in cases)
            row.append(_share(exact, len(cases)))
        row.append(str(sum(r.token in results["product"][r.name] for r in cases)))
        rows.append(row)
    return rows


def run(repeats: int = 20) -> Section:
    """Reduce the corpus each way, and describe."""
    started = time.perf_counter()
    section = Section(7, "Reply reduction: staff replies reduced to what the staff wrote")
    corpus = replies()
    ways: dict[str, Callable[[Reply], str]] = {
        "product": lambda r: reduce_reply(r.body, r.sent),
        "markers only": lambda r: reduce_reply(r.body, markers_only=True),
    }
    previous = previous_reducer()
    if previous is not None:
        ways["previous reducer"] = lambda r: previous(r.body)
    results = {way: {r.name: reduce(r) for r in corpus} for way, reduce in ways.items()}
    costs = []
    for reply in corpus:
        sent = reply.sent
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            reduce_reply(reply.body, sent)
            times.append(time.perf_counter() - start)
        costs.append(median(times))
    names = list(ways)
    by_language: dict[str, list[Reply]] = defaultdict(list)
    by_client: dict[str, list[Reply]] = defaultdict(list)
    for reply in corpus:
        by_language[reply.language].append(reply)
        by_client[reply.client].append(reply)
    header = ["", "replies", *names, "token leaks (product)"]
    section.setup = [
        f"{len(corpus)} replies of `{CORPUS.relative_to(ROOT)}` (written by its `compose.py`), "
        f"{len(by_language)} client languages, {len(by_client)} clients; each reduced by the "
        "product (knowing what the notification said), by the markers alone, and by the "
        "previous reducer (the last one committed that did not know what we sent).",
        "Exact: the result equals the `*.expected.txt`. Token leaks: results holding the "
        "thread's reply token.",
    ]
    section.table(["language", *header[1:]], _rows(by_language, results, names))
    section.table(["client", *header[1:]], _rows(by_client, results, names))
    total = {name: sum(results[name][r.name] == r.expected for r in corpus) for name in names}
    section.table(
        ["all", "replies", *names],
        [["all", str(len(corpus)), *[_share(total[name], len(corpus)) for name in names]]],
    )
    leaks = {name: sum(r.token in results[name][r.name] for r in corpus) for name in names}
    exact_share = total["product"] / len(corpus)
    section.goal(
        f"≥ {GOAL_EXACT:.0%} of replies reduced exactly (the tests' floor)",
        f"{exact_share:.1%}",
        exact_share >= GOAL_EXACT,
    )
    section.goal(
        "no reply address reaches the parent",
        ", ".join(f"{name}: {count} leaks" for name, count in leaks.items()),
        leaks["product"] == 0,
    )
    section.table(
        ["cost of one reduction (product)", "median", "p99"],
        [["", us(median(costs)), us(percentile(costs, 99))]],
    )
    section.notes.append(
        "The corpus was written alongside the reducer: the product's share measures what it "
        "was built for; the other columns show what each rule adds. The last cases "
        "(`LATER` in `cases.py`) were written after it was measured, and showed one miss "
        "(a parent's words echoed by the staff member above an unquoted history), since "
        "fixed: add new clients there first, and measure before changing the reducer."
    )
    missed = [r.name for r in corpus if results["product"][r.name] != r.expected]
    if missed:
        section.notes.append("Not exact: " + ", ".join(f"`{name}`" for name in missed) + ".")
    section.seconds = time.perf_counter() - started
    return section


if __name__ == "__main__":
    print(run().markdown())
