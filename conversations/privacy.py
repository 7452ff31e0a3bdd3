"""Mes données: the family's rights from the chat, and the information notice.

/mesdonnees (or the menu's button) shows: 📦 Télécharger nos données (a confirm, then the ZIP of
`store.family_export` as a document, at most once per interval), 🗑 Demander l'effacement (what
is erased and what the law keeps, a confirm, then a request to the family-file service,
`store.family_rights`), 🔎 who read the family's data (`conversations.access_log`), ℹ️
Confidentialité (the notice, also /confidentialite) and ✖ Fermer. Every screen has a way back;
a button tapped again is answered by the store's state (already asked, too soon).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.access_log import OPEN as ACCESS_LOG
from conversations.kit.context import PortalContext
from conversations.kit.formatting import format_moment
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_PRIVACY
from conversations.kit.texts import text
from conversations.kit.views import close_view
from conversations.kit.who import Who, who
from store.family_export import ExportTooLarge
from store.family_rights import TooSoon
from store.visibility import health_shown

logger = logging.getLogger(__name__)

HOME = "pv:home"
EXPORT = "pv:export"
EXPORT_YES = "pv:export:yes"
ERASE = "pv:erase"
ERASE_YES = "pv:erase:yes"
NOTICE = "pv:notice"
CLOSE = "pv:x"


def _button(key: str, data: str, language: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text(key, language), callback_data=data)]


def home_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            _button("privacy.btn.export", EXPORT, language),
            _button("privacy.btn.erase", ERASE, language),
            _button("privacy.btn.access_log", ACCESS_LOG, language),
            _button("privacy.btn.notice", NOTICE, language),
            _button("privacy.btn.close", CLOSE, language),
        ]
    )


def _confirm(yes_key: str, yes: str, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [_button(yes_key, yes, language), _button("privacy.btn.back", HOME, language)]
    )


def _back(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            _button("privacy.btn.back", HOME, language),
            _button("privacy.btn.close", CLOSE, language),
        ]
    )


def notice_text(controller: str, dpo: str, retention: str, language: str) -> str:
    """The information notice, filled from the town's settings (`PRIVACY_CONTROLLER`,
    `PRIVACY_DPO_CONTACT`, `PRIVACY_RETENTION_SUMMARY`), or saying they are not."""
    controller, dpo, retention = controller.strip(), dpo.strip(), retention.strip()
    return text(
        "privacy.notice",
        language,
        controller_html=(
            text("privacy.notice.controller", language, controller=controller)
            if controller
            else text("privacy.notice.controller_unset", language)
        ),
        dpo_html=(
            text("privacy.notice.dpo", language, dpo=dpo)
            if dpo
            else text("privacy.notice.dpo_unset", language)
        ),
        retention_html=(
            text("privacy.notice.retention_town", language, summary=retention)
            if retention
            else text("privacy.notice.retention", language)
        ),
    )


async def show_home(update: Update, context: PortalContext) -> None:
    """/mesdonnees, the menu's button, ↩ Retour: the family's rights."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    await show(update, text("privacy.home", parent.language), home_keyboard(parent.language))


async def show_notice(update: Update, context: PortalContext) -> None:
    """/confidentialite and ℹ️ Confidentialité: the information notice."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    settings = context.portal.settings
    notice = notice_text(
        settings.privacy_controller,
        settings.privacy_dpo_contact,
        settings.privacy_retention_summary,
        parent.language,
    )
    await show(update, notice, _back(parent.language))


async def ask_export(update: Update, context: PortalContext) -> None:
    """📦 Télécharger nos données: what the file holds, and a confirm."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    language = parent.language
    # A guardian who does not see health details gets none in the file: said before it comes.
    sees_health = await health_shown(context.portal.sessions, parent.actor)
    await show(
        update,
        text(
            "privacy.export.confirm" if sees_health else "privacy.export.confirm_limited", language
        ),
        _confirm("privacy.btn.export_yes", EXPORT_YES, language),
    )


def _family(parent: Who) -> int | None:
    return parent.actor.family_id


async def send_export(update: Update, context: PortalContext) -> None:
    """✅ Recevoir le fichier: the ZIP as a document, unless asked too soon or too large."""
    await answer(update)
    parent = await who(update, context)
    chat = update.effective_chat
    family_id = _family(parent) if parent else None
    if parent is None or family_id is None or chat is None:
        return
    language = parent.language
    rights = context.portal.family_rights
    try:
        await rights.check_export(parent.actor, family_id)
    except TooSoon as soon:
        when = format_moment(soon.next_at, language)
        await show(update, text("privacy.export.too_soon", language, when=when), _back(language))
        return
    await show(update, text("privacy.export.preparing", language))
    await chat.send_chat_action(ChatAction.UPLOAD_DOCUMENT)
    try:
        archive = await context.portal.family_export.build(parent.actor, family_id)
    except ExportTooLarge:
        await show(update, text("privacy.export.too_large", language), _back(language))
        return
    await chat.send_document(
        archive.content,
        filename=archive.file_name,
        caption=text("privacy.export.caption", language)
        + ("\n" + text("visibility.health_hidden", language) if archive.health_hidden else ""),
        parse_mode=ParseMode.HTML,
    )
    await rights.exported(parent.actor, family_id, len(archive.content))
    logger.info("family data exported for %s (%d bytes)", parent.actor.label, len(archive.content))
    await show(update, text("privacy.export.sent", language), _back(language))


async def ask_erasure(update: Update, context: PortalContext) -> None:
    """🗑 Demander l'effacement: what is erased, what the law keeps, and a confirm."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    language = parent.language
    await show(
        update,
        text("privacy.erase.confirm", language),
        _confirm("privacy.btn.erase_yes", ERASE_YES, language),
    )


async def confirm_erasure(update: Update, context: PortalContext) -> None:
    """✅ Envoyer la demande: the request goes to the family-file service."""
    await answer(update)
    parent = await who(update, context)
    family_id = _family(parent) if parent else None
    if parent is None or family_id is None:
        return
    asked = await context.portal.family_rights.ask_erasure(parent.actor, family_id)
    key = "privacy.erase.already" if asked.already else "privacy.erase.sent"
    await show(update, text(key, parent.language), _back(parent.language))


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("mesdonnees", show_home),
    CommandHandler("confidentialite", show_notice),
    CallbackQueryHandler(show_home, pattern=f"^(?:{MENU_PRIVACY}|{HOME})$"),
    CallbackQueryHandler(show_notice, pattern=f"^{NOTICE}$"),
    CallbackQueryHandler(ask_export, pattern=f"^{EXPORT}$"),
    CallbackQueryHandler(send_export, pattern=f"^{EXPORT_YES}$"),
    CallbackQueryHandler(ask_erasure, pattern=f"^{ERASE}$"),
    CallbackQueryHandler(confirm_erasure, pattern=f"^{ERASE_YES}$"),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""Mes données's handlers, to register before the conversations."""
