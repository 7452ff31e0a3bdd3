"""Each service's morning digest, and the replies that decide several requests at once.

**The digest.** At `STAFF_DIGEST_TIME` (Europe/Paris) on `STAFF_DIGEST_DAYS`, each service gets
one email listing what waits for it, oldest first: the requests it decides (certificates,
documents, family file changes and new children for the family-file service; bookings to
validate and enrolment requests for an activity's service) and the mails set aside for it (a
staff reply from an address not allowed or to an unknown token, documents from an unknown
sender...), each with a short code (`DigestCode`): a request listed again keeps its number,
and a number is given again only once its code expired (`CODE_DAYS` after its last listing).
Nothing is sent when nothing waits. Every worker looks now and then (`DigestService.send_due`);
the one that takes the service's lease builds the digest, and the digest's row, unique per
service and day, is committed with its email in the outbox: a restart, or two workers, never
send a day's digest twice.

**The reply.** The digest's email has its own reply address (`reply+<token>@<mail domain>`,
`StaffDigestToken`). A reply is read line by line (`store.digest_words`): "OK 12 15 18",
"REFUS 13 complet", "LIBÉRER 21", "SUPPRIMER 22". Who acts is the staff member the
authenticated From names, of the digest's service (anyone else: nothing changes, the mail is
set aside and the sender told why). Each request is decided through the same services as a
single reply (`DecisionReplies.settle`: the first decision wins, the family is told by that
service), each mail released or dropped through the quarantine, as that staff member. The
codes are read against the digest answered (`StaffDigest.entries`), never against a newer one.
The sender gets one answer summing up each line (kind `staff_digest_answer`, once per mail).
Nothing here logs what a reply says.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.clock import Clock, system_clock
from store.decide_by_mail import (
    DecisionReplies,
    DecisionRequest,
    Outcome,
    RequestKind,
    token_hash,
)
from store.decision_words import Reading, Verdict
from store.digest_words import Line, Verb, read_digest_reply
from store.family_file import FAMILY_FILE_SERVICE
from store.leases import ClusterLeases
from store.mail_decision import MailDecision
from store.mail_reading import ReadMail
from store.messaging import hash_token
from store.models import (
    Absence,
    Activity,
    Booking,
    ChildRegistration,
    DecisionToken,
    DigestCode,
    Document,
    EnrolmentRequest,
    FileChange,
    InboundMail,
    ReplyToken,
    Service,
    StaffDigest,
    StaffDigestToken,
    StaffMember,
    Thread,
)
from store.models.enums import Channel, RequestStatus
from store.models.inbound import InboundStatus
from store.outbox import enqueue
from store.quarantine import QuarantineService
from store.staff import StaffService
from store.staff_notices import service_recipient

if TYPE_CHECKING:
    from store.inbound import InboundMailService

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
# The email kinds: a service's digest, and the answer to a reply to it.
STAFF_DIGEST_MAIL = "staff_digest"
STAFF_DIGEST_ANSWER = "staff_digest_answer"
# The kind of a code standing for a mail set aside.
MAIL = "mail"
# A code stays valid this long after the last digest that listed it; so does a digest.
CODE_DAYS = 14
# Mails set aside listed at most in one digest (the oldest first).
MAX_MAILS = 30
# How long a worker holds a service's digest lease while it builds it.
LEASE = timedelta(minutes=10)
LEASE_PREFIX = "staff_digest:"
SUBJECT_MAX_CHARS = 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# Settings ----------------------------------------------------------------------------------


def parse_days(text: str) -> frozenset[int]:
    """ "mon-fri", "1-5", "mon,wed,fri", "1,3,5" -> ISO weekdays (1 Monday ... 7 Sunday)."""

    def day(word: str) -> int:
        word = word.strip().lower()[:3]
        if word.isdigit() and 1 <= int(word) <= 7:
            return int(word)
        if word in WEEKDAYS:
            return WEEKDAYS.index(word) + 1
        raise ValueError(f"not a day of the week: {word!r}")

    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            continue
        first, dash, last = part.partition("-")
        start = day(first)
        end = day(last) if dash else start
        if end < start:
            raise ValueError(f"days go from Monday to Sunday: {part.strip()!r}")
        days.update(range(start, end + 1))
    if not days:
        raise ValueError("no day given")
    return frozenset(days)


def parse_time(text: str) -> time:
    """ "08:00" -> 08:00."""
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class DigestSchedule:
    """When the digests are due: from `at` (Europe/Paris) on `days` (ISO weekdays)."""

    at: time = time(8, 0)
    days: frozenset[int] = frozenset(range(1, 6))

    @classmethod
    def from_settings(cls, settings: Any) -> DigestSchedule:
        return cls(parse_time(settings.staff_digest_time), parse_days(settings.staff_digest_days))

    def due_day(self, now: datetime) -> date | None:
        """The day whose digest is due at `now` (None: not a digest day, or too early)."""
        local = now.astimezone(PARIS)
        if local.isoweekday() not in self.days or local.time() < self.at:
            return None
        return local.date()


# What a digest lists -------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """One thing waiting for a service: a request (`kind`, `ids`) or a mail set aside."""

    kind: str
    ids: tuple[int, ...]
    since: datetime

    @property
    def key(self) -> str:
        return f"{self.kind}:{','.join(str(i) for i in self.ids)}"


@dataclass(frozen=True)
class DigestRequest:
    """A request as a digest lists it: code, kind, what the answer may name of it."""

    number: int
    kind: RequestKind
    details: dict[str, Any]


@dataclass(frozen=True)
class DigestMail:
    """A mail set aside, as a digest lists it: code, sender, subject, when."""

    number: int
    mail_id: int
    sender: str | None
    subject: str | None
    received_at: datetime


@dataclass
class DigestContent:
    """A digest to write: for whom, its requests and mails still waiting."""

    digest_id: int | None
    service_code: str
    service_name: str
    recipient: str
    requests: list[DigestRequest] = field(default_factory=list)
    mails: list[DigestMail] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.requests and not self.mails


@dataclass(frozen=True)
class ServiceRef:
    id: int
    code: str
    name: str


def _ids_of(values: Sequence[Any]) -> list[int]:
    return [int(v) for v in values]


async def _services(session: AsyncSession, code: str | None) -> list[ServiceRef]:
    query = select(Service.id, Service.code, Service.name).order_by(Service.id)
    if code is not None:
        query = query.where(Service.code == code)
    return [ServiceRef(*row) for row in (await session.execute(query)).all()]


async def _family_file_id(session: AsyncSession) -> int | None:
    return await session.scalar(select(Service.id).where(Service.code == FAMILY_FILE_SERVICE))


async def _mail_service(
    session: AsyncSession, mail: InboundMail, fallback: int | None
) -> int | None:
    """The service a mail set aside is for: its thread's, its request's or digest's (a reply
    to one), else the family-file service (documents from an unknown sender, a reply to a
    token we do not know)."""
    for address in mail.rcpt_to or []:
        local = address.partition("@")[0]
        if not local.lower().startswith("reply+"):
            continue
        token = local[len("reply+") :]
        hashed = hash_token(token)
        thread_service = await session.scalar(
            select(Thread.service_id)
            .outerjoin(ReplyToken, ReplyToken.thread_id == Thread.id)
            .where((ReplyToken.token_hash == hashed) | (Thread.reply_token_hash == hashed))
            .limit(1)
        )
        if thread_service is not None:
            return int(thread_service)
        digest_service = await session.scalar(
            select(StaffDigest.service_id)
            .join(StaffDigestToken, StaffDigestToken.digest_id == StaffDigest.id)
            .where(StaffDigestToken.token_hash == token_hash(token))
        )
        if digest_service is not None:
            return int(digest_service)
        decision = await session.scalar(
            select(DecisionToken).where(DecisionToken.token_hash == token_hash(token))
        )
        if decision is not None:
            return await _request_service(
                session, RequestKind(decision.kind), decision.subject_ids
            )
    return fallback


async def _request_service(
    session: AsyncSession, kind: RequestKind, ids: Sequence[int]
) -> int | None:
    """The service that decides a request of this kind."""
    if kind is RequestKind.BOOKINGS:
        return await session.scalar(
            select(Activity.service_id)
            .join(Booking, Booking.activity_id == Activity.id)
            .where(Booking.id.in_(list(ids)))
            .limit(1)
        )
    if kind is RequestKind.ENROLMENT:
        return await session.scalar(
            select(Activity.service_id)
            .join(EnrolmentRequest, EnrolmentRequest.activity_id == Activity.id)
            .where(EnrolmentRequest.id.in_(list(ids)))
            .limit(1)
        )
    return await _family_file_id(session)


class DigestService:
    """Build, send and preview the services' digests."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        decisions: DecisionReplies,
        *,
        clock: Clock = system_clock,
        schedule: DigestSchedule | None = None,
    ):
        self._sessions = sessions
        self._decisions = decisions
        self._clock = clock
        self._schedule = schedule or DigestSchedule()
        self._staff = StaffService(sessions)

    # Waiting work -------------------------------------------------------------------------

    async def waiting(self, service_id: int) -> list[Waiting]:
        """What waits for the service, oldest first: its requests, then its mails set aside."""
        work = await self._staff.pending(Actor.system())
        async with self._sessions() as session:
            family_file = await _family_file_id(session)
            found: list[Waiting] = []
            if service_id == family_file:
                certificates = [c.absence_id for c in work.certificates]
                found += [
                    Waiting(RequestKind.CERTIFICATE.value, (i,), at)
                    for i, at in await session.execute(
                        select(Absence.id, Absence.created_at).where(Absence.id.in_(certificates))
                    )
                ]
                documents = [d.document_id for d in work.documents]
                found += [
                    Waiting(RequestKind.DOCUMENT.value, (i,), at)
                    for i, at in await session.execute(
                        select(Document.id, Document.created_at).where(Document.id.in_(documents))
                    )
                ]
                found += [
                    Waiting(RequestKind.FILE_CHANGE.value, (i,), at)
                    for i, at in await session.execute(
                        select(FileChange.id, FileChange.requested_at).where(
                            FileChange.status == RequestStatus.PENDING
                        )
                    )
                ]
                found += [
                    Waiting(RequestKind.REGISTRATION.value, (i,), at)
                    for i, at in await session.execute(
                        select(ChildRegistration.id, ChildRegistration.requested_at).where(
                            ChildRegistration.status == RequestStatus.PENDING
                        )
                    )
                ]
            bookings = [b.booking_id for b in work.bookings]
            found += [
                Waiting(RequestKind.BOOKINGS.value, (i,), at)
                for i, at in await session.execute(
                    select(Booking.id, Booking.created_at)
                    .join(Activity, Activity.id == Booking.activity_id)
                    .where(Booking.id.in_(bookings), Activity.service_id == service_id)
                )
            ]
            found += [
                Waiting(RequestKind.ENROLMENT.value, (i,), at)
                for i, at in await session.execute(
                    select(EnrolmentRequest.id, EnrolmentRequest.requested_at)
                    .join(Activity, Activity.id == EnrolmentRequest.activity_id)
                    .where(
                        EnrolmentRequest.status == RequestStatus.PENDING,
                        Activity.service_id == service_id,
                    )
                )
            ]
            found.sort(key=lambda w: (w.since, w.kind, w.ids))
            mails = list(
                await session.scalars(
                    select(InboundMail)
                    .where(
                        InboundMail.status == InboundStatus.QUARANTINED,
                        InboundMail.raw_deleted_at.is_(None),
                    )
                    .order_by(InboundMail.received_at, InboundMail.id)
                )
            )
            kept = 0
            for mail in mails:
                if kept >= MAX_MAILS:
                    break
                if await _mail_service(session, mail, family_file) == service_id:
                    found.append(Waiting(MAIL, (mail.id,), mail.received_at))
                    kept += 1
        return found

    # Building ---------------------------------------------------------------------------

    async def _numbered(
        self, session: AsyncSession, service_id: int, waiting: Sequence[Waiting], now: datetime
    ) -> list[tuple[int, int, Waiting]]:
        """(number, code row id, thing) for each thing waiting, in order: a code already
        given keeps its number; a number is given again only once its code expired."""
        rows = {
            row.key: row
            for row in await session.scalars(
                select(DigestCode).where(DigestCode.service_id == service_id)
            )
        }
        wanted = {w.key for w in waiting}
        freed = False
        for row in rows.values():
            if row.number is not None and row.key not in wanted and row.expires_at <= now:
                row.number = None
                freed = True
        if freed:
            await session.flush()
        used = {row.number for row in rows.values() if row.number is not None}
        numbered: list[tuple[int, int, Waiting]] = []
        next_free = 1
        for item in waiting:
            found = rows.get(item.key)
            if found is None:
                found = DigestCode(
                    service_id=service_id,
                    key=item.key,
                    kind=item.kind,
                    subject_ids=list(item.ids),
                    created_at=now,
                    expires_at=now,
                )
                session.add(found)
                rows[item.key] = found
            row = found
            if row.number is None:
                while next_free in used:
                    next_free += 1
                row.number = next_free
                used.add(next_free)
            row.expires_at = now + timedelta(days=CODE_DAYS)
            await session.flush()
            numbered.append((row.number, row.id, item))
        return numbered

    async def _build(
        self, service: ServiceRef, day: date | None, *, dry_run: bool
    ) -> tuple[int | None, list[tuple[int, int, Waiting]]] | None:
        """Number what waits and, unless `dry_run`, record the digest with its email queued;
        (digest id, numbered things), or None when the day's digest of this service exists."""
        now = self._clock()
        waiting = await self.waiting(service.id)
        try:
            async with self._sessions.begin() as session:
                if day is not None:
                    done = await session.scalar(
                        select(StaffDigest.id).where(
                            StaffDigest.service_id == service.id, StaffDigest.scheduled_for == day
                        )
                    )
                    if done is not None:
                        return None
                numbered = await self._numbered(session, service.id, waiting, now)
                if dry_run:
                    raise _Preview(numbered)
                digest = StaffDigest(
                    service_id=service.id,
                    scheduled_for=day,
                    sent=bool(numbered),
                    entries=[[n, i] for n, i, _ in numbered],
                    created_at=now,
                    expires_at=now + timedelta(days=CODE_DAYS),
                )
                session.add(digest)
                await session.flush()
                if numbered:
                    await enqueue(
                        session,
                        channel=Channel.EMAIL,
                        recipient=await service_recipient(session, service_id=service.id),
                        kind=STAFF_DIGEST_MAIL,
                        payload={"digest_id": digest.id},
                        dedup_key=f"staff-digest:{digest.id}",
                    )
                return digest.id, numbered
        except _Preview as preview:
            # Rolled back: the codes are what a digest sent now would give.
            return None, preview.numbered
        except IntegrityError:
            # Another worker recorded this day's digest (or gave these codes) at that moment.
            return None

    async def send_due(self, owner: str) -> list[int]:
        """The digests due now, for the services whose lease this worker takes: the ids of
        those queued (a day with nothing waiting is recorded, nothing sent)."""
        day = self._schedule.due_day(self._clock())
        if day is None:
            return []
        async with self._sessions() as session:
            services = await _services(session, None)
            done = set(
                await session.scalars(
                    select(StaffDigest.service_id).where(StaffDigest.scheduled_for == day)
                )
            )
        leases = ClusterLeases(self._sessions)
        sent: list[int] = []
        for service in services:
            if service.id in done:
                continue
            name = LEASE_PREFIX + service.code
            if not await leases.take(name, owner, self._clock(), LEASE):
                continue
            try:
                built = await self._build(service, day, dry_run=False)
            finally:
                await leases.release(name, owner)
            if built is not None and built[0] is not None and built[1]:
                sent.append(built[0])
                logger.info("staff digest %s queued for service %s", built[0], service.code)
        return sent

    async def send_now(self, service_code: str | None = None) -> list[int]:
        """A digest for each service (or the one named) now, whatever the schedule, when
        something waits: the ids of those queued."""
        async with self._sessions() as session:
            services = await _services(session, service_code)
        if service_code is not None and not services:
            raise NotFound(f"unknown service {service_code}")
        sent = []
        for service in services:
            built = await self._build(service, None, dry_run=False)
            if built is not None and built[0] is not None and built[1]:
                sent.append(built[0])
        return sent

    async def preview(self, service_code: str | None = None) -> list[DigestContent]:
        """What each service's digest would list now (codes as they would be); nothing kept."""
        async with self._sessions() as session:
            services = await _services(session, service_code)
        if service_code is not None and not services:
            raise NotFound(f"unknown service {service_code}")
        previews = []
        for service in services:
            built = await self._build(service, None, dry_run=True)
            if built is not None:
                rows = [(n, item.kind, item.ids) for n, _, item in built[1]]
                previews.append(await self._content(service, None, rows))
        return previews

    # Writing ----------------------------------------------------------------------------

    async def contents(self, digest_id: int) -> DigestContent | None:
        """What a recorded digest lists still waiting (None: no such digest)."""
        async with self._sessions() as session:
            digest = await session.get(StaffDigest, digest_id)
            if digest is None:
                return None
            service = await session.get(Service, digest.service_id)
            assert service is not None
            codes = {
                row.id: row
                for row in await session.scalars(
                    select(DigestCode).where(
                        DigestCode.id.in_([int(i) for _, i in digest.entries])
                    )
                )
            }
        rows = [
            (int(number), codes[int(code_id)].kind, tuple(codes[int(code_id)].subject_ids))
            for number, code_id in digest.entries
            if int(code_id) in codes
        ]
        return await self._content(
            ServiceRef(service.id, service.code, service.name), digest_id, rows
        )

    async def _content(
        self,
        service: ServiceRef,
        digest_id: int | None,
        rows: Sequence[tuple[int, str, tuple[int, ...]]],
    ) -> DigestContent:
        async with self._sessions() as session:
            recipient = await service_recipient(session, service_id=service.id)
        content = DigestContent(digest_id, service.code, service.name, recipient)
        for number, kind, ids in rows:
            if kind == MAIL:
                async with self._sessions() as session:
                    mail = await session.get(InboundMail, ids[0])
                if mail is None or mail.status is not InboundStatus.QUARANTINED:
                    continue
                subject = " ".join((mail.subject or "").split())
                if len(subject) > SUBJECT_MAX_CHARS:
                    subject = subject[: SUBJECT_MAX_CHARS - 1] + "…"
                content.mails.append(
                    DigestMail(
                        number,
                        mail.id,
                        mail.header_from or mail.mail_from or None,
                        subject or None,
                        mail.received_at,
                    )
                )
                continue
            request = DecisionRequest("", RequestKind(kind), ids, self._clock())
            facts = await self._decisions.facts_of(request)
            if facts is None or not facts.pending:
                continue
            content.requests.append(DigestRequest(number, RequestKind(kind), facts.details))
        return content

    async def new_reply_token(self, digest_id: int) -> str:
        """A fresh reply token for a digest's email (only its hash is kept)."""
        token = secrets.token_urlsafe(24)
        async with self._sessions.begin() as session:
            session.add(
                StaffDigestToken(
                    token_hash=token_hash(token), digest_id=digest_id, created_at=self._clock()
                )
            )
        return token


class _Preview(Exception):
    """Raised to roll a preview's codes back, with them."""

    def __init__(self, numbered: list[tuple[int, int, Waiting]]):
        super().__init__("preview")
        self.numbered = numbered


# Replies ----------------------------------------------------------------------------------


class LineOutcome(StrEnum):
    """What became of one code of a reply (or of a line)."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    ALREADY_DECIDED = "already_decided"
    NOT_APPLIED = "not_applied"
    REASON_MISSING = "reason_missing"
    UNKNOWN_CODE = "unknown_code"
    GONE = "gone"
    NOT_A_MAIL = "not_a_mail"
    NOT_A_REQUEST = "not_a_request"
    RELEASED = "released"
    DROPPED = "dropped"
    MAIL_DONE = "mail_done"
    NOT_RELEASABLE = "not_releasable"
    NO_CODE = "no_code"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True)
class DigestRef:
    """The digest a reply token names."""

    token: str
    digest_id: int
    service_id: int
    expires_at: datetime


class DigestReplies:
    """Apply the decisions a reply to a digest sends, line by line."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        decisions: DecisionReplies,
        clock: Clock = system_clock,
    ):
        self._sessions = sessions
        self._decisions = decisions
        self._clock = clock

    async def digest_for(self, tokens: Sequence[str]) -> DigestRef | None:
        """The digest the first of these tokens that is a digest's names, or None."""
        if not tokens:
            return None
        hashes = {token_hash(token): token for token in tokens}
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(StaffDigestToken.token_hash, StaffDigest)
                    .join(StaffDigest, StaffDigest.id == StaffDigestToken.digest_id)
                    .where(StaffDigestToken.token_hash.in_(list(hashes)))
                )
            ).all()
        by_hash = {digest_hash: digest for digest_hash, digest in rows}
        for digest_hash, token in hashes.items():
            digest = by_hash.get(digest_hash)
            if digest is not None:
                return DigestRef(token, digest.id, digest.service_id, digest.expires_at)
        return None

    async def decide(
        self,
        mail_id: int,
        mail: ReadMail,
        digest: DigestRef,
        reply_address: str,
        inbound: InboundMailService,
    ) -> MailDecision:
        """Apply each line of a reply to a digest, or say why nothing changed; the sender is
        answered once either way (see the module's docstring)."""
        sender = (mail.from_address or "").strip().lower()
        if not getattr(mail, "authenticated", False):
            return await self._refused(mail_id, sender, Outcome.NOT_AUTHENTICATED)
        async with self._sessions() as session:
            staff = await session.scalar(
                select(StaffMember).where(func.lower(StaffMember.email) == sender)
            )
        if staff is None:
            return await self._refused(mail_id, sender, Outcome.NOT_STAFF)
        if staff.service_id != digest.service_id:
            return await self._refused(mail_id, sender, Outcome.OTHER_SERVICE)
        if self._clock() >= digest.expires_at:
            return await self._refused(mail_id, sender, Outcome.EXPIRED)
        lines = read_digest_reply(mail.reply_knowing([], [], [reply_address]))
        if not any(line.verb is not None for line in lines):
            first = lines[0].written if lines else ""
            return await self._refused(mail_id, sender, Outcome.NOT_UNDERSTOOD, {"line": first})
        async with self._sessions() as session:
            entries_json = await session.scalar(
                select(StaffDigest.entries).where(StaffDigest.id == digest.digest_id)
            )
        entries = {int(n): int(i) for n, i in entries_json or []}
        quarantine = QuarantineService(inbound)
        results: list[dict[str, Any]] = []
        decided = 0
        for line in lines:
            for result in await self._line(mail_id, staff, line, entries, quarantine):
                results.append(result)
                if result["outcome"] in (
                    LineOutcome.ACCEPTED,
                    LineOutcome.REFUSED,
                    LineOutcome.RELEASED,
                    LineOutcome.DROPPED,
                ):
                    decided += 1
        await self._queue(mail_id, sender, "answered", {"results": results})
        return MailDecision(
            InboundStatus.RELAYED if decided else InboundStatus.IGNORED,
            f"digest reply: {decided} of {len(results)} applied",
            None,
            {
                "digest": digest.digest_id,
                "applied": decided,
                "lines": len(results),
                "staff_id": staff.id,
            },
        )

    async def _line(
        self,
        mail_id: int,
        staff: StaffMember,
        line: Line,
        entries: dict[int, int],
        quarantine: QuarantineService,
    ) -> list[dict[str, Any]]:
        """What each code of one line became."""
        if line.verb is None:
            return [{"outcome": LineOutcome.NOT_UNDERSTOOD, "line": line.written}]
        if not line.codes:
            return [{"outcome": LineOutcome.NO_CODE, "line": line.written}]
        results = []
        for number in line.codes:
            code_id = entries.get(number)
            async with self._sessions() as session:
                code = await session.get(DigestCode, code_id) if code_id is not None else None
            if code is None:
                results.append({"outcome": LineOutcome.UNKNOWN_CODE, "code": number})
                continue
            if code.kind == MAIL:
                results.append(
                    await self._mail(staff, line.verb, number, code.subject_ids[0], quarantine)
                )
            else:
                results.append(await self._request(mail_id, staff, line, number, code))
        return results

    async def _request(
        self, mail_id: int, staff: StaffMember, line: Line, number: int, code: DigestCode
    ) -> dict[str, Any]:
        kind = RequestKind(code.kind)
        result: dict[str, Any] = {"code": number, "kind": kind.value}
        request = DecisionRequest("", kind, tuple(code.subject_ids), code.expires_at)
        facts = await self._decisions.facts_of(request)
        if facts is None:
            return {**result, "outcome": LineOutcome.GONE}
        result["details"] = facts.details
        if line.verb in (Verb.RELEASE, Verb.DROP):
            return {**result, "outcome": LineOutcome.NOT_A_MAIL}
        if facts.service_id != staff.service_id:
            # The request moved to another service since the digest: not this one's.
            return {
                **result,
                "outcome": LineOutcome.NOT_APPLIED,
                "details": {**facts.details, "why": "other_service"},
            }
        accept = line.verb is Verb.ACCEPT
        if not accept and not line.reason:
            return {**result, "outcome": LineOutcome.REASON_MISSING}
        reading = Reading(
            Verdict.ACCEPT if accept else Verdict.REFUSE,
            reason="" if accept else line.reason,
            doc_type=line.doc_type if accept else None,
        )
        settled = await self._decisions.settle(mail_id, staff.id, request, facts, reading)
        result["details"] = settled.details
        if settled.outcome is Outcome.DECIDED:
            outcome = LineOutcome.ACCEPTED if settled.accept else LineOutcome.REFUSED
        elif settled.outcome is Outcome.ALREADY_DECIDED:
            outcome = LineOutcome.ALREADY_DECIDED
        else:
            outcome = LineOutcome.NOT_APPLIED
        return {**result, "outcome": outcome}

    async def _mail(
        self,
        staff: StaffMember,
        verb: Verb,
        number: int,
        inbound_id: int,
        quarantine: QuarantineService,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"code": number, "kind": MAIL}
        if verb not in (Verb.RELEASE, Verb.DROP):
            return {**result, "outcome": LineOutcome.NOT_A_REQUEST}
        async with self._sessions() as session:
            mail = await session.get(InboundMail, inbound_id)
            family_file = await _family_file_id(session)
            service = await _mail_service(session, mail, family_file) if mail is not None else None
        if mail is None:
            return {**result, "outcome": LineOutcome.GONE}
        result["sender"] = mail.header_from or mail.mail_from
        if service != staff.service_id:
            return {
                **result,
                "outcome": LineOutcome.NOT_APPLIED,
                "details": {"why": "other_service"},
            }
        if mail.status is not InboundStatus.QUARANTINED:
            return {**result, "outcome": LineOutcome.MAIL_DONE}
        actor = Actor.staff(staff.id)
        try:
            if verb is Verb.RELEASE:
                await quarantine.release(actor, inbound_id)
                return {**result, "outcome": LineOutcome.RELEASED}
            if await quarantine.drop(actor, inbound_id):
                return {**result, "outcome": LineOutcome.DROPPED}
            return {**result, "outcome": LineOutcome.MAIL_DONE}
        except (AccessDenied, NotFound):
            return {**result, "outcome": LineOutcome.GONE}
        except StoreError:
            return {**result, "outcome": LineOutcome.NOT_RELEASABLE, "mail_id": inbound_id}

    async def _refused(
        self,
        mail_id: int,
        sender: str,
        outcome: Outcome,
        details: dict[str, Any] | None = None,
    ) -> MailDecision:
        """Nothing changed: the sender is told why (a forged or foreign sender: the mail is
        set aside)."""
        await self._queue(mail_id, sender, outcome.value, details or {})
        set_aside = outcome in (
            Outcome.NOT_AUTHENTICATED,
            Outcome.NOT_STAFF,
            Outcome.OTHER_SERVICE,
        )
        return MailDecision(
            InboundStatus.QUARANTINED if set_aside else InboundStatus.IGNORED,
            f"digest reply not applied: {outcome.value}",
            None,
            {"digest_answered": outcome.value},
        )

    async def _queue(
        self, mail_id: int, sender: str, outcome: str, details: dict[str, Any]
    ) -> None:
        """The answer to the sender, once per mail whatever the attempts."""
        if not sender or "@" not in sender:
            return
        async with self._sessions.begin() as session:
            await enqueue(
                session,
                channel=Channel.EMAIL,
                recipient=sender,
                kind=STAFF_DIGEST_ANSWER,
                payload={"outcome": outcome, "mail_id": mail_id, **details},
                dedup_key=f"digest:{mail_id}:answer",
            )
