"""Inscriptions: ask to enrol a child in an activity, or to add a new child to the family.

Enrolment: child (straight on for an only child) → the activities of the school year the child
may join, each with the family's price, its days and its booking rule → start date (typed, or
"as soon as possible" / next Monday) → weekdays (for an activity open on several; the
Wednesday of a leisure centre ticked first) → recap, with the documents and consents still
needed → sent: pending (or on the waiting list, with its place) until the activity's service
decides. Pre-registration ("➕ Ajouter un enfant"): first name → last name → birth date →
school level → recap → sent to the family-file service.

States are named at the top, one function per step, the wiring in `build()` at the bottom. The
store (`store.enrolments`) checks everything again on every request; a button only names a
choice. The services' decisions reach the parent through the outbox (renderers below).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from conversations import callbacks
from conversations.documents import MENU_SEND, document_label
from conversations.family_file import MENU_CHANGE_CHILD
from conversations.kit.ask_back import ask_back_text
from conversations.kit.callback_data import choice, one_of, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.deadlines import rule_words
from conversations.kit.drafts import Drafts, State, Tap
from conversations.kit.flows import Flow, flow, opened_by
from conversations.kit.formatting import amount, day_label, long_day, weekday_name
from conversations.kit.language import chat_language, keep_language, saved
from conversations.kit.live import FlowDraft, answer, reply, show, show_step, typed_text
from conversations.kit.menu import MENU_BOOK, MENU_ENROLMENT, MENU_SHOW, abort_row, menu_button
from conversations.kit.notices import Notice, renders
from conversations.kit.texts import text
from conversations.kit.who import who
from dates import AskBack, Intent, understand
from store.actors import NotFound
from store.enrolments import (
    NOT_AT_SCHOOL,
    SCHOOL_LEVELS,
    EnrolmentRefused,
    OfferedActivity,
    check_birth_date,
    check_name,
    enrolment_facts,
    registration_facts,
)
from store.models.enums import RequestStatus
from store.policies import (
    ActivityRules,
)

if TYPE_CHECKING:
    from bot.portal import Portal

(
    CHOOSE_CHILD,
    CHOOSE_ACTIVITY,
    CHOOSE_START,
    CHOOSE_WEEKDAYS,
    REVIEW,
    ASK_FIRST_NAME,
    ASK_LAST_NAME,
    ASK_BIRTH_DATE,
    CHOOSE_LEVEL,
    REVIEW_CHILD,
) = (
    "enrolment:child",
    "enrolment:activity",
    "enrolment:start",
    "enrolment:weekdays",
    "enrolment:review",
    "enrolment:first_name",
    "enrolment:last_name",
    "enrolment:birth_date",
    "enrolment:level",
    "enrolment:child_review",
)

CHILD = "en:child:"
NEW_CHILD = "en:new"
ACTIVITY = "en:act:"
START = "en:start:"
ASAP = "asap"
WEEKDAY = "en:wd:"
WEEKDAYS_DONE = "en:wdok"
CONFIRM = "en:ok"
LEVEL = "en:level:"
CONFIRM_CHILD = "en:childok"
# A birth date typed as digits: 12/03/2019, 12-03-2019, 12.03.2019.
DIGITS_DATE = re.compile(r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*")


class EnrolmentDraft(FlowDraft, total=False):
    """The flow's draft (saved as JSON between updates)."""

    # The family's children's first names by id; the child picked (its id, as a string).
    names: dict[str, str]
    child: str
    # The activities offered to the child (ids, as strings, to their names), the one picked,
    # its open weekdays, the start day (iso) and the weekdays ticked.
    offered: dict[str, str]
    activity: int
    open_weekdays: list[int]
    start: str
    weekdays: list[int]
    # A new child: names, birth date (iso) and school level.
    first_name: str
    last_name: str
    birth_date: str
    level: str


DRAFTS = Drafts[EnrolmentDraft]("enrolment")


# Opening: which child --------------------------------------------------------------------


async def start(update: Update, context: PortalContext) -> State:
    """Entry: "📝 Inscriptions" or `/inscriptions`; straight on for an only child."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    children = await context.portal.families.children(parent.actor)
    keep_language(context, parent.language)
    draft = DRAFTS.start(
        context, {"names": {str(child.id): child.first_name for child in children}}
    )
    language = parent.language
    if len(children) == 1:
        draft["child"] = str(children[0].id)
        return await show_activities(update, context)
    rows = [
        [InlineKeyboardButton(child.first_name, callback_data=f"{CHILD}{child.id}")]
        for child in children
    ]
    rows.append([_new_child_button(language)])
    rows.append(abort_row(language))
    message = text("enrolment.pick_child" if children else "enrolment.no_child", language)
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_CHILD


@DRAFTS.tap(CHOOSE_CHILD, read=lambda data: callbacks.id_of(data, CHILD))
async def choose_child(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, int]
) -> State:
    """A child was tapped (only one of the family's, as the flow named them)."""
    if str(tap.value) not in tap.draft.get("names", {}):
        await reply(update, text("forbidden", tap.language))
        return CHOOSE_CHILD
    tap.draft["child"] = str(tap.value)
    return await show_activities(update, context)


# The activities offered ---------------------------------------------------------------------


async def show_activities(update: Update, context: PortalContext) -> State:
    """The activities the child may join this school year: price, days and rule of each."""
    draft = DRAFTS(context)
    language = chat_language(context)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    try:
        offer = await context.portal.enrolments.offer(parent.actor, int(draft["child"]))
    except NotFound:
        await reply(update, text("forbidden", language))
        return CHOOSE_CHILD
    draft["offered"] = {str(activity.id): activity.name for activity in offer.activities}
    lines = [
        text("enrolment.offer_title", language, child=offer.child_name, year=offer.year.label)
    ]
    rows = []
    for activity in offer.activities:
        lines.append("\n" + _activity_block(activity, language))
        rows.append(
            [InlineKeyboardButton(activity.name, callback_data=f"{ACTIVITY}{activity.id}")]
        )
    if not offer.activities:
        lines.append(text("enrolment.offer_none", language, child=offer.child_name))
    else:
        lines.append("\n" + text("enrolment.offer_pick", language))
    rows.append([_new_child_button(language)])
    rows.append(abort_row(language))
    await show_step(update, draft, "\n".join(lines), InlineKeyboardMarkup(rows))
    return CHOOSE_ACTIVITY


def _activity_block(activity: OfferedActivity, language: str) -> str:
    """An activity as the list shows it: name and place, price, days, booking rule, and what
    is still needed (documents, consents), or that it is full."""
    price = (
        amount(activity.price_cents, language)
        if activity.price_cents is not None
        else text("enrolment.no_price", language)
    )
    lines = [
        text(
            "enrolment.offer_item",
            language,
            activity=activity.name,
            facility=activity.facility_name,
            price=price,
            weekdays=weekdays_label(activity.weekdays, language),
            first=day_label(activity.first_day, language),
            last=day_label(activity.last_day, language),
        ),
        rule_sentence(activity, language),
    ]
    if activity.full:
        lines.append(text("enrolment.offer_full", language))
    return "\n".join(lines)


@DRAFTS.tap(CHOOSE_ACTIVITY, read=lambda data: callbacks.id_of(data, ACTIVITY), linked=True)
async def choose_activity(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, int]
) -> State:
    """An activity was tapped: checked against the child's offer, then the start date."""
    draft = tap.draft
    try:
        activity = await context.portal.enrolments.offered(
            tap.parent.actor, int(draft["child"]), tap.value
        )
    except (EnrolmentRefused, NotFound):
        await reply(update, text("enrolment.refused.not_eligible", tap.language))
        return CHOOSE_ACTIVITY
    draft["activity"] = activity.id
    draft["open_weekdays"] = list(activity.weekdays)
    draft["weekdays"] = list(activity.preselected_weekdays)
    return await ask_start(update, context)


# The start date ---------------------------------------------------------------------------


async def ask_start(update: Update, context: PortalContext) -> State:
    """From when: as soon as possible, next Monday, or a date typed."""
    draft = DRAFTS(context)
    language = chat_language(context)
    monday = next_monday(context.portal.today())
    rows = [
        [InlineKeyboardButton(text("enrolment.btn_asap", language), callback_data=START + ASAP)],
        [
            InlineKeyboardButton(
                text("enrolment.btn_monday", language, day=day_label(monday, language)),
                callback_data=f"{START}{monday.isoformat()}",
            )
        ],
        abort_row(language),
    ]
    message = text("enrolment.ask_start", language, activity=_activity_name(draft))
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_START


def _start_of(data: str) -> str | None:
    """The start on a tapped button: `ASAP`, or a day (iso)."""
    if data == START + ASAP:
        return ASAP
    day = callbacks.day_of(data, START)
    return None if day is None else day.isoformat()


@DRAFTS.tap(CHOOSE_START, read=_start_of)
async def start_tapped(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, str]
) -> State:
    """ "Dès que possible" or next Monday was tapped."""
    today = context.portal.today()
    day = today if tap.value == ASAP else date.fromisoformat(tap.value)
    return await _take_start(update, context, day)


async def typed_start(update: Update, context: PortalContext) -> State:
    """A start date typed in words or digits."""
    language = chat_language(context)
    today = context.portal.today()
    typed = typed_text(update)
    understood = understand(typed, today, Intent.BOOK)
    if isinstance(understood, AskBack) and understood.reason == "past":
        understood = understand(typed, today, Intent.ABSENCE)
    if isinstance(understood, AskBack):
        await reply(update, ask_back_text(understood, language))
        return CHOOSE_START
    return await _take_start(update, context, min(understood.days))


async def _take_start(update: Update, context: PortalContext, day: date) -> State:
    """Keep the start day when it is within the school year; else say why, and ask again."""
    draft = DRAFTS(context)
    language = chat_language(context)
    today = context.portal.today()
    year = await context.portal.enrolments.school_year()
    if day < today:
        await reply(
            update, text("enrolment.refused.past_date", language, day=long_day(day, language))
        )
        return CHOOSE_START
    if day > year.end:
        message = text(
            "enrolment.refused.after_year",
            language,
            day=long_day(day, language),
            until=long_day(year.end, language),
        )
        await reply(update, message)
        return CHOOSE_START
    draft["start"] = day.isoformat()
    if len(draft.get("open_weekdays", [])) <= 1:
        draft["weekdays"] = list(draft.get("open_weekdays", []))
        return await review(update, context)
    return await ask_weekdays(update, context)


# The weekdays -----------------------------------------------------------------------------


async def ask_weekdays(update: Update, context: PortalContext) -> State:
    """Which weekdays: one toggle per day the activity opens on, then "Continue"."""
    draft = DRAFTS(context)
    language = chat_language(context)
    ticked = set(draft.get("weekdays", []))
    names = _weekday_names(language)
    rows = [
        [
            InlineKeyboardButton(
                f"{'✅' if weekday in ticked else '⬜'} {names[weekday]}",
                callback_data=f"{WEEKDAY}{weekday}",
            )
        ]
        for weekday in draft.get("open_weekdays", [])
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text("enrolment.btn_weekdays_done", language, count=len(ticked)),
                callback_data=WEEKDAYS_DONE,
            )
        ]
    )
    rows.append(abort_row(language))
    message = text("enrolment.ask_weekdays", language, activity=_activity_name(draft))
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_WEEKDAYS


def _weekday_of(data: str) -> int | None:
    tapped = choice(data, WEEKDAY, [str(day) for day in range(7)])
    return None if tapped is None else int(tapped)


@DRAFTS.tap(CHOOSE_WEEKDAYS, read=_weekday_of, answer_first=False)
async def toggle_weekday(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, int]
) -> State:
    """A weekday was tapped: ticked or unticked (only one the activity opens on)."""
    draft = tap.draft
    if tap.value not in draft.get("open_weekdays", []):
        await answer(update, text("enrolment.closed_weekday", tap.language))
        return CHOOSE_WEEKDAYS
    await answer(update)
    ticked = set(draft.get("weekdays", []))
    ticked ^= {tap.value}
    draft["weekdays"] = sorted(ticked)
    return await ask_weekdays(update, context)


@DRAFTS.tap(CHOOSE_WEEKDAYS, answer_first=False)
async def weekdays_done(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, str]
) -> State:
    """ "Continue": at least one weekday is needed."""
    if not tap.draft.get("weekdays"):
        await answer(update, text("enrolment.refused.no_weekday", tap.language), alert=True)
        return CHOOSE_WEEKDAYS
    await answer(update)
    return await review(update, context)


# The recap and the request ----------------------------------------------------------------


async def review(update: Update, context: PortalContext) -> State:
    """The recap: child, activity, price, start, weekdays, rule, and what is still needed."""
    draft = DRAFTS(context)
    language = chat_language(context)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    try:
        activity = await context.portal.enrolments.offered(
            parent.actor, int(draft["child"]), draft["activity"]
        )
    except (EnrolmentRefused, NotFound):
        await reply(update, text("enrolment.refused.not_eligible", language))
        return await show_activities(update, context)
    lines = [
        text("enrolment.recap_title", language),
        text(
            "enrolment.recap",
            language,
            child=_child_name(draft),
            activity=activity.name,
            facility=activity.facility_name,
            price=(
                amount(activity.price_cents, language)
                if activity.price_cents is not None
                else text("enrolment.no_price", language)
            ),
            start=long_day(date.fromisoformat(draft["start"]), language),
            weekdays=weekdays_label(draft.get("weekdays", []), language),
        ),
        rule_sentence(activity, language),
    ]
    lines += _needs_lines(activity, language)
    if activity.full:
        lines.append("\n" + text("enrolment.recap_full", language))
    lines.append("\n" + text("enrolment.recap_decision", language))
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("enrolment.btn_send", language), callback_data=CONFIRM)],
            abort_row(language),
        ]
    )
    await show_step(update, draft, "\n".join(lines), keyboard)
    return REVIEW


def _needs_lines(activity: OfferedActivity, language: str) -> list[str]:
    """The documents to send, those sent awaiting validation, and the consents to give."""
    lines = []
    if activity.missing_documents:
        documents = ", ".join(document_label(d, language) for d in activity.missing_documents)
        lines.append("\n" + text("enrolment.needs_documents", language, documents=documents))
    if activity.pending_documents:
        documents = ", ".join(document_label(d, language) for d in activity.pending_documents)
        lines.append(text("enrolment.needs_pending", language, documents=documents))
    if activity.missing_consents:
        consents = ", ".join(
            text(f"consent.{kind}", language) for kind in activity.missing_consents
        )
        lines.append(text("enrolment.needs_consents", language, consents=consents))
    return lines


@DRAFTS.tap(REVIEW, needs=lambda draft: "start" in draft, linked=True)
async def confirm(update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, str]) -> State:
    """Send the request: pending (or waitlisted, with its place); what is still needed, with
    a button to send a document at once."""
    draft, language = tap.draft, tap.language
    service = context.portal.enrolments
    child_id = int(draft["child"])
    try:  # what the child still needs for it, read before the request takes it off the offer
        activity: OfferedActivity | None = await service.offered(
            tap.parent.actor, child_id, draft["activity"]
        )
    except (EnrolmentRefused, NotFound):
        activity = None  # the request says why, below
    try:
        view = await service.request(
            tap.parent.actor,
            child_id,
            draft["activity"],
            date.fromisoformat(draft["start"]),
            draft.get("weekdays", []),
        )
    except NotFound:
        await reply(update, text("forbidden", language))
        return REVIEW
    except EnrolmentRefused as refused:
        await reply(update, refusal_text(refused, language, date.fromisoformat(draft["start"])))
        if refused.code in ("past_date", "after_year", "no_day_left"):
            return await ask_start(update, context)
        saved(context).pop(DRAFTS.key, None)
        await show(update, text("enrolment.not_sent", language), menu_button(language))
        return ConversationHandler.END
    values = {"child": view.child_name, "activity": view.activity_name}
    if view.status is RequestStatus.WAITLISTED:
        lines = [text("enrolment.sent_waitlisted", language, position=view.position, **values)]
    else:
        lines = [text("enrolment.sent", language, **values)]
    lines += _needs_lines(activity, language) if activity else []
    rows = []
    if activity and activity.missing_documents:
        rows.append(
            [
                InlineKeyboardButton(
                    text("enrolment.btn_send_document", language), callback_data=MENU_SEND
                )
            ]
        )
    if activity and activity.missing_consents:
        rows.append(
            [
                InlineKeyboardButton(
                    text("enrolment.btn_give_consents", language),
                    callback_data=f"{MENU_CHANGE_CHILD}{child_id}",
                )
            ]
        )
    rows.append([InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)])
    saved(context).pop(DRAFTS.key, None)
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))
    return ConversationHandler.END


def refusal_text(refused: EnrolmentRefused, language: str, day: date | None = None) -> str:
    """Why the store refused a request, in words (`day`: the start or birth date asked)."""
    until = long_day(refused.until, language) if refused.until else ""
    shown = long_day(day, language) if day else ""
    return text(f"enrolment.refused.{refused.code}", language, until=until, day=shown)


# A new child ------------------------------------------------------------------------------


@DRAFTS.tap(CHOOSE_CHILD)
async def new_child(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, str]
) -> State:
    """ "➕ Ajouter un enfant": the first name."""
    return await _ask(update, context, "enrolment.ask_first_name", ASK_FIRST_NAME)


async def _ask(update: Update, context: PortalContext, key: str, state: str) -> State:
    draft = DRAFTS(context)
    language = chat_language(context)
    message = text(key, language, first_name=draft.get("first_name", ""))
    await show_step(update, draft, message, InlineKeyboardMarkup([abort_row(language)]))
    return state


async def typed_first_name(update: Update, context: PortalContext) -> State:
    """The first name typed: checked, then the last name."""
    name = await _typed_name(update, context)
    if name is None:
        return ASK_FIRST_NAME
    DRAFTS(context)["first_name"] = name
    return await _ask(update, context, "enrolment.ask_last_name", ASK_LAST_NAME)


async def typed_last_name(update: Update, context: PortalContext) -> State:
    """The last name typed: checked, then the birth date."""
    name = await _typed_name(update, context)
    if name is None:
        return ASK_LAST_NAME
    DRAFTS(context)["last_name"] = name
    return await _ask(update, context, "enrolment.ask_birth_date", ASK_BIRTH_DATE)


async def _typed_name(update: Update, context: PortalContext) -> str | None:
    try:
        return check_name(typed_text(update))
    except EnrolmentRefused:
        await reply(update, text("enrolment.refused.bad_name", chat_language(context)))
        return None


async def typed_birth_date(update: Update, context: PortalContext) -> State:
    """The birth date typed (12/03/2019): not in the future, not an adult's; then the level."""
    language = chat_language(context)
    today = context.portal.today()
    birth = read_birth_date(typed_text(update), today)
    if birth is None:
        await reply(update, text("enrolment.refused.bad_birth_date", language))
        return ASK_BIRTH_DATE
    try:
        check_birth_date(birth, today)
    except EnrolmentRefused as refused:
        await reply(update, refusal_text(refused, language, birth))
        return ASK_BIRTH_DATE
    draft = DRAFTS(context)
    draft["birth_date"] = birth.isoformat()
    rows = [
        [
            InlineKeyboardButton(_level_label(level, language), callback_data=f"{LEVEL}{level}")
            for level in SCHOOL_LEVELS[start : start + 4]
        ]
        for start in range(0, len(SCHOOL_LEVELS) - 1, 4)
    ]
    rows.append(
        [
            InlineKeyboardButton(
                _level_label(NOT_AT_SCHOOL, language), callback_data=f"{LEVEL}{NOT_AT_SCHOOL}"
            )
        ]
    )
    rows.append(abort_row(language))
    message = text("enrolment.ask_level", language, first_name=draft.get("first_name", ""))
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_LEVEL


def read_birth_date(typed: str, today: date) -> date | None:
    """A birth date as typed: digits (12/03/2019), or words the date engine reads as one day."""
    digits = DIGITS_DATE.fullmatch(typed)
    if digits is not None:
        day, month, year = (int(part) for part in digits.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    understood = understand(typed, today, Intent.ABSENCE)
    if isinstance(understood, AskBack) or len(understood.days) != 1:
        return None
    return understood.days[0]


@DRAFTS.tap(CHOOSE_LEVEL, read=lambda data: choice(data, LEVEL, SCHOOL_LEVELS))
async def choose_level(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, str]
) -> State:
    """A school level was tapped: the recap."""
    draft, language = tap.draft, tap.language
    draft["level"] = tap.value
    message = "\n".join(
        [
            text("enrolment.child_recap_title", language),
            text(
                "enrolment.child_recap",
                language,
                first_name=draft["first_name"],
                last_name=draft["last_name"],
                birth=long_day(date.fromisoformat(draft["birth_date"]), language),
                level=_level_label(tap.value, language),
            ),
            "\n" + text("enrolment.child_recap_decision", language),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("enrolment.btn_send", language), callback_data=CONFIRM_CHILD
                )
            ],
            abort_row(language),
        ]
    )
    await show_step(update, draft, message, keyboard)
    return REVIEW_CHILD


@DRAFTS.tap(REVIEW_CHILD, needs=lambda draft: "level" in draft, linked=True)
async def confirm_child(
    update: Update, context: PortalContext, tap: Tap[EnrolmentDraft, str]
) -> State:
    """Send the pre-registration to the family-file service."""
    draft, language = tap.draft, tap.language
    try:
        view = await context.portal.enrolments.register_child(
            tap.parent.actor,
            draft["first_name"],
            draft["last_name"],
            date.fromisoformat(draft["birth_date"]),
            draft["level"],
        )
    except EnrolmentRefused as refused:
        message = refusal_text(refused, language, date.fromisoformat(draft["birth_date"]))
    else:
        message = text("enrolment.child_sent", language, first_name=view.first_name)
    saved(context).pop(DRAFTS.key, None)
    await show(update, message, menu_button(language))
    return ConversationHandler.END


async def not_text(update: Update, context: PortalContext) -> None:
    """A sticker, a photo, a voice note... where typed text is expected."""
    await reply(update, text("enrolment.type_it", chat_language(context)))


# The services' decisions, delivered through the outbox --------------------------------------


@renders("enrolment_accepted", "enrolment_refused")
async def _enrolment_notice(
    portal: Portal, payload: dict[str, Any], language: str
) -> Notice | None:
    """The parent's message when the service accepts or refuses an enrolment."""
    view = await enrolment_facts(portal.sessions, int(payload["request_id"]))
    if view is None:
        return None
    values = {
        "child": view.child_name,
        "activity": view.activity_name,
        "start": long_day(view.starts_on, language),
    }
    if payload["kind"] == "enrolment_accepted":
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(text("btn.book", language), callback_data=MENU_BOOK)]]
        )
        return Notice(text("enrolment.notify_accepted", language, **values), keyboard)
    message = text("enrolment.notify_refused", language, reason=view.reason or "", **values)
    return Notice(message, menu_button(language))


@renders("registration_accepted", "registration_refused")
async def _registration_notice(
    portal: Portal, payload: dict[str, Any], language: str
) -> Notice | None:
    """The parent's message when the family-file service decides on a new child."""
    view = await registration_facts(portal.sessions, int(payload["registration_id"]))
    if view is None:
        return None
    if payload["kind"] == "registration_accepted":
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(text("btn.enrolment", language), callback_data=MENU_ENROLMENT)]]
        )
        message = text("enrolment.notify_child_accepted", language, first_name=view.first_name)
        return Notice(message, keyboard)
    message = text(
        "enrolment.notify_child_refused",
        language,
        first_name=view.first_name,
        reason=view.reason or "",
    )
    return Notice(message, menu_button(language))


# Words ------------------------------------------------------------------------------------


def next_monday(today: date) -> date:
    """The Monday after `today` (a week on, when today is a Monday)."""
    return today + timedelta(days=7 - today.weekday())


def _weekday_names(language: str) -> list[str]:
    return [weekday_name(day, language) for day in range(7)]


def weekdays_label(weekdays: list[int] | tuple[int, ...], language: str) -> str:
    """Weekdays in words, in order: "lundi, mardi, jeudi"."""
    names = _weekday_names(language)
    return ", ".join(names[day] for day in sorted(weekdays)) or "—"


def rule_sentence(activity: OfferedActivity, language: str) -> str:
    """How days of the activity are booked, in one sentence (the booking deadline rule, and
    whether the service validates each booking)."""
    try:
        rules = ActivityRules.model_validate(activity.rules)
    except ValidationError:
        return ""
    sentence = text("enrolment.rule", language, rule_html=rule_words(rules.booking, language))
    if activity.requires_validation:
        sentence += " " + text("enrolment.rule.validated", language)
    return sentence


def _level_label(level: str, language: str) -> str:
    return text("enrolment.level_none", language) if level == NOT_AT_SCHOOL else level


def _new_child_button(language: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text("enrolment.btn_new_child", language), callback_data=NEW_CHILD)


def _child_name(draft: EnrolmentDraft) -> str:
    return draft.get("names", {}).get(draft.get("child", ""), "")


def _activity_name(draft: EnrolmentDraft) -> str:
    return draft.get("offered", {}).get(str(draft.get("activity", "")), "")


def build(timeout_seconds: float) -> Flow:
    """The enrolment flow, with abort, timeout and stale-button fallbacks."""
    typed = filters.TEXT & ~filters.COMMAND
    other = filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.TEXT

    def typing(step: Any) -> list[Any]:
        return [MessageHandler(typed, step), MessageHandler(other, not_text)]

    new = CallbackQueryHandler(new_child, pattern=rf"^{NEW_CHILD}\Z")
    return flow(
        DRAFTS,
        opened_by("inscriptions", start, MENU_ENROLMENT),
        {
            CHOOSE_CHILD: [CallbackQueryHandler(choose_child, pattern=with_record_id(CHILD)), new],
            CHOOSE_ACTIVITY: [
                CallbackQueryHandler(choose_activity, pattern=with_record_id(ACTIVITY)),
                new,
            ],
            CHOOSE_START: [
                CallbackQueryHandler(
                    start_tapped, pattern=rf"^{START}(?:{ASAP}|{callbacks.DAY})\Z"
                ),
                *typing(typed_start),
            ],
            CHOOSE_WEEKDAYS: [
                CallbackQueryHandler(toggle_weekday, pattern=rf"^{WEEKDAY}[0-6]\Z"),
                CallbackQueryHandler(weekdays_done, pattern=rf"^{WEEKDAYS_DONE}\Z"),
            ],
            REVIEW: [CallbackQueryHandler(confirm, pattern=rf"^{CONFIRM}\Z")],
            ASK_FIRST_NAME: typing(typed_first_name),
            ASK_LAST_NAME: typing(typed_last_name),
            ASK_BIRTH_DATE: typing(typed_birth_date),
            CHOOSE_LEVEL: [
                CallbackQueryHandler(choose_level, pattern=one_of(LEVEL, SCHOOL_LEVELS))
            ],
            REVIEW_CHILD: [CallbackQueryHandler(confirm_child, pattern=rf"^{CONFIRM_CHILD}\Z")],
        },
        timeout_seconds,
        stale_prefix="en:",
        stray_input=filters.UpdateType.MESSAGE & ~filters.COMMAND,
    )
