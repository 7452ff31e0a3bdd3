"""The menu and the keyboards every flow shows: the menu's buttons and their callback data, the
abort row, the menu button and the children picker."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from conversations.kit.texts import text
from store.families import ChildView

ABORT = "abort"
# Every menu button starts with this: tapping one opens something (see `handlers.flow_desk`).
MENU_PREFIX = "menu:"
MENU_BOOK = "menu:book"
MENU_CANCEL = "menu:cancel"
MENU_BALANCE = "menu:balance"
MENU_ABSENCE = "menu:absence"
MENU_MY_ABSENCES = "menu:absences"
MENU_DOCUMENTS = "menu:documents"
MENU_MESSAGES = "menu:messages"
MENU_FAMILY_FILE = "menu:file"
MENU_ENROLMENT = "menu:enrol"
MENU_REQUESTS = "menu:requests"
MENU_STATEMENT = "menu:statement"
MENU_TARIFFS = "menu:tariffs"
MENU_PLANNING = "menu:planning"
MENU_NEWS = "menu:news"
MENU_REMINDERS = "menu:reminders"
MENU_PRIVACY = "menu:privacy"
MENU_UNLINK = "menu:unlink"
MENU_SHOW = "menu:show"
UNLINK_YES = "unlink:yes"
# The buttons that open a flow with a file already received outside of it (`handlers.inputs`).
FILE_AS_CERTIFICATE = "file:certificate"
FILE_AS_DOCUMENT = "file:document"
FILE_DROP = "file:drop"


def abort_row(language: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text("btn.abort", language), callback_data=ABORT)]


def review_row(language: str, count: int, data: str) -> list[InlineKeyboardButton]:
    """The last row of a picker of days: review the `count` ticked (`data`), and abort."""
    return [
        InlineKeyboardButton(text("btn.review", language, count=count), callback_data=data),
        *abort_row(language),
    ]


def children_keyboard(
    children: Sequence[ChildView], language: str, prefix: str
) -> InlineKeyboardMarkup:
    """A button per child, "all my children" (`<prefix>all`), and abort."""
    rows = [
        [InlineKeyboardButton(child.first_name, callback_data=f"{prefix}{child.id}")]
        for child in children
    ]
    rows.append(
        [InlineKeyboardButton(text("btn.all_children", language), callback_data=f"{prefix}all")]
    )
    rows.append(abort_row(language))
    return InlineKeyboardMarkup(rows)


MENU_ROWS = (
    (("btn.book", MENU_BOOK), ("btn.cancel_days", MENU_CANCEL)),
    (("btn.absence", MENU_ABSENCE), ("btn.my_absences", MENU_MY_ABSENCES)),
    (("btn.documents", MENU_DOCUMENTS), ("btn.messages", MENU_MESSAGES)),
    (("btn.balance", MENU_BALANCE), ("btn.statement", MENU_STATEMENT)),
    (("btn.family_file", MENU_FAMILY_FILE), ("btn.enrolment", MENU_ENROLMENT)),
    (("btn.requests", MENU_REQUESTS), ("btn.tariffs", MENU_TARIFFS)),
    (("btn.planning", MENU_PLANNING), ("btn.news", MENU_NEWS)),
    (("btn.privacy", MENU_PRIVACY),),
    (("btn.reminders", MENU_REMINDERS), ("btn.unlink", MENU_UNLINK)),
)
"""The menu, two buttons a row: (text key, callback data)."""


def menu_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text(key, language), callback_data=data) for key, data in row]
            for row in MENU_ROWS
        ]
    )


def menu_button(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)]]
    )
