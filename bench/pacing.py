"""5. Outbound pacing: one notification to many parents, through the outbox, under Telegram's
limits.

The local Bot API enforces Telegram's limits (`RateLimits(global_max=30, per_chat_max=1)`:
30 sends per sliding second overall, 1 per chat). One notice per linked guardian is queued with
`store.outbox.notify_family` (a kind rendered by this module, registered with
`conversations.kit.notices.renders` like any flow's notice: "bookings for January close on the
20th"), then delivered by the product's loop `bot.delivery.run_delivery` → `deliver_due`, with a
plain python-telegram-bot `Bot` on the fake. The fake and the delivery share this process: sending
is bounded by waits, not CPU. Each send attempt is timestamped by the fake (a subclass that
records `sendMessage` outcomes).

In the same run, the baseline: `deliver_due` called back to back without its pacer (what
sending as fast as the loop goes would do). The forced 429: the fake answers one chat's first
send with 429 and `retry_after`; the delivery must not send to that chat again before that many
seconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from telegram import Bot

from bench import town
from bench.chat_sections import prepared_town
from bench.common import Section, own_vm_hwm_mb, reset_own_peak_rss
from bot import delivery
from bot.portal import Portal
from bot.settings import Settings
from conversations.kit import notices
from fake_telegram import ApiError, FakeTelegram, RateLimits
from store.models import Guardian
from store.outbox import notify_family

KIND = "bench_deadline_reminder"
RETRY_AFTER = 2


@notices.renders(KIND)
async def _reminder(portal: Portal, payload: dict[str, Any], language: str) -> str | None:
    """The broadcast this benchmark sends (a text like a real reminder, no store lookup)."""
    if language == "en":
        return (
            f"📅 Bookings for <b>{payload['month_en']}</b> close on the 20th at 23:59. "
            "Open the menu to book your children's days."
        )
    return (
        f"📅 Les réservations de <b>{payload['month_fr']}</b> ferment le 20 à 23 h 59. "
        "Ouvrez le menu pour réserver les jours de vos enfants."
    )


class TimedFake(FakeTelegram):
    """The local Bot API, noting when each sendMessage was tried and how it ended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sends: list[tuple[float, int, int]] = []

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or 0)
        try:
            result = await super()._send_message(params)
        except ApiError as error:
            self.sends.append((time.perf_counter(), chat_id, error.code))
            raise
        self.sends.append((time.perf_counter(), chat_id, 200))
        return result


@dataclass
class Delivered:
    label: str
    queued: int
    delivered: int
    seconds: float
    throttled: int
    duplicates: int
    attempts: int

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


async def _queue(portal: Portal, parents: list[town.Parent], tag: str) -> int:
    """One reminder per linked guardian of the parents' families (as a staff broadcast would)."""
    payload = {"month_fr": "janvier", "month_en": "January"}
    queued = 0
    async with portal.sessions.begin() as session:
        for family_id in sorted({p.family_id for p in parents}):
            queued += await notify_family(
                session, family_id, KIND, payload, event_key=f"{tag}:{family_id}"
            )
    return queued


async def _chats(portal: Portal, parents: list[town.Parent]) -> set[int]:
    async with portal.sessions() as session:
        rows = await session.scalars(
            select(Guardian.telegram_chat_id).where(
                Guardian.family_id.in_({p.family_id for p in parents}),
                Guardian.telegram_chat_id.is_not(None),
            )
        )
        return set(rows)


async def _deliver(
    label: str,
    server: TimedFake,
    portal: Portal,
    parents: list[town.Parent],
    loop: Callable[[Portal, Bot, asyncio.Event], Awaitable[None]],
    bot: Bot,
) -> Delivered:
    chats = await _chats(portal, parents)
    for chat_id in chats:
        if chat_id not in server.users:
            server.add_user("Parent", user_id=chat_id)
    queued = await _queue(portal, parents, label)
    first_send = len(server.sends)
    throttled = server.throttled
    stop = asyncio.Event()
    started = time.perf_counter()
    worker = asyncio.create_task(loop(portal, bot, stop))
    delivered_to: dict[int, int] = {}
    deadline = started + queued / 5 + 30
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        ok = [s for s in server.sends[first_send:] if s[2] == 200 and s[1] in chats]
        if len(ok) >= queued:
            break
    stop.set()
    await worker
    sends = server.sends[first_send:]
    ok = [s for s in sends if s[2] == 200 and s[1] in chats]
    for _, chat_id, _ in ok:
        delivered_to[chat_id] = delivered_to.get(chat_id, 0) + 1
    seconds = (ok[-1][0] - started) if ok else 0.0
    return Delivered(
        label,
        queued,
        len(delivered_to),
        seconds,
        server.throttled - throttled,
        sum(count - 1 for count in delivered_to.values()),
        len(sends),
    )


async def _back_to_back(portal: Portal, bot: Bot, stop: asyncio.Event) -> None:
    """`deliver_due` with no pause between rounds."""
    while not stop.is_set():
        await delivery.deliver_due(portal, bot)
        await asyncio.sleep(0)


async def _forced_429(
    server: TimedFake, portal: Portal, parent: town.Parent, bot: Bot
) -> tuple[str, float | None]:
    """One chat answers 429 retry_after=2 once: when is it sent again?"""
    chat_id = min(await _chats(portal, [parent]))
    for other in await _chats(portal, [parent]):
        if other not in server.users:
            server.add_user("Parent", user_id=other)
    server.fail_next(chat_id, error_code=429, retry_after=RETRY_AFTER)
    first = len(server.sends)
    await _queue(portal, [parent], "forced429")
    stop = asyncio.Event()
    worker = asyncio.create_task(delivery.run_delivery(portal, bot, stop))
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        if any(s[1] == chat_id and s[2] == 200 for s in server.sends[first:]):
            break
    stop.set()
    await worker
    tries = [s for s in server.sends[first:] if s[1] == chat_id]
    refused = [s for s in tries if s[2] == 429]
    sent = [s for s in tries if s[2] == 200]
    if not refused or not sent:
        return f"not observed (attempts: {[(round(t, 2), c) for t, _, c in tries]})", None
    gap = sent[0][0] - refused[0][0]
    return f"{gap:.2f} s between the 429 and the resend (retry_after={RETRY_AFTER})", gap


LANGUAGE_LOOKUP = "SELECT guardian.language FROM guardian WHERE guardian.telegram_chat_id = ?"


def language_lookup(database: Path) -> str:
    """Plan and cost of the lookup `deliver_due` makes for every message (`_language_of_chat`)."""
    connection = sqlite3.connect(database)
    try:
        [chat_id] = connection.execute("SELECT max(telegram_chat_id) FROM guardian").fetchone()
        guardians = connection.execute("SELECT count(*) FROM guardian").fetchone()[0]
        plan = "; ".join(
            str(row[-1])
            for row in connection.execute(f"EXPLAIN QUERY PLAN {LANGUAGE_LOOKUP}", (chat_id,))
        )
        started = time.perf_counter()
        for _ in range(20):
            connection.execute(LANGUAGE_LOOKUP, (chat_id,)).fetchall()
        cost = (time.perf_counter() - started) / 20
    finally:
        connection.close()
    return f"{plan} — {cost * 1000:.2f} ms per message with {guardians:,} guardians"


async def measure(
    families: int, parents_count: int, back_to_back: int, big_database: Path | None
) -> Section:
    started = time.perf_counter()
    section = Section(5, "Outbound pacing through the outbox")
    url, database, facts = await prepared_town(families)
    one_per_family: dict[int, town.Parent] = {}
    for parent in facts.parents:
        one_per_family.setdefault(parent.family_id, parent)
    families_list = list(one_per_family.values())
    reset_own_peak_rss()
    limits = RateLimits(global_max=30, per_chat_max=1)
    async with TimedFake(rate_limits=limits) as server:
        settings = Settings(
            database_url=url,
            telegram_token=server.token,
            telegram_api_url=server.url,
            _env_file=None,  # type: ignore[call-arg]
        )
        portal = Portal.from_settings(settings)
        base = {"base_url": f"{server.url}/bot", "base_file_url": f"{server.url}/file/bot"}
        plain = Bot(server.token, **base)
        await plain.initialize()
        try:
            # Families are taken until about `parents_count` guardians are reached.
            groups = _take(families_list, [parents_count, back_to_back, 1], facts)
            product = await _deliver(
                "product (run_delivery)", server, portal, groups[0], delivery.run_delivery, plain
            )
            tight = await _deliver(
                "deliver_due back to back", server, portal, groups[1], _back_to_back, plain
            )
            await asyncio.sleep(1.5)  # let the sliding window empty
            forced = await _forced_429(server, portal, groups[-1][-1], plain)
        finally:
            await plain.shutdown()
            await portal.close()
    peak = own_vm_hwm_mb()
    section.setup = [
        f"Store: SQLite, {facts.families:,} families ({facts.describe()}).",
        "Bot API: `fake_telegram` with `RateLimits(global_max=30, per_chat_max=1)` "
        "(a send over the limit gets 429 with `retry_after`), in the harness process with "
        "the delivery loop.",
        f"One reminder per linked guardian, queued with `notify_family`; {back_to_back} for "
        "the back-to-back run.",
    ]
    rows = []
    for result in (product, tight):
        rows.append(
            [
                result.label,
                f"{result.queued:,}",
                f"{result.delivered:,}",
                f"{result.seconds:.1f}",
                f"{result.rate:.1f}",
                f"{result.rate / 30 * 100:.0f} %",
                str(result.throttled),
                str(result.duplicates),
                f"{result.attempts:,}",
            ]
        )
    section.table(
        [
            "delivery",
            "queued",
            "delivered",
            "seconds",
            "messages/s",
            "of Telegram's 30/s",
            "429s",
            "duplicates",
            "send attempts",
        ],
        rows,
    )
    section.goal(
        "close to 30 messages/s with no 429 (product as it is)",
        f"{product.rate:.1f}/s, {product.throttled} × 429",
        product.rate >= 27 and product.throttled == 0,
    )
    description, gap = forced
    section.goal(
        "a 429 with retry_after honoured (no resend to that chat before it)",
        description,
        gap is not None and gap >= RETRY_AFTER,
    )
    section.notes.append(
        "- Every message also costs a language lookup by chat id (`_language_of_chat` in "
        f"bot/delivery.py): {language_lookup(database)}"
        + (f"; on the big town of 3.: {language_lookup(big_database)}" if big_database else "")
        + " (SCAN: no index serves it)."
    )
    section.notes.append(f"- Peak memory of the harness (Bot API + delivery): {peak:.0f} MiB.")
    section.seconds = time.perf_counter() - started
    return section


def _take(
    parents: list[town.Parent], targets: list[int], facts: town.TownFacts
) -> list[list[town.Parent]]:
    """Disjoint groups of families, each with about `target` linked guardians."""
    linked: dict[int, int] = {}
    for parent in facts.parents:
        linked[parent.family_id] = linked.get(parent.family_id, 0) + 1
    groups: list[list[town.Parent]] = [[] for _ in targets]
    index = 0
    for group, target in zip(groups, targets, strict=True):
        total = 0
        while total < target and index < len(parents):
            group.append(parents[index])
            total += linked[parents[index].family_id]
            index += 1
    return groups


def run(
    families: int = 4000,
    parents: int = 600,
    back_to_back: int = 200,
    big_database: Path | None = None,
) -> Section:
    return asyncio.run(measure(families, parents, back_to_back, big_database))


if __name__ == "__main__":
    print(run(4000, 300, 100).markdown())
