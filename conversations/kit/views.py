"""What the read-only views (balance, statement, tariffs, requests) share."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest

from conversations.kit.context import PortalContext
from conversations.kit.live import answer
from conversations.kit.menu import menu_button
from conversations.kit.who import who


async def close_view(update: Update, context: PortalContext) -> None:
    """✖ Fermer: what the view shows stays on screen, its buttons give way to the menu button."""
    await answer(update)
    parent = await who(update, context)
    query = update.callback_query
    if parent is None or query is None:
        return
    try:
        await query.edit_message_reply_markup(menu_button(parent.language))
    except BadRequest as error:
        # Tapped twice, or the message is gone: the view is closed either way.
        if "not modified" not in str(error) and "not found" not in str(error):
            raise
