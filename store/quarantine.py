"""Mails set aside, for staff: list them, look at one, release one (`portail staff quarantine`).

A mail is set aside (`quarantined`) when it cannot be acted upon as it is: a staff reply from an
address not allowed, with an unknown token, with nothing in it, or held because it is not
authenticated and links outside the allowed domains; documents from an address of no family.
Staff see the list (never the bodies), one mail (its headers, the reason, the text a family
would read, its files' names and sizes; its bytes only when asked), and may release one: the
inbound mail service then acts on it as if it had been allowed (`InboundMailService.release`),
once, recorded in the audit log with who released it; or drop one (`drop`: thrown away, its
bytes purged with the others past their retention).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor
from store.inbound import InboundMailService, InboundView
from store.models import Family, InboundMail, Service, Thread
from store.models.enums import ActorKind
from store.models.inbound import InboundStatus

# The headers `show` prints, in this order.
SHOWN_HEADERS = (
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "Auto-Submitted",
    "Authentication-Results",
)
HEADER_MAX_CHARS = 300


@dataclass(frozen=True)
class KeptFile:
    """A file of a mail set aside: its name as written (cleaned) and size."""

    name: str | None
    content_type: str | None
    size: int
    inline: bool


@dataclass(frozen=True)
class QuarantinedMail:
    """One mail set aside, as `show` prints it (no bytes)."""

    view: InboundView
    headers: tuple[tuple[str, str], ...]
    text: str | None
    files: tuple[KeptFile, ...]
    readable: bool


class QuarantineService:
    """List, show and release the mails set aside; staff only."""

    def __init__(self, inbound: InboundMailService):
        self._inbound = inbound

    async def listed(
        self, actor: Actor, *, everything: bool = False, limit: int = 100
    ) -> list[InboundView]:
        """The mails set aside, newest first; `everything`: ignored and malformed ones too."""
        statuses: Sequence[InboundStatus] = (
            (InboundStatus.QUARANTINED, InboundStatus.IGNORED, InboundStatus.MALFORMED)
            if everything
            else (InboundStatus.QUARANTINED,)
        )
        return await self._inbound.recorded(actor, statuses, limit)

    async def show(self, actor: Actor, mail_id: int) -> QuarantinedMail:
        """One kept mail: headers, reason, the text a family would read, its files."""
        view, mail = await self._inbound.read_kept(actor, mail_id)
        raw = await self._inbound.raw(actor, mail_id)
        headers = _headers(raw) if raw else ()
        if mail is None:
            return QuarantinedMail(view, headers, None, (), readable=False)
        files = tuple(
            KeptFile(
                getattr(file, "filename", None),
                getattr(file, "content_type", None),
                file.size,
                file.inline,
            )
            for file in mail.attachments
        )
        text = await self._inbound.reduced_text(mail, view.rcpt_to)
        return QuarantinedMail(view, headers, text, files, readable=True)

    async def raw(self, actor: Actor, mail_id: int) -> bytes:
        """The mail's bytes as received (for `show --raw`)."""
        return await self._inbound.raw(actor, mail_id)

    async def release(
        self, actor: Actor, mail_id: int, family_id: int | None = None
    ) -> InboundView:
        """Act on a mail set aside as if it had been allowed (see `InboundMailService.release`);
        only a staff member (not the system) releases, so that the log says who."""
        if actor.kind is not ActorKind.STAFF:
            raise AccessDenied("a mail is released by a named staff member")
        return await self._inbound.release(actor, mail_id, family_id)

    async def drop(self, actor: Actor, mail_id: int) -> bool:
        """Throw a mail set aside away (see `InboundMailService.drop`): no longer listed nor
        releasable, recorded in the audit log with who dropped it; False when it was no longer
        set aside (dropped or released already). Only a named staff member drops."""
        if actor.kind is not ActorKind.STAFF:
            raise AccessDenied("a mail is dropped by a named staff member")
        return await self._inbound.drop(actor, mail_id)


def _headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The shown headers of a raw mail, decoded, one line each (read from its headers only)."""
    end = raw.find(b"\r\n\r\n")
    end = end if end >= 0 else raw.find(b"\n\n")
    head = raw[: end if end >= 0 else len(raw)]
    message = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
    shown: list[tuple[str, str]] = []
    for name in SHOWN_HEADERS:
        for value in message.get_all(name) or []:
            text = str(value)
            if "=?" in text:
                # An undecodable encoded word is shown as it is.
                with contextlib.suppress(Exception):
                    text = str(make_header(decode_header(text)))
            text = " ".join(text.split())
            shown.append((name, text[:HEADER_MAX_CHARS]))
    return tuple(shown)


# Facts for the service's email about a held reply ------------------------------------------


@dataclass(frozen=True)
class HeldReplyFacts:
    """A staff reply held for the service: whose thread, who it says it is from, and whether
    it was released (or otherwise decided) since."""

    mail_id: int
    thread_id: int
    family_name: str
    service_name: str
    sender: str | None
    received_at: datetime
    released: bool


async def held_reply_facts(
    sessions: async_sessionmaker[AsyncSession], mail_id: int, thread_id: int
) -> HeldReplyFacts | None:
    """The facts of a held staff reply (None when the mail or the thread is gone)."""
    async with sessions() as session:
        return await _held_reply_facts(session, mail_id, thread_id)


async def _held_reply_facts(
    session: AsyncSession, mail_id: int, thread_id: int
) -> HeldReplyFacts | None:
    mail = (
        await session.execute(
            select(InboundMail.header_from, InboundMail.received_at, InboundMail.status).where(
                InboundMail.id == mail_id
            )
        )
    ).first()
    thread = (
        await session.execute(
            select(Family.name, Service.name)
            .select_from(Thread)
            .join(Family, Family.id == Thread.family_id)
            .join(Service, Service.id == Thread.service_id)
            .where(Thread.id == thread_id)
        )
    ).first()
    if mail is None or thread is None:
        return None
    return HeldReplyFacts(
        mail_id=mail_id,
        thread_id=thread_id,
        family_name=thread[0],
        service_name=thread[1],
        sender=mail.header_from,
        received_at=mail.received_at,
        released=mail.status is not InboundStatus.QUARANTINED,
    )
