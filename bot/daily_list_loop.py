"""The daily lists' loop (`store.daily_lists`), run by every worker beside its outbox delivery:
each minute the worker asks for the cluster lease `DAILY_LISTS`; the one that holds it queues
the day's lists once their time has come (`DAILY_LIST_TIME`, Europe/Paris) and, every
`DAILY_LIST_FOLLOWUP_MINUTES`, the follow-ups of the lists sent. What was sent lives in the
store (one row per activity and day): a worker that stops or restarts sends nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.portal import Portal
from bot.settings import Settings
from store.daily_lists import DailyListService, Schedule
from store.leases import worker_identity

logger = logging.getLogger(__name__)

LOOK_EVERY = timedelta(minutes=1)
# The first look, a while after start: the bot answers parents first.
FIRST_LOOK = timedelta(minutes=1)


def schedule_of(settings: Settings) -> Schedule:
    """The lists' schedule, as the settings say."""
    return Schedule.parse(
        settings.daily_list_time, settings.daily_list_days, settings.daily_list_followup_minutes
    )


def daily_lists(portal: Portal) -> DailyListService:
    return DailyListService(portal.sessions, portal.clock, schedule_of(portal.settings))


async def run_daily_lists(
    portal: Portal,
    stop: asyncio.Event,
    look_every: timedelta = LOOK_EVERY,
    first_look: timedelta = FIRST_LOOK,
) -> None:
    """Look every `look_every` until `stop` is set (the first after `first_look`): queue the
    lists due, and the follow-ups when their period has passed."""
    service = daily_lists(portal)
    owner = worker_identity()
    loop = asyncio.get_running_loop()
    next_updates = 0.0
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), first_look.total_seconds())
    while not stop.is_set():
        updates = loop.time() >= next_updates
        try:
            report = await service.tick(owner, look_every, updates=updates)
            if updates:
                next_updates = loop.time() + service.schedule.followup_every.total_seconds()
            for queued in report.queued:
                logger.info(
                    "daily list of %s for %s queued (%d children)",
                    queued.activity_code,
                    queued.day.isoformat(),
                    queued.expected,
                )
            if report.updates:
                logger.info("daily lists: %d follow-up(s) queued", report.updates)
        except Exception:
            logger.exception("daily lists look failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), look_every.total_seconds())
