"""Link by email: type the address → receive a 6-digit code by email → type it → linked.

Whether the address is known is never revealed: the answer is the same either way, also when
the mail relay is down, since the code goes through the outbox like every other email
(`store.linking.request_email_code`, sent by `mail.staff_mail`). Requests are limited per
account, per address and per hour (`EMAIL_CODES_PER_*`); beyond, one generic answer, "too
many requests, try again later", for known and unknown addresses alike, and the flow stays
open for a code received earlier.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.kit.context import PortalContext
from conversations.kit.drafts import Drafts, State
from conversations.kit.flows import Flow, flow
from conversations.kit.language import (
    adopt_telegram_language,
    chat_language,
    guess_language,
    keep_language,
    saved,
)
from conversations.kit.live import FlowDraft, answer, reply, show, typed_text
from conversations.kit.menu import abort_row, menu_keyboard
from conversations.kit.texts import text
from store.linking import EMAIL_CODE_MAX_TRIES, CodeLimits, CodeRequest, LinkStatus

if TYPE_CHECKING:
    from bot.settings import Settings

ASK_EMAIL, ASK_CODE = "link:email", "link:code"
LINK_BY_EMAIL = "link:email"
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailLinkDraft(FlowDraft, total=False):
    """The codes typed since the last one was sent."""

    tries: int


DRAFTS = Drafts[EmailLinkDraft]("email_link")
# Where the tries were counted before the flow had a draft (chat states saved then).
FORMER_TRIES = "link_tries"


async def start(update: Update, context: PortalContext) -> str:
    """Ask for the email address."""
    await answer(update)
    language = guess_language(update)
    saved(context).clear()
    keep_language(context, language)
    keyboard = InlineKeyboardMarkup([abort_row(language)])
    await show(update, text("link.ask_email", language), keyboard)
    return ASK_EMAIL


async def got_email(update: Update, context: PortalContext) -> str:
    """Queue a code if the address is known; answer the same way in any case."""
    language = chat_language(context)
    email = typed_text(update).strip()
    if not EMAIL_SHAPE.match(email) or len(email) > 254:
        await reply(update, text("link.bad_email", language))
        return ASK_EMAIL
    user = update.effective_user
    assert user is not None  # a private chat's message has a sender
    limits = code_limits(context.portal.settings)
    request = await context.portal.linking.request_email_code(email, user.id, limits)
    said = "link.too_many_requests"
    if request is CodeRequest.SENT:
        said = "link.code_sent"
        DRAFTS(context)["tries"] = 0
    await reply(update, text(said, language), InlineKeyboardMarkup([abort_row(language)]))
    return ASK_CODE


async def got_code(update: Update, context: PortalContext) -> State:
    """Check the code; link, or say how many tries are left."""
    language = chat_language(context)
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None  # a private chat's message
    result = await context.portal.linking.verify_email_code(user.id, typed_text(update), chat.id)
    draft = DRAFTS(context)
    tries = draft.get("tries", saved(context).pop(FORMER_TRIES, 0)) + 1
    draft["tries"] = tries
    if result.status is LinkStatus.LINKED:
        saved(context).clear()
        language = await adopt_telegram_language(update, context)
        await reply(update, text("start.linked", language, name=result.first_name or ""))
        await reply(update, text("menu.title", language), menu_keyboard(language))
        return ConversationHandler.END
    if result.status is LinkStatus.EXPIRED:
        saved(context).clear()
        await reply(update, text("link.expired", language))
        return ConversationHandler.END
    left = EMAIL_CODE_MAX_TRIES - tries
    if result.status is LinkStatus.TOO_MANY_TRIES or left <= 0:
        saved(context).clear()
        await reply(update, text("link.too_many", language))
        return ConversationHandler.END
    await reply(update, text("link.wrong_code", language, left=left))
    return ASK_CODE


def code_limits(settings: Settings) -> CodeLimits:
    """How many codes may be requested per hour, from the settings."""
    return CodeLimits(
        per_chat=settings.email_codes_per_chat_per_hour,
        per_address=settings.email_codes_per_address_per_hour,
        in_all=settings.email_codes_per_hour,
    )


def build(timeout_seconds: float) -> Flow:
    """The email linking flow."""
    return flow(
        DRAFTS,
        [CallbackQueryHandler(start, pattern=f"^{LINK_BY_EMAIL}$")],
        {
            ASK_EMAIL: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_email)],
            ASK_CODE: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_code)],
        },
        timeout_seconds,
        stale_prefix=None,
    )
