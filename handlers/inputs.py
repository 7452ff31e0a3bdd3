"""An answer to every input that no flow took: unknown commands, free text, files, stickers.

- An unknown command: said so, with the menu.
- Free text at the menu: the likely intent ("il est malade demain", "ma facture") offered in
  one tap; a date in the phrase is kept for the flow it opens. "Qui a consulté mes
  documents ?" is answered at once with the access log. Otherwise "not understood".
- A photo or a file: kept (its Telegram file id, no re-upload) and the parent is asked what
  it is — a medical certificate for an absence, a document for the family file — or dropped.
- Stickers, voice notes, locations, contacts, videos...: one line on what the bot reads.

These handlers come last in the flows' group: an open flow gets its input first.
"""

from __future__ import annotations

import difflib
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from conversations.access_log import show_access_log
from conversations.kit.context import PortalContext
from conversations.kit.drafts import carry_days, forget_file, keep_file
from conversations.kit.language import chat_language
from conversations.kit.live import answer, answers_text_outside, reply, show, typed_text
from conversations.kit.menu import (
    FILE_AS_CERTIFICATE,
    FILE_AS_DOCUMENT,
    FILE_DROP,
    MENU_ABSENCE,
    MENU_BALANCE,
    MENU_BOOK,
    MENU_CANCEL,
    MENU_DOCUMENTS,
    MENU_MESSAGES,
    MENU_PLANNING,
    MENU_PRIVACY,
    MENU_REMINDERS,
    MENU_SHOW,
    menu_button,
    menu_keyboard,
)
from conversations.kit.texts import text
from conversations.kit.uploads import FILES, receive
from conversations.kit.who import who
from dates import AskBack, understand
from dates import Intent as DateIntent
from handlers.flow_desk import FlowDesk
from handlers.help_page import COMMANDS, HELP_COMMANDS, send_help
from handlers.intents import Intent, intents_of

# What each intent opens: the menu button's label and data.
OFFERS: dict[Intent, tuple[str, str]] = {
    Intent.ABSENCE: ("btn.absence", MENU_ABSENCE),
    Intent.CANCEL: ("btn.cancel_days", MENU_CANCEL),
    Intent.BOOK: ("btn.book", MENU_BOOK),
    Intent.BALANCE: ("btn.balance", MENU_BALANCE),
    Intent.DOCUMENTS: ("btn.documents", MENU_DOCUMENTS),
    Intent.MESSAGE: ("btn.messages", MENU_MESSAGES),
    Intent.PRIVACY: ("btn.privacy", MENU_PRIVACY),
    Intent.REMINDERS: ("btn.reminders", MENU_REMINDERS),
    Intent.PLANNING: ("btn.planning", MENU_PLANNING),
}
# How the days in a phrase are read for the flow an intent opens.
DATE_INTENTS = {Intent.ABSENCE: DateIntent.ABSENCE, Intent.BOOK: DateIntent.BOOK}
MOST_OFFERS = 2
# Message kinds the bot cannot read, by the attribute Telegram fills.
KINDS = (
    "sticker",
    "voice",
    "audio",
    "video_note",
    "video",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)


async def unknown_command(update: Update, context: PortalContext) -> None:
    """A command the bot does not know: say so, and show the menu (or how to link)."""
    parent = await who(update, context)
    if parent is None:
        return
    word = (update.message.text or "").split(maxsplit=1)[0] if update.message else ""
    closest = closest_command(word)
    if closest is None:
        message = text("input.unknown_command", parent.language, command=word[:40])
    else:
        message = text(
            "input.unknown_command_closest",
            parent.language,
            command=word[:40],
            closest=f"/{closest}",
        )
    await reply(update, message, menu_keyboard(parent.language))


def closest_command(word: str) -> str | None:
    """The known command a mistyped one most likely meant ("/absences" → "absence",
    "/reserve@portail_bot" → "reserver"), or None when none is close."""
    name = word.lstrip("/").split("@", 1)[0].lower()
    if not name:
        return None
    known = [*COMMANDS, *HELP_COMMANDS]
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


@answers_text_outside
async def free_text(update: Update, context: PortalContext) -> None:
    """Text outside any flow: offer what it most likely asks for, or say it was not clear."""
    parent = await who(update, context)
    if parent is None:
        return
    language = parent.language
    phrase = typed_text(update)
    intents = intents_of(phrase)
    if intents and intents[0] is Intent.ACCESS_LOG:
        # A question with one answer: the access log itself, read-only, with ✖ Fermer.
        await show_access_log(update, context)
        return
    offered = [intent for intent in intents if intent in OFFERS][:MOST_OFFERS]
    if not offered:
        if Intent.HELP in intents:
            await send_help(update, context)
            return
        key = "input.greeting" if Intent.GREETING in intents else "input.not_understood"
        await reply(update, text(key, language, name=parent.first_name), menu_keyboard(language))
        return
    rows = [
        [InlineKeyboardButton(text(OFFERS[intent][0], language), callback_data=OFFERS[intent][1])]
        for intent in offered
    ]
    rows.append([InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)])
    sent = await _send(update, text("input.offer", language), InlineKeyboardMarkup(rows))
    carry_days(context, sent.message_id, _days_in(phrase, offered, context))


def _days_in(phrase: str, offered: list[Intent], context: PortalContext) -> dict[str, list[str]]:
    """The days the phrase names (ISO dates), per offered flow's button that asks for days."""
    days: dict[str, list[str]] = {}
    for intent in offered:
        date_intent = DATE_INTENTS.get(intent)
        if date_intent is None:
            continue
        understood = understand(phrase, context.portal.today(), date_intent)
        if not isinstance(understood, AskBack):
            days[OFFERS[intent][1]] = sorted(day.isoformat() for day in understood.days)
    return days


async def file_outside_flow(update: Update, context: PortalContext) -> None:
    """A photo or file sent at the menu: keep it, and ask what it is."""
    parent = await who(update, context)
    if parent is None:
        return
    language = parent.language
    received = await receive(update, context, language)
    if received is None:
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("input.file_certificate", language), callback_data=FILE_AS_CERTIFICATE
                )
            ],
            [
                InlineKeyboardButton(
                    text("input.file_document", language), callback_data=FILE_AS_DOCUMENT
                )
            ],
            [InlineKeyboardButton(text("input.file_drop", language), callback_data=FILE_DROP)],
        ]
    )
    name = (
        text("input.file_name", language, name=received.name)
        if received.name
        else text("input.your_photo", language)
    )
    sent = await _send(update, text("input.file_what", language, name_html=name), keyboard)
    keep_file(context, sent.message_id, received.file_id, received.name)


async def drop_file(update: Update, context: PortalContext) -> None:
    """ "Ne rien en faire": forget the file kept at the menu."""
    await answer(update)
    language = chat_language(context, update)
    forget_file(context)
    await show(update, text("input.file_dropped", language), menu_button(language))


def unreadable_kind(message: Message | None) -> str:
    """Which kind of message the bot cannot read this is ("other" when unknown)."""
    for kind in KINDS:
        if message is not None and getattr(message, kind, None):
            return kind
    return "other"


class Inputs:
    """The catch-all handlers; they know the desk to tell whether a flow is still open."""

    def __init__(self, desk: FlowDesk) -> None:
        self.desk = desk

    async def unreadable(self, update: Update, context: PortalContext) -> None:
        """A sticker, voice note, location...: say what the bot reads; the menu if idle."""
        parent = await who(update, context)
        if parent is None:
            return
        language = parent.language
        kind = text(f"input.kind.{unreadable_kind(update.effective_message)}", language)
        if self.desk.open_flows(update):
            await reply(update, text("input.unreadable_in_flow", language, kind=kind))
            return
        message = text("input.unreadable", language, kind=kind)
        await reply(update, message, menu_keyboard(language))

    def handlers(self) -> list[BaseHandler[Update, Any, Any]]:
        return [
            CallbackQueryHandler(drop_file, pattern=f"^{FILE_DROP}$"),
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command),
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, free_text),
            MessageHandler(filters.UpdateType.MESSAGE & FILES, file_outside_flow),
            MessageHandler(filters.UpdateType.MESSAGE, self.unreadable),
        ]


async def _send(update: Update, message: str, keyboard: InlineKeyboardMarkup) -> Message:
    chat = update.effective_chat
    assert chat is not None
    return await chat.send_message(message, parse_mode=ParseMode.HTML, reply_markup=keyboard)
