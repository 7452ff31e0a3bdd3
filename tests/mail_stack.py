"""Helpers for end-to-end mail tests: the bot and the inbound mail server running on one
portal, a parent linked on Telegram who wrote to a service, and staff answering by email over
real SMTP (smtplib to the inbound server; our emails land in the `smtp_sink` relay)."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from typing import Any

from sqlalchemy import select, update

from bot.runner import running_bot
from mail.email_delivery import deliver_due_emails
from mail.inbound import InboundMailServer, inbound_service
from store.inbound import InboundConfig, reply_token
from store.messaging import MessagingService
from store.models import Guardian, InboundMail, Message, OutboxItem
from store.models.enums import Language, MessageDirection
from tests.chat_helpers import linked_parent
from tests.helpers import build_town
from tests.mail_helpers import wait_for_mails
from tests.messaging_helpers import LEISURE, add_services, link_chat

DOMAIN = "portail-famille.example"
DOCUMENTS = f"documents@{DOMAIN}"
PARENT = "parent.f1@exemple.fr"
STAFF_DOMAIN = "montclar.example"
SERVICE_EMAIL = "centres-loisirs@montclar.example"
CHAT_ID = 4242


@dataclass
class Stack:
    """What a test works with: the running servers, the parent, the thread and its token."""

    portal: Any
    sink: Any
    server: InboundMailServer
    parent: Any
    town: Any
    staff_email: str
    thread_id: int
    token: str

    @property
    def reply_address(self) -> str:
        return f"reply+{self.token}@{DOMAIN}"

    async def send(
        self,
        raw: bytes,
        rcpts: list[str] | None = None,
        mail_from: str | None = None,
    ) -> Any:
        """Deliver `raw` over SMTP to the inbound server, then wait until it was processed."""
        envelope_from = self.staff_email if mail_from is None else mail_from
        refused = await asyncio.to_thread(
            _smtp_send, self.server.port, envelope_from, rcpts or [self.reply_address], raw
        )
        await self.server.drain()
        return refused

    async def new_notification_token(self) -> str:
        """The parent writes again in the thread; the token of the service's new email."""
        before = len(self.sink.messages)
        await MessagingService(self.portal.sessions, self.portal.clock).continue_thread(
            self.town.guardian, self.thread_id, "Et pour mercredi ?"
        )
        await deliver_due_emails(self.portal)
        mails = await wait_for_mails(self.sink, before + 1)
        token = reply_token(mails[-1]["Reply-To"], DOMAIN)
        assert token is not None
        return token


def _smtp_send(port: int, mail_from: str, rcpts: list[str], raw: bytes) -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("mail.montclar.example")
        return client.sendmail(mail_from, rcpts, raw)


def staff_mail(
    body: str | None,
    *files: tuple[str, bytes, str],
    sender: str,
    to: str,
    cc: str | None = None,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    """A staff member's email as a mail client writes it (CRLF line ends)."""
    message = EmailMessage()
    for name, value in (headers or {}).items():
        message[name] = value
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = "Re: Question sur la cantine"
    message["Message-ID"] = message_id or make_msgid(domain="montclar.example")
    if body is not None:
        message.set_content(body)
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, content, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=SMTP_POLICY)


@contextlib.asynccontextmanager
async def mail_stack(
    portal: Any,
    telegram: Any,
    sink: Any,
    *,
    language: Language = Language.FR,
    config: InboundConfig | None = None,
    bot: bool = True,
) -> AsyncIterator[Stack]:
    """The inbound server running, and with `bot` the bot too (polling the fake Telegram and
    delivering the outbox) with a linked parent; the parent wrote to the leisure centres, and
    the thread has a reply token (the one of the service's notification email)."""
    town = await build_town(portal.sessions, [])
    services = await add_services(portal.sessions)
    config = config or InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(inbound_service(portal, config))
    await server.start("127.0.0.1", 0)
    try:
        async with contextlib.AsyncExitStack() as running:
            parent = None
            if bot:
                await running.enter_async_context(running_bot(portal, poll_timeout=1))
                parent = await linked_parent(portal, telegram, PARENT)
            else:  # linked without Telegram: its notices wait in the outbox
                await link_chat(portal.sessions, town.guardian.id, CHAT_ID)
            if language is not Language.FR:
                async with portal.sessions.begin() as session:
                    await session.execute(
                        update(Guardian).where(Guardian.email == PARENT).values(language=language)
                    )
            messaging = MessagingService(portal.sessions, portal.clock)
            thread = await messaging.write(town.guardian, LEISURE, "Question sur la cantine")
            if bot:
                [notification] = await wait_for_mails(sink)
                token = reply_token(notification["Reply-To"], DOMAIN)
                parent.mark()
            else:
                token = await messaging.new_reply_token(thread.id)
            assert token is not None
            yield Stack(portal, sink, server, parent, town, services.staff_email, thread.id, token)
    finally:
        await server.close()


async def inbound_rows(portal: Any) -> list[InboundMail]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(InboundMail).order_by(InboundMail.id)))


async def replies_to_parent(portal: Any) -> list[Message]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(Message)
                .where(Message.direction == MessageDirection.TO_PARENT)
                .order_by(Message.id)
            )
        )


async def outbox_kinds(portal: Any) -> list[str]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)))


async def staff_reply_notices(portal: Any) -> list[OutboxItem]:
    """The Telegram notices of staff replies queued for the parent's chats."""
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem)
                .where(OutboxItem.kind.in_(("staff_reply", "staff_attachment")))
                .order_by(OutboxItem.id)
            )
        )


async def settle(seconds: float = 0.6) -> None:
    """Give the outbox workers (polling every second at most) time to send what is due."""
    await asyncio.sleep(seconds)
