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
- mail to the documents address from a guardian's known address (case-insensitive), that our
  MTA authenticated (`ReadMail.authenticated`), is *filed*: each of its first attachments
  (`max_attachments`; the others are counted and refused) becomes a document of that family
  (if it really is a PDF, JPEG or PNG that runs nothing: the documents service's checks, as
  for a file sent on Telegram, and its name a cleaned label only), an absence reference in the
  subject attaches the certificate to that absence, the parent is told on Telegram what was
  received and what was refused, and the service gets one review email for the mail. Not
  authenticated, its files are checked and held, and the parent is asked in the chat whether
  they sent it (*awaiting confirmation*; `store.mail_documents`); a family with no linked chat
  cannot be asked, and the mail is *quarantined*. From anyone else it is *quarantined*;
- mail to `reply+<token>@<domain>` (in To, Cc or Bcc: the envelope decides, and it wins over
  the documents address for a staff sender) from an allowed staff address or domain, with any
  token its thread was given, is *relayed*: the staff member's new text goes to the family
  through the messaging service, with its files (files alone when the text was only a
  signature or quoted history). An unauthenticated reply linking outside the allowed domains
  is *held* (quarantined) for the service to release. Anything else is *quarantined*;
- whatever is set aside with a reason for its sender gets one short answer, at most once an
  hour per address and never to an automatic sender (`store.sender_notices`); staff list,
  look at and release what was set aside (`store.quarantine`, `release`);
- a message that cannot be read safely is *malformed*: kept raw, acted upon by no one.

The raw mail is stored encrypted (its certificates are health data): sealed with AES-256-GCM
under the process's first key (`store.encryption`, `seal_large`) before the insert, and opened
when the service reads it back (`process` after a restart, `read_kept`, `raw`), for a large
mail in a worker thread. Nothing but this service reads it clear.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.absences import AbsenceService
from store.actors import Actor, NotFound, StoreError
from store.audit import record
from store.database import insert_for
from store.documents import DocumentRejected, DocumentService, DocumentView
from store.encryption import Undecryptable
from store.encryption import current as current_keyring
from store.mail_decision import DOCUMENTS_RECEIVED, MailDecision
from store.mail_documents import (
    CONFIRM_PERIOD,
    MAX_ATTACHMENTS,
    MailDocuments,
)
from store.mail_links import outside_hosts
from store.mail_reading import MailFile, Reader, ReadMail
from store.mail_retention import Retention, purge_raw
from store.models import Guardian, InboundMail, StaffMember
from store.models.base import utcnow
from store.models.enums import DocumentSource, DocumentType
from store.models.inbound import InboundStatus
from store.outbox import notify_family
from store.safe_files import display_label
from store.sender_notices import HELD_REPLY_MAIL, Reason, queue_sender_notice
from store.staff_notices import (
    notified_texts,
    notified_texts_in,
    notify_documents_to_review,
    notify_service,
    service_recipient,
)

if TYPE_CHECKING:
    from store.decide_by_mail import DecisionReplies
    from store.staff_digest import DigestReplies

logger = logging.getLogger(__name__)

REPLY_PREFIX = "reply+"
TOKEN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_TOKEN_CHARS = 128
# A body image (shown by the HTML through `cid:`) this large is a pasted photo, worth filing;
# smaller ones are signature logos and icons.
INLINE_DOCUMENT_MIN_BYTES = 20_000
# Why a staff reply is held for the service (not authenticated, links elsewhere).
HELD_FOR_LINKS = "links outside allowed domains"
# After this many failed attempts a mail is set aside as malformed instead of retried forever.
MAX_ATTEMPTS = 5
REASON_MAX_CHARS = 500
# How long a worker holds a mail it claimed; past this, its mail is taken over (it died).
LEASE = timedelta(minutes=5)
# A mail larger than this is not left bound to SQLite's cached INSERT statement (see
# `accept_raw`).
KEEP_BOUND_BYTES = 1024 * 1024
# A mail this large is sealed and opened in a worker thread, the loop serving others meanwhile
# (25 MB: 0.1 s to seal, 0.25 s to open).
THREAD_CRYPTO_BYTES = 256 * 1024


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
    # Domains an unauthenticated staff reply may link to; empty: ours and the staff's.
    allowed_link_domains: tuple[str, ...] = ()
    # Attachments of a parent's mail considered at most (the rest refused and counted), and
    # how long a mail not authenticated waits for the parent's confirmation.
    max_attachments: int = MAX_ATTACHMENTS
    confirm_period: timedelta = CONFIRM_PERIOD

    @property
    def link_domains(self) -> tuple[str, ...]:
        """The domains (and their subdomains) a staff reply may link to unchecked."""
        return self.allowed_link_domains or (self.mail_domain, *self.staff_allowed_domains)

    @classmethod
    def from_settings(cls, settings: Any) -> InboundConfig:
        """Read the settings (with defaults for those not yet declared)."""
        domain = str(settings.mail_domain).lower()
        documents = settings.documents_email
        allowed = settings.staff_allowed_domains
        if isinstance(allowed, str):
            allowed = allowed.split(",")
        links = getattr(settings, "mail_allowed_link_domains", "") or ""
        if isinstance(links, str):
            links = links.split(",")
        return cls(
            mail_domain=domain,
            documents_address=documents.strip().lower(),
            staff_allowed_domains=tuple(d.strip().lower() for d in allowed if d.strip()),
            allowed_link_domains=tuple(d.strip().lower() for d in links if d.strip()),
            max_attachments=int(getattr(settings, "mail_max_attachments", MAX_ATTACHMENTS)),
            confirm_period=timedelta(
                days=int(getattr(settings, "mail_confirm_days", CONFIRM_PERIOD.days))
            ),
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
    """A mail committed to the store; `duplicate` when its Message-ID was already there;
    `over_limit` when it was not kept: a sender had its count for the hour (`mail_id` 0)."""

    mail_id: int
    duplicate: bool
    over_limit: bool = False


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
    # When its bytes were emptied, past their retention (`store.mail_retention`).
    raw_deleted_at: datetime | None = None


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


class NotReleasable(StoreError):
    """A mail set aside that cannot be released as asked, and why."""


class _ReleasedMail:
    """A mail released by staff to a family: read as if its (authenticated) sender were one
    of the family's guardians."""

    def __init__(self, mail: ReadMail, from_address: str):
        self._mail = mail
        self.from_address = from_address
        self.authenticated = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mail, name)


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
        decisions: DecisionReplies | None = None,
        digests: DigestReplies | None = None,
    ):
        self._sessions = sessions
        self.config = config
        self._read = reader
        self._documents = documents
        self._absences = absences
        self._messaging = messaging
        self._reply_max_chars = reply_max_chars
        # Replies to a notification asking for a decision (`store.decide_by_mail`).
        self._decisions = decisions
        # Replies to a service's digest (`store.staff_digest`).
        self._digests = digests
        self.worker_id = worker_name()
        # One large mail sealed and written at a time (see `accept_raw`).
        self._large_accepts = asyncio.Lock()
        self.mail_documents = MailDocuments(
            sessions,
            documents,
            absences,
            max_attachments=config.max_attachments,
            inline_document_min_bytes=config.inline_document_min_bytes,
            confirm_period=config.confirm_period,
        )

    # Accepting ----------------------------------------------------------------------------

    async def accept_raw(
        self,
        mail_from: str,
        rcpt_tos: Sequence[str],
        raw: bytes,
        message_id: str | None,
        header_from: str | None = None,
        *,
        limits: Mapping[str, int] | None = None,
        since: datetime | None = None,
    ) -> Accepted:
        """Commit a mail as received (before the SMTP server says 250); once per Message-ID.

        `header_from`: the address of its From header, read from the headers alone, kept at
        once so that the next mails from it are counted. `limits`: at most so many mails from
        each of these senders since `since` (the envelope sender or the From header, any
        case); when one had its count, nothing is kept (`over_limit`). Counted in the
        insert's transaction: every worker's mails, and no round trip more."""
        key = (message_id or "").strip()[:255] or "sha256:" + hashlib.sha256(raw).hexdigest()
        # A large mail's token (4/3 of its size) and the driver's copy of it exist for one
        # mail at a time: the memory they take does not grow with the mails received at once
        # (SQLite writes one at a time anyway; a 25 MB mail is sealed in 0.1 s).
        guard = self._large_accepts if len(raw) > KEEP_BOUND_BYTES else contextlib.nullcontext()
        async with guard:
            return await self._keep(key, mail_from, rcpt_tos, raw, header_from, limits, since)

    async def _keep(
        self,
        key: str,
        mail_from: str,
        rcpt_tos: Sequence[str],
        raw: bytes,
        header_from: str | None,
        limits: Mapping[str, int] | None,
        since: datetime | None,
    ) -> Accepted:
        """`accept_raw`'s transaction: the mail sealed, counted, inserted."""
        sealed = await _sealed(raw)
        # One short transaction and, unless the mail is known, one statement: the SMTP client
        # waits for it, and on SQLite the mail worker waits behind it.
        values = {
            "message_id": key,
            "mail_from": (mail_from or "")[:254],
            "rcpt_to": [r[:254] for r in rcpt_tos],
            "header_from": (header_from or "").strip().lower()[:254] or None,
            "size": len(raw),
            "raw": sealed,
            "status": InboundStatus.RECEIVED,
            "received_at": utcnow(),
        }
        async with self._sessions.begin() as session:
            # Core statements on the session's connection: no ORM object, no flush.
            connection = await session.connection()
            dialect = connection.dialect.name
            for address, limit in (limits or {}).items():
                counted = await connection.scalar(_count_from(address, since or utcnow()))
                if (counted or 0) >= limit:
                    return Accepted(0, duplicate=False, over_limit=True)
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

    async def is_staff_address(self, address: str) -> bool:
        """A staff member's own address, or one of the domains allowed to answer parents."""
        local, domain = address_parts(address)
        if not local:
            return False
        if domain in self.config.staff_allowed_domains:
            return True
        async with self._sessions() as session:
            staff_id = await session.scalar(
                select(StaffMember.id).where(
                    func.lower(StaffMember.email) == f"{local}@{domain}".lower()
                )
            )
        return staff_id is not None

    async def purge_raw(self, now: datetime, retention: Retention) -> int:
        """Empty the bytes of the mails past their retention (see `store.mail_retention`).

        Held parents' mails never confirmed in time are thrown away on the same round
        (`MailDocuments.expire_unconfirmed`)."""
        try:
            await self.mail_documents.expire_unconfirmed(now)
        except Exception:
            logger.exception("could not expire the mails awaiting a parent's confirmation")
        return await purge_raw(self._sessions, now, retention)

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
        del claimed  # the stored token is let go once opened (`del stored`)
        if raw is None:
            # A token no configured key opens (a key missing) is a fault of the settings, not
            # of the mail: the attempt is not counted, the mail is processed once the key is
            # back (never set aside as malformed for it).
            try:
                raw = await _opened(stored or b"")
            except BaseException as error:
                with contextlib.suppress(Exception):
                    await self._release(mail_id, uncount=isinstance(error, Undecryptable))
                raise
        del stored
        try:
            if attempts >= self.config.max_attempts:
                decision = MailDecision(InboundStatus.MALFORMED, "processing failed repeatedly")
                return await self._finish(mail_id, decision, None)
            try:
                # In a worker thread: reading a large mail takes a while (0.3 s for 25 MB),
                # and the loop goes on serving SMTP clients (and the bot) meanwhile.
                mail_read = await asyncio.to_thread(self._read, raw, mail_from)
            except Exception as error:
                reason = str(error) or type(error).__name__
                decision = MailDecision(InboundStatus.MALFORMED, reason)
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

        One statement, the claim itself: an UPDATE that changes the row only if it is still
        received and not leased, and returns what the worker needs. PostgreSQL: it updates the
        row only through `FOR UPDATE SKIP LOCKED` (a mail being claimed by another worker is
        skipped, not waited for); SQLite ignores it, its writes being serialised."""
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
        unlocked = select(InboundMail.id).where(*free).with_for_update(skip_locked=True)
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    update(InboundMail)
                    .where(*free, InboundMail.id.in_(unlocked))
                    .values(
                        lease_owner=self.worker_id,
                        lease_until=now + self.config.lease,
                        attempts=InboundMail.attempts + 1,
                    )
                    .returning(*columns)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        if row is None:
            return None
        raw = cast(bytes, row[4]) if load_raw else None
        mail_from, rcpts, received_at, attempts = cast(
            tuple[str, list[str], datetime, int], row[:4]
        )
        # RETURNING gives the row as updated: this attempt is counted in it.
        return mail_from, list(rcpts), received_at, attempts - 1, raw

    async def _release(self, mail_id: int, *, uncount: bool = False) -> None:
        """Give back this worker's lease on a mail (its attempt failed); `uncount`: the attempt
        is not counted (it failed for want of a key, through no fault of the mail's)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if uncount:
            values["attempts"] = InboundMail.attempts - 1
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboundMail)
                .where(InboundMail.id == mail_id, InboundMail.lease_owner == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def _decide(
        self, mail_id: int, mail: ReadMail, rcpts: Sequence[str], received_at: datetime
    ) -> MailDecision:
        routes = {route_of(address, self.config) for address in rcpts}
        if mail.automatic:
            return MailDecision(InboundStatus.IGNORED, f"automatic: {mail.automatic}")
        # A staff member answering with the documents address in copy (or the other way
        # round) is answering the family: a reply address among the recipients wins, unless
        # the sender may not answer families and the documents address is there too.
        staff_reply = Route.STAFF_REPLY in routes and (
            Route.DOCUMENTS not in routes or await self.is_staff_address(mail.from_address or "")
        )
        if staff_reply:
            decided = await self._decision_reply(mail_id, mail, rcpts)
            if decided is not None:
                return decided
            token, thread = await self._thread_of(rcpts)
            return await self._relay_staff_reply(mail_id, mail, token, thread, received_at)
        if Route.DOCUMENTS in routes:
            return await self._file_documents(mail, received_at, mail_id)
        if Route.POSTMASTER in routes:
            return MailDecision(InboundStatus.QUARANTINED, "mail to postmaster")
        return MailDecision(InboundStatus.QUARANTINED, "no recipient of ours")

    async def _decision_reply(
        self, mail_id: int, mail: ReadMail, rcpts: Sequence[str]
    ) -> MailDecision | None:
        """A reply to a notification asking for a decision: applied, or answered why not
        (`store.decide_by_mail`); None when no recipient is a decision's reply address."""
        tokens = [t for t in (reply_token(a, self.config.mail_domain) for a in rcpts) if t]
        if self._digests is not None:
            digest = await self._digests.digest_for(tokens)
            if digest is not None:
                address = f"{REPLY_PREFIX}{digest.token}@{self.config.mail_domain}"
                return await self._digests.decide(mail_id, mail, digest, address, self)
        if self._decisions is None:
            return None
        request = await self._decisions.request_for(tokens)
        if request is None:
            return None
        address = f"{REPLY_PREFIX}{request.token}@{self.config.mail_domain}"
        return await self._decisions.decide(mail_id, mail, request, address)

    async def _file_documents(
        self, mail: ReadMail, received_at: datetime, mail_id: int
    ) -> MailDecision:
        """A mail to the documents address: filed, held for the parent's confirmation, or set
        aside (`store.mail_documents`). Held mails never confirmed are thrown away by the
        server's hourly sweep (`purge_raw`), not by each mail that comes in."""
        return await self.mail_documents.decide(mail_id, mail, received_at)

    async def _already_filed(
        self, family_id: int, content: bytes, since: datetime
    ) -> DocumentView | None:
        """The document a previous, interrupted run made from these bytes, if any."""
        return await self.mail_documents.already_filed(family_id, content, since)

    async def _file_staff_attachments(
        self, mail: ReadMail, family_id: int, received_at: datetime
    ) -> tuple[list[int], list[str]]:
        """File the staff's attachments for the family (not signature images): the documents'
        ids, and the reason each refused file was refused (`too_large`, `wrong_type`…).

        An attachment an interrupted attempt already filed is not filed again."""
        forwarded: list[int] = []
        refused: list[str] = []
        for attachment in self._staff_files(mail):
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
            except DocumentRejected as error:
                refused.append(error.reason.value)
                continue
            forwarded.append(view.id)
        return forwarded, refused

    def _staff_files(self, mail: ReadMail) -> list[MailFile]:
        """The files of a staff reply worth sending on: not its signature logos and icons."""
        return [
            attachment
            for attachment in mail.attachments
            if not (attachment.inline and attachment.size < self.config.inline_document_min_bytes)
        ]

    async def _thread_of(self, rcpts: Sequence[str]) -> tuple[str, Any]:
        """The token of the first reply address among the recipients that names a thread (a
        reply to two notifications at once, one of them stale), else of the first one; and
        that thread (None when no token names one). Each token is looked up once."""
        tokens = [t for t in (reply_token(a, self.config.mail_domain) for a in rcpts) if t]
        if self._messaging is not None:
            for token in dict.fromkeys(tokens):
                thread = await self._messaging.thread_for_reply_token(token)
                if thread is not None:
                    return token, thread
        return tokens[0], None

    async def _relay_staff_reply(
        self,
        mail_id: int,
        mail: ReadMail,
        token: str,
        thread: Any,
        received_at: datetime,
        *,
        released_by: Actor | None = None,
    ) -> MailDecision:
        """Relay a staff reply to the family of its thread, or set it aside, and why.

        What reaches the family is the new text (cut where it repeats what we sent), with the
        files; a reply of files only (its text was a signature or quoted history) reaches the
        family as the files, said sent by the service. Set aside: a sender not allowed, a token
        of no thread, nothing at all to relay (the sender is told), and a reply that is not
        authenticated with links outside the allowed domains (held: the service is told and
        may release it). `released_by`: a staff member releasing it; the sender's address and
        its links are then taken as they are. `thread`: the thread `token` names (None: no
        thread), looked up once by the caller (`_thread_of`)."""
        if self._messaging is None:
            return MailDecision(InboundStatus.QUARANTINED, "staff replies not wired yet")
        sender = mail.from_address or ""
        _, domain = address_parts(sender)
        # One read-only session for the sender's check and what the thread's notifications
        # said (what the reply is cut on).
        async with self._sessions() as session:
            staff_id = await session.scalar(
                select(StaffMember.id).where(func.lower(StaffMember.email) == sender)
            )
            allowed = (
                released_by is not None
                or staff_id is not None
                or domain in self.config.staff_allowed_domains
            )
            sent = (
                await notified_texts_in(session, thread.id)
                if allowed and thread is not None
                else None
            )
        if not allowed:
            return MailDecision(
                InboundStatus.QUARANTINED,
                "sender not allowed for staff replies",
                sender_notice=Reason.SENDER_NOT_ALLOWED,
            )
        if thread is None or sent is None:
            return MailDecision(
                InboundStatus.QUARANTINED,
                "unknown or expired reply token",
                sender_notice=Reason.UNKNOWN_TOKEN,
            )
        # Cut where the reply repeats what our notification said, or shows our address.
        address = f"{REPLY_PREFIX}{token}@{self.config.mail_domain}"
        body = mail.reply_knowing(sent.written, sent.names, [address]).strip()
        files = self._staff_files(mail)
        held = {"thread_id": thread.id}
        if not body and not files:
            return MailDecision(
                InboundStatus.QUARANTINED,
                "empty reply",
                thread.family_id,
                held,
                sender_notice=Reason.EMPTY_REPLY,
            )
        hosts = outside_hosts(body, self.config.link_domains)
        if hosts and released_by is None and not getattr(mail, "authenticated", False):
            return MailDecision(
                InboundStatus.QUARANTINED,
                HELD_FOR_LINKS,
                thread.family_id,
                {**held, "hosts": hosts[:10]},
                sender_notice=Reason.LINKS_HELD,
                service_notice={
                    "service_code": thread.service_code,
                    "thread_id": thread.id,
                    "hosts": hosts[:10],
                },
            )
        if len(body) > self._reply_max_chars:
            body = body[: self._reply_max_chars - 1].rstrip() + "…"
        actor = Actor.staff(staff_id) if staff_id is not None else released_by or Actor.system()
        forwarded, refused = await self._file_staff_attachments(
            mail, thread.family_id, received_at
        )
        notice, details = _refused_files_notice(refused, self._documents.max_bytes)
        if not body and not forwarded:
            return MailDecision(
                InboundStatus.QUARANTINED,
                "nothing to relay: every attachment refused",
                thread.family_id,
                held,
                sender_notice=notice,
                sender_details={**details, "relayed": False},
            )
        try:
            # Keyed on the mail: relayed once, however many workers or attempts get this far.
            message = await self._messaging.staff_reply(
                actor, thread.id, body, forwarded, external_id=relay_key(mail_id)
            )
        except StoreError as error:
            return MailDecision(
                InboundStatus.QUARANTINED, f"not relayed: {error}", thread.family_id
            )
        outcome = {
            "thread_id": thread.id,
            "message_id": getattr(message, "id", None),
            "attachments_forwarded": len(forwarded),
            "attachments_not_forwarded": len(refused),
        }
        reason = "relayed to the family" if body else "attachments relayed to the family"
        return MailDecision(
            InboundStatus.RELAYED,
            reason,
            thread.family_id,
            outcome,
            sender_notice=notice,
            sender_details={**details, "relayed": True} if notice else None,
        )

    async def _finish(
        self,
        mail_id: int,
        decision: MailDecision,
        mail: ReadMail | None,
        *,
        released_by: Actor | None = None,
    ) -> InboundView:
        """Record the decision, and queue in the same transaction the parent's notice, the
        sender's (why their mail was set aside, see `store.sender_notices`) and the service's
        (a reply held).

        `released_by`: a staff member released the mail from quarantine; the decision is then
        recorded only if the mail is still set aside (a mail released twice is acted on once),
        and no one but the family is told."""
        expected = InboundStatus.QUARANTINED if released_by else InboundStatus.RECEIVED
        async with self._sessions.begin() as session:
            row = await session.get(InboundMail, mail_id, with_for_update=True)
            assert row is not None
            if row.status is not expected:
                # Taken over after our lease expired, and done meanwhile; or released already.
                return _view(row)
            row.status = decision.status
            row.lease_owner = None
            row.lease_until = None
            row.reason = decision.reason[:REASON_MAX_CHARS]
            row.family_id = decision.family_id
            outcome = dict(decision.outcome or {})
            row.processed_at = utcnow()
            if mail is not None:
                row.header_from = (mail.from_address or "")[:254] or None
                row.subject = mail.subject[:255] or None
            if released_by is not None:
                outcome["released_by"] = released_by.label
                record(
                    session,
                    released_by,
                    "inbound_mail_release",
                    "inbound_mail",
                    mail_id,
                    status=decision.status.value,
                    family=decision.family_id,
                )
            else:
                record(
                    session,
                    Actor.system(),
                    "inbound_mail",
                    "inbound_mail",
                    mail_id,
                    status=decision.status.value,
                )
            if decision.notice is not None and decision.family_id is not None:
                what = "documents" if decision.notice_kind == DOCUMENTS_RECEIVED else "confirm"
                await notify_family(
                    session,
                    decision.family_id,
                    decision.notice_kind,
                    decision.notice,
                    event_key=f"inbound:{mail_id}:{what}",
                )
            if decision.sender_notice and mail is not None and released_by is None:
                told = await queue_sender_notice(
                    session,
                    mail_id=mail_id,
                    reason=decision.sender_notice,
                    details=decision.sender_details,
                    envelope_sender=row.mail_from,
                    automatic=mail.automatic,
                    own_domains=(
                        self.config.mail_domain,
                        address_parts(self.config.documents_address)[1],
                    ),
                    message_id=row.message_id,
                    received_at=row.received_at,
                    now=utcnow(),
                    earlier=getattr(mail, "in_reply_to", None),
                )
                outcome["sender_notice"] = {"reason": decision.sender_notice, **told.as_dict()}
            if decision.review_documents:
                await notify_documents_to_review(
                    session, mail_id, decision.review_documents, row.received_at
                )
            if decision.service_notice is not None and released_by is None:
                held = decision.service_notice
                await notify_service(
                    session,
                    await service_recipient(session, code=held["service_code"]),
                    HELD_REPLY_MAIL,
                    {"mail_id": mail_id, "thread_id": held["thread_id"], "hosts": held["hosts"]},
                    f"inbound:{mail_id}:held",
                )
            row.outcome = outcome or None
            await session.flush()
            view = _view(row)
        # Logged by the worker that decided, once committed (never the mail's text).
        logger.info("inbound mail %s: %s (%s)", mail_id, view.status, view.reason)
        return view

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

    async def read_kept(self, actor: Actor, mail_id: int) -> tuple[InboundView, ReadMail | None]:
        """A kept mail and what its reader makes of it (None when its bytes were deleted or
        cannot be read), for staff."""
        actor.check_staff()
        async with self._sessions() as session:
            row = await session.get(InboundMail, mail_id)
            if row is None:
                raise NotFound("unknown inbound mail")
            view = _view(row)
            stored = await session.scalar(select(InboundMail.raw).where(InboundMail.id == mail_id))
        if not stored:
            return view, None
        raw = await _opened(stored)  # a key missing is said, not taken for an unreadable mail
        del stored
        try:
            return view, await asyncio.to_thread(self._read, raw, view.mail_from)
        except Exception:
            return view, None

    async def reduced_text(self, mail: ReadMail, rcpts: Sequence[str]) -> str:
        """The text a family would read of a mail: a staff reply cut knowing what its thread's
        notifications said, anything else reduced by its markers."""
        routed = {route_of(address, self.config) for address in rcpts}
        if Route.STAFF_REPLY in routed and self._messaging is not None:
            token, thread = await self._thread_of(rcpts)
            if thread is not None:
                sent = await notified_texts(self._sessions, thread.id)
                address = f"{REPLY_PREFIX}{token}@{self.config.mail_domain}"
                return mail.reply_knowing(sent.written, sent.names, [address]).strip()
        return mail.reply_text.strip()

    async def release(
        self, actor: Actor, mail_id: int, family_id: int | None = None
    ) -> InboundView:
        """Act on a mail set aside as if it had been allowed, for a staff member.

        A staff reply (held for its links, or from an address not allowed) is relayed to its
        thread's family; documents to the documents address are filed for `family_id` (which
        must then be given). Recorded in the audit log with who released it. A mail released
        twice (one after the other, or at once) is acted on once: the relay is keyed on the
        mail, and the second release finds it no longer set aside."""
        actor.check_staff()
        view, mail = await self.read_kept(actor, mail_id)
        if view.status is not InboundStatus.QUARANTINED:
            raise NotReleasable(f"mail {mail_id} is not set aside (it is {view.status.value})")
        if mail is None:
            raise NotReleasable(f"mail {mail_id} can no longer be read (its bytes are gone)")
        routes = {route_of(address, self.config) for address in view.rcpt_to}
        if Route.STAFF_REPLY in routes and family_id is None:
            token, thread = await self._thread_of(view.rcpt_to)
            decision = await self._relay_staff_reply(
                mail_id, mail, token, thread, view.received_at, released_by=actor
            )
        elif Route.DOCUMENTS in routes or family_id is not None:
            if family_id is None:
                raise NotReleasable(
                    "documents from an unknown sender: name the family to file them for"
                )
            async with self._sessions() as session:
                guardian_email = await session.scalar(
                    select(Guardian.email)
                    .where(Guardian.family_id == family_id, Guardian.email.is_not(None))
                    .order_by(Guardian.id)
                    .limit(1)
                )
            if not guardian_email:
                raise NotReleasable(f"family {family_id} has no guardian with an email")
            decision = await self._file_documents(
                _ReleasedMail(mail, guardian_email.strip().lower()), view.received_at, mail_id
            )
        else:
            raise NotReleasable("this mail was for no one: there is nothing to release it to")
        if decision.status is InboundStatus.QUARANTINED:
            raise NotReleasable(f"mail {mail_id} cannot be released: {decision.reason}")
        return await self._finish(mail_id, decision, mail, released_by=actor)

    async def drop(self, actor: Actor, mail_id: int) -> bool:
        """Throw a mail set aside away, for a staff member: it becomes `discarded` (its bytes
        purged with the others past their retention), once, recorded in the audit log with
        who dropped it; False when it was no longer set aside."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            row = await session.get(InboundMail, mail_id, with_for_update=True)
            if row is None:
                raise NotFound("unknown inbound mail")
            if row.status is not InboundStatus.QUARANTINED:
                return False
            row.status = InboundStatus.DISCARDED
            row.outcome = {**(row.outcome or {}), "dropped_by": actor.label}
            record(session, actor, "inbound_mail_drop", "inbound_mail", mail_id)
        logger.info("inbound mail %s: dropped by staff", mail_id)
        return True

    async def raw(self, actor: Actor, mail_id: int) -> bytes:
        """The bytes of an inbound mail as received (decrypted), for staff."""
        actor.check_staff()
        async with self._sessions() as session:
            stored = await session.scalar(select(InboundMail.raw).where(InboundMail.id == mail_id))
        if stored is None:
            raise NotFound("unknown inbound mail")
        return await _opened(stored)


async def _sealed(raw: bytes) -> bytes | bytearray:
    """A raw mail as stored: a token of the first key (empty stays empty)."""
    if not raw:
        return raw
    keyring = current_keyring()
    if len(raw) < THREAD_CRYPTO_BYTES:
        return keyring.seal_large(raw)
    return await asyncio.to_thread(keyring.seal_large, raw)


async def _opened(stored: bytes | bytearray) -> bytes:
    """A raw mail as received, from what the store holds (a mail stored before encryption
    came reads as it is). `Undecryptable` when no configured key opens it."""
    keyring = current_keyring()
    if len(stored) < THREAD_CRYPTO_BYTES:
        return keyring.open_large(stored)
    return await asyncio.to_thread(keyring.open_large, stored)


def _refused_files_notice(
    refused: Sequence[str], limit_bytes: int
) -> tuple[Reason | None, dict[str, Any]]:
    """What to tell a staff sender about the files of their reply that were refused."""
    if not refused:
        return None, {}
    too_large = sum(reason == "too_large" for reason in refused)
    if too_large:
        return Reason.ATTACHMENT_TOO_LARGE, {"count": too_large, "limit_bytes": limit_bytes}
    return Reason.ATTACHMENT_REFUSED, {"count": len(refused)}


def _count_from(address: str, since: datetime) -> Any:
    """SELECT the number of mails since `since` with this address as the envelope sender or
    in the From header (a union, not an OR: each half is served by its own expression
    index)."""
    address = address.strip().lower()
    counted = [
        select(InboundMail.id).where(
            func.lower(column) == address, InboundMail.received_at >= since
        )
        for column in (InboundMail.mail_from, InboundMail.header_from)
    ]
    return select(func.count()).select_from(union(*counted).subquery())


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
        raw_deleted_at=mail.raw_deleted_at,
    )
