"""Telegram text formatting: turn ``parse_mode`` text into plain text plus entities.

Telegram parses HTML, MarkdownV2 and legacy Markdown server-side and stores the plain text with a
list of entities whose offsets and lengths count UTF-16 code units. This module reproduces the
parts that matter to a bot author, including the errors that bite in production
(``can't parse entities: Character '.' is reserved ...``, unsupported HTML tags, unclosed tags).
It is an approximation, not a byte-for-byte port of Telegram's parser.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


class EntityParseError(ValueError):
    """Raised when a text cannot be parsed with its ``parse_mode``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` for ``text`` sent with ``parse_mode``.

    Raises :class:`EntityParseError` with Telegram's description (without the
    ``Bad Request: can't parse entities: `` prefix) on malformed input, and ``KeyError``
    for an unknown parse mode.
    """
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _MarkdownParser(text, v2=True).parse()
    if mode == "markdown":
        return _MarkdownParser(text, v2=False).parse()
    raise KeyError(parse_mode)


_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _HtmlEntityParser(HTMLParser):
    """Collect plain text and entities from Telegram-flavoured HTML."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.parts: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        return len(self.source[: self.line_starts[line - 1] + column].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an entity, rejecting tags Telegram does not know."""
        kind = _HTML_TAGS.get(tag)
        attributes = dict(attrs)
        if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            )
        extra: dict[str, Any] = {}
        if kind == "text_link":
            extra["url"] = attributes.get("href") or ""
        elif kind == "custom_emoji":
            extra["custom_emoji_id"] = attributes.get("emoji-id") or ""
        elif kind == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        self.stack.append((tag, self.length, {"type": kind, **extra}))

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost entity, which must match ``tag``."""
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        open_tag, start, entity = self.stack.pop()
        if open_tag != tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        if entity["type"] == "code" and self.entities:
            previous = self.entities[-1]
            if previous["type"] == "pre" and previous["offset"] == start:
                return
        if self.length > start:
            entity.update(offset=start, length=self.length - start)
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        """Append plain text."""
        self.parts.append(data)
        self.length += utf16_len(data)


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    parser = _HtmlEntityParser(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"'
        )
    entities = sorted(parser.entities, key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parser.parts), entities


_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


class _MarkdownParser:
    """A small scanner for MarkdownV2 (``v2=True``) and legacy Markdown."""

    def __init__(self, source: str, *, v2: bool) -> None:
        self.source = source
        self.v2 = v2
        self.index = 0
        self.out: list[str] = []
        self.length = 0
        self.open: list[tuple[str, int, int]] = []  # (type, utf16 start, byte offset)
        self.entities: list[dict[str, Any]] = []

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_len(text)

    def _byte_offset(self, index: int | None = None) -> int:
        return len(self.source[: self.index if index is None else index].encode())

    def _toggle(self, kind: str, width: int) -> None:
        for position, (open_kind, start, _) in enumerate(self.open):
            if open_kind == kind:
                del self.open[position]
                if self.length > start:
                    self.entities.append(
                        {"type": kind, "offset": start, "length": self.length - start}
                    )
                break
        else:
            self.open.append((kind, self.length, self._byte_offset()))
        self.index += width

    def _read_verbatim(self, closing: str) -> str:
        """Read code/pre content up to ``closing``; only backslash escapes apply inside."""
        start_byte = self._byte_offset()
        chunk: list[str] = []
        source = self.source
        while self.index < len(source):
            if self.v2 and source[self.index] == "\\" and self.index + 1 < len(source):
                chunk.append(source[self.index + 1])
                self.index += 2
                continue
            if source.startswith(closing, self.index):
                self.index += len(closing)
                return "".join(chunk)
            chunk.append(source[self.index])
            self.index += 1
        kind = "Pre" if closing == "```" else "Code"
        raise EntityParseError(self._unclosed_message(kind, start_byte))

    def _unclosed_message(self, kind: str, byte_offset: int) -> str:
        if self.v2:
            return f"Can't find end of {kind} entity at byte offset {byte_offset}"
        return f"Can't find end of the entity starting at byte offset {byte_offset}"

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        """Scan the whole source."""
        source = self.source
        link_stack: list[tuple[int, int]] = []
        while self.index < len(source):
            char = source[self.index]
            if char == "\\" and self.index + 1 < len(source):
                following = source[self.index + 1]
                if self.v2 or following in "_*`[":
                    self._emit(following)
                    self.index += 2
                    continue
            if source.startswith("```", self.index):
                start, start_byte = self.length, self._byte_offset()
                self.index += 3
                newline = source.find("\n", self.index)
                language = ""
                closing = source.find("```", self.index)
                if newline != -1 and (closing == -1 or newline < closing):
                    language = source[self.index : newline].strip()
                    self.index = newline + 1
                try:
                    content = self._read_verbatim("```")
                except EntityParseError:
                    raise EntityParseError(self._unclosed_message("Pre", start_byte)) from None
                self._emit(content)
                entity: dict[str, Any] = {
                    "type": "pre",
                    "offset": start,
                    "length": self.length - start,
                }
                if language:
                    entity["language"] = language
                if entity["length"]:
                    self.entities.append(entity)
                continue
            if char == "`":
                start = self.length
                self.index += 1
                self._emit(self._read_verbatim("`"))
                if self.length > start:
                    self.entities.append(
                        {"type": "code", "offset": start, "length": self.length - start}
                    )
                continue
            if char == "*":
                self._toggle("bold", 1)
                continue
            if self.v2 and source.startswith("__", self.index):
                self._toggle("underline", 2)
                continue
            if char == "_":
                self._toggle("italic", 1)
                continue
            if self.v2 and char == "~":
                self._toggle("strikethrough", 1)
                continue
            if self.v2 and source.startswith("||", self.index):
                self._toggle("spoiler", 2)
                continue
            if char == "[":
                link_stack.append((self.length, self._byte_offset()))
                self.index += 1
                continue
            if char == "]" and link_stack and source.startswith("(", self.index + 1):
                close = source.find(")", self.index + 2)
                if close == -1:
                    raise EntityParseError(self._unclosed_message("TextUrl", link_stack[-1][1]))
                url = source[self.index + 2 : close].replace("\\)", ")").replace("\\\\", "\\")
                start, _ = link_stack.pop()
                if self.length > start:
                    self.entities.append(
                        {
                            "type": "text_link",
                            "offset": start,
                            "length": self.length - start,
                            "url": url,
                        }
                    )
                self.index = close + 1
                continue
            if self.v2 and char == ">" and (self.index == 0 or source[self.index - 1] == "\n"):
                self.index += 1
                continue
            if self.v2 and char in MARKDOWN_V2_RESERVED:
                raise EntityParseError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            self._emit(char)
            self.index += 1
        if self.open:
            kind, _, byte_offset = self.open[0]
            raise EntityParseError(self._unclosed_message(_ENTITY_NAMES[kind], byte_offset))
        if link_stack:
            raise EntityParseError(self._unclosed_message("TextUrl", link_stack[0][1]))
        entities = sorted(self.entities, key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.out), entities
