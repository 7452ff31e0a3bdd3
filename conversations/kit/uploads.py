"""Files parents send in the chat (absence certificates, documents), shared by both flows.

A photo straight from the phone or a PDF/JPG/PNG file: refused before any download when
Telegram says it is larger than we accept (a bot cannot download more than 20 MB anyway), then
downloaded and checked by content and size by the store (a real PDF, JPEG or PNG, parsed off the
event loop; a PDF that runs something is refused). Refusals are explained in plain words
naming the limit. The file's name is only a label, cleaned of control and bidirectional
characters and dangerous extensions. Contents are never logged.

Also here: the address certificates may be emailed to (the absence and document services are
the portal's, `bot.portal.Portal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from babel.numbers import format_decimal
from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import filters

from conversations.kit.context import PortalContext
from conversations.kit.formatting import BABEL_LOCALES
from conversations.kit.live import reply
from conversations.kit.texts import text
from store.documents import DocumentRejected, RejectionReason
from store.safe_files import display_label

if TYPE_CHECKING:
    from bot.portal import Portal

# What the Bot API lets a bot download (getFile); larger files cannot reach us at all.
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
MEGABYTE = 1024 * 1024
# The messages a file step receives: a photo straight from the phone, or a file.
FILES = filters.PHOTO | filters.Document.ALL
# Where the flow remembers the message whose buttons are live (see `show_step`).

REFUSALS = {
    RejectionReason.EMPTY: "upload.empty",
    RejectionReason.TOO_LARGE: "upload.too_large",
    RejectionReason.WRONG_TYPE: "upload.wrong_type",
    RejectionReason.DAMAGED: "upload.damaged",
    RejectionReason.ACTIVE_CONTENT: "upload.active_content",
}


# Services -----------------------------------------------------------------------------------


def certificates_email(portal: Portal) -> str:
    """Where to email a certificate: the documents address the inbound server files from."""
    return portal.settings.documents_email


# Limits -------------------------------------------------------------------------------------


def upload_limit(portal: Portal) -> int:
    """The largest file accepted, in bytes: ours, or Telegram's if smaller."""
    return min(portal.settings.max_document_bytes, TELEGRAM_DOWNLOAD_LIMIT)


def megabytes(size: int, language: str) -> str:
    """HTML: a size in megabytes as parents read it: "6 Mo", "1,5 Mo" / "6 MB"."""
    number = max(round(size / MEGABYTE, 1), 0.1)
    locale = BABEL_LOCALES.get(language, "fr_FR")
    return text("upload.megabytes", language, number=format_decimal(number, locale=locale))


# Receiving a file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """A file announced by a message, before download."""

    file_id: str
    size: int | None
    name: str | None


@dataclass(frozen=True)
class Received:
    """A file downloaded and accepted by the store's checks (`content` as received: the store
    checks it again when it keeps it)."""

    file_id: str
    name: str | None
    content: bytes
    content_type: str


def incoming_file(message: Message | None) -> Incoming | None:
    """The photo (its largest size) or document of a message, if it carries one; its name is
    a cleaned label (`display_label`)."""
    if message is None:
        return None
    if message.photo:
        largest = message.photo[-1]
        return Incoming(largest.file_id, largest.file_size, None)
    if message.document is not None:
        document = message.document
        return Incoming(document.file_id, document.file_size, display_label(document.file_name))
    return None


def file_label(name: str | None, language: str) -> str:
    """How a received file is named back to the parent: its file name, or "photo"."""
    return name or text("upload.photo", language)


async def download(context: PortalContext, file_id: str) -> bytes:
    """The bytes of a Telegram file."""
    telegram_file = await context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


def refusal_text(refused: DocumentRejected, language: str, limit: int) -> str:
    """Why the store refused a file, naming the limit when it is about size."""
    limit_bytes = refused.limit_bytes or limit
    return text(REFUSALS[refused.reason], language, limit_html=megabytes(limit_bytes, language))


async def receive(update: Update, context: PortalContext, language: str) -> Received | None:
    """Download and check the file of this message; None after telling the parent why not."""
    portal = context.portal
    limit = upload_limit(portal)
    incoming = incoming_file(update.effective_message)
    if incoming is None:
        await explain_not_a_file(update, context, language)
        return None
    too_large = text("upload.too_large", language, limit_html=megabytes(limit, language))
    if incoming.size is not None and incoming.size > limit:
        await reply(update, too_large)
        return None
    try:
        content = await download(context, incoming.file_id)
    except BadRequest as error:
        if "too big" not in str(error).lower():
            raise
        await reply(update, too_large)
        return None
    try:
        checked = await portal.documents.check(content)
    except DocumentRejected as refused:
        await reply(update, refusal_text(refused, language, limit))
        return None
    return Received(incoming.file_id, incoming.name, content, checked.content_type)


async def explain_not_a_file(
    update: Update, context: PortalContext, language: str, hint: str = ""
) -> None:
    """Something else than a file arrived where a file was expected."""
    limit = megabytes(upload_limit(context.portal), language)
    message = text("upload.not_a_file", language, limit_html=limit)
    await reply(update, f"{message} {hint}".strip())


# The flow's live message ------------------------------------------------------------------
