"""1. and 3. Chat cost: simulated parents against one `portail bot` process, and the floor.

Layout (2 cores): this process runs the local Bot API (`fake_telegram.FakeTelegram`) and the
simulated parents (`FakeUser`); the product runs in a subprocess exactly as `portail bot`
(`python -m bot.cli bot`, settings from the environment: the fake's URL, a prepared SQLite
store); the floor is `bench/echo_bot.py`, a bare python-telegram-bot echo bot, in a subprocess
polling the same fake. The bot processes' CPU time and peak memory are read from `/proc`.

A parent's flow is the product's busiest path: /menu → 📅 Réserver → (child) → (activity) →
four days tapped (▶ when the month has too few) → Valider → ✅ Confirmer → ☰ Menu →
🗑 Annuler → (child) → one booked day → Valider → ✅ Confirmer, and the balance (/solde then
one invoice) when the menu offers it. Every action is one update; its latency runs from the
moment the update is queued to the moment the bot's answer (message sent or edited, and the
tap answered) is in the chat. A global pacer releases actions at the target rate (open loop:
a slow bot does not slow the parents down); without a pacer, a fixed number of parents act as
fast as the bot answers (saturation).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import (
    WORK_DIR,
    ChildProcess,
    cpu_used,
    median,
    own_cpu_seconds,
    percentile,
)
from bench.town import Parent
from conversations.kit.formatting import day_label
from conversations.kit.texts import text
from fake_telegram import DEFAULT_TOKEN, ChatMessage, FakeTelegram, FakeUser

STEP_TIMEOUT = 20.0
MENU_BALANCE = "menu:balance"


class FlowError(Exception):
    """A step of a simulated parent did not get the expected answer."""


@dataclass
class Recorder:
    """Latencies by step, and what went wrong."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    first_sent: float = 0.0
    last_answered: float = 0.0

    def add(self, step: str, started: float, latency: float) -> None:
        self.latencies.setdefault(step, []).append(latency)
        if not self.first_sent or started < self.first_sent:
            self.first_sent = started
        self.last_answered = max(self.last_answered, started + latency)

    @property
    def all(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]

    @property
    def updates(self) -> int:
        return sum(len(values) for values in self.latencies.values())


class Pacer:
    """Hands out send times `1/rate` apart, whoever asks (None: no pacing)."""

    def __init__(self, rate: float | None):
        self.interval = 1 / rate if rate else 0.0
        self.next = 0.0

    async def slot(self) -> None:
        if not self.interval:
            return
        now = time.perf_counter()
        at = max(now, self.next)
        self.next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class Driver:
    """One simulated parent's actions, each timed and checked."""

    def __init__(self, user: FakeUser, recorder: Recorder, pacer: Pacer, language: str):
        self.user = user
        self.recorder = recorder
        self.pacer = pacer
        self.language = language

    def label(self, key: str, **values: Any) -> str:
        return text(key, self.language, **values)

    async def _timed(self, step: str, action: Callable[[], Awaitable[Any]]) -> ChatMessage:
        await self.pacer.slot()
        started = time.perf_counter()
        try:
            answer = await action()
            if answer is None:
                raise FlowError(f"{step}: the tap was not answered")
            message = await self.user.next_message(timeout=STEP_TIMEOUT)
        except AssertionError as error:
            raise FlowError(f"{step}: {str(error)[:160]}") from None
        self.recorder.add(step, started, time.perf_counter() - started)
        body = message.text or ""
        if self.label("error") in body:
            raise FlowError(f"{step}: the bot apologised for an error")
        return message

    async def send(self, step: str, words: str) -> ChatMessage:
        return await self._timed(step, lambda: self.user.send_text(words))

    async def tap(self, step: str, message: ChatMessage, label: str) -> ChatMessage:
        if label not in message.buttons:
            raise FlowError(f"{step}: no button {label!r} in {message.buttons[:12]!r}")
        return await self._timed(
            step, lambda: self.user.tap(label, message=message, timeout=STEP_TIMEOUT)
        )


async def product_flow(driver: Driver, parent: Parent, rng: random.Random) -> None:
    """Book four days, cancel one of them, look at the balance if the menu has it."""
    menu = await driver.send("/menu", "/menu")
    balance = any(
        button.get("callback_data") == MENU_BALANCE
        for row in menu.inline_keyboard
        for button in row
    )
    message = await driver.tap("menu:book", menu, driver.label("btn.book"))
    if len(parent.children) > 1:
        message = await driver.tap("bk:child", message, parent.children[0])
    if parent.canteen in message.buttons:
        message = await driver.tap("bk:activity", message, parent.canteen)
    chosen: list[date] = []
    months = 0
    while len(chosen) < 4:
        free = [
            label
            for label in message.buttons
            if label.isdigit() and date.fromisoformat(_data(message, label)[7:]) not in chosen
        ]
        if not free:
            months += 1
            if months > 3:
                raise FlowError("bk:day: fewer than four bookable days in four months")
            message = await driver.tap("bk:month", message, "▶")
            continue
        label = rng.choice(free)
        day = date.fromisoformat(_data(message, label)[7:])
        message = await driver.tap("bk:day", message, label)
        chosen.append(day)
    message = await driver.tap("bk:review", message, driver.label("btn.review", count=4))
    message = await driver.tap("bk:confirm", message, driver.label("btn.confirm"))
    if (message.text or "").count("✅") < 4:
        raise FlowError(f"bk:confirm: not four days booked: {(message.text or '')[:200]!r}")
    menu = await driver.tap("menu", message, driver.label("btn.menu"))
    message = await driver.tap("menu:cancel", menu, driver.label("btn.cancel_days"))
    if len(parent.children) > 1:
        message = await driver.tap("cx:child", message, parent.children[0])
    wanted = day_label(chosen[0], driver.language)
    toggles = [label for label in message.buttons if label.startswith(wanted)]
    if not toggles:
        raise FlowError(f"cx:pick: {wanted} not among {message.buttons[:6]!r}")
    message = await driver.tap("cx:toggle", message, toggles[0])
    message = await driver.tap("cx:review", message, driver.label("btn.review", count=1))
    message = await driver.tap("cx:confirm", message, driver.label("btn.confirm"))
    if balance:
        message = await driver.send("/solde", "/solde")
        invoices = [
            button["text"]
            for row in message.inline_keyboard
            for button in row
            if str(button.get("callback_data", "")).startswith("bl:inv:")
        ]
        if invoices:
            await driver.tap("bl:invoice", message, invoices[0])


def _data(message: ChatMessage, label: str) -> str:
    return str(message.button(label).get("callback_data", ""))


async def echo_flow(driver: Driver, parent: Parent, rng: random.Random, count: int) -> None:
    """Send `count` texts; each must come back unchanged."""
    for number in range(count):
        words = f"écho {parent.telegram_user_id} {number} {rng.random():.6f}"
        message = await driver.send("echo", words)
        if message.text != words:
            raise FlowError(f"echo: got {message.text!r}")


Flow = Callable[[Driver, Parent, random.Random], Awaitable[None]]


# --- processes --------------------------------------------------------------------------------


class BotProcess(ChildProcess):
    """A bot in its own process, polling the in-process fake Bot API."""

    async def start(self, server: FakeTelegram, timeout: float = 90) -> None:  # noqa: ASYNC109
        """Start it and wait for its first long poll."""
        polls_before = len(server.calls_to("getUpdates"))
        await self.launch()
        deadline = time.perf_counter() + timeout
        while len(server.calls_to("getUpdates")) <= polls_before:
            if self.exited or time.perf_counter() > deadline:
                raise self.not_started()
            await asyncio.sleep(0.05)

    def log_problems(self) -> list[str]:
        """Error lines the bot wrote (tracebacks, ERROR records)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if " ERROR " in line or line.startswith("Traceback")]


def product_process(database_url: str, server: FakeTelegram, name: str = "product") -> BotProcess:
    """`portail bot` on the given store, pointed at the fake Bot API."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        TELEGRAM_TOKEN=server.token,
        TELEGRAM_API_URL=server.url,
        DOCUMENTS_DIR=str(WORK_DIR / "documents"),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return BotProcess(name, [sys.executable, "-m", "bot.cli", "bot"], env)


def census_process(database_url: str, server: FakeTelegram, out: Path) -> BotProcess:
    """The same bot with every SQL statement recorded (see bench/sql_census.py)."""
    process = product_process(database_url, server, "census")
    process.env["BENCH_SQL_CENSUS"] = str(out)
    # One update at a time, so that each statement is counted for the update that ran it.
    process.env["MAX_CONCURRENT_UPDATES"] = "1"
    process.argv = [sys.executable, "-m", "bench.sql_census"]
    return process


def echo_process(server: FakeTelegram, *, aiohttp: bool = False) -> BotProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-m", "bench.echo_bot", "--api", server.url, "--token", server.token]
    if aiohttp:
        argv.append("--aiohttp")
    return BotProcess("floor-aiohttp" if aiohttp else "floor", argv, env)


# --- phases -----------------------------------------------------------------------------------


@dataclass
class Phase:
    """The figures of one load phase against one bot process."""

    name: str
    rate: float | None
    recorder: Recorder
    flows: int
    failed_flows: int
    elapsed: float
    bot_cpu: float
    driver_cpu: float
    api_calls: int
    bot_peak_mb: float = 0.0
    database_cpu: float = 0.0  # CPU of a separate database server (PostgreSQL) over the phase
    bot_problems: list[str] = field(default_factory=list)

    @property
    def updates(self) -> int:
        return self.recorder.updates

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_per_update(self) -> float:
        """The bot's CPU per update, plus the database server's when it has its own."""
        cpu = self.bot_cpu + self.database_cpu
        return cpu / self.updates if self.updates else float("nan")

    @property
    def errors(self) -> int:
        return len(self.recorder.errors) + len(self.bot_problems)

    def latency(self, q: float) -> float:
        return percentile(self.recorder.all, q)

    def step_table(self) -> list[list[str]]:
        rows = []
        for step, values in sorted(
            self.recorder.latencies.items(), key=lambda item: -median(item[1])
        ):
            rows.append(
                [
                    f"`{step}`",
                    str(len(values)),
                    f"{median(values) * 1000:.1f}",
                    f"{percentile(values, 95) * 1000:.1f}",
                    f"{percentile(values, 99) * 1000:.1f}",
                ]
            )
        return rows


async def run_phase(
    name: str,
    server: FakeTelegram,
    bot: BotProcess,
    parents: list[Parent],
    flow: Flow,
    *,
    rate: float | None,
    concurrency: int,
    seed: int = 7,
    database_cpu: Callable[[], dict[int, float]] | None = None,
) -> Phase:
    """Run `flow` once for each parent (`concurrency` at a time), paced at `rate` updates/s."""
    recorder = Recorder()
    pacer = Pacer(rate)
    gate = asyncio.Semaphore(concurrency)
    failed = 0
    calls_before = len(server.calls)
    polls_before = len(server.calls_to("getUpdates"))

    async def one(parent: Parent, number: int) -> None:
        nonlocal failed
        async with gate:
            user = server.users.get(parent.telegram_user_id) or server.add_user(
                parent.first_name, language_code=parent.language, user_id=parent.telegram_user_id
            )
            driver = Driver(user, recorder, pacer, parent.language)
            try:
                await flow(driver, parent, random.Random(seed * 100_003 + number))
            except FlowError as error:
                failed += 1
                recorder.errors.append(str(error))

    bot_cpu, own_cpu = bot.cpu(), own_cpu_seconds()
    database_before = database_cpu() if database_cpu else {}
    started = time.perf_counter()
    await asyncio.gather(*(one(parent, n) for n, parent in enumerate(parents)))
    elapsed = (recorder.last_answered - recorder.first_sent) or (time.perf_counter() - started)
    bot_cpu, own_cpu = bot.cpu() - bot_cpu, own_cpu_seconds() - own_cpu
    database_after = database_cpu() if database_cpu else {}
    used_by_database = cpu_used(database_before, database_after)
    polls = len(server.calls_to("getUpdates")) - polls_before
    return Phase(
        name,
        rate,
        recorder,
        len(parents),
        failed,
        elapsed,
        bot_cpu,
        own_cpu,
        len(server.calls) - calls_before - polls,
        database_cpu=used_by_database,
    )


@contextlib.asynccontextmanager
async def fake_bot_api() -> Any:
    """The local Bot API on loopback, for the length of a run."""
    async with FakeTelegram(DEFAULT_TOKEN) as server:
        yield server


async def measure_bot(
    bot: BotProcess,
    server: FakeTelegram,
    phases: list[tuple[str, list[Parent], Flow, float | None, int]],
    database_cpu: Callable[[], dict[int, float]] | None = None,
) -> list[Phase]:
    """Start `bot`, run each phase (the first one named `warm-up` is not kept), stop it."""
    results = []
    await bot.start(server)
    try:
        for name, parents, flow, rate, concurrency in phases:
            phase = await run_phase(
                name,
                server,
                bot,
                parents,
                flow,
                rate=rate,
                concurrency=concurrency,
                database_cpu=database_cpu,
            )
            if name != "warm-up":
                results.append(phase)
        peak = bot.peak_mb()
    finally:
        await bot.stop()
    problems = bot.log_problems()
    for phase in results:
        phase.bot_peak_mb = peak
        phase.bot_problems = problems
    return results


def merged(name: str, phases: list[Phase]) -> Phase:
    """Several runs of the same phase as one: latencies pooled, CPU and updates summed."""
    recorder = Recorder()
    for phase in phases:
        for step, values in phase.recorder.latencies.items():
            recorder.latencies.setdefault(step, []).extend(values)
        recorder.errors += phase.recorder.errors
    first = phases[0]
    return Phase(
        name,
        first.rate,
        recorder,
        sum(p.flows for p in phases),
        sum(p.failed_flows for p in phases),
        sum(p.elapsed for p in phases),
        sum(p.bot_cpu for p in phases),
        sum(p.driver_cpu for p in phases),
        sum(p.api_calls for p in phases),
        bot_peak_mb=max(p.bot_peak_mb for p in phases),
        bot_problems=[problem for p in phases for problem in p.bot_problems],
        database_cpu=sum(p.database_cpu for p in phases),
    )


def taps(count: int) -> Flow:
    """`/grid`, then `count` taps on its days; each must come back marked."""

    async def flow(driver: Driver, parent: Parent, rng: random.Random) -> None:
        message = await driver.send("grid", "/grid")
        for _ in range(count):
            label = str(rng.randint(1, 35))
            if label not in message.buttons:
                label = next(b for b in message.buttons if b.isdigit())
            message = await driver.tap("tap", message, label)
            if f"☑️{label}" not in message.buttons:
                raise FlowError(f"tap: {label} not marked in {message.buttons[:10]!r}")

    return flow


def echo(count: int) -> Flow:
    async def flow(driver: Driver, parent: Parent, rng: random.Random) -> None:
        await echo_flow(driver, parent, rng, count)

    return flow
