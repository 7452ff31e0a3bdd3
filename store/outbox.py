"""The outbox: notifications are written with the change that causes them, delivered later.

Delivery (Telegram or email) happens in a worker that claims due items and marks them sent;
enqueuing is idempotent through `dedup_key`, so replaying an action never notifies twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Guardian, OutboxItem
from store.models.enums import Channel, DeliveryState


async def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    dedup_key: str,
) -> bool:
    """Queue one notification unless one with the same `dedup_key` exists; True if queued."""
    exists = await session.scalar(select(OutboxItem.id).where(OutboxItem.dedup_key == dedup_key))
    if exists is not None:
        return False
    session.add(
        OutboxItem(
            channel=channel,
            recipient=recipient,
            kind=kind,
            payload=payload,
            dedup_key=dedup_key,
            state=DeliveryState.PENDING,
        )
    )
    return True


async def notify_family(
    session: AsyncSession, family_id: int, kind: str, payload: dict[str, Any], event_key: str
) -> int:
    """Queue a Telegram message to every linked guardian of a family; returns how many."""
    chats = await session.scalars(
        select(Guardian.telegram_chat_id).where(
            Guardian.family_id == family_id, Guardian.telegram_chat_id.is_not(None)
        )
    )
    queued = 0
    for chat_id in chats:
        queued += await enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(chat_id),
            kind=kind,
            payload=payload,
            dedup_key=f"{event_key}:tg:{chat_id}",
        )
    return queued
