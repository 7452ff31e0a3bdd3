"""9. Webhook workers on PostgreSQL: the chat with 1, 2 and 4 `portail bot` worker processes.

Layout (2 cores): this process runs the local Bot API in webhook mode (`fake_telegram`: after
`setWebhook` it POSTs each update to the workers' port, a chat's updates one after the other,
at most `max_connections` at once), the simulated parents (`bench.chat.Driver`, the flow of
section 1) and a counting SMTP server (the parents' messages to a service are mailed to it).
The product runs as an operator starts it: `portail bot --workers N` in webhook mode (one
process for N = 1; a supervisor and N workers sharing the port with `SO_REUSEPORT` otherwise),
on a fresh PostgreSQL database filled with the bench town. The workers' CPU time and that of
the database's server processes (its backends, found in `pg_stat_activity`) are read from
`/proc`.

For each number of workers, on the same database with other parents each time: a warm-up,
saturation (a fixed number of parents acting as fast as answered), a fixed offered rate (open
loop), then the order check: parents write to a service, typing numbered lines back to back
(`ordered_message`); the message stored must have them in order, each once. Counted over every
update of the run: the bot's "Ce bouton n'est plus valide" answers, rows of `handled_update`
against the updates the Bot API delivered (an update handled twice would be refused by its
key, one never handled would be missing), refused deliveries.

With the 4 workers still running, the outbound pace: one notice per linked guardian (about
2,000) queued at once in the outbox, a second one to the first families; the workers' delivery
loops share the send slots in the store. The Bot API enforces Telegram's limits
(`RateLimits(global_max=30, per_chat_max=1)`) and timestamps every send (`TimedFake`).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import SMTP
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench import chat, town
from bench.common import (
    PG,
    WORK_DIR,
    Section,
    cpu_seconds,
    cpu_used,
    fresh_postgresql,
    own_cpu_seconds,
    peak_rss_mb,
)
from bench.pacing import TimedFake
from bench.raw_smtp import CountingHandler
from conversations.kit.texts import text
from fake_telegram import FakeTelegram, RateLimits
from store.models import Guardian, HandledUpdate, Message, Service
from store.models.enums import MessageDirection
from store.outbox import FamilyNotice, notify_families

SERVICE_NAME = "Centres de loisirs"
SERVICE_EMAIL = "centres-loisirs@montclar.example"
WEBHOOK_PATH = "/telegram/updates"
NUMBERED = 5
NOTICE_KIND = "documents_received"  # rendered by the workers from its payload alone
NOTICE_WORKERS = 4
SHARED_RATE = 25  # TELEGRAM_MESSAGES_PER_SECOND's default: the whole bot's pace
TELEGRAM_RATE = 30
# The same for every number of workers: each worker holds at most 16 person locks (one
# connection each) and 6 + 4 pooled connections, so that 4 workers stay within the server's
# 100 connections, shared with other users of this machine.
WORKER_SETTINGS = {
    "MAX_CONCURRENT_UPDATES": "16",
    "DATABASE_POOL_SIZE": "6",
    "DATABASE_MAX_OVERFLOW": "4",
}


@dataclass(frozen=True)
class WorkerSizes:
    """How much load each run puts; `--quick` and `--full` scale these."""

    families: int = 2_500
    # `--full` runs 1 worker again at the end, pooled with the first (the machine drifts).
    workers: tuple[int, ...] = (1, 2, 4)
    warm_up_parents: int = 5
    saturation_parents: int = 20
    saturation_concurrency: int = 20  # below the webhook's max_connections (40)
    # The fixed rate is this share of what 1 worker answered at saturation in the same run:
    # a rate 1 worker sustains on the machine as it is at the time (busy or not).
    rate_share: float = 0.7
    rate_parents: int = 10
    order_parents: int = 8
    notice_parents: int = 2_000
    second_notice_families: int = 50

    @property
    def per_run(self) -> int:
        return (
            self.warm_up_parents + self.saturation_parents + self.rate_parents + self.order_parents
        )


QUICK = WorkerSizes(1_000, (1, 2, 4), 5, 16, 16, 0.7, 8, 6, 300, 10)
FULL = WorkerSizes(2_500, (1, 2, 4, 1), 10, 60, 30, 0.7, 40, 30, 2_000, 100)


# --- the worker processes ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Workers(chat.BotProcess):
    """`portail bot --workers N` in webhook mode; CPU and memory summed over its processes."""

    def __init__(
        self,
        count: int,
        database_url: str,
        server: TimedFake,
        smtp_port: int,
        name: str = "",
    ):
        self.count = count
        self.port = _free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            TELEGRAM_TOKEN=server.token,
            TELEGRAM_API_URL=server.url,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}",
            TELEGRAM_WEBHOOK_SECRET=secrets.token_urlsafe(24),
            WEBHOOK_LISTEN_PORT=str(self.port),
            DOCUMENTS_DIR=str(WORK_DIR / "documents"),
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_port),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            **WORKER_SETTINGS,
        )
        argv = [sys.executable, "-m", "bot.cli", "bot", "--workers", str(count)]
        super().__init__(name or f"workers-{count}", argv, env)

    async def start(self, server: FakeTelegram, timeout: float = 120) -> None:  # noqa: ASYNC109
        """Start them and wait until each has told the Bot API its webhook."""
        before = len(server.calls_to("setWebhook"))
        await self.launch()
        deadline = time.perf_counter() + timeout
        while len(server.calls_to("setWebhook")) - before < self.count:
            if self.exited or time.perf_counter() > deadline:
                raise self.not_started()
            await asyncio.sleep(0.1)

    def pids(self) -> list[int]:
        """The supervisor (N > 1) and its workers, or the one worker."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            children = []
        return [self.pid, *(int(child) for child in children)]

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                total += cpu_seconds(pid)
            except OSError:
                continue
        return total

    def worker_cpu(self) -> dict[int, float]:
        found = {}
        for pid in self.pids():
            try:
                found[pid] = cpu_seconds(pid)
            except OSError:
                continue
        return found

    def peak_mb(self) -> float:
        peaks = []
        for pid in self.pids():
            try:
                peaks.append(peak_rss_mb(pid))
            except OSError:
                continue
        return max(peaks, default=float("nan"))


# --- PostgreSQL, seen from outside ---------------------------------------------------------


def _psql_rows(database: str, sql: str) -> list[list[str]]:
    server = PG.split("//", 1)[1].split("@")[-1]
    host, _, port = server.partition(":")
    done = subprocess.run(
        ["psql", "-h", host, "-p", port or "5432", "-U", "postgres", "-d", database, "-Atc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split("|") for line in done.stdout.splitlines() if line]


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of the server processes connected to `database`, by pid."""
    rows = _psql_rows(
        database,
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' "
        "AND pid <> pg_backend_pid()",
    )
    found = {}
    for [pid] in rows:
        try:
            found[int(pid)] = cpu_seconds(int(pid))
        except OSError:
            continue
    return found


def connections(database: str) -> int:
    [[count]] = _psql_rows(
        database,
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' "
        "AND pid <> pg_backend_pid()",
    )
    return int(count)


def transactions(database: str) -> int:
    """Committed and rolled back transactions of `database` (as the server counts them: its
    backends report at exit at the latest)."""
    [[commits, rollbacks]] = _psql_rows(
        database,
        f"SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = '{database}'",
    )
    return int(commits) + int(rollbacks)


# --- flows ---------------------------------------------------------------------------------


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def ordered_message(expected: dict[int, str]) -> chat.Flow:
    """/message → the service → `NUMBERED` numbered lines typed back to back → 📨 Envoyer.

    Each line is added to the draft by its own update; the stored message must hold them in
    the order typed (`expected`, by Telegram user id), and each prompt must show the lines so
    far."""

    async def flow(driver: chat.Driver, parent: town.Parent, rng: random.Random) -> None:
        picker = await driver.send("/message", "/message")
        await driver.tap("msg:service", picker, SERVICE_NAME)
        lines = [f"n° {n} de {parent.telegram_user_id}" for n in range(1, NUMBERED + 1)]
        expected[parent.telegram_user_id] = "\n".join(lines)
        user = driver.user
        for line in lines:
            await user.send_text(line)
        send = driver.label("btn.send_message")
        try:
            await user.wait_for_message(
                lambda m: send in m.buttons and lines[-1] in (m.text or ""), chat.STEP_TIMEOUT
            )
        except AssertionError as error:
            raise chat.FlowError(f"msg:text: {str(error)[:160]}") from None
        prompts = [m for m in user.messages if send in m.buttons][-len(lines) :]
        for number, prompt in enumerate(prompts, start=1):
            if lines[number - 1] not in (prompt.text or "") or (
                number < len(lines) and lines[number] in (prompt.text or "")
            ):
                raise chat.FlowError(
                    f"msg:text: prompt {number} shows {(prompt.text or '')[-80:]!r}"
                )
        sent = await driver.tap("msg:send", prompts[-1], send)
        done = _plain(driver.label("msg.sent", service=SERVICE_NAME))
        if done not in (sent.text or ""):
            raise chat.FlowError(f"msg:send: {(sent.text or '')[:120]!r}")

    return flow


def stale_answers(server: TimedFake, chats: set[int]) -> int:
    """The bot's messages telling a parent a button was no longer valid."""
    stale = {text("stale", language) for language in ("fr", "en")}
    count = 0
    for chat_id in chats:
        user = server.users.get(chat_id)
        if user is None:
            continue
        for message in user.messages:
            if any(words in (message.text or "") for words in stale):
                count += 1
    return count


# --- one run per number of workers -----------------------------------------------------------


@dataclass
class WorkerRun:
    """The figures of one number of workers."""

    workers: int
    saturation: chat.Phase
    paced: chat.Phase
    order: chat.Phase
    delivered: int
    refused: int
    handled: int
    transactions: int
    stale: int
    order_errors: list[str]
    connections: int
    peak_mb: float
    problems: list[str]
    per_worker_cpu: list[float] = field(default_factory=list)


async def _count_handled(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int(
                await connection.scalar(select(func.count()).select_from(HandledUpdate)) or 0
            )
    finally:
        await engine.dispose()


async def _check_order(url: str, expected: dict[int, str]) -> list[str]:
    """Each parent's numbered lines stored once, in the order typed."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            bodies = Counter(
                await connection.scalars(
                    select(Message.body).where(Message.direction == MessageDirection.FROM_PARENT)
                )
            )
    finally:
        await engine.dispose()
    problems = []
    for user_id, body in expected.items():
        if bodies[body] != 1:
            problems.append(f"{user_id}: stored {bodies[body]} times as typed")
    return problems


async def _run_workers(
    count: int,
    url: str,
    database: str,
    server: TimedFake,
    smtp_port: int,
    parents: list[town.Parent],
    sizes: WorkerSizes,
    offered: list[float],
) -> WorkerRun:
    """Start `count` workers, run the phases, count what went wrong."""
    workers = Workers(count, url, server, smtp_port)
    handled_before = await _count_handled(url)
    transactions_before = transactions(database)
    await workers.start(server)
    expected: dict[int, str] = {}
    cut = [
        sizes.warm_up_parents,
        sizes.saturation_parents,
        sizes.rate_parents,
        sizes.order_parents,
    ]
    groups, start = [], 0
    for size in cut:
        groups.append(parents[start : start + size])
        start += size

    def database_cpu() -> dict[int, float]:
        return backends_cpu(database)

    try:
        await chat.run_phase(
            "warm-up", server, workers, groups[0], chat.product_flow, rate=None, concurrency=10
        )
        # The first run (1 worker) sets the fixed rate of every run.
        cpu_before = workers.worker_cpu()
        saturation = await chat.run_phase(
            "saturation",
            server,
            workers,
            groups[1],
            chat.product_flow,
            rate=None,
            concurrency=sizes.saturation_concurrency,
            database_cpu=database_cpu,
        )
        cpu_after = workers.worker_cpu()
        open_connections = connections(database)
        if not offered:
            offered.append(round(sizes.rate_share * saturation.updates_per_second))
        paced = await chat.run_phase(
            "paced",
            server,
            workers,
            groups[2],
            chat.product_flow,
            rate=offered[0],
            concurrency=10_000,
            database_cpu=database_cpu,
        )
        order = await chat.run_phase(
            "order",
            server,
            workers,
            groups[3],
            ordered_message(expected),
            rate=None,
            concurrency=len(groups[3]),
        )
        # The pusher's counts once nothing is in flight.
        for _ in range(200):
            if not server.pending_updates:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        peak = workers.peak_mb()
    finally:
        await workers.stop()
    webhook = server.webhook
    chats = {p.telegram_user_id for group in groups for p in group}
    run = WorkerRun(
        count,
        saturation,
        paced,
        order,
        webhook.delivered if webhook else 0,
        webhook.refused if webhook else 0,
        await _count_handled(url) - handled_before,
        # Counted by the server when each backend exits, at the latest: after the stop.
        transactions(database) - transactions_before,
        stale_answers(server, chats),
        await _check_order(url, expected),
        open_connections,
        peak,
        workers.log_problems(),
        per_worker_cpu=[
            cpu_after[pid] - cpu_before.get(pid, 0.0)
            for pid in cpu_after
            if pid != workers.pid or count == 1
        ],
    )
    for phase in (saturation, paced, order):
        phase.bot_problems = run.problems
    return run


# --- the outbound pace with 4 workers --------------------------------------------------------


@dataclass
class Pace:
    queued: int
    delivered: int
    seconds: float
    throttled: int
    duplicates: int
    busiest_second: int
    over_shared: int
    over_telegram: int
    closest_same_chat: float | None
    attempts: int
    worker_cpu: float
    database_cpu: float
    transactions: int

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def _busiest(times: list[float], window: float = 1.0) -> tuple[int, int, int]:
    """Most sends in any sliding `window`; sends that were the 26th+ / 31st+ in theirs."""
    times = sorted(times)
    busiest = over_shared = over_telegram = 0
    first = 0
    for index, moment in enumerate(times):
        while times[first] <= moment - window:
            first += 1
        inside = index - first + 1
        busiest = max(busiest, inside)
        over_shared += inside > SHARED_RATE
        over_telegram += inside > TELEGRAM_RATE
    return busiest, over_shared, over_telegram


async def _notice(
    url: str,
    database: str,
    server: TimedFake,
    workers: Workers,
    parents: list[town.Parent],
    sizes: WorkerSizes,
) -> Pace:
    families = sorted({p.family_id for p in parents})
    twice = set(families[: sizes.second_notice_families])
    engine = create_async_engine(url)
    payload = {"subject": "Réservations de janvier : clôture le 20", "received": [], "refused": []}
    try:
        async with engine.connect() as connection:
            linked = (
                await connection.execute(
                    select(Guardian.telegram_chat_id, Guardian.family_id).where(
                        Guardian.family_id.in_(families), Guardian.telegram_chat_id.is_not(None)
                    )
                )
            ).all()
        expected = {int(c or 0): 2 if f in twice else 1 for c, f in linked}
        for chat_id in expected:
            if chat_id not in server.users:
                server.add_user("Parent", user_id=chat_id)
        async with async_sessionmaker(engine).begin() as session:
            notices = [FamilyNotice(f, NOTICE_KIND, payload, f"bench9:{f}") for f in families]
            notices += [
                FamilyNotice(f, NOTICE_KIND, payload, f"bench9-again:{f}") for f in sorted(twice)
            ]
            queued = await notify_families(session, notices)
    finally:
        await engine.dispose()
    first_send, throttled = len(server.sends), server.throttled
    cpu_before, database_before = workers.cpu(), backends_cpu(database)
    started = time.perf_counter()
    deadline = started + queued / 5 + 30
    ok: list[tuple[float, int, int]] = []
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
        ok = [s for s in server.sends[first_send:] if s[2] == 200]
        if len(ok) >= queued:
            break
    await asyncio.sleep(1.5)  # anything sent twice would come now
    sends = server.sends[first_send:]
    ok = [s for s in sends if s[2] == 200]
    per_chat: dict[int, list[float]] = {}
    for moment, chat_id, _ in ok:
        per_chat.setdefault(chat_id, []).append(moment)
    several = [sorted(times) for times in per_chat.values() if len(times) > 1]
    gaps = [b - a for times in several for a, b in zip(times, times[1:], strict=False)]
    duplicates = sum(max(0, len(times) - expected.get(c, 0)) for c, times in per_chat.items())
    busiest, over_shared, over_telegram = _busiest([s[0] for s in ok])
    return Pace(
        queued,
        len(ok),
        (max(s[0] for s in ok) - started) if ok else 0.0,
        server.throttled - throttled,
        duplicates,
        busiest,
        over_shared,
        over_telegram,
        min(gaps) if gaps else None,
        len(sends),
        workers.cpu() - cpu_before,
        cpu_used(database_before, backends_cpu(database)),
        0,
    )


async def _run_notice(
    url: str,
    database: str,
    server: TimedFake,
    smtp_port: int,
    parents: list[town.Parent],
    sizes: WorkerSizes,
) -> Pace:
    """`NOTICE_WORKERS` workers started for the notice alone, the Bot API limiting sends."""
    transactions_before = transactions(database)
    workers = Workers(NOTICE_WORKERS, url, server, smtp_port, name="workers-notice")
    await workers.start(server)
    server.rate_limits = RateLimits(global_max=TELEGRAM_RATE, per_chat_max=1)
    try:
        pace = await _notice(url, database, server, workers, parents, sizes)
    finally:
        server.rate_limits = None
        await workers.stop()
    pace.transactions = transactions(database) - transactions_before
    return pace


# --- the section -----------------------------------------------------------------------------


async def _add_service(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Service),
                [{"code": "leisure_centres", "name": SERVICE_NAME, "email": SERVICE_EMAIL}],
            )
    finally:
        await engine.dispose()


async def measure(sizes: WorkerSizes) -> Section:
    started = time.perf_counter()
    section = Section(9, "Webhook workers on PostgreSQL")
    handler = CountingHandler()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    smtp_port = int(smtp.sockets[0].getsockname()[1])
    runs: list[WorkerRun] = []
    pace: Pace | None = None
    own_before = own_cpu_seconds()
    try:
        async with fresh_postgresql("portail_bench_w") as (database, url):
            facts = await town.build(url, sizes.families)
            await _add_service(url)
            one_per_family = list({p.family_id: p for p in facts.parents}.values())
            random.Random(sizes.families).shuffle(one_per_family)
            per_run = sizes.per_run
            offered: list[float] = []
            server = TimedFake()
            async with server:
                for parent in {p.telegram_user_id: p for p in facts.parents}.values():
                    server.add_user(
                        parent.first_name,
                        language_code=parent.language,
                        user_id=parent.telegram_user_id,
                    )
                notice_parents = _take(facts, sizes.notice_parents)
                for index, count in enumerate(sizes.workers):
                    parents = one_per_family[index * per_run : (index + 1) * per_run]
                    print(f"   {count} worker(s)", flush=True)
                    runs.append(
                        await _run_workers(
                            count, url, database, server, smtp_port, parents, sizes, offered
                        )
                    )
                print(f"   {NOTICE_WORKERS} workers, a notice", flush=True)
                pace = await _run_notice(url, database, server, smtp_port, notice_parents, sizes)
    finally:
        smtp.close()
    _write(section, sizes, facts, runs, pace, handler.count, own_cpu_seconds() - own_before)
    section.seconds = time.perf_counter() - started
    return section


def _take(facts: town.TownFacts, target: int) -> list[town.Parent]:
    """Linked guardians of whole families, about `target` of them."""
    chosen: list[town.Parent] = []
    families: set[int] = set()
    for parent in facts.parents:
        if len(chosen) >= target and parent.family_id not in families:
            break
        families.add(parent.family_id)
        chosen.append(parent)
    return chosen


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _write(
    section: Section,
    sizes: WorkerSizes,
    facts: town.TownFacts,
    runs: list[WorkerRun],
    pace: Pace | None,
    mails: int,
    harness_cpu: float,
) -> None:
    section.setup = [
        f"Store: a fresh PostgreSQL database (`portail_bench_w_<pid>`), migrated, with the bench "
        f"town of {facts.families:,} families ({facts.describe().split(' (')[0]}) and one "
        "service; the same database for every number of workers, other parents each time.",
        "Product: `portail bot --workers N` in webhook mode (N = 1: one process; otherwise a "
        "supervisor and N workers sharing the port, `SO_REUSEPORT`), INFO logs, each worker "
        + ", ".join(f"{k}={v}" for k, v in WORKER_SETTINGS.items())
        + ". The local Bot API POSTs the updates (webhook `max_connections` 40, a chat's "
        "updates one after the other) and runs, with the parents and a counting SMTP server, "
        "in the harness process: 2 cores for the harness, the workers and PostgreSQL.",
        f"Per number of workers: warm-up ({sizes.warm_up_parents} parents), saturation "
        f"({sizes.saturation_parents} parents, {sizes.saturation_concurrency} at a time, "
        "as fast as answered), "
        f"a fixed rate offered ({runs[0].paced.rate or 0:.0f} updates/s: "
        f"{sizes.rate_share:.0%} of what 1 worker answered at saturation just before; "
        f"{sizes.rate_parents} parents), then the order "
        f"check ({sizes.order_parents} parents: /message → service → {NUMBERED} numbered lines "
        "typed back to back → 📨 Envoyer). The flow of section 1 (book 4 days, cancel 1, "
        "balance). Order of the runs: "
        + ", ".join(str(r.workers) for r in runs)
        + " worker(s), each started fresh; the runs of 1 worker pooled for the ratios.",
        "CPU: the workers' (and supervisor's) user+system time over the phase, and the "
        "PostgreSQL server processes connected to the database (`pg_stat_activity`), from "
        "/proc. Transactions: `pg_stat_database` from the workers' start to their stop "
        "(start-up and idle loops included) ÷ the updates delivered; each statement of the "
        "person locks counts as one (autocommit).",
    ]
    header = [
        "workers",
        "phase",
        "offered",
        "updates",
        "updates/s",
        "p50 ms",
        "p99 ms",
        "workers CPU ms/update",
        "PostgreSQL CPU ms/update",
        "workers CPU busy",
        "PostgreSQL CPU busy",
        "harness CPU busy",
        "errors",
    ]
    rows = []
    for run in runs:
        for phase in (run.saturation, run.paced):
            rows.append(
                [
                    str(run.workers),
                    phase.name,
                    f"{phase.rate:.0f}/s" if phase.rate else "as fast as answered",
                    f"{phase.updates:,}",
                    f"{phase.updates_per_second:.1f}",
                    _ms(phase.latency(50)),
                    _ms(phase.latency(99)),
                    _ms(phase.bot_cpu / max(phase.updates, 1)),
                    _ms(phase.database_cpu / max(phase.updates, 1)),
                    f"{phase.bot_cpu / phase.elapsed * 100:.0f} %",
                    f"{phase.database_cpu / phase.elapsed * 100:.0f} %",
                    f"{phase.driver_cpu / phase.elapsed * 100:.0f} %",
                    str(len(phase.recorder.errors)),
                ]
            )
    section.table(header, rows)
    pooled = {
        count: (
            chat.merged("saturation", [r.saturation for r in runs if r.workers == count]),
            chat.merged("paced", [r.paced for r in runs if r.workers == count]),
        )
        for count in sorted({r.workers for r in runs})
    }
    base_saturation, base_paced = pooled[min(pooled)]
    ratios = []
    for count, (saturation, paced) in pooled.items():
        first = next(r for r in runs if r.workers == count)
        ratios.append(
            [
                f"{count} ÷ {min(pooled)}",
                f"{saturation.updates_per_second / base_saturation.updates_per_second:.2f}×",
                f"{paced.latency(99) / base_paced.latency(99):.2f}×",
                f"{saturation.cpu_per_update / base_saturation.cpu_per_update:.2f}×",
                " / ".join(
                    f"{c / first.saturation.elapsed * 100:.0f} %" for c in first.per_worker_cpu
                ),
            ]
        )
    section.table(
        [
            "ratio",
            "updates/s at saturation",
            f"p99 at {runs[0].paced.rate or 0:.0f}/s",
            "CPU per update (workers + PostgreSQL)",
            "each worker's CPU busy at saturation",
        ],
        ratios,
    )
    checks = []
    for run in runs:
        checks.append(
            [
                str(run.workers),
                f"{run.delivered:,}",
                str(run.refused),
                f"{run.handled:,}",
                str(run.stale),
                f"{len(run.order.recorder.latencies.get('msg:send', []))} / "
                f"{run.order.flows}, {len(run.order_errors)} out of order or not once",
                str(sum(p.failed_flows for p in (run.saturation, run.paced, run.order))),
                f"{run.transactions / max(run.delivered, 1):.1f}",
                str(run.connections),
                f"{run.peak_mb:.0f}",
                str(len(run.problems)),
            ]
        )
    section.table(
        [
            "workers",
            "updates delivered",
            "refused",
            "`handled_update` rows",
            "stale-button answers",
            "numbered messages sent / parents",
            "failed flows",
            "PostgreSQL transactions/update",
            "connections open",
            "worker peak MiB",
            "error lines in the log",
        ],
        checks,
    )
    every = [r for r in runs]
    section.goal(
        "no parent sees « Ce bouton n'est plus valide » while flowing normally",
        f"{sum(r.stale for r in every)} in {sum(r.delivered for r in every):,} updates",
        sum(r.stale for r in every) == 0,
    )
    section.goal(
        "no update handled twice, none lost (`handled_update` rows = updates delivered)",
        "; ".join(f"{r.workers}: {r.handled:,} = {r.delivered:,}" for r in every),
        all(r.handled == r.delivered for r in every) and not any(r.refused for r in every),
    )
    section.goal(
        f"each parent's order kept ({NUMBERED} lines typed back to back, stored in order, once)",
        f"{sum(len(r.order_errors) for r in every)} messages out of order or not once, "
        f"{sum(r.order.failed_flows for r in every)} prompts out of order; {mails} mails to "
        "the service",
        not any(r.order_errors or r.order.failed_flows for r in every),
    )
    scaled = [
        f"{count} ÷ {min(pooled)}: "
        f"{saturation.updates_per_second / base_saturation.updates_per_second:.2f}×"
        for count, (saturation, _) in pooled.items()
        if count != min(pooled)
    ]
    if scaled:
        section.goal(
            "scaling: updates/s at saturation (shown; 2 cores shared with the harness, "
            "PostgreSQL and the machine's other work)",
            ", ".join(scaled),
            None,
        )
    if pace is not None:
        section.table(
            [
                "4 workers, notice",
                "queued",
                "delivered",
                "seconds",
                "messages/s",
                "busiest second",
                f"sends over {SHARED_RATE}/s",
                f"over {TELEGRAM_RATE}/s",
                "429s",
                "duplicates",
                "closest two to one chat",
                "worker CPU ms/message",
                "PostgreSQL CPU ms/message",
                "PostgreSQL transactions/message (whole run of the workers)",
            ],
            [
                [
                    f"{sizes.notice_parents:,} parents + a second to "
                    f"{sizes.second_notice_families} families",
                    f"{pace.queued:,}",
                    f"{pace.delivered:,}",
                    f"{pace.seconds:.1f}",
                    f"{pace.rate:.1f}",
                    str(pace.busiest_second),
                    str(pace.over_shared),
                    str(pace.over_telegram),
                    str(pace.throttled),
                    str(pace.duplicates),
                    f"{pace.closest_same_chat:.2f} s" if pace.closest_same_chat else "-",
                    _ms(pace.worker_cpu / max(pace.delivered, 1)),
                    _ms(pace.database_cpu / max(pace.delivered, 1)),
                    f"{pace.transactions / max(pace.delivered, 1):.1f}",
                ]
            ],
        )
        closest = f"{pace.closest_same_chat:.2f} s" if pace.closest_same_chat else "-"
        section.goal(
            f"4 workers: 0 messages over Telegram's limits ({TELEGRAM_RATE}/s in any sliding "
            "second, 1 s per chat), no 429, each notice once",
            f"busiest second {pace.busiest_second}, closest two to a chat {closest}, "
            f"{pace.throttled} × 429, {pace.delivered:,}/{pace.queued:,} delivered, "
            f"{pace.duplicates} twice",
            pace.over_telegram == 0
            and pace.throttled == 0
            and pace.delivered == pace.queued
            and not pace.duplicates
            and (pace.closest_same_chat or 1.0) >= 1.0,
        )
        section.goal(
            f"… and 0 over the shared pace ({SHARED_RATE}/s, `TELEGRAM_MESSAGES_PER_SECOND`) "
            "in any sliding second",
            f"{pace.over_shared} sends were the {SHARED_RATE + 1}th or later in their second "
            f"(busiest {pace.busiest_second}); {pace.rate:.1f}/s on average",
            pace.over_shared == 0,
        )
        section.setup.append(
            f"Pace: {NOTICE_WORKERS} workers started for it alone, one notice per linked "
            f"guardian of {sizes.notice_parents:,}-odd parents, and a second one to the first "
            f"{sizes.second_notice_families} families, queued in one transaction "
            f"(`notify_families`, kind `{NOTICE_KIND}`: rendered from its payload alone — the "
            "pacing section's own kind is known to the harness only). Bot API limits "
            f"`RateLimits(global_max={TELEGRAM_RATE}, per_chat_max=1)`; every successful send "
            "timestamped by the Bot API; windows are sliding."
        )
    for run in runs:
        for phase in (run.saturation, run.paced, run.order):
            for problem in phase.recorder.errors[:3]:
                section.notes.append(f"- error ({run.workers} workers, {phase.name}): {problem}")
        for problem in run.problems[:3]:
            section.notes.append(f"- log ({run.workers} workers): `{problem[:200]}`")
    section.notes.append(
        f"- The harness (Bot API, parents, SMTP) used {harness_cpu:.0f} s of CPU over the "
        "section; its share during each phase is in the first table."
    )


def run(size: str = "default") -> Section:
    sizes = {"quick": QUICK, "full": FULL}.get(size, WorkerSizes())
    return asyncio.run(measure(sizes))


if __name__ == "__main__":
    print(run(sys.argv[1] if len(sys.argv) > 1 else "quick").markdown())
