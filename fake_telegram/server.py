"""The fake Bot API server: aiohttp on loopback, speaking the Telegram HTTP protocol."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import mimetypes
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from fake_telegram.formatting import EntityParseError, parse_text
from fake_telegram.models import ApiCall, CallbackAnswer, ChatMessage, JSONDict, StoredFile
from fake_telegram.users import FakeGroup, FakeUser
from fake_telegram.webhook import Webhook, WebhookPusher

DEFAULT_TOKEN = "123456789:AAFakeTokenForLocalTestsOnly"
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Form values of these parameters are plain strings, never JSON.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "description",
        "short_description",
        "name",
        "action",
        "url",
        "file_id",
        "business_connection_id",
        "message_effect_id",
        "secret_token",
    }
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")

logger = logging.getLogger(__name__)

Handler = Callable[[JSONDict], Awaitable[Any]]


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        """The JSON error response Telegram would send."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.code)


def bad_request(detail: str) -> ApiError:
    """A 400 error with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class RateLimits:
    """Sliding-window limits on message sends; Telegram allows ~30/s overall and ~1/s per chat.

    ``None`` disables a limit. A send over a limit gets 429 with ``parameters.retry_after``.
    """

    global_max: int | None = 30
    per_chat_max: int | None = 1
    window: float = 1.0
    methods: frozenset[str] = SEND_METHODS


@dataclass
class _Failure:
    remaining: int
    error: ApiError
    methods: frozenset[str]


@dataclass(frozen=True)
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


class FakeTelegram:
    """A local Telegram Bot API for tests and demos.

    Build the python-telegram-bot application with ``base_url=server.base_url`` and
    ``base_file_url=server.base_file_url``; act as parents with :meth:`add_user`.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "portail_famille_bot",
        bot_first_name: str = "Portail Famille",
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.rate_limits = rate_limits
        self.calls: list[ApiCall] = []
        self.files: dict[str, StoredFile] = {}
        self.settings: dict[str, JSONDict] = {}
        self.throttled = 0
        self.internal_errors: list[Exception] = []
        # Every chat by id: private chats (a user, id > 0) and groups (id < 0).
        self.users: dict[int, FakeUser] = {}
        self.inline_answers: list[JSONDict] = []
        # The update kinds the bot asked for (getUpdates' ``allowed_updates``); None: all.
        self.allowed_updates: frozenset[str] | None = None
        self._group_ids = itertools.count(-1_000_001, -1)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._updates_signal = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._file_ids = itertools.count(1)
        self._user_ids = itertools.count(100_001)
        self._query_ids = itertools.count(1)
        self._queries: dict[str, tuple[FakeUser, asyncio.Future[CallbackAnswer]]] = {}
        self._failures: dict[int, deque[_Failure]] = defaultdict(deque)
        self._global_sends: deque[float] = deque()
        self._chat_sends: dict[int, deque[float]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        # Set by setWebhook: updates are then POSTed to the bot instead of polled.
        self.webhook: Webhook | None = None
        self._pusher: WebhookPusher | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the HTTP server (a free port when ``port`` is 0)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._closing = False
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Release pending long polls and close the server."""
        self._closing = True
        self._wake_pollers()
        await self._stop_pushing()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url``."""
        return f"{self.url}/file/bot"

    @staticmethod
    def now() -> int:
        """Unix time used for message dates."""
        return int(time.time())

    # --- test API ------------------------------------------------------------------------------

    def add_user(
        self,
        first_name: str = "Camille",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
        user_id: int | None = None,
    ) -> FakeUser:
        """Create a user with a private chat (chat id == user id)."""
        uid = user_id if user_id is not None else next(self._user_ids)
        if uid in self.users:
            raise ValueError(f"user {uid} already exists")
        user = FakeUser(self, uid, first_name, last_name, username, language_code)
        self.users[uid] = user
        return user

    def add_group(
        self, member: FakeUser, *, kind: str = "group", title: str = "Parents CM1"
    ) -> FakeGroup:
        """A group (or "supergroup", "channel") with the bot, where ``member`` writes."""
        group = FakeGroup(self, next(self._group_ids), member, kind=kind, title=title)
        self.users[group.id] = group
        return group

    def commands(
        self, language_code: str | None = None, scope: JSONDict | None = None
    ) -> list[tuple[str, str]]:
        """``(command, description)`` pairs stored by setMyCommands for that language/scope."""
        stored = self._commands.get(self._commands_key(scope, language_code), [])
        return [(item["command"], item["description"]) for item in stored]

    def calls_to(self, method: str) -> list[JSONDict]:
        """Parameters of every call to ``method``."""
        return [call.params for call in self.calls if call.method == method]

    def documents_sent(self, chat_id: int) -> list[StoredFile]:
        """Documents the bot sent to ``chat_id``, in order."""
        user = self.users.get(chat_id)
        if user is None:
            return []
        return [m.document for m in user.messages if m.document is not None]

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self._updates)

    def fail_next(
        self,
        chat_id: int,
        times: int = 1,
        *,
        error_code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        methods: Iterable[str] = SEND_METHODS,
    ) -> None:
        """Make the next ``times`` calls of ``methods`` targeting ``chat_id`` fail.

        ``error_code`` 429 answers ``Too Many Requests: retry after N`` with
        ``parameters.retry_after`` (default 1), 403 ``Forbidden: bot was blocked by the user``,
        500 ``Internal Server Error``; ``description`` overrides the text.
        """
        parameters: JSONDict | None = None
        if error_code == 429:
            seconds = retry_after if retry_after is not None else 1
            parameters = {"retry_after": seconds}
            default = f"Too Many Requests: retry after {seconds}"
        elif error_code == 403:
            default = "Forbidden: bot was blocked by the user"
        elif error_code == 400:
            default = "Bad Request: injected failure"
        else:
            default = "Internal Server Error"
        error = ApiError(error_code, description or default, parameters)
        self._failures[chat_id].append(_Failure(times, error, frozenset(methods)))

    def enqueue_update(self, payload: JSONDict) -> int:
        """Queue an update (``payload`` without ``update_id``) for getUpdates; return its id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self._wake_pollers()
        return update_id

    async def wait_until_consumed(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the bot confirmed (by offset) every queued update."""
        async with asyncio.timeout(timeout):
            while self._updates:
                await self._updates_signal.wait()

    def register_file(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        folder: str = "documents",
    ) -> StoredFile:
        """Store ``data`` and return its StoredFile (with a fresh file_id)."""
        number = next(self._file_ids)
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0]
        extension = ""
        if filename and "." in filename:
            extension = "." + filename.rsplit(".", 1)[1]
        elif folder == "photos":
            extension = ".jpg"
        stored = StoredFile(
            file_id=f"FAKE{folder[:3].upper()}{number:08d}{self.bot_id:x}",
            file_unique_id=f"AgU{number:06d}",
            data=bytes(data),
            file_path=f"{folder}/file_{number}{extension}",
            filename=filename,
            mime_type=mime_type or ("image/jpeg" if folder == "photos" else None),
        )
        self.files[stored.file_id] = stored
        return stored

    def register_photo(
        self, data: bytes, *, width: int = 1280, height: int = 960
    ) -> tuple[StoredFile, list[JSONDict]]:
        """Store a photo; return the largest size and the PhotoSize list (all share ``data``)."""
        sizes: list[JSONDict] = []
        largest: StoredFile | None = None
        for side in (90, 320, 800, 1280):
            scale = min(1.0, side / max(width, height, 1))
            if sizes and scale == 1.0 and sizes[-1]["width"] == width:
                break
            largest = self.register_file(data, folder="photos")
            sizes.append(
                {
                    "file_id": largest.file_id,
                    "file_unique_id": largest.file_unique_id,
                    "file_size": largest.size,
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                }
            )
        assert largest is not None
        return largest, sizes

    def new_callback_query(self, user: FakeUser) -> tuple[str, asyncio.Future[CallbackAnswer]]:
        """Register a callback query; the future resolves when the bot answers it."""
        query_id = f"{user.id}{next(self._query_ids):08d}"
        future: asyncio.Future[CallbackAnswer] = asyncio.get_running_loop().create_future()
        self._queries[query_id] = (user, future)
        return query_id, future

    def message_dict(self, message: ChatMessage, *, with_reply: bool = True) -> JSONDict:
        """The Telegram ``Message`` object for ``message``."""
        user = self.users[message.chat_id]
        data: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_dict if message.from_bot else user.user_dict,
            "chat": user.chat_dict,
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.document is not None:
            document = message.document
            data["document"] = {
                "file_id": document.file_id,
                "file_unique_id": document.file_unique_id,
                "file_size": document.size,
            }
            if document.filename:
                data["document"]["file_name"] = document.filename
            if document.mime_type:
                data["document"]["mime_type"] = document.mime_type
        if message.photo_sizes:
            data["photo"] = message.photo_sizes
        if message.caption is not None:
            data["caption"] = message.caption
            if message.entities:
                data["caption_entities"] = message.entities
        if with_reply and message.reply_to_message_id is not None:
            target = user.get_message(message.reply_to_message_id)
            if target is not None and not target.deleted:
                data["reply_to_message"] = self.message_dict(target, with_reply=False)
        inline = _inline_markup(message.reply_markup)
        if inline is not None:
            data["reply_markup"] = inline
        data.update(message.extra)
        return data

    @property
    def bot_dict(self) -> JSONDict:
        """The bot's ``User`` object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        entry = self._handlers.get(request.match_info["method"].lower())
        if entry is None:
            return ApiError(404, "Not Found").response()
        name, handler = entry
        try:
            params = await _read_params(request)
            params = self._resolve_uploads(params)
            self.calls.append(ApiCall(name, params))
            result = await handler(params)
        except ApiError as error:
            return error.response()
        except Exception as error:
            logger.exception("fake_telegram failed on %s", name)
            self.internal_errors.append(error)
            return ApiError(500, f"Internal Server Error: {error!r}").response()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream"
                )
        return ApiError(404, "Not Found").response()

    def _resolve_uploads(self, params: JSONDict) -> JSONDict:
        """Replace ``attach://name`` references by the uploaded part."""
        resolved = dict(params)
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                part = params.get(value.removeprefix("attach://"))
                if not isinstance(part, _Upload):
                    raise bad_request(f'can\'t find attached file "{value}"')
                resolved[key] = part
        return resolved

    # --- method table -------------------------------------------------------------------------

    def _method_table(self) -> dict[str, Handler]:
        accepted = (
            "setChatMenuButton",
            "setMyDescription",
            "setMyShortDescription",
            "setMyName",
            "setMyDefaultAdministratorRights",
        )
        table: dict[str, Handler] = {name: self._make_setter(name) for name in accepted}
        table.update(
            getMe=self._get_me,
            logOut=self._true,
            close=self._true,
            getUpdates=self._get_updates,
            setWebhook=self._set_webhook,
            deleteWebhook=self._delete_webhook,
            getWebhookInfo=self._get_webhook_info,
            setMyCommands=self._set_my_commands,
            getMyCommands=self._get_my_commands,
            deleteMyCommands=self._delete_my_commands,
            getChatMenuButton=self._get_chat_menu_button,
            getMyDescription=self._getter("setMyDescription", "description"),
            getMyShortDescription=self._getter("setMyShortDescription", "short_description"),
            getMyName=self._getter("setMyName", "name"),
            getChat=self._get_chat,
            sendMessage=self._send_message,
            sendDocument=self._send_document,
            sendPhoto=self._send_photo,
            sendChatAction=self._send_chat_action,
            editMessageText=self._edit_message_text,
            editMessageCaption=self._edit_message_caption,
            editMessageReplyMarkup=self._edit_message_reply_markup,
            editMessageMedia=self._edit_message_media,
            deleteMessage=self._delete_message,
            answerCallbackQuery=self._answer_callback_query,
            getFile=self._get_file,
            leaveChat=self._leave_chat,
            answerInlineQuery=self._answer_inline_query,
        )
        return table

    def _make_setter(self, name: str) -> Handler:
        async def setter(params: JSONDict) -> bool:
            self.settings[name] = params
            return True

        return setter

    def _getter(self, setter: str, key: str) -> Handler:
        async def getter(params: JSONDict) -> JSONDict:
            return {key: self.settings.get(setter, {}).get(key, "")}

        return getter

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_dict,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_chat_menu_button(self, params: JSONDict) -> JSONDict:
        stored = self.settings.get("setChatMenuButton", {}).get("menu_button")
        return stored if isinstance(stored, dict) else {"type": "default"}

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        user = self._chat_user(params)
        return {**user.chat_dict, "accent_color_id": 0, "max_reaction_count": 11}

    # --- updates ------------------------------------------------------------------------------

    def _wake_pollers(self) -> None:
        self._updates_signal.set()
        self._updates_signal = asyncio.Event()
        if self._pusher is not None:
            self._pusher.wake()

    def _delivered(self, update: JSONDict) -> None:
        """The bot's webhook took an update: it leaves the queue."""
        with contextlib.suppress(ValueError):
            self._updates.remove(update)
        self._wake_pollers()

    async def _stop_pushing(self) -> None:
        pusher, self._pusher = self._pusher, None
        if pusher is not None:
            await pusher.stop()

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            await self._stop_pushing()
            self.webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = str(params.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        connections = min(max(_as_int(params.get("max_connections"), 40), 1), 100)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = frozenset(str(kind) for kind in allowed) or None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        same = self.webhook is not None and (
            (self.webhook.url, self.webhook.secret_token, self.webhook.max_connections)
            == (url, secret, connections)
        )
        if same and self._pusher is not None:
            return True  # every worker of a bot may set the same webhook at start-up
        await self._stop_pushing()
        self.webhook = Webhook(url, secret, connections)
        self._pusher = WebhookPusher(self.webhook, self._pushed_queue, self._delivered)
        self._pusher.start()
        self._wake_pollers()  # a long poll in progress ends: getUpdates is now refused
        return True

    def _pushed_queue(self) -> list[JSONDict]:
        """What the webhook may be given: the queue, without kinds the bot did not ask for."""
        if self.allowed_updates is not None:
            self._updates = [u for u in self._updates if _kind(u) in self.allowed_updates]
        return self._updates

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._poll_generation += 1
        generation = self._poll_generation
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            # Telegram remembers the last list; an empty one means every kind (as here).
            self.allowed_updates = frozenset(str(kind) for kind in allowed) or None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if self.allowed_updates is not None:
            # Kinds the bot did not ask for are never sent to it.
            self._updates = [u for u in self._updates if _kind(u) in self.allowed_updates]
        self._wake_pollers()  # an older long poll gets "terminated by other getUpdates request"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            signal = self._updates_signal
            try:
                async with asyncio.timeout(remaining):
                    await signal.wait()
            except TimeoutError:
                break
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self.allowed_updates is not None:
                self._updates = [u for u in self._updates if _kind(u) in self.allowed_updates]
                if not self._updates:
                    self._wake_pollers()  # wait_until_consumed sees the queue emptied
        return self._updates[:limit]

    async def _delete_webhook(self, params: JSONDict) -> bool:
        await self._stop_pushing()
        self.webhook = None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.last_error_message:
                info["last_error_message"] = self.webhook.last_error_message
        return info

    # --- commands -----------------------------------------------------------------------------

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        if not isinstance(scope, dict):
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        cleaned: list[JSONDict] = []
        for item in commands:
            if not isinstance(item, dict) or not _COMMAND_NAME.match(str(item.get("command"))):
                raise bad_request("BOT_COMMAND_INVALID")
            cleaned.append({"command": item["command"], "description": str(item["description"])})
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = cleaned
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    # --- sending ------------------------------------------------------------------------------

    def _chat_user(self, params: JSONDict) -> FakeUser:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for user in self.users.values():
                if user.username and f"@{user.username}" == chat_id:
                    return user
            raise bad_request("chat not found")
        try:
            found = self.users.get(int(chat_id))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise bad_request("chat not found")
        return found

    def _check_send(self, method: str, user: FakeUser) -> None:
        """Blocked users, injected failures, then rate limits."""
        if user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        failures = self._failures.get(user.id)
        if failures:
            for failure in failures:
                if method in failure.methods:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        failures.remove(failure)
                    raise failure.error
        limits = self.rate_limits
        if limits is None or method not in limits.methods:
            return
        now = time.monotonic()
        wait = 0.0
        chat_sends = self._chat_sends[user.id]
        for sends, maximum in (
            (self._global_sends, limits.global_max),
            (chat_sends, limits.per_chat_max),
        ):
            while sends and sends[0] <= now - limits.window:
                sends.popleft()
            if maximum is not None and len(sends) >= maximum:
                wait = max(wait, sends[0] + limits.window - now)
        if wait > 0:
            self.throttled += 1
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        self._global_sends.append(now)
        chat_sends.append(now)

    def _formatted(
        self, params: JSONDict, key: str, entities_key: str
    ) -> tuple[str | None, list[JSONDict]]:
        raw = params.get(key)
        if raw is None:
            return None, []
        raw = str(raw)
        parse_mode = params.get("parse_mode")
        try:
            text, entities = parse_text(raw, parse_mode)
        except KeyError:
            raise bad_request("unsupported parse_mode") from None
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        explicit = params.get(entities_key)
        if not parse_mode and isinstance(explicit, list):
            entities = explicit
        return text, entities

    def _reply_target(self, user: FakeUser, params: JSONDict) -> int | None:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        message_id: Any = params.get("reply_to_message_id")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
        if message_id in (None, ""):
            return None
        target = user.get_message(_as_int(message_id, 0))
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target.message_id

    def _store_bot_message(
        self, user: FakeUser, params: JSONDict, markup: JSONDict | None, **fields: Any
    ) -> JSONDict:
        reply_to = self._reply_target(user, params)
        message = user._new_message(
            from_bot=True,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            parse_mode=params.get("parse_mode"),
            **fields,
        )
        if markup is not None:
            if "keyboard" in markup:
                user.reply_keyboard = message.reply_keyboard
            elif markup.get("remove_keyboard"):
                user.reply_keyboard = None
        user._record_event(message)
        return self.message_dict(message)

    async def _send_message(self, params: JSONDict) -> JSONDict:
        user = self._chat_user(params)
        self._check_send("sendMessage", user)
        text, entities = self._message_text(params)
        markup = _validate_markup(params.get("reply_markup"))
        return self._store_bot_message(
            user, params, markup, text=text, entities=entities, raw_text=str(params["text"])
        )

    def _message_text(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        """A message's text (`text`, formatted by `parse_mode`) and its entities, as Telegram
        checks them: neither empty nor too long."""
        if params.get("text") in (None, ""):
            raise bad_request("message text is empty")
        text, entities = self._formatted(params, "text", "entities")
        assert text is not None
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, entities

    def _caption(self, params: JSONDict) -> tuple[str | None, list[JSONDict]]:
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if caption is not None and len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return (caption or None), entities

    def _input_file(self, params: JSONDict, key: str, folder: str) -> StoredFile | None:
        """The StoredFile for an upload or file_id; ``None`` when a new photo was uploaded."""
        value = params.get(key)
        if value is None or value == "":
            raise bad_request(f"there is no {key} in the request")
        if isinstance(value, _Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            if folder == "photos":
                return None
            return self.register_file(
                value.data,
                filename=value.filename,
                mime_type=_mime(value.filename, value.content_type),
            )
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self.files.get(str(value))
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    async def _send_document(self, params: JSONDict) -> JSONDict:
        user = self._chat_user(params)
        self._check_send("sendDocument", user)
        stored = self._input_file(params, "document", "documents")
        caption, entities = self._caption(params)
        markup = _validate_markup(params.get("reply_markup"))
        return self._store_bot_message(
            user, params, markup, document=stored, caption=caption, entities=entities
        )

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        user = self._chat_user(params)
        self._check_send("sendPhoto", user)
        stored = self._input_file(params, "photo", "photos")
        if stored is None:
            upload = params["photo"]
            largest, sizes = self.register_photo(upload.data)
        else:
            largest = stored
            sizes = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.size,
                    "width": 1280,
                    "height": 960,
                }
            ]
        caption, entities = self._caption(params)
        markup = _validate_markup(params.get("reply_markup"))
        return self._store_bot_message(
            user,
            params,
            markup,
            photo=largest,
            photo_sizes=sizes,
            caption=caption,
            entities=entities,
        )

    async def _send_chat_action(self, params: JSONDict) -> bool:
        user = self._chat_user(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_send("sendChatAction", user)
        user.chat_actions.append(str(action))
        return True

    # --- editing ------------------------------------------------------------------------------

    def _edit_target(self, method: str, params: JSONDict) -> ChatMessage:
        """The message an edit/delete call targets (after the send checks of ``method``)."""
        deleting = method == "deleteMessage"
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by this fake")
        user = self._chat_user(params)
        self._check_send(method, user)
        if params.get("message_id") in (None, ""):
            raise bad_request("message identifier is not specified")
        message = user.get_message(_as_int(params.get("message_id"), 0))
        if message is None or message.deleted:
            raise bad_request(
                "message to delete not found" if deleting else "message to edit not found"
            )
        if not deleting and not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(
        self, message: ChatMessage, changes: JSONDict, raw_text: str | None = None
    ) -> JSONDict:
        """Update ``message`` unless nothing changes (Telegram's "message is not modified")."""
        current = {key: getattr(message, key) for key in changes}
        current["reply_markup"] = _inline_markup(message.reply_markup)
        if current == changes:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.history.append(message.snapshot())
        for key, value in changes.items():
            setattr(message, key, value)
        if raw_text is not None:
            message.raw_text = raw_text
        message.edit_date = self.now()
        self.users[message.chat_id]._record_event(message)
        return self.message_dict(message)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._edit_target("editMessageText", params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._message_text(params)
        markup = _inline_markup(_validate_markup(params.get("reply_markup")))
        changes = {"text": text, "entities": entities, "reply_markup": markup}
        return self._apply_edit(message, changes, raw_text=str(params["text"]))

    async def _edit_message_caption(self, params: JSONDict) -> JSONDict:
        message = self._edit_target("editMessageCaption", params)
        if message.text is not None:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = self._caption(params)
        markup = _inline_markup(_validate_markup(params.get("reply_markup")))
        changes = {"caption": caption, "entities": entities, "reply_markup": markup}
        return self._apply_edit(message, changes)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._edit_target("editMessageReplyMarkup", params)
        markup = _inline_markup(_validate_markup(params.get("reply_markup")))
        return self._apply_edit(message, {"reply_markup": markup})

    async def _edit_message_media(self, params: JSONDict) -> JSONDict:
        """A photo in place of a photo (an uploaded one, `attach://<part>`), with its caption."""
        message = self._edit_target("editMessageMedia", params)
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise bad_request("this fake edits photos only")
        if not message.photo_sizes:
            raise bad_request("there is no media in the message to edit")
        reference = media.get("media")
        upload = params.get(str(reference).removeprefix("attach://"))
        if not isinstance(upload, _Upload) or not upload.data:
            raise bad_request("can't find attached file")
        largest, sizes = self.register_photo(upload.data)
        caption, entities = self._caption(media)
        markup = _inline_markup(_validate_markup(params.get("reply_markup")))
        changes = {
            "photo": largest,
            "photo_sizes": sizes,
            "caption": caption,
            "entities": entities,
            "reply_markup": markup,
        }
        return self._apply_edit(message, changes)

    async def _delete_message(self, params: JSONDict) -> bool:
        message = self._edit_target("deleteMessage", params)
        message.deleted = True
        return True

    # --- callbacks and files -----------------------------------------------------------------

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        entry = self._queries.pop(str(params.get("callback_query_id")), None)
        if entry is None:
            raise bad_request(QUERY_INVALID.removeprefix("Bad Request: "))
        user, future = entry
        text = params.get("text")
        answer = CallbackAnswer(
            callback_query_id=str(params["callback_query_id"]),
            text=str(text) if text is not None else None,
            show_alert=params.get("show_alert") in (True, "true"),
            url=params.get("url"),
        )
        user.callback_answers.append(answer)
        if not future.done():
            future.set_result(answer)
        return True

    async def _leave_chat(self, params: JSONDict) -> bool:
        chat = self._chat_user(params)
        if not isinstance(chat, FakeGroup):
            raise bad_request("chat member status can't be changed in private chats")
        chat.left = True
        return True

    async def _answer_inline_query(self, params: JSONDict) -> bool:
        self.inline_answers.append(params)
        return True

    async def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = params.get("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        stored = self.files.get(str(file_id))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }


# --- helpers ----------------------------------------------------------------------------------


def _kind(update: JSONDict) -> str:
    """The kind of an update: its one field besides ``update_id``."""
    return next((key for key in update if key != "update_id"), "")


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _mime(filename: str | None, content_type: str | None) -> str | None:
    guessed = mimetypes.guess_type(filename)[0] if filename else None
    return guessed or content_type


def _decode(key: str, value: str) -> Any:
    """Decode one form value: JSON for structured parameters, raw for text ones."""
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> JSONDict:
    """Parameters of a Bot API request: query string, urlencoded, multipart or JSON body."""
    params: JSONDict = {key: _decode(key, value) for key, value in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON") from None
        if isinstance(body, dict):
            params.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                params[part.name] = _Upload(
                    filename=part.filename,
                    content_type=part.headers.get("Content-Type"),
                    data=bytes(await part.read()),
                )
            else:
                params[part.name] = _decode(part.name, await part.text())
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _decode(key, value)
    return params


def _validate_markup(markup: Any) -> JSONDict | None:
    """Check a reply_markup like Telegram does; return it as a dict."""
    if markup is None or markup == "":
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'can\'t parse inline keyboard button: field "inline_keyboard" '
                "must be an Array of Arrays"
            )
        for row in rows:
            for button in row:
                _validate_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in rows:
            for button in row:
                if not isinstance(button, str | dict) or (
                    isinstance(button, dict) and not button.get("text")
                ):
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    actions = set(button) - {"text"}
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")


def _inline_markup(markup: JSONDict | None) -> JSONDict | None:
    """The part of a markup stored on a message: a non-empty inline keyboard, or None."""
    if markup and markup.get("inline_keyboard"):
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None
