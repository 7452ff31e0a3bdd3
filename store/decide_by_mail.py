"""Staff decide a request by replying to its notification email: "OK", or "REFUS" and why.

Each notification that asks a service for a decision (a certificate, a document or the
documents of one mail, bookings to validate, a family file change, an enrolment request, a new
child) carries its own reply address, `reply+<token>@<mail domain>`, the token bound to that
request (`new_decision_token`, valid `TOKEN_DAYS`). The inbound mail service hands a reply to
such an address to `DecisionReplies.decide`, which:

- refuses a sender our MTA did not authenticate, an address that is no staff member's, and a
  staff member of another service than the request's (the mail is set aside);
- refuses an expired token, a first word it does not understand, a refusal without a reason,
  a request decided already (by a colleague: the first decision wins; or on the command line);
- otherwise applies the decision through the same store service as the command line, as that
  staff member (`Actor.staff`): the family is told by that service, as with the command line.

Whatever the outcome, the sender gets one short answer by email (kind `decision_answer`, its
dedup key on the mail): the one-line confirmation, or why nothing changed. The first reply to
decide a request takes its `DecisionClaim`; the same mail processed again (a retry after a
crash) finds its own claim and confirms, once. Nothing here logs what a reply says.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.absences import AbsenceService
from store.actors import Actor, StoreError
from store.bookings import BookingService
from store.clock import Clock, system_clock
from store.database import insert_for
from store.decision_words import Reading, Verdict, read_decision
from store.documents import DocumentService, InvalidReclassification
from store.enrolments import AlreadyDecided, DecisionRefused, EnrolmentService
from store.family_file import FAMILY_FILE_SERVICE
from store.family_records import FamilyFileService, FileMoved
from store.mail_decision import MailDecision
from store.mail_reading import ReadMail
from store.models import (
    Absence,
    Activity,
    AuditEntry,
    Booking,
    Child,
    ChildRegistration,
    DecisionClaim,
    DecisionToken,
    Document,
    EnrolmentRequest,
    FileChange,
    Service,
    StaffMember,
)
from store.models.enums import (
    AbsenceStatus,
    BookingState,
    Channel,
    DocumentStatus,
    RequestStatus,
)
from store.models.inbound import InboundStatus
from store.outbox import enqueue

# How long a decision's reply address stays valid.
TOKEN_DAYS = 30
# The email kind of every answer to a decision reply (confirmation or refusal).
DECISION_ANSWER = "decision_answer"


class RequestKind(StrEnum):
    """What a decision token is bound to."""

    CERTIFICATE = "certificate"
    DOCUMENT = "document"
    BOOKINGS = "bookings"
    FILE_CHANGE = "file_change"
    ENROLMENT = "enrolment"
    REGISTRATION = "registration"


class Outcome(StrEnum):
    """What became of a decision reply; the answer's sentence is chosen by it."""

    DECIDED = "decided"
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_STAFF = "not_staff"
    OTHER_SERVICE = "other_service"
    EXPIRED = "expired"
    GONE = "gone"
    NOT_UNDERSTOOD = "not_understood"
    REASON_MISSING = "reason_missing"
    ALREADY_DECIDED = "already_decided"
    NOT_APPLIED = "not_applied"


# Set aside (kept for staff to look at) rather than merely answered.
SET_ASIDE = frozenset({Outcome.NOT_AUTHENTICATED, Outcome.NOT_STAFF, Outcome.OTHER_SERVICE})

# Each kind's decision in the audit log: (entity, actions).
AUDITED = {
    RequestKind.CERTIFICATE: ("absence", ("decide_absence",)),
    RequestKind.DOCUMENT: ("document", ("review_document",)),
    RequestKind.BOOKINGS: ("booking", ("validate", "refuse")),
    RequestKind.FILE_CHANGE: ("file_change", ("file_change.accepted", "file_change.refused")),
    RequestKind.ENROLMENT: ("enrolment_request", ("decide_enrolment",)),
    RequestKind.REGISTRATION: ("child_registration", ("decide_registration",)),
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def new_decision_token(
    sessions: async_sessionmaker[AsyncSession],
    kind: RequestKind,
    subject_ids: Sequence[int],
    now: datetime,
) -> str:
    """A fresh token for deciding this request by reply (only its hash is kept)."""
    token = secrets.token_urlsafe(24)
    async with sessions.begin() as session:
        session.add(
            DecisionToken(
                token_hash=token_hash(token),
                kind=kind.value,
                subject_ids=sorted(int(i) for i in subject_ids),
                created_at=now,
                expires_at=now + timedelta(days=TOKEN_DAYS),
            )
        )
    return token


@dataclass(frozen=True)
class DecisionRequest:
    """The request a token names."""

    token: str
    kind: RequestKind
    subject_ids: tuple[int, ...]
    expires_at: datetime


@dataclass
class RequestFacts:
    """Where a request stands, whose service decides it, and what an answer may name of it
    (a child's first name and initial, dates, an activity: never a health detail)."""

    service_id: int | None
    family_id: int
    pending: bool
    key: str
    accepted: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settled:
    """What became of one decision applied by reply: `DECIDED` (then `accept`),
    `ALREADY_DECIDED` or `NOT_APPLIED`, and what the answer may name of the request."""

    outcome: Outcome
    details: dict[str, Any]
    accept: bool | None = None


def child_label(first_name: str, last_name: str) -> str:
    """ "Lucas M.": what a staff answer names of a child."""
    initial = last_name.strip()[:1]
    return f"{first_name} {initial}." if initial else first_name


class DecisionReplies:
    """Apply the decisions staff send by replying to a request's notification."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        absences: AbsenceService,
        documents: DocumentService,
        bookings: BookingService,
        family_file: FamilyFileService,
        enrolments: EnrolmentService,
        clock: Clock = system_clock,
    ):
        self._sessions = sessions
        self._absences = absences
        self._documents = documents
        self._bookings = bookings
        self._family_file = family_file
        self._enrolments = enrolments
        self._clock = clock

    async def request_for(self, tokens: Sequence[str]) -> DecisionRequest | None:
        """The request the first of these tokens that is a decision token names, or None."""
        if not tokens:
            return None
        hashes = {token_hash(token): token for token in tokens}
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(DecisionToken).where(DecisionToken.token_hash.in_(list(hashes)))
                )
            )
        by_hash = {row.token_hash: row for row in rows}
        for digest, token in hashes.items():
            row = by_hash.get(digest)
            if row is not None:
                return DecisionRequest(
                    token, RequestKind(row.kind), tuple(row.subject_ids), row.expires_at
                )
        return None

    async def decide(
        self, mail_id: int, mail: ReadMail, request: DecisionRequest, reply_address: str
    ) -> MailDecision:
        """Apply the decision a reply says, or say why not; the sender is answered either way
        (see the module's docstring)."""
        sender = (mail.from_address or "").strip().lower()
        answer = _Answer(mail_id, sender, request.kind)
        if not getattr(mail, "authenticated", False):
            return await self._told(answer, Outcome.NOT_AUTHENTICATED)
        async with self._sessions() as session:
            staff = await session.scalar(
                select(StaffMember).where(func.lower(StaffMember.email) == sender)
            )
            facts = await _facts(session, request)
        if staff is None:
            return await self._told(answer, Outcome.NOT_STAFF)
        if facts is None:
            return await self._told(answer, Outcome.GONE)
        answer.family_id = facts.family_id
        answer.details = facts.details
        if staff.service_id != facts.service_id:
            return await self._told(answer, Outcome.OTHER_SERVICE)
        if self._clock() >= request.expires_at:
            return await self._told(answer, Outcome.EXPIRED)
        body = mail.reply_knowing([], [], [reply_address])
        reading = read_decision(body)
        if reading.verdict is Verdict.UNKNOWN:
            answer.details = {**facts.details, "first_word": reading.first_word[:40]}
            return await self._told(answer, Outcome.NOT_UNDERSTOOD)
        if reading.verdict is Verdict.REASON_MISSING:
            return await self._told(answer, Outcome.REASON_MISSING)
        settled = await self.settle(mail_id, staff.id, request, facts, reading)
        answer.details = settled.details
        if settled.outcome is not Outcome.DECIDED:
            return await self._told(answer, settled.outcome)
        accept = bool(settled.accept)
        await self._queue(answer, Outcome.DECIDED)
        verb = "accepted" if accept else "refused"
        return MailDecision(
            InboundStatus.RELAYED,
            f"decided by reply: {request.kind.value} {verb}",
            facts.family_id,
            {
                "decision": request.kind.value,
                "ids": list(request.subject_ids),
                "accepted": accept,
                "staff_id": staff.id,
            },
        )

    async def facts_of(self, request: DecisionRequest) -> RequestFacts | None:
        """Where a request stands now, whose service decides it (None: it no longer exists)."""
        async with self._sessions() as session:
            return await _facts(session, request)

    async def settle(
        self,
        mail_id: int,
        staff_id: int,
        request: DecisionRequest,
        facts: RequestFacts,
        reading: Reading,
    ) -> Settled:
        """Apply an accepting or refusing `reading` of mail `mail_id` to a request the staff
        member's service decides (the caller checked who acts): the first decision wins,
        the same mail again confirms once. Nothing is queued: the caller answers."""
        accept = reading.verdict is Verdict.ACCEPT
        claim = await self._claim(facts, mail_id, staff_id, accept)
        if claim.mail_id != mail_id:
            already = await self._already_details(request, facts, claim)
            return Settled(Outcome.ALREADY_DECIDED, already)
        if not facts.pending and not claim.fresh:
            # This mail decided it already (an attempt cut short after the decision).
            accept = claim.accept
        elif not facts.pending:
            await self._drop_claim(facts.key, mail_id)
            already = await self._already_details(request, facts, None)
            return Settled(Outcome.ALREADY_DECIDED, already)
        else:
            try:
                await self._apply(request, facts, Actor.staff(staff_id), accept, reading)
            except (DecisionRefused, FileMoved, InvalidReclassification) as refused:
                await self._drop_claim(facts.key, mail_id)
                return Settled(
                    Outcome.NOT_APPLIED, {**facts.details, "why": _refusal_code(refused)}
                )
            except AlreadyDecided:
                await self._drop_claim(facts.key, mail_id)
                already = await self._already_details(request, facts, None)
                return Settled(Outcome.ALREADY_DECIDED, already)
        details = {
            **facts.details,
            "accept": accept,
            "reason": reading.reason if not accept else "",
            "filed_as": reading.doc_type.value if accept and reading.doc_type else None,
        }
        return Settled(Outcome.DECIDED, details, accept)

    # Steps ----------------------------------------------------------------------------------

    async def _claim(
        self, facts: RequestFacts, mail_id: int, staff_id: int, accept: bool
    ) -> _Claim:
        """Take the request for this mail unless a mail took it first; who holds it now."""
        async with self._sessions.begin() as session:
            connection = await session.connection()
            inserted = await connection.scalar(
                insert_for(connection.dialect.name)(DecisionClaim.__table__)
                .values(
                    key=facts.key,
                    mail_id=mail_id,
                    staff_id=staff_id,
                    accept=accept,
                    claimed_at=self._clock(),
                )
                .on_conflict_do_nothing(index_elements=[DecisionClaim.key])
                .returning(DecisionClaim.__table__.c.mail_id)
            )
            row = (
                await connection.execute(
                    select(
                        DecisionClaim.mail_id, DecisionClaim.staff_id, DecisionClaim.accept
                    ).where(DecisionClaim.key == facts.key)
                )
            ).one()
        return _Claim(row.mail_id, row.staff_id, row.accept, fresh=inserted is not None)

    async def _drop_claim(self, key: str, mail_id: int) -> None:
        """Give the request back (the decision was not applied)."""
        async with self._sessions.begin() as session:
            claim = await session.get(DecisionClaim, key)
            if claim is not None and claim.mail_id == mail_id:
                await session.delete(claim)

    async def _apply(
        self,
        request: DecisionRequest,
        facts: RequestFacts,
        actor: Actor,
        accept: bool,
        reading: Reading,
    ) -> None:
        """The decision, through the same service as the command line."""
        reason = reading.reason
        kind = request.kind
        for subject_id in request.subject_ids:
            if kind is RequestKind.CERTIFICATE:
                await self._absences.decide(actor, subject_id, accept, reason)
            elif kind is RequestKind.DOCUMENT:
                if subject_id in facts.details.get("pending_ids", [subject_id]):
                    doc_type = reading.doc_type if accept else None
                    await self._documents.review(actor, subject_id, accept, reason, doc_type)
            elif kind is RequestKind.BOOKINGS:
                await self._bookings.decide_pending(actor, subject_id, accept, reason)
            elif kind is RequestKind.FILE_CHANGE:
                await self._family_file.decide(actor, subject_id, accept, reason)
            elif kind is RequestKind.ENROLMENT:
                await self._enrolments.decide_enrolment(actor, subject_id, accept, reason)
            else:
                await self._enrolments.decide_registration(actor, subject_id, accept, reason)

    async def _already_details(
        self, request: DecisionRequest, facts: RequestFacts, claim: _Claim | None
    ) -> dict[str, Any]:
        """Decided before this reply: by whom (when known) and how."""
        async with self._sessions() as session:
            if claim is not None:
                staff_id: int | None = claim.staff_id
                accepted: bool | None = claim.accept
            else:
                staff_id, accepted = await _last_decider(session, request), facts.accepted
            name = (
                await session.scalar(select(StaffMember.name).where(StaffMember.id == staff_id))
                if staff_id is not None
                else None
            )
        return {**facts.details, "by": name, "accept": accepted}

    async def _told(self, answer: _Answer, outcome: Outcome) -> MailDecision:
        """Nothing changed: the sender is told why."""
        await self._queue(answer, outcome)
        status = InboundStatus.QUARANTINED if outcome in SET_ASIDE else InboundStatus.IGNORED
        return MailDecision(
            status,
            f"decision reply not applied: {outcome.value}",
            answer.family_id,
            {"decision": answer.kind.value, "answered": outcome.value},
        )

    async def _queue(self, answer: _Answer, outcome: Outcome) -> None:
        """The answer to the sender, once per mail whatever the attempts."""
        if not answer.sender or "@" not in answer.sender:
            return
        async with self._sessions.begin() as session:
            await enqueue(
                session,
                channel=Channel.EMAIL,
                recipient=answer.sender,
                kind=DECISION_ANSWER,
                payload={
                    "outcome": outcome.value,
                    "request": answer.kind.value,
                    "mail_id": answer.mail_id,
                    **answer.details,
                },
                dedup_key=f"decision:{answer.mail_id}:answer",
            )


@dataclass
class _Answer:
    mail_id: int
    sender: str
    kind: RequestKind
    family_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Claim:
    mail_id: int
    staff_id: int
    accept: bool
    fresh: bool


def _refusal_code(error: StoreError) -> str:
    if isinstance(error, DecisionRefused):
        return error.code
    if isinstance(error, FileMoved):
        return "file_moved"
    return "certificate_stays"


async def _last_decider(session: AsyncSession, request: DecisionRequest) -> int | None:
    """The staff member who last decided this request, from the audit log (None: the system,
    or unknown)."""
    entity, actions = AUDITED[request.kind]
    label = await session.scalar(
        select(AuditEntry.actor)
        .where(
            AuditEntry.entity == entity,
            AuditEntry.entity_id.in_(list(request.subject_ids)),
            AuditEntry.action.in_(actions),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    if label and label.startswith("staff:"):
        try:
            return int(label.removeprefix("staff:"))
        except ValueError:
            return None
    return None


async def _service_id(session: AsyncSession, code: str) -> int | None:
    return await session.scalar(select(Service.id).where(Service.code == code))


def _day(value: date) -> str:
    return value.isoformat()


async def _facts(session: AsyncSession, request: DecisionRequest) -> RequestFacts | None:
    """Where the request stands now (None when it no longer exists)."""
    ids = list(request.subject_ids)
    if not ids:
        return None
    key = f"{request.kind.value}:{','.join(str(i) for i in ids)}"
    return await FACTS[request.kind](session, ids, key)


async def _certificate(session: AsyncSession, ids: list[int], key: str) -> RequestFacts | None:
    row = (
        await session.execute(
            select(Absence, Child.first_name, Child.last_name)
            .join(Child, Child.id == Absence.child_id)
            .where(Absence.id == ids[0])
        )
    ).first()
    if row is None:
        return None
    absence, first, last = row
    certificate = (
        await session.get(Document, absence.certificate_id)
        if absence.certificate_id is not None
        else None
    )
    pending = certificate is not None and (
        absence.status is AbsenceStatus.REPORTED
        or (
            absence.status is AbsenceStatus.REFUSED
            and certificate.status is DocumentStatus.PENDING
        )
    )
    return RequestFacts(
        await _service_id(session, FAMILY_FILE_SERVICE),
        absence.family_id,
        pending,
        f"{key}:{absence.certificate_id}",
        accepted=absence.status is AbsenceStatus.EXCUSED,
        details={
            "child": child_label(first, last),
            "start": _day(absence.start),
            "end": _day(absence.end),
        },
    )


async def _documents(session: AsyncSession, ids: list[int], key: str) -> RequestFacts | None:
    rows = (
        await session.execute(
            select(Document, Child.first_name, Child.last_name)
            .outerjoin(Child, Child.id == Document.child_id)
            .where(Document.id.in_(ids))
            .order_by(Document.id)
        )
    ).all()
    if not rows:
        return None
    pending_ids = [d.id for d, _, _ in rows if d.status is DocumentStatus.PENDING]
    first_doc, first, last = rows[0]
    return RequestFacts(
        await _service_id(session, FAMILY_FILE_SERVICE),
        first_doc.family_id,
        bool(pending_ids),
        key,
        accepted=first_doc.status is DocumentStatus.ACCEPTED,
        details={
            "child": child_label(first, last) if first else None,
            "doc_type": first_doc.doc_type.value,
            "count": len(rows),
            "pending_ids": pending_ids,
        },
    )


async def _bookings(session: AsyncSession, ids: list[int], key: str) -> RequestFacts | None:
    rows = (
        await session.execute(
            select(Booking, Child.first_name, Child.last_name, Activity)
            .join(Child, Child.id == Booking.child_id)
            .join(Activity, Activity.id == Booking.activity_id)
            .where(Booking.id.in_(ids))
            .order_by(Booking.day, Booking.id)
        )
    ).all()
    if not rows:
        return None
    states = [b.state for b, _, _, _ in rows]
    activity = rows[0][3]
    return RequestFacts(
        activity.service_id,
        rows[0][0].family_id,
        BookingState.PENDING in states,
        key,
        accepted=BookingState.CONFIRMED in states,
        details={
            "child": ", ".join(dict.fromkeys(child_label(f, la) for _, f, la, _ in rows)),
            "activity": activity.name,
            "days": sorted({_day(b.day) for b, _, _, _ in rows}),
        },
    )


async def _file_change(session: AsyncSession, ids: list[int], key: str) -> RequestFacts | None:
    change = await session.get(FileChange, ids[0])
    if change is None:
        return None
    child = await session.get(Child, change.child_id) if change.child_id else None
    return RequestFacts(
        await _service_id(session, FAMILY_FILE_SERVICE),
        change.family_id,
        change.status is RequestStatus.PENDING,
        key,
        accepted=change.status is RequestStatus.ACCEPTED,
        details={
            "field": change.field,
            "child": child_label(child.first_name, child.last_name) if child else None,
        },
    )


async def _enrolment(session: AsyncSession, ids: list[int], key: str) -> RequestFacts | None:
    row = (
        await session.execute(
            select(EnrolmentRequest, Child.first_name, Child.last_name, Activity)
            .join(Child, Child.id == EnrolmentRequest.child_id)
            .join(Activity, Activity.id == EnrolmentRequest.activity_id)
            .where(EnrolmentRequest.id == ids[0])
        )
    ).first()
    if row is None:
        return None
    enrolment, first, last, activity = row
    return RequestFacts(
        activity.service_id,
        enrolment.family_id,
        enrolment.status in (RequestStatus.PENDING, RequestStatus.WAITLISTED),
        key,
        accepted=enrolment.status is RequestStatus.ACCEPTED,
        details={
            "child": child_label(first, last),
            "activity": activity.name,
            "start": _day(enrolment.starts_on),
        },
    )


async def _registration(session: AsyncSession, ids: list[int], key: str) -> RequestFacts | None:
    registration = await session.get(ChildRegistration, ids[0])
    if registration is None:
        return None
    return RequestFacts(
        await _service_id(session, FAMILY_FILE_SERVICE),
        registration.family_id,
        registration.status is RequestStatus.PENDING,
        key,
        accepted=registration.status is RequestStatus.ACCEPTED,
        details={"child": child_label(registration.first_name, registration.last_name)},
    )


FACTS = {
    RequestKind.CERTIFICATE: _certificate,
    RequestKind.DOCUMENT: _documents,
    RequestKind.BOOKINGS: _bookings,
    RequestKind.FILE_CHANGE: _file_change,
    RequestKind.ENROLMENT: _enrolment,
    RequestKind.REGISTRATION: _registration,
}
