"""Report an absence (signaler une absence): child → day(s) → reason → certificate → recap → send.

States are named at the top, one function per step, the wiring in `build()` at the bottom.
The draft is an `AbsenceDraft` (`DRAFTS`, JSON only: a certificate is kept as its Telegram file
id, downloaded again and stored only when the parent confirms). "Mes absences" is a one-shot
screen, and the staff's decisions on certificates reach the parent through the outbox.

The medical detail of an illness is not asked for: only the reason category is recorded.

The recap's confirm buttons carry a key (`store.idempotency`): the absence is recorded once —
its certificate stored once, the service told once — and a tap on them again, in the flow or
after it ended, answers what they gave; the outcome reaches the parent whatever Telegram does
(`conversations.receipts`). Days that already have an absence of the child extend or update
it, and the outcome says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations import callbacks
from conversations.kit.ask_back import ask_back_text
from conversations.kit.callback_data import choice
from conversations.kit.context import PortalContext
from conversations.kit.drafts import (
    Drafts,
    FamilyDraft,
    HeldFile,
    State,
    Tap,
    children_names,
    children_tapped,
    start_children_flow,
)
from conversations.kit.flows import Flow, flow, opened_by
from conversations.kit.formatting import amount, day_label, format_moment
from conversations.kit.language import chat_language, saved
from conversations.kit.live import answer_quietly, reply, show, show_step, typed_text
from conversations.kit.menu import (
    FILE_AS_CERTIFICATE,
    MENU_ABSENCE,
    MENU_CANCEL,
    MENU_MY_ABSENCES,
    MENU_SHOW,
    abort_row,
)
from conversations.kit.notices import Notice, renders
from conversations.kit.texts import text
from conversations.kit.uploads import (
    FILES,
    certificates_email,
    download,
    explain_not_a_file,
    file_label,
    megabytes,
    receive,
    refusal_text,
    upload_limit,
)
from conversations.kit.who import Who, family_screen, who
from conversations.receipts import Replays, child_names, recalled, tell
from dates import AskBack, Intent, understand
from store.absences import AbsenceView, ReportChange
from store.attendance import CORRECTED_NOTICE, UNANNOUNCED_NOTICE
from store.bookings import CancellationResult, CancelOutcome
from store.deadlines import CancellationStatus, format_day
from store.documents import DocumentRejected
from store.family_file import absence_facts
from store.idempotency import decode, new_key, step_key
from store.models.enums import AbsenceReason, BookingState, DocumentSource, DocumentType
from store.planning import UpcomingBooking, booking_facts, upcoming_bookings
from store.visibility import health_visible_to_chat

if TYPE_CHECKING:
    from bot.portal import Portal

CHOOSE_CHILD, CHOOSE_DAYS, CHOOSE_REASON, ASK_CERTIFICATE, REVIEW = (
    "absence:child",
    "absence:days",
    "absence:reason",
    "absence:certificate",
    "absence:review",
)

# Entries: the menu's buttons start with "menu:" so that other flows let them through.
CHILD = "ab:child:"
TODAY = "ab:today"
REASON = "ab:reason:"
LATER = "ab:later"
CONFIRM = "ab:confirm"
# At the recap: cancel the booked days still free to cancel, then record the absence.
CANCEL_FREE = "ab:cancelfree"
# The certificate will be emailed: the draft's "certificate" holds this instead of a file.
CERTIFICATE_LATER: Literal["later"] = "later"
# Cancelling the free days first is the step "free" of the recap's key.
FREE_STEP = "free"
CONFIRM_AGAIN = rf"^(?:{CONFIRM}|{CANCEL_FREE}):{callbacks.KEY}\Z"
REASON_BUTTONS = {
    AbsenceReason.ILLNESS: "absence.btn_illness",
    AbsenceReason.FAMILY: "absence.btn_family",
    AbsenceReason.OTHER: "absence.btn_other",
}
# How many absences "Mes absences" lists (newest first), to stay within one Telegram message.
LISTED = 20


class AbsenceDraft(FamilyDraft, total=False):
    """The absence flow's draft (saved as JSON between updates)."""

    # The first and last days (iso), the reason (an `AbsenceReason`'s value), and the
    # certificate: a file received, or `CERTIFICATE_LATER` (emailed later).
    start: str
    end: str
    reason: str
    certificate: HeldFile | Literal["later"]
    # The booked days still free to cancel, as offered at the recap: (booking id, child id,
    # line); and what cancelling them gave: (child id, line) (lists once loaded from JSON).
    free_days: list[tuple[int, int, str]]
    cancelled: list[tuple[int | None, str]]
    # The key of the recap shown (also on its buttons: `ab:confirm:<key>`).
    confirm_key: str


DRAFTS = Drafts[AbsenceDraft]("absence")


def _reason_of(data: str) -> AbsenceReason | None:
    """The reason on a tapped button (`ab:reason:illness`); None for any other."""
    tapped = choice(data, REASON, [reason.value for reason in AbsenceReason])
    return AbsenceReason(tapped) if tapped is not None else None


async def start(update: Update, context: PortalContext) -> State:
    """Entry: from the menu or `/absence`; skip the child question for an only child."""
    return await start_children_flow(
        update,
        context,
        DRAFTS,
        button_prefix=CHILD,
        choose_state=CHOOSE_CHILD,
        next_step=ask_days,
    )


@DRAFTS.tap(CHOOSE_CHILD, read=lambda data: callbacks.child_of(data, CHILD))
async def choose_child(
    update: Update, context: PortalContext, tap: Tap[AbsenceDraft, str]
) -> State:
    """A child (or all of them) was tapped."""
    return await children_tapped(update, context, tap, stay=CHOOSE_CHILD, next_step=ask_days)


async def ask_days(update: Update, context: PortalContext) -> str:
    """Which day or days: "Aujourd'hui" in one tap, or typed in words."""
    draft = DRAFTS(context)
    carried = draft.pop("carried_days", None)
    if carried:  # the parent's phrase at the menu named the days ("malade demain")
        draft["start"], draft["end"] = min(carried), max(carried)
        return await ask_reason(update, context)
    language = chat_language(context)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("absence.btn_today", language), callback_data=TODAY)],
            abort_row(language),
        ]
    )
    message = text("absence.ask_days", language, children=children_names(draft))
    await show_step(update, draft, message, keyboard)
    return CHOOSE_DAYS


@DRAFTS.tap(CHOOSE_DAYS)
async def today(update: Update, context: PortalContext, tap: Tap[AbsenceDraft, str]) -> str:
    """ "Aujourd'hui" was tapped."""
    day = context.portal.today().isoformat()
    tap.draft["start"], tap.draft["end"] = day, day
    return await ask_reason(update, context)


async def typed_days(update: Update, context: PortalContext) -> str:
    """A day or a period typed in words: from its first to its last day, or a question back."""
    language = chat_language(context)
    understood = understand(typed_text(update), context.portal.today(), Intent.ABSENCE)
    if isinstance(understood, AskBack):
        await reply(update, ask_back_text(understood, language))
        return CHOOSE_DAYS
    draft = DRAFTS(context)
    draft["start"] = min(understood.days).isoformat()
    draft["end"] = max(understood.days).isoformat()
    return await ask_reason(update, context)


async def ask_reason(update: Update, context: PortalContext) -> str:
    """Illness, family reason, or another one; a certificate already sent means illness."""
    draft = DRAFTS(context)
    held = draft.pop("held_file", None)
    if held:  # sent at the menu as a medical certificate
        draft["reason"] = AbsenceReason.ILLNESS.value
        draft["certificate"] = held
        return await review(update, context)
    language = chat_language(context)
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


@DRAFTS.tap(CHOOSE_REASON, read=_reason_of)
async def choose_reason(
    update: Update, context: PortalContext, tap: Tap[AbsenceDraft, AbsenceReason]
) -> str:
    """A reason was tapped: an illness asks for the certificate, others go to the recap."""
    draft, reason = tap.draft, tap.value
    draft["reason"] = reason.value
    draft.pop("certificate", None)
    if reason is AbsenceReason.ILLNESS:
        return await ask_certificate(update, context)
    return await review(update, context)


async def ask_certificate(update: Update, context: PortalContext) -> str:
    """Ask for the medical certificate, or the promise to email it later."""
    draft = DRAFTS(context)
    language = chat_language(context)
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
    language = chat_language(context)
    received = await receive(update, context, language)
    if received is None:
        return ASK_CERTIFICATE
    DRAFTS(context)["certificate"] = {"file_id": received.file_id, "name": received.name}
    return await review(update, context)


async def not_a_certificate(update: Update, context: PortalContext) -> str:
    """Text (or a sticker, a voice note...) where the certificate was expected."""
    language = chat_language(context)
    await explain_not_a_file(update, context, language, text("absence.or_later", language))
    return ASK_CERTIFICATE


@DRAFTS.tap(ASK_CERTIFICATE)
async def later(update: Update, context: PortalContext, tap: Tap[AbsenceDraft, str]) -> str:
    """ "Je l'enverrai plus tard": the recap gives the address to email it to."""
    tap.draft["certificate"] = CERTIFICATE_LATER
    return await review(update, context)


async def review(update: Update, context: PortalContext) -> str:
    """The recap: who, which days (with their weekday), why, and the certificate or not."""
    draft = DRAFTS(context)
    language = chat_language(context)
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
    draft.pop("free_days", None)
    if reason is not AbsenceReason.ILLNESS:
        lines += await _billing_note(update, context)
    # A key per recap shown: its buttons record the absence once, however often tapped.
    key = draft["confirm_key"] = new_key()
    if draft.get("free_days"):
        count = len(draft["free_days"])
        rows = [
            [
                InlineKeyboardButton(
                    text("absence.btn_cancel_free", language, count=count),
                    callback_data=f"{CANCEL_FREE}:{key}",
                )
            ],
            [
                InlineKeyboardButton(
                    text("absence.btn_report_only", language), callback_data=f"{CONFIRM}:{key}"
                )
            ],
        ]
    else:
        rows = [
            [InlineKeyboardButton(text("btn.confirm", language), callback_data=f"{CONFIRM}:{key}")]
        ]
    rows.append(abort_row(language))
    await show_step(update, draft, "\n".join(lines), InlineKeyboardMarkup(rows))
    return REVIEW


async def _billing_note(update: Update, context: PortalContext) -> list[str]:
    """For an absence that is not an illness: which booked days can still be cancelled for
    free (kept in the draft, offered at the recap), and that the others stay billed."""
    draft = DRAFTS(context)
    language = chat_language(context)
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
    draft["free_days"] = [
        (booking.booking_id, booking.child_id, _free_line(booking, language)) for booking in free
    ]
    lines = ["\n" + text("absence.free_note", language)]
    lines += [line for _, _, line in draft["free_days"]]
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


# The recap's buttons: one of an older recap answers what it gave; the tap is answered with
# the record (`_record`).
on_recap = DRAFTS.tap(
    REVIEW,
    older=lambda update, context, draft: AGAIN.older(update, context, draft),
    answer_first=False,
    linked=True,
)


@on_recap
async def cancel_free(
    update: Update, context: PortalContext, tap: Tap[AbsenceDraft, str]
) -> State:
    """ "Cancel free of charge and report": the days offered at the recap are cancelled only
    while still free (the store re-checks each), then the absence is recorded as by Confirm.
    Both happen once for the recap's key."""
    draft, parent = tap.draft, tap.parent
    key = draft.setdefault("confirm_key", new_key())
    offered = [booking_id for booking_id, _, _ in draft.get("free_days", [])]
    results = await context.portal.bookings.cancel(
        parent.actor, offered, free_only=True, key=step_key(key, FREE_STEP)
    )
    draft["cancelled"] = _cancelled_lines(results, draft["names"], parent.language)
    draft.pop("free_days", None)
    return await _record(update, context, parent)


@on_recap
async def confirm(update: Update, context: PortalContext, tap: Tap[AbsenceDraft, str]) -> State:
    """Record the absence, attach the certificate, and say what it changed."""
    return await _record(update, context, tap.parent)


async def _record(update: Update, context: PortalContext, parent: Who) -> State:
    """Record the absence once for the recap's key (with its certificate, stored once), then
    tell what it changed; the flow ends with the record, whatever Telegram does."""
    await answer_quietly(update)
    draft = DRAFTS(context)
    language = parent.language
    key = draft.setdefault("confirm_key", new_key())
    done = await recalled(context, parent, key, "absence")
    if done is not None:  # recorded, then the chat's state was lost: nothing is done again
        views = decode(AbsenceView, done.outcome, replayed=True)
    else:
        try:
            document_id = await _certificate_id(context, parent, draft)
        except DocumentRejected as refused:
            await reply(update, refusal_text(refused, language, upload_limit(context.portal)))
            draft.pop("certificate", None)
            return await ask_certificate(update, context)
        views = await context.portal.absences.report(
            parent.actor,
            draft["children"],
            date.fromisoformat(draft["start"]),
            date.fromisoformat(draft["end"]),
            AbsenceReason(draft["reason"]),
            certificate_id=document_id,
            key=key,
        )
    message = _outcome(
        context,
        draft["names"],
        views,
        language,
        cancelled=draft.get("cancelled", []),
        certificate=_certificate_kind(draft.get("certificate")),
        still_free=[line for _, _, line in draft.get("free_days", [])],
    )
    await tell(update, context, message, _outcome_keyboard(draft, language), dedup=key)
    saved(context).clear()
    return ConversationHandler.END


async def _certificate_id(context: PortalContext, parent: Who, draft: AbsenceDraft) -> int | None:
    """The draft's certificate, stored (None without one): downloaded and checked now, or the
    same file stored by a confirm that went no further (never stored twice)."""
    certificate = draft.get("certificate")
    if not isinstance(certificate, dict):
        return None
    family_id = parent.actor.family_id
    assert family_id is not None
    content = await download(context, certificate["file_id"])
    service = context.portal.absences
    sha256 = hashlib.sha256(content).hexdigest()
    stored_before = await service.reusable_certificate(parent.actor, family_id, sha256)
    if stored_before is not None:
        return stored_before
    stored = await context.portal.documents.add(
        parent.actor,
        family_id,
        DocumentType.MEDICAL_CERTIFICATE,
        content,
        child_id=draft["children"][0] if len(draft["children"]) == 1 else None,
        original_name=certificate["name"],
        source=DocumentSource.TELEGRAM,
    )
    return stored.id


def _cancelled_lines(
    results: list[CancellationResult], names: dict[str, str], language: str
) -> list[tuple[int | None, str]]:
    """What cancelling the free days gave: (child id, line) for each day."""
    cancelled = []
    for result in results:
        values = {
            "day": day_label(result.day, language),
            "child": names.get(str(result.child_id), ""),
        }
        if result.outcome is CancelOutcome.CANCELLED:
            line = text("absence.done_cancelled", language, **values)
        else:
            deadline = format_moment(result.deadline, language) if result.deadline else ""
            refusal = result.refusal.value if result.refusal else "not_cancellable"
            reason = text(f"reason.{refusal}", language, deadline=deadline, opens="")
            line = text("cancel.done_refused", language, reason=reason, **values)
        cancelled.append((result.child_id, line))
    return cancelled


def _certificate_kind(certificate: object) -> str | None:
    """ "file", "later" or None, from the draft's certificate."""
    if isinstance(certificate, dict):
        return "file"
    return CERTIFICATE_LATER if certificate == CERTIFICATE_LATER else None


def _outcome_keyboard(draft: AbsenceDraft, language: str) -> InlineKeyboardMarkup:
    """The menu, and "Cancel days" while booked days of the absence are still free to cancel."""
    rows = []
    if draft.get("free_days"):
        rows.append(
            [InlineKeyboardButton(text("btn.cancel_days", language), callback_data=MENU_CANCEL)]
        )
    rows.append([InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)])
    return InlineKeyboardMarkup(rows)


# What each report did to an absence of the child: its first line.
DONE_LINES = {
    ReportChange.CREATED: "absence.done",
    ReportChange.EXTENDED: "absence.done_extended",
    ReportChange.UPDATED: "absence.done_updated",
    ReportChange.UNCHANGED: "absence.done_unchanged",
}


def _outcome(
    context: PortalContext,
    names: dict[str, str],
    views: list[AbsenceView],
    language: str,
    *,
    cancelled: Sequence[tuple[int | None, str]],
    certificate: str | None,
    still_free: list[str],
) -> str:
    """What the report changed: per child, the absence recorded (new, extended, updated or
    already there) with its reference, the booked days cancelled for free and the ones marked
    absent; "already recorded" first for a confirm tapped again."""
    lines = []
    if any(view.replayed for view in views):
        lines.append(text("outcome.replayed", language))
    for view in views:
        lines.append(
            text(
                DONE_LINES[view.change],
                language,
                child=names.get(str(view.child_id), ""),
                period_html=period_label(view.start, view.end, language),
                reference=view.reference,
            )
        )
        child_cancelled = [line for child_id, line in cancelled if child_id == view.child_id]
        lines += child_cancelled
        if view.days_marked == 0 and child_cancelled:
            continue
        if view.days_marked == 0:
            lines.append(text("absence.done_no_booking", language))
        elif view.days_marked == 1:
            lines.append(text("absence.done_marked_one", language))
        else:
            lines.append(text("absence.done_marked_many", language, count=view.days_marked))
    any_marked = any(view.days_marked for view in views)
    if certificate == "file":
        lines.append("\n" + text("absence.done_certificate", language))
    elif certificate == CERTIFICATE_LATER:
        email = certificates_email(context.portal)
        references = ", ".join(dict.fromkeys(view.reference for view in views))
        lines.append(
            "\n" + text("absence.done_later", language, email=email, references=references)
        )
    elif any_marked and still_free:
        lines.append("\n" + text("absence.done_still_free", language))
        lines += still_free
    elif any_marked:
        lines.append("\n" + text("absence.done_billed", language))
    return "\n".join(lines)


def _tapped_key(data: str | None) -> str | None:
    """The recap's key on its Confirmer, or on its "cancel for free and report" button."""
    return callbacks.key_of(data, CONFIRM) or callbacks.key_of(data, CANCEL_FREE)


async def _replayed(
    update: Update, context: PortalContext, parent: Who, key: str
) -> tuple[str, InlineKeyboardMarkup] | None:
    """The outcome recorded for a recap's key, told from the store alone (the draft is gone):
    the absences, and the free days cancelled first."""
    done = await recalled(context, parent, key, "absence")
    freed = await recalled(context, parent, step_key(key, FREE_STEP), "cancel")
    if done is None and freed is None:
        return None
    language = parent.language
    names = await child_names(context, parent)
    results = decode(CancellationResult, freed.outcome, replayed=True) if freed else []
    cancelled = _cancelled_lines(results, names, language)
    if done is None:  # cancelled, then the report went no further
        lines = [text("outcome.replayed", language)] + [line for _, line in cancelled]
        return "\n".join(lines), _outcome_keyboard({}, language)
    views = decode(AbsenceView, done.outcome, replayed=True)
    message = _outcome(
        context,
        names,
        views,
        language,
        cancelled=cancelled,
        certificate=_replayed_certificate(views),
        still_free=[],
    )
    return message, _outcome_keyboard({}, language)


AGAIN: Replays = Replays(_tapped_key, _replayed)


def _replayed_certificate(views: list[AbsenceView]) -> str | None:
    """What the report said of the certificate, from the absences: attached, or (an illness
    without one) to be emailed."""
    if any(view.has_certificate for view in views):
        return "file"
    if any(view.reason is AbsenceReason.ILLNESS for view in views):
        return CERTIFICATE_LATER
    return None


# "Mes absences" ---------------------------------------------------------------------------


async def list_absences(update: Update, context: PortalContext) -> None:
    """The family's absences, newest first, with their status (reported, excused, refused)."""
    screen = await family_screen(update, context)
    if screen is None:
        return
    parent, family_id, names = screen
    language = parent.language
    absences = await context.portal.absences.family_absences(parent.actor, family_id)
    lines = [text("absence.list_title", language)]
    if not absences:
        lines.append(text("absence.list_none", language))
    elif not absences[0].health_shown:
        lines.append(text("visibility.health_hidden", language))
    for absence in absences[:LISTED]:
        lines.append(
            text(
                "absence.list_item",
                language,
                child=names.get(absence.child_id, ""),
                period_html=period_label(absence.start, absence.end, language),
                reason=text(
                    f"absence.reason.{absence.reason}"
                    if absence.reason is not None
                    else "absence.reason.hidden",
                    language,
                ),
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
    # A guardian who does not see health details is told the outcome, not of a certificate
    # nor the staff's note on it.
    health = await health_visible_to_chat(portal.sessions, payload.get("recipient"))
    key = "absence.notify_accepted" if health else "visibility.absence_excused"
    message = text(
        key if accepted else "absence.notify_refused",
        language,
        child=facts.child_name,
        period_html=period_label(facts.start, facts.end, language),
        reference=facts.reference,
    )
    if health and payload.get("note"):
        message += "\n" + text("family_file.note", language, note=payload["note"])
    return message


@renders(UNANNOUNCED_NOTICE, CORRECTED_NOTICE)
async def _attendance_notice(
    portal: Portal, payload: dict[str, Any], language: str
) -> Notice | str | None:
    """The parent's message when staff mark a day absent that no one announced (billed, and
    a certificate may still excuse it), or correct such a day to present."""
    unannounced = payload["kind"] == UNANNOUNCED_NOTICE
    items = (
        payload["items"] if unannounced else [{"booking_id": b} for b in payload["booking_ids"]]
    )
    facts = [await booking_facts(portal.sessions, int(item["booking_id"])) for item in items]
    known = [(item, fact) for item, fact in zip(items, facts, strict=True) if fact is not None]
    if not known:
        return None
    values = {
        "activity": known[0][1].activity_name,
        "day": format_day(date.fromisoformat(payload["day"]), language),
    }
    if not unannounced:
        names = escape(", ".join(fact.child_name for _, fact in known))
        return text("attendance.corrected", language, children_html=names, **values)

    def billed(item: dict[str, Any]) -> str:
        total, surcharge = int(item["amount_cents"]), int(item.get("surcharge_cents", 0))
        if not surcharge:
            return escape(amount(total, language))
        return text(
            "attendance.with_surcharge",
            language,
            amount=amount(total, language),
            surcharge=amount(surcharge, language),
        )

    if len(known) == 1:
        item, fact = known[0]
        children, total_html = escape(fact.child_name), billed(item)
    else:
        children = ", ".join(
            text("attendance.child_amount", language, child=fact.child_name, amount_html=billed(i))
            for i, fact in known
        )
        total_html = escape(amount(sum(int(i["amount_cents"]) for i, _ in known), language))
    message = text(
        "attendance.unannounced",
        language,
        children_html=children,
        amount_html=total_html,
        **values,
    )
    message += "\n" + text("attendance.certificate_hint", language)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton(text("btn.absence", language), callback_data=MENU_ABSENCE)]]
    )
    return Notice(message, keyboard)


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


def _draft_period(draft: AbsenceDraft, language: str) -> str:
    return period_label(
        date.fromisoformat(draft["start"]), date.fromisoformat(draft["end"]), language
    )


def build(timeout_seconds: float) -> Flow:
    """The absence flow, with abort, timeout and stale-button fallbacks; a confirm of an
    older recap is answered in every step."""
    again = CallbackQueryHandler(AGAIN.in_flow, pattern=CONFIRM_AGAIN)
    return flow(
        DRAFTS,
        opened_by("absence", start, rf"{MENU_ABSENCE}|{FILE_AS_CERTIFICATE}"),
        {
            CHOOSE_CHILD: [
                CallbackQueryHandler(choose_child, pattern=callbacks.child_pattern(CHILD)),
                again,
            ],
            CHOOSE_DAYS: [
                CallbackQueryHandler(today, pattern=rf"^{TODAY}\Z"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed_days),
                again,
            ],
            CHOOSE_REASON: [
                CallbackQueryHandler(
                    choose_reason,
                    pattern=rf"^{REASON}({'|'.join(reason.value for reason in AbsenceReason)})\Z",
                ),
                again,
            ],
            ASK_CERTIFICATE: [
                MessageHandler(FILES, got_certificate),
                CallbackQueryHandler(later, pattern=rf"^{LATER}\Z"),
                MessageHandler(
                    filters.UpdateType.MESSAGE & ~filters.COMMAND & ~FILES, not_a_certificate
                ),
                again,
            ],
            REVIEW: [
                CallbackQueryHandler(confirm, pattern=callbacks.confirm_pattern(CONFIRM)),
                CallbackQueryHandler(cancel_free, pattern=callbacks.confirm_pattern(CANCEL_FREE)),
            ],
        },
        timeout_seconds,
        stale_prefix="ab:",
        stray_input=(filters.TEXT & ~filters.COMMAND) | FILES,
    )


# A recap's confirm tapped after its flow ended answers what it gave (`bot.app` registers
# each flow's `REPLAYS` with the one-shot handlers).
REPLAYS: list[BaseHandler[Update, Any, Any]] = [
    CallbackQueryHandler(AGAIN.after_flow, pattern=CONFIRM_AGAIN)
]
# One-shot handlers, registered with the menu's: "Mes absences" by button or `/mesabsences`.
HANDLERS: list[BaseHandler[Update, Any, Any]] = [
    CommandHandler("mesabsences", list_absences),
    CallbackQueryHandler(list_absences, pattern=rf"^{MENU_MY_ABSENCES}\Z"),
]
