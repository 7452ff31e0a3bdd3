"""Helpers for end-to-end chat tests: link a parent, forge a button, wait for the bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.portal import Portal
from fake_telegram import FakeTelegram
from fake_telegram.models import CallbackAnswer, ChatMessage
from fake_telegram.users import FakeUser


async def linked_parent(
    portal: Portal, telegram: FakeTelegram, email: str, first_name: str = "Camille"
) -> FakeUser:
    """A Telegram user who linked their account with an invite link, menu on screen."""
    user = telegram.add_user(first_name=first_name, language_code="fr")
    token = await portal.linking.create_invite(email, timedelta(hours=1))
    await user.send_command(f"/start {token}")
    await user.wait_for_message(lambda m: "Que souhaitez-vous faire" in (m.text or ""))
    return user


async def forge_tap(
    telegram: FakeTelegram, user: FakeUser, message: ChatMessage, data: str
) -> CallbackAnswer | None:
    """Send a callback with `data` that no button of `message` carries (a forged request)."""
    user.mark()
    query_id, answered = telegram.new_callback_query(user)
    telegram.enqueue_update(
        {
            "callback_query": {
                "id": query_id,
                "from": user.user_dict,
                "message": telegram.message_dict(message),
                "chat_instance": f"{user.id}{telegram.bot_id}",
                "data": data,
            }
        }
    )
    async with asyncio.timeout(5):
        return await answered
