"""How long children's data are kept, and the daily purge that deletes what is past it.

Counted from the end of the school year the data concern (31 August), as a town's records
schedule does:

- a **medical certificate** is deleted `certificate_months` after the end of the school year
  of the absence it excused (or, when it excused none, of the day it was received); the
  absence keeps its dates and its status (excused or not: what was billed stays explained) but
  loses its medical side — the certificate and the words the parent gave;
- the **words of any absence** (`reason_detail`) and an illness as its reason go the same
  way, certificate or not;
- **other documents** are deleted `document_months[type]` after the end of the school year
  they were received in — except the newest of each kind for a family and child, which is
  what the family's file still rests on (a proof of address, a vaccination record);
- **audit entries** are deleted after `audit_months`.

Invoices and payments are never deleted here: accounting keeps them ten years, and they hold
no health data (a booked day and its price). Raw mails and abandoned conversations have their
own purges (`store.mail_retention`, `store.chat_state`).

The purge is idempotent (what was deleted is not found again), so the workers may race it;
the bot runs it once a day on one worker (`bot.retention_loop`, a cluster lease) and
`portail privacy purge` runs it by hand. It returns counts only: nothing about whom.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import changed_rows
from store.deadlines import PARIS
from store.models import Absence, AuditEntry, Document
from store.models.enums import AbsenceReason, DocumentType

logger = logging.getLogger(__name__)

DEFAULT_CERTIFICATE_MONTHS = 12
DEFAULT_DOCUMENT_MONTHS = 24
DEFAULT_AUDIT_MONTHS = 24
# The school year ends on 31 August: the months are counted from 1 September.
SCHOOL_YEAR_STARTS = 9
CHUNK = 500

RemoveFiles = Callable[[list[str]], Awaitable[None]]
"""Removes stored document files by key (a key already gone is no error)."""


@dataclass(frozen=True)
class RetentionRules:
    """Months each kind of data is kept after the end of its school year (audit: after it
    was written)."""

    certificate_months: int = DEFAULT_CERTIFICATE_MONTHS
    document_months: dict[DocumentType, int] = field(default_factory=dict)
    default_document_months: int = DEFAULT_DOCUMENT_MONTHS
    audit_months: int = DEFAULT_AUDIT_MONTHS

    def months_for(self, doc_type: DocumentType) -> int:
        if doc_type is DocumentType.MEDICAL_CERTIFICATE:
            return self.certificate_months
        return self.document_months.get(doc_type, self.default_document_months)

    @classmethod
    def parse(
        cls, certificate_months: int, document_months: str, audit_months: int
    ) -> RetentionRules:
        """From the settings: `document_months` is "24" (every type) or "24,proof_of_address=12"
        (a default, then types by their code); ValueError names what is wrong."""
        default = DEFAULT_DOCUMENT_MONTHS
        per_type: dict[DocumentType, int] = {}
        for part in (p.strip() for p in document_months.split(",")):
            if not part:
                continue
            name, sep, months = part.partition("=")
            if not sep:
                default = _months(name)
                continue
            try:
                doc_type = DocumentType(name.strip())
            except ValueError:
                known = ", ".join(t.value for t in DocumentType)
                raise ValueError(f"unknown document type {name.strip()!r} ({known})") from None
            per_type[doc_type] = _months(months)
        return cls(certificate_months, per_type, default, audit_months)


def _months(value: str) -> int:
    months = int(value.strip())
    if months < 0:
        raise ValueError("months must be 0 or more")
    return months


@dataclass(frozen=True)
class Purged:
    """What one purge deleted, counted."""

    certificates: int = 0
    documents: int = 0
    absence_reasons: int = 0
    audit_entries: int = 0

    @property
    def total(self) -> int:
        return self.certificates + self.documents + self.absence_reasons + self.audit_entries


def school_year_end(day: date) -> date:
    """The last day (31 August) of the school year `day` is in."""
    year = day.year if day.month >= SCHOOL_YEAR_STARTS else day.year - 1
    return date(year + 1, SCHOOL_YEAR_STARTS - 1, 31)


def add_months(day: date, months: int) -> date:
    """`day` moved on by `months` (the 31st becomes the month's last day)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def expired(concerns: date, months: int, today: date) -> bool:
    """Whether data about `concerns` are past `months` after the end of its school year."""
    return add_months(school_year_end(concerns), months) < today


async def purge(
    sessions: async_sessionmaker[AsyncSession],
    remove_files: RemoveFiles,
    now: datetime,
    rules: RetentionRules,
) -> Purged:
    """Delete what is past its retention at `now`; the counts of what went. Rows go in one
    transaction per kind; files are removed once their rows are gone for good."""
    today = now.astimezone(PARIS).date()
    certificates, reasons, keys = await _purge_certificates(sessions, rules, today)
    documents, more_keys = await _purge_documents(sessions, rules, today)
    audit = await _purge_audit(sessions, rules, now)
    if keys or more_keys:
        await remove_files([*keys, *more_keys])
    purged = Purged(certificates, documents, reasons, audit)
    if purged.total:
        logger.info(
            "retention purge: %d certificate(s), %d document(s), %d absence reason(s), "
            "%d audit entry(ies)",
            purged.certificates,
            purged.documents,
            purged.absence_reasons,
            purged.audit_entries,
        )
    return purged


async def _purge_certificates(
    sessions: async_sessionmaker[AsyncSession], rules: RetentionRules, today: date
) -> tuple[int, int, list[str]]:
    months = rules.certificate_months
    async with sessions.begin() as session:
        # The last day each certificate concerns: its absences' end, else its arrival.
        rows = await session.execute(
            select(
                Document.id,
                Document.storage_key,
                Document.created_at,
                func.max(Absence.end),
            )
            .outerjoin(Absence, Absence.certificate_id == Document.id)
            .where(Document.doc_type == DocumentType.MEDICAL_CERTIFICATE)
            .group_by(Document.id, Document.storage_key, Document.created_at)
        )
        gone = [
            (document_id, key)
            for document_id, key, received, absence_end in rows
            if expired(absence_end or received.date(), months, today)
        ]
        ids = [document_id for document_id, _ in gone]
        for chunk in _chunks(ids):
            await session.execute(
                update(Absence)
                .where(Absence.certificate_id.in_(chunk))
                .values(certificate_id=None)
            )
            await session.execute(delete(Document).where(Document.id.in_(chunk)))
        # Every absence past the period loses its medical side, certificate or not.
        absences = await session.execute(
            select(Absence.id, Absence.end).where(
                (Absence.reason_detail.is_not(None)) | (Absence.reason == AbsenceReason.ILLNESS)
            )
        )
        old = [absence_id for absence_id, end in absences if expired(end, months, today)]
        reasons = 0
        for chunk in _chunks(old):
            reasons += await changed_rows(
                session,
                update(Absence)
                .where(Absence.id.in_(chunk))
                .values(reason_detail=None, reason=AbsenceReason.OTHER),
            )
    return len(ids), reasons, [key for _, key in gone]


async def _purge_documents(
    sessions: async_sessionmaker[AsyncSession], rules: RetentionRules, today: date
) -> tuple[int, list[str]]:
    async with sessions.begin() as session:
        rows = await session.execute(
            select(
                Document.id,
                Document.family_id,
                Document.child_id,
                Document.doc_type,
                Document.storage_key,
                Document.created_at,
            )
            .where(Document.doc_type != DocumentType.MEDICAL_CERTIFICATE)
            .order_by(Document.created_at.desc(), Document.id.desc())
        )
        newest: set[tuple[int, int | None, DocumentType]] = set()
        gone: list[tuple[int, str]] = []
        for document_id, family_id, child_id, doc_type, key, received in rows:
            kind = (family_id, child_id, doc_type)
            if kind not in newest:
                newest.add(kind)  # what the family's file still rests on
                continue
            if expired(received.date(), rules.months_for(doc_type), today):
                gone.append((document_id, key))
        ids = [document_id for document_id, _ in gone]
        for chunk in _chunks(ids):
            await session.execute(delete(Document).where(Document.id.in_(chunk)))
    return len(ids), [key for _, key in gone]


async def _purge_audit(
    sessions: async_sessionmaker[AsyncSession], rules: RetentionRules, now: datetime
) -> int:
    today = now.astimezone(PARIS).date()
    before = add_months(today, -rules.audit_months)
    limit = datetime.combine(before, datetime.min.time(), PARIS).astimezone(UTC)
    async with sessions.begin() as session:
        return await changed_rows(session, delete(AuditEntry).where(AuditEntry.at < limit))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
