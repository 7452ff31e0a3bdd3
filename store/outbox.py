"""The outbox: notifications are written with the change that causes them, delivered later.

Delivery (Telegram or email) happens in a worker that claims due items and marks them sent;
enqueuing is idempotent through `dedup_key`, so replaying an action never notifies twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import changed_rows
from store.models import Guardian, OutboxItem
from store.models.enums import Channel, DeliveryState

# "Due at once" whatever the worker's clock (a demo or a test may run in the past).
DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


async def enqueue(
    session: AsyncSession,
    *,
    channel: Channel,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    dedup_key: str,
    not_before: datetime | None = None,
) -> bool:
    """Queue one notification unless one with the same `dedup_key` exists; True if queued.

    `not_before` holds it back until then (by default it is due at once). A Telegram message
    goes to a private chat only (a positive id): family data never reach a group.
    """
    if channel is Channel.TELEGRAM and not _private_chat_id(recipient):
        return False
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
            next_attempt_at=not_before or DUE_AT_ONCE,
        )
    )
    return True


def _private_chat_id(recipient: str) -> bool:
    """Telegram gives private chats the user's id (positive), groups and channels negative."""
    return recipient.isdigit() and int(recipient) > 0


async def notify_family(
    session: AsyncSession, family_id: int, kind: str, payload: dict[str, Any], event_key: str
) -> int:
    """Queue a Telegram message to every linked guardian of a family; returns how many."""
    return await notify_families(session, [FamilyNotice(family_id, kind, payload, event_key)])


@dataclass(frozen=True)
class FamilyNotice:
    """A Telegram message for every linked guardian of a family (`notify_families`)."""

    family_id: int
    kind: str
    payload: dict[str, Any]
    event_key: str


async def notify_families(session: AsyncSession, notices: Sequence[FamilyNotice]) -> int:
    """Queue several families' messages, as `enqueue` does each (private chats only, not twice
    for a `dedup_key`), in one statement per kind whatever their number; returns how many."""
    if not notices:
        return 0
    chats: dict[int, list[int]] = {}
    for family_id, chat_id in await session.execute(
        select(Guardian.family_id, Guardian.telegram_chat_id)
        .where(
            Guardian.family_id.in_({notice.family_id for notice in notices}),
            Guardian.telegram_chat_id.is_not(None),
        )
        .order_by(Guardian.id)
    ):
        if chat_id is not None and _private_chat_id(str(chat_id)):
            chats.setdefault(family_id, []).append(chat_id)
    items = {
        f"{notice.event_key}:tg:{chat_id}": (notice, str(chat_id))
        for notice in notices
        for chat_id in chats.get(notice.family_id, [])
    }
    if not items:
        return 0
    queued = set(
        await session.scalars(select(OutboxItem.dedup_key).where(OutboxItem.dedup_key.in_(items)))
    )
    rows = [
        {
            "channel": Channel.TELEGRAM,
            "recipient": recipient,
            "kind": notice.kind,
            "payload": notice.payload,
            "dedup_key": dedup_key,
            "state": DeliveryState.PENDING,
            "next_attempt_at": DUE_AT_ONCE,
        }
        for dedup_key, (notice, recipient) in items.items()
        if dedup_key not in queued
    ]
    if rows:
        await session.execute(insert(OutboxItem), rows)
    return len(rows)


@dataclass(frozen=True)
class Delivery:
    """An outbox item claimed for delivery."""

    id: int
    recipient: str
    kind: str
    payload: dict[str, Any]
    attempts: int


async def claim_due(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    now: datetime,
    lease: timedelta,
    limit: int = 20,
) -> list[Delivery]:
    """Claim due items of a channel: each is leased with a conditional update, so two workers
    never deliver the same item at the same time."""
    claimed = []
    async with sessions.begin() as session:
        candidates = (
            await session.execute(
                select(
                    OutboxItem.id,
                    OutboxItem.recipient,
                    OutboxItem.kind,
                    OutboxItem.payload,
                    OutboxItem.attempts,
                )
                .where(
                    OutboxItem.channel == channel,
                    OutboxItem.state == DeliveryState.PENDING,
                    OutboxItem.next_attempt_at <= now,
                )
                .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
                .limit(limit)
            )
        ).all()
        for item_id, recipient, kind, payload, attempts in candidates:
            changed = await changed_rows(
                session,
                update(OutboxItem)
                .where(
                    OutboxItem.id == item_id,
                    OutboxItem.state == DeliveryState.PENDING,
                    OutboxItem.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + lease)
                .execution_options(synchronize_session=False),
            )
            if changed == 1:
                claimed.append(Delivery(item_id, recipient, kind, payload, attempts))
    return claimed


async def mark_sent(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    now: datetime,
    *,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record the item sent; `payload`, if given, replaces its payload in the same update
    (a linking code is dropped as the item is marked sent)."""
    values: dict[str, Any] = {
        "state": DeliveryState.SENT,
        "sent_at": now,
        "attempts": OutboxItem.attempts + 1,
    }
    if payload is not None:
        values["payload"] = payload
    async with sessions.begin() as session:
        await session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))


async def mark_failed(
    sessions: async_sessionmaker[AsyncSession],
    item_id: int,
    error: str,
    retry_at: datetime | None,
    *,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record a failed attempt: retried at `retry_at`, or given up when it is None; `payload`,
    if given, replaces the item's payload in the same update."""
    values: dict[str, Any] = {"attempts": OutboxItem.attempts + 1, "last_error": error[:500]}
    if retry_at is None:
        values["state"] = DeliveryState.FAILED
    else:
        values["next_attempt_at"] = retry_at
    if payload is not None:
        values["payload"] = payload
    async with sessions.begin() as session:
        await session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))


async def postpone(
    sessions: async_sessionmaker[AsyncSession], item_id: int, when: datetime
) -> None:
    """Put a claimed item back for later without counting an attempt (pacing, not failure)."""
    async with sessions.begin() as session:
        await session.execute(
            update(OutboxItem).where(OutboxItem.id == item_id).values(next_attempt_at=when)
        )
