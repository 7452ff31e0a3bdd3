"""Linking an account with `/start <token>`, the menu, unlinking, and stale buttons."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from conversations.email_link import LINK_BY_EMAIL
from conversations.kit.callback_data import choice, one_of
from conversations.kit.context import PortalContext
from conversations.kit.language import (
    adopt_telegram_language,
    guess_language,
    keep_language,
    saved,
)
from conversations.kit.live import answer, reply, show
from conversations.kit.menu import MENU_SHOW, MENU_UNLINK, UNLINK_YES, abort_row, menu_keyboard
from conversations.kit.texts import LANGUAGES, text
from conversations.kit.views import close_view
from conversations.kit.who import who
from store.linking import LinkStatus
from store.models.enums import Language

logger = logging.getLogger(__name__)

SET_LANGUAGE = "lang:"
CLOSE_LANGUAGE = "lang:x"
TOKEN_MESSAGES = {
    LinkStatus.USED: "start.token_used",
    LinkStatus.EXPIRED: "start.token_expired",
    LinkStatus.INVALID: "start.token_invalid",
    LinkStatus.NOT_PRIVATE: "start.token_private",
}


async def start(update: Update, context: PortalContext) -> None:
    """`/start <token>` links the account; `/start` alone greets or explains how to link."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    language = guess_language(update)
    portal = context.portal
    if context.args:
        result = await portal.linking.redeem_invite(context.args[0][:64], user.id, chat.id)
        if result.status is not LinkStatus.LINKED:
            await reply(update, text(TOKEN_MESSAGES[result.status], language))
            return
        language = await adopt_telegram_language(update, context)
        await reply(update, text("start.linked", language, name=result.first_name or ""))
        await reply(update, text("menu.title", language), menu_keyboard(language))
        return
    profile = await portal.families.profile(user.id)
    if profile is None:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(text("btn.link_email", language), callback_data=LINK_BY_EMAIL)]]
        )
        await reply(update, text("start.unlinked", language), keyboard)
        return
    language = profile.language.value
    await reply(update, text("start.already_linked", language, name=profile.first_name))
    await reply(update, text("menu.title", language), menu_keyboard(language))


async def menu(update: Update, context: PortalContext) -> None:
    """The main menu, from `/menu` or the ☰ button."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    await show(update, text("menu.title", parent.language), menu_keyboard(parent.language))


async def ask_language(update: Update, context: PortalContext) -> None:
    """`/langue`: offer French and English."""
    parent = await who(update, context)
    if parent is None:
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Français", callback_data=f"{SET_LANGUAGE}fr"),
                InlineKeyboardButton("English", callback_data=f"{SET_LANGUAGE}en"),
            ],
            [
                InlineKeyboardButton(
                    text("language.btn.close", parent.language), callback_data=CLOSE_LANGUAGE
                )
            ],
        ]
    )
    await reply(update, text("language.choose", parent.language), keyboard)


async def set_language(update: Update, context: PortalContext) -> None:
    """Remember the chosen language; the menu follows in it."""
    await answer(update)
    parent = await who(update, context)
    if parent is None or update.callback_query is None:
        return
    chosen = choice(update.callback_query.data, SET_LANGUAGE, LANGUAGES)
    assert chosen is not None  # the handler's pattern lets nothing else through
    language = Language(chosen)
    await context.portal.families.set_language(parent.actor, language)
    keep_language(context, language.value)
    await show(update, text("language.done", language.value))
    await reply(update, text("menu.title", language.value), menu_keyboard(language.value))


async def ask_unlink(update: Update, context: PortalContext) -> None:
    """Ask before unlinking."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("btn.unlink_yes", parent.language), callback_data=UNLINK_YES
                )
            ],
            abort_row(parent.language),
        ]
    )
    await show(update, text("unlink.confirm", parent.language), keyboard)


async def unlink(update: Update, context: PortalContext) -> None:
    """Forget the link between this Telegram account and the guardian."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    await context.portal.linking.unlink(parent.actor)
    saved(context).clear()
    await show(update, text("unlink.done", parent.language))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (never the user's text) and apologise."""
    logger.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    language = guess_language(update)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
    except TelegramError:
        pass  # already answered
    await update.effective_chat.send_message(text("error", language))


HANDLERS = [
    CommandHandler("start", start),
    CommandHandler("menu", menu),
    CommandHandler("deconnexion", ask_unlink),
    CommandHandler(["langue", "language"], ask_language),
    CallbackQueryHandler(set_language, pattern=one_of(SET_LANGUAGE, LANGUAGES)),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE_LANGUAGE}$"),
    CallbackQueryHandler(menu, pattern=f"^{MENU_SHOW}$"),
    CallbackQueryHandler(ask_unlink, pattern=f"^{MENU_UNLINK}$"),
    CallbackQueryHandler(unlink, pattern=f"^{UNLINK_YES}$"),
]
