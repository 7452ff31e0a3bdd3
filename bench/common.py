"""What every benchmark shares: percentiles, process CPU and memory, machine facts, sections.

CPU time and peak memory of other processes are read from `/proc` (Linux only, no extra
dependency): `utime + stime` of `/proc/<pid>/stat`, and `VmHWM` (peak resident set) of
`/proc/<pid>/status`. The harness's own process uses `resource.getrusage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import signal
import statistics
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from sqlalchemy.engine import make_url

from store import migrate

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / "var" / "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, in seconds (10 ms resolution)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class ChildProcess:
    """A program the bench starts in its own process, its output in `var/bench/<name>.log`.

    Subclasses start it (`launch`) and wait until it is ready; CPU and peak memory come from
    `/proc`.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.argv = argv
        self.env = env
        self.log = WORK_DIR / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def launch(self) -> None:
        """Start the program, its output going to its log."""
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT
            )

    def not_started(self) -> RuntimeError:
        return RuntimeError(f"{self.name} did not start; see {self.log}")

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def peak_mb(self) -> float:
        return peak_rss_mb(self.pid)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 30 s."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def processes_named(name: str) -> list[int]:
    """Pids of the live processes whose command name is `name` (e.g. "postgres")."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_of_all(name: str) -> dict[int, float]:
    """CPU seconds of every live process named `name`, by pid."""
    found = {}
    for pid in processes_named(name):
        try:
            found[pid] = cpu_seconds(pid)
        except OSError:
            continue
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two `cpu_of_all` readings (a process started in between
    counts from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_own_peak_rss() -> None:
    """Start a new peak measurement for this process (Linux ≥ 4.0: write 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def own_vm_hwm_mb() -> float:
    """Peak resident memory since the last `reset_own_peak_rss`, in MiB."""
    return peak_rss_mb(os.getpid())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_info() -> list[str]:
    """One line per fact of the machine and the software measured."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    try:
        postgres = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        postgres = "psql not found"
    return [
        f"{os.cpu_count()} cores ({model}), {memory_kb / 1024 / 1024:.1f} GiB RAM",
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"python-telegram-bot {_version('python-telegram-bot')}, "
        f"SQLAlchemy {_version('sqlalchemy')}, aiosqlite {_version('aiosqlite')}, "
        f"asyncpg {_version('asyncpg')}, aiohttp {_version('aiohttp')}, httpx {_version('httpx')}",
        f"SQLite {_sqlite_version()}, {postgres}",
    ]


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews every figure."""
    return Path("/proc/loadavg").read_text().split()[0]


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


@dataclass
class Section:
    """One benchmark's part of RESULTS.md."""

    number: int
    title: str
    setup: list[str] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    goals: list[tuple[str, str, bool | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.tables.append((header, rows))

    def goal(self, goal: str, measured: str, met: bool | None) -> None:
        self.goals.append((goal, measured, met))

    def markdown(self) -> str:
        lines = [f"## {self.number}. {self.title}", ""]
        lines += [f"- {item}" for item in self.setup]
        if self.setup:
            lines.append("")
        for header, rows in self.tables:
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        if self.goals:
            lines.append("| goal | measured | met |")
            lines.append("|---|---|---|")
            for goal, measured, met in self.goals:
                mark = "n/a" if met is None else ("**yes**" if met else "**no**")
                lines.append(f"| {goal} | {measured} | {mark} |")
            lines.append("")
        lines += [f"{note}" if note.startswith(("-", "*", "|")) else note for note in self.notes]
        if self.notes:
            lines.append("")
        lines.append(f"_Section measured in {self.seconds:.0f} s._")
        lines.append("")
        return "\n".join(lines)


# --- PostgreSQL ---------------------------------------------------------------------------------

PG = os.environ.get("BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")


def psql(sql: str) -> None:
    """Run one statement with psql on the server of `BENCH_PG`, as its user."""
    server = make_url(PG)
    subprocess.run(
        [
            "psql",
            "-h",
            server.host or "127.0.0.1",
            "-p",
            str(server.port or 5432),
            "-U",
            server.username or "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            sql,
        ],
        check=True,
        capture_output=True,
    )


@contextlib.asynccontextmanager
async def fresh_postgresql(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A new database on the `BENCH_PG` server, migrated by the product's scripts, dropped on
    exit: yields its name and URL."""
    name = f"{prefix}_{os.getpid()}"
    url = f"{PG}/{name}"
    psql(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield name, url
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
