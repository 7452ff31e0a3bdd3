"""Webhook mode: Telegram POSTs each update to the bot's URL, any number of workers answer.

Each worker serves the webhook's path on `WEBHOOK_LISTEN_HOST:WEBHOOK_LISTEN_PORT` (with
`SO_REUSEPORT`: the workers of one host share the port and the kernel spreads the connections)
behind a reverse proxy that terminates TLS. A request is taken only with the secret token
Telegram was given (`X-Telegram-Bot-Api-Secret-Token`, compared in constant time); anything
else gets 403 and changes nothing.

The update is handled before the answer: Telegram sends a chat's next update once the previous
one was answered, so a person's updates are handled in order whichever worker gets them (their
turn across workers: `bot.update_order`). An update delivered again (a retry after a worker
died, a second worker) is handled once (`bot.update_once`). The same server answers
`/healthz` and `/metrics` (`bot.ops_http`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram.ext import Application

from bot.polling import read_update
from bot.settings import Settings
from handlers.update_kinds import ALLOWED_UPDATES

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small; a file is sent as an id, never in the update.
MAX_UPDATE_BYTES = 1024 * 1024


def webhook_path(settings: Settings) -> str:
    """The path the workers serve: the webhook URL's, the proxy passing it through."""
    return urlsplit(settings.telegram_webhook_url).path or "/"


class WebhookEndpoint:
    """The webhook's request handler for one application."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], secret: str):
        self._application = application
        self._secret = secret.encode()

    async def handle(self, request: web.Request) -> web.Response:
        """Take one update POSTed by Telegram; answer once it was handled."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            logger.warning("webhook request without the right secret token: refused")
            return web.Response(status=403, text="Forbidden")
        try:
            raw = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="Bad Request: not JSON")
        update = read_update(raw, self._application.bot)
        if update is None:
            return web.Response(status=400, text="Bad Request: not an update")
        application = self._application
        await application.update_processor.process_update(
            update, application.process_update(update)
        )
        return web.Response(status=200)


def webhook_app(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    extra_routes: Iterable[web.RouteDef] = (),
) -> web.Application:
    """The web application of a worker: the webhook's path, and `extra_routes`."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    endpoint = WebhookEndpoint(application, settings.telegram_webhook_secret)
    app.router.add_post(webhook_path(settings), endpoint.handle)
    app.add_routes(list(extra_routes))
    return app


@contextlib.asynccontextmanager
async def serving_webhook(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    extra_routes: Iterable[web.RouteDef] = (),
) -> AsyncIterator[int]:
    """Serve the webhook (and `extra_routes`) and tell Telegram where it is; yields the port
    listened on. The webhook is left set at the end: other workers may still be serving it."""
    runner = web.AppRunner(
        webhook_app(application, settings, extra_routes),
        access_log=None,
        handler_cancellation=False,
        shutdown_timeout=5.0,
    )
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, settings.webhook_listen_host, settings.webhook_listen_port, reuse_port=True
        )
        await site.start()
        port = int(runner.addresses[0][1])
        await application.bot.set_webhook(
            settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            max_connections=settings.telegram_webhook_max_connections,
            allowed_updates=list(ALLOWED_UPDATES),
        )
        logger.info(
            "webhook served on %s:%s%s",
            settings.webhook_listen_host,
            port,
            webhook_path(settings),
        )
        yield port
    finally:
        await runner.cleanup()
