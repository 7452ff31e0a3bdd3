"""Notifications to the services: queued by email with the change that causes them, and the
facts their emails say.

Each service has one address, its `Service.email` from the import. A notification is queued in
the outbox (channel email) inside the transaction of the change, with a dedup key, so that it
is queued once and only if the change is committed:

- `parent_message`: a guardian wrote to a service (queued by `store.messaging`);
- `certificate_to_review`: a medical certificate was attached to an absence, for the family file
  service (`store.absences`);
- `document_to_review`: a family sent a document, for the family file service
  (`store.documents`); held back a moment, since a certificate attached to an absence or a file
  sent with a message moments later is announced by that notification instead;
- `documents_to_review`: the documents filed from one parent's email, in one notification for
  the family file service (`store.mail_documents`), held back as `document_to_review` is;
- `mail_disowned`: a parent said in the chat they did not send an email that carried documents
  in their name (`store.mail_documents`): a forged mail attempt, for the family file service;
- `booking_to_validate`: bookings wait for the validation of the activity's service
  (`store.bookings`, `store.capacity`).

When the store does not know a service's address yet, the recipient is a `service:<code>`
placeholder, resolved again when sending. The facts functions serve the system's own
notifications (the mail worker acts for no family): they never return a medical detail a parent
typed, nor a file's bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, literal, null, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.deadlines import format_moment
from store.family_file import FAMILY_FILE_SERVICE
from store.models import (
    Absence,
    Activity,
    Booking,
    Child,
    Document,
    Facility,
    Family,
    Guardian,
    InboundMail,
    Message,
    MessageAttachment,
    Service,
    StaffMember,
    Thread,
)
from store.models.enums import (
    AbsenceReason,
    BookingState,
    Channel,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    MessageDirection,
)
from store.outbox import enqueue

SERVICE_PLACEHOLDER = "service:"
# A document is announced this long after it arrived, once it is known whether it came with an
# absence or a message (whose own notification then carries it).
DOCUMENT_NOTICE_DELAY = timedelta(seconds=30)
# How many earlier messages of a thread a notification names (its References header).
THREAD_REFERENCES = 10
GUARDIAN_LABEL = "guardian:"


# Queuing -----------------------------------------------------------------------------------


async def service_recipient(
    session: AsyncSession, *, service_id: int | None = None, code: str | None = None
) -> str:
    """The address a service's notifications go to: its email, or a `service:<code>`
    placeholder (`service:` alone when the activity has no service) resolved when sending."""
    query = select(Service.code, Service.email)
    if service_id is not None:
        query = query.where(Service.id == service_id)
    elif code is not None:
        query = query.where(Service.code == code)
    else:
        return SERVICE_PLACEHOLDER
    row = (await session.execute(query)).first()
    if row is not None and row.email and row.email.strip():
        return row.email.strip()
    return SERVICE_PLACEHOLDER + (row.code if row is not None else code or "")


async def notify_service(
    session: AsyncSession,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    dedup_key: str,
    not_before: datetime | None = None,
) -> bool:
    """Queue one email to a service; True if queued (False: already queued once)."""
    return await enqueue(
        session,
        channel=Channel.EMAIL,
        recipient=recipient,
        kind=kind,
        payload=payload,
        dedup_key=dedup_key,
        not_before=not_before,
    )


async def notify_certificate_to_review(session: AsyncSession, absence: Absence) -> bool:
    """Queue 'a certificate to review' for the family file service."""
    return await notify_service(
        session,
        await service_recipient(session, code=FAMILY_FILE_SERVICE),
        "certificate_to_review",
        {"absence_id": absence.id, "reference": absence.reference},
        f"absence:{absence.id}:certificate:{absence.certificate_id}",
    )


async def notify_document_to_review(
    session: AsyncSession, document: Document, received_at: datetime
) -> bool:
    """Queue 'a document to review' for the family file service, a moment from now."""
    return await notify_service(
        session,
        await service_recipient(session, code=FAMILY_FILE_SERVICE),
        "document_to_review",
        {"document_id": document.id},
        f"document:{document.id}:staff",
        not_before=received_at + DOCUMENT_NOTICE_DELAY,
    )


async def notify_documents_to_review(
    session: AsyncSession, mail_id: int, document_ids: Sequence[int], received_at: datetime
) -> bool:
    """Queue one 'documents to review' email for the documents filed from one inbound mail
    (once per mail, whatever the attempts), a moment from now."""
    if not document_ids:
        return False
    return await notify_service(
        session,
        await service_recipient(session, code=FAMILY_FILE_SERVICE),
        "documents_to_review",
        {"mail_id": mail_id, "document_ids": sorted(document_ids)},
        f"inbound:{mail_id}:review",
        not_before=received_at + DOCUMENT_NOTICE_DELAY,
    )


async def notify_mail_disowned(session: AsyncSession, mail_id: int) -> bool:
    """Queue 'a parent did not send this mail' for the family file service (once per mail)."""
    return await notify_service(
        session,
        await service_recipient(session, code=FAMILY_FILE_SERVICE),
        "mail_disowned",
        {"mail_id": mail_id},
        f"inbound:{mail_id}:disowned",
    )


async def notify_bookings_to_validate(
    session: AsyncSession, activity_id: int, booking_ids: Sequence[int]
) -> bool:
    """Queue one 'bookings to validate' email for the activity's service, for these bookings
    (made together: one family, one activity)."""
    if not booking_ids:
        return False
    service_id = await session.scalar(
        select(Activity.service_id).where(Activity.id == activity_id)
    )
    ids = sorted(booking_ids)
    return await notify_service(
        session,
        await service_recipient(session, service_id=service_id),
        "booking_to_validate",
        {"booking_ids": ids},
        f"booking:{ids[0]}:to_validate",
    )


async def resolve_recipient(
    sessions: async_sessionmaker[AsyncSession], recipient: str
) -> str | None:
    """The address to send to: `recipient`, or the email a `service:<code>` placeholder's
    service has now (None when it still has none)."""
    if not recipient.startswith(SERVICE_PLACEHOLDER):
        return recipient
    code = recipient.removeprefix(SERVICE_PLACEHOLDER)
    if not code:
        return None
    async with sessions() as session:
        email = await session.scalar(select(Service.email).where(Service.code == code))
    return email.strip() if email and email.strip() else None


async def reply_senders(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Per service address (lower-cased), who answers its emails: its first staff member, or
    the service's address itself when it has no staff member."""
    async with sessions() as session:
        rows = await session.execute(
            select(Service.email, StaffMember.email)
            .outerjoin(StaffMember, StaffMember.service_id == Service.id)
            .order_by(Service.id, StaffMember.id)
        )
        senders: dict[str, str] = {}
        for service_email, staff_email in rows:
            senders.setdefault(service_email.strip().lower(), staff_email or service_email)
        return senders


# Facts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyFacts:
    """Who a notification is about: the family, its guardians and children."""

    id: int
    code: str
    name: str
    guardians: tuple[str, ...]
    children: tuple[str, ...]


@dataclass(frozen=True)
class AttachedFile:
    """A document that goes with a notification (its bytes are read from the documents
    service)."""

    document_id: int
    name: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class ParentMessageFacts:
    """A guardian's message to a service, with its place in the thread."""

    thread_id: int
    thread_subject: str
    service_name: str
    family: FamilyFacts
    message_id: int
    author: str | None
    body: str
    channel: Channel
    created_at: datetime
    attachments: tuple[AttachedFile, ...]
    # The guardian's earlier messages of the thread, oldest first (the first one opened it).
    earlier_message_ids: tuple[int, ...]
    first_message_id: int


@dataclass(frozen=True)
class CertificateFacts:
    """An absence whose medical certificate waits for the family file service."""

    absence_id: int
    reference: str
    family: FamilyFacts
    child_name: str
    start: date
    end: date
    reason: AbsenceReason
    days_marked: int
    certificate: AttachedFile | None


@dataclass(frozen=True)
class DocumentReviewFacts:
    """A document a family sent, and whether another notification already carries it."""

    family: FamilyFacts
    child_name: str | None
    doc_type: DocumentType
    status: DocumentStatus
    source: DocumentSource
    created_at: datetime
    file: AttachedFile
    # "absence" (a certificate of an absence), "message" (sent with a message) or None.
    carried_by: str | None


@dataclass(frozen=True)
class MailDocumentsFacts:
    """The documents filed from one parent's email, still to announce (those an absence
    carries are announced with it)."""

    family: FamilyFacts
    created_at: datetime
    # (file, type) of each document, in the mail's order.
    files: tuple[tuple[AttachedFile, DocumentType], ...]


@dataclass(frozen=True)
class DisownedMailFacts:
    """An email in a family's name that its guardian said they did not send."""

    mail_id: int
    family: FamilyFacts
    header_from: str | None
    envelope_from: str
    subject: str | None
    received_at: datetime
    files: int
    answered_by: str | None


@dataclass(frozen=True)
class DayToValidate:
    """One booking waiting for validation."""

    booking_id: int
    child_name: str
    day: date
    state: BookingState
    price_cents: int
    surcharge_cents: int


@dataclass(frozen=True)
class BookingsToValidateFacts:
    """Bookings of one family and activity waiting for the service's validation."""

    family: FamilyFacts
    activity_name: str
    facility_name: str
    days: tuple[DayToValidate, ...]

    @property
    def still_pending(self) -> tuple[DayToValidate, ...]:
        return tuple(day for day in self.days if day.state is BookingState.PENDING)


def _full_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()


async def family_facts(session: AsyncSession, family_id: int) -> FamilyFacts | None:
    """Who the family is, for a notification to a service (no child detail)."""
    family = await session.get(Family, family_id)
    if family is None:
        return None
    guardians = await session.execute(
        select(Guardian.first_name, Guardian.last_name, Guardian.email)
        .where(Guardian.family_id == family_id)
        .order_by(Guardian.id)
    )
    children = await session.execute(
        select(Child.first_name, Child.last_name, Child.school_level)
        .where(Child.family_id == family_id)
        .order_by(Child.birth_date, Child.id)
    )
    return FamilyFacts(
        id=family.id,
        code=family.code,
        name=family.name,
        guardians=tuple(f"{_full_name(f, la)} <{email}>" for f, la, email in guardians),
        children=tuple(f"{_full_name(f, la)} ({level})" for f, la, level in children),
    )


async def _file(session: AsyncSession, document_id: int | None) -> AttachedFile | None:
    if document_id is None:
        return None
    row = (
        await session.execute(
            select(Document.original_name, Document.content_type, Document.size).where(
                Document.id == document_id
            )
        )
    ).first()
    return AttachedFile(document_id, *row) if row else None


def _guardian_id(label: str) -> int | None:
    """The guardian's id in an actor label such as `guardian:12` (None for another actor)."""
    if not label.startswith(GUARDIAN_LABEL):
        return None
    try:
        return int(label.removeprefix(GUARDIAN_LABEL))
    except ValueError:
        return None


async def _author(session: AsyncSession, label: str) -> str | None:
    """The guardian's name behind an actor label such as `guardian:12`."""
    guardian_id = _guardian_id(label)
    if guardian_id is None:
        return None
    row = (
        await session.execute(
            select(Guardian.first_name, Guardian.last_name).where(Guardian.id == guardian_id)
        )
    ).first()
    return _full_name(*row) if row else None


async def parent_message_facts(
    sessions: async_sessionmaker[AsyncSession], message_id: int
) -> ParentMessageFacts | None:
    """A guardian's message, its thread, family and attachments (None if unknown)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Message, Thread, Service.name)
                .join(Thread, Thread.id == Message.thread_id)
                .join(Service, Service.id == Thread.service_id)
                .where(Message.id == message_id)
            )
        ).first()
        if row is None:
            return None
        message, thread, service_name = row
        family = await family_facts(session, thread.family_id)
        assert family is not None
        earlier = list(
            await session.scalars(
                select(Message.id)
                .where(
                    Message.thread_id == thread.id,
                    Message.direction == MessageDirection.FROM_PARENT,
                    Message.id < message.id,
                )
                .order_by(Message.id)
            )
        )
        files = await session.execute(
            select(Document.id, Document.original_name, Document.content_type, Document.size)
            .join(MessageAttachment, MessageAttachment.document_id == Document.id)
            .where(MessageAttachment.message_id == message.id)
            .order_by(Document.id)
        )
        return ParentMessageFacts(
            thread_id=thread.id,
            thread_subject=thread.subject,
            service_name=service_name,
            family=family,
            message_id=message.id,
            author=await _author(session, message.author),
            body=message.body,
            channel=message.channel,
            created_at=message.created_at,
            attachments=tuple(AttachedFile(*file) for file in files),
            earlier_message_ids=tuple(earlier[-THREAD_REFERENCES:]),
            first_message_id=earlier[0] if earlier else message.id,
        )


@dataclass(frozen=True)
class NotifiedTexts:
    """What the notifications of a thread showed the service: what the guardians wrote, and
    the names, subject and dates around it."""

    written: tuple[str, ...]
    names: tuple[str, ...]


async def notified_texts(
    sessions: async_sessionmaker[AsyncSession], thread_id: int, limit: int = THREAD_REFERENCES
) -> NotifiedTexts:
    """What the service's notifications of a thread said, that a reply may quote back: the
    guardians' last `limit` messages, who wrote them and when, the thread's subject, the
    service and the family (as its lines show it). The inbound mail reducer cuts a staff
    member's reply where it repeats these."""
    async with sessions() as session:
        return await notified_texts_in(session, thread_id, limit)


async def notified_texts_in(
    session: AsyncSession, thread_id: int, limit: int = THREAD_REFERENCES
) -> NotifiedTexts:
    """`notified_texts` on a session of the caller's: two plain reads (the thread with its
    service, family and the guardians' last messages; the family's guardians — the authors
    among them — and children), and one more only for an author from another family."""
    last = (
        select(Message.id, Message.body, Message.author, Message.created_at)
        .where(
            Message.thread_id == thread_id,
            Message.direction == MessageDirection.FROM_PARENT,
        )
        .order_by(Message.id.desc())
        .limit(limit)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                Thread.subject,
                Thread.family_id,
                Service.name,
                Family.code,
                Family.name,
                last.c.id,
                last.c.body,
                last.c.author,
                last.c.created_at,
            )
            .join(Service, Service.id == Thread.service_id)
            .join(Family, Family.id == Thread.family_id)
            .outerjoin(last, true())
            .where(Thread.id == thread_id)
            .order_by(last.c.id.desc())
        )
    ).all()
    if not rows:
        return NotifiedTexts((), ())
    subject, family_id, service_name, family_code, family_name = rows[0][:5]
    # (body, author, created_at) of each message, the last first; none: one row of NULLs.
    messages = [row[6:] for row in rows if row[5] is not None]
    # The family's guardians (by id) then its children (by birth date), in one read.
    people = union_all(
        select(
            literal(0).label("kind"),
            Guardian.id,
            Guardian.first_name,
            Guardian.last_name,
            Guardian.email.label("detail"),
            cast(null(), Date).label("born"),
        ).where(Guardian.family_id == family_id),
        select(
            literal(1),
            Child.id,
            Child.first_name,
            Child.last_name,
            Child.school_level,
            Child.birth_date,
        ).where(Child.family_id == family_id),
    ).subquery()
    rows = (
        await session.execute(
            select(
                people.c.kind,
                people.c.id,
                people.c.first_name,
                people.c.last_name,
                people.c.detail,
            ).order_by(people.c.kind, people.c.born, people.c.id)
        )
    ).all()
    guardians = [(i, f, la, email) for kind, i, f, la, email in rows if kind == 0]
    children = [(f, la, level) for kind, _, f, la, level in rows if kind == 1]
    family = FamilyFacts(
        id=family_id,
        code=family_code,
        name=family_name,
        guardians=tuple(f"{_full_name(f, la)} <{email}>" for _, f, la, email in guardians),
        children=tuple(f"{_full_name(f, la)} ({level})" for f, la, level in children),
    )
    names = {guardian_id: _full_name(f, la) for guardian_id, f, la, _ in guardians}
    authors = {author: _guardian_id(author) for _, author, _ in messages}
    elsewhere = {g for g in authors.values() if g is not None and g not in names}
    if elsewhere:  # a guardian since moved to another family: one read for them all
        moved = await session.execute(
            select(Guardian.id, Guardian.first_name, Guardian.last_name).where(
                Guardian.id.in_(sorted(elsewhere))
            )
        )
        names.update((guardian_id, _full_name(f, la)) for guardian_id, f, la in moved)
    written = [
        (body, None if (guardian := authors[author]) is None else names.get(guardian), at)
        for body, author, at in messages
    ]
    return notice_texts(subject, service_name, written, family)


def notice_texts(
    subject: str,
    service_name: str,
    messages: Sequence[tuple[str, str | None, datetime]],
    family: FamilyFacts | None,
) -> NotifiedTexts:
    """The texts a thread's notifications showed (see `notified_texts`), from its facts:
    `messages` are the guardians' (body, author's name, when written)."""
    names = [subject, service_name]
    for _, author, created_at in messages:
        names += [author or "", format_moment(created_at, "fr")]
    if family is not None:
        names += [f"{family.name} ({family.code})", *family.guardians, *family.children]
    return NotifiedTexts(
        tuple(dict.fromkeys(body for body, _, _ in messages if body)),
        tuple(dict.fromkeys(name for name in names if name)),
    )


async def certificate_facts(
    sessions: async_sessionmaker[AsyncSession], absence_id: int
) -> CertificateFacts | None:
    """An absence, its child, days and certificate (never the reason's free text)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Absence, Child.first_name, Child.last_name)
                .join(Child, Child.id == Absence.child_id)
                .where(Absence.id == absence_id)
            )
        ).first()
        if row is None:
            return None
        absence, first_name, last_name = row
        family = await family_facts(session, absence.family_id)
        assert family is not None
        marked = await session.scalar(
            select(func.count(Booking.id)).where(Booking.absence_id == absence.id)
        )
        return CertificateFacts(
            absence_id=absence.id,
            reference=absence.reference,
            family=family,
            child_name=_full_name(first_name, last_name),
            start=absence.start,
            end=absence.end,
            reason=absence.reason,
            days_marked=marked or 0,
            certificate=await _file(session, absence.certificate_id),
        )


async def document_review_facts(
    sessions: async_sessionmaker[AsyncSession], document_id: int
) -> DocumentReviewFacts | None:
    """A document, its family and child, and whether an absence or a message carries it."""
    async with sessions() as session:
        document = await session.get(Document, document_id)
        if document is None:
            return None
        family = await family_facts(session, document.family_id)
        assert family is not None
        child_name = None
        if document.child_id is not None:
            child = await session.get(Child, document.child_id)
            child_name = _full_name(child.first_name, child.last_name) if child else None
        carried_by = None
        if await session.scalar(
            select(Absence.id).where(Absence.certificate_id == document.id).limit(1)
        ):
            carried_by = "absence"
        elif await session.scalar(
            select(MessageAttachment.message_id)
            .where(MessageAttachment.document_id == document.id)
            .limit(1)
        ):
            carried_by = "message"
        return DocumentReviewFacts(
            family=family,
            child_name=child_name,
            doc_type=document.doc_type,
            status=document.status,
            source=document.source,
            created_at=document.created_at,
            file=AttachedFile(
                document.id, document.original_name, document.content_type, document.size
            ),
            carried_by=carried_by,
        )


async def bookings_to_validate_facts(
    sessions: async_sessionmaker[AsyncSession], booking_ids: Sequence[int]
) -> BookingsToValidateFacts | None:
    """Bookings queued together for validation, with where each stands now."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Booking, Child.first_name, Child.last_name, Activity.name, Facility.name)
                .join(Child, Child.id == Booking.child_id)
                .join(Activity, Activity.id == Booking.activity_id)
                .join(Facility, Facility.id == Activity.facility_id)
                .where(Booking.id.in_(list(booking_ids)))
                .order_by(Booking.day, Child.first_name, Booking.id)
            )
        ).all()
        if not rows:
            return None
        family = await family_facts(session, rows[0][0].family_id)
        assert family is not None
        return BookingsToValidateFacts(
            family=family,
            activity_name=rows[0][3],
            facility_name=rows[0][4],
            days=tuple(
                DayToValidate(
                    booking.id,
                    _full_name(first_name, last_name),
                    booking.day,
                    booking.state,
                    booking.price_cents,
                    booking.surcharge_cents,
                )
                for booking, first_name, last_name, _, _ in rows
            ),
        )


async def mail_documents_facts(
    sessions: async_sessionmaker[AsyncSession], document_ids: Sequence[int]
) -> MailDocumentsFacts | None:
    """The documents of one mail, less those an absence carries; None when none is left."""
    async with sessions() as session:
        documents = list(
            await session.scalars(
                select(Document).where(Document.id.in_(list(document_ids))).order_by(Document.id)
            )
        )
        carried = set(
            await session.scalars(
                select(Absence.certificate_id).where(
                    Absence.certificate_id.in_([d.id for d in documents])
                )
            )
        )
        kept = [d for d in documents if d.id not in carried]
        if not kept:
            return None
        family = await family_facts(session, kept[0].family_id)
        assert family is not None
        return MailDocumentsFacts(
            family=family,
            created_at=kept[0].created_at,
            files=tuple(
                (AttachedFile(d.id, d.original_name, d.content_type, d.size), d.doc_type)
                for d in kept
            ),
        )


async def disowned_mail_facts(
    sessions: async_sessionmaker[AsyncSession], mail_id: int
) -> DisownedMailFacts | None:
    """A mail a guardian disowned: who it claimed to be from, when, how many files (never
    its text nor its files)."""
    async with sessions() as session:
        mail = await session.get(InboundMail, mail_id)
        if mail is None or mail.family_id is None:
            return None
        family = await family_facts(session, mail.family_id)
        assert family is not None
        outcome = mail.outcome or {}
        return DisownedMailFacts(
            mail_id=mail.id,
            family=family,
            header_from=mail.header_from,
            envelope_from=mail.mail_from,
            subject=mail.subject,
            received_at=mail.received_at,
            files=len(outcome.get("held") or []),
            answered_by=await _author(session, str(outcome.get("answered_by") or "")),
        )
