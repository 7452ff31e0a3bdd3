"""`/healthz` and `/metrics` served for real on loopback, read with aiohttp's client: healthy on
a fresh store, degraded when the outbox or the mail queue falls behind, down when the store
does not answer; the metrics count updates and 429s, and show the outbox's depth.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import build_application
from bot.delivery import deliver_due
from bot.ops_http import running_ops_server
from bot.portal import Portal
from conversations.kit.notices import RENDERERS
from mail.inbound import inbound_service
from store.inbound import InboundConfig
from store.leases import worker_identity
from store.models.enums import Channel
from store.outbox import enqueue
from tests.test_inbound_email import DOCUMENTS, DOMAIN, PARENT, mail


async def _get(base: str, path: str) -> tuple[int, str, str]:
    """Status, content type and body of a GET."""
    async with aiohttp.ClientSession() as client, client.get(base + path) as response:
        return response.status, response.headers["Content-Type"], await response.text()


@pytest.fixture
async def served(portal) -> AsyncIterator[str]:
    """The base URL of the portal's /healthz and /metrics, on a free loopback port."""
    async with running_ops_server(portal, "127.0.0.1", 0) as runner:
        assert runner is not None
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"


async def _health(base: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as client, client.get(base + "/healthz") as response:
        return response.status, await response.json()


async def _notice(portal: Portal, n: int, due: datetime, channel: Channel) -> None:
    async with portal.sessions.begin() as session:
        assert await enqueue(
            session,
            channel=channel,
            recipient=str(1000 + n) if channel is Channel.TELEGRAM else "service@ville.example",
            kind="test_note",
            payload={"n": n},
            dedup_key=f"note {n}",
            not_before=due,
        )


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def test_healthz_is_ok_on_a_fresh_store(served):
    status, body = await _health(served)
    assert status == 200
    assert body == {
        "status": "ok",
        "worker": worker_identity(),
        "database": "ok",
        "outbox_lag_seconds": {"telegram": 0.0, "email": 0.0},
        "outbox_pending": {"telegram": 0, "email": 0},
        "mail_queue": 0,
        "mail_queue_age_seconds": 0.0,
    }


async def test_healthz_is_degraded_when_the_outbox_falls_behind(portal, clock, served):
    # The portal's clock an hour past the real time the rows are created at.
    clock.set(datetime.now(UTC) + timedelta(hours=1))
    await _notice(portal, 1, clock.now - timedelta(seconds=100), Channel.TELEGRAM)
    await _notice(portal, 2, clock.now + timedelta(minutes=5), Channel.TELEGRAM)  # not due yet
    status, body = await _health(served)
    assert (status, body["status"]) == (200, "ok")
    assert 99 <= body["outbox_lag_seconds"]["telegram"] <= 101
    assert body["outbox_pending"] == {"telegram": 2, "email": 0}

    await _notice(portal, 3, clock.now - timedelta(seconds=400), Channel.EMAIL)
    status, body = await _health(served)
    assert (status, body["status"], body["database"]) == (503, "degraded", "ok")
    assert 399 <= body["outbox_lag_seconds"]["email"] <= 401
    assert 99 <= body["outbox_lag_seconds"]["telegram"] <= 101
    # The threshold is a setting.
    portal.settings.health_max_outbox_lag_seconds = 500
    assert (await _health(served))[0] == 200


async def test_healthz_is_degraded_when_mail_waits_too_long(portal, clock, served):
    service = inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS))
    await service.accept_raw(PARENT, [DOCUMENTS], mail("pending"), None)
    clock.set(datetime.now(UTC) + timedelta(seconds=60))
    status, body = await _health(served)
    assert (status, body["mail_queue"]) == (200, 1)
    assert 59 <= body["mail_queue_age_seconds"] <= 62
    clock.set(datetime.now(UTC) + timedelta(seconds=1000))
    status, body = await _health(served)
    assert (status, body["status"], body["mail_queue"]) == (503, "degraded", 1)
    assert body["mail_queue_age_seconds"] >= 999


async def test_healthz_says_down_without_a_traceback_when_the_store_does_not_answer(portal):
    # Nothing listens on port 1 of loopback.
    settings = portal.settings.model_copy(
        update={"database_url": "postgresql+asyncpg://portail@127.0.0.1:1/portail"}
    )
    unreachable = Portal.from_settings(settings, portal.clock)
    try:
        async with running_ops_server(unreachable, "127.0.0.1", 0) as runner:
            assert runner is not None
            host, port = runner.addresses[0][:2]
            base = f"http://{host}:{port}"
            status, content_type, text = await _get(base, "/healthz")
            assert (status, content_type) == (503, "application/json; charset=utf-8")
            assert text == '{"status": "down", "database": "error"}'
            # The worker's own counters are still served.
            status, _, text = await _get(base, "/metrics")
            assert status == 200 and "portail_updates_handled_total" in text
    finally:
        await unreachable.close()


async def _note(portal: Portal, payload: dict[str, Any], language: str) -> str:
    return f"Note {payload['n']}"


async def test_metrics_count_updates_and_429s_and_show_the_queues(
    portal, clock, telegram, served, monkeypatch
):
    monkeypatch.setitem(RENDERERS, "test_note", _note)
    status, content_type, text = await _get(served, "/metrics")
    assert status == 200
    # Prometheus's text format, in the version the library writes.
    assert content_type == metrics.CONTENT_TYPE and content_type.startswith("text/plain;")
    for name in (
        "portail_updates_handled_total",
        "portail_update_seconds_bucket",
        "portail_telegram_flood_waits_total",
        "portail_outbox_pending",
        "portail_outbox_lag_seconds",
        "portail_mail_queue",
        "portail_mail_queue_age_seconds",
    ):
        assert name in text
    before = _samples(text)

    metrics.record_update(0.004, "handled")
    metrics.record_update(0.3, "handled")
    metrics.record_update(0.001, "duplicate")
    with pytest.raises(ValueError):
        metrics.record_update(0.001, "chat 42")  # a label never takes free text
    # A real 429 from the Bot API, met by the outbox's delivery.
    parent = telegram.add_user(first_name="Parent")
    async with portal.sessions.begin() as session:
        await enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(parent.id),
            kind="test_note",
            payload={"n": 0},
            dedup_key="note 0",
        )
    # The portal's clock an hour past the real time the rows are created at.
    clock.set(datetime.now(UTC) + timedelta(hours=1))
    telegram.fail_next(parent.id, error_code=429, retry_after=30)
    application = build_application(portal)
    await application.initialize()
    try:
        assert await deliver_due(portal, application.bot) == 0
    finally:
        await application.shutdown()
    for n in range(1, 4):
        await _notice(portal, n, clock.now - timedelta(seconds=10), Channel.TELEGRAM)

    after = _samples((await _get(served, "/metrics"))[2])

    def grew(name: str, *labels: tuple[str, str]) -> float:
        key = (name, tuple(sorted(labels)))
        return after[key] - before.get(key, 0.0)

    assert grew("portail_updates_handled_total", ("outcome", "handled")) == 2
    assert grew("portail_updates_handled_total", ("outcome", "duplicate")) == 1
    assert grew("portail_updates_handled_total", ("outcome", "error")) == 0
    assert grew("portail_update_seconds_count") == 3
    assert grew("portail_update_seconds_bucket", ("le", "0.005")) == 2
    assert grew("portail_update_seconds_bucket", ("le", "0.5")) == 3
    assert grew("portail_telegram_flood_waits_total") == 1
    # The refused notice waits for its retry (30 s on), the three new ones are due.
    assert after[("portail_outbox_pending", (("channel", "telegram"),))] == 4
    assert after[("portail_outbox_pending", (("channel", "email"),))] == 0
    assert 9 <= after[("portail_outbox_lag_seconds", (("channel", "telegram"),))] <= 11
    assert after[("portail_mail_queue", ())] == 0
    # No chat id in any label.
    assert str(parent.id) not in (await _get(served, "/metrics"))[2]
