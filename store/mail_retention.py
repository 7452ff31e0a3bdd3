"""How long inbound mails keep their raw bytes, and the purge that empties them.

A mail's bytes are what the sender wrote, attachments included (children's certificates,
forms): they are kept only as long as someone may need them. Once a mail was processed, its
bytes are emptied after `raw_days` (filed, relayed or ignored: what it became lives on in the
family's file or the thread), or after `set_aside_days` when it was set aside (quarantined,
malformed, held for staff: staff may still look at it or release it). The row itself stays,
without its bytes: sender, subject, size, status, reason, what was filed or relayed — what
staff need to answer "what became of my mail?". A mail still to process is never touched.

The purge is one UPDATE, idempotent (a mail already emptied is left as it is): any number of
mail workers, and `portail mail purge`, may run it at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import changed_rows
from store.models import InboundMail
from store.models.inbound import InboundStatus

DEFAULT_RAW_DAYS = 30
DEFAULT_SET_ASIDE_DAYS = 90
# Processed and done with: what they became is elsewhere. Every other status but `received`
# is a mail set aside for staff, kept for the longer period.
DONE = (InboundStatus.FILED, InboundStatus.RELAYED, InboundStatus.IGNORED)


@dataclass(frozen=True)
class Retention:
    """Days a processed mail keeps its bytes: done with, or set aside."""

    raw_days: int = DEFAULT_RAW_DAYS
    set_aside_days: int = DEFAULT_SET_ASIDE_DAYS

    @classmethod
    def from_settings(cls, settings: object) -> Retention:
        return cls(
            raw_days=int(getattr(settings, "mail_raw_retention_days", DEFAULT_RAW_DAYS)),
            set_aside_days=int(
                getattr(settings, "mail_quarantine_retention_days", DEFAULT_SET_ASIDE_DAYS)
            ),
        )


async def purge_raw(
    sessions: async_sessionmaker[AsyncSession], now: datetime, retention: Retention
) -> int:
    """Empty the bytes of the mails past their retention at `now`; how many were emptied."""
    done_before = now - timedelta(days=retention.raw_days)
    set_aside_before = now - timedelta(days=retention.set_aside_days)
    # Every mail but a `received` one has its processing time (`_finish` sets it).
    processed_at = InboundMail.processed_at
    statement = (
        update(InboundMail)
        .where(
            InboundMail.raw_deleted_at.is_(None),
            InboundMail.status != InboundStatus.RECEIVED,
            or_(
                and_(InboundMail.status.in_(DONE), processed_at < done_before),
                and_(InboundMail.status.not_in(DONE), processed_at < set_aside_before),
            ),
        )
        .values(raw=b"", raw_deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    async with sessions.begin() as session:
        return await changed_rows(session, statement)
