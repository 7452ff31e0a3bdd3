"""Webhook delivery of the fake Bot API: updates POSTed to the bot, as Telegram does.

After `setWebhook`, queued updates are no longer offered to `getUpdates` (which then answers
409, as Telegram does) but POSTed as JSON to the webhook's URL, with the secret token in the
`X-Telegram-Bot-Api-Secret-Token` header. Like Telegram, the fake opens at most
`max_connections` requests at once and sends a chat's updates one after the other: the next
update of a chat leaves only once the bot answered the previous one with a 2xx. An update
refused (non-2xx, or no answer) stays first in its chat's line and is tried again after a pause;
the last error is shown by `getWebhookInfo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from fake_telegram.models import JSONDict

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_PAUSE = 0.2
REQUEST_TIMEOUT = 60.0


@dataclass
class Webhook:
    """What the bot set with `setWebhook`."""

    url: str
    secret_token: str = ""
    max_connections: int = 40
    last_error_message: str = ""
    delivered: int = 0
    refused: int = 0


def update_chat(update: JSONDict) -> int:
    """The chat (or, for updates without one, the user) an update belongs to: its line."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        if isinstance(value.get("chat"), dict):
            return int(value["chat"]["id"])
        message = value.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return int(message["chat"]["id"])
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict):
            return int(sender["id"])
    return -int(update["update_id"])


@dataclass
class WebhookPusher:
    """POSTs the server's queued updates to the bot's webhook, each chat in order."""

    webhook: Webhook
    queue: Callable[[], list[JSONDict]]
    on_delivered: Callable[[JSONDict], None]
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _busy_chats: set[int] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _runner: asyncio.Task[None] | None = None
    _session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        self._runner = asyncio.create_task(self._run(), name="fake-telegram-webhook")

    def wake(self) -> None:
        """Something was queued or answered: look at the line again."""
        self._wake.set()

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self._send_what_may_go()
            await self._wake.wait()

    def _send_what_may_go(self) -> None:
        """Start a request for the first waiting update of each idle chat, within the bound."""
        seen: set[int] = set()
        for update in list(self.queue()):
            if len(self._tasks) >= self.webhook.max_connections:
                return
            chat = update_chat(update)
            if chat in seen:
                continue
            seen.add(chat)
            if chat in self._busy_chats:
                continue
            self._busy_chats.add(chat)
            task = asyncio.create_task(self._post(update, chat))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, update: JSONDict, chat: int) -> None:
        assert self._session is not None
        headers = {SECRET_HEADER: self.webhook.secret_token} if self.webhook.secret_token else {}
        delivered = False
        try:
            async with self._session.post(self.webhook.url, json=update, headers=headers) as reply:
                await reply.read()
                delivered = 200 <= reply.status < 300
                if not delivered:
                    self.webhook.last_error_message = (
                        f"Wrong response from the webhook: {reply.status}"
                    )
        except (aiohttp.ClientError, TimeoutError) as error:
            self.webhook.last_error_message = f"Connection failed: {error!r}"
        if delivered:
            self.webhook.delivered += 1
            self.on_delivered(update)
        else:
            self.webhook.refused += 1
            await asyncio.sleep(RETRY_PAUSE)
        self._busy_chats.discard(chat)
        # Out of the bound before the line is looked at again (the done-callback comes later).
        current = asyncio.current_task()
        if current is not None:
            self._tasks.discard(current)
        self.wake()
