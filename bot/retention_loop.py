"""The daily retention purge (`store.retention`), run by one worker a day: every worker looks
each hour, and the one that takes the cluster lease `PURGE_RETENTION` for a day purges. A
worker that dies meanwhile loses nothing: what it did not delete is deleted the next day."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.portal import Portal
from store.leases import PURGE_RETENTION, ClusterLeases, worker_identity
from store.retention import purge

logger = logging.getLogger(__name__)

LOOK_EVERY = timedelta(hours=1)
# The first look, a while after start: the bot answers parents first.
FIRST_LOOK = timedelta(minutes=1)
ONCE_A = timedelta(days=1)


async def purge_if_due(portal: Portal, owner: str) -> bool:
    """Purge, if this worker takes the day's lease; whether it did."""
    now = portal.clock()
    if not await ClusterLeases(portal.sessions).take(PURGE_RETENTION, owner, now, ONCE_A):
        return False
    await purge(portal.sessions, portal.documents.remove_files, now, portal.retention_rules)
    return True


async def run_retention(portal: Portal, stop: asyncio.Event) -> None:
    """Look every hour until `stop` is set; purge when this worker's turn of the day comes."""
    owner = worker_identity()
    next_own = 0.0
    loop = asyncio.get_running_loop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), FIRST_LOOK.total_seconds())
    while not stop.is_set():
        if loop.time() >= next_own:
            try:
                if await purge_if_due(portal, owner):
                    # The lease stays ours for a day: look again only once it ran out.
                    next_own = loop.time() + ONCE_A.total_seconds()
            except Exception:
                logger.exception("retention purge failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), LOOK_EVERY.total_seconds())
