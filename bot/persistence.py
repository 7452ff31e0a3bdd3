"""python-telegram-bot persistence backed by the shared store.

PTB saves persistence every `update_interval` seconds; `flush_after_update` (registered in the
last handler group) saves right after each update instead, so a flow in progress survives a
restart at any moment. Conversation keys and user data are JSON in the `chat_state` table.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from telegram import Update
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from store.chat_state import ChatStateStore

USER_DATA = "user_data"
# Saving happens after each update; PTB's own timer only has to be a safety net.
SAFETY_NET_INTERVAL = 60.0


class StorePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Keeps conversations' steps and users' drafts in the shared store."""

    def __init__(self, states: ChatStateStore):
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=SAFETY_NET_INTERVAL,
        )
        self._states = states

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        return {int(key): data for key, data in (await self._states.load_kind(USER_DATA)).items()}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        await self._states.save(USER_DATA, str(user_id), deepcopy(data) or None)

    async def drop_user_data(self, user_id: int) -> None:
        await self._states.drop(USER_DATA, str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to do: this process is the only writer of its users' drafts."""

    async def get_conversations(self, name: str) -> ConversationDict:
        saved = await self._states.load_kind(f"conversation:{name}")
        return {tuple(json.loads(key)): state for key, state in saved.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        await self._states.save(f"conversation:{name}", json.dumps(list(key)), new_state)

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
        """Everything is written as it changes; nothing is buffered."""


async def flush_after_update(update: Update, context: Any) -> None:
    """Save conversations and drafts touched by this update, before the next one."""
    await context.application.update_persistence()
