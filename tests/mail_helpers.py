"""Helpers for the tests of staff emails: wait for the local SMTP sink to receive them."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

POLL_SECONDS = 0.02


async def wait_for_mails(sink: Any, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:  # noqa: ASYNC109
    """The sink's messages once it holds at least `count` of them (AssertionError otherwise)."""
    for _ in range(int(timeout / POLL_SECONDS)):
        if len(sink.messages) >= count:
            return list(sink.messages)
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{len(sink.messages)} email(s) received, {count} expected")
