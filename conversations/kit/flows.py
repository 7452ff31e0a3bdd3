"""A flow of the product: a python-telegram-bot conversation that can be closed from outside.

A parent has at most one flow open at a time (see `handlers.flow_desk`): opening another one,
or `/abandon`, closes the open flow — its step, its timeout and its draft — before the new one
starts, so typed text and files always reach the flow the parent opened last. `flow()` wires
every flow of the product the same way.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    Job,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.ext._utils.trackingdict import TrackingDict
from telegram.ext._utils.types import ConversationKey

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
        # The step each pending timeout was set for, by conversation key.
        self._timed_steps: dict[ConversationKey, tuple[Job[Any], object]] = {}

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

    def saved_key(self, update: Update) -> str | None:
        """The key under which the update's parent's step is saved (None: no chat or user)."""
        try:
            return json.dumps(list(self._get_key(update)))
        except RuntimeError:
            return None

    def take_saved_step(self, update: Update, step: object | None) -> None:
        """Make the parent's step the one the store holds (None: no flow open), read again
        before each update: another worker may have moved the flow on since."""
        key = self._get_key(update)
        steps = self._conversations
        plain = steps.data if isinstance(steps, TrackingDict) else steps
        # Not a write of this update: nothing to save back unless a handler changes it.
        if step is None or step == self.END:
            plain.pop(key, None)
        else:
            plain[key] = step

    def _schedule_job(
        self,
        new_state: object,
        application: Any,
        update: Update,
        context: Any,
        conversation_key: ConversationKey,
    ) -> None:
        super()._schedule_job(new_state, application, update, context, conversation_key)
        job = self.timeout_jobs.get(conversation_key)
        if new_state == self.END or job is None:
            self._timed_steps.pop(conversation_key, None)
        else:
            self._timed_steps[conversation_key] = (job, new_state)

    async def _trigger_timeout(self, context: Any) -> None:
        """A flow left unanswered ends, in the parent's turn and only if no worker moved it on
        since: its step, read again from the store, must still be the one this timeout was
        set for."""
        job = context.job
        key = job.data.conversation_key
        update = job.data.update
        application = job.data.application
        scheduled = self._timed_steps.get(key)
        if scheduled is None or scheduled[0] is not job:
            return
        del self._timed_steps[key]
        turn = getattr(application.update_processor, "person_turn", None)
        if turn is None:
            await super()._trigger_timeout(context)
            return
        async with turn(update):
            if self._conversations.get(key) != scheduled[1]:
                async with self._timeout_jobs_lock:
                    if self.timeout_jobs.get(key) is job:
                        del self.timeout_jobs[key]
                return
            await super()._trigger_timeout(context)
            if update.effective_user is not None:
                application.mark_data_for_update_persistence(user_ids=update.effective_user.id)
            await application.update_persistence()

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
