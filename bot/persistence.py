"""python-telegram-bot persistence backed by the shared store.

PTB saves persistence every `update_interval` seconds; `flush_after_update` (registered in the
last handler group) saves right after each update instead, so a flow in progress survives a
restart at any moment. Conversation keys and user data are JSON in the `chat_state` table.

PTB hands over each user's data and each conversation's state one by one; they are gathered
and written together in one transaction when PTB's round ends (`PortalApplication`).
Entries nobody changed for `keep_for` (abandoned drafts, flows left open) are deleted at
start-up, before they are loaded into memory.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from store.chat_state import ChatStateStore, Entry
from store.models.base import utcnow

USER_DATA = "user_data"
# Saving happens after each update; PTB's own timer only has to be a safety net.
SAFETY_NET_INTERVAL = 60.0


class StorePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Keeps conversations' steps and users' drafts in the shared store."""

    def __init__(self, states: ChatStateStore, keep_for: timedelta):
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=SAFETY_NET_INTERVAL,
        )
        self._states = states
        self._keep_for = keep_for
        self._purged = False
        self._pending: dict[Entry, Any] = {}
        self._writing = asyncio.Lock()

    async def write_pending(self) -> None:
        """Write what PTB handed over since the last call, in one transaction, in order."""
        async with self._writing:
            pending, self._pending = self._pending, {}
            await self._states.save_many(pending)

    async def _purge_once(self) -> None:
        if not self._purged:
            self._purged = True
            # Housekeeping on the wall clock: `updated_at` is written with it too.
            await self._states.purge(utcnow() - self._keep_for)

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        await self._purge_once()
        return {int(key): data for key, data in (await self._states.load_kind(USER_DATA)).items()}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        # PTB hands over a deep copy already.
        self._pending[(USER_DATA, str(user_id))] = data or None

    async def drop_user_data(self, user_id: int) -> None:
        self._pending[(USER_DATA, str(user_id))] = None

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to do: this process is the only writer of its users' drafts."""

    async def get_conversations(self, name: str) -> ConversationDict:
        await self._purge_once()
        saved = await self._states.load_kind(f"conversation:{name}")
        return {tuple(json.loads(key)): state for key, state in saved.items()}

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


async def flush_after_update(update: Update, context: Any) -> None:
    """Save conversations and drafts touched by this update, before the next one."""
    await context.application.update_persistence()
