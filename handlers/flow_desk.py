"""One flow at a time: opening a flow closes the one in progress; `/abandon` closes any.

The desk sits in a handler group before the flows. When an update opens something — a flow's
entry point (a command, a menu button, a notification's button), a one-shot view's command or
a menu button, a reminder's 🔁 / 🙅 — the flow in progress is closed first: its step and
timeout end, its draft is dropped and its live message says it was closed. The update then
goes on to the flow it opens, so typed text and files always reach the flow the parent opened
last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
)

from conversations.kit.context import PortalContext
from conversations.kit.flows import Flow
from conversations.kit.language import chat_language, saved
from conversations.kit.live import LIVE_MESSAGE, answer, reply, show
from conversations.kit.menu import ABORT, MENU_PREFIX, menu_button
from conversations.kit.texts import text
from conversations.reminders import SAME as REMINDER_SAME
from conversations.reminders import SKIP as REMINDER_SKIP

logger = logging.getLogger(__name__)

ABANDON_COMMANDS = ("abandon", "stop")
# Buttons of a view that start something else than the flow in progress (their data's start):
# a reminder's "Comme le mois dernier" books the days the open calendar would show as free.
OPENING_BUTTONS = (MENU_PREFIX, REMINDER_SAME, REMINDER_SKIP)


class PredicateHandler(BaseHandler[Update, PortalContext, None]):
    """Handles the updates for which `predicate` is true."""

    def __init__(
        self,
        predicate: Callable[[Update], bool],
        callback: Callable[[Update, PortalContext], Any],
    ) -> None:
        super().__init__(callback)
        self.predicate = predicate

    def check_update(self, update: object) -> bool:
        return isinstance(update, Update) and self.predicate(update)


def command_of(update: Update) -> str | None:
    """The command of a new message (`/reserver@bot args` gives "reserver"), or None."""
    message = update.message
    words = (message.text or "").split(maxsplit=1) if message is not None else []
    if not words or not words[0].startswith("/") or len(words[0]) < 2:
        return None
    return words[0][1:].split("@", 1)[0].lower()


async def stop_here(update: Update, context: PortalContext) -> None:
    """Stop the update after this handler, saving the chat's state first (the save that the
    last handler group would have done)."""
    user = update.effective_user
    if user is not None:
        context.application.mark_data_for_update_persistence(user_ids=user.id)
    await context.application.update_persistence()
    raise ApplicationHandlerStop


class FlowDesk:
    """Knows every flow and what opens something; closes the flow in progress."""

    def __init__(self, flows: Sequence[Flow], commands: Sequence[str]) -> None:
        self.flows = list(flows)
        # Commands that open a flow or a view (and so close what is open); /aide does not.
        self.commands = frozenset(commands) - set(ABANDON_COMMANDS)

    def register(self, application: Application[Any, Any, Any, Any, Any, Any], group: int) -> None:
        """Put the desk's handlers in `group`, which must come before the flows'."""
        application.add_handlers(
            [
                CommandHandler(list(ABANDON_COMMANDS), self.abandon),
                CallbackQueryHandler(self.abandon, pattern=f"^{ABORT}$"),
                PredicateHandler(self._opens_while_open, self.close_for_new),
            ],
            group=group,
        )

    def open_flows(self, update: Update) -> list[Flow]:
        """The flows waiting for this parent's next step (one, or none)."""
        return [flow for flow in self.flows if flow.is_open(update)]

    def opens(self, update: Update) -> bool:
        """Whether the update opens a flow or a view."""
        query = update.callback_query
        if query is not None and (query.data or "").startswith(OPENING_BUTTONS):
            return True
        if command_of(update) in self.commands:
            return True
        return any(flow.opens(update) for flow in self.flows)

    def _opens_while_open(self, update: Update) -> bool:
        return self.opens(update) and bool(self.open_flows(update))

    async def abandon(self, update: Update, context: PortalContext) -> None:
        """`/abandon` or the abort button: close whatever is open; its message (or the tapped
        one) says nothing was changed and offers the menu."""
        language = chat_language(context, update)
        await answer(update)
        done = text("aborted", language)
        lives = [live for _, live in await self._close_all(update, context) if live is not None]
        if update.callback_query is not None:
            await show(update, done, menu_button(language))
        elif lives:
            await _replace(update, lives[-1], done, menu_button(language))
        else:
            await reply(update, text("flow.nothing_open", language), menu_button(language))
        await stop_here(update, context)

    async def close_for_new(self, update: Update, context: PortalContext) -> None:
        """Something else is opened: close the flow in progress, then let the update go on."""
        language = chat_language(context, update)
        for flow, live in await self._close_all(update, context):
            if live is not None:
                title = text(f"flow.title.{flow.name}", language)
                await _replace(update, live, text("flow.closed", language, title=title))

    async def _close_all(
        self, update: Update, context: PortalContext
    ) -> list[tuple[Flow, int | None]]:
        """Close the open flows (step, timeout, draft); each with its live message's id."""
        closed = []
        for flow in self.open_flows(update):
            await flow.close(update)
            draft = saved(context).pop(flow.draft_key, None)
            closed.append((flow, draft.get(LIVE_MESSAGE) if isinstance(draft, dict) else None))
        return closed


async def _replace(
    update: Update, message_id: int, note: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Replace a closed flow's live message (and its buttons) with a short note."""
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await chat.get_bot().edit_message_text(
            note,
            chat_id=chat.id,
            message_id=message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
        )
    except TelegramError as error:
        # Gone, too old or a photo: the flow is closed all the same.
        logger.info("could not mark a closed flow's message: %s", type(error).__name__)
