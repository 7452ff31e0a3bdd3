"""python-telegram-bot persistence backed by the shared store.

PTB saves persistence every `update_interval` seconds; `save_person` saves right after each
update instead, in the person's turn, so a flow in progress survives a restart at any moment
and the person's next update may go to any worker. Conversation keys and user data are JSON in
the `chat_state` table.

PTB hands over each user's data and each conversation's state one by one; they are gathered
and written together in one transaction when PTB's round ends (`PortalApplication`).
Nothing is loaded up front: before each update, in its person's turn, that person's drafts and
flow steps are read again from the store (`read_person`, one statement), so that any worker may
take a person's next update. Entries nobody changed for `keep_for` (abandoned drafts, flows left
open) are deleted at start-up and then hourly, by one worker of the cluster at a time
(`store.leases`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from conversations.kit.flows import Flow
from store.chat_state import ChatStateStore, Entry
from store.leases import PURGE_CHAT_STATE, ClusterLeases, worker_identity
from store.models.base import utcnow

USER_DATA = "user_data"
# Saving happens after each update; PTB's own timer only has to be a safety net.
SAFETY_NET_INTERVAL = 60.0
PURGE_EVERY = timedelta(hours=1)


class StorePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Keeps conversations' steps and users' drafts in the shared store."""

    def __init__(
        self,
        states: ChatStateStore,
        keep_for: timedelta,
        leases: ClusterLeases | None = None,
        owner: str = "",
    ):
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=SAFETY_NET_INTERVAL,
        )
        self._states = states
        self._keep_for = keep_for
        # Abandoned entries are purged once per cluster: by the worker holding the lease.
        self._leases = leases
        self._owner = owner or worker_identity()
        self._next_purge = 0.0
        self._pending: dict[Entry, Any] = {}
        self._writing = asyncio.Lock()

    async def write_pending(self) -> None:
        """Write what PTB handed over since the last call, in one transaction, in order."""
        async with self._writing:
            pending, self._pending = self._pending, {}
            await self._states.save_many(pending)
        await self._purge_now_and_then()

    async def _purge_now_and_then(self) -> None:
        """At start-up and then every `PURGE_EVERY`: delete the entries nobody changed for
        `keep_for`, if this worker gets the cluster's purge (another one does it otherwise)."""
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY.total_seconds()
        # Housekeeping on the wall clock: `updated_at` is written with it too.
        now = utcnow()
        if self._leases is not None and not await self._leases.take(
            PURGE_CHAT_STATE, self._owner, now, PURGE_EVERY
        ):
            return
        await self._states.purge(now - self._keep_for)

    async def read_person(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        update: object,
        first: Callable[[AsyncSession, Update], Awaitable[object]] | None = None,
    ) -> None:
        """Read again, from the store, the state of the update's person: their drafts and the
        step of each flow. Called before each update, in the person's turn (see
        `bot.update_order`): nothing a process remembers of a person outlives one update, so
        any worker may take the next one. One statement, in one transaction with `first`
        (the update's claim, `bot.update_once`)."""
        if not isinstance(update, Update) or update.effective_user is None:
            return
        user_id = update.effective_user.id
        flows = [
            (flow, f"conversation:{flow.name}", key)
            for flow in _flows(application)
            if (key := flow.saved_key(update)) is not None
        ]
        entries: list[Entry] = [(USER_DATA, str(user_id))]
        entries += [(kind, key) for _, kind, key in flows]
        also = None if first is None else functools.partial(_with_update, first, update)
        saved = await self._states.load_entries(entries, also)
        drafts = application.user_data[user_id]  # created when missing (a defaultdict)
        drafts.clear()
        drafts.update(saved.get((USER_DATA, str(user_id))) or {})
        for flow, kind, key in flows:
            flow.take_saved_step(update, saved.get((kind, key)))

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        """Nothing up front: each person's drafts are read before each of their updates."""
        await self._purge_now_and_then()
        return {}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        # PTB hands over a deep copy already.
        self._pending[(USER_DATA, str(user_id))] = data or None

    async def drop_user_data(self, user_id: int) -> None:
        self._pending[(USER_DATA, str(user_id))] = None

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to do: `read_person` read the person's drafts before the update."""

    async def get_conversations(self, name: str) -> ConversationDict:
        """Nothing up front: each person's steps are read before each of their updates."""
        await self._purge_now_and_then()
        return {}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self._pending[(f"conversation:{name}", json.dumps(list(key)))] = new_state

    # Chat data, bot data and callback data are not used by the product.
    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        """Write anything still pending (PTB calls this when the application stops)."""
        await self.write_pending()


class PortalApplication(Application):
    """PTB's application, writing its persistence in one transaction per round."""

    async def update_persistence(self) -> None:
        await super().update_persistence()
        if isinstance(self.persistence, StorePersistence):
            await self.persistence.write_pending()


async def _with_update(
    work: Callable[[AsyncSession, Update], Awaitable[object]],
    update: Update,
    session: AsyncSession,
) -> object:
    return await work(session, update)


def _flows(application: Application[Any, Any, Any, Any, Any, Any]) -> list[Flow]:
    """The application's flows (persistent conversations), in every group."""
    return [
        handler
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, Flow)
    ]


async def save_person(
    application: Application[Any, Any, Any, Any, Any, Any], update: object
) -> None:
    """Save what the update changed of its person's drafts and flow steps, before their turn
    ends (`bot.update_order`): whatever handler took the update, even one that stopped it
    early, and whichever worker takes the person's next update."""
    if isinstance(update, Update) and update.effective_user is not None:
        application.mark_data_for_update_persistence(user_ids=update.effective_user.id)
    await application.update_persistence()
