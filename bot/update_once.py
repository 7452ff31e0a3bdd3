"""Each Telegram update handled once, across restarts and workers.

The first handler group: before anything acts on an update, its `update_id` is claimed in the
store (`store.runtime.UpdateLedger`); an update some worker already took — Telegram delivering
it again after a restart, or to a second worker — stops there. At most once: an update whose
worker dies while handling it is lost, as with long polling's acknowledged offset.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.update_order import mark_outcome
from store.runtime import UpdateLedger

logger = logging.getLogger(__name__)


class UpdateOnce:
    """The callback of the first group: lets an update through only to the worker taking it."""

    def __init__(self, ledger: UpdateLedger):
        self._ledger = ledger

    async def __call__(self, update: Update, context: Any) -> None:
        """Claim the update; one already taken goes no further."""
        if not await self._ledger.claim(update.update_id):
            logger.info("update %s already handled; dropped", update.update_id)
            mark_outcome("duplicate")
            raise ApplicationHandlerStop
