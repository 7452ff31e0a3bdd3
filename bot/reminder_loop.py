"""The deadline reminders' tick, run by every worker beside its outbox delivery: each turn, the
worker asks for the cluster lease `REMINDERS` (`store.reminders.ReminderService.tick`); the one
that holds it plans the coming waves and queues the due ones into the outbox, which delivers
them at Telegram's pace. What is due lives in the store: a worker that stops, or restarts,
loses nothing, and no wave is sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.portal import Portal
from store.leases import worker_identity

logger = logging.getLogger(__name__)


async def run_reminders(portal: Portal, stop: asyncio.Event) -> None:
    """Tick every `reminder_tick_seconds` until `stop` is set (the first after one period)."""
    every = float(portal.settings.reminder_tick_seconds)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        try:
            report = await portal.reminders.tick(worker_identity(), timedelta(seconds=every))
        except Exception:
            logger.exception("reminders tick failed")
            continue
        if report.sent or report.skipped:
            logger.info(
                "reminders: %d waves sent, %d skipped, %d messages queued",
                len(report.sent),
                report.skipped,
                report.queued,
            )
