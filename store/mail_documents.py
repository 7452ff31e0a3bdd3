"""A parent's documents sent by email: filed at once when the sender is authenticated, held
for the parent's word in the chat when not.

Anyone can write a guardian's address in a `From:` header. So a mail to the documents address
from a guardian's known address is filed straight away only when our MTA vouches for its From
domain (`ReadMail.authenticated`, see `mail.auth`). Otherwise its attachments are
checked as usual and held (written to the documents' storage, listed in the mail's `outcome`,
no document yet), the mail waits (`awaiting_confirmation`), and the family's linked chats are
asked "did you send this by email?" — Telegram is the second factor:

- "yes" files the held files exactly as an authenticated mail is filed (same notice to the
  family, one review email to the service);
- "no" throws them away, and the family file service is told of a forged mail in the family's
  name (`mail_disowned`);
- never answered, the mail expires after `confirm_period` and is thrown away.

An answer is a request, checked here: the guardian must be of the mail's family, the mail must
still be waiting and not expired, and it is answered once (the status changes in the same
transaction that files or discards; a second answer is told what the first one did). A family
with no linked chat cannot be asked: its mail is set aside for staff.

At most `max_attachments` attachments of a mail are considered; the others are counted, refused
and said so. Files are filed without their own review notification: the service gets one email
per mail listing them all (`documents_to_review`). Nothing here logs a name or a byte.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from store.absences import AbsenceService, AbsenceView, InvalidAbsence
from store.actors import AccessDenied, Actor, NotFound
from store.audit import record
from store.documents import (
    DocumentRejected,
    DocumentService,
    DocumentView,
    HeldFile,
    file_held,
)
from store.mail_decision import DOCUMENTS_RECEIVED, MAIL_TO_CONFIRM, MailDecision
from store.models import Absence, Document, Guardian, InboundMail
from store.models.base import utcnow
from store.models.enums import ActorKind, DocumentSource, DocumentType
from store.models.inbound import InboundStatus
from store.outbox import notify_family
from store.safe_files import display_label
from store.staff_notices import notify_documents_to_review, notify_mail_disowned

if TYPE_CHECKING:
    from store.mail_reading import MailFile, ReadMail

logger = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10
CONFIRM_PERIOD = timedelta(days=7)
SUBJECT_CHARS = 120
# Sender notice codes (sent, rate-limited, by `InboundMailService._finish`).
UNKNOWN_SENDER = "unknown_sender"
TOO_MANY_ATTACHMENTS = "too_many_attachments"
ATTACHMENT_TOO_LARGE = "attachment_too_large"


class Answer(StrEnum):
    """What a parent's answer to "did you send this?" did."""

    FILED = "filed"
    DISCARDED = "discarded"
    ALREADY_FILED = "already_filed"
    ALREADY_DISCARDED = "already_discarded"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Confirmation:
    """The outcome of an answer, and how many files it concerned."""

    answer: Answer
    files: int


@dataclass(frozen=True)
class _Considered:
    """The attachments of a mail worth filing: the first `max`, and how many were left."""

    files: list[MailFile]
    received: int
    not_taken: int
    skipped_body_images: int


class MailDocuments:
    """File, hold, confirm and expire the documents parents send by email."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: DocumentService,
        absences: AbsenceService,
        *,
        max_attachments: int = MAX_ATTACHMENTS,
        inline_document_min_bytes: int = 20_000,
        confirm_period: timedelta = CONFIRM_PERIOD,
    ):
        self._sessions = sessions
        self._documents = documents
        self._absences = absences
        self.max_attachments = max_attachments
        self.inline_document_min_bytes = inline_document_min_bytes
        self.confirm_period = confirm_period

    # Deciding ------------------------------------------------------------------------------

    async def decide(self, mail_id: int, mail: ReadMail, received_at: datetime) -> MailDecision:
        """File, hold for confirmation, or set aside a mail to the documents address."""
        # The guardian, and whether their family has a chat to ask in: one read.
        relative = aliased(Guardian)
        linked = (
            select(relative.id)
            .where(
                relative.family_id == Guardian.family_id,
                relative.telegram_chat_id.is_not(None),
            )
            .exists()
        )
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Guardian, linked).where(func.lower(Guardian.email) == mail.from_address)
                )
            ).first()
        guardian, has_chat = row if row is not None else (None, False)
        if guardian is None:
            return MailDecision(
                InboundStatus.QUARANTINED,
                "documents from an unknown sender",
                sender_notice=UNKNOWN_SENDER,
            )
        family_id = guardian.family_id
        actor = Actor.guardian(guardian.id, family_id)
        considered = self._considered(mail.attachments)
        absence = await self._absence(actor, mail.absence_reference)
        if mail.authenticated:
            return await self._file_now(mail, actor, considered, absence, received_at)
        if not has_chat:
            return MailDecision(
                InboundStatus.QUARANTINED,
                "not authenticated, and no Telegram chat to confirm it",
                family_id,
                {"attachments": considered.received, "not_taken": considered.not_taken},
            )
        return await self._hold(mail_id, mail, family_id, considered, absence, received_at)

    def _considered(self, attachments: Sequence[MailFile]) -> _Considered:
        files = [
            a for a in attachments if not (a.inline and a.size < self.inline_document_min_bytes)
        ]
        kept = files[: self.max_attachments]
        return _Considered(kept, len(files), len(files) - len(kept), len(attachments) - len(files))

    async def _absence(self, actor: Actor, reference: str | None) -> AbsenceView | None:
        if not reference:
            return None
        try:
            return await self._absences.find_by_reference(actor, reference)
        except AccessDenied:
            return None  # another family's reference: said unknown, never revealed

    @staticmethod
    def _doc_type(attachment: MailFile, absence: AbsenceView | None) -> DocumentType:
        doc_type = attachment.guessed_type
        if absence is not None and doc_type in (
            DocumentType.TO_CLASSIFY,
            DocumentType.MEDICAL_CERTIFICATE,
        ):
            return DocumentType.MEDICAL_CERTIFICATE
        return doc_type

    async def _file_now(
        self,
        mail: ReadMail,
        actor: Actor,
        considered: _Considered,
        absence: AbsenceView | None,
        received_at: datetime,
    ) -> MailDecision:
        """An authenticated mail: each considered attachment becomes a document."""
        family_id = actor.family_id
        assert family_id is not None
        received: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        certificate: DocumentView | None = None
        for attachment in considered.files:
            name = display_label(attachment.filename)  # shown to the parent, never a file name
            try:
                # Too large is known from the size alone (the reader may not have decoded it).
                self._documents.check_size(attachment.size)
                view = await self.already_filed(family_id, attachment.content, received_at)
                if view is None:
                    view = await self._documents.add(
                        actor,
                        family_id,
                        self._doc_type(attachment, absence),
                        attachment.content,
                        original_name=name,
                        source=DocumentSource.EMAIL,
                        review_notice=False,
                    )
            except DocumentRejected as error:
                refused.append(_refusal(name, attachment.size, error))
                continue
            received.append(
                {"name": name, "type": view.doc_type.value, "size": view.size, "id": view.id}
            )
            if certificate is None and view.doc_type is DocumentType.MEDICAL_CERTIFICATE:
                certificate = view
        attached_to = await self._attach(actor, absence, certificate)
        ids = [r["id"] for r in received]
        notice = _notice(
            mail, received, refused, attached_to, absence, considered, self.max_attachments
        )
        reason = f"{len(received)} filed, {len(refused)} refused"
        if considered.not_taken:
            reason += f", {considered.not_taken} not taken"
        if not received and not refused:
            reason = "no attachment"
        outcome = {
            "documents": ids,
            "refused": refused,
            "not_taken": considered.not_taken,
            "skipped_body_images": considered.skipped_body_images,
            "absence": attached_to,
            "authenticated": True,
        }
        code, details = self._sender_notice(considered, received, refused)
        return MailDecision(
            InboundStatus.FILED,
            reason,
            family_id,
            outcome,
            notice,
            sender_notice=code,
            sender_details=details,
            # One review email for the whole mail, queued with the decision (keyed on the
            # mail: once, whatever the attempts), held back while the certificate's own
            # notification may carry it.
            review_documents=ids,
        )

    async def _hold(
        self,
        mail_id: int,
        mail: ReadMail,
        family_id: int,
        considered: _Considered,
        absence: AbsenceView | None,
        received_at: datetime,
    ) -> MailDecision:
        """A mail not authenticated: its files checked and held, the parent asked."""
        held: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        try:
            for attachment in considered.files:
                name = display_label(attachment.filename)
                try:
                    self._documents.check_size(attachment.size)
                    kept = await self._documents.hold(attachment.content)
                except DocumentRejected as error:
                    refused.append(_refusal(name, attachment.size, error))
                    continue
                held.append(
                    {
                        "key": kept.storage_key,
                        "name": name,
                        "type": self._doc_type(attachment, absence).value,
                        "content_type": kept.content_type,
                        "size": kept.size,
                        "sha256": kept.sha256,
                    }
                )
        except BaseException:
            await self._documents.discard_held([h["key"] for h in held])
            raise
        code, details = self._sender_notice(considered, held, refused)
        counts = {
            "refused": refused,
            "not_taken": considered.not_taken,
            "skipped_body_images": considered.skipped_body_images,
        }
        if not held:
            # Nothing that could be filed: no question to ask (nor a chat to fill for a forger).
            return MailDecision(
                InboundStatus.QUARANTINED,
                "not authenticated, and nothing to file",
                family_id,
                counts,
                sender_notice=code,
                sender_details=details,
            )
        subject = mail.subject[:SUBJECT_CHARS]
        expires_at = utcnow() + self.confirm_period
        outcome = {
            **counts,
            "held": held,
            "subject": subject,
            "absence_reference": mail.absence_reference,
            "expires_at": expires_at.isoformat(),
        }
        question = {
            "mail_id": mail_id,
            "subject": subject,
            "received_at": received_at.isoformat(),
            "files": [{k: h[k] for k in ("name", "type", "size")} for h in held],
            "refused": refused,
            "not_taken": considered.not_taken,
            "max_attachments": self.max_attachments,
        }
        return MailDecision(
            InboundStatus.AWAITING_CONFIRMATION,
            f"not authenticated: {len(held)} held for the parent's confirmation",
            family_id,
            outcome,
            question,
            notice_kind=MAIL_TO_CONFIRM,
            sender_notice=code,
            sender_details=details,
        )

    def _sender_notice(
        self,
        considered: _Considered,
        taken: Sequence[Any],
        refused: Sequence[dict[str, Any]],
    ) -> tuple[str | None, dict[str, Any] | None]:
        if considered.not_taken:
            return TOO_MANY_ATTACHMENTS, {
                "max": self.max_attachments,
                "received": considered.received,
            }
        if not taken and any(r["reason"] == "too_large" for r in refused):
            limit = next(r["limit"] for r in refused if r["reason"] == "too_large")
            return ATTACHMENT_TOO_LARGE, {"max_bytes": limit}
        return None, None

    async def _attach(
        self, actor: Actor, absence: AbsenceView | None, certificate: DocumentView | None
    ) -> str | None:
        """Attach the certificate to the absence its mail named; the reference, or None."""
        if absence is None or certificate is None:
            return None
        try:
            await self._absences.attach_certificate(actor, absence.id, certificate.id)
        except (InvalidAbsence, AccessDenied, NotFound) as error:
            logger.warning("certificate not attached to absence %s: %s", absence.id, error)
            return None
        return absence.reference

    async def already_filed(
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
        return await self._documents.view(Actor.system(), document_id)

    # Answering -----------------------------------------------------------------------------

    async def answer(
        self, actor: Actor, mail_id: int, sent_it: bool, now: datetime
    ) -> Confirmation:
        """A guardian's answer to "did you send this by email?" for a held mail.

        Raises NotFound for a mail that never awaited an answer, AccessDenied for another
        family's; a mail answered already (or expired) is told as such, never acted on
        twice."""
        if actor.kind is not ActorKind.GUARDIAN:
            raise AccessDenied("only the family's guardian answers for its mail")
        discarded: list[str] = []
        filed: list[DocumentView] = []
        absence: Absence | None = None
        async with self._sessions.begin() as session:
            mail = await session.get(InboundMail, mail_id, with_for_update=True)
            if mail is None or mail.family_id is None:
                raise NotFound("unknown mail")
            actor.check_family(mail.family_id)
            outcome = dict(mail.outcome or {})
            held = list(outcome.get("held") or [])
            if mail.status is InboundStatus.FILED and outcome.get("confirmed_by"):
                return Confirmation(Answer.ALREADY_FILED, len(outcome.get("documents") or []))
            if mail.status is InboundStatus.DISCARDED:
                expired = outcome.get("discarded") == "expired"
                answer = Answer.EXPIRED if expired else Answer.ALREADY_DISCARDED
                return Confirmation(answer, len(held))
            if mail.status is not InboundStatus.AWAITING_CONFIRMATION:
                raise NotFound("this mail is not awaiting an answer")
            if self._expired(mail, now):
                discarded = _discard(session, mail, outcome, "expired", actor.label)
                return_value = Confirmation(Answer.EXPIRED, len(held))
            elif not sent_it:
                discarded = _discard(session, mail, outcome, "disowned", actor.label)
                await notify_mail_disowned(session, mail.id)
                return_value = Confirmation(Answer.DISCARDED, len(held))
            else:
                filed, absence = await self._file_held(session, actor, mail, outcome, now)
                return_value = Confirmation(Answer.FILED, len(filed))
        # After the commit: files of a discarded mail removed, a certificate attached.
        await self._documents.discard_held(discarded)
        if absence is not None:
            certificate = next(
                (f for f in filed if f.doc_type is DocumentType.MEDICAL_CERTIFICATE), None
            )
            if certificate is not None:
                view = await self._absence(actor, absence.reference)
                await self._attach(actor, view, certificate)
        return return_value

    def _expired(self, mail: InboundMail, now: datetime) -> bool:
        since = mail.processed_at or mail.received_at
        return since + self.confirm_period <= now

    async def _file_held(
        self,
        session: AsyncSession,
        actor: Actor,
        mail: InboundMail,
        outcome: dict[str, Any],
        now: datetime,
    ) -> tuple[list[DocumentView], Absence | None]:
        """File a held mail's files, in the answer's transaction, and queue the same notices
        an authenticated mail queues."""
        family_id = mail.family_id
        assert family_id is not None
        reference = outcome.get("absence_reference")
        absence = None
        if reference:
            absence = await session.scalar(
                select(Absence).where(
                    Absence.reference == str(reference).upper(), Absence.family_id == family_id
                )
            )
        filed: list[DocumentView] = []
        for item in outcome.get("held") or []:
            held = HeldFile(item["key"], item["content_type"], item["size"], item["sha256"])
            view = await file_held(
                session,
                actor,
                family_id,
                DocumentType(item["type"]),
                held,
                original_name=item.get("name"),
                source=DocumentSource.EMAIL,
            )
            filed.append(view)
        has_certificate = any(f.doc_type is DocumentType.MEDICAL_CERTIFICATE for f in filed)
        received = [
            {"name": item.get("name"), "type": view.doc_type.value, "size": view.size}
            for item, view in zip(outcome.get("held") or [], filed, strict=True)
        ]
        refused = list(outcome.get("refused") or [])
        notice = {
            "subject": outcome.get("subject") or "",
            "received": received,
            "refused": refused,
            "not_taken": outcome.get("not_taken") or 0,
            "max_attachments": self.max_attachments,
            "certificate_for": absence.reference if absence and has_certificate else None,
            "unknown_reference": reference if reference and absence is None else None,
        }
        mail.status = InboundStatus.FILED
        mail.reason = f"confirmed by the parent: {len(filed)} filed, {len(refused)} refused"
        outcome = {k: v for k, v in outcome.items() if k != "held"}
        outcome.update(
            documents=[f.id for f in filed],
            confirmed_by=actor.label,
            confirmed_at=now.isoformat(),
        )
        mail.outcome = outcome
        record(session, actor, "confirm_mail", "inbound_mail", mail.id, files=len(filed))
        await notify_family(
            session,
            family_id,
            DOCUMENTS_RECEIVED,
            notice,
            event_key=f"inbound:{mail.id}:documents",
        )
        await notify_documents_to_review(session, mail.id, [f.id for f in filed], now)
        return filed, (absence if has_certificate else None)

    # Expiring ------------------------------------------------------------------------------

    async def expire_unconfirmed(self, now: datetime) -> int:
        """Discard the held mails no one answered within `confirm_period`; how many."""
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(InboundMail.id).where(
                        InboundMail.status == InboundStatus.AWAITING_CONFIRMATION,
                        InboundMail.processed_at <= now - self.confirm_period,
                    )
                )
            )
        expired = 0
        for mail_id in ids:
            discarded: list[str] = []
            async with self._sessions.begin() as session:
                mail = await session.get(InboundMail, mail_id, with_for_update=True)
                if mail is None or mail.status is not InboundStatus.AWAITING_CONFIRMATION:
                    continue  # answered meanwhile
                discarded = _discard(
                    session, mail, dict(mail.outcome or {}), "expired", Actor.system().label
                )
            await self._documents.discard_held(discarded)
            expired += 1
        return expired


def _discard(
    session: AsyncSession, mail: InboundMail, outcome: dict[str, Any], why: str, by: str
) -> list[str]:
    """Mark a held mail discarded (`why`: disowned, expired); the keys of its files, to
    remove once committed."""
    held = list(outcome.get("held") or [])
    mail.status = InboundStatus.DISCARDED
    mail.reason = (
        "the parent said they did not send it" if why == "disowned" else "not confirmed in time"
    )
    kept = {k: v for k, v in outcome.items() if k != "held"}
    kept.update(held=[{"name": h.get("name"), "size": h.get("size")} for h in held])
    kept.update(discarded=why, answered_by=by)
    mail.outcome = kept
    record(session, Actor.system(), "discard_mail", "inbound_mail", mail.id, why=why, by=by)
    return [h["key"] for h in held if h.get("key")]


def _refusal(name: str | None, size: int, error: DocumentRejected) -> dict[str, Any]:
    return {"name": name, "reason": error.reason.value, "size": size, "limit": error.limit_bytes}


def _notice(
    mail: ReadMail,
    received: list[dict[str, Any]],
    refused: list[dict[str, Any]],
    attached_to: str | None,
    absence: AbsenceView | None,
    considered: _Considered,
    max_attachments: int,
) -> dict[str, Any]:
    """The family's `documents_received` notice: what was filed, refused, not taken."""
    return {
        "subject": mail.subject[:SUBJECT_CHARS],
        "received": [{k: v for k, v in r.items() if k != "id"} for r in received],
        "refused": refused,
        "not_taken": considered.not_taken,
        "max_attachments": max_attachments,
        "certificate_for": attached_to,
        "unknown_reference": mail.absence_reference if absence is None else None,
    }
