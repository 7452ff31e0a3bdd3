"""Each Telegram update handled once, across restarts and workers.

The first handler group: before anything acts on an update, its `update_id` is claimed in the
store (`store.runtime.UpdateLedger`); an update some worker already took — Telegram delivering
it again after a restart, or to a second worker — stops there. At most once: an update whose
worker dies while handling it is lost, as with long polling's acknowledged offset.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.update_order import mark_outcome
from store.runtime import UpdateLedger

logger = logging.getLogger(__name__)

# The claim made at the start of the update's person's turn, if it was: (update id, claimed).
# Each update runs in its own task; the id makes sure a value that reached another update's
# context anyway (an update handled in the task of the one before) is never taken for its own.
_claimed: ContextVar[tuple[int, bool] | None] = ContextVar("update_claimed", default=None)


class UpdateOnce:
    """The callback of the first group: lets an update through only to the worker taking it."""

    def __init__(self, ledger: UpdateLedger):
        self._ledger = ledger

    async def claim_in(self, session: AsyncSession, update: Update) -> None:
        """Claim the update in the transaction that opens its person's turn (where their state
        is read: `bot.persistence.read_person`), one transaction for both."""
        _claimed.set((update.update_id, await self._ledger.claim_in(session, update.update_id)))

    async def __call__(self, update: Update, context: Any) -> None:
        """Claim the update (unless its person's turn did); one already taken goes no
        further."""
        made, _ = _claimed.get(), _claimed.set(None)
        if made is None or made[0] != update.update_id:
            claimed = await self._ledger.claim(update.update_id)
        else:
            claimed = made[1]
            await self._ledger.purge_if_due()
        if not claimed:
            logger.info("update %s already handled; dropped", update.update_id)
            mark_outcome("duplicate")
            raise ApplicationHandlerStop
