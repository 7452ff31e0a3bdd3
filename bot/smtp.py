"""`portail smtp`: the inbound mail server alone (`mail.inbound`), on its own loop, beside a
`portail bot` on the same host."""

from __future__ import annotations

import asyncio
import signal

from bot.portal import Portal
from bot.process_memory import map_large_blocks, settle_memory
from bot.settings import Settings
from mail.inbound import running_smtp


async def serve_smtp(settings: Settings) -> None:
    """`portail smtp`: the inbound mail server alone, until SIGINT or SIGTERM."""
    portal = Portal.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    map_large_blocks()
    try:
        async with running_smtp(portal):
            settle_memory()
            await stop.wait()
    finally:
        await portal.close()
