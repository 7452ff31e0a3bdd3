"""A notice Telegram refuses for a permanent reason is sent once, not retried 20 times.

The outbox is delivered by hand (`deliver_due`) to the local Bot API, the clock moved past
every backoff; the Bot API counts the sendMessage calls it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.delivery import GIVE_UP_AFTER_ATTEMPTS, deliver_due
from conversations.kit import notices
from store.models import OutboxItem
from store.models.enums import Channel, DeliveryState
from store.outbox import enqueue

KIND = "test_notice"


@pytest.fixture
async def bot_api(portal) -> AsyncIterator[Any]:
    """The application's bot on the local Bot API, without polling nor background delivery."""
    application = build_application(portal)
    await application.initialize()
    yield application.bot
    await application.shutdown()


@pytest.fixture
def notice_text(monkeypatch) -> dict[str, str]:
    """A notification kind whose text the test sets."""
    text = {"value": "Votre réservation du <b>mercredi</b> est validée."}

    async def render(portal: Any, payload: dict[str, Any], language: str) -> str:
        return text["value"]

    monkeypatch.setitem(notices.RENDERERS, KIND, render)
    return text


async def queue(portal, chat_id: int) -> None:
    async with portal.sessions.begin() as session:
        await enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(chat_id),
            kind=KIND,
            payload={},
            dedup_key=f"test:{chat_id}",
        )


async def deliver_for_a_day(portal, clock, bot_api) -> None:
    """Delivery rounds, each after the longest backoff, as a day of the sender would run."""
    for _ in range(GIVE_UP_AFTER_ATTEMPTS + 2):
        await deliver_due(portal, bot_api)
        clock.set(clock.now + timedelta(hours=1, seconds=1))


async def the_item(portal) -> OutboxItem:
    async with portal.sessions() as session:
        [item] = await session.scalars(select(OutboxItem).where(OutboxItem.kind == KIND))
    return item


def sends_to(telegram, chat_id: int) -> list[dict[str, Any]]:
    return [c for c in telegram.calls_to("sendMessage") if str(c.get("chat_id")) == str(chat_id)]


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (400, "Bad Request: message is too long"),
        (400, "Bad Request: chat not found"),
        (400, "Bad Request: PEER_ID_INVALID"),
        (403, "Forbidden: user is deactivated"),
        (403, "Forbidden: bot was blocked by the user"),
    ],
)
async def test_a_permanent_refusal_is_sent_once_and_given_up(
    portal, telegram, clock, bot_api, notice_text, code, description
):
    parent = telegram.add_user(first_name="Camille")
    await queue(portal, parent.id)
    telegram.fail_next(parent.id, times=100, error_code=code, description=description)
    await deliver_for_a_day(portal, clock, bot_api)
    assert len(sends_to(telegram, parent.id)) == 1
    item = await the_item(portal)
    assert (item.state, item.attempts) == (DeliveryState.FAILED, 1)
    assert description.split(": ", 1)[1].lower() in (item.last_error or "").lower()


async def test_a_notice_too_long_for_telegram_is_sent_once(
    portal, telegram, clock, bot_api, notice_text
):
    parent = telegram.add_user(first_name="Camille")
    notice_text["value"] = "Documents reçus : " + "facture.pdf, " * 400  # > 4,096 characters
    await queue(portal, parent.id)
    await deliver_for_a_day(portal, clock, bot_api)
    assert len(sends_to(telegram, parent.id)) == 1
    item = await the_item(portal)
    assert item.state is DeliveryState.FAILED and "too long" in (item.last_error or "")
    assert parent.messages == []


async def test_a_chat_telegram_does_not_know_is_written_to_once(
    portal, telegram, clock, bot_api, notice_text
):
    await queue(portal, 987654321)  # never started the bot
    await deliver_for_a_day(portal, clock, bot_api)
    assert len(sends_to(telegram, 987654321)) == 1
    assert (await the_item(portal)).state is DeliveryState.FAILED


async def test_html_telegram_cannot_parse_is_sent_again_once_as_plain_text(
    portal, telegram, clock, bot_api, notice_text
):
    parent = telegram.add_user(first_name="Camille")
    notice_text["value"] = "Réservation <b>validée</b> <u>mercredi</b> : 5 &lt; 6 &amp; co"
    await queue(portal, parent.id)
    await deliver_for_a_day(portal, clock, bot_api)
    first, second = sends_to(telegram, parent.id)
    assert first.get("parse_mode") == "HTML"
    assert not second.get("parse_mode")
    [message] = parent.messages
    assert message.text == "Réservation validée mercredi : 5 < 6 & co"
    item = await the_item(portal)
    assert (item.state, item.attempts) == (DeliveryState.SENT, 1)


async def test_plain_text_refused_as_well_is_given_up(
    portal, telegram, clock, bot_api, notice_text
):
    parent = telegram.add_user(first_name="Camille")
    telegram.fail_next(
        parent.id, times=100, error_code=400, description="Bad Request: can't parse entities"
    )
    await queue(portal, parent.id)
    await deliver_for_a_day(portal, clock, bot_api)
    assert len(sends_to(telegram, parent.id)) == 2  # as sent, then as plain text: no more
    assert (await the_item(portal)).state is DeliveryState.FAILED


@pytest.mark.parametrize(("code", "times"), [(500, 3), (502, 2), (429, 2)])
async def test_transient_errors_keep_their_backoff(
    portal, telegram, clock, bot_api, notice_text, code, times
):
    parent = telegram.add_user(first_name="Camille")
    telegram.fail_next(parent.id, times=times, error_code=code)
    await queue(portal, parent.id)
    await deliver_due(portal, bot_api)
    item = await the_item(portal)
    assert (item.state, item.attempts) == (DeliveryState.PENDING, 1)  # to be retried
    await deliver_for_a_day(portal, clock, bot_api)
    assert len(sends_to(telegram, parent.id)) == times + 1
    item = await the_item(portal)
    assert (item.state, item.attempts) == (DeliveryState.SENT, times + 1)
    assert len(parent.messages) == 1
