"""Qui a consulté nos données ?: the reads of the family's documents and of the children's
health details by anyone outside the family (`store.access_log`), newest first — the service
and the day, a staff member's name only when the town says so. A read-only view: /consultations
(or the button of Mes données, with ↩ Retour to it; or the question typed freely) shows it,
✖ Fermer closes it."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.kit.context import PortalContext
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_PRIVACY
from conversations.kit.texts import counted, text
from conversations.kit.views import close_view
from conversations.kit.who import who
from store.access_log import EXPORT, HEALTH, AccessView
from store.deadlines import format_moment

OPEN = "al:open"
CLOSE = "al:x"
SHOWN = 30


def what_words(view: AccessView, language: str) -> str:
    """ "les informations de santé de Lucas", "un document (certificat médical)"."""
    if view.what == HEALTH:
        child = view.subject or "?"
        return text("access.what.health", language, child=child)
    if view.what == EXPORT:
        return text("access.what.export", language)
    if view.subject is None:
        return text("access.what.document_gone", language)
    return text("access.what.document", language, kind=text(f"doc.{view.subject}", language))


def access_text(views: list[AccessView], language: str) -> str:
    lines = [text("access.title", language), ""]
    if not views:
        lines.append(text("access.none", language))
        return "\n".join(lines)
    for view in views[:SHOWN]:
        service = view.service_name or text("access.service_unknown", language)
        who_read = (
            text("access.who_named", language, service=service, name=view.reader_name)
            if view.reader_name
            else service
        )
        lines.append(
            text(
                "access.line",
                language,
                when=format_moment(view.at, language),
                who=who_read,
                what=what_words(view, language),
            )
        )
    if len(views) > SHOWN:
        lines.append(counted("access.more", len(views) - SHOWN, language))
    lines.extend(("", text("access.footer", language)))
    return "\n".join(lines)


async def show_access_log(update: Update, context: PortalContext) -> None:
    """/consultations: who outside the family read its documents or health details."""
    await answer(update)
    parent = await who(update, context)
    if parent is None or parent.actor.family_id is None:
        return
    views = await context.portal.access_log.for_family(parent.actor, parent.actor.family_id)
    language = parent.language
    rows = [[InlineKeyboardButton(text("access.btn.close", language), callback_data=CLOSE)]]
    if update.callback_query is not None:
        # Opened from Mes données: a way back to it too.
        back = InlineKeyboardButton(text("privacy.btn.back", language), callback_data=MENU_PRIVACY)
        rows.insert(0, [back])
    await show(update, access_text(views, language), InlineKeyboardMarkup(rows))


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("consultations", show_access_log),
    CallbackQueryHandler(show_access_log, pattern=f"^{OPEN}$"),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The access log view's handlers, to register before the conversations."""
