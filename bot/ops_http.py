"""`GET /healthz` and `GET /metrics`, for the load balancer and for Prometheus.

`ops_routes(portal)` gives the two routes, to mount on the webhook server; in long-polling
mode, where there is no web server, `running_ops_server` serves them alone on
`OPS_LISTEN_HOST:OPS_LISTEN_PORT`.

`/healthz` answers JSON: `status` is `ok` (200) when the store answers and its queues keep up,
`degraded` (503) when the oldest due notice of a channel waited longer than
`HEALTH_MAX_OUTBOX_LAG_SECONDS` or the oldest inbound mail still to process longer than
`HEALTH_MAX_MAIL_LAG_SECONDS`, `down` (503) when the store does not answer (what failed is
logged, never shown). The queues are the cluster's: every worker answers the same, so a
load balancer should not take one worker out for a lag (point it at a port check, or accept
`degraded`), and an alert should.

`/metrics` reads the queues again from the store, then answers every metric of
`bot.metrics` in Prometheus's text format. Neither shows any family data.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import metrics
from store.leases import worker_identity
from store.models.enums import Channel
from store.ops import QueueSnapshot, queue_snapshot

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"
# Which worker answered (host, process id, a random part): several may share one port.
WORKER = worker_identity()


def health_of(portal: Portal, snapshot: QueueSnapshot) -> dict[str, Any]:
    """What `/healthz` says of a snapshot of the store's queues."""
    settings = portal.settings
    lags = {c.value: round(snapshot.outbox_lag.get(c, 0.0), 3) for c in Channel}
    late = any(lag > settings.health_max_outbox_lag_seconds for lag in lags.values()) or (
        snapshot.mail_age > settings.health_max_mail_lag_seconds
    )
    return {
        "status": DEGRADED if late else OK,
        "worker": WORKER,
        "database": "ok",
        "outbox_lag_seconds": lags,
        "outbox_pending": {c.value: snapshot.outbox_pending.get(c, 0) for c in Channel},
        "mail_queue": snapshot.mail_waiting,
        "mail_queue_age_seconds": round(snapshot.mail_age, 3),
    }


def ops_routes(portal: Portal) -> list[web.RouteDef]:
    """`GET /healthz` and `GET /metrics` on the portal's store."""

    async def healthz(_request: web.Request) -> web.Response:
        try:
            snapshot = await queue_snapshot(portal.sessions, portal.clock())
        except Exception:
            logger.exception("/healthz: the store does not answer")
            return web.json_response({"status": DOWN, "database": "error"}, status=503)
        body = health_of(portal, snapshot)
        return web.json_response(body, status=200 if body["status"] == OK else 503)

    async def metrics_page(_request: web.Request) -> web.Response:
        try:
            metrics.refresh_queues(await queue_snapshot(portal.sessions, portal.clock()))
        except Exception:
            # The counters of this worker are still worth reading; the queue gauges keep
            # their last values.
            logger.exception("/metrics: the store does not answer; queue gauges not refreshed")
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    return [web.get("/healthz", healthz), web.get("/metrics", metrics_page)]


@asynccontextmanager
async def running_ops_server(
    portal: Portal, host: str | None = None, port: int | None = None
) -> AsyncIterator[web.AppRunner | None]:
    """`/healthz` and `/metrics` served alone until the block exits (long-polling mode).

    By default on `OPS_LISTEN_HOST:OPS_LISTEN_PORT`, and not at all (None) when that port is
    0; a `port` given is listened on, 0 meaning any free port (the runner's `addresses` say
    which)."""
    settings = portal.settings
    if port is None:
        port = settings.ops_listen_port
        if port == 0:
            yield None
            return
    app = web.Application()
    app.add_routes(ops_routes(portal))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host or settings.ops_listen_host, port).start()
        logger.info("health and metrics on http://%s:%s", *runner.addresses[0][:2])
        yield runner
    finally:
        await runner.cleanup()
