"""The access log: every read of a family's document or of a child's health details by
someone outside the family — a staff member (the family file, a change to decide, a day's
sheet) or a service's mailbox (a certificate or a document attached to its notification).

It is written in the transaction of the read where there is one, with who, what, when and
why (the request the read served), never what was read. Staff list a family's entries with
`portail privacy access-log FAMILY`; a guardian asks the bot "qui a consulté nos données ?"
and reads the service and the date — a staff member's name only when the town says so
(`ACCESS_LOG_SHOWS_STAFF_NAMES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from store.actors import Actor
from store.models import Child, Document, Service, StaffMember
from store.models.access_log import AccessEntry
from store.models.enums import ActorKind

DOCUMENT = "document"
HEALTH = "health"
# The whole family's data, documents and health details included (`what_id`: the family).
EXPORT = "export"
LIST_LIMIT = 200


@dataclass(frozen=True)
class AccessView:
    """One read, as the reader of the log is allowed to see it."""

    at: datetime
    service_name: str | None
    reader_name: str | None
    what: str
    what_id: int
    why: str
    # The child's first name (health), or the document's type code (None: deleted since).
    subject: str | None


async def record_staff_read(
    session: AsyncSession, actor: Actor, family_id: int, what: str, what_id: int, why: str
) -> None:
    """Record that the staff member `actor` read `what` of the family — or the system, i.e.
    an administrator on the command line without `--as` (nothing for the family's own
    guardians)."""
    if actor.kind is ActorKind.SYSTEM:
        session.add(
            AccessEntry(
                family_id=family_id,
                reader=actor.label,
                reader_name=None,
                service_name=None,
                what=what,
                what_id=what_id,
                why=why[:120],
            )
        )
        return
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        return
    found = (
        await session.execute(
            select(StaffMember.name, Service.name)
            .join(Service, Service.id == StaffMember.service_id)
            .where(StaffMember.id == actor.id)
        )
    ).first()
    staff_name, service_name = found if found is not None else (None, None)
    session.add(
        AccessEntry(
            family_id=family_id,
            reader=actor.label,
            reader_name=staff_name,
            service_name=service_name,
            what=what,
            what_id=what_id,
            why=why,
        )
    )


async def record_mailed(
    session: AsyncSession,
    family_id: int,
    document_id: int,
    why: str,
    *,
    service_code: str | None = None,
    service_name: str | None = None,
) -> None:
    """Record that a document of the family was attached to a mail to a service's mailbox
    (named by its code, or by its name): whoever reads that mailbox is the reader."""
    if service_name is None and service_code is not None:
        service_name = await session.scalar(
            select(Service.name).where(Service.code == service_code)
        )
    _add_mailbox_read(
        session, family_id, service_name or service_code or "?", DOCUMENT, document_id, why
    )


async def record_mailed_health(
    session: AsyncSession, family_id: int, child_id: int, why: str, *, service_name: str
) -> None:
    """Record that a child's health flags went in a mail to a service's mailbox (a daily
    list): whoever reads that mailbox is the reader."""
    _add_mailbox_read(session, family_id, service_name, HEALTH, child_id, why)


def _add_mailbox_read(
    session: AsyncSession, family_id: int, service_name: str, what: str, what_id: int, why: str
) -> None:
    """An entry whose reader is a service's mailbox (no staff member's name)."""
    session.add(
        AccessEntry(
            family_id=family_id,
            reader=f"mailbox:{service_name}"[:80],
            reader_name=None,
            service_name=service_name[:200],
            what=what,
            what_id=what_id,
            why=why[:120],
        )
    )


class AccessLogService:
    """The reads of a family's data, for its guardians and for staff."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], shows_staff_names: bool):
        self._sessions = sessions
        self._shows_staff_names = shows_staff_names

    async def for_family(
        self, actor: Actor, family_id: int, limit: int = LIST_LIMIT
    ) -> list[AccessView]:
        """The family's entries, newest first: staff see who read; a guardian of the family
        sees the service (and the staff member's name when the town says so)."""
        actor.check_family(family_id)
        names = actor.is_staff or self._shows_staff_names
        async with self._sessions() as session:
            entries = list(
                await session.scalars(
                    select(AccessEntry)
                    .where(AccessEntry.family_id == family_id)
                    .order_by(AccessEntry.at.desc(), AccessEntry.id.desc())
                    .limit(limit)
                )
            )
            children = await _names(session, Child.id, Child.first_name, entries, HEALTH)
            types = await _names(session, Document.id, Document.doc_type, entries, DOCUMENT)
        return [
            AccessView(
                entry.at,
                entry.service_name,
                (entry.reader_name or entry.reader) if names else None,
                entry.what,
                entry.what_id,
                entry.why,
                str(
                    {HEALTH: children, DOCUMENT: types}.get(entry.what, {}).get(entry.what_id)
                    or ""
                )
                or None,
            )
            for entry in entries
        ]


async def _names(
    session: AsyncSession,
    key: InstrumentedAttribute[int],
    name: InstrumentedAttribute[Any],
    entries: list[AccessEntry],
    what: str,
) -> dict[int, Any]:
    """What each entry of kind `what` read, by id (children's first names, documents' types);
    the family's own rows only."""
    ids = {entry.what_id for entry in entries if entry.what == what}
    if not ids:
        return {}
    rows = await session.execute(select(key, name).where(key.in_(ids)))
    return {row_id: value for row_id, value in rows}
