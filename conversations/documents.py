"""Documents (mes documents): the family's documents and what is missing, then sending one.

"Mes documents" is a one-shot screen: the documents sent with their status (one awaiting
validation says what it will unblock), and the required documents still missing with the
activities they block. Its "➕ Envoyer un document" button starts the flow: type (what the
activities require, plus the general ones: the store says) → for the family or one child → the
file → stored, pending review.
States are named at the top, one function per step, the wiring in `build()` at the bottom.
The staff's review reaches the parent through the outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.kit.callback_data import choice, either, one_of, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.drafts import Drafts, HeldFile, State, Tap, offered_to_flow
from conversations.kit.flows import Flow, flow
from conversations.kit.formatting import day_label
from conversations.kit.language import chat_language, keep_language, saved
from conversations.kit.live import FlowDraft, answer, reply, show, show_step
from conversations.kit.menu import FILE_AS_DOCUMENT, MENU_DOCUMENTS, MENU_SHOW, abort_row
from conversations.kit.notices import renders
from conversations.kit.texts import CATALOG, text
from conversations.kit.uploads import (
    FILES,
    download,
    explain_not_a_file,
    file_label,
    megabytes,
    receive,
    refusal_text,
    upload_limit,
)
from conversations.kit.who import family_screen, who
from store.deadlines import PARIS
from store.documents import DocumentRejected
from store.family_file import document_facts
from store.models.enums import DocumentSource, DocumentType
from store.visibility import HEALTH_DOCUMENT_TYPES, health_shown, health_visible_to_chat

if TYPE_CHECKING:
    from bot.portal import Portal

CHOOSE_TYPE, CHOOSE_OWNER, UPLOAD = "documents:type", "documents:owner", "documents:upload"

# Entries: the menu's buttons start with "menu:" so that other flows let them through.
MENU_SEND = "menu:documents:send"
TYPE = "dc:type:"
OWNER = "dc:owner:"
FAMILY = "family"
# Documents of the household: no "for whom?" question.
FAMILY_ONLY = {DocumentType.PROOF_OF_ADDRESS, DocumentType.CAF_QUOTIENT}
# How many documents the screen lists (newest first), to stay within one Telegram message.
LISTED = 20


class DocumentsDraft(FlowDraft, total=False):
    """The sending flow's draft (saved as JSON between updates)."""

    # A file sent at the menu, said to be a document: it is not asked for.
    held_file: HeldFile
    # The children's first names by id, and the types offered (`DocumentType` values).
    names: dict[str, str]
    types: list[str]
    # The type chosen, and for whom: `FAMILY` or a child's id.
    type: str
    owner: str


DRAFTS = Drafts[DocumentsDraft]("documents")


def document_label(doc_type: str, language: str) -> str:
    """A document type in words ("carnet de vaccination"); an unknown type as it is."""
    key = f"doc.{doc_type}"
    return text(key, language) if key in CATALOG else doc_type


# "Mes documents" --------------------------------------------------------------------------


async def show_documents(update: Update, context: PortalContext) -> None:
    """The documents sent with their status, and the missing ones with what they block."""
    screen = await family_screen(update, context)
    if screen is None:
        return
    parent, family_id, names = screen
    language = parent.language
    service = context.portal.documents
    documents = await service.family_documents(parent.actor, family_id)
    missing = await service.missing_documents(parent.actor, family_id)
    # What each document awaiting validation will unblock once accepted.
    unblocks: dict[int, list[str]] = {}
    for item in missing:
        for document_id in item.pending_document_ids:
            activities = unblocks.setdefault(document_id, [])
            activities += [a for a in item.blocked_activities if a not in activities]
    lines = [text("documents.title", language)]
    if not await health_shown(context.portal.sessions, parent.actor):
        lines.append(text("visibility.health_hidden", language))
    if not documents:
        lines.append(text("documents.none", language))
    for document in documents[:LISTED]:
        owner = (
            names.get(document.child_id, "")
            if document.child_id is not None
            else text("documents.family", language)
        )
        line = text(
            "documents.item",
            language,
            document=document_label(document.doc_type, language),
            owner=owner,
            status=text(f"documents.status.{document.status}", language),
            day=day_label(document.created_at.astimezone(PARIS).date(), language),
        )
        if document.id in unblocks:
            line += text(
                "documents.unblocks", language, activities=", ".join(unblocks[document.id])
            )
        lines.append(line)
    # A document sent, awaiting validation, is not missing: its line above says so.
    to_send = [item for item in missing if not item.pending]
    if to_send:
        lines.append("\n" + text("documents.missing_title", language))
    for item in to_send:
        lines.append(
            text(
                "documents.missing_item",
                language,
                document=document_label(item.doc_type, language),
                child=names.get(item.child_id, ""),
                activities=", ".join(item.blocked_activities),
            )
        )
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("documents.btn_send", language), callback_data=MENU_SEND)],
            [InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)],
        ]
    )
    await show(update, "\n".join(lines), keyboard)


# Sending a document -----------------------------------------------------------------------


async def start(update: Update, context: PortalContext) -> State:
    """Entry: "➕ Envoyer un document" — which kind of document?"""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    children = await context.portal.families.children(parent.actor)
    sendable = await context.portal.documents.sendable_types()
    held = offered_to_flow(update, context).get("held_file")
    saved(context).clear()
    keep_language(context, parent.language)
    draft = DRAFTS(context)
    if held:  # a file sent at the menu, said to be a document: it will not be asked for
        draft["held_file"] = held
    draft["names"] = {str(child.id): child.first_name for child in children}
    draft["types"] = [doc_type.value for doc_type in sendable]
    language = parent.language
    rows = [
        [
            InlineKeyboardButton(
                _capitalised(document_label(doc_type, language)),
                callback_data=f"{TYPE}{doc_type.value}",
            )
        ]
        for doc_type in sendable
    ]
    rows.append(abort_row(language))
    await show_step(
        update, draft, text("documents.ask_type", language), InlineKeyboardMarkup(rows)
    )
    return CHOOSE_TYPE


@DRAFTS.tap(CHOOSE_TYPE)
async def choose_type(
    update: Update, context: PortalContext, tap: Tap[DocumentsDraft, str]
) -> State:
    """A type was tapped: household documents go straight to the file, others ask for whom
    (only a type the flow offered is accepted)."""
    draft = tap.draft
    offered = draft.get("types") or [
        doc_type.value for doc_type in await context.portal.documents.sendable_types()
    ]
    tapped = choice(tap.value, TYPE, offered)
    if tapped is None:
        await reply(update, text("forbidden", tap.language))
        return CHOOSE_TYPE
    doc_type = DocumentType(tapped)
    draft["type"] = doc_type.value
    if doc_type in FAMILY_ONLY or not draft["names"]:
        draft["owner"] = FAMILY
        return await ask_file(update, context)
    language = tap.language
    rows = [
        [
            InlineKeyboardButton(
                text("documents.btn_family", language), callback_data=f"{OWNER}{FAMILY}"
            )
        ]
    ]
    rows += [
        [InlineKeyboardButton(name, callback_data=f"{OWNER}{child_id}")]
        for child_id, name in draft["names"].items()
    ]
    rows.append(abort_row(language))
    message = text(
        "documents.ask_owner",
        language,
        document=_capitalised(document_label(doc_type, language)),
    )
    await show_step(update, draft, message, InlineKeyboardMarkup(rows))
    return CHOOSE_OWNER


@DRAFTS.tap(CHOOSE_OWNER)
async def choose_owner(
    update: Update, context: PortalContext, tap: Tap[DocumentsDraft, str]
) -> State:
    """The family or one child was tapped (only the family's own children are accepted)."""
    draft = tap.draft
    owner = choice(tap.value, OWNER, [FAMILY, *draft.get("names", {})])
    if owner is None:
        await reply(update, text("forbidden", tap.language))
        return CHOOSE_OWNER
    draft["owner"] = owner
    return await ask_file(update, context)


async def ask_file(update: Update, context: PortalContext) -> State:
    """Ask for the photo or the file (unless it was sent at the menu already)."""
    draft = DRAFTS(context)
    held = draft.pop("held_file", None)
    if held:
        content = await download(context, held["file_id"])
        return await _store(update, context, content, held.get("name"))
    language = chat_language(context)
    message = text(
        "documents.ask_file",
        language,
        document=_capitalised(document_label(draft["type"], language)),
        owner=_owner_label(draft, language),
        limit_html=megabytes(upload_limit(context.portal), language),
    )
    await show_step(update, draft, message, InlineKeyboardMarkup([abort_row(language)]))
    return UPLOAD


async def got_file(update: Update, context: PortalContext) -> State:
    """The file arrived: checked, stored pending review, and acknowledged."""
    language = chat_language(context)
    received = await receive(update, context, language)
    if received is None:
        return UPLOAD
    return await _store(update, context, received.content, received.name)


async def _store(
    update: Update, context: PortalContext, content: bytes, name: str | None
) -> State:
    """Store the file pending review, and acknowledge it."""
    language = chat_language(context)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    family_id = parent.actor.family_id
    assert family_id is not None
    draft = DRAFTS(context)
    owner = draft["owner"]
    try:
        await context.portal.documents.add(
            parent.actor,
            family_id,
            DocumentType(draft["type"]),
            content,
            child_id=None if owner == FAMILY else int(owner),
            original_name=name,
            source=DocumentSource.TELEGRAM,
        )
    except DocumentRejected as refused:
        await reply(update, refusal_text(refused, language, upload_limit(context.portal)))
        return UPLOAD
    message = text(
        "documents.received",
        language,
        document=document_label(draft["type"], language),
        owner=_owner_label(draft, language),
        name=file_label(name, language),
    )
    saved(context).clear()
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("btn.documents", language), callback_data=MENU_DOCUMENTS)],
            [InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)],
        ]
    )
    await reply(update, message, keyboard)
    return ConversationHandler.END


async def not_a_file(update: Update, context: PortalContext) -> str:
    """Text (or a sticker, a voice note...) where the file was expected."""
    await explain_not_a_file(update, context, chat_language(context))
    return UPLOAD


# Staff reviews, delivered through the outbox ------------------------------------------------


@renders("document_accepted", "document_rejected")
async def _review_notice(portal: Portal, payload: dict[str, Any], language: str) -> str | None:
    """The parent's message when staff accept or reject a document."""
    facts = await document_facts(portal.sessions, int(payload["document_id"]))
    if facts is None:
        return None
    # A guardian who does not see health details is not told which health document, nor
    # the staff's note on it.
    health = facts.doc_type not in HEALTH_DOCUMENT_TYPES or await health_visible_to_chat(
        portal.sessions, payload.get("recipient")
    )
    document = (
        document_label(facts.doc_type, language)
        if health
        else text("visibility.document_hidden", language)
    )
    if facts.child_name:
        document = f"{document} ({facts.child_name})"
    accepted = payload["kind"] == "document_accepted"
    message = text(
        "documents.notify_accepted" if accepted else "documents.notify_rejected",
        language,
        document=document,
    )
    if health and payload.get("note"):
        message += "\n" + text("family_file.note", language, note=payload["note"])
    return message


# Helpers ----------------------------------------------------------------------------------


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def _owner_label(draft: DocumentsDraft, language: str) -> str:
    owner = draft["owner"]
    if owner == FAMILY:
        return text("documents.family", language)
    return draft["names"].get(owner, "")


def build(timeout_seconds: float) -> Flow:
    """The sending flow, with abort, timeout and stale-button fallbacks."""
    types = one_of(TYPE, (doc_type.value for doc_type in DocumentType))
    owners = either(one_of(OWNER, [FAMILY]), with_record_id(OWNER))
    return flow(
        DRAFTS,
        [CallbackQueryHandler(start, pattern=f"^(?:{MENU_SEND}|{FILE_AS_DOCUMENT})$")],
        {
            CHOOSE_TYPE: [CallbackQueryHandler(choose_type, pattern=types)],
            CHOOSE_OWNER: [CallbackQueryHandler(choose_owner, pattern=owners)],
            UPLOAD: [
                MessageHandler(FILES, got_file),
                MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND & ~FILES, not_a_file),
            ],
        },
        timeout_seconds,
        stale_prefix="dc:",
        stray_input=(filters.TEXT & ~filters.COMMAND) | FILES,
    )


# One-shot handlers, registered with the menu's: "Mes documents" by button or `/documents`.
HANDLERS: list[BaseHandler[Update, Any, Any]] = [
    CommandHandler("documents", show_documents),
    CallbackQueryHandler(show_documents, pattern=f"^{MENU_DOCUMENTS}$"),
]
