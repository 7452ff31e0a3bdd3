"""Cancel days (annuler): child → upcoming booked days → recap (free or billed) → confirm.

Same shape as the booking flow: named states, one function per step, wiring in `build()`.
A day waiting for validation or on the waiting list is listed with the booking calendar's mark
(and its place in the waiting list), apart from the confirmed ones.

As in the booking flow, the recap's confirm carries a key: the days are cancelled once, a tap
on it again answers what it gave, and the outcome reaches the parent whatever Telegram does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
)

from conversations import callbacks
from conversations.booking import DAY_MARKS
from conversations.kit.context import PortalContext
from conversations.kit.drafts import (
    Drafts,
    FamilyDraft,
    State,
    Tap,
    children_names,
    open_family_flow,
    pick_children,
)
from conversations.kit.flows import Flow, flow, opened_by
from conversations.kit.formatting import amount, day_label, format_moment
from conversations.kit.language import chat_language
from conversations.kit.live import answer, show, show_step
from conversations.kit.menu import (
    MENU_CANCEL,
    children_keyboard,
    menu_button,
    review_row,
)
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
from store.bookings import CancellationResult, CancelOutcome
from store.deadlines import CancellationStatus
from store.idempotency import new_key
from store.models.enums import BookingState
from store.planning import DayState, UpcomingBooking, upcoming_bookings

CHOOSE_CHILD, CHOOSE_DAYS, REVIEW = "cancel:child", "cancel:days", "cancel:review"

CHILD = "cx:child:"
TOGGLE = "cx:b:"
REVIEW_DAYS = "cx:review"
CONFIRM = "cx:confirm"
CHANGE = "cx:change"
# A recap's confirm tapped again (its key: `CancellingDraft.confirm_key`).
CONFIRM_AGAIN = rf"^{CONFIRM}:{callbacks.KEY}\Z"
HORIZON_DAYS = 120
LABEL_LENGTH = 48
# Days not (yet) confirmed carry the calendar's mark of their state.
STATE_MARKS = {
    BookingState.PENDING: DAY_MARKS[DayState.PENDING],
    BookingState.WAITLISTED: DAY_MARKS[DayState.WAITLISTED],
}


class CancellingDraft(FamilyDraft, total=False):
    """The cancelling flow's draft (saved as JSON between updates)."""

    # The listed days, in the order shown: (booking id, label) (lists once loaded from JSON);
    # and the legend of the marks they carry.
    shown: list[tuple[int, str]]
    legend: str
    # The booking ids ticked.
    selected: list[int]
    # The key of the recap shown (also on its confirm button: `cx:confirm:<key>`).
    confirm_key: str


DRAFTS = Drafts[CancellingDraft]("cancelling")


def _has_draft(draft: CancellingDraft) -> bool:
    """Whether this flow's draft is there (another flow or an abort may have dropped it)."""
    return "children" in draft


async def start(update: Update, context: PortalContext) -> State:
    """Entry: from the menu or `/annuler`."""
    opened = await open_family_flow(update, context, DRAFTS)
    if opened is None:
        return ConversationHandler.END
    parent, children, draft = opened
    if len(children) <= 1:
        draft["children"] = [child.id for child in children]
        return await show_bookings(update, context)
    keyboard = children_keyboard(children, parent.language, CHILD)
    await show_step(update, draft, text("pick.child", parent.language), keyboard)
    return CHOOSE_CHILD


@DRAFTS.tap(CHOOSE_CHILD, read=lambda data: callbacks.child_of(data, CHILD), live=False)
async def choose_child(
    update: Update, context: PortalContext, tap: Tap[CancellingDraft, str]
) -> State:
    """A child (or all of them) was tapped."""
    if not pick_children(tap.draft, tap.value):
        await show(update, text("forbidden", tap.language), menu_button(tap.language))
        return CHOOSE_CHILD
    return await show_bookings(update, context)


async def _upcoming(update: Update, context: PortalContext) -> list[UpcomingBooking]:
    parent = await who(update, context)
    if parent is None:
        return []
    today = context.portal.today()
    return await upcoming_bookings(
        context.portal.sessions,
        parent.actor,
        DRAFTS(context)["children"],
        today,
        today + timedelta(days=HORIZON_DAYS),
        context.portal.clock(),
    )


async def show_bookings(update: Update, context: PortalContext) -> State:
    """Read the upcoming booked days and show them as toggles.

    The listed days (id and label) are kept in the draft: a tap only changes the selection
    and redraws from it; the store checks every day again at the recap and the confirmation.
    """
    language = chat_language(context)
    draft = DRAFTS(context)
    bookings = await _upcoming(update, context)
    if not bookings:
        DRAFTS.drop(context)
        names = children_names(draft)
        await show(update, text("cancel.none", language, children=names), menu_button(language))
        return ConversationHandler.END
    draft["shown"] = [(booking.booking_id, _label(booking, language)) for booking in bookings]
    draft["legend"] = _legend({booking.state for booking in bookings}, language)
    return await _draw_bookings(update, context)


def _label(booking: UpcomingBooking, language: str) -> str:
    """A listed day: "mer. 9 déc. · Lucas · CL Mercredis", after the mark of a day waiting
    for validation (⏳) or on the waiting list (🕒 with its place: "🕒 n°2")."""
    label = " · ".join(
        (day_label(booking.day, language), booking.child_name, booking.activity_name)
    )
    mark = STATE_MARKS.get(booking.state)
    if mark is None:
        return label
    if booking.waitlist_position is not None:
        rank = text("cancel.rank", language, position=booking.waitlist_position)
        return f"{mark.symbol} {rank} {label}"
    return f"{mark.symbol} {label}"


def _legend(states: set[BookingState], language: str) -> str:
    """The legend of the marks listed ("" when every day is confirmed)."""
    entries = [
        f"{mark.symbol} {text(mark.legend, language)}"
        for state, mark in STATE_MARKS.items()
        if state in states
    ]
    if BookingState.WAITLISTED in states:
        entries.append(text("cancel.rank_legend", language))
    return " · ".join(entries)


async def _draw_bookings(update: Update, context: PortalContext) -> str:
    """The listed days from the draft, the selected ones ticked, then review and abort."""
    language = chat_language(context)
    draft = DRAFTS(context)
    selected = set(draft.get("selected", []))
    rows = []
    for booking_id, label in draft["shown"]:
        mark = "☑️ " if booking_id in selected else ""
        rows.append(
            [
                InlineKeyboardButton(
                    (mark + label)[:LABEL_LENGTH], callback_data=f"{TOGGLE}{booking_id}"
                )
            ]
        )
    rows.append(review_row(language, len(selected), REVIEW_DAYS))
    names = children_names(draft)
    message = text("cancel.pick", language, children=names)
    if draft.get("legend"):
        message += "\n\n" + draft["legend"]
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_DAYS


@DRAFTS.tap(
    CHOOSE_DAYS,
    needs=lambda draft: _has_draft(draft) and "shown" in draft,
    gone=ConversationHandler.END,
    live=False,
    read=lambda data: callbacks.id_of(data, TOGGLE),
)
async def toggle(update: Update, context: PortalContext, tap: Tap[CancellingDraft, int]) -> State:
    """Select or unselect one booked day (only among the days listed to this parent)."""
    draft, booking_id = tap.draft, tap.value
    known = {listed_id for listed_id, _ in draft["shown"]}
    selected = set(draft.get("selected", [])) & known
    if booking_id in selected:
        selected.discard(booking_id)
    elif booking_id in known:
        selected.add(booking_id)
    draft["selected"] = sorted(selected)
    return await _draw_bookings(update, context)


@DRAFTS.tap(
    CHOOSE_DAYS, needs=_has_draft, gone=ConversationHandler.END, live=False, answer_first=False
)
async def review(update: Update, context: PortalContext, tap: Tap[CancellingDraft, str]) -> State:
    """Which days are cancelled for free, which are late and billed (with the amount)."""
    language, draft = tap.language, tap.draft
    chosen = [
        b for b in await _upcoming(update, context) if b.booking_id in draft.get("selected", [])
    ]
    if not chosen:
        await answer(update, text("calendar.nothing_selected", language))
        return CHOOSE_DAYS
    await answer(update)
    lines = [text("recap.title", language)]
    late_total = 0
    for booking in chosen:
        values = {
            "day": day_label(booking.day, language),
            "child": booking.child_name,
            "activity": booking.activity_name,
        }
        decision = booking.cancellation
        if booking.state is BookingState.WAITLISTED:
            position = booking.waitlist_position or 1
            lines.append(text("cancel.recap_waitlist", language, position=position, **values))
        elif decision.status is CancellationStatus.FREE:
            lines.append(text("cancel.recap_free", language, **values))
        elif decision.status is CancellationStatus.LATE_BILLED:
            lines.append(
                text(
                    "cancel.recap_late",
                    language,
                    fee=amount(decision.fee_cents, language),
                    **values,
                )
            )
            late_total += decision.fee_cents
        else:
            assert decision.reason is not None  # a refusal says why
            reason = text(
                f"reason.{decision.reason.value}",
                language,
                deadline=format_moment(decision.deadline, language) if decision.deadline else "",
                opens=format_moment(decision.opens_at, language) if decision.opens_at else "",
            )
            lines.append(text("cancel.recap_refused", language, reason=reason, **values))
    if late_total:
        lines.append(text("cancel.late_total", language, total=amount(late_total, language)))
    key = None
    if any(b.cancellation.status is not CancellationStatus.REFUSED for b in chosen):
        # A key per recap shown: its confirm cancels once, however often it is tapped.
        key = draft["confirm_key"] = new_key()
    keyboard = recap_keyboard(language, confirm=CONFIRM, change=CHANGE, key=key)
    await show_step(update, draft, "\n".join(lines), keyboard)
    return REVIEW


@DRAFTS.tap(REVIEW, live=False)
async def back(update: Update, context: PortalContext, tap: Tap[CancellingDraft, str]) -> State:
    """◀ Change: back to the listed days, the ticked ones kept."""
    return await show_bookings(update, context)


@DRAFTS.tap(
    REVIEW,
    older=lambda update, context, draft: AGAIN.older(update, context, draft),
    needs=_has_draft,
    gone=ConversationHandler.END,
    live=False,
    answer_first="quietly",
    linked=True,
)
async def confirm(update: Update, context: PortalContext, tap: Tap[CancellingDraft, str]) -> State:
    """Cancel for real, once for the recap's key; the store re-checks each day's deadline now.

    The flow ends with the cancellation, whatever Telegram does when it is shown (`tell`).
    The confirm of an older recap answers what it gave."""
    draft, parent = tap.draft, tap.parent
    # A recap shown before confirms carried keys gets one now.
    key = draft.setdefault("confirm_key", new_key())
    upcoming = {b.booking_id for b in await _upcoming(update, context)}
    chosen = [booking_id for booking_id in draft.get("selected", []) if booking_id in upcoming]
    results = await context.portal.bookings.cancel(parent.actor, chosen, key=key)
    message = outcome_text(draft.get("names", {}), results, parent.language)
    return await end_with_outcome(update, context, DRAFTS, parent, message, key=key)


def outcome_text(names: dict[str, str], results: list[CancellationResult], language: str) -> str:
    """What cancelling gave, day by day ("already recorded" first for a confirm tapped again)."""
    lines = outcome_title(results, language)
    for result in results:
        values = day_of_child(result, names, language)
        if result.outcome is CancelOutcome.CANCELLED:
            lines.append(text("cancel.done_free", language, **values))
        elif result.outcome is CancelOutcome.LATE_CANCELLED:
            lines.append(
                text(
                    "cancel.done_late", language, fee=amount(result.fee_cents, language), **values
                )
            )
        else:
            reason = text(
                f"reason.{result.refusal.value}" if result.refusal else "reason.not_cancellable",
                language,
                deadline=format_moment(result.deadline, language) if result.deadline else "",
                opens="",
            )
            lines.append(text("cancel.done_refused", language, reason=reason, **values))
    return "\n".join(lines)


AGAIN: Replays = Replays(
    lambda data: callbacks.key_of(data, CONFIRM),
    replays_outcomes("cancel", CancellationResult, outcome_text),
)


def build(timeout_seconds: float) -> Flow:
    """The cancelling flow, with abort, timeout and stale-button fallbacks; a confirm of an
    older recap is answered in every step."""
    again = CallbackQueryHandler(AGAIN.in_flow, pattern=CONFIRM_AGAIN)
    return flow(
        DRAFTS,
        opened_by("annuler", start, MENU_CANCEL),
        {
            CHOOSE_CHILD: [
                CallbackQueryHandler(choose_child, pattern=callbacks.child_pattern(CHILD)),
                again,
            ],
            CHOOSE_DAYS: [
                CallbackQueryHandler(toggle, pattern=rf"^{TOGGLE}{callbacks.ID}\Z"),
                CallbackQueryHandler(review, pattern=rf"^{REVIEW_DAYS}\Z"),
                again,
            ],
            REVIEW: [
                CallbackQueryHandler(confirm, pattern=callbacks.confirm_pattern(CONFIRM)),
                CallbackQueryHandler(back, pattern=rf"^{CHANGE}\Z"),
            ],
        },
        timeout_seconds,
        stale_prefix="cx:",
    )


# Registered outside the flow (with the one-shot handlers): a recap's confirm tapped after the
# flow ended answers what it gave.
REPLAYS: list[BaseHandler[Update, Any, Any]] = [
    CallbackQueryHandler(AGAIN.after_flow, pattern=CONFIRM_AGAIN)
]
