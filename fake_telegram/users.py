"""The test-side actor: a fake Telegram user who writes to the bot and reads its answers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, Protocol

from fake_telegram.formatting import utf16_len
from fake_telegram.models import CallbackAnswer, ChatMessage, JSONDict, StoredFile

_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![^\s])")

MessagePredicate = Callable[[ChatMessage], bool]


def command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities for every ``/command`` word in ``text``, as Telegram adds them."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND.finditer(text)
    ]


class TelegramServer(Protocol):
    """What a user and a group need of the fake Bot API (`fake_telegram.server.FakeTelegram`)."""

    bot_id: int
    inline_answers: list[JSONDict]

    @property
    def bot_dict(self) -> JSONDict: ...

    def now(self) -> int: ...

    def enqueue_update(self, payload: JSONDict) -> int: ...

    def message_dict(self, message: ChatMessage, *, with_reply: bool = True) -> JSONDict: ...

    def new_callback_query(self, user: FakeUser) -> tuple[str, asyncio.Future[CallbackAnswer]]: ...

    def register_file(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        folder: str = "documents",
    ) -> StoredFile: ...

    def register_photo(
        self, data: bytes, *, width: int = 1280, height: int = 960
    ) -> tuple[StoredFile, list[JSONDict]]: ...

    def fail_next(
        self,
        chat_id: int,
        times: int = 1,
        *,
        error_code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None: ...


class FakeUser:
    """A Telegram user in a private chat with the bot (chat id == user id).

    Waiting for the bot is race-free through a *read cursor*: every action (``send_text``,
    ``send_command``, ``tap``, ``press``, ``send_photo``, ``send_document``, ``reply_to``) moves
    the cursor to "now" before the update is queued, and :meth:`next_message` /
    :meth:`wait_for_message` return the bot messages sent *or edited* after the cursor, advancing
    it past each one they return. So ``await user.send_text("x"); m = await user.next_message()``
    never misses a reply that arrived before ``next_message`` was called. Call :meth:`mark` to
    move the cursor by hand, e.g. before triggering a push notification from outside the chat.
    """

    def __init__(
        self,
        server: TelegramServer,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        self.server = server
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.chat_actions: list[str] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.reply_keyboard: list[list[str]] | None = None
        self.blocked = False
        self._messages: dict[int, ChatMessage] = {}
        self._next_message_id = 1
        self._events: list[ChatMessage] = []
        self._cursor = 0
        self._signal = asyncio.Event()

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.first_name!r}>"

    # --- identity --------------------------------------------------------------------------

    @property
    def chat_id(self) -> int:
        """The private chat id, equal to the user id."""
        return self.id

    @property
    def user_dict(self) -> JSONDict:
        """The Telegram ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def chat_dict(self) -> JSONDict:
        """The Telegram ``Chat`` object of the private chat."""
        data: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    # --- reading what the bot sent ---------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message the bot sent in this chat, in order (deleted ones flagged)."""
        return [message for message in self._messages.values() if message.from_bot]

    @property
    def sent_messages(self) -> list[ChatMessage]:
        """The messages this user sent."""
        return [message for message in self._messages.values() if not message.from_bot]

    @property
    def last_message(self) -> ChatMessage:
        """The latest bot message that was not deleted (AssertionError if there is none)."""
        for message in reversed(self.messages):
            if not message.deleted:
                return message
        raise AssertionError(f"the bot has not sent any message to {self!r}")

    def get_message(self, message_id: int) -> ChatMessage | None:
        """A message of this chat by id (bot's or user's)."""
        return self._messages.get(message_id)

    def mark(self) -> None:
        """Move the read cursor to now: only later bot messages/edits will be returned."""
        self._cursor = len(self._events)

    async def wait_for_message(
        self,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ChatMessage:
        """Wait for the first bot message sent or edited after the cursor matching ``predicate``.

        Messages skipped while searching are consumed. Raises AssertionError on timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = self._signal
            while self._cursor < len(self._events):
                message = self._events[self._cursor]
                self._cursor += 1
                if predicate is None or predicate(message):
                    return message
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    await signal.wait()
            except TimeoutError:
                recent = self.messages[-3:]
                raise AssertionError(
                    f"{self!r} received no matching new bot message within {timeout}s; "
                    f"latest messages: {recent!r}"
                ) from None

    async def next_message(self, timeout: float = 5.0) -> ChatMessage:  # noqa: ASYNC109
        """The next bot message sent or edited after the cursor."""
        return await self.wait_for_message(None, timeout)

    async def assert_no_message(self, wait: float = 0.2) -> None:
        """Wait ``wait`` seconds and assert the bot sent or edited nothing after the cursor."""
        await asyncio.sleep(wait)
        unexpected = self._events[self._cursor :]
        if unexpected:
            raise AssertionError(f"unexpected bot messages for {self!r}: {unexpected!r}")

    # --- acting ----------------------------------------------------------------------------

    async def send_text(self, text: str) -> ChatMessage:
        """Send a text message (``/command`` words get ``bot_command`` entities)."""
        return await self._send(text=text, entities=command_entities(text))

    async def send_command(self, command: str) -> ChatMessage:
        """Send a command such as ``"/start abc"``."""
        if not command.startswith("/"):
            raise ValueError(f"a command starts with '/': {command!r}")
        return await self.send_text(command)

    async def reply_to(self, message: ChatMessage | int, text: str) -> ChatMessage:
        """Send ``text`` as a reply to ``message`` (a message of this chat or its id)."""
        message_id = message if isinstance(message, int) else message.message_id
        if message_id not in self._messages:
            raise AssertionError(f"message {message_id} is not in the chat of {self!r}")
        return await self._send(
            text=text, entities=command_entities(text), reply_to_message_id=message_id
        )

    async def press(self, label: str) -> ChatMessage:
        """Press a button of the current reply keyboard (sends its label as text)."""
        labels = [label for row in self.reply_keyboard or [] for label in row]
        if label not in labels:
            raise AssertionError(f"no reply keyboard button {label!r}; available: {labels!r}")
        return await self.send_text(label)

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, width: int = 1280, height: int = 960
    ) -> ChatMessage:
        """Send a photo; the bot sees a list of PhotoSize, all downloadable as ``data``."""
        largest, sizes = self.server.register_photo(data, width=width, height=height)
        return await self._send(caption=caption, photo=largest, photo_sizes=sizes)

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        """Send a document."""
        stored = self.server.register_file(data, filename=filename, mime_type=mime_type)
        return await self._send(caption=caption, document=stored)

    async def tap(
        self,
        label: str,
        *,
        message: ChatMessage | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer | None:
        """Tap the inline button labelled exactly ``label``.

        The button is looked up on ``message``, or else on the latest non-deleted bot message
        with an inline keyboard. Returns the bot's ``answerCallbackQuery`` answer, or ``None``
        if it did not answer within ``timeout`` seconds.
        """
        target = message or self._latest_with_keyboard()
        if target.deleted:
            raise AssertionError(f"cannot tap on deleted message {target!r}")
        button = target.button(label)
        data = button.get("callback_data")
        if data is None:
            raise AssertionError(f"button {label!r} has no callback_data: {button!r}")
        self.mark()
        return await self._callback(
            data, lambda _: {"message": self.server.message_dict(target)}, timeout
        )

    # --- other kinds of updates ------------------------------------------------------------

    async def send_kind(self, kind: str, payload: JSONDict | None = None) -> ChatMessage:
        """Send a message of another kind: ``sticker``, ``voice``, ``location``, ``contact``,
        ``video``, ``video_note``, ``audio``, ``animation``, ``poll``, ``dice``..."""
        return await self._send(
            extra={kind: payload if payload is not None else OTHER_KINDS[kind]}
        )

    async def edit(self, message: ChatMessage, text: str) -> None:
        """Edit one of this user's own text messages (an ``edited_message`` update)."""
        if message.from_bot or message.chat_id != self.id:
            raise AssertionError(f"{self!r} can only edit its own messages")
        self.mark()
        message.text = text
        message.entities = command_entities(text)
        message.edit_date = self.server.now()
        self.server.enqueue_update({"edited_message": self.server.message_dict(message)})
        await asyncio.sleep(0)

    async def tap_inline(self, data: str, timeout: float = 5.0) -> CallbackAnswer | None:  # noqa: ASYNC109
        """A callback from a button of an inline-mode message: it carries no message."""
        self.mark()
        return await self._callback(
            data, lambda query_id: {"inline_message_id": f"INLINE{query_id}"}, timeout
        )

    async def _callback(
        self,
        data: str,
        origin: Callable[[str], JSONDict],
        timeout: float,  # noqa: ASYNC109
    ) -> CallbackAnswer | None:
        """Send a ``callback_query`` update from the button `origin` names (given the query's
        id) and wait `timeout` seconds for the bot's answer (None without one)."""
        query_id, answered = self.server.new_callback_query(self)
        self.server.enqueue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user_dict,
                    **origin(query_id),
                    "chat_instance": f"{self.id}{self.server.bot_id}",
                    "data": data,
                }
            }
        )
        try:
            async with asyncio.timeout(timeout):
                return await answered
        except TimeoutError:
            return None

    def inline_query(self, query: str) -> None:
        """Type ``@bot query`` in any chat (an ``inline_query`` update)."""
        self.mark()
        self.server.enqueue_update(
            {
                "inline_query": {
                    "id": f"IQ{self.id}{len(self.server.inline_answers)}",
                    "from": self.user_dict,
                    "query": query,
                    "offset": "",
                }
            }
        )

    def react(self, message: ChatMessage, emoji: str = "👍") -> None:
        """React to a message (a ``message_reaction`` update)."""
        self.mark()
        self.server.enqueue_update(
            {
                "message_reaction": {
                    "chat": self.chat_dict,
                    "message_id": message.message_id,
                    "user": self.user_dict,
                    "date": self.server.now(),
                    "old_reaction": [],
                    "new_reaction": [{"type": "emoji", "emoji": emoji}],
                }
            }
        )

    def member_status(self, old: str, new: str) -> None:
        """The bot's membership in this chat changed (a ``my_chat_member`` update): in a
        private chat, "kicked" is the user blocking the bot and "member" unblocking it."""
        self.mark()
        self.blocked = new == "kicked"
        bot = self.server.bot_dict
        self.server.enqueue_update(
            {
                "my_chat_member": {
                    "chat": self.chat_dict,
                    "from": self.user_dict,
                    "date": self.server.now(),
                    "old_chat_member": _member(bot, old),
                    "new_chat_member": _member(bot, new),
                }
            }
        )

    # --- failure injection -----------------------------------------------------------------

    def block_bot(self) -> None:
        """Block the bot: sends to this chat fail with 403 until :meth:`unblock_bot`."""
        self.blocked = True

    def unblock_bot(self) -> None:
        """Unblock the bot."""
        self.blocked = False

    def fail_next_sends(
        self,
        times: int = 1,
        *,
        error_code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` sends to this chat fail (see ``FakeTelegram.fail_next``)."""
        self.server.fail_next(
            self.id,
            times,
            error_code=error_code,
            retry_after=retry_after,
            description=description,
        )

    # --- internals used by the server ------------------------------------------------------

    def _latest_with_keyboard(self) -> ChatMessage:
        for message in reversed(self.messages):
            if not message.deleted and message.inline_keyboard:
                return message
        raise AssertionError(f"no bot message with an inline keyboard for {self!r}")

    def _new_message(self, *, from_bot: bool, **fields: Any) -> ChatMessage:
        message = ChatMessage(
            message_id=self._next_message_id,
            chat_id=self.id,
            from_bot=from_bot,
            date=self.server.now(),
            **fields,
        )
        self._next_message_id += 1
        self._messages[message.message_id] = message
        return message

    def _record_event(self, message: ChatMessage) -> None:
        self._events.append(message)
        self._signal.set()
        self._signal = asyncio.Event()

    async def _send(self, **fields: Any) -> ChatMessage:
        self.mark()
        message = self._new_message(from_bot=False, **fields)
        self.server.enqueue_update({"message": self.server.message_dict(message)})
        await asyncio.sleep(0)
        return message


def _member(user: JSONDict, status: str) -> JSONDict:
    data: JSONDict = {"user": user, "status": status}
    if status == "kicked":
        data["until_date"] = 0
    return data


# A plausible payload per message kind, as Telegram sends it.
OTHER_KINDS: dict[str, Any] = {
    "sticker": {
        "file_id": "STICKER1",
        "file_unique_id": "st1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    },
    "voice": {"file_id": "VOICE1", "file_unique_id": "vo1", "duration": 4},
    "audio": {"file_id": "AUDIO1", "file_unique_id": "au1", "duration": 30},
    "video": {
        "file_id": "VIDEO1",
        "file_unique_id": "vi1",
        "width": 640,
        "height": 360,
        "duration": 8,
    },
    "video_note": {"file_id": "NOTE1", "file_unique_id": "vn1", "length": 240, "duration": 5},
    "animation": {
        "file_id": "GIF1",
        "file_unique_id": "an1",
        "width": 320,
        "height": 240,
        "duration": 2,
    },
    "location": {"latitude": 43.6045, "longitude": 1.4440},
    "contact": {"phone_number": "+33612345678", "first_name": "Mamie"},
    "dice": {"emoji": "🎲", "value": 4},
    "poll": {
        "id": "POLL1",
        "question": "Cantine ?",
        "options": [
            {"persistent_id": "o1", "text": "Oui", "voter_count": 0},
            {"persistent_id": "o2", "text": "Non", "voter_count": 0},
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    },
}


class FakeGroup(FakeUser):
    """A group, supergroup or channel with the bot in it, where one member writes.

    It keeps its messages like a private chat does; its id is negative, as Telegram's are.
    """

    def __init__(
        self, server: TelegramServer, chat_id: int, member: FakeUser, *, kind: str, title: str
    ) -> None:
        super().__init__(server, chat_id, member.first_name, language_code=member.language_code)
        self.member = member
        self.kind = kind
        self.title = title
        self.left = False

    def __repr__(self) -> str:
        return f"<FakeGroup {self.id} {self.kind} {self.title!r}>"

    @property
    def user_dict(self) -> JSONDict:
        """The member who writes."""
        return self.member.user_dict

    @property
    def chat_dict(self) -> JSONDict:
        return {"id": self.id, "type": self.kind, "title": self.title}

    async def _send(self, **fields: Any) -> ChatMessage:
        if self.kind != "channel":
            return await super()._send(**fields)
        self.mark()
        message = self._new_message(from_bot=False, **fields)
        payload = self.server.message_dict(message)
        payload.pop("from", None)
        self.server.enqueue_update({"channel_post": payload})
        await asyncio.sleep(0)
        return message

    def bot_added(self) -> None:
        """The member adds the bot to this group (a ``my_chat_member`` update)."""
        self.member_status("left", "member")
