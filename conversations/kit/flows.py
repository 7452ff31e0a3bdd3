"""A flow of the product: a python-telegram-bot conversation that can be closed from outside.

A parent has at most one flow open at a time (see `handlers.flow_desk`): opening another one,
or `/abandon`, closes the open flow — its step, its timeout and its draft — before the new one
starts, so typed text and files always reach the flow the parent opened last. `flow()` wires
every flow of the product the same way.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from conversations.kit.drafts import Drafts, StepHandler
from conversations.kit.live import stale_in_flow, timed_out, use_buttons


class Flow(ConversationHandler[Any]):
    """A conversation whose draft lives in `user_data[draft_key]`, and that can be closed."""

    def __init__(
        self,
        name: str,
        draft_key: str,
        entry_points: list[BaseHandler[Update, Any, Any]],
        states: dict[object, list[BaseHandler[Update, Any, Any]]],
        fallbacks: list[BaseHandler[Update, Any, Any]],
        timeout_seconds: float,
    ) -> None:
        super().__init__(
            name=name,
            persistent=True,
            entry_points=entry_points,
            states=states,
            fallbacks=fallbacks,
            conversation_timeout=timeout_seconds,
            allow_reentry=True,
        )
        self.draft_key = draft_key

    def is_open(self, update: Update) -> bool:
        """Whether this flow waits for the next step of the update's parent."""
        try:
            key = self._get_key(update)
        except RuntimeError:  # an update with no chat or no user
            return False
        return key in self._conversations

    def opens(self, update: Update) -> bool:
        """Whether `update` starts this flow (one of its entry points)."""
        return any(entry.check_update(update) not in (None, False) for entry in self.entry_points)

    async def close(self, update: Update) -> None:
        """End the parent's conversation now: its step and its pending timeout."""
        key = self._get_key(update)
        async with self._timeout_jobs_lock:
            job = self.timeout_jobs.pop(key, None)
        if job is not None:
            job.schedule_removal()
        self._update_state(self.END, key)


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


def opened_by(
    command: str, start: StepHandler, buttons: str
) -> list[BaseHandler[Update, Any, Any]]:
    """A flow's entry points: `/command`, and a tap on a button whose data is `buttons` (a
    regular expression, matched whole)."""
    return [
        CommandHandler(command, start),
        CallbackQueryHandler(start, pattern=rf"^(?:{buttons})\Z"),
    ]
