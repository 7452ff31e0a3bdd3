"""Read-only facts the family-file chat flows need: a service's address, notification subjects.

Like `store.planning.booking_facts`, the facts functions serve the system's own notifications
(the outbox worker acts for no family); they never return a medical detail nor a file's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import Absence, Child, Document
from store.models.enums import DocumentType

FAMILY_FILE_SERVICE = "family_file"


@dataclass(frozen=True)
class AbsenceFacts:
    """Whose absence, over which days, under which reference."""

    child_name: str
    start: date
    end: date
    reference: str


@dataclass(frozen=True)
class DocumentFacts:
    """Which kind of document, and for which child (None: for the whole family)."""

    doc_type: DocumentType
    child_name: str | None


async def absence_facts(
    sessions: async_sessionmaker[AsyncSession], absence_id: int
) -> AbsenceFacts | None:
    """Child, days and reference of an absence (for the system's own notifications)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Child.first_name, Absence.start, Absence.end, Absence.reference)
                .join(Child, Child.id == Absence.child_id)
                .where(Absence.id == absence_id)
            )
        ).first()
        return AbsenceFacts(*row) if row else None


async def document_facts(
    sessions: async_sessionmaker[AsyncSession], document_id: int
) -> DocumentFacts | None:
    """Kind and child of a document (for the system's own notifications)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Document.doc_type, Child.first_name)
                .outerjoin(Child, Child.id == Document.child_id)
                .where(Document.id == document_id)
            )
        ).first()
        return DocumentFacts(*row) if row else None
