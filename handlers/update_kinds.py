"""Updates that are not a parent's new message in their private chat, each handled on purpose.

- Anything from a group, supergroup or channel: the bot says once that it works in a private
  chat (with a link to it) and leaves; no family data, no link, nothing else.
- The parent blocks the bot (or unblocks it): the store stops (or resumes) writing to them.
- An edited message: a short note; the edit is not acted on (the original was).
- A button of an inline-mode message (no message attached), or a callback without data (only
  a forged one has none): answered as no longer valid.
- Inline queries: answered with no result and a button that opens the private chat.
- Reactions, poll answers, chat members and the like: deliberately ignored, and not even
  asked for (`ALLOWED_UPDATES`); so is an update the library could not read (`bot.polling`),
  which arrives as its bare id.

These handlers sit in the first handler group and stop the update there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from telegram import ChatMember, InlineQueryResultsButton, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from conversations.kit.context import PortalContext
from conversations.kit.language import chat_language, guess_language
from conversations.kit.live import reply, toast
from conversations.kit.texts import text
from handlers.flow_desk import PredicateHandler

logger = logging.getLogger(__name__)

GONE = (ChatMember.LEFT, ChatMember.BANNED)
# The kinds of update the handlers here and after act on: the only ones asked of Telegram
# (getUpdates' `allowed_updates`), so that a kind nobody handles, or one newer than the
# library, is never sent to the bot.
ALLOWED_UPDATES = (
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.MY_CHAT_MEMBER,
)


def outside_private_chat(update: Update) -> bool:
    """From a chat that is not the parent's private chat with the bot."""
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


def private_membership(update: Update) -> bool:
    return update.my_chat_member is not None


def edited(update: Update) -> bool:
    return update.edited_message is not None


def button_without_message(update: Update) -> bool:
    query = update.callback_query
    return query is not None and query.message is None


def button_without_data(update: Update) -> bool:
    """A callback with no data, or not text: python-telegram-bot would hand it to the first
    handler with a pattern, whatever the pattern."""
    query = update.callback_query
    return query is not None and not (isinstance(query.data, str) and query.data)


def inline_query(update: Update) -> bool:
    return update.inline_query is not None or update.chosen_inline_result is not None


def nothing_to_do(update: Update) -> bool:
    """Updates the product does not act on: reactions, polls, members, business, payments."""
    return (
        update.message is None
        and update.callback_query is None
        and update.edited_message is None
        and update.my_chat_member is None
    )


async def leave_non_private_chat(update: Update, context: PortalContext) -> None:
    """Say once, where the bot may speak, that it works in private; then leave the chat."""
    chat = update.effective_chat
    assert chat is not None
    membership = update.my_chat_member
    removed = membership is not None and membership.new_chat_member.status in GONE
    if update.callback_query is not None:
        await _quietly(update.callback_query.answer())
    if not removed:
        link = f"https://t.me/{context.bot.username}"
        language = guess_language(update)
        await _quietly(chat.send_message(text("private_only", language, link=link)))
        await _quietly(chat.leave())
    raise ApplicationHandlerStop


async def blocked_or_unblocked(update: Update, context: PortalContext) -> None:
    """The parent blocked the bot (stop writing to them) or unblocked it (write again)."""
    membership = update.my_chat_member
    assert membership is not None
    blocked = membership.new_chat_member.status in GONE
    await context.portal.linking.chat_blocked(membership.from_user.id, blocked=blocked)
    raise ApplicationHandlerStop


async def edited_message(update: Update, context: PortalContext) -> None:
    """An edit is not acted on: the message as first sent was. Say so, briefly."""
    await reply(update, text("edited.ignored", chat_language(context, update)))
    raise ApplicationHandlerStop


async def stale_button(update: Update, context: PortalContext) -> None:
    """A button that cannot be acted on: said so in a toast."""
    query = update.callback_query
    assert query is not None
    stale = text("stale", chat_language(context, update)).split(".")[0]
    await _quietly(query.answer(toast(stale)))
    raise ApplicationHandlerStop


async def inline_mode(update: Update, context: PortalContext) -> None:
    """No family data is ever shown inline: point to the private chat instead."""
    query = update.inline_query
    if query is not None:
        button = InlineQueryResultsButton(
            text=text("inline.open_chat", guess_language(update)), start_parameter="inline"
        )
        await _quietly(query.answer([], cache_time=0, is_personal=True, button=button))
    raise ApplicationHandlerStop


async def ignore(update: Update, context: PortalContext) -> None:
    raise ApplicationHandlerStop


async def _quietly(call: Awaitable[object]) -> None:
    """Await a call to Telegram whose failure changes nothing (left chat, old query)."""
    try:
        await call
    except TelegramError as error:
        logger.info("telegram refused a courtesy call: %s", type(error).__name__)


def register(application: Application[Any, Any, Any, Any, Any, Any], group: int) -> None:
    """Put these handlers in `group`, the first one."""
    application.add_handlers(
        [
            PredicateHandler(outside_private_chat, leave_non_private_chat),
            PredicateHandler(private_membership, blocked_or_unblocked),
            PredicateHandler(edited, edited_message),
            PredicateHandler(button_without_message, stale_button),
            PredicateHandler(button_without_data, stale_button),
            PredicateHandler(inline_query, inline_mode),
            PredicateHandler(nothing_to_do, ignore),
        ],
        group=group,
    )
