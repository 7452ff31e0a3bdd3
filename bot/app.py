"""The one place where the Telegram application is assembled.

Order matters, group by group:
- first of all, each update is claimed by its id in the store: one already handled (delivered
  again after a restart, or to another worker) goes no further (`bot.update_once`);
- then, updates that are not a parent's message in their private chat (groups, channels,
  edits, blocking, inline queries, reactions) are answered or ignored, and go no further;
- then the flow desk: `/abandon` closes the open flow, and anything that opens a flow or a view
  closes the one in progress first — one flow at a time;
- then thread history and replies to a staff message, whatever flow is open;
- then the flows (conversations), so that a step waiting for a tap or a typed date gets it;
  then one-shot commands and menu buttons; then the catch-alls: stale buttons, unknown
  commands, free text, files and stickers outside any flow.
Around each update, in its person's turn (`bot.update_order`), their state is read from the
store before and saved after.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    TypeHandler,
)

from bot.http_transport import AiohttpRequest
from bot.persistence import PortalApplication, StorePersistence, save_person
from bot.polling import TolerantBot
from bot.portal import Portal
from bot.update_once import UpdateOnce
from bot.update_order import OnePersonAtATime, mark_error
from conversations import (
    absence,
    access_log,
    balance,
    booking,
    cancelling,
    documents,
    email_link,
    enrolment,
    family_file,
    messages,
    news,
    planning_picture,
    privacy,
    reminders,
    requests_list,
    statement,
    tariffs,
)
from conversations.kit import who
from conversations.kit.context import PortalContext
from conversations.kit.live import stale_button
from conversations.kit.texts import LANGUAGES, text
from handlers import email_notices, help_page, mail_confirm, start, update_kinds
from handlers.flow_desk import FlowDesk
from handlers.help_page import COMMANDS
from handlers.inputs import Inputs
from store.leases import ClusterLeases
from store.person_locks import PersonLocks
from store.runtime import UpdateLedger

# Renderers of notification kinds register themselves when their module is imported.
NOTICE_MODULES = (email_notices, news, reminders)
ONCE_GROUP = -4
UPDATE_KINDS_GROUP = -3
DESK_GROUP = -2
EARLY_GROUP = -1
KEEP_CHAT_STATE = timedelta(days=1)


async def publish_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Publish the commands with French (default) and English descriptions."""
    for language in LANGUAGES:
        commands = [BotCommand(name, text(f"cmd.{name}", language)) for name in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=language)
    await application.bot.set_my_commands(
        [BotCommand(name, text(f"cmd.{name}", "fr")) for name in COMMANDS]
    )


def build_application(portal: Portal) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot, wired to the store through `portal`."""
    settings = portal.settings
    api = settings.telegram_api_url.rstrip("/")
    # A flow untouched for this long is abandoned: its state is purged at start-up.
    keep_for = max(KEEP_CHAT_STATE, timedelta(seconds=2 * settings.conversation_timeout_seconds))
    # The bot reads each update on its own: one it cannot read never stalls the others.
    bot = TolerantBot(
        settings.telegram_token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )
    # Each person's turn, across workers: their lock in the store, then their state read again.
    in_flight = settings.max_concurrent_updates
    turns = OnePersonAtATime(in_flight, PersonLocks.for_database(settings.database_url, in_flight))
    persistence = StorePersistence(portal.chat_states, keep_for, ClusterLeases(portal.sessions))
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=PortalContext))
        .application_class(PortalApplication)
        .concurrent_updates(turns)
        .persistence(persistence)
    )
    application = builder.build()
    turns.after_update = functools.partial(save_person, application)
    PortalContext.attach(application, portal)

    timeout = settings.conversation_timeout_seconds
    flows = [
        booking.build(timeout),
        cancelling.build(timeout),
        email_link.build(timeout),
        absence.build(timeout),
        documents.build(timeout),
        messages.build(timeout),
        enrolment.build(timeout),
        family_file.build(timeout),
    ]
    desk = FlowDesk(flows, COMMANDS)
    # Before anything else: an update already taken (here or by another worker) stops here.
    keep_ids = timedelta(days=settings.handled_updates_retention_days)
    ledger = UpdateLedger(portal.sessions, portal.clock, keep_ids)
    once = UpdateOnce(ledger)
    application.add_handler(TypeHandler(Update, once), group=ONCE_GROUP)
    # The person's turn opens with one transaction: the update's claim, their state read, and
    # the guardian behind the update read for this update's handlers (`who.read_in`).

    async def open_turn(session: AsyncSession, update: Update) -> None:
        await once.claim_in(session, update)
        await who.read_in(session, update, portal.families)

    turns.before_update = functools.partial(persistence.read_person, application, first=open_turn)
    update_kinds.register(application, UPDATE_KINDS_GROUP)
    desk.register(application, DESK_GROUP)
    # Thread history and replies to a staff message work whatever flow is open: they come
    # first, in their own group, and stop the update there.
    application.add_handlers(messages.EARLY_HANDLERS, group=EARLY_GROUP)
    # So does the answer to "did you send this by email?" (a mail held for confirmation).
    application.add_handlers(mail_confirm.HANDLERS, group=EARLY_GROUP)
    # Read-only views keep no state between taps: they never wait for a flow to end.
    application.add_handlers(balance.HANDLERS)
    application.add_handlers(requests_list.HANDLERS)
    application.add_handlers(statement.HANDLERS)
    application.add_handlers(tariffs.HANDLERS)
    application.add_handlers(planning_picture.HANDLERS)
    application.add_handlers(news.HANDLERS)
    application.add_handlers(access_log.HANDLERS)
    application.add_handlers(privacy.HANDLERS)
    application.add_handlers(reminders.HANDLERS)
    application.add_handlers(flows)
    application.add_handlers(start.HANDLERS)
    application.add_handlers(help_page.HANDLERS)
    application.add_handlers(absence.HANDLERS)
    # A confirm tapped again after its flow ended: the outcome it gave, never a second one.
    application.add_handlers([*booking.REPLAYS, *cancelling.REPLAYS, *absence.REPLAYS])
    application.add_handlers(documents.HANDLERS)
    application.add_handlers(family_file.HANDLERS)
    # The yearly "is your file still right?" comes after the menu, in a group of its own.
    application.add_handlers(family_file.CHECK_HANDLERS, group=family_file.FILE_CHECK_GROUP)
    application.add_handlers(Inputs(desk).handlers())
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_error_handler(start.on_error)
    application.add_error_handler(mark_error)
    return application
