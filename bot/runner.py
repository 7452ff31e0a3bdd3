"""Running the product: the bot (long polling, or webhook mode with any number of workers), its
outbox delivery (Telegram messages, staff emails) and the inbound mail server, one loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot.app import build_application, publish_commands
from bot.daily_list_loop import run_daily_lists
from bot.delivery import run_delivery
from bot.ops_http import ops_routes, running_ops_server
from bot.portal import Portal
from bot.process_memory import map_large_blocks, settle_memory
from bot.reminder_loop import run_reminders
from bot.retention_loop import run_retention
from bot.settings import Settings
from bot.staff_digest_loop import run_staff_digests
from bot.webhook import serving_webhook
from dates import warm_up
from handlers.update_kinds import ALLOWED_UPDATES
from mail.email_delivery import run_email_delivery
from mail.inbound import running_smtp

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running_bot(
    portal: Portal, *, poll_timeout: float = 10.0, poll_interval: float = 0.0
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """The bot polling and delivering the outbox (chats and staff emails) until the block
    exits."""
    application = build_application(portal)
    stop = asyncio.Event()
    await application.initialize()
    await publish_commands(application)
    await application.start()
    async with contextlib.AsyncExitStack() as receiving:
        if portal.settings.telegram_webhook_url:
            await receiving.enter_async_context(
                serving_webhook(application, portal.settings, ops_routes(portal))
            )
        else:
            await receiving.enter_async_context(_polling(application, poll_timeout, poll_interval))
            await receiving.enter_async_context(running_ops_server(portal))
        delivery = asyncio.create_task(run_delivery(portal, application.bot, stop))
        emails = asyncio.create_task(run_email_delivery(portal, stop))
        retention = asyncio.create_task(run_retention(portal, stop))
        reminders = (
            asyncio.create_task(run_reminders(portal, stop))
            if portal.settings.reminders_enabled
            else None
        )
        daily = (
            asyncio.create_task(run_daily_lists(portal, stop))
            if portal.settings.daily_list_enabled
            else None
        )
        digests = (
            asyncio.create_task(run_staff_digests(portal, stop))
            if portal.settings.staff_digest_enabled
            else None
        )
        try:
            yield application
        finally:
            stop.set()
            if digests is not None:
                await digests
            if daily is not None:
                await daily
            await delivery
            await emails
            await retention
            if reminders is not None:
                await reminders
    await application.stop()
    await application.shutdown()


@contextlib.asynccontextmanager
async def _polling(
    application: Application[Any, Any, Any, Any, Any, Any],
    poll_timeout: float,
    poll_interval: float,
) -> AsyncIterator[None]:
    """Long polling (the embedded default: one bot process per token)."""
    assert application.updater is not None
    # A webhook left set (by an earlier deployment) would make every poll fail.
    await application.bot.delete_webhook()
    await application.updater.start_polling(
        timeout=timedelta(seconds=poll_timeout),
        poll_interval=poll_interval,
        allowed_updates=list(ALLOWED_UPDATES),
    )
    try:
        yield
    finally:
        await application.updater.stop()


async def serve(settings: Settings, *, smtp: bool = True) -> None:
    """Run until SIGINT or SIGTERM: the bot and its outbox delivery, and with `smtp` the
    inbound mail server and its worker (`portail run`; `portail bot` runs without them, so
    that it and `portail smtp` can run side by side on one host)."""
    warm_up()
    map_large_blocks()
    portal = Portal.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with contextlib.AsyncExitStack() as running:
            if smtp:
                # Listening first: a port another process holds stops the start at once,
                # before the bot has polled Telegram (`CannotListen`, told by the command).
                await running.enter_async_context(running_smtp(portal))
            await running.enter_async_context(running_bot(portal))
            settle_memory()
            logger.info("bot running; Ctrl-C to stop")
            await stop.wait()
    finally:
        await portal.close()
