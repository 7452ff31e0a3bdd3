"""Book days (réserver): child → activity → calendar (tap or type days) → recap → confirm.

States are named at the top, one function per step, the wiring in `build()` at the bottom.
The draft is a `BookingDraft` (`DRAFTS`, JSON only) and is saved in the shared store after
every update, so a booking in progress survives a restart. The checks every tapped step shares
(draft there, button on the live message, tap answered) are done by `DRAFTS.tap`. Every step
re-checks with the store: a button only names a choice, the services decide.

What the calendar shows of a day comes from one table, `DAY_MARKS` (state → mark → legend),
and the legend under the calendar is built from it; why a day cannot be booked is worded in one
place, `day_reason`, from the planning (for a tap on the day, and for a day typed in words).

The recap's confirm button carries a key (`store.idempotency`): the days are booked once, and
a tap on it again, in the flow or after it ended, answers the outcome recorded then. The
outcome reaches the parent whatever Telegram does (`conversations.receipts`). Buttons' values
are read by `conversations.callbacks`: an impossible one is answered as a stale button.
"""

from __future__ import annotations

import calendar as month_grid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape, unescape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations import callbacks
from conversations.kit.ask_back import ask_back_text
from conversations.kit.context import PortalContext
from conversations.kit.deadlines import explain_day
from conversations.kit.drafts import (
    Drafts,
    FamilyDraft,
    State,
    Tap,
    children_names,
    children_tapped,
    open_family_flow,
    start_children_flow,
)
from conversations.kit.flows import Flow, flow, opened_by
from conversations.kit.formatting import amount, day_label, format_moment, month_title
from conversations.kit.language import chat_language
from conversations.kit.live import LIVE_MESSAGE, answer, reply, show, show_step, typed_text
from conversations.kit.menu import MENU_BOOK, abort_row, menu_button, review_row
from conversations.kit.texts import text
from conversations.kit.who import who
from conversations.receipts import (
    Replays,
    day_of_child,
    end_with_outcome,
    outcome_title,
    recap_keyboard,
    replays_outcomes,
)
from dates import AskBack, Intent, understand
from store.bookings import BookingOutcome, Outcome, Refusal
from store.idempotency import new_key
from store.planning import DayState, PlanningDay, enrolled_activities

CHOOSE_CHILD, CHOOSE_ACTIVITY, CHOOSE_DAYS, REVIEW = (
    "book:child",
    "book:activity",
    "book:days",
    "book:review",
)

CHILD = "bk:child:"
ACTIVITY = "bk:act:"
DAY = "bk:day:"
MONTH = "bk:month:"
REVIEW_DAYS = "bk:review"
CONFIRM = "bk:confirm"
CHANGE = "bk:change"
NOOP = "bk:noop"
# A row of "Mon planning" (`conversations.planning_picture`): a child's calendar of an activity.
ROW = "bk:row:"
CONFIRM_AGAIN = rf"^{CONFIRM}:{callbacks.KEY}\Z"
# How far ahead typed dates and month navigation may go.
HORIZON_DAYS = 240


@dataclass(frozen=True)
class DayMark:
    """How the calendar shows a day: its mark, and the catalog key of its legend."""

    symbol: str
    legend: str


# Every state a day of the calendar can be in, in the legend's order. The legend is built from
# this table (the marks drawn in the month), so no mark can be left out of it.
DAY_MARKS: dict[DayState, DayMark] = {
    DayState.BOOKABLE: DayMark("", ""),  # the day's number alone
    DayState.BOOKABLE_LATE: DayMark("💶", "mark.bookable_late"),
    DayState.BOOKED: DayMark("✅", "mark.booked"),
    DayState.BOOKED_LOCKED: DayMark("🔒", "mark.booked_locked"),
    DayState.PENDING: DayMark("⏳", "mark.pending"),
    DayState.WAITLISTED: DayMark("🕒", "mark.waitlisted"),
    DayState.FULL: DayMark("🟡", "mark.full"),
    DayState.UNAVAILABLE: DayMark("⛔", "mark.unavailable"),
    DayState.LATE_CANCELLED: DayMark("💸", "mark.late_cancelled"),
    DayState.CLOSED: DayMark("✖", "mark.closed"),
    DayState.NOT_ENROLLED: DayMark("🚫", "mark.not_enrolled"),
    DayState.PAST: DayMark("▫️", "mark.past"),
}
SELECTED = DayMark("☑️", "mark.selected")
SELECTED_MARK = SELECTED.symbol
# Why a day cannot be selected, when the planning gives no reason.
NO_REASON = "-"
WEEKDAY_HEADERS = {"fr": "LMMJVSD", "en": "MTWTFSS"}


class BookingDraft(FamilyDraft, total=False):
    """The booking flow's draft (saved as JSON between updates)."""

    # The activities offered ({activity id: name}) and, for "all my children", which of the
    # picked children each one has enrolled ({activity id: [child ids]}).
    activities: dict[str, str]
    enrolled: dict[str, list[int]]
    # The chosen activity, and the picked children left out of it (not enrolled).
    activity: int
    left_out: list[int]
    # The month drawn (its first day) and its days: {iso day: [mark, why it cannot be
    # selected ("" if it can)]}; the days ticked (iso).
    month: str
    month_days: dict[str, list[str]]
    selected: list[str]
    # The key of the recap shown (also on its confirm button: `bk:confirm:<key>`).
    confirm_key: str


DRAFTS = Drafts[BookingDraft]("booking")


def _named(draft: BookingDraft) -> bool:
    """Whether the flow's draft is there (another flow or an abort may have dropped it)."""
    return "names" in draft


def row_data(child_id: int, activity_id: int) -> str:
    """The data of a button that opens `child_id`'s calendar of `activity_id`."""
    return f"{ROW}{child_id}:{activity_id}"


def _row_of(update: Update) -> tuple[int, int] | None:
    """The child and activity of a tapped row button (`row_data`; 0 for an id no record can
    have, which the family check then refuses), or None for any other update."""
    query = update.callback_query
    data = query.data if query is not None else None
    if data is None or not data.startswith(ROW):
        return None
    child, _, activity = data.removeprefix(ROW).partition(":")
    return callbacks.id_of(child, "") or 0, callbacks.id_of(activity, "") or 0


async def start(update: Update, context: PortalContext) -> State:
    """Entry: from the menu or `/reserver`; skip the child question for an only child; from a
    row of "Mon planning", straight to that child's calendar of that activity."""
    row = _row_of(update)
    if row is not None:
        return await _start_on_row(update, context, *row)
    return await start_children_flow(
        update,
        context,
        DRAFTS,
        button_prefix=CHILD,
        choose_state=CHOOSE_CHILD,
        next_step=ask_activity,
    )


async def _start_on_row(
    update: Update, context: PortalContext, child_id: int, activity_id: int
) -> State:
    """The calendar of one child for one activity, if the child is the family's and enrolled
    in it; the picture the row was tapped on stays, the calendar comes under it."""
    opened = await open_family_flow(update, context, DRAFTS)
    if opened is None:
        return ConversationHandler.END
    parent, _children, draft = opened
    activities = (
        dict(
            await enrolled_activities(
                context.portal.sessions, parent.actor, child_id, context.portal.today()
            )
        )
        if str(child_id) in draft["names"]
        else {}
    )
    if activity_id not in activities:
        DRAFTS.drop(context)
        await reply(update, text("forbidden", parent.language), menu_button(parent.language))
        return ConversationHandler.END
    draft["children"] = [child_id]
    draft["activities"] = {str(activity_id): activities[activity_id]}
    draft["enrolled"] = {str(activity_id): [child_id]}
    draft[LIVE_MESSAGE] = 0  # no message of the flow yet: the calendar is sent, not edited in
    return await _open_calendar(update, context, activity_id)


@DRAFTS.tap(CHOOSE_CHILD, needs=_named, read=lambda data: callbacks.child_of(data, CHILD))
async def choose_child(
    update: Update, context: PortalContext, tap: Tap[BookingDraft, str]
) -> State:
    """A child (or all of them) was tapped."""
    return await children_tapped(update, context, tap, stay=CHOOSE_CHILD, next_step=ask_activity)


async def ask_activity(update: Update, context: PortalContext) -> State:
    """The activities the chosen children are enrolled in; skipped when there is one."""
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    draft = DRAFTS(context)
    activities: dict[int, str] = {}
    enrolled: dict[int, list[int]] = {}
    for child_id in draft["children"]:
        for activity_id, name in await enrolled_activities(
            context.portal.sessions, parent.actor, child_id, context.portal.today()
        ):
            activities[activity_id] = name
            enrolled.setdefault(activity_id, []).append(child_id)
    draft["activities"] = {str(k): v for k, v in activities.items()}
    draft["enrolled"] = {str(k): v for k, v in enrolled.items()}
    if not activities:
        message = text("pick.no_activity", parent.language, children=children_names(draft))
        await show(update, message, menu_button(parent.language))
        DRAFTS.drop(context)
        return ConversationHandler.END
    if len(activities) == 1:
        [activity_id] = activities
        return await _open_calendar(update, context, activity_id)
    rows = [
        [InlineKeyboardButton(name, callback_data=f"{ACTIVITY}{activity_id}")]
        for activity_id, name in sorted(activities.items(), key=lambda item: item[1])
    ]
    rows.append(abort_row(parent.language))
    await _show_live(
        update, context, text("pick.activity", parent.language), InlineKeyboardMarkup(rows)
    )
    return CHOOSE_ACTIVITY


@DRAFTS.tap(CHOOSE_ACTIVITY, needs=_named, read=lambda data: callbacks.id_of(data, ACTIVITY))
async def choose_activity(
    update: Update, context: PortalContext, tap: Tap[BookingDraft, int]
) -> State:
    """An activity was tapped."""
    if str(tap.value) not in tap.draft.get("activities", {}):
        await reply(update, text("forbidden", tap.language))
        return CHOOSE_ACTIVITY
    return await _open_calendar(update, context, tap.value)


async def _open_calendar(update: Update, context: PortalContext, activity_id: int) -> State:
    draft = DRAFTS(context)
    draft["activity"] = activity_id
    enrolled = draft.get("enrolled", {}).get(str(activity_id))
    if enrolled:  # only the picked children enrolled in the activity are booked
        draft["left_out"] = [child for child in draft["children"] if child not in enrolled]
        draft["children"] = [child for child in draft["children"] if child in enrolled]
    draft["selected"] = []
    carried = draft.pop("carried_days", None)
    first_open, states = await _first_month_with_bookable_days(update, context)
    draft["month"] = first_open.isoformat()
    shown = await show_calendar(update, context, states)
    if not carried:
        return shown
    # The parent's phrase at the menu named the days ("réserver la cantine le 9 décembre").
    today = context.portal.today()
    horizon = today + timedelta(days=HORIZON_DAYS)
    all_states = await _day_states(update, context, today, horizon)
    return await _add_days(update, context, map(date.fromisoformat, carried), all_states)


async def show_calendar(
    update: Update,
    context: PortalContext,
    month_states: dict[date, list[PlanningDay]] | None = None,
) -> str:
    """Read the month's day states (unless the caller already did) and draw the calendar.

    What the calendar shows of each day (its mark, and why it cannot be selected) is kept in
    the draft: a tap on a day only changes the selection and redraws from it. The store
    checks every day again at the recap and at the confirmation.
    """
    draft = DRAFTS(context)
    language = chat_language(context)
    month_start = date.fromisoformat(draft["month"])
    if month_states is None:
        month_states = await _month_day_states(update, context, month_start)
    draft["month_days"] = {
        day.isoformat(): [DAY_MARKS[state.state].symbol, _why_not_selectable(states, language)]
        for day, states in month_states.items()
        if (state := _merged_state(states)) is not None
    }
    return await _draw_calendar(update, context)


async def _draw_calendar(update: Update, context: PortalContext) -> str:
    """Draw the month from the draft: one button per day with its mark, ◀ ▶, review, abort."""
    draft = DRAFTS(context)
    language = chat_language(context)
    month_start = date.fromisoformat(draft["month"])
    days = draft.get("month_days", {})
    selected = set(draft.get("selected", []))
    # Weekends get columns only in a month where the activity opens on one.
    weekend_open = any(date.fromisoformat(day).weekday() >= 5 for day in days)
    columns = 7 if weekend_open else 5
    rows: list[list[InlineKeyboardButton]] = [
        [
            InlineKeyboardButton(letter, callback_data=NOOP)
            for letter in WEEKDAY_HEADERS[language][:columns]
        ]
    ]
    for week in month_grid.Calendar().monthdatescalendar(month_start.year, month_start.month):
        week = week[:columns]
        if all(day.month != month_start.month for day in week):
            continue
        row = []
        for day in week:
            shown = days.get(day.isoformat())
            if day.month != month_start.month or shown is None:
                row.append(InlineKeyboardButton(" ", callback_data=NOOP))
                continue
            mark = SELECTED_MARK if day.isoformat() in selected else shown[0]
            row.append(InlineKeyboardButton(f"{mark}{day.day}", callback_data=f"{DAY}{day}"))
        rows.append(row)
    previous = (month_start - timedelta(days=1)).replace(day=1)
    following = (month_start + timedelta(days=31)).replace(day=1)
    rows.append(
        [
            InlineKeyboardButton("◀", callback_data=f"{MONTH}{previous:%Y-%m}"),
            InlineKeyboardButton(month_title(month_start, language), callback_data=NOOP),
            InlineKeyboardButton("▶", callback_data=f"{MONTH}{following:%Y-%m}"),
        ]
    )
    rows.append(review_row(language, len(selected), REVIEW_DAYS))
    activity_html = escape(draft["activities"][str(draft["activity"])])
    parts = [
        text(
            "calendar.title",
            language,
            activity_html=activity_html,
            children=children_names(draft),
            month=month_title(month_start, language),
        )
    ]
    if draft.get("left_out"):
        left_out = ", ".join(draft["names"].get(str(child), "") for child in draft["left_out"])
        parts.append(
            text(
                "calendar.left_out",
                language,
                left_out=left_out,
                activity_html=activity_html,
                children=children_names(draft),
            )
        )
    parts.append(legend((shown[0] for shown in days.values()), language))
    await _show_live(update, context, "\n\n".join(parts), InlineKeyboardMarkup(rows))
    return CHOOSE_DAYS


def legend(symbols: Iterable[str], language: str) -> str:
    """The legend of the marks drawn (and of the selection's), in `DAY_MARKS`' order."""
    drawn = set(symbols)
    marks = [SELECTED, *(mark for mark in DAY_MARKS.values() if mark.symbol in drawn)]
    return " · ".join(
        f"{mark.symbol} {text(mark.legend, language)}" for mark in marks if mark.symbol
    )


@DRAFTS.tap(CHOOSE_DAYS, needs=_named, read=lambda data: callbacks.month_of(data, MONTH))
async def change_month(
    update: Update, context: PortalContext, tap: Tap[BookingDraft, date]
) -> str:
    """◀ or ▶: show another month (within the horizon)."""
    target = tap.value
    today = context.portal.today()
    if today.replace(day=1) <= target <= today + timedelta(days=HORIZON_DAYS):
        tap.draft["month"] = target.isoformat()
    return await show_calendar(update, context)


@DRAFTS.tap(
    CHOOSE_DAYS,
    needs=_named,
    read=lambda data: callbacks.day_of(data, DAY),
    answer_first=False,  # an alert answers a day that cannot be booked
)
async def toggle_day(update: Update, context: PortalContext, tap: Tap[BookingDraft, date]) -> str:
    """A day was tapped: select or unselect it, or explain why it cannot be booked."""
    day, draft, language = tap.value, tap.draft, tap.language
    selected = set(draft.get("selected", []))
    shown = draft.get("month_days", {}).get(day.isoformat())
    if day.isoformat() in selected:
        selected.discard(day.isoformat())
    elif shown is not None and not shown[1]:
        selected.add(day.isoformat())
    else:
        why = shown[1] if shown is not None else ""
        # An alert is plain text, not HTML: what `text` escapes is read back as typed.
        await tap.query.answer(
            unescape(
                text("calendar.not_selectable", language, day=day_label(day, language), why=why)
            )
            if why and why != NO_REASON
            else day_label(day, language),
            show_alert=True,
        )
        return CHOOSE_DAYS
    await answer(update)
    draft["selected"] = sorted(selected)
    return await _draw_calendar(update, context)


async def typed_days(update: Update, context: PortalContext) -> State:
    """Days typed in words: the bookable ones are added to the days already chosen, then the
    recap; the others are answered with why they cannot be booked."""
    language = chat_language(context)
    today = context.portal.today()
    horizon = today + timedelta(days=HORIZON_DAYS)
    states = await _day_states(update, context, today, horizon)
    open_days = [day for day, day_states in states.items() if day_states]
    understood = understand(typed_text(update), today, Intent.BOOK, allowed_days=open_days)
    if isinstance(understood, AskBack):
        await reply(update, ask_back_text(understood, language))
        return CHOOSE_DAYS
    return await _add_days(update, context, understood.days, states)


async def _add_days(
    update: Update,
    context: PortalContext,
    days: Iterable[date],
    states: dict[date, list[PlanningDay]],
) -> State:
    """Add the bookable `days` to the chosen ones, then the recap; say why the others are not."""
    language = chat_language(context)
    today = context.portal.today()
    horizon = today + timedelta(days=HORIZON_DAYS)
    draft = DRAFTS(context)
    days = sorted(set(days))
    bookable = [
        day for day in days if any(state.selectable_to_book for state in states.get(day, []))
    ]
    refused = [day for day in days if day not in bookable]
    if refused:
        heading = "calendar.typed_left_out" if bookable else "calendar.typed_none"
        lines = [text(heading, language)]
        for day in refused:
            lines += _typed_refusal(draft, day, states, today, horizon, language)
        await reply(update, "\n".join(lines))
    if not bookable:
        return CHOOSE_DAYS
    chosen = set(draft.get("selected", [])) | {day.isoformat() for day in bookable}
    draft["selected"] = sorted(chosen)
    draft.pop(LIVE_MESSAGE, None)
    return await _recap(update, context)


def _typed_refusal(
    draft: BookingDraft,
    day: date,
    states: dict[date, list[PlanningDay]],
    today: date,
    horizon: date,
    language: str,
) -> list[str]:
    """Why a typed day is not added: one line, or one per child when their reasons differ."""
    label = day_label(day, language)
    day_states = states.get(day, [])
    if not day_states:
        if day < today:
            why = text("reason.past", language)
        elif day > horizon:
            why = text("calendar.too_far", language, day=day_label(horizon, language))
        else:
            why = text("reason.closed", language)
        return [text("calendar.typed_refused", language, day=label, why=why)]
    next_day = next(
        (
            later
            for later, later_states in sorted(states.items())
            if later > day and any(state.selectable_to_book for state in later_states)
        ),
        None,
    )
    reasons = [day_reason(state, language, next_day=next_day) for state in day_states]
    if len(set(reasons)) == 1:
        return [text("calendar.typed_refused", language, day=label, why=reasons[0])]
    return [
        text(
            "recap.refused",
            language,
            day=label,
            child=draft["names"].get(str(child), ""),
            reason=why,
        )
        for child, why in zip(draft["children"], reasons, strict=False)
    ]


def day_reason(state: PlanningDay, language: str, *, next_day: date | None = None) -> str:
    """Why a day of the planning cannot be booked, in words ("" when it can).

    The day's own refusal is worded as the store's (`reason.*`), followed by what its rules
    say now (a booked day: until when it can be cancelled for free); a refusal for a deadline
    or a window says it in the planning's sentence, with the next day to book (`next_day`).
    Plain text, not HTML, as `refusal_text`.
    """
    if state.selectable_to_book:
        return ""
    if state.state is DayState.LATE_CANCELLED:
        return unescape(
            text(
                "calendar.late_cancelled",
                language,
                when=format_moment(state.cancelled_at, language) if state.cancelled_at else "",
                fee=amount(state.price_cents, language),
            )
        )
    explained = explain_day(state, language)
    if state.refusal is None:
        reason = explained
        if reason and next_day is not None:
            reason += text("reason.next_day", language, day=day_label(next_day, language))
        return unescape(reason)
    reason = text(f"reason.{state.refusal.value}", language)
    if explained:
        reason += " — " + explained[:1].lower() + explained[1:]
    return unescape(reason)


@DRAFTS.tap(CHOOSE_DAYS, needs=_named, answer_first=False)
async def review(update: Update, context: PortalContext, tap: Tap[BookingDraft, str]) -> State:
    """« Review »: the recap of the days ticked."""
    return await _recap(update, context)


async def _recap(update: Update, context: PortalContext) -> State:
    """The recap: each child and day with its price (or why not), and the total."""
    draft = DRAFTS(context)
    language = chat_language(context)
    if not draft.get("selected"):
        await answer(update, text("calendar.nothing_selected", language))
        return CHOOSE_DAYS
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    outcomes = await context.portal.bookings.book(
        parent.actor, draft["children"], draft["activity"], _selected(draft), dry_run=True
    )
    lines = [text("recap.title", language)]
    total = 0
    for outcome in outcomes:
        where = {"day": day_label(outcome.day, language), "child": _child_name(draft, outcome)}
        if outcome.outcome in (Outcome.CONFIRMED, Outcome.PENDING):
            line = text(
                "recap.day", language, price=amount(outcome.price_cents, language), **where
            )
            if outcome.surcharge_cents:
                line += text(
                    "recap.surcharge", language, amount=amount(outcome.surcharge_cents, language)
                )
            lines.append(line)
            total += outcome.price_cents
        elif outcome.outcome is Outcome.WAITLISTED:
            lines.append(text("recap.waitlist", language, **where))
        elif outcome.refusal is Refusal.ALREADY_BOOKED:
            lines.append(_already_booked(outcome, language, where))
        else:
            lines.append(
                text("recap.refused", language, reason=refusal_text(outcome, language), **where)
            )
    lines.append(text("recap.total", language, total=amount(total, language)))
    if any(o.outcome is Outcome.PENDING for o in outcomes):
        lines.append(text("recap.pending_note", language))
    key = None
    if any(o.outcome is not Outcome.REFUSED for o in outcomes):
        # A key per recap shown: its confirm books once, however often it is tapped.
        key = draft["confirm_key"] = new_key()
    keyboard = recap_keyboard(language, confirm=CONFIRM, change=CHANGE, key=key)
    await _show_live(update, context, "\n".join(lines), keyboard)
    return REVIEW


@DRAFTS.tap(REVIEW, needs=_named)
async def back_to_calendar(
    update: Update, context: PortalContext, tap: Tap[BookingDraft, str]
) -> str:
    """◀ Change: back to the calendar with the selection kept."""
    return await show_calendar(update, context)


@DRAFTS.tap(
    REVIEW,
    older=lambda update, context, draft: AGAIN.older(update, context, draft),
    needs=_named,
    answer_first="quietly",
    linked=True,
)
async def confirm(update: Update, context: PortalContext, tap: Tap[BookingDraft, str]) -> State:
    """Book for real, once for the recap's key, then say what happened to each day.

    The flow ends with the booking, whatever Telegram does when it is shown (`tell`). The
    confirm of an older recap answers what it gave."""
    draft, parent = tap.draft, tap.parent
    # A recap shown before confirms carried keys gets one now.
    key = draft.setdefault("confirm_key", new_key())
    outcomes = await context.portal.bookings.book(
        parent.actor, draft["children"], draft["activity"], _selected(draft), key=key
    )
    message = outcome_text(draft["names"], outcomes, parent.language)
    return await end_with_outcome(update, context, DRAFTS, parent, message, key=key)


def outcome_text(names: dict[str, str], outcomes: list[BookingOutcome], language: str) -> str:
    """What booking gave, day by day ("already recorded" first for a confirm tapped again)."""
    lines = outcome_title(outcomes, language)
    for outcome in outcomes:
        where = day_of_child(outcome, names, language)
        if outcome.refusal is Refusal.ALREADY_BOOKED:
            lines.append(_already_booked(outcome, language, where))
        elif outcome.outcome is Outcome.REFUSED:
            lines.append(
                text("outcome.refused", language, reason=refusal_text(outcome, language), **where)
            )
        else:
            lines.append(
                text(
                    f"outcome.{outcome.outcome.value}",
                    language,
                    price=amount(outcome.price_cents, language),
                    **where,
                )
            )
    if any(o.outcome in (Outcome.PENDING, Outcome.WAITLISTED) for o in outcomes):
        lines.append(text("outcome.footer", language))
    return "\n".join(lines)


def _already_booked(outcome: BookingOutcome, language: str, where: dict[str, str]) -> str:
    """A day the child holds already: how it stands, never as a refusal."""
    state = (outcome.booked_as or Outcome.CONFIRMED).value
    return text(f"outcome.already_{state}", language, **where)


AGAIN: Replays = Replays(
    lambda data: callbacks.key_of(data, CONFIRM),
    replays_outcomes("book", BookingOutcome, outcome_text),
)


def refusal_text(outcome: BookingOutcome, language: str) -> str:
    """Why a day was refused, in plain words, with the dates that help.

    Plain text, not HTML: it is a value of the line that shows it, which `text` escapes.
    """
    assert outcome.refusal is not None
    key = f"reason.{outcome.refusal.value}"
    values: dict[str, str] = {}
    if outcome.deadline is not None:
        values["deadline"] = format_moment(outcome.deadline, language)
    if outcome.opens_at is not None:
        values["opens"] = format_moment(outcome.opens_at, language)
    if outcome.missing_document is not None:
        values["document"] = text(f"doc.{outcome.missing_document}", language)
    if outcome.refusal is Refusal.CONSENT_MISSING:
        consent = outcome.missing_consent
        values["consent"] = text(f"consent.{consent}" if consent else "consent.one", language)
    reason = text(key, language, **values)
    if outcome.next_bookable_day is not None:
        reason += text(
            "reason.next_day", language, day=day_label(outcome.next_bookable_day, language)
        )
    return unescape(reason)


# Helpers ----------------------------------------------------------------------------------


def _selected(draft: BookingDraft) -> list[date]:
    return [date.fromisoformat(day) for day in draft.get("selected", [])]


def _child_name(draft: BookingDraft, outcome: BookingOutcome) -> str:
    return draft["names"].get(str(outcome.child_id), "")


async def _show_live(
    update: Update, context: PortalContext, message: str, keyboard: InlineKeyboardMarkup
) -> None:
    await show_step(update, DRAFTS(context), message, keyboard)


async def _day_states(
    update: Update, context: PortalContext, first: date, last: date
) -> dict[date, list[PlanningDay]]:
    parent = await who(update, context)
    if parent is None:
        return {}
    draft = DRAFTS(context)
    states: dict[date, list[PlanningDay]] = {}
    plannings = await context.portal.planning.planning_many(
        parent.actor, draft["children"], draft["activity"], first, last
    )
    for child_id in draft["children"]:
        for day in plannings[child_id]:
            states.setdefault(day.day, []).append(day)
    return states


async def _month_day_states(
    update: Update, context: PortalContext, month_start: date
) -> dict[date, list[PlanningDay]]:
    """Each child's state of each day of the month."""
    last = (month_start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return await _day_states(update, context, month_start, last)


def _merged_state(states: list[PlanningDay]) -> PlanningDay | None:
    """One state per day for the calendar: the first child's that still needs something."""
    wanting = [state for state in states if state.selectable_to_book]
    return wanting[0] if wanting else (states[0] if states else None)


def _why_not_selectable(states: list[PlanningDay], language: str) -> str:
    """Empty when the day can be selected; else the first child's reason (or NO_REASON)."""
    if any(state.selectable_to_book for state in states):
        return ""
    reasons = (day_reason(state, language) for state in states)
    return next((reason for reason in reasons if reason), NO_REASON)


async def _first_month_with_bookable_days(
    update: Update, context: PortalContext
) -> tuple[date, dict[date, list[PlanningDay]]]:
    """The first month (within the horizon) with a day to book, and its states."""
    today = context.portal.today()
    month_start = today.replace(day=1)
    first = (month_start, await _month_day_states(update, context, month_start))
    while month_start <= today + timedelta(days=HORIZON_DAYS):
        states = (
            first[1]
            if month_start == first[0]
            else (await _month_day_states(update, context, month_start))
        )
        if any(s.selectable_to_book for day_states in states.values() for s in day_states):
            return month_start, states
        month_start = (month_start + timedelta(days=31)).replace(day=1)
    return first


def build(timeout_seconds: float) -> Flow:
    """The booking flow, with abort, timeout and stale-button fallbacks; a confirm of an
    older recap is answered in every step."""
    again = CallbackQueryHandler(AGAIN.in_flow, pattern=CONFIRM_AGAIN)
    day_handlers: list[BaseHandler[Update, Any, Any]] = [
        CallbackQueryHandler(toggle_day, pattern=rf"^{DAY}{callbacks.DAY}\Z"),
        CallbackQueryHandler(change_month, pattern=rf"^{MONTH}{callbacks.MONTH}\Z"),
        CallbackQueryHandler(review, pattern=rf"^{REVIEW_DAYS}\Z"),
        CallbackQueryHandler(answer_noop, pattern=rf"^{NOOP}\Z"),
        MessageHandler(filters.TEXT & ~filters.COMMAND, typed_days),
        again,
    ]
    return flow(
        DRAFTS,
        opened_by("reserver", start, rf"{MENU_BOOK}|{ROW}{callbacks.ID}:{callbacks.ID}"),
        {
            CHOOSE_CHILD: [
                CallbackQueryHandler(choose_child, pattern=callbacks.child_pattern(CHILD)),
                again,
            ],
            CHOOSE_ACTIVITY: [
                CallbackQueryHandler(choose_activity, pattern=rf"^{ACTIVITY}{callbacks.ID}\Z"),
                again,
            ],
            CHOOSE_DAYS: day_handlers,
            REVIEW: [
                CallbackQueryHandler(confirm, pattern=callbacks.confirm_pattern(CONFIRM)),
                CallbackQueryHandler(back_to_calendar, pattern=rf"^{CHANGE}\Z"),
            ],
        },
        timeout_seconds,
        stale_prefix="bk:",
    )


async def answer_noop(update: Update, context: PortalContext) -> str:
    """A header or blank cell of the calendar: nothing to do."""
    await answer(update)
    return CHOOSE_DAYS


# Registered outside the flow (with the one-shot handlers): a recap's confirm tapped after the
# flow ended answers what it gave.
REPLAYS: list[BaseHandler[Update, Any, Any]] = [
    CallbackQueryHandler(AGAIN.after_flow, pattern=CONFIRM_AGAIN)
]
