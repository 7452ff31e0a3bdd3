"""The family's rights over its data: a download (the export, at most once per interval), an
erasure request for the family-file service, and the erasure staff apply.

What erasure removes: the children's health details (doctor, allergies, PAI, diet, vaccination
day), their consents and pick-up persons, every document (files and rows), the absences'
medical details, the messages with the services, the family's requests of the family file, the
guardians' phones and Telegram links, and their chat state. What it keeps, as the law requires:
invoices and payments (accounting, 10 years), and what they need (the family's and guardians'
names and address, bookings and absences as billed), detached from any health detail. The
audit entry it leaves holds counts only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, NotFound, StoreError
from store.audit import record
from store.clock import Clock
from store.documents import DocumentService
from store.family_file import FAMILY_FILE_SERVICE
from store.models import (
    Absence,
    AuditEntry,
    ChatCopy,
    ChatState,
    Child,
    ChildConsent,
    Document,
    ErasureRequest,
    Family,
    FileChange,
    Guardian,
    Message,
    MessageAttachment,
    PickupPerson,
    ReplyToken,
    Thread,
)
from store.models.enums import ActorKind, RequestStatus
from store.staff_notices import notify_service, service_recipient

EXPORT_ACTION = "family.export"
ERASURE_NOTICE = "erasure_to_decide"


class TooSoon(StoreError):
    """The family downloaded its data a short while ago; `next_at`: when it may again."""

    def __init__(self, next_at: datetime):
        super().__init__("export asked too soon")
        self.next_at = next_at


@dataclass(frozen=True)
class ErasureAsked:
    request_id: int
    already: bool


@dataclass(frozen=True)
class PendingErasure:
    request_id: int
    family_id: int
    family_code: str
    family_name: str
    requested_at: datetime


@dataclass(frozen=True)
class Erased:
    """What an erasure removed, in counts (no personal data)."""

    children: int
    documents: int
    threads: int
    requests: int
    guardians_unlinked: int
    chat_states: int


@dataclass(frozen=True)
class ErasureFacts:
    """An erasure request's family and state (for the system's own notifications)."""

    family_id: int
    family_code: str
    family_name: str
    status: RequestStatus


async def erasure_facts(
    sessions: async_sessionmaker[AsyncSession], request_id: int
) -> ErasureFacts | None:
    """Family and state of an erasure request (for the system's own notifications)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Family.id, Family.code, Family.name, ErasureRequest.status)
                .join(Family, Family.id == ErasureRequest.family_id)
                .where(ErasureRequest.id == request_id)
            )
        ).first()
        return ErasureFacts(*row) if row else None


class FamilyRights:
    """Export pacing, erasure requests and erasure, for guardians and staff."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: DocumentService,
        clock: Clock,
        export_interval: timedelta = timedelta(hours=1),
    ):
        self._sessions = sessions
        self._documents = documents
        self._clock = clock
        self._interval = export_interval

    async def check_export(self, actor: Actor, family_id: int) -> None:
        """`TooSoon` when the family downloaded its data within the interval."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            last = await session.scalar(
                select(func.max(AuditEntry.at)).where(
                    AuditEntry.action == EXPORT_ACTION,
                    AuditEntry.entity == "family",
                    AuditEntry.entity_id == family_id,
                )
            )
        if last is None:
            return
        if last.tzinfo is None:
            last = last.replace(tzinfo=self._clock().tzinfo)
        if self._clock() < last + self._interval:
            raise TooSoon(last + self._interval)

    async def exported(self, actor: Actor, family_id: int, size: int) -> None:
        """Record a download (its size only): the next one waits the interval."""
        actor.check_family(family_id)
        async with self._sessions.begin() as session:
            session.add(
                AuditEntry(
                    at=self._clock(),
                    actor=actor.label,
                    action=EXPORT_ACTION,
                    entity="family",
                    entity_id=family_id,
                    details={"bytes": size},
                )
            )

    async def ask_erasure(self, actor: Actor, family_id: int) -> ErasureAsked:
        """An erasure request for the family-file service (one pending at a time), mailed."""
        actor.check_family(family_id)
        async with self._sessions.begin() as session:
            pending = await session.scalar(
                select(ErasureRequest.id).where(
                    ErasureRequest.family_id == family_id,
                    ErasureRequest.status == RequestStatus.PENDING,
                )
            )
            if pending is not None:
                return ErasureAsked(pending, already=True)
            request = ErasureRequest(
                family_id=family_id,
                status=RequestStatus.PENDING,
                requested_by=actor.id if actor.kind is ActorKind.GUARDIAN else None,
                requested_at=self._clock(),
            )
            session.add(request)
            await session.flush()
            record(session, actor, "erasure.asked", "family", family_id, request=request.id)
            recipient = await service_recipient(session, code=FAMILY_FILE_SERVICE)
            await notify_service(
                session,
                recipient,
                ERASURE_NOTICE,
                {"request_id": request.id},
                f"erasure:{request.id}",
            )
            return ErasureAsked(request.id, already=False)

    async def pending(self, actor: Actor) -> list[PendingErasure]:
        """Erasure requests waiting for staff, oldest first."""
        actor.check_staff()
        async with self._sessions() as session:
            rows = await session.execute(
                select(ErasureRequest, Family.code, Family.name)
                .join(Family, Family.id == ErasureRequest.family_id)
                .where(ErasureRequest.status == RequestStatus.PENDING)
                .order_by(ErasureRequest.requested_at, ErasureRequest.id)
            )
            return [
                PendingErasure(request.id, request.family_id, code, name, request.requested_at)
                for request, code, name in rows
            ]

    async def refuse(self, actor: Actor, request_id: int, reason: str) -> None:
        """Refuse a pending erasure request, for `reason` (the family sees it)."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            request = await session.get(ErasureRequest, request_id)
            if request is None or request.status is not RequestStatus.PENDING:
                raise NotFound("no pending erasure request")
            request.conclude(False, reason, actor.staff_id, self._clock())
            record(session, actor, "erasure.refused", "family", request.family_id)

    async def erase(self, actor: Actor, family_id: int) -> Erased:
        """Erase what may be erased of the family (see the module's doc); staff only."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            if await session.get(Family, family_id) is None:
                raise NotFound("unknown family")
            erased, keys = await _erase(session, family_id)
            requests = await session.scalars(
                select(ErasureRequest).where(
                    ErasureRequest.family_id == family_id,
                    ErasureRequest.status == RequestStatus.PENDING,
                )
            )
            for request in requests:
                request.conclude(True, None, actor.staff_id, self._clock())
            record(
                session,
                actor,
                "family.erased",
                "family",
                family_id,
                children=erased.children,
                documents=erased.documents,
                threads=erased.threads,
            )
        await self._documents.remove_files(keys)
        return erased


async def _erase(session: AsyncSession, family_id: int) -> tuple[Erased, list[str]]:
    child_ids = list(await session.scalars(select(Child.id).where(Child.family_id == family_id)))
    in_children = Child.id.in_(child_ids)
    await session.execute(
        update(Child)
        .where(in_children)
        .values(doctor=None, allergies=None, pai=False, diet=None, vaccinations_on=None)
    )
    await session.execute(delete(ChildConsent).where(ChildConsent.child_id.in_(child_ids)))
    await session.execute(delete(PickupPerson).where(PickupPerson.child_id.in_(child_ids)))
    await session.execute(
        update(Absence)
        .where(Absence.family_id == family_id)
        .values(reason_detail=None, certificate_id=None)
    )
    documents = list(
        await session.execute(
            select(Document.id, Document.storage_key).where(Document.family_id == family_id)
        )
    )
    document_ids = [row.id for row in documents]
    await session.execute(
        delete(MessageAttachment).where(MessageAttachment.document_id.in_(document_ids))
    )
    thread_ids = list(
        await session.scalars(select(Thread.id).where(Thread.family_id == family_id))
    )
    message_ids = select(Message.id).where(Message.thread_id.in_(thread_ids))
    await session.execute(
        delete(MessageAttachment).where(MessageAttachment.message_id.in_(message_ids))
    )
    await session.execute(delete(ChatCopy).where(ChatCopy.message_id.in_(message_ids)))
    await session.execute(delete(Message).where(Message.thread_id.in_(thread_ids)))
    await session.execute(delete(ReplyToken).where(ReplyToken.thread_id.in_(thread_ids)))
    await session.execute(delete(Thread).where(Thread.id.in_(thread_ids)))
    await session.execute(delete(Document).where(Document.id.in_(document_ids)))
    changes = await session.execute(delete(FileChange).where(FileChange.family_id == family_id))
    guardians = list(
        await session.execute(
            select(Guardian.telegram_user_id, Guardian.telegram_chat_id).where(
                Guardian.family_id == family_id
            )
        )
    )
    keys: set[str] = set()
    for user_id, chat_id in guardians:
        if user_id is not None:
            keys |= {str(user_id), json.dumps([user_id])}
        if chat_id is not None:
            keys |= {str(chat_id), json.dumps([chat_id])}
        if user_id is not None and chat_id is not None:
            keys |= {json.dumps([chat_id, user_id]), json.dumps([user_id, chat_id])}
    states = await session.execute(delete(ChatState).where(ChatState.key.in_(sorted(keys))))
    unlinked = await session.execute(
        update(Guardian)
        .where(
            Guardian.family_id == family_id,
            or_(Guardian.telegram_user_id.is_not(None), Guardian.phone.is_not(None)),
        )
        .values(telegram_user_id=None, telegram_chat_id=None, telegram_linked_at=None, phone=None)
    )
    erased = Erased(
        children=len(child_ids),
        documents=len(document_ids),
        threads=len(thread_ids),
        requests=_count(changes),
        guardians_unlinked=_count(unlinked),
        chat_states=_count(states),
    )
    return erased, [row.storage_key for row in documents]


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
