"""The parent's answer to "did you send this by email?" (`handlers.email_notices`).

A mail to the documents address that our MTA did not authenticate is held, and the family's
chats are asked whether they sent it (`store.mail_documents`). The buttons carry the mail's id:
a request, checked by the store (the guardian must be of the mail's family, the mail still
waiting, answered once). This module only translates: it asks the store, then says what the
answer did, and takes the buttons away. It sits in the early group, so that the answer counts
whatever flow is open, and the flow goes on undisturbed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler

from conversations.kit.callback_data import either, record_id, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.live import answer, reply
from conversations.kit.texts import text
from conversations.kit.who import who
from handlers.email_notices import CONFIRM_NO, CONFIRM_YES
from store.actors import AccessDenied, NotFound
from store.inbound import InboundConfig
from store.mail_documents import Answer, MailDocuments

if TYPE_CHECKING:
    from bot.portal import Portal

# What each outcome says: in the chat (a new message) for a first answer, as an alert for
# an answer that changes nothing.
SAID = {
    Answer.FILED: "inmail.confirm_filed",
    Answer.DISCARDED: "inmail.confirm_discarded",
    Answer.ALREADY_FILED: "inmail.confirm_already_filed",
    Answer.ALREADY_DISCARDED: "inmail.confirm_already_discarded",
    Answer.EXPIRED: "inmail.confirm_expired",
}
FIRST_ANSWERS = (Answer.FILED, Answer.DISCARDED)


def mail_documents(portal: Portal) -> MailDocuments:
    """The store's service for held mails, with the portal's settings."""
    config = InboundConfig.from_settings(portal.settings)
    return MailDocuments(
        portal.sessions,
        portal.documents,
        portal.absences,
        max_attachments=config.max_attachments,
        inline_document_min_bytes=config.inline_document_min_bytes,
        confirm_period=config.confirm_period,
    )


async def answered(update: Update, context: PortalContext) -> None:
    """« Oui » / « Non, c'est une erreur »: the store decides, the chat says what it did."""
    parent = await who(update, context)
    if parent is None:
        await answer(update)
        raise ApplicationHandlerStop
    query = update.callback_query
    assert query is not None  # a CallbackQueryHandler's update
    data = query.data
    sent_it = record_id(data, CONFIRM_YES) is not None
    mail_id = record_id(data, CONFIRM_YES if sent_it else CONFIRM_NO)
    assert mail_id is not None  # the handler's pattern lets nothing else through
    portal = context.portal
    try:
        outcome = await mail_documents(portal).answer(
            parent.actor, mail_id, sent_it, portal.clock()
        )
    except (AccessDenied, NotFound):
        await answer(update, text("inmail.confirm_gone", parent.language), alert=True)
        raise ApplicationHandlerStop from None
    said = text(SAID[outcome.answer], parent.language)
    if outcome.answer in FIRST_ANSWERS:
        await answer(update)
        await _drop_buttons(update)
        await reply(update, said)
    else:
        await answer(update, said, alert=True)
        await _drop_buttons(update)
    raise ApplicationHandlerStop


async def _drop_buttons(update: Update) -> None:
    """The question's buttons go: it is answered (a message gone or unchanged is no error)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        if "not modified" not in str(error) and "not found" not in str(error):
            raise


HANDLERS: list[BaseHandler[Update, PortalContext, Any]] = [
    CallbackQueryHandler(
        answered, pattern=either(with_record_id(CONFIRM_YES), with_record_id(CONFIRM_NO))
    ),
]
