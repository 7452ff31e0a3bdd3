"""Messages between families and the services: threads, staff replies, reply tokens.

A guardian writes to a service (a new thread) or continues one of the family's threads; each of
their messages is queued in the outbox for the service's mailbox. Staff answer a thread; the
answer is queued for the family's Telegram chats. Message ids grow with time, so "newer" is
decided on ids, which stay ordered even when two messages share a timestamp.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, func, null, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.clock import Clock, system_clock
from store.models import (
    ChatCopy,
    Document,
    Family,
    Message,
    MessageAttachment,
    ReplyToken,
    Service,
    Thread,
)
from store.models.enums import ActorKind, Channel, DeliveryState, MessageDirection
from store.outbox import enqueue, notify_family

BODY_MAX_CHARS = 4000
SUBJECT_MAX_CHARS = 100
HISTORY_LIMIT = 10
# Reply tokens are 32 random bytes, URL-safe: 43 characters.
REPLY_TOKEN_BYTES = 32
REPLY_TOKEN_MAX_CHARS = 128


class InvalidMessage(StoreError):
    """The message is empty or too long; nothing was stored."""


@dataclass(frozen=True)
class ServiceView:
    """A service parents may write to."""

    code: str
    name: str
    email: str = ""


@dataclass(frozen=True)
class AttachmentView:
    """A document sent with a message."""

    document_id: int
    name: str | None
    content_type: str


@dataclass(frozen=True)
class MessageView:
    """One message of a thread, in either direction."""

    id: int
    thread_id: int
    direction: MessageDirection
    channel: Channel
    author: str
    body: str
    delivery_state: DeliveryState
    created_at: datetime
    attachments: tuple[AttachmentView, ...] = ()


@dataclass(frozen=True)
class ThreadView:
    """A thread between a family and a service, with where it stands."""

    id: int
    family_id: int
    family_name: str
    service_code: str
    service_name: str
    subject: str
    created_at: datetime
    last_message_id: int | None
    awaiting_staff: bool


@dataclass(frozen=True)
class InboxEntry:
    """A thread waiting for the service: its last parent message is newer than any reply."""

    thread: ThreadView
    last_body: str
    last_at: datetime


def hash_token(token: str) -> str:
    """The sha256 of a reply token, as kept in `Thread.reply_token_hash`."""
    return hashlib.sha256(token.encode()).hexdigest()


def clean_body(body: str) -> str:
    """The body as stored: trimmed; refused when empty or longer than `BODY_MAX_CHARS`."""
    cleaned = (body or "").strip()
    if not cleaned:
        raise InvalidMessage("the message is empty")
    if len(cleaned) > BODY_MAX_CHARS:
        raise InvalidMessage(f"the message is longer than {BODY_MAX_CHARS} characters")
    return cleaned


class MessagingService:
    """Write to the services, answer families, and read threads."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    async def services(self) -> list[ServiceView]:
        """The services parents may write to, by name."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Service.code, Service.name, Service.email).order_by(Service.name)
            )
            return [ServiceView(code, name, email) for code, name, email in rows]

    async def write(
        self,
        actor: Actor,
        service_code: str,
        body: str,
        attachments: Sequence[int] | None = None,
        *,
        channel: Channel = Channel.TELEGRAM,
        external_id: str | None = None,
    ) -> ThreadView:
        """A guardian writes to a service: a new thread for the family, handed to the service.

        `external_id` (an email's Message-ID) makes the call idempotent: a message already stored
        with it is not stored twice, and its thread is returned.
        """
        family_id = _guardian_family(actor)
        cleaned = clean_body(body)
        async with self._sessions.begin() as session:
            replayed = await _replayed(session, external_id)
            if replayed is not None:
                actor.check_family(replayed.family_id)
                return await _thread_view(session, replayed.id)
            service = await session.scalar(select(Service).where(Service.code == service_code))
            if service is None:
                raise NotFound("unknown service")
            thread = Thread(
                family_id=family_id,
                service_id=service.id,
                subject=_subject(cleaned),
                created_at=self._clock(),
            )
            session.add(thread)
            await session.flush()
            await self._add_parent_message(
                session, actor, thread, service, cleaned, attachments, channel, external_id
            )
            return await _thread_view(session, thread.id)

    async def continue_thread(
        self,
        actor: Actor,
        thread_id: int,
        body: str,
        attachments: Sequence[int] | None = None,
        *,
        channel: Channel = Channel.TELEGRAM,
        external_id: str | None = None,
    ) -> ThreadView:
        """A guardian writes again in one of the family's threads; another family's is refused."""
        _guardian_family(actor)
        cleaned = clean_body(body)
        async with self._sessions.begin() as session:
            replayed = await _replayed(session, external_id)
            if replayed is not None:
                actor.check_family(replayed.family_id)
                return await _thread_view(session, replayed.id)
            thread = await session.get(Thread, thread_id)
            if thread is None:
                raise NotFound("unknown thread")
            actor.check_family(thread.family_id)
            service = await session.get(Service, thread.service_id)
            assert service is not None
            await self._add_parent_message(
                session, actor, thread, service, cleaned, attachments, channel, external_id
            )
            return await _thread_view(session, thread.id)

    async def staff_reply(
        self,
        actor: Actor,
        thread_id: int,
        body: str,
        attachments: Sequence[int] = (),
        *,
        external_id: str | None = None,
    ) -> MessageView:
        """Staff answer a thread; the family's linked Telegram chats are notified.

        `attachments` are documents already filed for the thread's family; each one reaches
        the chat as a document of its own, after the reply. A reply of files only (an empty
        body with attachments) is a message of its own, which the chat shows as the files the
        service sent. `external_id` (unique among messages) makes the reply idempotent: given
        again, by a retry or by another worker at the same moment, it returns the message
        stored the first time and notifies no one.
        """
        actor.check_staff()
        cleaned = "" if attachments and not (body or "").strip() else clean_body(body)
        try:
            return await self._add_staff_reply(actor, thread_id, cleaned, attachments, external_id)
        except IntegrityError:
            # Another worker stored the same reply between our check and our commit.
            known = None
            if external_id is not None:
                known = await self._message_by_external_id(external_id)
            if known is None:
                raise
            return known

    async def _message_by_external_id(self, external_id: str) -> MessageView | None:
        async with self._sessions() as session:
            return await _stored_by_external_id(session, external_id)

    async def _add_staff_reply(
        self,
        actor: Actor,
        thread_id: int,
        cleaned: str,
        attachments: Sequence[int],
        external_id: str | None,
    ) -> MessageView:
        async with self._sessions.begin() as session:
            # The thread, and whether a retry finds the reply stored already: one read, in the
            # transaction that would store it.
            stored = (
                select(Message.id).where(Message.external_id == external_id).scalar_subquery()
                if external_id is not None
                else null()
            )
            row = (
                await session.execute(select(Thread, stored).where(Thread.id == thread_id))
            ).first()
            if external_id is not None and (row is None or row[1] is not None):
                known = await _stored_by_external_id(session, external_id)
                if known is not None:
                    return known
            if row is None:
                raise NotFound("unknown thread")
            thread = row[0]
            message = Message(
                thread_id=thread.id,
                direction=MessageDirection.TO_PARENT,
                channel=Channel.TELEGRAM,
                author=actor.label,
                body=cleaned,
                external_id=external_id,
                delivery_state=DeliveryState.PENDING,
                created_at=self._clock(),
            )
            session.add(message)
            await session.flush()
            record(session, actor, "staff_reply", "thread", thread.id, message=message.id)
            await notify_family(
                session,
                thread.family_id,
                "staff_reply",
                {"thread_id": thread.id, "message_id": message.id},
                event_key=f"message:{message.id}",
            )
            for document_id in attachments:
                document = await session.get(Document, document_id)
                if document is None or document.family_id != thread.family_id:
                    raise AccessDenied("the attachment belongs to another family")
                session.add(MessageAttachment(message_id=message.id, document_id=document_id))
                await notify_family(
                    session,
                    thread.family_id,
                    "staff_attachment",
                    {"thread_id": thread.id, "message_id": message.id, "document_id": document_id},
                    event_key=f"message:{message.id}:document:{document_id}",
                )
            return _message_view(message, ())

    async def thread(self, actor: Actor, thread_id: int) -> ThreadView:
        """One thread, for its family or staff."""
        async with self._sessions() as session:
            thread = await session.get(Thread, thread_id)
            if thread is None:
                raise NotFound("unknown thread")
            actor.check_family(thread.family_id)
            return await _thread_view(session, thread.id)

    async def threads(self, actor: Actor, family_id: int) -> list[ThreadView]:
        """The family's threads, the most recently active first."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            return await _thread_views(session, Thread.family_id == family_id)

    async def thread_history(
        self, actor: Actor, thread_id: int, limit: int = HISTORY_LIMIT
    ) -> list[MessageView]:
        """The last `limit` messages of a thread, oldest first, for its family or staff."""
        async with self._sessions() as session:
            thread = await session.get(Thread, thread_id)
            if thread is None:
                raise NotFound("unknown thread")
            actor.check_family(thread.family_id)
            messages = list(
                await session.scalars(
                    select(Message)
                    .where(Message.thread_id == thread_id)
                    .order_by(Message.id.desc())
                    .limit(max(limit, 0))
                )
            )
            attached = await _attachments(session, [m.id for m in messages])
            return [_message_view(m, attached.get(m.id, ())) for m in reversed(messages)]

    async def message(self, actor: Actor, message_id: int) -> tuple[ThreadView, MessageView]:
        """One message and its thread, for its family or staff."""
        async with self._sessions() as session:
            message = await session.get(Message, message_id)
            if message is None:
                raise NotFound("unknown message")
            thread = await _thread_view(session, message.thread_id)
            actor.check_family(thread.family_id)
            attached = await _attachments(session, [message.id])
            return thread, _message_view(message, attached.get(message.id, ()))

    async def inbox(self, actor: Actor, service_code: str | None = None) -> list[InboxEntry]:
        """Threads whose last parent message is newer than the last staff reply, newest first."""
        actor.check_staff()
        last_in = _last_message_ids(MessageDirection.FROM_PARENT, "last_in")
        last_out = _last_message_ids(MessageDirection.TO_PARENT, "last_out")
        query = (
            select(Thread.id, Message.body, Message.created_at)
            .join(last_in, last_in.c.thread_id == Thread.id)
            .outerjoin(last_out, last_out.c.thread_id == Thread.id)
            .join(Message, Message.id == last_in.c.last_in)
            .where(or_(last_out.c.last_out.is_(None), last_in.c.last_in > last_out.c.last_out))
            .order_by(last_in.c.last_in.desc())
        )
        if service_code is not None:
            query = query.join(Service, Service.id == Thread.service_id).where(
                Service.code == service_code
            )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
            views = {
                view.id: view
                for view in await _thread_views(session, Thread.id.in_([r.id for r in rows]))
            }
        return [InboxEntry(views[row.id], row.body, row.created_at) for row in rows]

    async def new_reply_token(self, thread_id: int) -> str:
        """A new unguessable token to answer a thread by email; only its hash is kept.

        Each notification of a thread carries a token of its own, and every token made for a
        thread stays valid as long as the thread exists: a staff member answering an older
        notification of the thread reaches the family all the same.
        """
        token = secrets.token_urlsafe(REPLY_TOKEN_BYTES)
        async with self._sessions.begin() as session:
            thread = await session.get(Thread, thread_id)
            if thread is None:
                raise NotFound("unknown thread")
            session.add(
                ReplyToken(
                    thread_id=thread.id, token_hash=hash_token(token), created_at=self._clock()
                )
            )
        return token

    async def thread_for_reply_token(self, token: str) -> ThreadView | None:
        """The thread a reply token was made for (any of the thread's tokens), or None for an
        unknown token or a thread that no longer exists."""
        if not token or len(token) > REPLY_TOKEN_MAX_CHARS:
            return None
        digest = hash_token(token)
        async with self._sessions() as session:
            # One read: a per-token row, or a token kept on the thread itself (before per-token
            # rows); the thread's view joins on it.
            token_threads = union(
                select(ReplyToken.thread_id.label("id")).where(ReplyToken.token_hash == digest),
                select(Thread.id.label("id")).where(Thread.reply_token_hash == digest),
            ).subquery()
            views = await _thread_views(session, Thread.id.in_(select(token_threads.c.id)))
            return views[0] if views else None

    async def remember_chat_copy(
        self, actor: Actor, message_id: int, chat_id: int, telegram_message_id: int
    ) -> None:
        """Note that a staff reply reached a Telegram chat as `telegram_message_id`."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            message = await session.get(Message, message_id)
            if message is None:
                raise NotFound("unknown message")
            known = await session.scalar(
                select(ChatCopy.id).where(
                    ChatCopy.chat_id == chat_id,
                    ChatCopy.telegram_message_id == telegram_message_id,
                )
            )
            if known is None:
                session.add(
                    ChatCopy(
                        message_id=message.id,
                        chat_id=chat_id,
                        telegram_message_id=telegram_message_id,
                        delivered_at=self._clock(),
                    )
                )
            message.delivery_state = DeliveryState.SENT

    async def thread_for_chat_reply(
        self, actor: Actor, chat_id: int, telegram_message_id: int
    ) -> ThreadView | None:
        """The thread of the staff reply a parent answered in Telegram, if it is one of theirs."""
        async with self._sessions() as session:
            thread_id = await session.scalar(
                select(Message.thread_id)
                .join(ChatCopy, ChatCopy.message_id == Message.id)
                .where(
                    ChatCopy.chat_id == chat_id,
                    ChatCopy.telegram_message_id == telegram_message_id,
                )
            )
            if thread_id is None:
                return None
            thread = await _thread_view(session, thread_id)
        actor.check_family(thread.family_id)
        return thread

    async def _add_parent_message(
        self,
        session: AsyncSession,
        actor: Actor,
        thread: Thread,
        service: Service,
        body: str,
        attachments: Sequence[int] | None,
        channel: Channel,
        external_id: str | None,
    ) -> Message:
        document_ids = sorted(set(attachments or []))
        if document_ids:
            owners = dict(
                (
                    await session.execute(
                        select(Document.id, Document.family_id).where(
                            Document.id.in_(document_ids)
                        )
                    )
                ).all()
            )
            if set(owners) != set(document_ids):
                raise NotFound("unknown document")
            if any(owner != thread.family_id for owner in owners.values()):
                raise AccessDenied("this document belongs to another family")
        message = Message(
            thread_id=thread.id,
            direction=MessageDirection.FROM_PARENT,
            channel=channel,
            author=actor.label,
            body=body,
            external_id=external_id,
            delivery_state=DeliveryState.PENDING,
            created_at=self._clock(),
        )
        session.add(message)
        await session.flush()
        for document_id in document_ids:
            session.add(MessageAttachment(message_id=message.id, document_id=document_id))
        record(
            session,
            actor,
            "write_message",
            "thread",
            thread.id,
            message=message.id,
            attachments=len(document_ids),
        )
        await enqueue(
            session,
            channel=Channel.EMAIL,
            recipient=service.email,
            kind="parent_message",
            payload={"thread_id": thread.id, "message_id": message.id},
            dedup_key=f"message:{message.id}:staff",
        )
        return message


# Queries ----------------------------------------------------------------------------------


def _guardian_family(actor: Actor) -> int:
    """Only a guardian writes to a service, for their own family."""
    if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
        raise AccessDenied("only a guardian writes to a service")
    return actor.family_id


def _subject(body: str) -> str:
    first_line = body.splitlines()[0].strip()
    if len(first_line) <= SUBJECT_MAX_CHARS:
        return first_line
    return first_line[: SUBJECT_MAX_CHARS - 1].rstrip() + "…"


async def _replayed(session: AsyncSession, external_id: str | None) -> Thread | None:
    """The thread of a message already stored with this external id."""
    if external_id is None:
        return None
    return await session.scalar(
        select(Thread)
        .join(Message, Message.thread_id == Thread.id)
        .where(Message.external_id == external_id)
    )


async def _stored_by_external_id(session: AsyncSession, external_id: str) -> MessageView | None:
    """The message stored with this external id, if any."""
    message = await session.scalar(select(Message).where(Message.external_id == external_id))
    if message is None:
        return None
    attached = await _attachments(session, [message.id])
    return _message_view(message, attached.get(message.id, ()))


def _last_message_ids(direction: MessageDirection | None, label: str) -> Subquery:
    """Per thread, the id of its last message (of one direction, or of any)."""
    query = select(Message.thread_id, func.max(Message.id).label(label)).group_by(
        Message.thread_id
    )
    if direction is not None:
        query = query.where(Message.direction == direction)
    return query.subquery()


async def _thread_views(session: AsyncSession, where: ColumnElement[bool]) -> list[ThreadView]:
    """Threads matching `where`, the most recently active first."""
    last = _last_message_ids(None, "last_id")
    rows = (
        await session.execute(
            select(
                Thread,
                Family.name,
                Service.code,
                Service.name,
                last.c.last_id,
                Message.direction,
            )
            .join(Family, Family.id == Thread.family_id)
            .join(Service, Service.id == Thread.service_id)
            .outerjoin(last, last.c.thread_id == Thread.id)
            .outerjoin(Message, Message.id == last.c.last_id)
            .where(where)
            .order_by(func.coalesce(last.c.last_id, 0).desc(), Thread.id.desc())
        )
    ).all()
    return [
        ThreadView(
            id=thread.id,
            family_id=thread.family_id,
            family_name=family_name,
            service_code=service_code,
            service_name=service_name,
            subject=thread.subject,
            created_at=thread.created_at,
            last_message_id=last_id,
            awaiting_staff=direction is MessageDirection.FROM_PARENT,
        )
        for thread, family_name, service_code, service_name, last_id, direction in rows
    ]


async def _thread_view(session: AsyncSession, thread_id: int) -> ThreadView:
    views = await _thread_views(session, Thread.id == thread_id)
    if not views:
        raise NotFound("unknown thread")
    return views[0]


async def _attachments(
    session: AsyncSession, message_ids: Iterable[int]
) -> dict[int, tuple[AttachmentView, ...]]:
    ids = list(message_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(
            MessageAttachment.message_id,
            Document.id,
            Document.original_name,
            Document.content_type,
        )
        .join(Document, Document.id == MessageAttachment.document_id)
        .where(MessageAttachment.message_id.in_(ids))
        .order_by(MessageAttachment.message_id, Document.id)
    )
    attached: dict[int, list[AttachmentView]] = {}
    for message_id, document_id, name, content_type in rows:
        attached.setdefault(message_id, []).append(AttachmentView(document_id, name, content_type))
    return {message_id: tuple(views) for message_id, views in attached.items()}


def _message_view(message: Message, attachments: tuple[AttachmentView, ...]) -> MessageView:
    return MessageView(
        id=message.id,
        thread_id=message.thread_id,
        direction=message.direction,
        channel=message.channel,
        author=message.author,
        body=message.body,
        delivery_state=message.delivery_state,
        created_at=message.created_at,
        attachments=attachments,
    )
