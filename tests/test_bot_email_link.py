"""Linking by email code: the code goes through the outbox and a real SMTP conversation delivers
it; the parent is answered the same whether the address is known or not, relay up or down."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from mail.email_delivery import deliver_due_emails
from store.linking import EMAIL_CODE_TTL, LINK_CODE_MAIL
from store.models import LinkToken, OutboxItem
from store.models.enums import DeliveryState
from tests.helpers import build_town
from tests.mail_helpers import wait_for_mails

KNOWN = "parent.f1@exemple.fr"


def _code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_content()).group(1)


def closed_port() -> int:
    """A loopback port nobody listens on: the relay is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _code_items(portal) -> list[OutboxItem]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem).where(OutboxItem.kind == LINK_CODE_MAIL).order_by(OutboxItem.id)
            )
        )


async def _wait_for_item(portal, ready: Callable[[OutboxItem], bool]) -> list[OutboxItem]:
    """The code mails once the background worker brought the only one to `ready`."""
    for _ in range(250):
        items = await _code_items(portal)
        if len(items) == 1 and ready(items[0]):
            return items
        await asyncio.sleep(0.02)
    raise AssertionError(f"the code mail is not there yet: {items!r}")


async def _ask_code(telegram, email: str, first_name: str = "Camille"):
    """A new Telegram user asks for a code for `email`; returns the user and the answer."""
    user = telegram.add_user(first_name=first_name)
    await user.send_command("/start")
    await user.next_message()
    await user.tap("✉️ Relier avec mon adresse e-mail")
    assert "adresse e-mail" in (await user.next_message()).text
    await user.send_text("pas-une-adresse")
    assert "ne semble pas valide" in (await user.next_message()).text
    await user.send_text(email)
    answer = await user.next_message()
    assert "Si cette adresse est connue" in answer.text
    return user, answer


async def test_the_code_sent_by_email_links_the_account(portal, telegram, bot, smtp_sink):
    await build_town(portal.sessions, [])
    user, _ = await _ask_code(telegram, "Parent.F1@exemple.fr")
    [mail] = await wait_for_mails(smtp_sink)
    assert mail["To"] == KNOWN
    code = _code(mail)
    assert code in mail["Subject"] and "Bonjour" in mail.get_content()
    await user.send_text("000000" if code != "000000" else "111111")
    assert "Code incorrect" in (await user.next_message()).text
    await user.send_text(code)
    assert "relié" in (await user.next_message()).text
    assert await portal.linking.actor_for_telegram_user(user.id) is not None


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(portal, telegram, bot, smtp_sink):
    await build_town(portal.sessions, [])
    user, _ = await _ask_code(telegram, "inconnu@exemple.fr")
    for _ in range(4):
        await user.send_text("123456")
        assert "Code incorrect" in (await user.next_message()).text
    await user.send_text("123456")
    assert "Trop d'essais" in (await user.next_message()).text
    assert await portal.linking.actor_for_telegram_user(user.id) is None
    assert await _code_items(portal) == []
    assert smtp_sink.messages == []


async def test_too_many_wrong_codes_burn_the_code(portal, telegram, bot, smtp_sink):
    await build_town(portal.sessions, [])
    user, _ = await _ask_code(telegram, KNOWN)
    code = _code((await wait_for_mails(smtp_sink))[0])
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(4):
        await user.send_text(wrong)
        await user.next_message()
    await user.send_text(wrong)
    assert "Trop d'essais" in (await user.next_message()).text
    result = await portal.linking.verify_email_code(user.id, code, user.id)
    assert result.status.value == "too_many_tries"


async def test_relay_down_same_answer_then_the_code_arrives_once_when_it_is_back(
    portal, telegram, bot, smtp_sink, clock, caplog
):
    caplog.set_level(logging.INFO)
    await build_town(portal.sessions, [])
    portal.settings.smtp_port = closed_port()

    known, known_answer = await _ask_code(telegram, KNOWN, "Camille")
    stranger, stranger_answer = await _ask_code(telegram, "inconnu@exemple.fr", "Zoé")
    assert known_answer.text == stranger_answer.text
    assert known_answer.reply_markup == stranger_answer.reply_markup

    # The worker tried and failed: the code waits in the outbox, retried with backoff.
    [item] = await _wait_for_item(portal, lambda item: item.attempts == 1)
    assert (item.state, item.attempts, item.recipient) == (DeliveryState.PENDING, 1, KNOWN)
    assert smtp_sink.messages == []

    portal.settings.smtp_port = smtp_sink.port
    clock.set(clock.now + timedelta(seconds=5))
    [mail] = await wait_for_mails(smtp_sink)
    assert mail["To"] == KNOWN
    code = _code(mail)

    # Sent once: later rounds and a retried delivery send nothing more.
    [item] = await _wait_for_item(portal, lambda item: item.state is DeliveryState.SENT)
    clock.set(clock.now + timedelta(minutes=10))
    assert await deliver_due_emails(portal) == 0
    [item] = await _code_items(portal)
    assert (item.state, item.attempts) == (DeliveryState.SENT, 2)
    assert "code" not in item.payload  # the outbox forgets the code once sent
    assert len(smtp_sink.messages) == 1

    await known.send_text(code)
    assert "relié" in (await known.next_message()).text
    await stranger.send_text(code)
    assert "Code incorrect" in (await stranger.next_message()).text
    assert code not in caplog.text


async def test_a_request_repeated_at_once_keeps_the_code_on_its_way(portal, clock, smtp_sink):
    await build_town(portal.sessions, [])
    await portal.linking.request_email_code(KNOWN, 42)
    await portal.linking.request_email_code(KNOWN, 42)  # a double send, a retried update
    assert await deliver_due_emails(portal) == 1
    assert await deliver_due_emails(portal) == 0
    [mail] = smtp_sink.messages
    code = _code(mail)

    # Asked again later: a new code replaces it, and the first one no longer links.
    clock.set(clock.now + timedelta(minutes=2))
    await portal.linking.request_email_code(KNOWN, 42)
    assert await deliver_due_emails(portal) == 1
    assert len(await _code_items(portal)) == 2
    assert (await portal.linking.verify_email_code(42, code, 42)).status.value == "wrong_code"


async def test_a_code_replaced_or_expired_before_the_relay_is_back_is_not_sent(
    portal, clock, smtp_sink
):
    await build_town(portal.sessions, [])
    await portal.linking.request_email_code(KNOWN, 42)
    clock.set(clock.now + timedelta(minutes=2))
    await portal.linking.request_email_code(KNOWN, 42)  # replaces the first, still unsent
    await portal.linking.request_email_code(KNOWN, 43)  # one live code: replaces 42's
    clock.set(clock.now + EMAIL_CODE_TTL)  # the code of 43 expired
    # Only the warning that codes were asked three times for the address goes, with no code.
    assert await deliver_due_emails(portal) == 1
    [warning] = smtp_sink.messages
    assert "demandes répétées" in warning["Subject"]
    assert not re.search(r"\b\d{6}\b", warning.get_content())
    items = await _code_items(portal)
    assert [item.state for item in items] == [DeliveryState.FAILED] * 3
    assert all("code" not in item.payload for item in items)
    async with portal.sessions() as session:
        hashes = list(await session.scalars(select(LinkToken.token_hash)))
    assert len(hashes) == 1 and all(len(value) == 64 for value in hashes)
