"""Webhook mode, end to end in one test process: the local Bot API POSTs updates to the bot's
webhook, served by two workers (two applications, each with its own store connections) on one
port; the secret token is checked; an update delivered twice is handled once."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.cli import main as portail
from bot.portal import Portal
from bot.runner import running_bot
from bot.settings import Settings
from bot.webhook import SECRET_HEADER
from fake_telegram import FakeTelegram
from store.models import HandledUpdate
from tests.chat_helpers import linked_parent
from tests.helpers import build_town, paris
from tests.messaging_helpers import add_services
from tests.worker_journeys import (
    WAIT,
    Journey,
    check_journeys,
    first_round,
    second_round,
    third_round,
)

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16, 23)]
SECRET = "test-webhook-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_settings(portal: Portal, port: int) -> Settings:
    return portal.settings.model_copy(
        update={
            "telegram_webhook_url": f"http://127.0.0.1:{port}/telegram/updates",
            "telegram_webhook_secret": SECRET,
            "webhook_listen_port": port,
        }
    )


@pytest.fixture
async def workers(portal: Portal, telegram: FakeTelegram) -> AsyncIterator[list[Portal]]:
    """Two webhook workers on one port and one store."""
    settings = webhook_settings(portal, free_port())
    portals = [Portal.from_settings(settings, portal.clock) for _ in range(2)]
    try:
        async with contextlib.AsyncExitStack() as running:
            for worker in portals:
                await running.enter_async_context(running_bot(worker))
            yield portals
    finally:
        for worker in portals:
            await worker.close()


async def test_parents_flow_on_whichever_worker_takes_each_tap(portal, telegram, clock, workers):
    town = await build_town(portal.sessions, WEDNESDAYS)
    services = await add_services(portal.sessions)
    clock.set(paris(date(2026, 11, 24)))
    journeys = [
        Journey(await linked_parent(portal, telegram, "parent.f1@exemple.fr"), "Lucas"),
        Journey(await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie"), "Jade"),
    ]

    await first_round(journeys)
    await second_round(portal, services, journeys)
    await third_round(journeys)
    assert telegram.calls_to("getUpdates") == []
    await check_journeys(portal, telegram, journeys)
    assert town.family_id


async def _post(port: int, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/telegram/updates", data=body, headers=headers
        ) as reply,
    ):
        return reply.status


async def test_only_telegram_with_the_secret_is_heard(portal, telegram, workers):
    parent = telegram.add_user(first_name="Camille", language_code="fr")
    port = workers[0].settings.webhook_listen_port
    update = (
        b'{"update_id": 900001, "message": {"message_id": 1, "date": 1764000000, '
        b'"chat": {"id": %d, "type": "private"}, "from": {"id": %d, "is_bot": false, '
        b'"first_name": "Camille"}, "text": "/aide", '
        b'"entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}'
    ) % (parent.id, parent.id)

    assert await _post(port, update, None) == 403
    assert await _post(port, update, "not-the-secret-at-all") == 403
    assert await _post(port, b"{not json", SECRET) == 400
    assert await _post(port, b'["no", "update"]', SECRET) == 400
    await parent.assert_no_message(0.3)
    async with portal.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(HandledUpdate)) == 0

    # The right secret: handled once, however many times it comes.
    assert await _post(port, update, SECRET) == 200
    assert await _post(port, update, SECRET) == 200
    await parent.wait_for_message(timeout=WAIT)
    await parent.assert_no_message(0.5)

    # The same server answers the load balancer and Prometheus.
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as reply:
            health = await reply.json()
            assert reply.status == 200 and health["status"] == "ok"
        async with session.get(f"http://127.0.0.1:{port}/metrics") as reply:
            page = await reply.text()
    assert _metric(page, 'portail_updates_handled_total{outcome="duplicate"}') >= 1
    assert _metric(page, 'portail_updates_handled_total{outcome="handled"}') >= 1
    assert "portail_update_seconds_bucket" in page


def _metric(page: str, name: str) -> float:
    for line in page.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_a_webhook_needs_its_secret(tmp_path: Path):
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings(telegram_webhook_url="https://bot.example/telegram", _env_file=None)
    with pytest.raises(ValueError):
        Settings(
            telegram_webhook_url="https://bot.example/telegram",
            telegram_webhook_secret="has spaces and é" * 2,
            _env_file=None,
        )


def test_several_workers_need_webhook_mode(monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "")
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        assert portail(["bot", "--workers", "2"]) == 2
    finally:
        get_settings.cache_clear()
    assert "webhook" in capsys.readouterr().err
