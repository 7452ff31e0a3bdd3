"""Updates of different people side by side, each person's updates one after the other, in
this process and across every worker.

python-telegram-bot runs one update at a time by default: every parent waits for the network
and database waits of everybody before them. Running updates concurrently lets those waits
overlap, but a conversation must see one person's taps in the order they were made — two taps
of the same parent processed at once would race on the same draft. This processor gives each
person a turn:
- in this process, one lock per person (per chat when the update has no user), taken in
  arrival order;
- across processes, the person's lock in the store (`store.person_locks`: PostgreSQL's
  advisory lock; nothing more on SQLite, one process);
- then, before the update runs, the person's state is read again from the store
  (`before_update`: their drafts and flow steps), since another worker may have handled their
  previous update; after it, what changed is saved (`after_update`), still in their turn.
A flow's timeout takes the same turn (`person_turn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot import metrics
from store.person_locks import PersonLocks

BeforeUpdate = Callable[[Update], Awaitable[None]]
# How the update being processed ended, for the metrics: set by whoever knows better than
# "handled" (a duplicate dropped, a handler that failed). Each update runs in its own task.
_outcome: ContextVar[str] = ContextVar("update_outcome", default="handled")


def mark_outcome(outcome: str) -> None:
    """Say how the update being processed ended ("duplicate", "error")."""
    _outcome.set(outcome)


async def mark_error(update: object, context: Any) -> None:
    """An error handler: the update being processed failed."""
    mark_outcome("error")


class OnePersonAtATime(BaseUpdateProcessor):
    """At most `max_concurrent_updates` at once, never two of the same person anywhere."""

    def __init__(self, max_concurrent_updates: int, locks: PersonLocks | None = None):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}
        self._shared = locks or PersonLocks(None)
        self.before_update: BeforeUpdate | None = None
        self.after_update: BeforeUpdate | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        started = time.perf_counter()
        _outcome.set("handled")
        if not isinstance(update, Update) or _person(update) is None:
            await coroutine
        else:
            async with self.person_turn(update):
                try:
                    await coroutine
                finally:
                    if self.after_update is not None:
                        await self.after_update(update)
        metrics.record_update(time.perf_counter() - started, _outcome.get())

    @contextlib.asynccontextmanager
    async def person_turn(self, update: Update) -> AsyncIterator[None]:
        """The update's person's turn: their lock here and in the store, their state read
        again."""
        key = _person(update)
        if key is None:
            yield
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock, self._shared.holding(key):
                if self.before_update is not None:
                    await self.before_update(update)
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up: the store's locks are taken per update."""

    async def shutdown(self) -> None:
        """Release the store's lock connections."""
        await self._shared.close()


def _person(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None
