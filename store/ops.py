"""What the operators watch of the store: its queues, read in two statements.

`queue_snapshot` is what `/healthz` and `/metrics` show (`bot.ops_http`): the store answers
(the queries themselves), the outbox's notices not yet delivered per channel and how long the
oldest due one has waited, the inbound mails accepted and not yet processed and how long the
oldest has waited. No family data: counts and ages only.

A notice is due from the later of its creation and its `next_attempt_at` (a notice due at
once carries a date in the past, `store.outbox.DUE_AT_ONCE`; one retried, the time of its
retry): its lag is the time since, on the reader's clock. A notice being sent (leased) or
waiting for its retry is not due, and counts as pending only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import InboundMail, OutboxItem
from store.models.base import UTCDateTime
from store.models.enums import Channel, DeliveryState
from store.models.inbound import InboundStatus


@dataclass(frozen=True)
class QueueSnapshot:
    """The store's queues at one moment; lags and ages in seconds (0: nothing waits)."""

    outbox_pending: dict[Channel, int] = field(default_factory=dict)
    outbox_lag: dict[Channel, float] = field(default_factory=dict)
    mail_waiting: int = 0
    mail_age: float = 0.0


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    """Seconds from `moment` to `now`, never below 0 (0 when there is none)."""
    return 0.0 if moment is None else max(0.0, (now - moment).total_seconds())


async def queue_snapshot(
    sessions: async_sessionmaker[AsyncSession], now: datetime
) -> QueueSnapshot:
    """The outbox and the inbound mail queue at `now`; raises if the store does not answer."""
    due_since = type_coerce(
        case(
            (OutboxItem.next_attempt_at > OutboxItem.created_at, OutboxItem.next_attempt_at),
            else_=OutboxItem.created_at,
        ),
        UTCDateTime(),
    )
    oldest_due = type_coerce(
        func.min(case((OutboxItem.next_attempt_at <= now, due_since))), UTCDateTime()
    )
    oldest_mail = type_coerce(func.min(InboundMail.received_at), UTCDateTime())
    async with sessions() as session:
        outbox = (
            await session.execute(
                select(OutboxItem.channel, func.count(), oldest_due)
                .where(OutboxItem.state == DeliveryState.PENDING)
                .group_by(OutboxItem.channel)
            )
        ).all()
        mail_waiting, mail_oldest = (
            await session.execute(
                select(func.count(), oldest_mail).where(
                    InboundMail.status == InboundStatus.RECEIVED
                )
            )
        ).one()
    return QueueSnapshot(
        outbox_pending={channel: count for channel, count, _ in outbox},
        outbox_lag={channel: _seconds_since(oldest, now) for channel, _, oldest in outbox},
        mail_waiting=int(mail_waiting),
        mail_age=_seconds_since(mail_oldest, now),
    )
