"""The services' morning digests (`store.staff_digest`), run by every worker beside its outbox
delivery: each look (every `LOOK_EVERY`), the digests due that day and not yet recorded are
built by the worker that takes each service's lease, and queued in the outbox with the row
that records them; a restart, or two workers, never send a day's digest twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.portal import Portal
from mail.staff_digest_mail import digest_service
from store.leases import worker_identity

logger = logging.getLogger(__name__)

LOOK_EVERY = timedelta(minutes=5)
# The first look, a while after start: the bot answers parents first.
FIRST_LOOK = timedelta(minutes=2)


async def send_digests_if_due(portal: Portal, owner: str) -> list[int]:
    """Queue the digests due now that this worker gets the lease of: their ids."""
    return await digest_service(portal).send_due(owner)


async def run_staff_digests(portal: Portal, stop: asyncio.Event) -> None:
    """Look every `LOOK_EVERY` until `stop` is set; queue the digests due."""
    owner = worker_identity()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), FIRST_LOOK.total_seconds())
    while not stop.is_set():
        try:
            sent = await send_digests_if_due(portal, owner)
            if sent:
                logger.info("staff digests queued: %d", len(sent))
        except Exception:
            logger.exception("staff digests failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), LOOK_EVERY.total_seconds())
