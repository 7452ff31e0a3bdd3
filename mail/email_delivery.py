"""The outbox's emails, delivered: claimed with a lease (two workers never send the same one),
written by the writer registered for their kind, sent through the relay (`mail.mailer`), marked
sent; retried with backoff while the relay is down or answers 4xx, given up on a 5xx.

The writers live with what they write: the services' notifications (`mail.staff_mail`), the
answers to senders whose mail was set aside (`mail.sender_mail`), enrolment requests and new
children (`mail.enrolment_mail`), family-file changes (`mail.file_change_mail`), the
daily lists to the services and their follow-ups (`mail.daily_list_mail`). Each registers
itself with `writes` when imported; this module imports them all, so that whoever delivers the
outbox knows every kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from conversations.kit.notices import backoff
from mail import (  # noqa: F401 (they register)
    daily_list_mail,
    decision_mail,
    enrolment_mail,
    erasure_mail,
    file_change_mail,
    sender_mail,
    staff_digest_mail,
)
from mail.mailer import MAIL_POLICY, MailError, send_message
from mail.staff_mail import WRITERS, NotNeeded, StaffMail
from store.linking import CODE
from store.models.enums import Channel
from store.outbox import Delivery, claim_due, mark_failed, mark_sent
from store.staff_notices import resolve_recipient

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)

# An email claimed is not claimed again for this long: longer than sending the largest one.
LEASE = timedelta(minutes=5)
# Claimed a few at a time, so that each is sent well within its lease.
CLAIM_LIMIT = 5
# Rounds of claims per call (a backlog drains in one call; a stop request waits no longer).
MAX_ROUNDS = 20
POLL_SECONDS = 1.0
GIVE_UP_AFTER_ATTEMPTS = 30
# Payload keys dropped from the outbox once an email is sent or given up.
SECRETS = (CODE,)


def build_message(portal: Portal, to: str, mail: StaffMail, now: datetime) -> EmailMessage:
    """The email as sent: headers, text, attachments."""
    settings = portal.settings
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = mail.message_id
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        message["References"] = " ".join(mail.references)
    # An automatic notification: no out-of-office answers to it, please.
    message["Auto-Submitted"] = mail.auto_submitted
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(mail.body)
    for file in mail.files:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(
            file.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.name,
        )
    return message


async def _retry_later(portal: Portal, delivery: Delivery, error: str) -> None:
    """Try again after a backoff, or give up after `GIVE_UP_AFTER_ATTEMPTS`."""
    give_up = delivery.attempts + 1 >= GIVE_UP_AFTER_ATTEMPTS
    retry_at = None if give_up else portal.clock() + backoff(delivery.attempts)
    kept = _kept_payload(delivery) if give_up else None
    await mark_failed(portal.sessions, delivery.id, error, retry_at, payload=kept)


async def _given_up(portal: Portal, delivery: Delivery, error: str) -> None:
    """Never send it."""
    await mark_failed(portal.sessions, delivery.id, error, None, payload=_kept_payload(delivery))


def _kept_payload(delivery: Delivery) -> dict[str, Any] | None:
    """What the outbox keeps of a payload once its email is sent or given up: all but its
    secrets (a linking code); None when it has none (kept as it is)."""
    if not any(key in delivery.payload for key in SECRETS):
        return None
    return {key: value for key, value in delivery.payload.items() if key not in SECRETS}


async def deliver_one(portal: Portal, delivery: Delivery) -> bool:
    """Write and send one claimed notification; True when sent."""
    writer = WRITERS.get(delivery.kind)
    if writer is None:
        await _given_up(portal, delivery, f"cannot write {delivery.kind}")
        return False
    to = await resolve_recipient(portal.sessions, delivery.recipient)
    to = to or portal.settings.staff_fallback_email.strip()
    if not to:
        logger.warning("staff email %s: no address for %s", delivery.id, delivery.recipient)
        await _retry_later(portal, delivery, f"no address for {delivery.recipient}")
        return False
    try:
        mail = await writer(portal, {**delivery.payload, "kind": delivery.kind})
    except Exception as error:
        logger.exception("staff email %s (%s) could not be written", delivery.id, delivery.kind)
        await _retry_later(portal, delivery, f"not written: {type(error).__name__}")
        return False
    if isinstance(mail, NotNeeded):
        await _given_up(portal, delivery, f"not sent: {mail.reason}")
        return False
    message = build_message(portal, to, mail, portal.clock())
    try:
        await send_message(portal.settings, message)
    except MailError as error:
        logger.warning(
            "staff email %s (%s) to %s not sent (attempt %s): %s",
            delivery.id,
            delivery.kind,
            to,
            delivery.attempts + 1,
            error,
        )
        if error.permanent:
            await _given_up(portal, delivery, str(error))
        else:
            await _retry_later(portal, delivery, str(error))
        return False
    await mark_sent(portal.sessions, delivery.id, portal.clock(), payload=_kept_payload(delivery))
    logger.info("staff email %s (%s) sent to %s", delivery.id, delivery.kind, to)
    return True


async def deliver_due_emails(portal: Portal) -> int:
    """Send the staff emails due now; returns how many were sent."""
    sent = 0
    for _ in range(MAX_ROUNDS):
        now = portal.clock()
        claimed = await claim_due(portal.sessions, Channel.EMAIL, now, LEASE, CLAIM_LIMIT)
        for delivery in claimed:
            sent += await deliver_one(portal, delivery)
        if len(claimed) < CLAIM_LIMIT:
            break
    return sent


async def run_email_delivery(
    portal: Portal, stop: asyncio.Event, poll_seconds: float = POLL_SECONDS
) -> None:
    """Deliver the staff emails until `stop` is set."""
    while not stop.is_set():
        try:
            await deliver_due_emails(portal)
        except Exception:
            logger.exception("staff email delivery round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_seconds)
