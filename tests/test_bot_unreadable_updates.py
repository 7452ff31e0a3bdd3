"""One update the library cannot read never stalls the bot; only handled kinds are asked for.

Found black-box: an update python-telegram-bot could not parse (a `poll` without the fields
22.8 requires) made every getUpdates fail on the same batch: ~500 calls a second, a CRITICAL
log line with the update's content each time, and nobody answered any more.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Update

from bot.polling import TolerantBot
from handlers.update_kinds import ALLOWED_UPDATES

SECRET = "content-that-must-not-be-logged"


def _unreadable(telegram, user) -> dict:
    """A message whose poll lacks the fields python-telegram-bot requires (a TypeError)."""
    return {
        "message": {
            "message_id": 999,
            "from": user.user_dict,
            "chat": user.chat_dict,
            "date": telegram.now(),
            "poll": {"id": "1", "question": SECRET},
        }
    }


async def test_an_unreadable_update_is_skipped_and_the_next_one_answered(
    portal, telegram, bot, caplog
):
    caplog.set_level(logging.INFO)  # the product's level (LOG_LEVEL); DEBUG logs all traffic
    parent = telegram.add_user(first_name="Camille")
    calls_before = len(telegram.calls_to("getUpdates"))
    poison = telegram.enqueue_update(_unreadable(telegram, parent))
    await parent.send_command("/start")
    assert "Bienvenue" in (await parent.next_message()).text
    await telegram.wait_until_consumed()
    await asyncio.sleep(0.3)
    polls = len(telegram.calls_to("getUpdates")) - calls_before
    assert polls <= 6, f"{polls} getUpdates calls: the bot spins on the unreadable update"
    assert SECRET not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    skipped = [r for r in caplog.records if r.name == "bot.polling"]
    assert len(skipped) == 1
    assert str(poison) in skipped[0].getMessage()
    assert "TypeError" in skipped[0].getMessage()
    await parent.send_command("/start")  # and the bot goes on
    await parent.next_message()


async def test_the_bot_asks_only_for_the_kinds_it_handles(portal, telegram, bot, caplog):
    caplog.set_level(logging.INFO)
    parent = telegram.add_user(first_name="Camille")
    await parent.send_command("/start")
    await parent.next_message()
    asked = telegram.calls_to("getUpdates")[-1]["allowed_updates"]
    assert sorted(asked) == sorted(ALLOWED_UPDATES)
    assert {
        "message",
        "edited_message",
        "callback_query",
        "inline_query",
        "my_chat_member",
    } <= set(asked)
    assert "poll" not in asked and "message_reaction" not in asked
    # Telegram keeps what was not asked for: a poll (which 22.8 could not even read) never
    # reaches the bot.
    telegram.enqueue_update({"poll": {"id": "1", "question": SECRET}})
    parent.react(parent.last_message)
    await telegram.wait_until_consumed()
    await parent.send_command("/start")
    await parent.next_message()
    assert not [r for r in caplog.records if r.name == "bot.polling"]  # nothing to skip


async def test_each_update_is_read_on_its_own(portal, telegram):
    """The bot's getUpdates: readable updates as usual, an unreadable one as its bare id."""
    user = telegram.add_user()
    first = telegram.enqueue_update(_unreadable(telegram, user))
    second = telegram.enqueue_update({"future_kind": {"text": SECRET}})
    third = telegram.enqueue_update(
        {
            "message": {
                "message_id": 1,
                "from": user.user_dict,
                "chat": user.chat_dict,
                "date": telegram.now(),
                "text": "bonjour",
            }
        }
    )
    bot = TolerantBot(telegram.token, base_url=telegram.base_url)
    async with bot:
        updates = await bot.get_updates(timeout=timedelta(seconds=0))
    assert [u.update_id for u in updates] == [first, second, third]
    assert updates[0] == Update(first) and updates[0].message is None
    assert updates[2].message.text == "bonjour"
