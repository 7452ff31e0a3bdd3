"""Records kept by the fake server: files, chat messages with their edit history, API calls."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class StoredFile:
    """A file known to the fake server, uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    filename: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(frozen=True)
class MessageVersion:
    """A previous state of an edited message."""

    text: str | None
    caption: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    edit_date: int | None


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot passed to ``answerCallbackQuery``."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request received by the server (``params`` decoded; uploads as StoredFile),
    at ``at`` (``time.monotonic()``)."""

    method: str
    params: JSONDict
    at: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class ChatMessage:
    """A message in a chat, sent by the bot (``from_bot``) or by a user.

    Bot messages are live objects: an edit updates them in place, pushes the previous state to
    :attr:`history` and sets :attr:`edit_date`; a deletion sets :attr:`deleted`.
    """

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    reply_markup: JSONDict | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    photo_sizes: list[JSONDict] = field(default_factory=list)
    reply_to_message_id: int | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[MessageVersion] = field(default_factory=list)
    # Fields of other message kinds (sticker, voice, location...), sent as they are.
    extra: JSONDict = field(default_factory=dict)

    @property
    def edited(self) -> bool:
        """Whether the bot edited this message at least once."""
        return self.edit_date is not None

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        """The inline keyboard rows (empty when there is none)."""
        if not self.reply_markup:
            return []
        return list(self.reply_markup.get("inline_keyboard") or [])

    @property
    def button_rows(self) -> list[list[str]]:
        """Inline button labels, row by row."""
        return [[button["text"] for button in row] for row in self.inline_keyboard]

    @property
    def buttons(self) -> list[str]:
        """Inline button labels, flattened in reading order."""
        return [label for row in self.button_rows for label in row]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Labels of the reply keyboard attached to this message, if any."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return None
        return [
            [button if isinstance(button, str) else button["text"] for button in row]
            for row in self.reply_markup["keyboard"]
        ]

    def button(self, label: str) -> JSONDict:
        """The inline button whose text is exactly ``label`` (AssertionError listing labels)."""
        for row in self.inline_keyboard:
            for button in row:
                if button.get("text") == label:
                    return dict(button)
        raise AssertionError(
            f"no inline button {label!r} in message {self.message_id}; available: {self.buttons!r}"
        )

    @property
    def document_bytes(self) -> bytes | None:
        """Content of the attached document."""
        return self.document.data if self.document else None

    @property
    def document_name(self) -> str | None:
        """File name of the attached document."""
        return self.document.filename if self.document else None

    @property
    def photo_bytes(self) -> bytes | None:
        """Content of the attached photo (largest size)."""
        return self.photo.data if self.photo else None

    def snapshot(self) -> MessageVersion:
        """The current editable state."""
        return MessageVersion(
            text=self.text,
            caption=self.caption,
            entities=copy.deepcopy(self.entities),
            reply_markup=copy.deepcopy(self.reply_markup),
            edit_date=self.edit_date,
        )

    def __repr__(self) -> str:
        body = self.text if self.text is not None else self.caption
        extras = []
        if self.buttons:
            extras.append(f"buttons={self.buttons!r}")
        if self.document:
            extras.append(f"document={self.document.filename!r}")
        if self.photo:
            extras.append("photo")
        if self.edited:
            extras.append("edited")
        if self.deleted:
            extras.append("deleted")
        who = "bot" if self.from_bot else "user"
        tail = (" " + " ".join(extras)) if extras else ""
        return f"<ChatMessage #{self.message_id} {who} {body!r}{tail}>"
