"""The outbox reaches parents once: retried after Telegram errors, never sent twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.delivery import deliver_due
from store.actors import Actor
from store.bookings import BookingService
from store.models import OutboxItem
from store.models.enums import Channel, DeliveryState
from tests.helpers import build_town, paris

WED = date(2026, 12, 9)


@pytest.fixture
async def bot_api(portal) -> AsyncIterator[Any]:
    """The application's bot, talking to the local Bot API, without polling or background
    delivery: each test delivers the outbox by hand, moving the clock itself."""
    application = build_application(portal)
    await application.initialize()
    yield application.bot
    await application.shutdown()


async def _decided_booking(portal, telegram, clock, accept: bool):
    """A pending booking decided by staff: one notice waits in the outbox for the parent."""
    town = await build_town(portal.sessions, [WED], requires_validation=True)
    parent = telegram.add_user(first_name="Camille")
    token = await portal.linking.create_invite("parent.f1@exemple.fr", timedelta(hours=1))
    await portal.linking.redeem_invite(token, parent.id, parent.id)
    clock.set(paris(date(2026, 11, 24)))
    service = BookingService(portal.sessions, clock)
    [outcome] = await service.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    await service.decide_pending(
        Actor.staff(1), outcome.booking_id, accept=accept, reason="" if accept else "Complet"
    )
    return parent


async def _item(portal) -> OutboxItem:
    """The Telegram notice (the service's email about the pending booking is apart)."""
    async with portal.sessions() as session:
        [item] = await session.scalars(
            select(OutboxItem).where(OutboxItem.channel == Channel.TELEGRAM)
        )
    return item


async def test_errors_are_retried_with_backoff_and_delivered_once(
    portal, telegram, clock, bot_api
):
    parent = await _decided_booking(portal, telegram, clock, accept=True)
    telegram.fail_next(parent.id, times=1, error_code=429, retry_after=3)
    assert await deliver_due(portal, bot_api) == 0  # 429: retry in 3 s
    assert await deliver_due(portal, bot_api) == 0  # not due yet
    clock.set(clock.now + timedelta(seconds=3))
    telegram.fail_next(parent.id, times=1, error_code=500)
    assert await deliver_due(portal, bot_api) == 0  # 500: back off
    assert (await _item(portal)).state is DeliveryState.PENDING
    clock.set(clock.now + timedelta(seconds=10))
    assert await deliver_due(portal, bot_api) == 1
    clock.set(clock.now + timedelta(hours=1))
    assert await deliver_due(portal, bot_api) == 0  # never twice
    notices = [m for m in parent.messages if "a validé la réservation" in (m.text or "")]
    assert len(notices) == 1
    item = await _item(portal)
    assert (item.state, item.attempts) == (DeliveryState.SENT, 3)


async def test_a_blocked_bot_gives_up_without_retrying(portal, telegram, clock, bot_api):
    parent = await _decided_booking(portal, telegram, clock, accept=False)
    parent.block_bot()
    assert await deliver_due(portal, bot_api) == 0
    clock.set(clock.now + timedelta(hours=2))
    assert await deliver_due(portal, bot_api) == 0
    item = await _item(portal)
    assert (item.state, item.attempts) == (DeliveryState.FAILED, 1)
    assert parent.messages == []


async def test_a_second_notice_to_the_same_chat_waits_its_turn(portal, telegram, clock, bot_api):
    from bot.delivery import Pacer
    from store.outbox import enqueue

    parent = await _decided_booking(portal, telegram, clock, accept=True)
    [first] = await _items(portal)
    async with portal.sessions.begin() as session:
        await enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(parent.id),
            kind=first.kind,
            payload=first.payload,
            dedup_key="second notice",
        )
    pacer = Pacer()
    assert await deliver_due(portal, bot_api, pacer) == 1
    sent, waiting = await _items(portal)
    assert sent.state is DeliveryState.SENT
    assert (waiting.state, waiting.attempts) == (DeliveryState.PENDING, 0)
    assert telegram.throttled == 0
    assert await deliver_due(portal, bot_api, pacer) == 0  # the chat still rests
    pacer.sent_to(parent.id, at=0.0)  # as if a second had passed since
    assert await deliver_due(portal, bot_api, pacer) == 1


async def _items(portal) -> list[OutboxItem]:
    """The Telegram notices, in order."""
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem)
                .where(OutboxItem.channel == Channel.TELEGRAM)
                .order_by(OutboxItem.id)
            )
        )
