"""A Telegram update delivered twice is handled once: by one application, after a restart on
the same database, and by two applications (two workers) on one database.

Each update is handed to the real application as the transport would (`update_queue`), the
second delivery with the same `update_id`; a last update of the same person (an edit, answered
with its own note) is queued behind, and since one person's updates run in arrival order, once
its note is in the chat every copy before it has been dealt with.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop

from bot.app import build_application
from bot.portal import Portal
from bot.runner import running_bot
from bot.update_once import UpdateOnce
from conversations.kit.texts import text
from fake_telegram import FakeUser
from fake_telegram.users import command_entities
from store.models import HandledUpdate
from store.runtime import UpdateLedger
from tests.helpers import FakeClock

HELP = "/aide"
EDITED = text("edited.ignored", "fr")


def _message(user: FakeUser, words: str, message_id: int) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": 1_764_000_000,
        "chat": user.chat_dict,
        "from": user.user_dict,
        "text": words,
        "entities": command_entities(words),
    }


def _help(user: FakeUser, update_id: int) -> dict[str, Any]:
    """The parent asks for help: one answer each time it is handled."""
    return {"update_id": update_id, "message": _message(user, HELP, 1)}


def _edit(user: FakeUser, update_id: int) -> dict[str, Any]:
    """The parent edits a message: answered with a note, after everything queued before."""
    edited = {**_message(user, "bonjour", 2), "edit_date": 1_764_000_001}
    return {"update_id": update_id, "edited_message": edited}


async def _deliver(application: Application[Any, Any, Any, Any, Any, Any], raw: dict) -> None:
    await application.update_queue.put(Update.de_json(raw, application.bot))


async def _settled(user: FakeUser, notes: int) -> None:
    """Wait until the chat holds `notes` edit notes: every update before them was handled."""
    async with asyncio.timeout(10):
        while sum(m.text == EDITED for m in user.messages if m.from_bot) < notes:
            await user.wait_for_message(lambda message: message.text == EDITED)


def _answers(user: FakeUser) -> list[str]:
    """The bot's messages, help answers and notes apart."""
    return ["note" if m.text == EDITED else "help" for m in user.messages if m.from_bot]


@contextlib.asynccontextmanager
async def _worker(portal: Portal) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """An application handling what it is given, without polling: a webhook worker's shape."""
    application = build_application(portal)
    await application.initialize()
    await application.start()
    try:
        yield application
    finally:
        await application.stop()
        await application.shutdown()


async def test_an_update_delivered_twice_is_answered_once(portal, telegram, bot):
    parent = telegram.add_user()
    # The first delivery through the local Bot API (polling), the second by hand, same id.
    first = telegram.enqueue_update({"message": _message(parent, HELP, 1)})
    await parent.wait_for_message()
    await _deliver(bot, _help(parent, first))
    await _deliver(bot, _help(parent, first))
    await _deliver(bot, _edit(parent, first + 1))
    await _settled(parent, 1)
    assert _answers(parent) == ["help", "note"]


async def test_a_restarted_bot_does_not_handle_an_update_again(portal, telegram, clock):
    parent = telegram.add_user()
    async with running_bot(portal, poll_timeout=1) as application:
        await _deliver(application, _help(parent, 7001))
        await _deliver(application, _edit(parent, 7002))
        await _settled(parent, 1)
    # Stopped; started again as a new process would be: its own engine, the same database.
    again = Portal.from_settings(portal.settings, clock)
    try:
        async with running_bot(again, poll_timeout=1) as application:
            await _deliver(application, _help(parent, 7001))  # Telegram sends it again
            await _deliver(application, _edit(parent, 7003))
            await _settled(parent, 2)
    finally:
        await again.close()
    assert _answers(parent) == ["help", "note", "note"]


async def test_two_workers_given_the_same_update_handle_it_once(portal, telegram, clock):
    parent = telegram.add_user()
    other = Portal.from_settings(portal.settings, clock)
    try:
        async with _worker(portal) as one, _worker(other) as two:
            for n in range(5):
                update_id = 8000 + 10 * n
                await asyncio.gather(
                    _deliver(one, _help(parent, update_id)),
                    _deliver(two, _help(parent, update_id)),
                )
                await _deliver(one, _edit(parent, update_id + 1))
                await _deliver(two, _edit(parent, update_id + 2))
                await _settled(parent, 2 * (n + 1))
    finally:
        await other.close()
    assert _answers(parent).count("help") == 5
    assert _answers(parent).count("note") == 10


async def test_a_claim_is_given_once_among_concurrent_claimers(portal, clock):
    other = Portal.from_settings(portal.settings, clock)
    try:
        ledgers = [
            UpdateLedger(sessions, clock, timedelta(days=2))
            for sessions in (portal.sessions, other.sessions)
            for _ in range(3)
        ]
        taken = await asyncio.gather(*(ledger.claim(42) for ledger in ledgers))
    finally:
        await other.close()
    assert sorted(taken) == [False] * 5 + [True]


async def test_ids_are_forgotten_after_their_retention(portal, clock: FakeClock):
    ledger = UpdateLedger(portal.sessions, clock, timedelta(days=2))
    assert await ledger.claim(1)
    assert not await ledger.claim(1)
    clock.set(clock.now + timedelta(days=1))
    assert await ledger.claim(2)
    # A new process starting three days after the first claim: the purge runs at start-up.
    clock.set(clock.now + timedelta(days=2))
    restarted = UpdateLedger(portal.sessions, clock, timedelta(days=2))
    assert await restarted.claim(3)
    async with portal.sessions() as session:
        kept = await session.scalars(select(HandledUpdate.update_id).order_by("update_id"))
        assert list(kept) == [2, 3]
        assert await session.scalar(select(func.count()).select_from(HandledUpdate)) == 2
    # Within one process, the purge comes back every hour.
    clock.set(clock.now + timedelta(days=1, hours=2))
    assert await restarted.claim(4)
    async with portal.sessions() as session:
        kept = await session.scalars(select(HandledUpdate.update_id).order_by("update_id"))
        assert list(kept) == [3, 4]


async def test_a_claim_made_for_one_update_never_lets_another_through(portal, telegram, clock):
    """The claim made in a person's turn is for that update only: an update that finds another
    update's claim in its context claims its own id (and a taken one stops there)."""
    ledger = UpdateLedger(portal.sessions, clock, timedelta(days=2))
    once = UpdateOnce(ledger)
    assert await ledger.claim(7)  # update 7 was taken by some worker
    user = telegram.add_user()
    seven = Update.de_json(_help(user, 7), None)
    eight = Update.de_json(_help(user, 8), None)
    async with portal.sessions.begin() as session:
        await once.claim_in(session, eight)  # update 8's turn claimed it ...
    with pytest.raises(ApplicationHandlerStop):
        await once(seven, None)  # ... which does not make update 7 new again
    with pytest.raises(ApplicationHandlerStop):
        await once(eight, None)  # and 8, taken above, is not handled a second time
