"""What every handler needs: who is talking, in which language, and the menu; and the flows'
kit: their typed drafts (`Drafts`), the checks every tapped step repeats (`Drafts.tap`), live
messages and pickers."""

from __future__ import annotations

import contextlib
import functools
import html
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, TypedDict, TypeVar, cast, overload

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from conversations.kit.callback_data import record_id
from conversations.kit.context import PortalContext
from conversations.kit.flows import Flow
from conversations.kit.texts import language_of, text
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
# The buttons that open a flow with a file already received outside of it (`handlers.inputs`).
FILE_AS_CERTIFICATE = "file:certificate"
FILE_AS_DOCUMENT = "file:document"
FILE_DROP = "file:drop"
# A tag of catalog text (what `text()` escapes never looks like one).
_TAG = re.compile(r"<[^>]*>")


# Kept between a message sent at the menu and the flow its answer offers (`handlers.inputs`):
# the days a typed phrase named, and a file sent outside any flow.
CARRIED = "carried"
HELD_FILE = "held_file"

WHO_KEY = "_who"
# Where a flow's draft remembers its current message: buttons of older ones are stale.
LIVE_MESSAGE: Final = "message_id"
# Where the parent's chat state keeps the language the flows speak (set when one opens).
LANGUAGE: Final = "language"

State = str | int
"""A flow's next step: one of its states, or `ConversationHandler.END`."""


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


# The parent's chat state and the flows' drafts ------------------------------------------------
#
# `user_data` is the parent's chat state, saved as JSON in the store's `chat_state` after every
# update (`bot.persistence`): the language the flows speak, each open flow's draft under the
# flow's name, and what the menu kept for the flow it offers (`CARRIED`, `HELD_FILE`). A draft
# is a `TypedDict`: the very dict that is saved, so a draft written before a restart loads as
# it was, and mypy knows each of its keys.


class HeldFile(TypedDict):
    """A file received in the chat, kept as Telegram holds it (downloaded when it is used)."""

    file_id: str
    name: str | None


class FlowDraft(TypedDict, total=False):
    """What every flow's draft may hold: its live message (`LIVE_MESSAGE`)."""

    message_id: int


class FamilyDraft(FlowDraft, total=False):
    """A flow about the family's children: their first names by id (a string, as JSON keys
    are), the picked ones, and what an answer at the menu offered (`offered_to_flow`)."""

    names: dict[str, str]
    children: list[int]
    carried_days: list[str]
    held_file: HeldFile


D = TypeVar("D", bound=FlowDraft)
F = TypeVar("F", bound=FamilyDraft)
T = TypeVar("T")


def saved(context: PortalContext) -> dict[str, Any]:
    """The parent's chat state (`user_data`); every update a flow or the menu takes has one."""
    data = context.user_data
    if data is None:
        raise RuntimeError("an update without a user has no chat state")
    return data


def chat_language(context: PortalContext, update: Update | None = None) -> str:
    """The language the flows speak to this parent (kept when a flow opened); else Telegram's
    for `update`, else French."""
    kept = (context.user_data or {}).get(LANGUAGE)
    if kept:
        return str(kept)
    return guess_language(update) if update is not None else "fr"


def keep_language(context: PortalContext, language: str) -> None:
    """Speak `language` in the flows from now on."""
    saved(context)[LANGUAGE] = language


class Drafts(Generic[D]):
    """Where a flow keeps its typed draft: `user_data[key]`."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, context: PortalContext) -> D:
        """The flow's draft (an empty one, kept, when there is none)."""
        return cast(D, saved(context).setdefault(self.key, {}))

    def peek(self, context: PortalContext) -> D:
        """The flow's draft as it is, without keeping an empty one when there is none."""
        return cast(D, (context.user_data or {}).get(self.key, {}))

    def exists(self, context: PortalContext) -> bool:
        """Whether the flow has a draft (opening another flow or an abort drops it)."""
        return self.key in (context.user_data or {})

    def start(self, context: PortalContext, draft: D) -> D:
        """Make `draft` the flow's draft, in place of any other."""
        saved(context)[self.key] = draft
        return draft

    def drop(self, context: PortalContext) -> None:
        """Forget the flow's draft."""
        saved(context).pop(self.key, None)

    @overload
    def tap(
        self,
        stay: State,
        *,
        read: None = None,
        needs: Callable[[D], bool] | None = None,
        gone: State | Lost | None = None,
        older: Older[D] | None = None,
        live: bool = True,
        answer_first: bool | Literal["quietly"] = True,
        linked: bool = False,
    ) -> Callable[[TapStep[D, str]], StepHandler]: ...

    @overload
    def tap(
        self,
        stay: State,
        *,
        read: Callable[[str], T | None],
        needs: Callable[[D], bool] | None = None,
        gone: State | Lost | None = None,
        older: Older[D] | None = None,
        live: bool = True,
        answer_first: bool | Literal["quietly"] = True,
        linked: bool = False,
    ) -> Callable[[TapStep[D, T]], StepHandler]: ...

    def tap(
        self,
        stay: State,
        *,
        read: Callable[[str], Any] | None = None,
        needs: Callable[[D], bool] | None = None,
        gone: State | Lost | None = None,
        older: Older[D] | None = None,
        live: bool = True,
        answer_first: bool | Literal["quietly"] = True,
        linked: bool = False,
    ) -> Callable[[TapStep[D, Any]], StepHandler]:
        """A step taking a tap on one of the flow's buttons, after the checks steps share, in
        this order (a tap that fails one is answered as stale, and the flow stays in `stay`):

        - `older`: a recap's confirm: one of an older recap is answered with what it gave, and
          the flow stays (`conversations.receipts.Replays.older`);
        - `needs`: the draft holds what the step works on (another flow or an abort may have
          dropped it); else the flow goes to `gone`, if given (a state, or a step that
          answers the update instead);
        - `live`: the button is on the flow's current message (`is_live`);
        - `read`: the button's data reads as a value (`conversations.callbacks`), given to the
          step as `tap.value` (the data itself without `read`);
        - `answer_first`: the tap is answered (the phone's spinner stops) before the step;
          "quietly": a failure to do so stops nothing (a confirm goes on to the store);
        - `linked`: the parent is linked (`tap.parent`); else they were told how to link, and
          the flow ends.
        """

        def decorate(step: TapStep[D, Any]) -> StepHandler:
            @functools.wraps(step)
            async def checked(update: Update, context: PortalContext) -> State | None:
                query = update.callback_query
                if query is None:
                    raise TypeError(f"{step.__name__} takes taps only")
                if older is not None and await older(update, context, self(context)):
                    return None
                if needs is not None and not needs(self.peek(context)):
                    if callable(gone):
                        return await gone(update, context)
                    await stale_in_flow(update, context)
                    return stay if gone is None else gone
                draft = self(context)
                if live and not await is_live(update, context, draft):
                    return stay
                data = query.data or ""
                value = data if read is None else read(data)
                if value is None:
                    await stale_in_flow(update, context)
                    return stay
                if answer_first == "quietly":
                    await answer_quietly(update)
                elif answer_first:
                    await answer(update)
                parent = None
                if linked:
                    parent = await who(update, context)
                    if parent is None:
                        return ConversationHandler.END
                tap = Tap(query, value, draft, chat_language(context), parent)
                return await step(update, context, tap)

            return checked

        return decorate


@dataclass(frozen=True)
class Tap(Generic[D, T]):
    """A tap that passed a step's checks (`Drafts.tap`): the tapped button's query and value,
    the flow's draft, the language the flow speaks, and the parent for a `linked` step."""

    query: CallbackQuery
    value: T
    draft: D
    language: str
    linked_parent: Who | None = None

    @property
    def parent(self) -> Who:
        """The linked parent (for a step declared `linked`)."""
        if self.linked_parent is None:
            raise RuntimeError("a step reading the parent is declared linked=True")
        return self.linked_parent


Older = Callable[[Update, PortalContext, D], Awaitable[bool]]
"""Whether a tap is a confirm of an older recap than the draft's, answered (see `Drafts.tap`)."""
Lost = Callable[[Update, PortalContext], Awaitable[State]]
"""What a flow does with an update whose draft is gone (see `Drafts.tap`)."""
TapStep = Callable[[Update, PortalContext, Tap[D, T]], Awaitable[State | None]]
"""A step of a flow that takes a checked tap (see `Drafts.tap`)."""
StepHandler = Callable[[Update, PortalContext], Coroutine[Any, Any, State | None]]
"""A step as python-telegram-bot calls it."""


async def tapped_record(
    update: Update, context: PortalContext, prefix: str
) -> tuple[Who, int] | None:
    """The linked parent and the record id after `prefix` on the tapped button (its handler's
    pattern, `with_record_id`, lets no other through); None, the tap answered, for a parent
    not linked (told how to link). Whether the record is the family's is the store's to say."""
    parent = await who(update, context)
    query = update.callback_query
    if parent is None or query is None:
        await answer(update)
        return None
    tapped = record_id(query.data, prefix)
    assert tapped is not None, "a handler of tapped records has a `with_record_id` pattern"
    return parent, tapped


def typed_text(update: Update) -> str:
    """The text of the message a step received ("" for none)."""
    message = update.effective_message
    return (message.text or "") if message is not None else ""


async def adopt_telegram_language(update: Update, context: PortalContext) -> str:
    """At linking, speak the language the phone speaks when we know it; French otherwise."""
    user = update.effective_user
    assert user is not None  # a linking message or tap has a sender
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
    update: Update, context: PortalContext, drafts: Drafts[F]
) -> tuple[Who, list[ChildView], F] | None:
    """Start a flow about the family's children: a fresh draft that names them.

    None when the user is not linked (they were told how to link).
    """
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return None
    children = await context.portal.families.children(parent.actor)
    first: FamilyDraft = {"names": {str(child.id): child.first_name for child in children}}
    first.update(offered_to_flow(update, context))
    draft = drafts.start(context, cast(F, first))
    keep_language(context, parent.language)
    return parent, children, draft


def take_offered(update: Update, context: PortalContext, key: str) -> dict[str, Any] | None:
    """What the tapped message kept under `key` for the flow it opens; taken once."""
    kept = saved(context).pop(key, None)
    query = update.callback_query
    if not isinstance(kept, dict) or query is None or query.message is None:
        return None
    return kept if kept.get("message_id") == query.message.message_id else None


def offered_to_flow(update: Update, context: PortalContext) -> FamilyDraft:
    """For a flow opened from an answer at the menu: the days the parent's phrase named
    ("carried_days", ISO dates) and the file they sent ("held_file": file id and name)."""
    found: FamilyDraft = {}
    carried = take_offered(update, context, CARRIED)
    if carried is not None and update.callback_query is not None:
        days = carried.get("days", {}).get(update.callback_query.data or "", [])
        if days:
            found["carried_days"] = days
    held = take_offered(update, context, HELD_FILE)
    if held is not None:
        found["held_file"] = {"file_id": held["file_id"], "name": held.get("name")}
    return found


async def start_children_flow(
    update: Update,
    context: PortalContext,
    drafts: Drafts[F],
    *,
    button_prefix: str,
    choose_state: str,
    next_step: Callable[[Update, PortalContext], Awaitable[State]],
) -> State:
    """Open a flow about one child or all: ask which (buttons `button_prefix` + id or "all",
    then the flow waits in `choose_state`), or go on to `next_step` for an only child."""
    opened = await open_family_flow(update, context, drafts)
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


def pick_children(draft: FamilyDraft, choice: str) -> bool:
    """Record the tapped child (an id, or "all") among the draft's; False for any other."""
    names = draft.get("names", {})
    if choice == "all":
        draft["children"] = sorted(int(child_id) for child_id in names)
    elif choice in names:
        draft["children"] = [int(choice)]
    else:
        return False
    return True


def children_names(draft: FamilyDraft) -> str:
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


def flow(
    drafts: Drafts[Any],
    entry_points: list[BaseHandler[Update, Any, Any]],
    states: dict[object, list[BaseHandler[Update, Any, Any]]],
    timeout_seconds: float,
    *,
    stale_prefix: str | None,
    stray_input: filters.BaseFilter = filters.TEXT & ~filters.COMMAND,
) -> Flow:
    """A flow of the product, wired the same way everywhere; named as its draft (`drafts`).

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
    name = drafts.key
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
    language = chat_language(context, update)
    await reply(update, text("use_buttons", language))
