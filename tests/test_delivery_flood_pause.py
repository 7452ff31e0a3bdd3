"""A 429 stops the whole outbox sender for Telegram's `retry_after`, every chat alike.

Found black-box: the `retry_after` of a 429 was honoured for the refused message only; the
sender went straight on with every other chat, 120 sends into a 60 s flood window, each one
earning another 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import build_application
from bot.delivery import Pacer, run_delivery
from conversations.kit.notices import RENDERERS
from store.models.enums import Channel
from store.outbox import enqueue

CHATS = 5
RETRY_AFTER = 1


@pytest.fixture
async def bot_api(portal) -> AsyncIterator[Any]:
    """The application's bot on the local Bot API, without polling nor background delivery."""
    application = build_application(portal)
    await application.initialize()
    yield application.bot
    await application.shutdown()


async def _note(portal, payload, language) -> str:
    return f"Note {payload['n']}"


async def test_a_429_pauses_every_chat_for_its_retry_after(portal, telegram, bot_api, monkeypatch):
    monkeypatch.setitem(RENDERERS, "test_note", _note)
    parents = [telegram.add_user(first_name=f"Parent{n}") for n in range(CHATS)]
    async with portal.sessions.begin() as session:
        for n, parent in enumerate(parents):
            await enqueue(
                session,
                channel=Channel.TELEGRAM,
                recipient=str(parent.id),
                kind="test_note",
                payload={"n": n},
                dedup_key=f"note {n}",
            )
    telegram.fail_next(parents[0].id, error_code=429, retry_after=RETRY_AFTER)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_delivery(portal, bot_api, stop))
    try:
        for parent in parents[1:]:
            await parent.wait_for_message(timeout=RETRY_AFTER + 4)
    finally:
        stop.set()
        await worker
    refused, *others = [call for call in telegram.calls if call.method == "sendMessage"]
    assert str(refused.params["chat_id"]) == str(parents[0].id)
    early = [call for call in others if call.at < refused.at + RETRY_AFTER]
    assert early == [], f"{len(early)} sends during the {RETRY_AFTER} s pause"
    assert len(others) == CHATS - 1  # each delivered once, after the pause
    assert parents[0].messages == []  # the refused one waits its own retry time


async def test_the_pacer_waits_out_a_pause():
    pacer = Pacer()
    assert pacer.paused_for() == 0
    pacer.pause(0.2)
    assert 0.15 < pacer.paused_for() <= 0.2
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pacer.wait()
    assert loop.time() - started >= 0.19
    assert pacer.paused_for() == 0
