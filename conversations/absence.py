"""Report an absence (signaler une absence): child → day(s) → reason → certificate → recap → send.

States are named at the top, one function per step, the wiring in `build()` at the bottom.
The draft lives in `user_data[DRAFT]` (JSON only: a certificate is kept as its Telegram file
id, downloaded again and stored only when the parent confirms). "Mes absences" is a one-shot
screen, and the staff's decisions on certificates reach the parent through the outbox.

The medical detail of an illness is not asked for: only the reason category is recorded.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import PortalContext
from bot.dates import AskBack, Intent, understand
from bot.delivery import renders
from bot.formatting import day_label, format_moment
from bot.portal import Portal
from bot.texts import text
from handlers.common import (
    MENU_ABSENCE,
    MENU_CANCEL,
    MENU_MY_ABSENCES,
    MENU_SHOW,
    abort_row,
    answer,
    children_names,
    flow,
    is_live,
    pick_children,
    reply,
    show,
    show_step,
    start_children_flow,
    who,
)
from handlers.inputs import FILE_AS_CERTIFICATE
from handlers.uploads import (
    FILES,
    absence_service,
    certificates_email,
    document_service,
    download,
    explain_not_a_file,
    file_label,
    megabytes,
    receive,
    refusal_text,
    upload_limit,
)
from store.absences import AbsenceView
from store.bookings import CancelOutcome
from store.deadlines import CancellationStatus
from store.documents import DocumentRejected
from store.family_file import absence_facts
from store.models.enums import AbsenceReason, BookingState, DocumentSource, DocumentType
from store.planning import UpcomingBooking, upcoming_bookings

CHOOSE_CHILD, CHOOSE_DAYS, CHOOSE_REASON, ASK_CERTIFICATE, REVIEW = (
    "absence:child",
    "absence:days",
    "absence:reason",
    "absence:certificate",
    "absence:review",
)

DRAFT = "absence"
# Entries: the menu's buttons start with "menu:" so that other flows let them through.
CHILD = "ab:child:"
TODAY = "ab:today"
REASON = "ab:reason:"
LATER = "ab:later"
CONFIRM = "ab:confirm"
# At the recap: cancel the booked days still free to cancel, then record the absence.
CANCEL_FREE = "ab:cancelfree"
# The booked days of the absence still free to cancel, as offered at the recap:
# [[booking id, child id, line], ...]; and what cancelling them gave: [[child id, line], ...].
FREE_DAYS = "free_days"
CANCELLED = "cancelled"
# The certificate will be emailed: the draft's "certificate" holds this instead of a file.
CERTIFICATE_LATER = "later"
REASON_BUTTONS = {
    AbsenceReason.ILLNESS: "absence.btn_illness",
    AbsenceReason.FAMILY: "absence.btn_family",
    AbsenceReason.OTHER: "absence.btn_other",
}
# How many absences "Mes absences" lists (newest first), to stay within one Telegram message.
LISTED = 20


def _draft(context: PortalContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def _language(context: PortalContext) -> str:
    return context.user_data.get("language", "fr")


async def start(update: Update, context: PortalContext) -> str | int:
    """Entry: from the menu or `/absence`; skip the child question for an only child."""
    return await start_children_flow(
        update,
        context,
        DRAFT,
        button_prefix=CHILD,
        choose_state=CHOOSE_CHILD,
        next_step=ask_days,
    )


async def choose_child(update: Update, context: PortalContext) -> str | int:
    """A child (or all of them) was tapped."""
    draft = _draft(context)
    if not await is_live(update, context, draft):
        return CHOOSE_CHILD
    await answer(update)
    if not pick_children(draft, update.callback_query.data.removeprefix(CHILD)):
        await reply(update, text("forbidden", _language(context)))
        return CHOOSE_CHILD
    return await ask_days(update, context)


async def ask_days(update: Update, context: PortalContext) -> str:
    """Which day or days: "Aujourd'hui" in one tap, or typed in words."""
    draft = _draft(context)
    carried = draft.pop("carried_days", None)
    if carried:  # the parent's phrase at the menu named the days ("malade demain")
        draft["start"], draft["end"] = min(carried), max(carried)
        return await ask_reason(update, context)
    language = _language(context)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("absence.btn_today", language), callback_data=TODAY)],
            abort_row(language),
        ]
    )
    message = text("absence.ask_days", language, children=children_names(draft))
    await show_step(update, draft, message, keyboard)
    return CHOOSE_DAYS


async def today(update: Update, context: PortalContext) -> str:
    """ "Aujourd'hui" was tapped."""
    draft = _draft(context)
    if not await is_live(update, context, draft):
        return CHOOSE_DAYS
    await answer(update)
    day = context.portal.today().isoformat()
    draft["start"], draft["end"] = day, day
    return await ask_reason(update, context)


async def typed_days(update: Update, context: PortalContext) -> str:
    """A day or a period typed in words: from its first to its last day, or a question back."""
    language = _language(context)
    understood = understand(update.message.text or "", context.portal.today(), Intent.ABSENCE)
    if isinstance(understood, AskBack):
        question = understood.question_en if language == "en" else understood.question_fr
        await reply(update, escape(question))
        return CHOOSE_DAYS
    draft = _draft(context)
    draft["start"] = min(understood.days).isoformat()
    draft["end"] = max(understood.days).isoformat()
    return await ask_reason(update, context)


async def ask_reason(update: Update, context: PortalContext) -> str:
    """Illness, family reason, or another one; a certificate already sent means illness."""
    draft = _draft(context)
    held = draft.pop("held_file", None)
    if held:  # sent at the menu as a medical certificate
        draft["reason"] = AbsenceReason.ILLNESS.value
        draft["certificate"] = held
        return await review(update, context)
    language = _language(context)
    rows = [
        [InlineKeyboardButton(text(label, language), callback_data=f"{REASON}{reason.value}")]
        for reason, label in REASON_BUTTONS.items()
    ]
    rows.append(abort_row(language))
    message = text(
        "absence.ask_reason",
        language,
        children=children_names(draft),
        period_html=_draft_period(draft, language),
    )
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_REASON


async def choose_reason(update: Update, context: PortalContext) -> str:
    """A reason was tapped: an illness asks for the certificate, others go to the recap."""
    draft = _draft(context)
    if not await is_live(update, context, draft):
        return CHOOSE_REASON
    await answer(update)
    reason = AbsenceReason(update.callback_query.data.removeprefix(REASON))
    draft["reason"] = reason.value
    draft.pop("certificate", None)
    if reason is AbsenceReason.ILLNESS:
        return await ask_certificate(update, context)
    return await review(update, context)


async def ask_certificate(update: Update, context: PortalContext) -> str:
    """Ask for the medical certificate, or the promise to email it later."""
    draft = _draft(context)
    language = _language(context)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("absence.btn_later", language), callback_data=LATER)],
            abort_row(language),
        ]
    )
    limit = upload_limit(context.portal)
    message = text("absence.ask_certificate", language, limit_html=megabytes(limit, language))
    await show_step(update, draft, message, keyboard)
    return ASK_CERTIFICATE


async def got_certificate(update: Update, context: PortalContext) -> str:
    """A photo or a file arrived: checked now, stored only when the parent confirms."""
    language = _language(context)
    received = await receive(update, context, language)
    if received is None:
        return ASK_CERTIFICATE
    _draft(context)["certificate"] = {"file_id": received.file_id, "name": received.name}
    return await review(update, context)


async def not_a_certificate(update: Update, context: PortalContext) -> str:
    """Text (or a sticker, a voice note...) where the certificate was expected."""
    language = _language(context)
    await explain_not_a_file(update, context, language, text("absence.or_later", language))
    return ASK_CERTIFICATE


async def later(update: Update, context: PortalContext) -> str:
    """ "Je l'enverrai plus tard": the recap gives the address to email it to."""
    draft = _draft(context)
    if not await is_live(update, context, draft):
        return ASK_CERTIFICATE
    await answer(update)
    draft["certificate"] = CERTIFICATE_LATER
    return await review(update, context)


async def review(update: Update, context: PortalContext) -> str:
    """The recap: who, which days (with their weekday), why, and the certificate or not."""
    draft = _draft(context)
    language = _language(context)
    reason = AbsenceReason(draft["reason"])
    lines = [
        text("absence.recap_title", language),
        text("absence.recap_children", language, children=children_names(draft)),
        text("absence.recap_days", language, period_html=_draft_period(draft, language)),
        text("absence.recap_reason", language, reason=text(f"absence.reason.{reason}", language)),
    ]
    certificate = draft.get("certificate")
    if isinstance(certificate, dict):
        attached = text(
            "absence.certificate_attached",
            language,
            name=file_label(certificate["name"], language),
        )
    elif certificate == CERTIFICATE_LATER:
        email = certificates_email(context.portal)
        attached = text("absence.certificate_later", language, email=email)
    else:
        attached = text("absence.certificate_none", language)
    lines.append(text("absence.recap_certificate", language, certificate_html=attached))
    draft.pop(FREE_DAYS, None)
    if reason is not AbsenceReason.ILLNESS:
        lines += await _billing_note(update, context)
    if draft.get(FREE_DAYS):
        count = len(draft[FREE_DAYS])
        rows = [
            [
                InlineKeyboardButton(
                    text("absence.btn_cancel_free", language, count=count),
                    callback_data=CANCEL_FREE,
                )
            ],
            [
                InlineKeyboardButton(
                    text("absence.btn_report_only", language), callback_data=CONFIRM
                )
            ],
        ]
    else:
        rows = [[InlineKeyboardButton(text("btn.confirm", language), callback_data=CONFIRM)]]
    rows.append(abort_row(language))
    await show_step(update, draft, "\n".join(lines), InlineKeyboardMarkup(rows))
    return REVIEW


async def _billing_note(update: Update, context: PortalContext) -> list[str]:
    """For an absence that is not an illness: which booked days can still be cancelled for
    free (kept in the draft, offered at the recap), and that the others stay billed."""
    draft = _draft(context)
    language = _language(context)
    parent = await who(update, context)
    if parent is None:
        return []
    booked = await upcoming_bookings(
        context.portal.sessions,
        parent.actor,
        draft["children"],
        date.fromisoformat(draft["start"]),
        date.fromisoformat(draft["end"]),
        context.portal.clock(),
    )
    free = [b for b in booked if b.cancellation.status is CancellationStatus.FREE]
    if not free:
        return ["\n" + text("absence.billed_note", language)]
    draft[FREE_DAYS] = [
        [booking.booking_id, booking.child_id, _free_line(booking, language)] for booking in free
    ]
    lines = ["\n" + text("absence.free_note", language)]
    lines += [line for _, _, line in draft[FREE_DAYS]]
    if len(free) < len(booked):
        lines.append(text("absence.billed_rest_note", language))
    return lines


def _free_line(booking: UpcomingBooking, language: str) -> str:
    """A booked day still free to cancel: until when (a waitlisted day: any time)."""
    values = {
        "day": day_label(booking.day, language),
        "child": booking.child_name,
        "activity": booking.activity_name,
    }
    deadline = booking.cancellation.deadline
    if booking.state is BookingState.WAITLISTED or deadline is None:
        return text("cancel.recap_free", language, **values)
    return text(
        "absence.free_until", language, deadline=format_moment(deadline, language), **values
    )


async def cancel_free(update: Update, context: PortalContext) -> str | int:
    """ "Cancel free of charge and report": the days offered at the recap are cancelled only
    while still free (the store re-checks each), then the absence is recorded as by Confirm."""
    draft = _draft(context)
    if not await is_live(update, context, draft):
        return REVIEW
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    language = parent.language
    offered = {
        booking_id: (child_id, line) for booking_id, child_id, line in draft.get(FREE_DAYS, [])
    }
    results = await context.portal.bookings.cancel(parent.actor, list(offered), free_only=True)
    cancelled = []
    for result in results:
        child_id = offered[result.booking_id][0]
        values = {
            "day": day_label(result.day, language),
            "child": draft["names"].get(str(child_id), ""),
        }
        if result.outcome is CancelOutcome.CANCELLED:
            line = text("absence.done_cancelled", language, **values)
        else:
            deadline = format_moment(result.deadline, language) if result.deadline else ""
            reason = text(f"reason.{result.refusal}", language, deadline=deadline, opens="")
            line = text("cancel.done_refused", language, reason=reason, **values)
        cancelled.append([child_id, line])
    draft[CANCELLED] = cancelled
    draft.pop(FREE_DAYS, None)
    return await confirm(update, context)


async def confirm(update: Update, context: PortalContext) -> str | int:
    """Record the absence, attach the certificate, and say what it changed."""
    draft = _draft(context)
    if not await is_live(update, context, draft):
        return REVIEW
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    language = parent.language
    portal = context.portal
    family_id = parent.actor.family_id
    assert family_id is not None
    certificate = draft.get("certificate")
    document_id = None
    if isinstance(certificate, dict):
        content = await download(context, certificate["file_id"])
        try:
            stored = await document_service(portal).add(
                parent.actor,
                family_id,
                DocumentType.MEDICAL_CERTIFICATE,
                content,
                child_id=draft["children"][0] if len(draft["children"]) == 1 else None,
                original_name=certificate["name"],
                source=DocumentSource.TELEGRAM,
            )
        except DocumentRejected as refused:
            await reply(update, refusal_text(refused, language, upload_limit(portal)))
            draft.pop("certificate", None)
            return await ask_certificate(update, context)
        document_id = stored.id
    service = absence_service(portal)
    views = await service.report(
        parent.actor,
        draft["children"],
        date.fromisoformat(draft["start"]),
        date.fromisoformat(draft["end"]),
        AbsenceReason(draft["reason"]),
    )
    if document_id is not None:
        for view in views:
            await service.attach_certificate(parent.actor, view.id, document_id)
    message = await _outcome(context, draft, views, language)
    keyboard = _outcome_keyboard(draft, language)
    context.user_data.clear()
    await show(update, message, keyboard)
    return ConversationHandler.END


def _outcome_keyboard(draft: dict[str, Any], language: str) -> InlineKeyboardMarkup:
    """The menu, and "Cancel days" while booked days of the absence are still free to cancel."""
    rows = []
    if draft.get(FREE_DAYS):
        rows.append(
            [InlineKeyboardButton(text("btn.cancel_days", language), callback_data=MENU_CANCEL)]
        )
    rows.append([InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)])
    return InlineKeyboardMarkup(rows)


async def _outcome(
    context: PortalContext, draft: dict[str, Any], views: list[AbsenceView], language: str
) -> str:
    """What the report changed: per child, its reference, the booked days cancelled for free
    and the ones marked absent."""
    lines = []
    for view in views:
        lines.append(
            text(
                "absence.done",
                language,
                child=draft["names"].get(str(view.child_id), ""),
                period_html=period_label(view.start, view.end, language),
                reference=view.reference,
            )
        )
        cancelled = [
            line for child_id, line in draft.get(CANCELLED, []) if child_id == view.child_id
        ]
        lines += cancelled
        if view.days_marked == 0 and cancelled:
            continue
        if view.days_marked == 0:
            lines.append(text("absence.done_no_booking", language))
        elif view.days_marked == 1:
            lines.append(text("absence.done_marked_one", language))
        else:
            lines.append(text("absence.done_marked_many", language, count=view.days_marked))
    any_marked = any(view.days_marked for view in views)
    certificate = draft.get("certificate")
    if isinstance(certificate, dict):
        lines.append("\n" + text("absence.done_certificate", language))
    elif certificate == CERTIFICATE_LATER:
        email = certificates_email(context.portal)
        references = ", ".join(view.reference for view in views)
        lines.append(
            "\n" + text("absence.done_later", language, email=email, references=references)
        )
    elif any_marked and draft.get(FREE_DAYS):
        lines.append("\n" + text("absence.done_still_free", language))
        lines += [line for _, _, line in draft[FREE_DAYS]]
    elif any_marked:
        lines.append("\n" + text("absence.done_billed", language))
    return "\n".join(lines)


# "Mes absences" ---------------------------------------------------------------------------


async def list_absences(update: Update, context: PortalContext) -> None:
    """The family's absences, newest first, with their status (reported, excused, refused)."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    language = parent.language
    family_id = parent.actor.family_id
    assert family_id is not None
    names = {
        child.id: child.first_name
        for child in await context.portal.families.children(parent.actor)
    }
    absences = await absence_service(context.portal).family_absences(parent.actor, family_id)
    lines = [text("absence.list_title", language)]
    if not absences:
        lines.append(text("absence.list_none", language))
    for absence in absences[:LISTED]:
        lines.append(
            text(
                "absence.list_item",
                language,
                child=names.get(absence.child_id, ""),
                period_html=period_label(absence.start, absence.end, language),
                reason=text(f"absence.reason.{absence.reason}", language),
                certificate_html=(
                    text("absence.list_certificate", language) if absence.has_certificate else ""
                ),
                status=text(f"absence.status.{absence.status}", language),
                reference=absence.reference,
            )
        )
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("btn.absence", language), callback_data=MENU_ABSENCE)],
            [InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)],
        ]
    )
    await show(update, "\n".join(lines), keyboard)


# Staff decisions, delivered through the outbox ----------------------------------------------


@renders("certificate_accepted", "certificate_refused")
async def _certificate_notice(
    portal: Portal, payload: dict[str, Any], language: str
) -> str | None:
    """The parent's message when staff accept or refuse an absence's certificate."""
    facts = await absence_facts(portal.sessions, int(payload["absence_id"]))
    if facts is None:
        return None
    accepted = payload["kind"] == "certificate_accepted"
    message = text(
        "absence.notify_accepted" if accepted else "absence.notify_refused",
        language,
        child=facts.child_name,
        period_html=period_label(facts.start, facts.end, language),
        reference=facts.reference,
    )
    if payload.get("note"):
        message += "\n" + text("family_file.note", language, note=payload["note"])
    return message


# Helpers ----------------------------------------------------------------------------------


def period_label(start: date, end: date, language: str) -> str:
    """HTML: one day ("mer. 9 déc.") or a range ("du lun. 7 déc. au mer. 9 déc.")."""
    if start == end:
        return escape(day_label(start, language))
    return text(
        "absence.period_range",
        language,
        first=day_label(start, language),
        last=day_label(end, language),
    )


def _draft_period(draft: dict[str, Any], language: str) -> str:
    return period_label(
        date.fromisoformat(draft["start"]), date.fromisoformat(draft["end"]), language
    )


def build(timeout_seconds: float) -> ConversationHandler:
    """The absence flow, with abort, timeout and stale-button fallbacks."""
    return flow(
        "absence",
        [
            CommandHandler("absence", start),
            CallbackQueryHandler(start, pattern=f"^(?:{MENU_ABSENCE}|{FILE_AS_CERTIFICATE})$"),
        ],
        {
            CHOOSE_CHILD: [CallbackQueryHandler(choose_child, pattern=rf"^{CHILD}(\d+|all)$")],
            CHOOSE_DAYS: [
                CallbackQueryHandler(today, pattern=f"^{TODAY}$"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed_days),
            ],
            CHOOSE_REASON: [
                CallbackQueryHandler(
                    choose_reason,
                    pattern=rf"^{REASON}({'|'.join(reason.value for reason in AbsenceReason)})$",
                )
            ],
            ASK_CERTIFICATE: [
                MessageHandler(FILES, got_certificate),
                CallbackQueryHandler(later, pattern=f"^{LATER}$"),
                MessageHandler(
                    filters.UpdateType.MESSAGE & ~filters.COMMAND & ~FILES, not_a_certificate
                ),
            ],
            REVIEW: [
                CallbackQueryHandler(confirm, pattern=f"^{CONFIRM}$"),
                CallbackQueryHandler(cancel_free, pattern=f"^{CANCEL_FREE}$"),
            ],
        },
        timeout_seconds,
        stale_prefix="ab:",
        stray_input=(filters.TEXT & ~filters.COMMAND) | FILES,
    )


# One-shot handlers, registered with the menu's: "Mes absences" by button or `/mesabsences`.
HANDLERS: list[BaseHandler[Update, Any, Any]] = [
    CommandHandler("mesabsences", list_absences),
    CallbackQueryHandler(list_absences, pattern=f"^{MENU_MY_ABSENCES}$"),
]
