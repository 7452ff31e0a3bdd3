"""Mon planning: the month of all the family's children as one picture, ◀ ▶ for the other
months, a button per row that opens its calendar, and the month in text for screen readers.

A read-only view, so one-shot handlers like `conversations.balance`: every button carries the
month it shows, the store reads the family of the acting guardian on each tap (a month of
another family cannot be asked for), and nothing is kept between taps. A row's button is the
booking flow's own entry (`conversations.booking.row_data`): the calendar it opens is the
booking flow's, under the picture. Register `HANDLERS` before the conversations.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from html import unescape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations import callbacks
from conversations.booking import row_data
from conversations.kit.context import PortalContext
from conversations.kit.formatting import day_number, long_day, month_title
from conversations.kit.live import answer, reply
from conversations.kit.menu import MENU_PLANNING, MENU_SHOW
from conversations.kit.month_picture import draw_month, row_label
from conversations.kit.texts import text
from conversations.kit.who import Who, who
from store.actors import AccessDenied, NotFound
from store.deadlines import format_moment
from store.month_view import CellState, FamilyMonth, MonthRow, MonthViewService

logger = logging.getLogger(__name__)

MONTH = "pl:m:"
TEXT = "pl:t:"
# How far from today's month ◀ ▶ go, either way.
MONTHS_AROUND = 12


def _service(context: PortalContext) -> MonthViewService:
    return MonthViewService(context.portal.sessions, context.portal.planning)


# --- Pure rendering ---------------------------------------------------------------------------


def shift(month: date, months: int) -> date:
    """The first day of the month `months` after `month`'s (before, if negative)."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def within_reach(month: date, today: date) -> bool:
    """Whether ◀ ▶ may show `month` (`MONTHS_AROUND` either way of today's)."""
    here = today.replace(day=1)
    return shift(here, -MONTHS_AROUND) <= month <= shift(here, MONTHS_AROUND)


def _month_of(data: object, prefix: str) -> date | None:
    """The month after `prefix` (`2026-12`), or None for anything else."""
    return callbacks.month_of(data, prefix) if isinstance(data, str) else None


def caption(month: FamilyMonth, language: str) -> str:
    return text("planning.caption", language, month=month_title(month.first, language))


def keyboard(month: FamilyMonth, language: str) -> InlineKeyboardMarkup:
    """A button per row (its calendar), ◀ month ▶, the text version and the menu."""
    rows = [
        [
            InlineKeyboardButton(
                unescape(text("planning.btn.row", language, row=row_label(row))),
                callback_data=row_data(row.child_id, row.activity_id),
            )
        ]
        for row in month.rows
    ]
    navigation = []
    for months, arrow in ((-1, "◀"), (1, "▶")):
        other = shift(month.first, months)
        if within_reach(other, month.today):
            navigation.append(InlineKeyboardButton(arrow, callback_data=f"{MONTH}{other:%Y-%m}"))
    rows.append(navigation)
    rows.append(
        [
            InlineKeyboardButton(
                text("planning.btn.text", language), callback_data=f"{TEXT}{month.first:%Y-%m}"
            ),
            InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _days(days: list[date], language: str) -> str:
    return ", ".join(day_number(day.day, language) for day in days)


def row_text(row: MonthRow, language: str) -> str:
    """One row in words: "<b>Lucas · Cantine</b> — réservé : 2, 9 ; fermé : 25"."""
    parts = []
    for state in CellState:
        days = sorted(day for day, cell in row.cells.items() if cell.state is state)
        if not days:
            continue
        listed = _days(days, language)
        deadline = row.cells[days[0]].deadline
        if deadline is not None:
            listed = text(
                "planning.text_until",
                language,
                days=listed,
                moment=format_moment(deadline, language),
            )
        parts.append(
            text(
                "planning.text_state",
                language,
                state=text(f"planning.state.{state.value}", language),
                days=unescape(listed),
            )
        )
    separator = text("planning.text_separator", language)
    states = separator.join(parts) if parts else text("planning.text_nothing", language)
    return text("planning.text_row", language, row=row_label(row), states_html=states)


def month_text(month: FamilyMonth, language: str) -> str:
    """The month in words, one line per row, for a screen reader."""
    lines = [text("planning.text_title", language, month=month_title(month.first, language))]
    if month.first <= month.today <= month.last:
        lines.append(text("planning.text_today", language, day=long_day(month.today, language)))
    lines.append("")
    if not month.rows:
        lines.append(text("planning.no_rows", language))
    lines += [row_text(row, language) for row in month.rows]
    return "\n".join(lines)


# --- Handlers ---------------------------------------------------------------------------------


async def _month(
    update: Update, context: PortalContext, month: date
) -> tuple[Who, FamilyMonth] | None:
    """The family's month as the store gives it to the acting guardian; None (the tap
    answered) for a parent not linked or a month out of reach."""
    parent = await who(update, context)
    if parent is None or parent.actor.family_id is None:
        await answer(update)
        return None
    today = context.portal.today()
    if not within_reach(month, today):
        await answer(update, text("planning.unavailable", parent.language))
        return None
    try:
        found = await _service(context).family_month(parent.actor, month, today)
    except (AccessDenied, NotFound) as refusal:
        logger.info("planning refused to %s: %s", parent.actor.label, refusal)
        await answer(update, text("planning.unavailable", parent.language))
        return None
    await answer(update)
    return parent, found


async def _draw(month: FamilyMonth, language: str) -> bytes:
    # Drawing a month takes a few dozen ms: off the event loop.
    picture = await asyncio.to_thread(draw_month, month, language)
    return picture.png


async def show_planning(update: Update, context: PortalContext) -> None:
    """Menu button and /planning: this month's picture, sent as a new message."""
    read = await _month(update, context, context.portal.today().replace(day=1))
    chat = update.effective_chat
    if read is None or chat is None:
        return
    parent, month = read
    await chat.send_chat_action(ChatAction.UPLOAD_PHOTO)
    await chat.send_photo(
        await _draw(month, parent.language),
        caption=caption(month, parent.language),
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(month, parent.language),
    )


async def change_month(update: Update, context: PortalContext) -> None:
    """◀ or ▶: another month in place of the picture (its media edited)."""
    query = update.callback_query
    target = _month_of(query.data if query else None, MONTH)
    assert target is not None, "the handler's pattern lets only months through"
    read = await _month(update, context, target)
    if read is None or query is None:
        return
    parent, month = read
    png = await _draw(month, parent.language)
    words, buttons = caption(month, parent.language), keyboard(month, parent.language)
    media = InputMediaPhoto(png, caption=words, parse_mode=ParseMode.HTML)
    try:
        await query.edit_message_media(media, reply_markup=buttons)
    except BadRequest as error:
        if "not modified" in str(error):
            return
        if "not found" not in str(error):
            raise
        # The picture is gone: the month comes as a new one.
        chat = update.effective_chat
        if chat is not None:
            await chat.send_photo(
                png, caption=words, parse_mode=ParseMode.HTML, reply_markup=buttons
            )


async def send_text(update: Update, context: PortalContext) -> None:
    """📝 Text version: the month shown, in words, as a new message."""
    query = update.callback_query
    target = _month_of(query.data if query else None, TEXT)
    assert target is not None, "the handler's pattern lets only months through"
    read = await _month(update, context, target)
    if read is None:
        return
    parent, month = read
    await reply(update, month_text(month, parent.language))


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("planning", show_planning),
    CallbackQueryHandler(show_planning, pattern=f"^{MENU_PLANNING}$"),
    CallbackQueryHandler(change_month, pattern=lambda data: _month_of(data, MONTH) is not None),
    CallbackQueryHandler(send_text, pattern=lambda data: _month_of(data, TEXT) is not None),
]
"""The planning view's handlers, to register before the conversations (see the module's doc)."""
