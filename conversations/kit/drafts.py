"""The flows' typed drafts (`Drafts`), the checks every tapped step repeats (`Drafts.tap`), and
the opening of a flow about the family's children."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar, cast, overload

from telegram import CallbackQuery, Update
from telegram.ext import ConversationHandler

from conversations.kit.context import PortalContext
from conversations.kit.language import chat_language, keep_language, saved
from conversations.kit.live import (
    FlowDraft,
    answer,
    answer_quietly,
    is_live,
    reply,
    show,
    show_step,
    stale_in_flow,
)
from conversations.kit.menu import children_keyboard, menu_button
from conversations.kit.texts import text
from conversations.kit.who import Who, who, who_and_children
from store.families import ChildView

State = str | int
"""A flow's next step: one of its states, or `ConversationHandler.END`."""


# Kept between a message sent at the menu and the flow its answer offers (`handlers.inputs`):
# the days a typed phrase named (`CarriedDays`), and a file sent outside any flow (`KeptFile`).
CARRIED = "carried"
HELD_FILE = "held_file"


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


class CarriedDays(TypedDict):
    """Under `CARRIED`: the days a phrase typed at the menu named, for the flows offered in
    answer — the answer's message id, and per offered button (its callback data) ISO dates."""

    message_id: int
    days: dict[str, list[str]]


class KeptFile(TypedDict):
    """Under `HELD_FILE`: a file sent at the menu, kept until a flow is picked in the answer
    (its message id) — the file as Telegram holds it."""

    message_id: int
    file_id: str
    name: str | None


def carry_days(context: PortalContext, message_id: int, days: dict[str, list[str]]) -> None:
    """Keep the days a phrase named for the flows its answer offers (forget any, if none)."""
    if days:
        saved(context)[CARRIED] = CarriedDays(message_id=message_id, days=days)
    else:
        saved(context).pop(CARRIED, None)


def keep_file(context: PortalContext, message_id: int, file_id: str, name: str | None) -> None:
    """Keep a file sent at the menu for the flow the parent picks in the answer."""
    saved(context)[HELD_FILE] = KeptFile(message_id=message_id, file_id=file_id, name=name)


def forget_file(context: PortalContext) -> None:
    """Forget the file kept at the menu."""
    saved(context).pop(HELD_FILE, None)


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


async def open_family_flow(
    update: Update, context: PortalContext, drafts: Drafts[F]
) -> tuple[Who, list[ChildView], F] | None:
    """Start a flow about the family's children: a fresh draft that names them.

    None when the user is not linked (they were told how to link).
    """
    await answer(update)
    found = await who_and_children(update, context)
    if found is None:
        return None
    parent, children = found
    first: FamilyDraft = {"names": {str(child.id): child.first_name for child in children}}
    first.update(offered_to_flow(update, context))
    draft = drafts.start(context, cast(F, first))
    keep_language(context, parent.language)
    return parent, children, draft


def _take_offered(update: Update, context: PortalContext, key: str) -> dict[str, Any] | None:
    """What the tapped message kept under `key` for the flow it opens; taken once."""
    kept = saved(context).pop(key, None)
    query = update.callback_query
    if not isinstance(kept, dict) or query is None or query.message is None:
        return None
    return kept if kept.get("message_id") == query.message.message_id else None


def take_carried(update: Update, context: PortalContext) -> CarriedDays | None:
    """The days the tapped message carried (`CARRIED`); taken once."""
    return cast("CarriedDays | None", _take_offered(update, context, CARRIED))


def take_kept_file(update: Update, context: PortalContext) -> KeptFile | None:
    """The file kept with the tapped message (`HELD_FILE`); taken once."""
    return cast("KeptFile | None", _take_offered(update, context, HELD_FILE))


def offered_to_flow(update: Update, context: PortalContext) -> FamilyDraft:
    """For a flow opened from an answer at the menu: the days the parent's phrase named
    ("carried_days", ISO dates) and the file they sent ("held_file": file id and name)."""
    found: FamilyDraft = {}
    carried = take_carried(update, context)
    if carried is not None and update.callback_query is not None:
        days = carried.get("days", {}).get(update.callback_query.data or "", [])
        if days:
            found["carried_days"] = days
    kept = take_kept_file(update, context)
    if kept is not None:
        found["held_file"] = {"file_id": kept["file_id"], "name": kept.get("name")}
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


async def children_tapped(
    update: Update,
    context: PortalContext,
    tap: Tap[F, str],
    *,
    stay: State,
    next_step: Callable[[Update, PortalContext], Awaitable[State]],
) -> State:
    """A child (or "all") tapped in the children picker: recorded, then on to `next_step`; a
    child not the family's is refused, and the flow stays in `stay`."""
    if not pick_children(tap.draft, tap.value):
        await reply(update, text("forbidden", tap.language))
        return stay
    return await next_step(update, context)


def children_names(draft: FamilyDraft) -> str:
    """The first names of the draft's picked children, as one line."""
    names = draft.get("names", {})
    return ", ".join(names.get(str(child_id), "") for child_id in draft.get("children", []))
