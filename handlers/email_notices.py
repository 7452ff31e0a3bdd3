"""What parents read on Telegram about the documents they sent by email.

The inbound mail service queues a `documents_received` notification for the family (through the
outbox, in the transaction that files the documents); this module writes its text. Import it
once (the application does) so that the renderer is registered.
"""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal

from bot.delivery import renders
from bot.formatting import BABEL_LOCALES
from bot.portal import Portal
from bot.texts import text

KILOBYTE = 1024
MEGABYTE = 1024 * 1024


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
    subject = payload.get("subject") or text("inmail.no_subject", language)
    lines = [text("inmail.docs_title", language, subject=subject), ""]
    received = payload.get("received") or []
    refused = payload.get("refused") or []
    if not received and not refused:
        lines.append(text("inmail.docs_none", language))
        return "\n".join(lines)
    unnamed = text("inmail.unnamed", language)
    for item in received:
        lines.append(
            text(
                "inmail.doc_received",
                language,
                name=item.get("name") or unnamed,
                type=text(f"doc.{item.get('type', 'to_classify')}", language),
                size_html=file_size(int(item.get("size") or 0), language),
            )
        )
    for item in refused:
        lines.append(
            text(
                "inmail.doc_refused",
                language,
                name=item.get("name") or unnamed,
                reason_html=_refusal(item, language),
            )
        )
    lines.append("")
    if payload.get("certificate_for"):
        lines.append(
            text("inmail.certificate_attached", language, reference=payload["certificate_for"])
        )
    elif payload.get("unknown_reference"):
        lines.append(
            text("inmail.unknown_reference", language, reference=payload["unknown_reference"])
        )
    if received:
        lines.append(text("inmail.review", language))
    return "\n".join(lines).strip()
