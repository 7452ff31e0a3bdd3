"""How a confirm's outcome reaches the parent, whatever Telegram does.

Once the store committed what a confirm asked for, its outcome is told (`tell`): the tapped
message is edited to show it — retried, since an edit is idempotent (the same edit again is
"not modified") —, else a new message says it, else the outbox sends it, retried with backoff
until it is delivered. No Telegram error reaches the flow: it moves on with the commit.

A confirm tapped again — its button still on screen after an edit failed, or replayed after a
restart lost the chat's state — is answered with the outcome the store recorded under the
recap's key (`store.idempotency`), said to be recorded already (`replay`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ConversationHandler

from conversations.kit.context import PortalContext
from conversations.kit.drafts import Drafts, State
from conversations.kit.formatting import day_label
from conversations.kit.live import answer_quietly, stale_button, stale_in_flow
from conversations.kit.menu import abort_row, menu_button
from conversations.kit.notices import Notice, renders
from conversations.kit.texts import text
from conversations.kit.who import Who, who
from store.idempotency import OUTCOME_MESSAGE, Recorded, decode, queue_outcome_message, recall

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)

# Tries of the edit that shows an outcome, the pause after a failed one (times the try's
# number), and the longest wait Telegram may ask for (longer: the outbox waits instead).
EDIT_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.3
LONGEST_WAIT_SECONDS = 3.0

# Builds the text and buttons of a confirm's recorded outcome, for a tap on it again; None when
# nothing was recorded under the key for this flow.
Replayer = Callable[
    [Update, PortalContext, Who, str], Awaitable[tuple[str, InlineKeyboardMarkup] | None]
]


async def tell(
    update: Update,
    context: PortalContext,
    message: str,
    keyboard: InlineKeyboardMarkup | None,
    *,
    dedup: str,
) -> str:
    """Show a committed confirm's outcome: edit the tapped message (retried), else send a new
    one, else queue it in the outbox under `dedup`. Returns how: "edited", "sent", "queued",
    or "blocked" (the parent blocked the bot: nothing can reach them). Never raises a
    Telegram error."""
    query = update.callback_query
    if query is not None and query.message is not None:
        for attempt in range(1, EDIT_ATTEMPTS + 1):
            try:
                await query.edit_message_text(
                    message, parse_mode=ParseMode.HTML, reply_markup=keyboard
                )
                return "edited"
            except BadRequest as error:
                if "not modified" in str(error):
                    return "edited"  # a try that timed out went through after all
                break  # gone, too old, not a text: a new message says it
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                if wait > LONGEST_WAIT_SECONDS:
                    break
                await asyncio.sleep(wait)
            except Forbidden:
                return "blocked"
            except NetworkError as error:  # timeouts, 5xx: the same edit again
                logger.info("showing an outcome failed (try %d): %s", attempt, error)
                if attempt < EDIT_ATTEMPTS:
                    await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)
            except TelegramError as error:
                logger.info("showing an outcome failed: %s", type(error).__name__)
                break
    chat = update.effective_chat
    if chat is None:
        return "blocked"
    try:
        await chat.send_message(message, parse_mode=ParseMode.HTML, reply_markup=keyboard)
        return "sent"
    except Forbidden:
        return "blocked"
    except TelegramError as error:
        logger.info("sending an outcome failed, the outbox takes it: %s", type(error).__name__)
    rows = keyboard.inline_keyboard if keyboard is not None else ()
    # The product's buttons carry strings (no arbitrary callback data).
    buttons = [[(button.text, str(button.callback_data or "")) for button in row] for row in rows]
    await queue_outcome_message(context.portal.sessions, chat.id, dedup, message, buttons)
    return "queued"


async def replay(
    update: Update, context: PortalContext, key: str | None, replayer: Replayer
) -> bool:
    """A confirm tapped again: answer with the outcome recorded under `key` ("already
    recorded" on the button too, for a message that shows it already). False when no confirm
    of this flow was carried out with it (the caller answers as for a stale button)."""
    if key is None:
        return False
    parent = await who(update, context)
    if parent is None:
        return True  # told how to link
    shown = await replayer(update, context, parent, key)
    if shown is None:
        return False
    await answer_quietly(update, text("outcome.replayed", parent.language))
    message, keyboard = shown
    query_id = update.callback_query.id if update.callback_query else ""
    await tell(update, context, message, keyboard, dedup=f"{key}:again:{query_id}")
    return True


@dataclass(frozen=True)
class Replays:
    """A flow's answers to a recap's confirm tapped again, its key read from the button's data
    by `read_key` and its outcome told by `replayer`."""

    read_key: Callable[[str | None], str | None]
    replayer: Replayer

    async def after_flow(self, update: Update, context: PortalContext) -> None:
        """After the flow ended: what it gave, or a stale button."""
        if not await replay(update, context, self.read_key(_data(update)), self.replayer):
            await stale_button(update, context)

    async def in_flow(self, update: Update, context: PortalContext) -> None:
        """During a flow: what it gave, or a stale button; the flow stays."""
        if not await replay(update, context, self.read_key(_data(update)), self.replayer):
            await stale_in_flow(update, context)

    async def older(
        self, update: Update, context: PortalContext, draft: Mapping[str, object]
    ) -> bool:
        """Whether the tapped confirm is an older recap's than the draft's (it carries another
        key than the draft's "confirm_key"): then it is answered as `in_flow`."""
        key = self.read_key(_data(update))
        if key is None or key == draft.get("confirm_key"):
            return False
        await self.in_flow(update, context)
        return True


def _data(update: Update) -> str | None:
    return update.callback_query.data if update.callback_query else None


async def recalled(context: PortalContext, parent: Who, key: str, action: str) -> Recorded | None:
    """What the confirm with `key` gave, if it was this `action` for the parent's family."""
    done = await recall(context.portal.sessions, parent.actor, key)
    return done if done is not None and done.action == action else None


async def child_names(context: PortalContext, parent: Who) -> dict[str, str]:
    """The family's children's first names by id (as drafts keep them), for a replay."""
    children = await context.portal.families.children(parent.actor)
    return {str(child.id): child.first_name for child in children}


class DayOutcome(Protocol):
    """What a confirm gave for one child's day (a booking's or a cancellation's outcome)."""

    @property
    def day(self) -> date: ...

    @property
    def child_id(self) -> int | None: ...

    @property
    def replayed(self) -> bool: ...


R = TypeVar("R", bound=DayOutcome)


def outcome_title(outcomes: Sequence[DayOutcome], language: str) -> list[str]:
    """The first line of a confirm's outcome ("already recorded" for a confirm tapped again)."""
    replayed = any(outcome.replayed for outcome in outcomes)
    return [text("outcome.replayed" if replayed else "outcome.title", language)]


def day_of_child(outcome: DayOutcome, names: dict[str, str], language: str) -> dict[str, str]:
    """The day and the child's first name an outcome line names (`day`, `child`)."""
    return {
        "day": day_label(outcome.day, language),
        "child": names.get(str(outcome.child_id), ""),
    }


def recap_keyboard(
    language: str, *, confirm: str, change: str, key: str | None
) -> InlineKeyboardMarkup:
    """A recap's buttons: confirm (`confirm`:`key`; none without a key: nothing to confirm),
    ◀ change (`change`), and abort."""
    actions = [InlineKeyboardButton(text("btn.change", language), callback_data=change)]
    if key is not None:
        actions.insert(
            0,
            InlineKeyboardButton(text("btn.confirm", language), callback_data=f"{confirm}:{key}"),
        )
    return InlineKeyboardMarkup([actions, abort_row(language)])


async def end_with_outcome(
    update: Update,
    context: PortalContext,
    drafts: Drafts[Any],
    parent: Who,
    message: str,
    *,
    key: str,
) -> State:
    """End a flow with its committed confirm's outcome and the menu button (`tell`, under the
    recap's `key`); its draft goes."""
    await tell(update, context, message, menu_button(parent.language), dedup=key)
    drafts.drop(context)
    return ConversationHandler.END


def replays_outcomes(
    action: str,
    kind: type[R],
    render: Callable[[dict[str, str], list[R], str], str],
) -> Replayer:
    """A flow's `Replayer` for a confirm recorded as `action`: its outcomes (`kind`), rendered
    by `render` with the children's names, and the menu button."""

    async def replayed(
        update: Update, context: PortalContext, parent: Who, key: str
    ) -> tuple[str, InlineKeyboardMarkup] | None:
        done = await recalled(context, parent, key, action)
        if done is None:
            return None
        outcomes = decode(kind, done.outcome, replayed=True)
        names = await child_names(context, parent)
        return render(names, outcomes, parent.language), menu_button(parent.language)

    return replayed


@renders(OUTCOME_MESSAGE)
async def _outcome_notice(portal: Portal, payload: dict[str, Any], language: str) -> Notice:
    """An outcome the chat could not show, as it was written then (in the parent's language)."""
    rows = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in row]
        for row in payload.get("buttons", [])
    ]
    return Notice(payload["text"], InlineKeyboardMarkup(rows) if rows else None)


def _seconds(wait: float | timedelta) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
