"""Deadline reminders in the chat: the message (what closes, when, for which children) with
"Comme le mois dernier" (a recap with prices, then ✅ Confirmer), "Choisir les jours" (the
booking calendar of that child and activity) and "Pas besoin ce mois-ci"; and `/rappels`,
where a parent turns an activity's reminders off and on.

A read-only view, like `conversations.news`: a button carries the reminder's wave (and the
recap's confirm its key); the store checks at each tap that the reminder concerns the family,
and books through the bookings service. Register `HANDLERS` before the conversations.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.booking import row_data
from conversations.kit.callback_data import record_id, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.formatting import amount, day_month, days_label, month_title
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_REMINDERS, menu_button
from conversations.kit.notices import Notice, renders
from conversations.kit.texts import counted, text
from conversations.kit.views import close_view
from conversations.kit.who import Who, who
from store.actors import AccessDenied, NotFound
from store.bookings import Outcome
from store.deadlines import format_moment
from store.idempotency import is_key, new_key
from store.reminders import MONTH, REMINDER_KIND, Recap, ReminderClosed, ReminderView

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)

SAME = "rm:same:"
SKIP = "rm:skip:"
BACK = "rm:back:"
CONFIRM = "rm:ok:"
MUTE = "rm:mute:"
CLOSE = "rm:x"
_CONFIRM = re.compile(rf"^{CONFIRM}(\d{{1,12}}):([A-Za-z0-9_-]{{16}})\Z")
_MUTE = re.compile(rf"^{MUTE}(\d{{1,12}}):(on|off)\Z")


# --- Pure rendering --------------------------------------------------------------------------


def period_label(kind: str, first: date, last: date, language: str) -> str:
    """ "décembre 2026", or a window's days "du 19 décembre au 3 janvier"."""
    if kind == MONTH:
        return month_title(first, language)
    return text(
        "reminder.period_window",
        language,
        first=day_month(first, language),
        last=day_month(last, language),
    )


def reminder_text(view: ReminderView, language: str) -> str:
    period = period_label(view.period_kind, view.period_start, view.period_end, language)
    values = {
        "activity": view.activity_name,
        "period": period,
        "deadline": format_moment(view.deadline, language),
    }
    head = text("reminder.opened" if view.opening else "reminder.closes", language, **values)
    names = ", ".join(name for _, name in view.children)
    return "\n\n".join(
        [
            head,
            text("reminder.nothing_booked", language, children=names),
            text("reminder.offer", language),
        ]
    )


def reminder_keyboard(view: ReminderView, language: str) -> InlineKeyboardMarkup:
    month = view.period_kind == MONTH
    rows = [
        [
            InlineKeyboardButton(
                text("reminder.btn.same_month" if month else "reminder.btn.same_window", language),
                callback_data=f"{SAME}{view.wave_id}",
            )
        ]
    ]
    rows += pick_buttons(list(view.children), view.activity_id, language)
    rows.append(
        [
            InlineKeyboardButton(
                text("reminder.btn.skip_month" if month else "reminder.btn.skip_window", language),
                callback_data=f"{SKIP}{view.wave_id}",
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def recap_text(recap: Recap, language: str) -> str:
    period = period_label(recap.period_kind, recap.period_start, recap.period_end, language)
    lines = [
        text("reminder.recap_title", language, activity=recap.activity_name, period=period),
        "",
    ]
    for child in recap.children:
        if child.days:
            lines.append(
                counted(
                    "reminder.recap_child",
                    len(child.days),
                    language,
                    child=child.name,
                    days=days_label([day.day for day in child.days], language),
                    amount=amount(sum(day.price_cents for day in child.days), language),
                )
            )
        elif not child.refused:
            key = "reminder.recap_already" if child.already else "reminder.recap_none"
            lines.append(counted(key, child.already, language, child=child.name))
        if child.refused:
            lines.append(
                text(
                    "reminder.recap_refused",
                    language,
                    child=child.name,
                    days=days_label([day.day for day in child.refused], language),
                )
            )
    lines.append("")
    if recap.day_count:
        lines.append(
            counted(
                "reminder.recap_total",
                recap.day_count,
                language,
                amount=amount(recap.total_cents, language),
            )
        )
    elif any(child.already for child in recap.children) and not any(
        child.refused for child in recap.children
    ):
        lines.append(text("reminder.recap_all_booked", language))
    else:
        lines.append(text("reminder.recap_empty", language))
    return "\n".join(lines)


def pick_buttons(
    children: list[tuple[int, str]], activity_id: int, language: str
) -> list[list[InlineKeyboardButton]]:
    """📅 Choisir les jours: the booking calendar of the child (one button per child)."""
    if len(children) == 1:
        [(child_id, _name)] = children
        return [
            [
                InlineKeyboardButton(
                    text("reminder.btn.pick", language),
                    callback_data=row_data(child_id, activity_id),
                )
            ]
        ]
    return [
        [
            InlineKeyboardButton(
                text("reminder.btn.pick_child", language, child=name),
                callback_data=row_data(child_id, activity_id),
            )
        ]
        for child_id, name in children
    ]


# --- The broadcast ---------------------------------------------------------------------------


@renders(REMINDER_KIND)
async def reminder_notice(portal: Portal, payload: dict[str, Any], language: str) -> Notice | None:
    """A reminder as it reaches the chat; None (nothing sent) when it no longer applies."""
    view = await portal.reminders.for_delivery(
        int(payload["wave_id"]),
        int(payload["guardian_id"]),
        [int(child) for child in payload.get("children", [])],
    )
    if view is None:
        return None
    return Notice(reminder_text(view, language), reminder_keyboard(view, language))


# --- Handlers --------------------------------------------------------------------------------


# What the reminders service refuses a tap with: said to the parent by `_refused`.
REFUSED = (AccessDenied, NotFound, ReminderClosed)


async def _refused(update: Update, parent: Who, error: Exception) -> None:
    logger.info("reminder refused to %s: %s", parent.actor.label, error)
    if isinstance(error, ReminderClosed):
        # A stale reminder (its period closed): said in place of its buttons, nothing done.
        language = parent.language
        closed = text(
            "reminder.closed", language, deadline=format_moment(error.deadline, language)
        )
        await answer(update, closed)
        await show(update, closed, menu_button(language))
        return
    await answer(update, text("reminder.unavailable", parent.language), alert=True)


async def _tapped_wave(
    update: Update, context: PortalContext, prefix: str
) -> tuple[Who, int] | None:
    """The parent and the reminder wave a button with `prefix` names; None (the tap answered)
    when the parent is not linked or the button's data is not one of ours."""
    parent = await who(update, context)
    query = update.callback_query
    wave_id = record_id(query.data if query else None, prefix)
    if parent is None or wave_id is None:
        await answer(update)
        return None
    return parent, wave_id


async def same_as_last(update: Update, context: PortalContext) -> None:
    """🔁 Comme le mois dernier: the recap, with ✅ Confirmer and Annuler."""
    tapped = await _tapped_wave(update, context, SAME)
    if tapped is None:
        return
    parent, wave_id = tapped
    try:
        recap = await context.portal.reminders.recap(parent.actor, wave_id)
    except REFUSED as error:
        await _refused(update, parent, error)
        return
    await answer(update)
    language = parent.language
    rows = []
    if recap.day_count:
        rows.append(
            InlineKeyboardButton(
                text("reminder.btn.confirm", language),
                callback_data=f"{CONFIRM}{wave_id}:{new_key()}",
            )
        )
    rows.append(
        InlineKeyboardButton(
            text("reminder.btn.cancel", language), callback_data=f"{BACK}{wave_id}"
        )
    )
    # Nothing to take again: the calendar is the way on, one tap away.
    picks = (
        []
        if recap.day_count
        else pick_buttons(
            [(child.child_id, child.name) for child in recap.children],
            recap.activity_id,
            language,
        )
    )
    await show(update, recap_text(recap, language), InlineKeyboardMarkup([*picks, rows]))


async def confirm(update: Update, context: PortalContext) -> None:
    """✅ Confirmer: the days booked through the bookings service (once per recap)."""
    parent = await who(update, context)
    query = update.callback_query
    found = _CONFIRM.match(query.data or "") if query is not None else None
    if parent is None or found is None or not is_key(found.group(2)):
        await answer(update)
        return
    wave_id, key = int(found.group(1)), found.group(2)
    try:
        view = await context.portal.reminders.reminder(parent.actor, wave_id)
        booked = await context.portal.reminders.book_as_last(parent.actor, wave_id, key)
    except REFUSED as error:
        await _refused(update, parent, error)
        return
    await answer(update)
    language = parent.language
    placed = [o for o in booked.outcomes if o.outcome is not Outcome.REFUSED]
    refused = [o for o in booked.outcomes if o.outcome is Outcome.REFUSED]
    lines = []
    if placed:
        lines.append(
            counted(
                "reminder.booked",
                len(placed),
                language,
                activity=view.activity_name,
                amount=amount(sum(o.price_cents for o in placed), language),
            )
        )
        for state, key_name in (
            (Outcome.PENDING, "reminder.booked_pending"),
            (Outcome.WAITLISTED, "reminder.booked_waitlisted"),
        ):
            count = sum(o.outcome is state for o in placed)
            if count:
                lines.append(counted(key_name, count, language))
    elif not booked.outcomes:
        # Another recap (an older copy of the reminder) booked these days meanwhile.
        lines.append(text("reminder.booked_already", language))
    else:
        lines.append(text("reminder.booked_nothing", language))
    if refused:
        days = days_label(sorted({o.day for o in refused}), language)
        lines.append(text("reminder.booked_refused", language, days=days))
    await show(update, "\n".join(lines), menu_button(language))


async def back(update: Update, context: PortalContext) -> None:
    """Annuler: the reminder again, as it was; nothing booked."""
    tapped = await _tapped_wave(update, context, BACK)
    if tapped is None:
        return
    parent, wave_id = tapped
    try:
        view = await context.portal.reminders.reminder(parent.actor, wave_id)
    except REFUSED as error:
        await _refused(update, parent, error)
        return
    await answer(update)
    await show(
        update, reminder_text(view, parent.language), reminder_keyboard(view, parent.language)
    )


async def skip(update: Update, context: PortalContext) -> None:
    """🙅 Pas besoin ce mois-ci: no more reminders of the period for the family."""
    tapped = await _tapped_wave(update, context, SKIP)
    if tapped is None:
        return
    parent, wave_id = tapped
    try:
        view = await context.portal.reminders.reminder(parent.actor, wave_id)
        await context.portal.reminders.skip_period(parent.actor, wave_id)
    except REFUSED as error:
        await _refused(update, parent, error)
        return
    await answer(update)
    language = parent.language
    period = period_label(view.period_kind, view.period_start, view.period_end, language)
    await show(
        update,
        text("reminder.skipped", language, activity=view.activity_name, period=period),
        menu_button(language),
    )


async def show_settings(update: Update, context: PortalContext) -> None:
    """/rappels and the menu's ⏰ Rappels: the family's activities, each a toggle."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    await _show_settings(update, context, parent)


async def _show_settings(update: Update, context: PortalContext, parent: Who) -> None:
    language = parent.language
    lines = await context.portal.reminders.mutes(parent.actor)
    rows = [
        [
            InlineKeyboardButton(
                text(
                    "reminder.off" if line.muted else "reminder.on",
                    language,
                    activity=line.name,
                ),
                callback_data=f"{MUTE}{line.activity_id}:{'off' if line.muted else 'on'}",
            )
        ]
        for line in lines
    ]
    rows.append([InlineKeyboardButton(text("reminder.btn.close", language), callback_data=CLOSE)])
    message = text("reminder.settings_title", language)
    if not lines:
        message += "\n\n" + text("reminder.settings_none", language)
    await show(update, message, InlineKeyboardMarkup(rows))


async def toggle(update: Update, context: PortalContext) -> None:
    """🔔 / 🔕 an activity: its reminders off (`on`: mute them) or back on."""
    parent = await who(update, context)
    query = update.callback_query
    found = _MUTE.match(query.data or "") if query is not None else None
    if parent is None or found is None:
        await answer(update)
        return
    activity_id, wanted = int(found.group(1)), found.group(2) == "on"
    try:
        await context.portal.reminders.set_muted(parent.actor, activity_id, wanted)
    except (AccessDenied, NotFound) as error:
        await _refused(update, parent, error)
        return
    names = {
        line.activity_id: line.name for line in await context.portal.reminders.mutes(parent.actor)
    }
    await answer(
        update,
        text(
            "reminder.muted" if wanted else "reminder.unmuted",
            parent.language,
            activity=names.get(activity_id, ""),
        ),
    )
    await _show_settings(update, context, parent)


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("rappels", show_settings),
    CallbackQueryHandler(show_settings, pattern=f"^{MENU_REMINDERS}$"),
    CallbackQueryHandler(same_as_last, pattern=with_record_id(SAME)),
    CallbackQueryHandler(skip, pattern=with_record_id(SKIP)),
    CallbackQueryHandler(back, pattern=with_record_id(BACK)),
    CallbackQueryHandler(confirm, pattern=_CONFIRM),
    CallbackQueryHandler(toggle, pattern=_MUTE),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The reminders' handlers, to register before the conversations."""
