"""Mes demandes: the family's requests of every kind with their state, newest first; filters by
kind and by child; the last three months, or everything; a page at a time; each one in detail.

A read-only view, so one-shot handlers like `conversations.balance`: every button carries the
whole view it leads to (kind, child, span, page) or the request it opens, the store re-checks
on each tap that the child and the request are the family's, and nothing is kept between taps.
Register `HANDLERS` before the conversations.

The words of a booking's state are the calendar's (`mark.*`, with its marks) and the cancel
list's (its waiting-list rank), so a day reads the same everywhere; absences and documents keep
the words of "Mes absences" and "Mes documents".
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from babel.dates import get_day_names
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.booking import DAY_MARKS
from conversations.documents import document_label
from conversations.kit.callback_data import MAX_RECORD_ID
from conversations.kit.context import PortalContext
from conversations.kit.formatting import BABEL_LOCALES, day_and_time, day_label, long_day
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_REQUESTS
from conversations.kit.texts import CATALOG, text
from conversations.kit.views import close_view
from conversations.kit.who import Who, family_screen, who
from store.actors import AccessDenied, NotFound
from store.planning import DayState
from store.requests_list import (
    HEALTH,
    HIDDEN,
    RequestFilter,
    RequestItem,
    RequestKind,
    RequestsListService,
    RequestState,
    recent_since,
)

logger = logging.getLogger(__name__)

VIEW = "rq:v:"
OPEN = "rq:o:"
KINDS = "rq:k:"
CHILDREN = "rq:c:"
CLOSE = "rq:x"

ALL = "all"
RECENT = "r"
OLDER = "o"
PAGE_SIZE = 8
MAX_PAGE = 999
SEPARATOR = " · "
BUTTON_LENGTH = 60

_VIEW_BODY = (
    r"(all|" + "|".join(kind.value for kind in RequestKind) + r")\.(0|[1-9][0-9]{0,9})"
    r"\.([ro])\.(0|[1-9][0-9]{0,2})"
)
_VIEW_DATA = re.compile(_VIEW_BODY)
_OPEN_DATA = re.compile(
    r"(" + "|".join(kind.value for kind in RequestKind) + r"):([1-9][0-9]{0,9}):" + _VIEW_BODY
)


@dataclass(frozen=True)
class View:
    """What the list shows: a kind (None: all), a child (None: all), a span, a page."""

    kind: RequestKind | None = None
    child_id: int | None = None
    older: bool = False
    page: int = 0

    def data(self) -> str:
        """The view as callback data's tail: "all.0.r.0"."""
        kind = self.kind.value if self.kind else ALL
        span = OLDER if self.older else RECENT
        return f"{kind}.{self.child_id or 0}.{span}.{self.page}"

    def but(self, **changes: Any) -> View:
        """This view with some of its fields changed."""
        return replace(self, **changes)


def _view_from(groups: tuple[str | Any, ...]) -> View | None:
    kind, child, span, page = groups
    child_id = int(child)
    if child_id > MAX_RECORD_ID:
        return None
    return View(
        None if kind == ALL else RequestKind(kind),
        child_id or None,
        span == OLDER,
        min(int(page), MAX_PAGE),
    )


def parse_view(data: object, prefix: str) -> View | None:
    """The view after `prefix` in callback data, or None unless it is exactly one."""
    if not isinstance(data, str) or not data.startswith(prefix):
        return None
    found = _VIEW_DATA.fullmatch(data[len(prefix) :])
    return _view_from(found.groups()) if found else None


def parse_open(data: object) -> tuple[RequestKind, int, View] | None:
    """The request to open and the view to come back to, or None."""
    if not isinstance(data, str) or not data.startswith(OPEN):
        return None
    found = _OPEN_DATA.fullmatch(data[len(OPEN) :])
    if found is None:
        return None
    kind, request_id, *view = found.groups()
    parsed = _view_from(tuple(view))
    if parsed is None or int(request_id) > MAX_RECORD_ID:
        return None
    return RequestKind(kind), int(request_id), parsed


def _service(context: PortalContext) -> RequestsListService:
    return context.portal.requests_list


# --- Pure rendering ---------------------------------------------------------------------------

_MARKS = {
    RequestState.PENDING: DAY_MARKS[DayState.PENDING],
    RequestState.WAITLISTED: DAY_MARKS[DayState.WAITLISTED],
}
_SYMBOLS = {RequestState.ACCEPTED: "✅", RequestState.REFUSED: "❌", RequestState.WITHDRAWN: "↩️"}
_ABSENCE_STATUS = {
    RequestState.PENDING: "reported",
    RequestState.ACCEPTED: "excused",
    RequestState.REFUSED: "refused",
}
_DOCUMENT_STATUS = {
    RequestState.PENDING: "pending",
    RequestState.ACCEPTED: "accepted",
    RequestState.REFUSED: "rejected",
}


def state_words(item: RequestItem, language: str) -> str:
    """ "⏳ en attente de validation", "🕒 liste d'attente n°2", "❌ refusée"..."""
    if item.kind is RequestKind.ABSENCE and item.state in _ABSENCE_STATUS:
        return text(f"absence.status.{_ABSENCE_STATUS[item.state]}", language)
    if item.kind is RequestKind.DOCUMENT and item.state in _DOCUMENT_STATUS:
        return text(f"documents.status.{_DOCUMENT_STATUS[item.state]}", language)
    mark = _MARKS.get(item.state)
    if mark is not None:
        words = f"{mark.symbol} {text(mark.legend, language)}"
        if item.position is not None:
            words += " " + text("cancel.rank", language, position=item.position)
        return words
    return f"{_SYMBOLS[item.state]} {text(f'requests.state.{item.state.value}', language)}"


def field_label(field: str, language: str) -> str:
    """A changed field of the family file in words; an unknown one as it is."""
    key = f"requests.field.{field}"
    return text(key, language) if key in CATALOG else field


def subject(item: RequestItem, language: str) -> str:
    """What the request is about, in a few words."""
    if item.kind is RequestKind.BOOKING and item.day is not None:
        return text(
            "requests.subject.booking",
            language,
            activity=item.subject,
            day=day_label(item.day, language),
        )
    if item.kind is RequestKind.ABSENCE and item.day is not None:
        reason_key = f"absence.reason.{item.subject}"
        reason = text(reason_key, language) if reason_key in CATALOG else item.subject
        if item.until is None or item.until == item.day:
            return text(
                "requests.subject.absence_day",
                language,
                reason=reason,
                day=day_label(item.day, language),
            )
        return text(
            "requests.subject.absence",
            language,
            reason=reason,
            start=day_label(item.day, language),
            end=day_label(item.until, language),
        )
    if item.kind is RequestKind.DOCUMENT:
        return document_label(item.subject, language)
    if item.kind is RequestKind.FILE_CHANGE:
        return field_label(item.subject, language)
    if item.kind is RequestKind.ERASURE:
        return text("requests.subject.erasure", language)
    if item.kind is RequestKind.ENROLMENT and item.day is not None:
        return text(
            "requests.subject.enrolment",
            language,
            activity=item.subject,
            day=day_label(item.day, language),
        )
    return item.subject


def _capitalised(words: str) -> str:
    return words[:1].upper() + words[1:]


def item_line(number: int, item: RequestItem, language: str) -> str:
    """ "3. Réservation · Lucas · CL Mercredis, mer. 9 déc. — ⏳ en attente de validation"."""
    parts = [text(f"requests.kind.{item.kind.value}", language)]
    if item.child_name:
        parts.append(html.escape(item.child_name))
    parts.append(subject(item, language))
    return text(
        "requests.line",
        language,
        number=number,
        what_html=SEPARATOR.join(parts),
        state_html=state_words(item, language),
        asked=day_label(item.asked_at.date(), language),
    )


def _filters_line(view: View, names: dict[int, str], language: str) -> str:
    kind = (
        text(f"requests.kinds.{view.kind.value}", language)
        if view.kind
        else text("requests.kinds.all", language)
    )
    child = names.get(view.child_id, "") if view.child_id else text("btn.all_children", language)
    span = text("requests.span.older" if view.older else "requests.span.recent", language)
    return text("requests.filters", language, kind_html=kind, child=child, span_html=span)


def list_text(items: list[RequestItem], view: View, names: dict[int, str], language: str) -> str:
    """The page `view.page` of `items`, numbered across pages, with the filters in force."""
    lines = [text("requests.title", language), _filters_line(view, names, language), ""]
    start = view.page * PAGE_SIZE
    shown = items[start : start + PAGE_SIZE]
    if not shown:
        lines.append(text("requests.none_older" if view.older else "requests.none", language))
    for number, item in enumerate(shown, start=start + 1):
        lines.append(item_line(number, item, language))
    pages = max(1, -(-len(items) // PAGE_SIZE))
    if pages > 1:
        lines += ["", text("requests.page", language, page=view.page + 1, pages=pages)]
    return "\n".join(lines)


def button_label(number: int, item: RequestItem, language: str) -> str:
    """ "3. Inscription · Emma", "6. Document · attestation d'assurance" (plain text)."""
    about = item.child_name or html.unescape(subject(item, language))
    label = f"{number}. {text(f'requests.kind.{item.kind.value}', language)}{SEPARATOR}{about}"
    return label if len(label) <= BUTTON_LENGTH else label[: BUTTON_LENGTH - 1] + "…"


def list_keyboard(items: list[RequestItem], view: View, language: str) -> InlineKeyboardMarkup:
    """A button per request of the page, then pages, filters, span and close."""
    start = view.page * PAGE_SIZE
    shown = items[start : start + PAGE_SIZE]
    rows = []
    for number, item in enumerate(shown, start=start + 1):
        label = button_label(number, item, language)
        rows.append(
            [
                InlineKeyboardButton(
                    label, callback_data=f"{OPEN}{item.kind.value}:{item.id}:{view.data()}"
                )
            ]
        )
    paging = []
    if view.page > 0:
        paging.append(
            InlineKeyboardButton(
                text("requests.btn.previous", language),
                callback_data=f"{VIEW}{view.but(page=view.page - 1).data()}",
            )
        )
    if start + PAGE_SIZE < len(items) and view.page < MAX_PAGE:
        paging.append(
            InlineKeyboardButton(
                text("requests.btn.next", language),
                callback_data=f"{VIEW}{view.but(page=view.page + 1).data()}",
            )
        )
    if paging:
        rows.append(paging)
    rows.append(
        [
            InlineKeyboardButton(
                text("requests.btn.by_kind", language), callback_data=f"{KINDS}{view.data()}"
            ),
            InlineKeyboardButton(
                text("requests.btn.by_child", language), callback_data=f"{CHILDREN}{view.data()}"
            ),
        ]
    )
    span_key = "requests.btn.recent" if view.older else "requests.btn.older"
    rows.append(
        [
            InlineKeyboardButton(
                text(span_key, language),
                callback_data=f"{VIEW}{view.but(older=not view.older, page=0).data()}",
            ),
            InlineKeyboardButton(text("requests.btn.close", language), callback_data=CLOSE),
        ]
    )
    return InlineKeyboardMarkup(rows)


def kinds_keyboard(view: View, language: str) -> InlineKeyboardMarkup:
    """A button per kind of request, and "every kind"."""
    rows = [
        [
            InlineKeyboardButton(
                text(f"requests.kinds.{kind.value}", language),
                callback_data=f"{VIEW}{view.but(kind=kind, page=0).data()}",
            )
        ]
        for kind in RequestKind
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text("requests.kinds.all", language),
                callback_data=f"{VIEW}{view.but(kind=None, page=0).data()}",
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def children_keyboard(view: View, names: dict[int, str], language: str) -> InlineKeyboardMarkup:
    """A button per child, and "all my children"."""
    rows = [
        [
            InlineKeyboardButton(
                name, callback_data=f"{VIEW}{view.but(child_id=child_id, page=0).data()}"
            )
        ]
        for child_id, name in sorted(names.items(), key=lambda entry: entry[1])
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text("btn.all_children", language),
                callback_data=f"{VIEW}{view.but(child_id=None, page=0).data()}",
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


def _value_words(value: Any, language: str) -> str:
    if value is None or value == "":
        return text("requests.value.none", language)
    if isinstance(value, bool):
        return text("requests.value.yes" if value else "requests.value.no", language)
    if isinstance(value, dict):
        return ", ".join(str(part) for part in value.values() if part not in (None, ""))
    if isinstance(value, list):
        return ", ".join(str(part) for part in value)
    return str(value)


def weekdays_label(weekdays: tuple[int, ...], language: str) -> str:
    """ "mercredi, vendredi" / "Wednesday, Friday" (0 = Monday)."""
    names = get_day_names("wide", locale=BABEL_LOCALES.get(language, "fr_FR"))
    return ", ".join(names[day] for day in sorted(set(weekdays)) if 0 <= day <= 6)


def detail_text(item: RequestItem, language: str) -> str:
    """One request: what, for whom, its state, when asked and decided, the reason, the values."""
    lines = [
        text(
            "requests.detail_title",
            language,
            kind=text(f"requests.kind.{item.kind.value}", language),
        ),
        "",
        _capitalised(subject(item, language)),
    ]
    if item.child_name:
        lines.append(text("requests.detail_child", language, child=item.child_name))
    if item.kind is RequestKind.REGISTRATION and item.day is not None:
        lines.append(
            text(
                "requests.detail_birth",
                language,
                day=long_day(item.day, language),
                level=item.reference or "",
            )
        )
    if item.kind is RequestKind.ENROLMENT and item.weekdays:
        days = weekdays_label(item.weekdays, language)
        lines.append(text("requests.detail_weekdays", language, days=days))
    if item.subject in (HIDDEN, HEALTH) and item.kind in (
        RequestKind.ABSENCE,
        RequestKind.FILE_CHANGE,
    ):
        lines.append(text("visibility.health_hidden", language))
    elif item.kind is RequestKind.FILE_CHANGE:
        lines.append(
            text("requests.detail_old", language, value=_value_words(item.old_value, language))
        )
        lines.append(
            text("requests.detail_new", language, value=_value_words(item.new_value, language))
        )
    if item.kind is RequestKind.ABSENCE and item.reference:
        lines.append(text("requests.detail_reference", language, reference=item.reference))
        if item.subject != HIDDEN:
            certificate = "with" if item.with_certificate else "without"
            lines.append(text(f"requests.detail_certificate.{certificate}", language))
    lines += [
        "",
        text("requests.detail_state", language, state_html=state_words(item, language)),
        text("requests.detail_asked", language, moment=day_and_time(item.asked_at, language)),
    ]
    if item.decided_at is not None and item.state in (RequestState.ACCEPTED, RequestState.REFUSED):
        lines.append(
            text(
                "requests.detail_decided", language, moment=day_and_time(item.decided_at, language)
            )
        )
    if item.reason and item.state in (RequestState.REFUSED, RequestState.WAITLISTED):
        lines.append(text("requests.detail_reason", language, reason=item.reason))
    return "\n".join(lines)


def detail_keyboard(view: View, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("requests.btn.back", language), callback_data=f"{VIEW}{view.data()}"
                ),
                InlineKeyboardButton(text("requests.btn.close", language), callback_data=CLOSE),
            ]
        ]
    )


# --- Handlers ---------------------------------------------------------------------------------


async def _screen(
    update: Update, context: PortalContext
) -> tuple[Who, int, dict[int, str]] | None:
    """The linked parent, their family and their children's names (the tap not answered yet:
    a refusal is answered as a toast); None for a parent not linked (told how to link)."""
    parent = await who(update, context)
    if parent is None or parent.actor.family_id is None:
        await answer(update)
        return None
    children = await context.portal.families.children(parent.actor)
    return parent, parent.actor.family_id, {child.id: child.first_name for child in children}


async def _list(update: Update, context: PortalContext, view: View) -> None:
    screen = await _screen(update, context)
    if screen is None:
        return
    parent, family_id, names = screen
    language = parent.language
    wanted = RequestFilter(
        view.kind, view.child_id, None if view.older else recent_since(context.portal.today())
    )
    try:
        items = await _service(context).requests(parent.actor, family_id, wanted)
    except (AccessDenied, NotFound) as refusal:
        logger.info("requests list refused to %s: %s", parent.actor.label, refusal)
        await answer(update, text("requests.unavailable", language))
        return
    await answer(update)
    last_page = max(0, (len(items) - 1) // PAGE_SIZE)
    if view.page > last_page:
        view = view.but(page=last_page)
    await show(
        update, list_text(items, view, names, language), list_keyboard(items, view, language)
    )


async def show_requests(update: Update, context: PortalContext) -> None:
    """Menu button and /demandes: the last three months' requests of every kind and child."""
    await _list(update, context, View())


async def show_view(update: Update, context: PortalContext) -> None:
    """A filter, a page or the span tapped: the list as the button says."""
    query = update.callback_query
    view = parse_view(query.data if query else None, VIEW)
    assert view is not None, "the handler's pattern lets only views through"
    await _list(update, context, view)


async def pick_kind(update: Update, context: PortalContext) -> None:
    """🔎 By kind: a button per kind of request."""
    query = update.callback_query
    view = parse_view(query.data if query else None, KINDS)
    assert view is not None
    screen = await family_screen(update, context)
    if screen is None:
        return
    language = screen[0].language
    await show(update, text("requests.pick_kind", language), kinds_keyboard(view, language))


async def pick_child(update: Update, context: PortalContext) -> None:
    """👧 By child: a button per child of the family."""
    query = update.callback_query
    view = parse_view(query.data if query else None, CHILDREN)
    assert view is not None
    screen = await family_screen(update, context)
    if screen is None:
        return
    parent, _family_id, names = screen
    language = parent.language
    await show(
        update, text("requests.pick_child", language), children_keyboard(view, names, language)
    )


async def show_request(update: Update, context: PortalContext) -> None:
    """A request's detail, with back to the list it was opened from."""
    query = update.callback_query
    opened = parse_open(query.data if query else None)
    assert opened is not None
    kind, request_id, view = opened
    screen = await _screen(update, context)
    if screen is None:
        return
    parent, family_id, _names = screen
    language = parent.language
    try:
        item = await _service(context).request(parent.actor, family_id, kind, request_id)
    except (AccessDenied, NotFound) as refusal:
        # The same answer for "not yours" and "no such request": ids are not probed this way.
        logger.info(
            "request %s %s refused to %s: %s", kind.value, request_id, parent.actor.label, refusal
        )
        await answer(update, text("requests.unavailable", language))
        return
    await answer(update)
    await show(update, detail_text(item, language), detail_keyboard(view, language))


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("demandes", show_requests),
    CallbackQueryHandler(show_requests, pattern=f"^{MENU_REQUESTS}$"),
    CallbackQueryHandler(show_view, pattern=lambda data: parse_view(data, VIEW) is not None),
    CallbackQueryHandler(pick_kind, pattern=lambda data: parse_view(data, KINDS) is not None),
    CallbackQueryHandler(pick_child, pattern=lambda data: parse_view(data, CHILDREN) is not None),
    CallbackQueryHandler(show_request, pattern=lambda data: parse_open(data) is not None),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The requests list's handlers, to register before the conversations."""
