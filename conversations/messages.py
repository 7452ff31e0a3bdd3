"""Write to a service (messagerie): service → message → files, if any → sent.

States are named at the top, one function per step, the wiring in `build()` at the bottom.
The draft lives in `user_data[DRAFT]` (JSON only: a file is kept as its Telegram file id,
downloaded again and stored only when the parent sends the message).

Also here, as the other half of the same conversation: a staff reply shown in the chat with the
service's name (rendered from the outbox) and its "↩️ Répondre" and "📜 Historique" buttons;
answering it by that button or by a Telegram reply to it continues the same thread. Every step
asks the store again: a thread id in a button is a request, the store checks the family.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

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

from bot.context import PortalContext
from bot.delivery import Notice, after_sent, renders
from bot.formatting import day_label
from bot.portal import Portal
from bot.texts import text
from handlers.callback_data import choice, record_id, with_record_id
from handlers.common import (
    LIVE_MESSAGE,
    MENU_MESSAGES,
    MENU_SHOW,
    abort_row,
    answer,
    flow,
    is_live,
    menu_button,
    reply,
    show,
    show_step,
    stale_in_flow,
    who,
)
from handlers.inputs import free_text
from handlers.uploads import (
    document_service,
    download,
    file_label,
    megabytes,
    receive,
    upload_limit,
)
from store.actors import AccessDenied, Actor, NotFound
from store.deadlines import PARIS
from store.messaging import (
    BODY_MAX_CHARS,
    MessageView,
    MessagingService,
    ThreadView,
)
from store.models.enums import DocumentSource, DocumentType, MessageDirection
from store.outbox import Delivery

CHOOSE_SERVICE, WRITE, ATTACH = "msg:service", "msg:write", "msg:attach"

DRAFT = "messages"
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


def messaging(portal: Portal) -> MessagingService:
    """The messaging service on the portal's store and clock."""
    return MessagingService(portal.sessions, portal.clock)


def _draft(context: PortalContext) -> dict[str, Any]:
    return context.user_data.setdefault(DRAFT, {})


def _language(context: PortalContext) -> str:
    return context.user_data.get("language", "fr")


# Writing --------------------------------------------------------------------------------------


async def start(update: Update, context: PortalContext) -> str | int:
    """Entry: from the menu or `/message`; the services to choose from."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    services = await messaging(context.portal).services()
    context.user_data["language"] = parent.language
    if not services:
        context.user_data.pop(DRAFT, None)
        await show(update, text("msg.no_service", parent.language), menu_button(parent.language))
        return ConversationHandler.END
    draft = context.user_data[DRAFT] = {}
    draft["services"] = {service.code: service.name for service in services}
    draft["files"] = []
    rows = [
        [InlineKeyboardButton(service.name, callback_data=f"{SERVICE}{service.code}")]
        for service in services
    ]
    rows.append(abort_row(parent.language))
    keyboard = InlineKeyboardMarkup(rows)
    await show_step(update, draft, text("msg.pick_service", parent.language), keyboard)
    return CHOOSE_SERVICE


async def choose_service(update: Update, context: PortalContext) -> str | int:
    """A service was tapped: ask for the message."""
    draft = _draft(context)
    if "services" not in draft:
        return await _lost(update, context)
    if not await is_live(update, context, draft):
        return CHOOSE_SERVICE
    language = _language(context)
    code = choice(update.callback_query.data, SERVICE, draft.get("services", {}))
    if code is None:
        await answer(update, text("forbidden", language))
        return CHOOSE_SERVICE
    await answer(update)
    draft["service"] = code
    draft["service_name"] = draft["services"][code]
    message = text("msg.ask_body", language, service=draft["service_name"])
    await show_step(update, draft, message, InlineKeyboardMarkup([abort_row(language)]))
    return WRITE


async def reply_start(update: Update, context: PortalContext) -> str | int:
    """The « ↩️ Répondre » button of a staff reply: write in that thread, if it is the family's."""
    parent = await who(update, context)
    if parent is None:
        await answer(update)
        return ConversationHandler.END
    thread_id = record_id(update.callback_query.data, REPLY)
    assert thread_id is not None  # the entry point's pattern lets nothing else through
    try:
        thread = await messaging(context.portal).thread(parent.actor, thread_id)
    except (AccessDenied, NotFound):
        await answer(update, text("msg.gone", parent.language))
        return ConversationHandler.END
    await answer(update)
    context.user_data["language"] = parent.language
    context.user_data[DRAFT] = {
        "thread_id": thread.id,
        "service_name": thread.service_name,
        "files": [],
    }
    draft = _draft(context)
    message = text("msg.ask_reply", parent.language, service=thread.service_name)
    # A new message: the staff reply whose button was tapped stays as it is.
    await _send_step(update, draft, message, InlineKeyboardMarkup([abort_row(parent.language)]))
    return WRITE


async def got_text(update: Update, context: PortalContext) -> str | int:
    """The message typed (text typed later is added to it); then files may be attached."""
    draft = _draft(context)
    if not _writing(draft):
        return await _lost(update, context)
    language = _language(context)
    typed = (update.effective_message.text or "").strip()
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


async def got_file(update: Update, context: PortalContext) -> str | int:
    """A photo or a document: checked (size before download, then content), then kept."""
    draft = _draft(context)
    if not _writing(draft):
        return await _lost(update, context)
    language = _language(context)
    files = draft.setdefault("files", [])
    if len(files) >= MAX_FILES:
        await reply(update, text("msg.too_many_files", language, limit=MAX_FILES))
        return _state(draft)
    received = await receive(update, context, language)
    if received is None:
        return _state(draft)
    files.append({"file_id": received.file_id, "name": received.name})
    caption = (update.effective_message.caption or "").strip()
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
    await reply(update, text("msg.text_expected", _language(context)))
    return _state(_draft(context))


async def send(update: Update, context: PortalContext) -> str | int:
    """« Envoyer »: the files are stored, then the message, handed to the service."""
    draft = _draft(context)
    if not _writing(draft) or not draft.get("body"):
        return await _lost(update, context)
    if not await is_live(update, context, draft):
        return ATTACH
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    language = parent.language
    service = messaging(context.portal)
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
        context.user_data.pop(DRAFT, None)
        await show(update, text("msg.gone", language), menu_button(language))
        return ConversationHandler.END
    context.user_data.pop(DRAFT, None)
    await show(
        update,
        text("msg.sent", language, service=thread.service_name),
        _after(thread.id, language),
    )
    return ConversationHandler.END


# Outside the flow: history, Telegram replies, staff replies ----------------------------------


async def show_history(update: Update, context: PortalContext) -> None:
    """« 📜 Historique »: the thread's last messages, as a new message."""
    parent = await who(update, context)
    if parent is None:
        await answer(update)
        raise ApplicationHandlerStop
    thread_id = record_id(update.callback_query.data, HISTORY)
    assert thread_id is not None  # the handler's pattern lets nothing else through
    service = messaging(context.portal)
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


async def telegram_reply(update: Update, context: PortalContext) -> None:
    """A Telegram reply to a delivered staff reply continues its thread; other replies pass.

    While the parent is writing a message (the flow is open), the reply is left to the flow.
    """
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    target = message.reply_to_message if message is not None else None
    if target is None or user is None or chat is None or DRAFT in context.user_data:
        return
    profile = await context.portal.families.profile(user.id)
    if profile is None:
        return
    language = profile.language.value
    service = messaging(context.portal)
    try:
        thread = await service.thread_for_chat_reply(profile.actor, chat.id, target.message_id)
    except AccessDenied:
        await reply(update, text("msg.gone", language))
        raise ApplicationHandlerStop from None
    if thread is None:
        return
    body = (message.text or "").strip()
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
        thread, _ = await messaging(portal).message(Actor.system(), int(payload["message_id"]))
        view, content = await document_service(portal).read(
            Actor.system(), int(payload["document_id"])
        )
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
        thread, message = await messaging(portal).message(
            Actor.system(), int(payload["message_id"])
        )
    except NotFound:
        return None
    notice = _fit(
        lambda body: text("msg.staff_reply", language, service=thread.service_name, body=body),
        message.body,
        TEXT_LIMIT,
        language,
    )
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
    await messaging(portal).remember_chat_copy(
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


def _writing(draft: dict[str, Any]) -> bool:
    """Whether the draft names where the message goes (an abort elsewhere may have dropped it)."""
    return "service" in draft or "thread_id" in draft


async def _lost(update: Update, context: PortalContext) -> int:
    """The flow's draft is gone: a tap is answered as stale, text gets the menu; the flow ends."""
    context.user_data.pop(DRAFT, None)
    if update.callback_query is not None:
        await stale_in_flow(update, context)
    else:
        await free_text(update, context)
    return ConversationHandler.END


def _state(draft: dict[str, Any]) -> str:
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
    draft = _draft(context)
    language = _language(context)
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
    update: Update, draft: dict[str, Any], message: str, keyboard: InlineKeyboardMarkup
) -> None:
    """Show a step as a new message, and make it the flow's live one."""
    sent = await update.effective_chat.send_message(
        message, parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    draft[LIVE_MESSAGE] = sent.message_id


async def _store_files(
    context: PortalContext, actor: Actor, files: list[dict[str, Any]]
) -> list[int]:
    """Download the kept files again and store them as the family's documents."""
    documents = document_service(context.portal)
    stored = []
    for kept in files:
        content = await download(context, kept["file_id"])
        document = await documents.add(
            actor,
            actor.family_id,
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
    when = _when(message.created_at, language)
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


def _when(moment: datetime, language: str) -> str:
    local = moment.astimezone(PARIS)
    return f"{day_label(local.date(), language)} {local:%H:%M}"


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


def build(timeout_seconds: float) -> ConversationHandler:
    """The writing flow, with abort, timeout and stale-button fallbacks."""
    writing = [
        MessageHandler(filters.TEXT & ~filters.COMMAND, got_text),
        MessageHandler(FILES, got_file),
    ]
    return flow(
        "messages",
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
