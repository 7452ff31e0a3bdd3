"""Where the product's CPU goes per chat update: a cProfile of `portail bot` under the flow of
section 1, at a fixed offered rate.

    python -m bench.profile_chat                      # 100 updates/s, 70 parents, SQLite
    python -m bench.profile_chat --rate 30 --parents 40 --postgresql
    python -m bench.profile_chat --top 60 --out var/bench/chat.prof

With `--py-spy` (the `py-spy` program on the PATH or given, a sampling profiler that attaches
to the process), the product runs unchanged (`portail bot`, at full speed) and is sampled 200
times a second during the phase: the shares are those of the real run, each function's
inclusive share counts a sample once, and every thread is in it (aiosqlite's too).

Otherwise the product runs as in section 1 (`portail bot`, a fresh copy of the 1,000-family
town, the local Bot API and the simulated parents in this process), through `bench.sql_census` with
`BENCH_PROFILE`: the profile starts after the warm-up (SIGUSR1) and stops when the last parent
is answered (SIGUSR2), so start-up is not in it. cProfile profiles the event loop's thread
(aiosqlite's thread is not in it) and slows every call down: read the shares, not the times;
section 1 gives the real CPU per update. Printed: the profiled time per update, its share by
package (own time of each function, the C functions counted apart), and the functions with the
largest cumulative time (ours, then everyone's).
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import random
import shutil
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench import chat, chat_sections, town
from bench.common import ROOT, WORK_DIR, fresh_postgresql

OURS = ("bot", "conversations", "handlers", "store", "mail")


def _package(filename: str) -> str:
    """A short owner for a profiled function's file: our package, a library, or the stdlib."""
    if filename.startswith("~") or filename.startswith("<"):
        return "(C functions)"
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].split(".")[0]
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return "stdlib:" + (path.parent.name if path.parent.name != "python3.11" else path.stem)
    return relative.parts[0]


def _ours(filename: str) -> bool:
    try:
        relative = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return False
    return relative.parts[0] in OURS


def report(path: Path, updates: int, top: int) -> str:
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())  # own time of every function
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in raw.items():
        by_package[_package(filename)] += own
    lines = [
        f"profiled: {total:.2f} s for {updates} updates = {1000 * total / updates:.2f} ms/update "
        "(under cProfile: read the shares)",
        "",
        "own time by package:",
    ]
    for name, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:25]:
        lines.append(
            f"  {100 * seconds / total:5.1f} %  {1000 * seconds / updates:6.3f} ms  {name}"
        )

    def rows(keep: bool) -> list[str]:
        chosen = sorted(
            ((key, value) for key, value in raw.items() if keep or _ours(key[0])),
            key=lambda kv: -kv[1][3],
        )[:top]
        out = []
        for (filename, line, name), (_, calls, own, cumulative, _) in chosen:
            where = _package(filename) + ":" + Path(filename).name + f":{line}"
            out.append(
                f"  {100 * cumulative / total:5.1f} % cum {100 * own / total:5.1f} % own "
                f"{calls / updates:7.2f}/update  {name}  ({where})"
            )
        return out

    lines += ["", "our functions by cumulative time:", *rows(False)]
    lines += ["", "all functions by cumulative time:", *rows(True)]
    return "\n".join(lines)


def sampled_report(path: Path, updates: int, top: int) -> str:
    """The same report from py-spy's collapsed stacks (`frame;frame;... count` per line)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        by_package[_package(_frame_file(frames[-1]))] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples for {updates} updates", "", "own samples by package:"]
    for name, count in by_package.most_common(25):
        lines.append(f"  {100 * count / total:5.1f} %  {name}")
    lines += ["", "our functions by inclusive samples:"]
    ours = [(f, c) for f, c in inclusive.most_common() if _ours(_frame_file(f))]
    lines += [f"  {100 * c / total:5.1f} %  {f}" for f, c in ours[:top]]
    lines += ["", "all functions by inclusive samples:"]
    lines += [f"  {100 * c / total:5.1f} %  {f}" for f, c in inclusive.most_common(top)]
    lines += ["", "all functions by own samples:"]
    lines += [f"  {100 * c / total:5.1f} %  {f}" for f, c in own.most_common(top)]
    return "\n".join(lines)


def _frame_file(frame: str) -> str:
    """`function (path/file.py:12)` → the path (py-spy's frame format)."""
    inside = frame.rpartition(" (")[2].rstrip(")")
    return inside.rpartition(":")[0] or inside


async def profile(
    rate: float, parents: int, out: Path, postgresql: bool, py_spy: str | None
) -> tuple[chat.Phase, Path]:
    if postgresql:
        async with fresh_postgresql("bench_profile") as (_, url):
            facts = await town.build(url, chat_sections.ChatSizes().small_town)
            return await _run(url, facts, rate, parents, out, py_spy)
    url, _, facts = await chat_sections.prepared_town(chat_sections.ChatSizes().small_town)
    return await _run(url, facts, rate, parents, out, py_spy)


async def _run(
    url: str, facts: town.TownFacts, rate: float, parents: int, out: Path, py_spy: str | None
) -> tuple[chat.Phase, Path]:
    pool = list({parent.family_id: parent for parent in facts.parents}.values())
    random.Random(facts.families).shuffle(pool)
    async with chat.fake_bot_api() as server:
        if py_spy:
            bot = chat.product_process(url, server, "product-profile")
        else:
            bot = chat.census_process(url, server, WORK_DIR / "profile-census.json")
            del bot.env["BENCH_SQL_CENSUS"], bot.env["MAX_CONCURRENT_UPDATES"]
            bot.env.update(BENCH_PROFILE=str(out), BENCH_PROFILE_ON_SIGNAL="1")
            bot.name = "product-profile"
            bot.log = WORK_DIR / "product-profile.log"
        await bot.start(server)
        sampler: asyncio.subprocess.Process | None = None
        try:
            await chat.run_phase(
                "warm-up", server, bot, pool[:10], chat.product_flow, rate=None, concurrency=10
            )
            assert bot.process is not None
            if py_spy:
                sampler = await asyncio.create_subprocess_exec(
                    py_spy,
                    "record",
                    "--pid",
                    str(bot.pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                    "--gil",
                    "--function",
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await asyncio.sleep(1.0)
            else:
                bot.process.send_signal(signal.SIGUSR1)
                await asyncio.sleep(0.2)
            phase = await chat.run_phase(
                "profiled",
                server,
                bot,
                pool[10 : 10 + parents],
                chat.product_flow,
                rate=rate,
                concurrency=10_000,
            )
            if sampler is not None:
                sampler.send_signal(signal.SIGINT)
                async with asyncio.timeout(30):
                    await sampler.wait()
            else:
                bot.process.send_signal(signal.SIGUSR2)
            await asyncio.to_thread(_wait_for, out, 30.0)
        finally:
            if sampler is not None and sampler.returncode is None:
                sampler.kill()
                await sampler.wait()
            await bot.stop()
    return phase, out


def _wait_for(path: Path, seconds: float) -> None:
    """Until the profiled process has written `path` (or `seconds` passed)."""
    deadline = time.perf_counter() + seconds
    while not path.exists() and time.perf_counter() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # written whole


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_chat", description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="offered updates/s")
    parser.add_argument("--parents", type=int, default=70, help="parents (≈17 updates each)")
    parser.add_argument("--postgresql", action="store_true", help="the store on PostgreSQL")
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    parser.add_argument("--out", type=Path, help="the profile (default var/bench/chat.prof)")
    parser.add_argument(
        "--py-spy",
        nargs="?",
        const="py-spy",
        help="sample the unchanged product with py-spy (this program) instead of cProfile",
    )
    args = parser.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which(args.py_spy) if args.py_spy else None
    if args.py_spy and not py_spy:
        sys.exit(f"{args.py_spy}: not found (pip install py-spy)")
    out = args.out or WORK_DIR / ("chat.spy.txt" if py_spy else "chat.prof")
    out.unlink(missing_ok=True)
    phase, out = asyncio.run(profile(args.rate, args.parents, out, args.postgresql, py_spy))
    if phase.errors:
        print(f"{phase.errors} errors: {phase.recorder.errors[:3]}", file=sys.stderr)
    print(
        f"{phase.updates} updates at {phase.updates_per_second:.1f}/s, "
        f"bot CPU {1000 * phase.cpu_per_update:.1f} ms/update"
    )
    if py_spy:
        print(sampled_report(out, phase.updates, args.top))
    else:
        print(report(out, phase.updates, args.top))


if __name__ == "__main__":
    main()
