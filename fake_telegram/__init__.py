"""A local fake of the Telegram Bot API, for end-to-end tests and demos.

The real python-telegram-bot ``Application`` talks to it over HTTP on loopback::

    server = FakeTelegram()
    await server.start()                    # binds 127.0.0.1 on a free port
    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)          # f"{server.url}/bot"
        .base_file_url(server.base_file_url)  # f"{server.url}/file/bot"
        .build()
    )
    parent = server.add_user(first_name="Camille", language_code="fr")
    await parent.send_command("/start")
    reply = await parent.next_message()     # race-free: see FakeUser
    answer = await parent.tap("Réserver")   # waits for answerCallbackQuery
    ...
    await server.stop()

Requests arrive as ``POST /bot<token>/<method>`` (urlencoded, multipart or JSON) and files are
served from ``GET /file/bot<token>/<file_path>``. Errors use Telegram's status codes and
descriptions (400 ``Bad Request: ...``, 401 ``Unauthorized``, 404 ``Not Found``, 403, 429 with
``parameters.retry_after``). Rate limiting (:class:`RateLimits`) is off unless configured, and
:meth:`FakeTelegram.fail_next` forces failures.

Standalone, for a demo (serves until Ctrl-C; ``--user`` pre-creates chats the bot can write to)::

    python -m fake_telegram --port 8081 --token 123456789:DEMO --user Camille
"""

from fake_telegram.formatting import EntityParseError, parse_text
from fake_telegram.models import ApiCall, CallbackAnswer, ChatMessage, MessageVersion, StoredFile
from fake_telegram.server import DEFAULT_TOKEN, SEND_METHODS, ApiError, FakeTelegram, RateLimits
from fake_telegram.users import FakeUser, command_entities

__all__ = [
    "DEFAULT_TOKEN",
    "SEND_METHODS",
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatMessage",
    "EntityParseError",
    "FakeTelegram",
    "FakeUser",
    "MessageVersion",
    "RateLimits",
    "StoredFile",
    "command_entities",
    "parse_text",
]
