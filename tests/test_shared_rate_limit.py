"""One outbound rate for the whole bot: two delivery loops (two workers, each its own engine
and bot) on one database send a notice to many parents, some of them several, and together
never exceed the bot's rate in any second nor write to a chat twice within a second; every
notice is sent once.

Measured on the local Bot API's own record of the calls it received and when.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

from telegram import Bot

from bot.app import build_application
from bot.delivery import run_delivery
from bot.portal import Portal
from conversations.kit.notices import RENDERERS
from store.models.enums import Channel
from store.outbox import enqueue
from store.runtime import SendSlots

PARENTS = 40
BUSY_PARENTS = 8
NOTICES_EACH_BUSY = 3
TELEGRAM_PER_SECOND = 30
WINDOW = 1.0


async def _note(portal: Portal, payload: dict[str, Any], language: str) -> str:
    return f"Note {payload['n']}"


@contextlib.asynccontextmanager
async def _bot(portal: Portal) -> AsyncIterator[Bot]:
    application = build_application(portal)
    await application.initialize()
    try:
        yield application.bot
    finally:
        await application.shutdown()


def _most_in_a_window(times: list[float]) -> int:
    """The largest number of calls within any `WINDOW` seconds."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= WINDOW:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_two_workers_keep_one_rate_together(portal, telegram, clock, monkeypatch):
    monkeypatch.setitem(RENDERERS, "test_note", _note)
    parents = [telegram.add_user(first_name=f"Parent{n}") for n in range(PARENTS)]
    expected: dict[int, list[str]] = {}
    async with portal.sessions.begin() as session:
        n = 0
        for position, parent in enumerate(parents):
            count = NOTICES_EACH_BUSY if position < BUSY_PARENTS else 1
            for _ in range(count):
                await enqueue(
                    session,
                    channel=Channel.TELEGRAM,
                    recipient=str(parent.id),
                    kind="test_note",
                    payload={"n": n},
                    dedup_key=f"note {n}",
                )
                expected.setdefault(parent.id, []).append(f"Note {n}")
                n += 1
    other = Portal.from_settings(portal.settings, clock)
    stop = asyncio.Event()
    try:
        async with _bot(portal) as one, _bot(other) as two:
            workers = [
                asyncio.create_task(run_delivery(portal, one, stop)),
                asyncio.create_task(run_delivery(other, two, stop)),
            ]
            try:
                async with asyncio.timeout(30):
                    for parent in parents:
                        while len(parent.messages) < len(expected[parent.id]):
                            await parent.wait_for_message(timeout=30)
            finally:
                stop.set()
                await asyncio.gather(*workers)
    finally:
        await other.close()

    sends = [call for call in telegram.calls if call.method == "sendMessage"]
    for parent in parents:
        assert sorted(m.text for m in parent.messages) == sorted(expected[parent.id])
    assert len(sends) == n  # each notice once, none refused and sent again
    assert _most_in_a_window([call.at for call in sends]) <= TELEGRAM_PER_SECOND
    # ... and never more than the rate set, in any second (sends come a little after slots).
    rate = portal.settings.telegram_messages_per_second
    assert _most_in_a_window([call.at for call in sends]) <= rate
    for parent in parents[:BUSY_PARENTS]:
        to_chat = [call.at for call in sends if str(call.params["chat_id"]) == str(parent.id)]
        assert _most_in_a_window(to_chat) == 1, f"two messages to a chat within {WINDOW} s"


async def test_slots_are_spaced_across_workers_and_chats_rest(portal, clock):
    other = Portal.from_settings(portal.settings, clock)
    try:
        one = SendSlots(portal.sessions, per_second=10, chat_spacing=1.0)
        two = SendSlots(other.sessions, per_second=10, chat_spacing=1.0)
        now = 1_000.0
        first, second = await asyncio.gather(
            one.reserve([1, 2, 3, 1], now), two.reserve([4, 5, 3], now)
        )
        # Chat 3 went to one worker only; chat 1 once in its batch.
        assert len(set(first) & set(second)) == 0
        assert {1, 2, 4, 5} <= set(first) | set(second)
        slots = sorted([*first.values(), *second.values()])
        assert now <= slots[0] <= now + 0.1
        assert all(after - before >= 0.1 - 1e-9 for before, after in pairwise(slots))
        # Half a second on, every chat written to still rests; a new one gets the next slot.
        later = await one.reserve([1, 2, 3, 4, 5, 6], now + 0.5)
        assert list(later) == [6]
        assert later[6] >= max(slots) + 0.1 - 1e-9
        # A flood pause holds every worker's slots back.
        await two.pause_until(now + 4)
        assert (await one.reserve([7], now + 1))[7] >= now + 4
        # Slots are not reserved further ahead than the horizon (5 s): none for now.
        await two.pause_until(now + 30)
        assert await one.reserve([8], now + 2) == {}
        assert one.full_until == now + 25
    finally:
        await other.close()
