"""Write to a service (messagerie): service → message → files, if any → sent.

States are named at the top, one function per step, the wiring in `build()` at the bottom.
The draft is a `MessagesDraft` (`DRAFTS`, JSON only: a file is kept as its Telegram file id,
downloaded again and stored only when the parent sends the message).

Also here, as the other half of the same conversation: a staff reply shown in the chat with the
service's name (rendered from the outbox) and its "↩️ Répondre" and "📜 Historique" buttons;
answering it by that button or by a Telegram reply to it continues the same thread. Every step
asks the store again: a thread id in a button is a request, the store checks the family.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.kit.callback_data import choice, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.drafts import Drafts, HeldFile, State, Tap
from conversations.kit.flows import Flow, flow
from conversations.kit.formatting import day_and_time
from conversations.kit.language import chat_language, keep_language
from conversations.kit.live import (
    LIVE_MESSAGE,
    FlowDraft,
    answer,
    reply,
    show,
    show_step,
    stale_in_flow,
    text_outside,
    typed_text,
)
from conversations.kit.menu import MENU_MESSAGES, MENU_SHOW, abort_row, menu_button
from conversations.kit.notices import Notice, after_sent, renders
from conversations.kit.texts import text
from conversations.kit.uploads import (
    download,
    file_label,
    megabytes,
    receive,
    upload_limit,
)
from conversations.kit.who import tapped_record, who
from store.actors import AccessDenied, Actor, NotFound
from store.messaging import (
    BODY_MAX_CHARS,
    MessageView,
    ThreadView,
)
from store.models.enums import DocumentSource, DocumentType, MessageDirection
from store.outbox import Delivery

if TYPE_CHECKING:
    from bot.portal import Portal

CHOOSE_SERVICE, WRITE, ATTACH = "msg:service", "msg:write", "msg:attach"

SERVICE = "msg:svc:"
SEND = "msg:send"
REPLY = "msg:reply:"
HISTORY = "msg:hist:"
MAX_FILES = 5
HISTORY_MESSAGES = 10
# Telegram's limit for one message's text.
TEXT_LIMIT = 4096
# The most one message takes in the history.
HISTORY_ENTRY_CHARS = 1200
EXCERPT_CHARS = 200
FILES = filters.PHOTO | filters.Document.ALL


class MessagesDraft(FlowDraft, total=False):
    """The writing flow's draft (saved as JSON between updates)."""

    # The services offered ({code: name}); where the message goes: a service chosen (its
    # code), or the thread of a staff reply answered; the name shown either way.
    services: dict[str, str]
    service: str
    thread_id: int
    service_name: str
    # The message typed so far, and the files kept (as Telegram holds them).
    body: str
    files: list[HeldFile]


DRAFTS = Drafts[MessagesDraft]("messages")


# Writing --------------------------------------------------------------------------------------


async def start(update: Update, context: PortalContext) -> State:
    """Entry: from the menu or `/message`; the services to choose from."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    services = await context.portal.messaging.services()
    keep_language(context, parent.language)
    if not services:
        DRAFTS.drop(context)
        await show(update, text("msg.no_service", parent.language), menu_button(parent.language))
        return ConversationHandler.END
    draft = DRAFTS.start(
        context, {"services": {service.code: service.name for service in services}, "files": []}
    )
    rows = [
        [InlineKeyboardButton(service.name, callback_data=f"{SERVICE}{service.code}")]
        for service in services
    ]
    rows.append(abort_row(parent.language))
    keyboard = InlineKeyboardMarkup(rows)
    await show_step(update, draft, text("msg.pick_service", parent.language), keyboard)
    return CHOOSE_SERVICE


@DRAFTS.tap(
    CHOOSE_SERVICE,
    needs=lambda draft: "services" in draft,
    gone=lambda update, context: _lost(update, context),
    answer_first=False,  # a service not offered is answered with a word
)
async def choose_service(
    update: Update, context: PortalContext, tap: Tap[MessagesDraft, str]
) -> State:
    """A service was tapped: ask for the message."""
    draft, language = tap.draft, tap.language
    code = choice(tap.value, SERVICE, draft.get("services", {}))
    if code is None:
        await answer(update, text("forbidden", language))
        return CHOOSE_SERVICE
    await answer(update)
    draft["service"] = code
    draft["service_name"] = draft["services"][code]
    message = text("msg.ask_body", language, service=draft["service_name"])
    await show_step(update, draft, message, InlineKeyboardMarkup([abort_row(language)]))
    return WRITE


async def reply_start(update: Update, context: PortalContext) -> State:
    """The « ↩️ Répondre » button of a staff reply: write in that thread, if it is the family's."""
    tapped = await tapped_record(update, context, REPLY)
    if tapped is None:
        return ConversationHandler.END
    parent, thread_id = tapped
    try:
        thread = await context.portal.messaging.thread(parent.actor, thread_id)
    except (AccessDenied, NotFound):
        await answer(update, text("msg.gone", parent.language))
        return ConversationHandler.END
    await answer(update)
    keep_language(context, parent.language)
    draft = DRAFTS.start(
        context, {"thread_id": thread.id, "service_name": thread.service_name, "files": []}
    )
    message = text("msg.ask_reply", parent.language, service=thread.service_name)
    # A new message: the staff reply whose button was tapped stays as it is.
    await _send_step(update, draft, message, InlineKeyboardMarkup([abort_row(parent.language)]))
    return WRITE


async def got_text(update: Update, context: PortalContext) -> State:
    """The message typed (text typed later is added to it); then files may be attached."""
    draft = DRAFTS(context)
    if not _writing(draft):
        return await _lost(update, context)
    language = chat_language(context)
    typed = typed_text(update).strip()
    body = "\n".join(part for part in (draft.get("body", ""), typed) if part)
    if len(body) > BODY_MAX_CHARS:
        await reply(update, text("msg.too_long", language, length=len(body), limit=BODY_MAX_CHARS))
        return _state(draft)
    if not body:
        await reply(update, text("msg.text_expected", language))
        return _state(draft)
    draft["body"] = body
    await _show_attach_prompt(update, context)
    return ATTACH


async def got_file(update: Update, context: PortalContext) -> State:
    """A photo or a document: checked (size before download, then content), then kept."""
    draft = DRAFTS(context)
    if not _writing(draft):
        return await _lost(update, context)
    language = chat_language(context)
    files = draft.setdefault("files", [])
    if len(files) >= MAX_FILES:
        await reply(update, text("msg.too_many_files", language, limit=MAX_FILES))
        return _state(draft)
    received = await receive(update, context, language)
    if received is None:
        return _state(draft)
    files.append({"file_id": received.file_id, "name": received.name})
    message = update.effective_message
    caption = ((message.caption if message is not None else None) or "").strip()
    if caption and not draft.get("body") and len(caption) <= BODY_MAX_CHARS:
        draft["body"] = caption
    if not draft.get("body"):
        name = file_label(received.name, language)
        await reply(update, text("msg.now_the_text", language, name=name))
        return WRITE
    await _show_attach_prompt(update, context)
    return ATTACH


async def not_a_message(update: Update, context: PortalContext) -> str:
    """A sticker, a voice note...: ask for text or a file."""
    await reply(update, text("msg.text_expected", chat_language(context)))
    return _state(DRAFTS(context))


@DRAFTS.tap(
    ATTACH,
    needs=lambda draft: _writing(draft) and bool(draft.get("body")),
    gone=lambda update, context: _lost(update, context),
    linked=True,
)
async def send(update: Update, context: PortalContext, tap: Tap[MessagesDraft, str]) -> State:
    """« Envoyer »: the files are stored, then the message, handed to the service."""
    draft, parent = tap.draft, tap.parent
    language = parent.language
    service = context.portal.messaging
    thread_id = draft.get("thread_id")
    try:
        if thread_id is not None:
            await service.thread(parent.actor, thread_id)  # before any file is stored
        attachments = await _store_files(context, parent.actor, draft.get("files", []))
        if thread_id is not None:
            thread = await service.continue_thread(
                parent.actor, thread_id, draft["body"], attachments
            )
        else:
            thread = await service.write(
                parent.actor, draft["service"], draft["body"], attachments
            )
    except (AccessDenied, NotFound):
        DRAFTS.drop(context)
        await show(update, text("msg.gone", language), menu_button(language))
        return ConversationHandler.END
    DRAFTS.drop(context)
    await show(
        update,
        text("msg.sent", language, service=thread.service_name),
        _after(thread.id, language),
    )
    return ConversationHandler.END


# Outside the flow: history, Telegram replies, staff replies ----------------------------------


async def show_history(update: Update, context: PortalContext) -> None:
    """« 📜 Historique »: the thread's last messages, as a new message."""
    tapped = await tapped_record(update, context, HISTORY)
    if tapped is None:
        raise ApplicationHandlerStop
    parent, thread_id = tapped
    service = context.portal.messaging
    try:
        thread = await service.thread(parent.actor, thread_id)
        messages = await service.thread_history(parent.actor, thread_id, HISTORY_MESSAGES + 1)
    except (AccessDenied, NotFound):
        await answer(update, text("msg.gone", parent.language))
        raise ApplicationHandlerStop from None
    await answer(update)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("btn.reply", parent.language), callback_data=f"{REPLY}{thread.id}"
                ),
                InlineKeyboardButton(text("btn.menu", parent.language), callback_data=MENU_SHOW),
            ]
        ]
    )
    await reply(update, history_text(thread, messages, parent.language), keyboard)
    raise ApplicationHandlerStop


# A staff reply's copy in the chat is recorded once Telegram said it was sent: a parent (or a
# phone's quick reply) answering within that moment finds no record yet, so a reply to one of
# the bot's own recent messages is looked up again a few times before it is taken as a reply
# to something else.
COPY_RECORD_RETRIES = (0.2, 0.4, 0.8)
RECENT_SECONDS = 30


async def _replied_thread(
    context: PortalContext, actor: Actor, chat_id: int, target: Message
) -> ThreadView | None:
    """The thread whose staff reply `target` is a copy of, if it is one."""
    service = context.portal.messaging
    thread = await service.thread_for_chat_reply(actor, chat_id, target.message_id)
    from_bot = target.from_user is not None and target.from_user.is_bot
    recent = (datetime.now(UTC) - target.date).total_seconds() < RECENT_SECONDS
    for pause in COPY_RECORD_RETRIES if from_bot and recent else ():
        if thread is not None:
            break
        await asyncio.sleep(pause)
        thread = await service.thread_for_chat_reply(actor, chat_id, target.message_id)
    return thread


async def telegram_reply(update: Update, context: PortalContext) -> None:
    """A Telegram reply to a delivered staff reply continues its thread; other replies pass.

    While the parent is writing a message (the flow is open), the reply is left to the flow.
    """
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    target = message.reply_to_message if message is not None else None
    if target is None or user is None or chat is None or DRAFTS.exists(context):
        return
    profile = await context.portal.families.profile(user.id)
    if profile is None:
        return
    language = profile.language.value
    service = context.portal.messaging
    try:
        thread = await _replied_thread(context, profile.actor, chat.id, target)
    except AccessDenied:
        await reply(update, text("msg.gone", language))
        raise ApplicationHandlerStop from None
    if thread is None:
        return
    body = typed_text(update).strip()
    if len(body) > BODY_MAX_CHARS:
        await reply(update, text("msg.too_long", language, length=len(body), limit=BODY_MAX_CHARS))
        raise ApplicationHandlerStop
    thread = await service.continue_thread(profile.actor, thread.id, body)
    await reply(
        update,
        text("msg.sent", language, service=thread.service_name),
        _after(thread.id, language),
    )
    raise ApplicationHandlerStop


@renders("staff_attachment")
async def staff_attachment_notice(
    portal: Portal, payload: dict[str, Any], language: str
) -> Notice | None:
    """A file the staff sent with their reply, as a document captioned with the service."""
    try:
        thread, _ = await portal.messaging.message(Actor.system(), int(payload["message_id"]))
        view, content = await portal.documents.read(Actor.system(), int(payload["document_id"]))
    except NotFound:
        return None
    caption = text("msg.staff_attachment", language, service=thread.service_name)
    return Notice(caption, document=(view.labelled_file_name, content))


@renders("staff_reply")
async def staff_reply_notice(
    portal: Portal, payload: dict[str, Any], language: str
) -> Notice | None:
    """« ✉️ Service : » and the reply, with « ↩️ Répondre » and « 📜 Historique » under it."""
    try:
        thread, message = await portal.messaging.message(
            Actor.system(), int(payload["message_id"])
        )
    except NotFound:
        return None
    if message.body:
        notice = _fit(
            lambda body: text("msg.staff_reply", language, service=thread.service_name, body=body),
            message.body,
            TEXT_LIMIT,
            language,
        )
    else:  # files only: they follow, each captioned with the service
        notice = text("msg.staff_files_only", language, service=thread.service_name)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("btn.reply", language), callback_data=f"{REPLY}{thread.id}"
                ),
                InlineKeyboardButton(
                    text("btn.history", language), callback_data=f"{HISTORY}{thread.id}"
                ),
            ]
        ]
    )
    return Notice(notice, keyboard)


@after_sent("staff_reply")
async def remember_delivered_reply(portal: Portal, delivery: Delivery, sent: Message) -> None:
    """Remember the reply's Telegram message, so that replying to it continues the thread."""
    await portal.messaging.remember_chat_copy(
        Actor.system(), int(delivery.payload["message_id"]), sent.chat_id, sent.message_id
    )


def history_text(thread: ThreadView, messages: list[MessageView], language: str) -> str:
    """The thread's last messages, oldest first, within one Telegram message."""
    older = len(messages) > HISTORY_MESSAGES
    entries = [_history_entry(thread, m, language) for m in messages[-HISTORY_MESSAGES:]]
    title = text("msg.history_title", language, service=thread.service_name)
    note = text("msg.history_older", language)
    room = TEXT_LIMIT - len(title) - len(note) - 4
    kept: list[str] = []
    for entry in reversed(entries):
        if len(entry) + 2 > room:
            older = True
            break
        kept.insert(0, entry)
        room -= len(entry) + 2
    return "\n\n".join([title, *([note] if older else []), *kept])


# Helpers ------------------------------------------------------------------------------------


def _writing(draft: MessagesDraft) -> bool:
    """Whether the draft names where the message goes (an abort elsewhere may have dropped it)."""
    return "service" in draft or "thread_id" in draft


async def _lost(update: Update, context: PortalContext) -> int:
    """The flow's draft is gone: a tap is answered as stale, text gets the menu; the flow ends."""
    DRAFTS.drop(context)
    if update.callback_query is not None:
        await stale_in_flow(update, context)
    else:
        await text_outside(update, context)
    return ConversationHandler.END


def _state(draft: MessagesDraft) -> str:
    """Where the flow stands: waiting for the message, or for files and "Envoyer"."""
    return ATTACH if draft.get("body") else WRITE


def _after(thread_id: int, language: str) -> InlineKeyboardMarkup:
    """The buttons under "message sent": the history, the menu."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("btn.history", language), callback_data=f"{HISTORY}{thread_id}"
                ),
                InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW),
            ]
        ]
    )


async def _show_attach_prompt(update: Update, context: PortalContext) -> None:
    draft = DRAFTS(context)
    language = chat_language(context)
    lines = [
        text(
            "msg.attach_prompt",
            language,
            service=draft.get("service_name", ""),
            excerpt=_cut(draft["body"], EXCERPT_CHARS, language),
            limit=megabytes(upload_limit(context.portal), language),
        )
    ]
    files = draft.get("files", [])
    if files:
        names = ", ".join(file_label(f.get("name"), language) for f in files)
        lines.append(text("msg.attached", language, count=len(files), names=names))
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text("btn.send_message", language), callback_data=SEND),
                *abort_row(language),
            ]
        ]
    )
    await show_step(update, draft, "\n\n".join(lines), keyboard)


async def _send_step(
    update: Update, draft: MessagesDraft, message: str, keyboard: InlineKeyboardMarkup
) -> None:
    """Show a step as a new message, and make it the flow's live one."""
    chat = update.effective_chat
    assert chat is not None  # a tap in a private chat
    sent = await chat.send_message(message, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    draft[LIVE_MESSAGE] = sent.message_id


async def _store_files(context: PortalContext, actor: Actor, files: list[HeldFile]) -> list[int]:
    """Download the kept files again and store them as the family's documents."""
    documents = context.portal.documents
    stored = []
    for kept in files:
        family_id = actor.family_id
        assert family_id is not None  # a linked parent's
        content = await download(context, kept["file_id"])
        document = await documents.add(
            actor,
            family_id,
            DocumentType.TO_CLASSIFY,
            content,
            original_name=kept.get("name"),
            source=DocumentSource.TELEGRAM,
        )
        stored.append(document.id)
    return stored


def _history_entry(thread: ThreadView, message: MessageView, language: str) -> str:
    author = (
        text("msg.history_you", language)
        if message.direction is MessageDirection.FROM_PARENT
        else thread.service_name
    )
    when = day_and_time(message.created_at, language)
    entry = _fit(
        lambda body: text("msg.history_entry", language, who=author, when=when, body=body),
        message.body,
        HISTORY_ENTRY_CHARS,
        language,
    )
    files = [
        text("msg.history_file", language, name=file_label(a.name, language))
        for a in message.attachments
    ]
    return "\n".join([entry, *files])


def _cut(body: str, limit: int, language: str) -> str:
    """The body, cut at `limit` characters with a mark when longer."""
    if len(body) <= limit:
        return body
    mark = text("msg.history_cut", language)
    return body[: max(limit - len(mark), 0)].rstrip() + mark


def _fit(render: Callable[[str], str], body: str, limit: int, language: str) -> str:
    """`render(body)`, with the body cut just enough for the whole to fit in `limit` characters.

    Escaping makes the rendered length grow unevenly with the body's, so the longest cut that
    fits is searched for.
    """
    rendered = render(body)
    if len(rendered) <= limit:
        return rendered
    shortest, longest = 0, len(body) - 1
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if len(render(_cut(body, middle, language))) <= limit:
            shortest = middle
        else:
            longest = middle - 1
    return render(_cut(body, shortest, language))


# Wiring -------------------------------------------------------------------------------------

# Registered before the flows (a group of their own, e.g. -1): the history button and
# Telegram replies to staff replies work whatever flow is open; they stop the update there.
EARLY_HANDLERS: list[BaseHandler[Update, PortalContext, Any]] = [
    CallbackQueryHandler(show_history, pattern=with_record_id(HISTORY)),
    MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, telegram_reply),
]


def build(timeout_seconds: float) -> Flow:
    """The writing flow, with abort, timeout and stale-button fallbacks."""
    writing = [
        MessageHandler(filters.TEXT & ~filters.COMMAND, got_text),
        MessageHandler(FILES, got_file),
    ]
    return flow(
        DRAFTS,
        [
            CommandHandler("message", start),
            CallbackQueryHandler(start, pattern=f"^{MENU_MESSAGES}$"),
            CallbackQueryHandler(reply_start, pattern=with_record_id(REPLY)),
        ],
        {
            CHOOSE_SERVICE: [CallbackQueryHandler(choose_service, pattern=rf"^{SERVICE}.+$")],
            WRITE: [*writing, MessageHandler(~filters.COMMAND, not_a_message)],
            ATTACH: [
                CallbackQueryHandler(send, pattern=f"^{SEND}$"),
                *writing,
                MessageHandler(~filters.COMMAND, not_a_message),
            ],
        },
        timeout_seconds,
        stale_prefix="msg:",
    )
