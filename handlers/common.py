"""What every handler needs: who is talking, in which language, and the menu."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import PortalContext
from bot.texts import language_of, text
from handlers.flows import Flow
from store.actors import Actor
from store.families import ChildView
from store.models.enums import Language

ABORT = "abort"
# Every menu button starts with this: tapping one opens something (see `handlers.flow_desk`).
MENU_PREFIX = "menu:"
MENU_BOOK = "menu:book"
MENU_CANCEL = "menu:cancel"
MENU_BALANCE = "menu:balance"
MENU_ABSENCE = "menu:absence"
MENU_MY_ABSENCES = "menu:absences"
MENU_DOCUMENTS = "menu:documents"
MENU_MESSAGES = "menu:messages"
MENU_UNLINK = "menu:unlink"
MENU_SHOW = "menu:show"
UNLINK_YES = "unlink:yes"
# A tag of catalog text (what `text()` escapes never looks like one).
_TAG = re.compile(r"<[^>]*>")


# Kept between a message sent at the menu and the flow its answer offers (`handlers.inputs`):
# the days a typed phrase named, and a file sent outside any flow.
CARRIED = "carried"
HELD_FILE = "held_file"

WHO_KEY = "_who"
# Where a flow's draft remembers its current message: buttons of older ones are stale.
LIVE_MESSAGE = "message_id"


@dataclass(frozen=True)
class Who:
    """The parent behind an update: their actor for the store, name and language."""

    actor: Actor
    first_name: str
    language: str


async def who(update: Update, context: PortalContext) -> Who | None:
    """The linked guardian of this update, or None (after telling the user how to link)."""
    user = update.effective_user
    if user is None:
        return None
    # A context lives for one handler call: a step asking twice reads the guardian once.
    known: Who | None = context.__dict__.get(WHO_KEY)
    if known is not None:
        return known
    profile = await context.portal.families.profile(user.id)
    if profile is None:
        await reply(update, text("not_linked", language_of(user.language_code)))
        return None
    parent = Who(profile.actor, profile.first_name, profile.language.value)
    context.__dict__[WHO_KEY] = parent
    return parent


async def adopt_telegram_language(update: Update, context: PortalContext) -> str:
    """At linking, speak the language the phone speaks when we know it; French otherwise."""
    user = update.effective_user
    profile = await context.portal.families.profile(user.id)
    assert profile is not None
    code = (user.language_code or "").lower()
    if code[:2] in ("fr", "en") and code[:2] != profile.language.value:
        await context.portal.families.set_language(profile.actor, Language(code[:2]))
        return code[:2]
    return profile.language.value


def guess_language(update: Update) -> str:
    """The language to speak before we know the guardian: Telegram's, else French."""
    user = update.effective_user
    return language_of(user.language_code if user else None)


def abort_row(language: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text("btn.abort", language), callback_data=ABORT)]


async def open_family_flow(
    update: Update, context: PortalContext, draft_key: str
) -> tuple[Who, list[ChildView], dict[str, Any]] | None:
    """Start a flow about the family's children: a fresh draft that names them.

    None when the user is not linked (they were told how to link).
    """
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return None
    children = await context.portal.families.children(parent.actor)
    draft: dict[str, Any] = {"names": {str(child.id): child.first_name for child in children}}
    draft.update(offered_to_flow(update, context))
    context.user_data[draft_key] = draft
    context.user_data["language"] = parent.language
    return parent, children, draft


def take_offered(update: Update, context: PortalContext, key: str) -> dict[str, Any] | None:
    """What the tapped message kept under `key` for the flow it opens; taken once."""
    kept = context.user_data.pop(key, None)
    query = update.callback_query
    if not isinstance(kept, dict) or query is None or query.message is None:
        return None
    return kept if kept.get("message_id") == query.message.message_id else None


def offered_to_flow(update: Update, context: PortalContext) -> dict[str, Any]:
    """For a flow opened from an answer at the menu: the days the parent's phrase named
    ("carried_days", ISO dates) and the file they sent ("held_file": file id and name)."""
    found: dict[str, Any] = {}
    carried = take_offered(update, context, CARRIED)
    if carried is not None and update.callback_query is not None:
        days = carried.get("days", {}).get(update.callback_query.data, [])
        if days:
            found["carried_days"] = days
    held = take_offered(update, context, HELD_FILE)
    if held is not None:
        found["held_file"] = {"file_id": held["file_id"], "name": held.get("name")}
    return found


async def start_children_flow(
    update: Update,
    context: PortalContext,
    draft_key: str,
    *,
    button_prefix: str,
    choose_state: str,
    next_step: Callable[[Update, PortalContext], Awaitable[str | int]],
) -> str | int:
    """Open a flow about one child or all: ask which (buttons `button_prefix` + id or "all",
    then the flow waits in `choose_state`), or go on to `next_step` for an only child."""
    opened = await open_family_flow(update, context, draft_key)
    if opened is None:
        return ConversationHandler.END
    parent, children, draft = opened
    if not children:
        await show(update, text("pick.no_child", parent.language), menu_button(parent.language))
        return ConversationHandler.END
    if len(children) == 1:
        draft["children"] = [children[0].id]
        return await next_step(update, context)
    keyboard = children_keyboard(children, parent.language, button_prefix)
    await show_step(update, draft, text("pick.child", parent.language), keyboard)
    return choose_state


def pick_children(draft: dict[str, Any], choice: str) -> bool:
    """Record the tapped child (an id, or "all") among the draft's; False for any other."""
    names = draft.get("names", {})
    if choice == "all":
        draft["children"] = sorted(int(child_id) for child_id in names)
    elif choice in names:
        draft["children"] = [int(choice)]
    else:
        return False
    return True


def children_names(draft: dict[str, Any]) -> str:
    """The first names of the draft's picked children, as one line."""
    names = draft.get("names", {})
    return ", ".join(names.get(str(child_id), "") for child_id in draft.get("children", []))


def children_keyboard(
    children: Sequence[ChildView], language: str, prefix: str
) -> InlineKeyboardMarkup:
    """A button per child, "all my children" (`<prefix>all`), and abort."""
    rows = [
        [InlineKeyboardButton(child.first_name, callback_data=f"{prefix}{child.id}")]
        for child in children
    ]
    rows.append(
        [InlineKeyboardButton(text("btn.all_children", language), callback_data=f"{prefix}all")]
    )
    rows.append(abort_row(language))
    return InlineKeyboardMarkup(rows)


def menu_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("btn.book", language), callback_data=MENU_BOOK)],
            [InlineKeyboardButton(text("btn.cancel_days", language), callback_data=MENU_CANCEL)],
            [InlineKeyboardButton(text("btn.balance", language), callback_data=MENU_BALANCE)],
            [InlineKeyboardButton(text("btn.absence", language), callback_data=MENU_ABSENCE)],
            [
                InlineKeyboardButton(
                    text("btn.my_absences", language), callback_data=MENU_MY_ABSENCES
                )
            ],
            [InlineKeyboardButton(text("btn.documents", language), callback_data=MENU_DOCUMENTS)],
            [InlineKeyboardButton(text("btn.messages", language), callback_data=MENU_MESSAGES)],
            [InlineKeyboardButton(text("btn.unlink", language), callback_data=MENU_UNLINK)],
        ]
    )


def menu_button(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)]]
    )


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


async def show_step(
    update: Update, draft: dict[str, Any], message: str, keyboard: InlineKeyboardMarkup
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


async def is_live(update: Update, context: PortalContext, draft: dict[str, Any]) -> bool:
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
    language = context.user_data.get("language") or guess_language(update)
    context.user_data.pop(draft_key, None)
    await reply(update, text("timed_out", language), menu_button(language))


async def stale_in_flow(update: Update, context: PortalContext) -> None:
    """A button of an older message tapped during a flow: say so, keep the flow."""
    language = context.user_data.get("language") or guess_language(update)
    await answer(update, text("stale", language).split(".")[0])


def flow(
    name: str,
    entry_points: list[BaseHandler[Update, Any, Any]],
    states: dict[object, list[BaseHandler[Update, Any, Any]]],
    timeout_seconds: float,
    *,
    stale_prefix: str | None,
    stray_input: filters.BaseFilter = filters.TEXT & ~filters.COMMAND,
) -> Flow:
    """A flow of the product, wired the same way everywhere; its draft is `user_data[name]`.

    Its step is saved in the shared store (`persistent`); `/abandon`, the abort button or
    opening another flow closes it (`handlers.flow_desk`); left unanswered `timeout_seconds`,
    it ends with a friendly word; a button of one of its older messages (`stale_prefix`) is
    answered as stale; input where a tap is expected is pointed at the buttons.
    """
    fallbacks: list[BaseHandler[Update, Any, Any]] = []
    if stale_prefix is not None:
        fallbacks += [
            CallbackQueryHandler(stale_in_flow, pattern=f"^{re.escape(stale_prefix)}"),
            MessageHandler(stray_input, use_buttons),
        ]
    on_timeout = functools.partial(timed_out, draft_key=name)
    return Flow(
        name,
        name,
        entry_points,
        {**states, ConversationHandler.TIMEOUT: [TypeHandler(Update, on_timeout)]},
        fallbacks,
        timeout_seconds,
    )


async def use_buttons(update: Update, context: PortalContext) -> None:
    """Text typed where a tap was expected."""
    language = context.user_data.get("language") or guess_language(update)
    await reply(update, text("use_buttons", language))
