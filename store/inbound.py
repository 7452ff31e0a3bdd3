"""Inbound email: kept before it is acknowledged, then filed, relayed, or kept aside for staff.

`accept_raw` commits the raw message before the SMTP server answers 250: a crash after 250
loses nothing, and `pending()` lists what is still to process at the next start. `process`
then decides, once per mail (a Message-ID seen before is not stored again). Several workers
may share the store: each claims a mail with a lease (`lease_owner`, `lease_until`) before
acting on it, and every effect is keyed on the mail (the relayed message's external id, the
outbox's dedup keys, a document already filed from the same bytes), so a mail taken over from
a worker that died half-way is still acted upon once:

- automatic mail (auto-replies, bounces, delivery and read reports) is *ignored*: recorded,
  never relayed, never answered;
- mail to the documents address from a guardian's known address (case-insensitive) is *filed*:
  each attachment becomes a document of that family (if it really is a PDF, JPEG or PNG that
  runs nothing: the documents service's checks, as for a file sent on Telegram, and its name a
  cleaned label only), an absence reference in the subject attaches the certificate to that
  absence, and the parent is told on Telegram what was received and what was refused. From
  anyone else it is *quarantined*: nothing is filed and no reply is sent (a reply would go to
  whoever the sender pretends to be);
- mail to `reply+<token>@<domain>` from an allowed staff address or domain, with a token that
  still names a thread, is *relayed*: the staff member's new text goes to the family through
  the messaging service. Anything else is *quarantined*;
- a message that cannot be read safely is *malformed*: kept raw, acted upon by no one.

Reading the mail (MIME, HTML, reply reduction) is the mail layer's job: the service is given a
`reader` function and works on what it returns. Nothing here logs a document's bytes or a
message's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.absences import AbsenceService, InvalidAbsence
from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.database import insert_for
from store.documents import DocumentRejected, DocumentService, DocumentView
from store.models import Document, Guardian, InboundMail, StaffMember
from store.models.base import utcnow
from store.models.enums import DocumentSource, DocumentType
from store.models.inbound import InboundStatus
from store.outbox import notify_family
from store.safe_files import display_label
from store.staff_notices import notified_texts

logger = logging.getLogger(__name__)

REPLY_PREFIX = "reply+"
TOKEN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_TOKEN_CHARS = 128
# A body image (shown by the HTML through `cid:`) this large is a pasted photo, worth filing;
# smaller ones are signature logos and icons.
INLINE_DOCUMENT_MIN_BYTES = 20_000
# After this many failed attempts a mail is set aside as malformed instead of retried forever.
MAX_ATTEMPTS = 5
REASON_MAX_CHARS = 500
# How long a worker holds a mail it claimed; past this, its mail is taken over (it died).
LEASE = timedelta(minutes=5)
# A mail larger than this is not left bound to SQLite's cached INSERT statement (see
# `accept_raw`).
KEEP_BOUND_BYTES = 1024 * 1024


class MailFile(Protocol):
    """An attachment as the reader gives it."""

    @property
    def filename(self) -> str | None: ...
    @property
    def content(self) -> bytes: ...
    @property
    def inline(self) -> bool: ...
    @property
    def guessed_type(self) -> DocumentType: ...
    @property
    def size(self) -> int: ...


class ReadMail(Protocol):
    """What the service needs to know of a mail."""

    @property
    def from_address(self) -> str | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def reply_text(self) -> str: ...
    def reply_knowing(
        self, written: Sequence[str], names: Sequence[str], addresses: Sequence[str]
    ) -> str: ...
    @property
    def attachments(self) -> Sequence[MailFile]: ...
    @property
    def automatic(self) -> str | None: ...
    @property
    def absence_reference(self) -> str | None: ...


# Reads raw bytes (and the envelope sender); raises when the mail cannot be read safely.
Reader = Callable[[bytes, str], ReadMail]


class Route(StrEnum):
    """What an address of ours is for."""

    DOCUMENTS = "documents"
    STAFF_REPLY = "staff_reply"
    POSTMASTER = "postmaster"


@dataclass(frozen=True)
class InboundConfig:
    """The addresses the server answers for, and who may answer parents by email."""

    mail_domain: str
    documents_address: str
    staff_allowed_domains: tuple[str, ...] = ()
    inline_document_min_bytes: int = INLINE_DOCUMENT_MIN_BYTES
    max_attempts: int = MAX_ATTEMPTS
    lease: timedelta = LEASE

    @classmethod
    def from_settings(cls, settings: Any) -> InboundConfig:
        """Read the settings (with defaults for those not yet declared)."""
        domain = str(settings.mail_domain).lower()
        documents = settings.documents_email
        allowed = settings.staff_allowed_domains
        if isinstance(allowed, str):
            allowed = allowed.split(",")
        return cls(
            mail_domain=domain,
            documents_address=documents.strip().lower(),
            staff_allowed_domains=tuple(d.strip().lower() for d in allowed if d.strip()),
        )


def relay_key(mail_id: int) -> str:
    """The external id of the message a staff reply by mail becomes (one per mail)."""
    return f"inbound-mail:{mail_id}"


def worker_name() -> str:
    """An id for one mail worker: its host, process, and a random part (several per process)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def address_parts(address: str) -> tuple[str, str]:
    """(local part, lower-cased domain) of an address; ('', '') when it is not one."""
    _, parsed = parseaddr(address)
    local, at, domain = parsed.strip().rpartition("@")
    if not at or not local or not domain:
        return "", ""
    return local, domain.lower()


def reply_token(address: str, domain: str) -> str | None:
    """The token of a `reply+<token>@<domain>` address, or None."""
    local, address_domain = address_parts(address)
    if address_domain != domain.lower() or not local.lower().startswith(REPLY_PREFIX):
        return None
    token = local[len(REPLY_PREFIX) :]
    if not 16 <= len(token) <= MAX_TOKEN_CHARS or not set(token) <= TOKEN_CHARACTERS:
        return None
    return token


def route_of(address: str, config: InboundConfig) -> Route | None:
    """What mail to this address is for, or None when it is not one of ours."""
    local, domain = address_parts(address)
    if not local:
        return None
    if f"{local.lower()}@{domain}" == config.documents_address:
        return Route.DOCUMENTS
    if domain != config.mail_domain:
        return None
    if local.lower() in ("postmaster", "abuse"):
        return Route.POSTMASTER
    if reply_token(address, config.mail_domain) is not None:
        return Route.STAFF_REPLY
    return None


@dataclass(frozen=True)
class Accepted:
    """A mail committed to the store; `duplicate` when its Message-ID was already there."""

    mail_id: int
    duplicate: bool


@dataclass(frozen=True)
class InboundView:
    """An inbound mail as staff see it (never its bytes)."""

    id: int
    message_id: str
    mail_from: str
    rcpt_to: list[str]
    header_from: str | None
    subject: str | None
    received_at: datetime
    size: int
    status: InboundStatus
    reason: str | None
    family_id: int | None
    outcome: dict[str, Any] | None


class StaffReplies(Protocol):
    """The part of the messaging service staff replies go through."""

    async def thread_for_reply_token(self, token: str) -> Any: ...
    async def staff_reply(
        self,
        actor: Actor,
        thread_id: int,
        body: str,
        attachments: Sequence[int] = (),
        *,
        external_id: str | None = None,
    ) -> Any: ...


@dataclass
class _Decision:
    status: InboundStatus
    reason: str
    family_id: int | None = None
    outcome: dict[str, Any] | None = None
    notice: dict[str, Any] | None = None


class InboundMailService:
    """Keep inbound mail, then file, relay or set it aside."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: InboundConfig,
        reader: Reader,
        documents: DocumentService,
        absences: AbsenceService,
        messaging: StaffReplies | None = None,
        reply_max_chars: int = 4000,
    ):
        self._sessions = sessions
        self.config = config
        self._read = reader
        self._documents = documents
        self._absences = absences
        self._messaging = messaging
        self._reply_max_chars = reply_max_chars
        self.worker_id = worker_name()

    # Accepting ----------------------------------------------------------------------------

    async def accept_raw(
        self, mail_from: str, rcpt_tos: Sequence[str], raw: bytes, message_id: str | None
    ) -> Accepted:
        """Commit a mail as received (before the SMTP server says 250); once per Message-ID."""
        key = (message_id or "").strip()[:255] or "sha256:" + hashlib.sha256(raw).hexdigest()
        # One short transaction and, unless the mail is known, one statement: the SMTP client
        # waits for it, and on SQLite the mail worker waits behind it.
        values = {
            "message_id": key,
            "mail_from": (mail_from or "")[:254],
            "rcpt_to": [r[:254] for r in rcpt_tos],
            "size": len(raw),
            "raw": raw,
            "status": InboundStatus.RECEIVED,
            "received_at": utcnow(),
        }
        async with self._sessions.begin() as session:
            # Core statements on the session's connection: no ORM object, no flush.
            connection = await session.connection()
            dialect = connection.dialect.name
            mail_id = await connection.scalar(_insert_mail(dialect, values))
            if mail_id is not None and dialect != "postgresql" and len(raw) > KEEP_BOUND_BYTES:
                # Python's sqlite3 keeps a statement's parameters (its own copy of the bytes)
                # until that statement runs again: run it again, a no-op (same Message-ID)
                # without the bytes, so that a large mail is not held twice until the next.
                await connection.execute(_insert_mail(dialect, {**values, "raw": b""}))
            if mail_id is not None:
                return Accepted(mail_id, duplicate=False)
            # Known already (PostgreSQL: maybe committed a moment ago on another connection).
            known = await connection.scalar(
                select(InboundMail.id).where(InboundMail.message_id == key)
            )
        if known is None:
            raise StoreError("inbound mail neither inserted nor found")
        return Accepted(known, duplicate=True)

    async def pending(self) -> list[int]:
        """Mails accepted but not yet processed (after a crash, or a failed attempt)."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(InboundMail.id)
                .where(InboundMail.status == InboundStatus.RECEIVED)
                .order_by(InboundMail.id)
            )
            return list(rows)

    # Processing ---------------------------------------------------------------------------

    async def process(self, mail_id: int, raw: bytes | None = None) -> InboundView:
        """Decide what a received mail is and act on it, once; returns where it stands.

        The mail is claimed with a lease first: a mail another worker holds is left to it (its
        view is returned, still `received`), one whose lease expired is taken over. Every
        effect is keyed on the mail, so a mail taken over after its worker died between doing
        an effect and recording the mail done is acted upon once all the same.

        `raw`: the mail's bytes when the caller still holds them (the mail server, right
        after accepting it), so that they are not read again from the store."""
        claimed = await self._claim(mail_id, load_raw=raw is None)
        if claimed is None:  # done already, or another worker holds it
            return await self.view(Actor.system(), mail_id)
        mail_from, rcpts, received_at, attempts, stored = claimed
        if raw is None:
            raw = stored
        del stored
        try:
            if attempts >= self.config.max_attempts:
                decision = _Decision(InboundStatus.MALFORMED, "processing failed repeatedly")
                return await self._finish(mail_id, decision, None)
            try:
                # In a worker thread: reading a large mail takes a while (0.3 s for 25 MB),
                # and the loop goes on serving SMTP clients (and the bot) meanwhile.
                mail_read = await asyncio.to_thread(self._read, raw, mail_from)
            except Exception as error:
                reason = str(error) or type(error).__name__
                decision = _Decision(InboundStatus.MALFORMED, reason)
                return await self._finish(mail_id, decision, None)
            del raw  # what is left of the mail is what was read from it
            decision = await self._decide(mail_id, mail_read, rcpts, received_at)
            return await self._finish(mail_id, decision, mail_read)
        except BaseException:
            # This attempt failed: the mail is free at once for the next sweep (a worker that
            # dies instead leaves its lease to expire).
            with contextlib.suppress(Exception):
                await self._release(mail_id)
            raise

    async def _claim(
        self, mail_id: int, *, load_raw: bool
    ) -> tuple[str, list[str], datetime, int, bytes | None] | None:
        """Lease a received mail to this worker: (envelope sender, recipients, received at,
        attempts before this one, raw bytes if asked), or None when it is not free.

        PostgreSQL: the row is locked with `FOR UPDATE SKIP LOCKED` (a mail being claimed by
        another worker is skipped, not waited for); SQLite ignores it, its writes being
        serialised. On both, the UPDATE repeats the conditions: it changes the row only if it
        is still received and not leased, and is the claim."""
        now = utcnow()
        free = (
            InboundMail.id == mail_id,
            InboundMail.status == InboundStatus.RECEIVED,
            or_(InboundMail.lease_until.is_(None), InboundMail.lease_until <= now),
        )
        columns = [
            InboundMail.mail_from,
            InboundMail.rcpt_to,
            InboundMail.received_at,
            InboundMail.attempts,
        ]
        if load_raw:
            columns.append(InboundMail.raw)
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    select(*columns).where(*free).with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return None
            claimed = await session.execute(
                update(InboundMail)
                .where(*free)
                .values(
                    lease_owner=self.worker_id,
                    lease_until=now + self.config.lease,
                    attempts=InboundMail.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return None
        raw = row[4] if load_raw else None
        return row[0], list(row[1]), row[2], row[3], raw

    async def _release(self, mail_id: int) -> None:
        """Give back this worker's lease on a mail (its attempt failed)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboundMail)
                .where(InboundMail.id == mail_id, InboundMail.lease_owner == self.worker_id)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _decide(
        self, mail_id: int, mail: ReadMail, rcpts: Sequence[str], received_at: datetime
    ) -> _Decision:
        routes = {route_of(address, self.config) for address in rcpts}
        if mail.automatic:
            return _Decision(InboundStatus.IGNORED, f"automatic: {mail.automatic}")
        if Route.DOCUMENTS in routes:
            return await self._file_documents(mail, received_at)
        if Route.STAFF_REPLY in routes:
            tokens = [reply_token(a, self.config.mail_domain) for a in rcpts]
            token = next(t for t in tokens if t)
            return await self._relay_staff_reply(mail_id, mail, token, received_at)
        if Route.POSTMASTER in routes:
            return _Decision(InboundStatus.QUARANTINED, "mail to postmaster")
        return _Decision(InboundStatus.QUARANTINED, "no recipient of ours")

    async def _file_documents(self, mail: ReadMail, received_at: datetime) -> _Decision:
        async with self._sessions() as session:
            guardian = await session.scalar(
                select(Guardian).where(func.lower(Guardian.email) == mail.from_address)
            )
        if guardian is None:
            return _Decision(InboundStatus.QUARANTINED, "documents from an unknown sender")
        family_id = guardian.family_id
        actor = Actor.guardian(guardian.id, family_id)
        absence = None
        if mail.absence_reference:
            try:
                absence = await self._absences.find_by_reference(actor, mail.absence_reference)
            except AccessDenied:
                absence = None  # another family's reference: said unknown, never revealed
        received: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        skipped = 0
        certificate: DocumentView | None = None
        for attachment in mail.attachments:
            if attachment.inline and attachment.size < self.config.inline_document_min_bytes:
                skipped += 1
                continue
            doc_type = attachment.guessed_type
            if absence is not None and doc_type in (
                DocumentType.TO_CLASSIFY,
                DocumentType.MEDICAL_CERTIFICATE,
            ):
                doc_type = DocumentType.MEDICAL_CERTIFICATE
            name = display_label(attachment.filename)  # shown to the parent, never a file name
            try:
                # Too large is known from the size alone (the reader may not have decoded it).
                self._documents.check_size(attachment.size)
                view = await self._already_filed(family_id, attachment.content, received_at)
                if view is None:
                    view = await self._documents.add(
                        actor,
                        family_id,
                        doc_type,
                        attachment.content,
                        original_name=name,
                        source=DocumentSource.EMAIL,
                    )
            except DocumentRejected as error:
                refused.append(
                    {
                        "name": name,
                        "reason": error.reason.value,
                        "size": attachment.size,
                        "limit": error.limit_bytes,
                    }
                )
                continue
            received.append(
                {"name": name, "type": view.doc_type.value, "size": view.size, "id": view.id}
            )
            if certificate is None and view.doc_type is DocumentType.MEDICAL_CERTIFICATE:
                certificate = view
        attached_to = None
        if absence is not None and certificate is not None:
            try:
                await self._absences.attach_certificate(actor, absence.id, certificate.id)
                attached_to = absence.reference
            except (InvalidAbsence, AccessDenied, NotFound) as error:
                logger.warning("certificate not attached to absence %s: %s", absence.id, error)
        notice = {
            "subject": mail.subject[:120],
            "received": [{k: v for k, v in r.items() if k != "id"} for r in received],
            "refused": refused,
            "certificate_for": attached_to,
            "unknown_reference": mail.absence_reference if absence is None else None,
        }
        reason = f"{len(received)} filed, {len(refused)} refused"
        if not received and not refused:
            reason = "no attachment"
        outcome = {
            "documents": [r["id"] for r in received],
            "refused": refused,
            "skipped_body_images": skipped,
            "absence": attached_to,
        }
        return _Decision(InboundStatus.FILED, reason, family_id, outcome, notice)

    async def _already_filed(
        self, family_id: int, content: bytes, since: datetime
    ) -> DocumentView | None:
        """The document a previous, interrupted run made from these bytes, if any."""
        digest = hashlib.sha256(content).hexdigest()
        async with self._sessions() as session:
            document_id = await session.scalar(
                select(Document.id).where(
                    Document.family_id == family_id,
                    Document.sha256 == digest,
                    Document.source == DocumentSource.EMAIL,
                    Document.created_at >= since,
                )
            )
        if document_id is None:
            return None
        view, _ = await self._documents.read(Actor.system(), document_id)
        return view

    async def _file_staff_attachments(
        self, mail: ReadMail, family_id: int, received_at: datetime
    ) -> tuple[list[int], int]:
        """File the staff's attachments for the family (not signature images); ids and refused.

        An attachment an interrupted attempt already filed is not filed again."""
        forwarded: list[int] = []
        refused = 0
        for attachment in mail.attachments:
            if attachment.inline and attachment.size < self.config.inline_document_min_bytes:
                continue
            try:
                self._documents.check_size(attachment.size)
                view = await self._already_filed(family_id, attachment.content, received_at)
                if view is not None:
                    forwarded.append(view.id)
                    continue
                view = await self._documents.add(
                    Actor.system(),
                    family_id,
                    DocumentType.OTHER,
                    attachment.content,
                    original_name=display_label(attachment.filename),
                    source=DocumentSource.EMAIL,
                )
            except DocumentRejected:
                refused += 1
                continue
            forwarded.append(view.id)
        return forwarded, refused

    async def _relay_staff_reply(
        self, mail_id: int, mail: ReadMail, token: str, received_at: datetime
    ) -> _Decision:
        if self._messaging is None:
            return _Decision(InboundStatus.QUARANTINED, "staff replies not wired yet")
        sender = mail.from_address or ""
        async with self._sessions() as session:
            staff_id = await session.scalar(
                select(StaffMember.id).where(func.lower(StaffMember.email) == sender)
            )
        _, domain = address_parts(sender)
        if staff_id is None and domain not in self.config.staff_allowed_domains:
            return _Decision(InboundStatus.QUARANTINED, "sender not allowed for staff replies")
        thread = await self._messaging.thread_for_reply_token(token)
        if thread is None:
            return _Decision(InboundStatus.QUARANTINED, "unknown or expired reply token")
        # Cut where the reply repeats what our notification said, or shows our address.
        sent = await notified_texts(self._sessions, thread.id)
        address = f"{REPLY_PREFIX}{token}@{self.config.mail_domain}"
        body = mail.reply_knowing(sent.written, sent.names, [address]).strip()
        if not body:
            return _Decision(InboundStatus.QUARANTINED, "empty reply", thread.family_id)
        if len(body) > self._reply_max_chars:
            body = body[: self._reply_max_chars - 1].rstrip() + "…"
        actor = Actor.staff(staff_id) if staff_id is not None else Actor.system()
        forwarded, refused = await self._file_staff_attachments(
            mail, thread.family_id, received_at
        )
        try:
            # Keyed on the mail: relayed once, however many workers or attempts get this far.
            message = await self._messaging.staff_reply(
                actor, thread.id, body, forwarded, external_id=relay_key(mail_id)
            )
        except StoreError as error:
            return _Decision(InboundStatus.QUARANTINED, f"not relayed: {error}", thread.family_id)
        outcome = {
            "thread_id": thread.id,
            "message_id": getattr(message, "id", None),
            "attachments_forwarded": len(forwarded),
            "attachments_not_forwarded": refused,
        }
        return _Decision(InboundStatus.RELAYED, "relayed to the family", thread.family_id, outcome)

    async def _finish(
        self, mail_id: int, decision: _Decision, mail: ReadMail | None
    ) -> InboundView:
        """Record the decision, and queue the parent's notice in the same transaction."""
        async with self._sessions.begin() as session:
            row = await session.get(InboundMail, mail_id, with_for_update=True)
            assert row is not None
            if row.status is not InboundStatus.RECEIVED:
                return _view(row)  # taken over after our lease expired, and done meanwhile
            row.status = decision.status
            row.lease_owner = None
            row.lease_until = None
            row.reason = decision.reason[:REASON_MAX_CHARS]
            row.family_id = decision.family_id
            row.outcome = decision.outcome
            row.processed_at = utcnow()
            if mail is not None:
                row.header_from = (mail.from_address or "")[:254] or None
                row.subject = mail.subject[:255] or None
            record(
                session,
                Actor.system(),
                "inbound_mail",
                "inbound_mail",
                mail_id,
                status=decision.status.value,
            )
            if decision.notice is not None and decision.family_id is not None:
                await notify_family(
                    session,
                    decision.family_id,
                    "documents_received",
                    decision.notice,
                    event_key=f"inbound:{mail_id}:documents",
                )
            await session.flush()
            return _view(row)

    # Staff --------------------------------------------------------------------------------

    async def view(self, actor: Actor, mail_id: int) -> InboundView:
        """One inbound mail, for staff."""
        actor.check_staff()
        async with self._sessions() as session:
            mail = await session.get(InboundMail, mail_id)
            if mail is None:
                raise NotFound("unknown inbound mail")
            return _view(mail)

    async def recorded(
        self, actor: Actor, statuses: Sequence[InboundStatus] | None = None, limit: int = 100
    ) -> list[InboundView]:
        """Inbound mails for staff, newest first (by default those kept from parents)."""
        actor.check_staff()
        wanted = statuses or (
            InboundStatus.QUARANTINED,
            InboundStatus.IGNORED,
            InboundStatus.MALFORMED,
        )
        async with self._sessions() as session:
            rows = await session.scalars(
                select(InboundMail)
                .where(InboundMail.status.in_(wanted))
                .order_by(InboundMail.id.desc())
                .limit(limit)
            )
            return [_view(mail) for mail in rows]

    async def raw(self, actor: Actor, mail_id: int) -> bytes:
        """The bytes of an inbound mail, for staff."""
        actor.check_staff()
        async with self._sessions() as session:
            raw = await session.scalar(select(InboundMail.raw).where(InboundMail.id == mail_id))
        if raw is None:
            raise NotFound("unknown inbound mail")
        return raw


def _insert_mail(dialect: str, values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT (message_id) DO NOTHING RETURNING id, in the store's dialect."""
    return (
        insert_for(dialect)(InboundMail.__table__)
        .values(values)
        .on_conflict_do_nothing(index_elements=[InboundMail.message_id])
        .returning(InboundMail.__table__.c.id)
    )


def _view(mail: InboundMail) -> InboundView:
    return InboundView(
        id=mail.id,
        message_id=mail.message_id,
        mail_from=mail.mail_from,
        rcpt_to=list(mail.rcpt_to),
        header_from=mail.header_from,
        subject=mail.subject,
        received_at=mail.received_at,
        size=mail.size,
        status=mail.status,
        reason=mail.reason,
        family_id=mail.family_id,
        outcome=mail.outcome,
    )
