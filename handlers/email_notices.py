"""What parents read on Telegram about the documents they sent by email.

The inbound mail service queues a `documents_received` notification for the family (through the
outbox, in the transaction that files the documents), or, for a mail our MTA did not
authenticate, the question `mail_to_confirm` ("did you send this by email?", answered by
`handlers.mail_confirm`); this module writes their texts, never longer than Telegram takes
(a long list ends with "… and N more files"). Import it once (the application does) so that
the renderers are registered.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from babel.numbers import format_decimal
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from conversations.kit.formatting import BABEL_LOCALES, format_moment
from conversations.kit.notices import Notice, renders
from conversations.kit.texts import counted, text
from store.mail_decision import MAIL_TO_CONFIRM
from store.visibility import HEALTH_DOCUMENT_TYPES, health_visible_to_chat

if TYPE_CHECKING:
    from bot.portal import Portal

KILOBYTE = 1024
MEGABYTE = 1024 * 1024
# Telegram's limit for one message, and the files a notice lists before "… and N more".
TEXT_LIMIT = 4096
MAX_LISTED = 20
# The answers to "did you send this by email?" (`handlers.mail_confirm`): prefix, mail id.
CONFIRM_YES = "mc:yes:"
CONFIRM_NO = "mc:no:"


def file_size(size: int, language: str) -> str:
    """A size as parents read it: "120 Ko", "1,5 Mo" / "120 KB", "1.5 MB"."""
    locale = BABEL_LOCALES.get(language, "fr_FR")
    if size < MEGABYTE:
        number = format_decimal(max(1, round(size / KILOBYTE)), locale=locale)
        return text("inmail.kilobytes", language, number=number)
    number = format_decimal(round(size / MEGABYTE, 1), locale=locale)
    return text("inmail.megabytes", language, number=number)


def _refusal(refused: dict[str, Any], language: str) -> str:
    reason = str(refused.get("reason", "wrong_type"))
    if reason not in ("wrong_type", "too_large", "empty", "damaged", "active_content"):
        reason = "wrong_type"
    size = file_size(int(refused.get("size") or 0), language)
    limit = file_size(int(refused.get("limit") or 0), language)
    return text(f"inmail.refused.{reason}", language, size_html=size, limit_html=limit)


@renders("documents_received")
async def documents_received(portal: Portal, payload: dict[str, Any], language: str) -> str | None:
    """What was filed from a parent's email and what was refused, and why."""
    if not await health_visible_to_chat(portal.sessions, payload.get("recipient")):
        payload = _without_health(payload)
    subject = payload.get("subject") or text("inmail.no_subject", language)
    head = [text("inmail.docs_title", language, subject=subject), ""]
    if payload.get("health_hidden"):
        head.insert(1, text("visibility.health_hidden", language))
    received = payload.get("received") or []
    refused = payload.get("refused") or []
    not_taken = int(payload.get("not_taken") or 0)
    if not received and not refused and not not_taken:
        return "\n".join([*head, text("inmail.docs_none", language)])
    tail = [""]
    if not_taken:
        tail.append(not_taken_line(payload, language))
    if payload.get("certificate_for"):
        tail.append(
            text("inmail.certificate_attached", language, reference=payload["certificate_for"])
        )
    elif payload.get("unknown_reference"):
        tail.append(
            text("inmail.unknown_reference", language, reference=payload["unknown_reference"])
        )
    if received:
        tail.append(text("inmail.review", language))
    items = [_received_line(item, language) for item in received]
    items += [_refused_line(item, language) for item in refused]
    return fit_list(head, items, tail, language).strip()


def _without_health(payload: dict[str, Any]) -> dict[str, Any]:
    """The notice as a guardian who does not see health details reads it: a mail that held a
    health document (a certificate, a health form...) is told without it, nor its subject
    (the sender's words), nor the absence it excuses."""
    health = {doc_type.value for doc_type in HEALTH_DOCUMENT_TYPES}
    received = payload.get("received") or []
    if not payload.get("certificate_for") and not any(
        item.get("type") in health for item in received
    ):
        return payload
    return {
        **payload,
        "subject": None,
        "received": [item for item in received if item.get("type") not in health],
        "certificate_for": None,
        "health_hidden": True,
    }


@renders(MAIL_TO_CONFIRM)
async def mail_to_confirm(portal: Portal, payload: dict[str, Any], language: str) -> Notice:
    """ "Did you send this by email?", with the files held, and "Yes" / "No" under it."""
    subject = payload.get("subject") or text("inmail.no_subject", language)
    when = format_moment(datetime.fromisoformat(str(payload["received_at"])), language)
    head = [text("inmail.confirm_question", language, subject=subject, when=when), ""]
    items = [_received_line(item, language, held=True) for item in payload.get("files") or []]
    items += [_refused_line(item, language) for item in payload.get("refused") or []]
    tail = [""]
    not_taken = int(payload.get("not_taken") or 0)
    if not_taken:
        tail.append(not_taken_line(payload, language))
    tail.append(text("inmail.confirm_why", language))
    mail_id = int(payload["mail_id"])
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("btn.mail_sent_it", language), callback_data=f"{CONFIRM_YES}{mail_id}"
                ),
                InlineKeyboardButton(
                    text("btn.mail_not_me", language), callback_data=f"{CONFIRM_NO}{mail_id}"
                ),
            ]
        ]
    )
    return Notice(fit_list(head, items, tail, language).strip(), keyboard)


def not_taken_line(payload: dict[str, Any], language: str) -> str:
    """Attachments past the per-mail limit, said with the limit."""
    count = int(payload.get("not_taken") or 0)
    return counted("inmail.not_taken", count, language, max=payload.get("max_attachments"))


def _received_line(item: dict[str, Any], language: str, *, held: bool = False) -> str:
    return text(
        "inmail.doc_held" if held else "inmail.doc_received",
        language,
        name=item.get("name") or text("inmail.unnamed", language),
        type=text(f"doc.{item.get('type', 'to_classify')}", language),
        size_html=file_size(int(item.get("size") or 0), language),
    )


def _refused_line(item: dict[str, Any], language: str) -> str:
    return text(
        "inmail.doc_refused",
        language,
        name=item.get("name") or text("inmail.unnamed", language),
        reason_html=_refusal(item, language),
    )


def telegram_length(message: str) -> int:
    """A text's length as Telegram counts it (UTF-16 code units), tags included: an upper
    bound of what it counts once the HTML is parsed."""
    return len(message.encode("utf-16-le")) // 2


def fit_list(
    head: list[str], items: list[str], tail: list[str], language: str, limit: int = TEXT_LIMIT
) -> str:
    """`head`, as many `items` as fit (at most `MAX_LISTED`), "… and N more files", `tail`:
    never more than Telegram's `limit` for one message."""
    shown = items[:MAX_LISTED]
    while True:
        rest = len(items) - len(shown)
        more = [counted("inmail.more_files", rest, language)] if rest else []
        message = "\n".join([*head, *shown, *more, *tail])
        if telegram_length(message) <= limit or not shown:
            break
        shown = shown[:-1]
    if telegram_length(message) > limit:  # a head or tail alone too long: cut, never refused
        message = message[: limit // 2 - 1] + "…"
    return message
