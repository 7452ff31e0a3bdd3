"""The product's Prometheus metrics, in one registry of its own (not the library's global one).

Counted by the process as it works: updates handled (`record_update`, with their handling
time) and Telegram's 429s (`record_flood_wait`). Read from the store when scraped
(`refresh_queues`, from `store.ops.queue_snapshot`): the outbox's pending items and lag per
channel, the inbound mails waiting and the age of the oldest. Each worker counts its own;
the queue gauges are the cluster's, the same on every worker.

Labels hold only a few fixed values (an outcome, a channel): never a chat id, a name or
anything of a family.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from store.models.enums import Channel
from store.ops import QueueSnapshot

# What became of an update: handled, dropped as already taken by a worker, or failed.
OUTCOMES = ("handled", "duplicate", "error")
# An update is handled in a few milliseconds to a few seconds (a PDF statement, a busy store).
UPDATE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter(
    "portail_updates_handled",
    "Telegram updates this worker took, by outcome (handled, duplicate, error).",
    ["outcome"],
    registry=REGISTRY,
)
UPDATE_SECONDS = Histogram(
    "portail_update_seconds",
    "Time this worker spent on an update, in seconds.",
    buckets=UPDATE_BUCKETS,
    registry=REGISTRY,
)
FLOOD_WAITS = Counter(
    "portail_telegram_flood_waits",
    "Sends Telegram refused with 429 Too Many Requests (every sender paused).",
    registry=REGISTRY,
)
OUTBOX_PENDING = Gauge(
    "portail_outbox_pending",
    "Notices in the outbox not yet delivered, by channel (the cluster's).",
    ["channel"],
    registry=REGISTRY,
)
OUTBOX_LAG = Gauge(
    "portail_outbox_lag_seconds",
    "How long the oldest due notice has waited, by channel (0: none waits).",
    ["channel"],
    registry=REGISTRY,
)
MAIL_QUEUE = Gauge(
    "portail_mail_queue",
    "Inbound mails accepted and not yet processed (the cluster's).",
    registry=REGISTRY,
)
MAIL_QUEUE_AGE = Gauge(
    "portail_mail_queue_age_seconds",
    "How long the oldest inbound mail still to process has waited (0: none).",
    registry=REGISTRY,
)

# Every outcome and channel shows from the start, at 0.
_UPDATES_BY_OUTCOME = {outcome: UPDATES.labels(outcome=outcome) for outcome in OUTCOMES}
for _channel in Channel:
    OUTBOX_PENDING.labels(channel=_channel.value)
    OUTBOX_LAG.labels(channel=_channel.value)


def record_update(seconds: float, outcome: str) -> None:
    """An update taken by this worker: its time and what became of it (one of `OUTCOMES`)."""
    counter = _UPDATES_BY_OUTCOME.get(outcome)
    if counter is None:
        raise ValueError(f"unknown update outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    counter.inc()
    UPDATE_SECONDS.observe(seconds)


def record_flood_wait() -> None:
    """Telegram answered a send with 429 Too Many Requests."""
    FLOOD_WAITS.inc()


def refresh_queues(snapshot: QueueSnapshot) -> None:
    """Set the queue gauges from what the store holds now."""
    for channel in Channel:
        OUTBOX_PENDING.labels(channel=channel.value).set(snapshot.outbox_pending.get(channel, 0))
        OUTBOX_LAG.labels(channel=channel.value).set(snapshot.outbox_lag.get(channel, 0.0))
    MAIL_QUEUE.set(snapshot.mail_waiting)
    MAIL_QUEUE_AGE.set(snapshot.mail_age)


def exposition() -> bytes:
    """Every metric, in Prometheus's text format (`CONTENT_TYPE`)."""
    return generate_latest(REGISTRY)
