"""Actualités: the news the services published for the family, latest first, one tap for the
whole item (its image or PDF sent with it), and the toggle that mutes news (urgent ones still
come). Also what the broadcast of an item says (the outbox kind `news`), and the Markdown
subset staff write in (bold, italics, links, lists), turned into Telegram's HTML with
everything else escaped.

A read-only view, like `conversations.tariffs`: a button carries the page or the item it
opens; the store checks on each tap that the item is the family's. Register `HANDLERS` before
the conversations.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.kit.callback_data import choice, one_of, record_id, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.formatting import day_label, long_day
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_NEWS
from conversations.kit.notices import Notice, renders
from conversations.kit.texts import text
from conversations.kit.views import close_view
from conversations.kit.who import who
from store.actors import AccessDenied, NotFound
from store.deadlines import PARIS
from store.news import NEWS_KIND, NewsService, NewsView
from store.safe_files import JPEG, PNG

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)

PAGE = "nw:p:"
OPEN = "nw:o:"
MUTE = "nw:m:"
CLOSE = "nw:x"
PAGE_SIZE = 8
# Telegram's limit for a message; a broadcast longer than that ends with "read on".
TEXT_LIMIT = 4096
BUTTON_CHARS = 48
MUTE_CHOICES = ("on", "off")


def _service(portal: Portal) -> NewsService:
    return NewsService(portal.sessions, portal.clock)


# --- Markdown subset -------------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|tg://)[^\s()<>\"]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+")
_TOKEN = re.compile("\x00(\\d+)\x00")


def markdown_html(source: str) -> str:
    """Staff's Markdown subset as Telegram HTML: **bold**, *italics* (or _italics_),
    [links](https://...), "- " and "1. " lists; every other character escaped."""
    lines = []
    for raw in source.replace("\r\n", "\n").replace("\x00", "").split("\n"):
        prefix = ""
        bullet = _BULLET.match(raw)
        numbered = _NUMBERED.match(raw)
        if bullet is not None:
            prefix, raw = "• ", raw[bullet.end() :]
        elif numbered is not None:
            prefix, raw = f"{numbered.group(1)}. ", raw[numbered.end() :]
        lines.append(prefix + _inline(raw))
    return "\n".join(lines).strip()


def _inline(line: str) -> str:
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        links.append(f'<a href="{_escape(url)}">{_emphasis(_escape(label))}</a>')
        return f"\x00{len(links) - 1}\x00"

    line = _LINK.sub(keep_link, line)
    line = _emphasis(_escape(line))
    return _TOKEN.sub(lambda match: links[int(match.group(1))], line)


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _emphasis(escaped: str) -> str:
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    return _ITALIC.sub(r"<i>\2</i>", escaped)


# --- Pure rendering --------------------------------------------------------------------------


def item_text(item: NewsView, language: str, limit: int = TEXT_LIMIT) -> str:
    """An item whole (up to Telegram's limit): title, date, closure, text, attachment."""
    head = [
        text("news.head_urgent" if item.urgent else "news.head", language, title=item.title),
        text(
            "news.published",
            language,
            day=long_day(item.published_at.astimezone(PARIS).date(), language),
        ),
        "",
    ]
    if item.closure_activity and item.closure_day:
        head += [
            text(
                "news.closure",
                language,
                activity=item.closure_activity,
                day=long_day(item.closure_day, language),
            ),
            "",
        ]
    tail = []
    if item.attachment is not None:
        tail = ["", text("news.attachment", language, name=item.attachment.name)]
    body = markdown_html(item.body)
    message = "\n".join([*head, body, *tail])
    if len(message.encode("utf-16-le")) // 2 <= limit:
        return message
    # Too long for one message: the text cut at a line, never inside a tag.
    more = text("news.truncated", language)
    kept: list[str] = []
    for line in body.split("\n"):
        candidate = "\n".join([*head, *kept, line, more, *tail])
        if len(candidate.encode("utf-16-le")) // 2 > limit:
            break
        kept.append(line)
    return "\n".join([*head, *kept, more, *tail])


def _short(title: str) -> str:
    return title if len(title) <= BUTTON_CHARS else title[: BUTTON_CHARS - 1] + "…"


# --- The broadcast ---------------------------------------------------------------------------


@renders(NEWS_KIND)
async def news_notice(portal: Portal, payload: dict[str, Any], language: str) -> Notice | None:
    """A news item as it reaches the chat, with a button to read it in Actualités; None
    (nothing sent) once withdrawn."""
    item = await _service(portal).for_delivery(int(payload["news_id"]), language)
    if item is None:
        return None
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(text("news.btn.read", language), callback_data=f"{OPEN}{item.id}")]]
    )
    return Notice(item_text(item, language), keyboard)


# --- Handlers --------------------------------------------------------------------------------


def _list_keyboard(
    headlines: list[Any], page: int, pages: int, muted: bool, language: str
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("⚠️ " if item.urgent else "") + _short(item.title),
                callback_data=f"{OPEN}{item.id}",
            )
        ]
        for item in headlines
    ]
    turns = []
    if page > 0:
        turns.append(
            InlineKeyboardButton(
                text("news.btn.previous", language), callback_data=f"{PAGE}{page}"
            )
        )
    if page + 1 < pages:
        turns.append(
            InlineKeyboardButton(
                text("news.btn.next", language), callback_data=f"{PAGE}{page + 2}"
            )
        )
    if turns:
        rows.append(turns)
    toggle = (
        InlineKeyboardButton(text("news.btn.unmute", language), callback_data=f"{MUTE}off")
        if muted
        else InlineKeyboardButton(text("news.btn.mute", language), callback_data=f"{MUTE}on")
    )
    rows.append(
        [toggle, InlineKeyboardButton(text("news.btn.close", language), callback_data=CLOSE)]
    )
    return InlineKeyboardMarkup(rows)


async def show_news(update: Update, context: PortalContext) -> None:
    """/actualites, the menu button, a page turned, ◀ Retour: the family's items, latest
    first, a page at a time (`nw:p:<n>`, counted from 1)."""
    query = update.callback_query
    page = 0
    if query is not None:
        number = record_id(query.data, PAGE)
        page = number - 1 if number is not None else 0
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    await _show_list(update, context, parent.actor, parent.language, page)


async def _show_list(
    update: Update, context: PortalContext, actor: Any, language: str, page: int
) -> None:
    service = _service(context.portal)
    headlines, total = await service.headlines(actor, page * PAGE_SIZE, PAGE_SIZE, language)
    pages = max(1, -(-total // PAGE_SIZE))
    if page >= pages:
        page = pages - 1
        headlines, total = await service.headlines(actor, page * PAGE_SIZE, PAGE_SIZE, language)
    muted = await service.is_muted(actor)
    lines = [text("news.title", language), ""]
    if not headlines:
        lines.append(text("news.none", language))
    for item in headlines:
        lines.append(
            text(
                "news.line",
                language,
                marker_html=text("news.urgent_marker", language) if item.urgent else "",
                title=item.title,
                day=day_label(item.published_at.astimezone(PARIS).date(), language),
            )
        )
    if headlines:
        lines += ["", text("news.pick", language)]
    if pages > 1:
        lines.append(text("news.page", language, page=page + 1, pages=pages))
    if muted:
        lines += ["", text("news.muted_note", language)]
    await show(update, "\n".join(lines), _list_keyboard(headlines, page, pages, muted, language))


async def show_item(update: Update, context: PortalContext) -> None:
    """One item whole, with ◀ Retour; its image or PDF sent under it."""
    parent = await who(update, context)
    query = update.callback_query
    if parent is None or query is None:
        await answer(update)
        return
    news_id = record_id(query.data, OPEN)
    assert news_id is not None, "the handler's pattern is `with_record_id(OPEN)`"
    try:
        item = await _service(context.portal).item(parent.actor, news_id, parent.language)
    except (AccessDenied, NotFound) as refusal:
        logger.info("news %s refused to %s: %s", news_id, parent.actor.label, refusal)
        await answer(update, text("news.unavailable", parent.language), alert=True)
        return
    await answer(update)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("news.btn.back", parent.language), callback_data=f"{PAGE}1"
                ),
                InlineKeyboardButton(text("news.btn.close", parent.language), callback_data=CLOSE),
            ]
        ]
    )
    await show(update, item_text(item, parent.language), keyboard)
    chat = update.effective_chat
    if item.attachment is not None and chat is not None:
        attachment = item.attachment
        if attachment.content_type in (JPEG, PNG):
            await chat.send_photo(attachment.content, filename=attachment.name)
        else:
            await chat.send_document(attachment.content, filename=attachment.name)


async def toggle_mute(update: Update, context: PortalContext) -> None:
    """🔕 / 🔔: news muted (urgent ones still come) or back on; the list shown again."""
    parent = await who(update, context)
    query = update.callback_query
    if parent is None or query is None:
        await answer(update)
        return
    wanted = choice(query.data, MUTE, MUTE_CHOICES) == "on"
    await _service(context.portal).set_muted(parent.actor, wanted)
    await answer(update, text("news.muted" if wanted else "news.unmuted", parent.language))
    await _show_list(update, context, parent.actor, parent.language, 0)


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("actualites", show_news),
    CallbackQueryHandler(show_news, pattern=f"^{MENU_NEWS}$"),
    CallbackQueryHandler(show_news, pattern=with_record_id(PAGE)),
    CallbackQueryHandler(show_item, pattern=with_record_id(OPEN)),
    CallbackQueryHandler(toggle_mute, pattern=one_of(MUTE, MUTE_CHOICES)),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The news view's handlers, to register before the conversations."""
