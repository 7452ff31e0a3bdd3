"""The chat state store: one transaction per round of changes, and the purge of old entries."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot.runner import running_bot
from store.chat_state import ChatStateStore
from store.models import ChatState
from store.models.base import utcnow
from tests.chat_helpers import linked_parent
from tests.helpers import build_town
from tests.test_bot_booking import WEDNESDAYS, _start_booking


async def _saved(sessions) -> dict[tuple[str, str], object]:
    async with sessions() as session:
        rows = await session.execute(select(ChatState.kind, ChatState.key, ChatState.data))
        return {(kind, key): data for kind, key, data in rows}


async def test_save_many_inserts_replaces_and_deletes_in_one_call(sessions):
    states = ChatStateStore(sessions)
    await states.save_many({("user_data", "1"): {"a": 1}, ("user_data", "2"): {"b": 2}})
    await states.save_many({("user_data", "1"): {"a": 10}, ("user_data", "2"): None})
    assert await _saved(sessions) == {("user_data", "1"): {"a": 10}}
    assert await ChatStateStore(sessions).load_kind("user_data") == {"1": {"a": 10}}


async def test_unchanged_entries_are_not_written_again(sessions):
    states = ChatStateStore(sessions)
    await states.save_many({("user_data", "1"): {"a": 1}})
    async with sessions.begin() as session:  # somebody else's edit, unknown to `states`
        await session.execute(update(ChatState).values(data={"a": "edited"}))
    await states.save_many({("user_data", "1"): {"a": 1}})
    assert await _saved(sessions) == {("user_data", "1"): {"a": "edited"}}
    await states.save_many({("user_data", "1"): {"a": 2}})
    assert await _saved(sessions) == {("user_data", "1"): {"a": 2}}


async def test_purge_deletes_only_entries_untouched_since_the_cut_off(sessions):
    states = ChatStateStore(sessions)
    await states.save_many({("user_data", "old"): {"a": 1}, ("user_data", "new"): {"b": 2}})
    async with sessions.begin() as session:
        await session.execute(
            update(ChatState)
            .where(ChatState.key == "old")
            .values(updated_at=utcnow() - timedelta(days=3))
        )
    assert await states.purge(utcnow() - timedelta(days=1)) == 1
    assert await _saved(sessions) == {("user_data", "new"): {"b": 2}}
    await states.save_many({("user_data", "old"): {"a": 1}})  # forgotten, so written again
    assert ("user_data", "old") in await _saved(sessions)


async def test_a_flow_abandoned_for_days_is_purged_at_start_up(portal, telegram):
    await build_town(portal.sessions, WEDNESDAYS)
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        await _start_booking(parent)
        await parent.tap("9")
        calendar = await parent.next_message()
    saved = await _saved(portal.sessions)
    assert ("conversation:booking", f"[{parent.chat_id}, {parent.id}]") in saved
    async with portal.sessions.begin() as session:
        await session.execute(update(ChatState).values(updated_at=utcnow() - timedelta(days=2)))
    async with running_bot(portal, poll_timeout=1):
        await parent.tap("Valider (1)", message=calendar)
        answer = await parent.next_message()
    assert "Récapitulatif" not in answer.text
    assert "plus valide" in answer.text
    async with portal.sessions() as session:
        kinds = (
            await session.execute(select(ChatState.kind, func.count()).group_by(ChatState.kind))
        ).all()
    assert all(kind != "conversation:booking" for kind, _ in kinds)
