"""Outbound mail carries codes, certificates and documents: to a relay that is not on this
machine it goes over STARTTLS (`SMTP_STARTTLS=auto`), and a relay that does not offer STARTTLS
when it is required gets nothing: the mail stays in the outbox, the error is logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy import select

from bot.settings import Settings
from mail.email_delivery import deliver_due_emails
from mail.mailer import is_loopback, starttls_required, tls_context
from store.linking import LINK_CODE_MAIL
from store.models import OutboxItem
from store.models.enums import DeliveryState
from tests.conftest import SmtpSink
from tests.helpers import build_town

KNOWN = "parent.f1@exemple.fr"
REMOTE = ["smtp.example.org", "mail", "10.0.0.5", "192.168.1.2", "2001:db8::1", "localhost.fr"]
LOOPBACK = [
    "127.0.0.1",
    "127.0.0.53",
    "localhost",
    "LOCALHOST.",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
]


def _settings(**values) -> Settings:
    return Settings(**{"_env_file": None, **values})


@pytest.mark.parametrize("host", REMOTE + LOOPBACK)
def test_auto_requires_starttls_unless_the_relay_is_on_loopback(host):
    assert is_loopback(host) is (host in LOOPBACK)
    assert starttls_required(_settings(smtp_host=host)) is (host in REMOTE)
    assert starttls_required(_settings(smtp_host=host, smtp_starttls="always"))
    assert not starttls_required(_settings(smtp_host=host, smtp_starttls="never"))


def test_auto_is_the_default_and_the_former_booleans_still_read():
    assert _settings().smtp_starttls == "auto"
    assert _settings(smtp_starttls="false").smtp_starttls == "auto"
    assert _settings(smtp_starttls="true").smtp_starttls == "always"
    assert _settings(smtp_starttls="Never").smtp_starttls == "never"
    with pytest.raises(ValueError):
        _settings(smtp_starttls="sometimes")
    example = Path(__file__).parent.parent / ".env.example"
    from_example = _settings(_env_file=example)
    assert (from_example.smtp_starttls, from_example.smtp_tls_ca_file) == ("auto", None)
    # A setting copied in code with a bool (model_copy does not validate) still reads.
    copied = _settings().model_copy(update={"smtp_starttls": False, "smtp_host": "mx.example"})
    assert starttls_required(copied)


def test_the_relays_certificate_is_checked():
    context = tls_context(_settings())
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


async def _code_mail(portal) -> OutboxItem:
    async with portal.sessions() as session:
        return await session.scalar(select(OutboxItem).where(OutboxItem.kind == LINK_CODE_MAIL))


async def test_auto_sends_in_clear_to_a_relay_on_loopback(portal, smtp_sink):
    portal.settings.smtp_starttls = _settings(smtp_starttls="auto").smtp_starttls
    await build_town(portal.sessions, [])
    await portal.linking.request_email_code(KNOWN, 42)
    assert await deliver_due_emails(portal) == 1
    [mail] = smtp_sink.messages
    assert mail["To"] == KNOWN
    assert (await _code_mail(portal)).state is DeliveryState.SENT


async def test_always_sends_nothing_to_a_relay_without_starttls_and_keeps_the_mail(
    portal, smtp_sink, caplog
):
    portal.settings.smtp_starttls = _settings(smtp_starttls="always").smtp_starttls
    await build_town(portal.sessions, [])
    await portal.linking.request_email_code(KNOWN, 42)
    with caplog.at_level(logging.WARNING):
        assert await deliver_due_emails(portal) == 0
    assert smtp_sink.messages == []
    item = await _code_mail(portal)
    assert (item.state, item.attempts) == (DeliveryState.PENDING, 1)
    assert "STARTTLS" in item.last_error and "code" in item.payload  # kept for a retry
    [loud] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "does not offer STARTTLS" in loud.getMessage()

    # Once the setting is put right (a relay on loopback may go in clear), it leaves.
    portal.settings.smtp_starttls = "auto"
    portal.clock.set(item.next_attempt_at)
    assert await deliver_due_emails(portal) == 1
    assert len(smtp_sink.messages) == 1


def _address_off_loopback() -> str | None:
    """An address of this machine that is not loopback (None: it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if is_loopback(address) else address


@contextlib.asynccontextmanager
async def _plain_relay(host: str) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), host, 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


async def test_auto_sends_nothing_in_clear_to_a_relay_off_loopback(portal):
    address = _address_off_loopback()
    if address is None:
        pytest.skip("this machine has no address off loopback")
    await build_town(portal.sessions, [])
    await portal.linking.request_email_code(KNOWN, 42)
    async with _plain_relay(address) as relay:
        portal.settings.smtp_host, portal.settings.smtp_port = address, relay.port
        assert await deliver_due_emails(portal) == 0
        assert relay.messages == []
        item = await _code_mail(portal)
        assert item.state is DeliveryState.PENDING and "STARTTLS" in item.last_error
        # `never` is the explicit way to send in clear to such a relay.
        portal.settings.smtp_starttls = "never"
        portal.clock.set(item.next_attempt_at)
        assert await deliver_due_emails(portal) == 1
        assert len(relay.messages) == 1
