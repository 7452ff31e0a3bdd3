"""Telling the sender of a mail set aside why, once an hour at most, never an automatic sender.

When the inbound mail service sets a mail aside, or takes only part of it, its decision names a
reason (`Reason`); `queue_sender_notice` then queues one short email to the sender, in the
transaction that records the decision, under these rules (RFC 3834, "Recommendations for
Automatic Responses to Electronic Mail"):

- the answer goes to the envelope sender (the Return-Path), never to a null sender (`<>`,
  bounces), nor to an address that is itself automatic (`mailer-daemon`, `postmaster`,
  `owner-*`, `*-request`, no-reply addresses) nor to one of our own domains (no loops);
- a mail the reader found automatic (Auto-Submitted other than "no", Precedence bulk, junk or
  list, List-Id, auto-reply headers and subjects, delivery reports) is never answered;
- an address is told at most once per `NOTICE_INTERVAL`, whatever the number of mail workers
  or restarts: the last notice per address is a row of `sender_notice`, claimed with one
  conditional upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE`), so that two workers deciding
  at once for the same address queue one notice between them.

The email itself (its words, French first with a short English line) is written by
`mail.sender_mail`; what it carries is minimal: the reason and counts, no name of a child, no
text of the mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.database import insert_for
from store.models import SenderNotice
from store.models.enums import Channel
from store.outbox import enqueue

# The outbox kind of the notice to a sender, and of the notice to a service that a staff
# reply was held.
SENDER_NOTICE_MAIL = "sender_notice"
HELD_REPLY_MAIL = "staff_reply_held"
# An address is told at most once in this period.
NOTICE_INTERVAL = timedelta(hours=1)
# Local parts that are automatic senders themselves (RFC 3834 §2 and common practice).
AUTOMATIC_LOCAL_PARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "listserv",
        "majordomo",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "nepasrepondre",
        "ne-pas-repondre",
        "ne_pas_repondre",
        "bounce",
        "bounces",
    }
)


class Reason(StrEnum):
    """Why a sender is told that their mail was not (wholly) taken."""

    EMPTY_REPLY = "empty_reply"  # a staff reply with no text and no usable attachment
    UNKNOWN_TOKEN = "unknown_token"  # reply+<token> naming no thread (unknown, or thread gone)
    SENDER_NOT_ALLOWED = "sender_not_allowed"  # a reply from an address not allowed for staff
    ATTACHMENT_TOO_LARGE = "attachment_too_large"  # some files over the documents' size limit
    ATTACHMENT_REFUSED = "attachment_refused"  # some files of a type we do not take
    UNKNOWN_SENDER = "unknown_sender"  # documents from an address of no family
    TOO_MANY_ATTACHMENTS = "too_many_attachments"  # files past the per-mail limit left out
    LINKS_HELD = "links_held"  # a reply held for the service: links outside allowed domains
    OTHER = "other"  # any other reason: a generic notice


def reason_of(code: str | None) -> Reason:
    """The reason a code names; an unknown code is `Reason.OTHER` (a generic notice)."""
    try:
        return Reason(code or "")
    except ValueError:
        return Reason.OTHER


class Unanswerable(StrEnum):
    """Why a mail's sender is not told anything."""

    AUTOMATIC = "automatic mail"
    NULL_SENDER = "null envelope sender"
    NOT_AN_ADDRESS = "no usable sender address"
    AUTOMATIC_ADDRESS = "automatic sender address"
    OUR_DOMAIN = "one of our own addresses"


def answerable_address(
    envelope_sender: str | None, automatic: str | None, own_domains: tuple[str, ...]
) -> str | Unanswerable:
    """The address to tell (the envelope sender, lower-cased), or why no one is told."""
    if automatic:
        return Unanswerable.AUTOMATIC
    raw = (envelope_sender or "").strip()
    if raw in ("", "<>"):
        return Unanswerable.NULL_SENDER
    _, address = parseaddr(raw)
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or any(c.isspace() or c in "<>,;\"'" for c in address)
        or len(address) > 254
    ):
        return Unanswerable.NOT_AN_ADDRESS
    base = local.split("+", 1)[0]
    if (
        base in AUTOMATIC_LOCAL_PARTS
        or base.startswith("owner-")
        or base.endswith("-request")
        or base.startswith("bounce")
    ):
        return Unanswerable.AUTOMATIC_ADDRESS
    for own in own_domains:
        own = own.lower()
        if own and (domain == own or domain.endswith("." + own)):
            return Unanswerable.OUR_DOMAIN
    return address


@dataclass(frozen=True)
class NoticeOutcome:
    """What became of a notice: `queued`, `rate_limited`, or why the sender is not told."""

    status: str
    address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, **({"address": self.address} if self.address else {})}


async def claim_notice_slot(
    session: AsyncSession, address: str, mail_id: int, now: datetime
) -> bool:
    """Take the address's notice slot for this hour: True if no notice went to it within
    `NOTICE_INTERVAL` (the slot is now this mail's), False otherwise. One statement, so that
    concurrent workers cannot both take it (PostgreSQL locks the row on conflict; SQLite
    writes one at a time)."""
    connection = await session.connection()
    table = SenderNotice.__table__
    statement = (
        insert_for(connection.dialect.name)(table)
        .values(address=address, last_sent_at=now, mail_id=mail_id)
        .on_conflict_do_update(
            index_elements=[table.c.address],
            set_={"last_sent_at": now, "mail_id": mail_id},
            where=table.c.last_sent_at <= now - NOTICE_INTERVAL,
        )
        .returning(table.c.address)
    )
    return await connection.scalar(statement) is not None


async def queue_sender_notice(
    session: AsyncSession,
    *,
    mail_id: int,
    reason: str,
    details: dict[str, Any] | None,
    envelope_sender: str | None,
    automatic: str | None,
    own_domains: tuple[str, ...],
    message_id: str | None,
    received_at: datetime,
    now: datetime,
    earlier: str | None = None,
) -> NoticeOutcome:
    """Queue the notice of a mail set aside to its sender, unless the rules above say not to.

    Inside the caller's transaction (the one recording the decision); the outbox dedup key is
    the mail's, so a mail decided again never gets two notices. `earlier`: the mail's own
    In-Reply-To, named first in the notice's References (RFC 5322 threading)."""
    address = answerable_address(envelope_sender, automatic, own_domains)
    if isinstance(address, Unanswerable):
        return NoticeOutcome(address.value)
    if not await claim_notice_slot(session, address, mail_id, now):
        return NoticeOutcome("rate_limited", address)
    payload: dict[str, Any] = {
        "mail_id": mail_id,
        "reason": reason_of(reason).value,
        "details": _minimal(details),
        "received_at": received_at.isoformat(),
    }
    if _one_id(message_id):
        payload["in_reply_to"] = message_id
        payload["references"] = [i for i in (earlier, message_id) if _one_id(i)]
    await enqueue(
        session,
        channel=Channel.EMAIL,
        recipient=address,
        kind=SENDER_NOTICE_MAIL,
        payload=payload,
        dedup_key=f"sender-notice:{mail_id}",
    )
    return NoticeOutcome("queued", address)


def _minimal(details: dict[str, Any] | None) -> dict[str, Any]:
    """Only numbers and yes/no of the details: no file name, no text of the mail."""
    return {
        key: value
        for key, value in (details or {}).items()
        if isinstance(value, bool | int | float) and isinstance(key, str)
    }


def _one_id(value: str | None) -> bool:
    """Whether `value` is one message id, `<…>`, that a header may carry as it is."""
    return bool(
        value
        and value.startswith("<")
        and value.endswith(">")
        and value.count("<") == 1
        and len(value) <= 255
        and not any(c.isspace() for c in value)
    )
