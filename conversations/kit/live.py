"""The chat's messages as the flows handle them: replies, the live message a flow edits, answers
to taps (toasts, stale buttons), timeouts and text typed outside any flow."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypedDict

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from conversations.kit.context import PortalContext
from conversations.kit.language import chat_language, guess_language, saved
from conversations.kit.menu import menu_button
from conversations.kit.texts import text

# A tag of catalog text (what `text()` escapes never looks like one).
_TAG = re.compile(r"<[^>]*>")


# Where a flow's draft remembers its current message: buttons of older ones are stale.
LIVE_MESSAGE: Final = "message_id"


class FlowDraft(TypedDict, total=False):
    """What every flow's draft may hold: its live message (`LIVE_MESSAGE`)."""

    message_id: int


def typed_text(update: Update) -> str:
    """The text of the message a step received ("" for none)."""
    message = update.effective_message
    return (message.text or "") if message is not None else ""


async def reply(
    update: Update, message: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Answer in the chat of the update with a new message."""
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(message, parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def show(update: Update, message: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message whose button was tapped (navigation), or send a new one."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(
                message, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
            return
        except BadRequest as error:
            if "not modified" in str(error):
                return
            if "not found" not in str(error):
                raise
    await reply(update, message, keyboard)


def toast(message: str) -> str:
    """A catalog text (HTML) as a toast or an alert shows it: Telegram reads a callback's
    answer as plain text, so tags are dropped and escaped characters read back
    ("jusqu&#x27;au lundi" is shown "jusqu'au lundi")."""
    return html.unescape(_TAG.sub("", message))


async def answer(update: Update, notice: str | None = None, *, alert: bool = False) -> None:
    """Answer the tapped button, so the phone stops its spinner; `notice` (catalog text) is
    shown as a toast, or as an `alert` to dismiss. A tap answered already (a step that goes
    on to another) or too late is not an error: the step goes on."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(toast(notice) if notice else None, show_alert=alert)
    except BadRequest as error:
        if "query" not in str(error).lower():
            raise


async def answer_quietly(update: Update, notice: str | None = None) -> None:
    """Stop the tapped button's spinner (showing `notice`, a catalog text, as a toast); a
    failure to do so stops nothing else."""
    with contextlib.suppress(TelegramError):
        await answer(update, notice)


async def show_step(
    update: Update, draft: FlowDraft, message: str, keyboard: InlineKeyboardMarkup
) -> None:
    """Show a step: edit the flow's message when one of its buttons was tapped, else send one.

    The message shown is remembered in `draft`, so that buttons of older messages are stale.
    """
    query = update.callback_query
    tapped = query.message.message_id if query is not None and query.message else None
    if tapped is not None and draft.get(LIVE_MESSAGE) in (None, tapped):
        await show(update, message, keyboard)
        draft[LIVE_MESSAGE] = tapped
        return
    chat = update.effective_chat
    assert chat is not None
    sent = await chat.send_message(message, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    draft[LIVE_MESSAGE] = sent.message_id


async def is_live(update: Update, context: PortalContext, draft: FlowDraft) -> bool:
    """Whether the tapped button belongs to the flow's current message; answer it if not."""
    query = update.callback_query
    live = draft.get(LIVE_MESSAGE)
    if query is None or query.message is None or live is None:
        return True
    if query.message.message_id == live:
        return True
    await stale_in_flow(update, context)
    return False


async def timed_out(update: Update, context: PortalContext, draft_key: str) -> None:
    """A flow left unanswered for too long ends with a friendly word; its draft goes."""
    language = chat_language(context, update)
    saved(context).pop(draft_key, None)
    await reply(update, text("timed_out", language), menu_button(language))


async def stale_button(update: Update, context: PortalContext) -> None:
    """Any button no flow is waiting for: answer it, and offer the menu."""
    language = guess_language(update)
    profile = (
        await context.portal.families.profile(update.effective_user.id)
        if update.effective_user
        else None
    )
    if profile is not None:
        language = profile.language.value
    await answer(update)
    await reply(update, text("stale", language), menu_button(language))


TextAnswer = Callable[[Update, PortalContext], Coroutine[Any, Any, None]]
# The answer to text typed outside any flow (`handlers.inputs.free_text` registers itself): a
# flow whose draft is gone hands such text over, so the parent gets the answer the menu gives.
_TEXT_OUTSIDE: list[TextAnswer] = []


def answers_text_outside(function: TextAnswer) -> TextAnswer:
    """Register the answer to text typed outside any flow."""
    _TEXT_OUTSIDE[:] = [function]
    return function


async def text_outside(update: Update, context: PortalContext) -> None:
    """Answer text as if it was typed outside any flow (see `answers_text_outside`)."""
    for function in _TEXT_OUTSIDE:
        await function(update, context)


async def stale_in_flow(update: Update, context: PortalContext) -> None:
    """A button of an older message tapped during a flow: say so, keep the flow."""
    language = chat_language(context, update)
    await answer(update, text("stale", language).split(".")[0])


async def use_buttons(update: Update, context: PortalContext) -> None:
    """Text typed where a tap was expected."""
    language = chat_language(context, update)
    await reply(update, text("use_buttons", language))
