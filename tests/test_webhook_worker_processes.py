"""`portail bot --workers 2` on one PostgreSQL database, in webhook mode behind the local Bot
API: two real worker processes share the webhook's port, and parents go through the flows at
the same time — booking, cancelling, an absence with its certificate, a phone change, the
balance, writing to a service; then numbered replies typed back to back; then a document, a
child to add and every view of the portal. Between the first two rounds a worker is killed and
replaced. Nobody is stuck on a stale button, nothing is done twice, each parent's replies are
stored in the order typed, and both workers took part.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from store.database import is_sqlite
from store.models import OutboxItem
from store.models.enums import DeliveryState
from tests.chat_helpers import linked_parent
from tests.helpers import build_town, one_child_families
from tests.messaging_helpers import add_services
from tests.test_webhook import SECRET, free_port
from tests.worker_journeys import (
    WAIT,
    Journey,
    check_journeys,
    first_round,
    second_round,
    third_round,
)

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 90.0
MORE_FAMILIES = 6

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="several bot processes share PostgreSQL (SQLite is the one-process default)",
)


def _wednesdays_ahead(count: int) -> list[date]:
    """Wednesdays far enough ahead to be bookable by the real clock the workers read."""
    day = date.today() + timedelta(days=8)
    day += timedelta(days=(2 - day.weekday()) % 7)
    return [day + timedelta(weeks=n) for n in range(count)]


def start_workers(
    database_url: str, telegram_url: str, token: str, port: int, smtp_port: int, folder: Path
) -> subprocess.Popen[bytes]:
    """`portail bot --workers 2` as an operator starts it, logging to a file."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "TELEGRAM_TOKEN": token,
        "TELEGRAM_API_URL": telegram_url,
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/updates",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN_PORT": str(port),
        "DOCUMENTS_DIR": str(folder / "documents"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "LOG_LEVEL": "WARNING",
        # The test town's family-file and documents services have no address of their own.
        "STAFF_FALLBACK_EMAIL": "accueil@montclar.example",
    }
    with (folder / "workers.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "bot", "--workers", "2"],
            cwd=folder,  # no `.env` there: the settings are the environment's
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _health(port: int) -> dict | None:
    """The /healthz of whichever worker answers a new connection (None: nobody yet)."""
    connector = aiohttp.TCPConnector(force_close=True)
    try:
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(f"http://127.0.0.1:{port}/healthz") as reply,
        ):
            # 503 with a body is an answer too (a queue late): the worker is serving.
            return await reply.json() if reply.status in (200, 503) else None
    except aiohttp.ClientError:
        return None


async def _wait_until_serving(port: int, supervisor: subprocess.Popen[bytes]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while await _health(port) is None:
        assert supervisor.poll() is None, "the workers stopped at start-up"
        assert loop.time() < deadline, "the workers did not start in time"
        await asyncio.sleep(0.3)


async def _undelivered(portal) -> dict[str, int]:
    """Notices and emails due by now and not sent (a document's notice to the service is held
    back a while on purpose, to gather the family's next files)."""
    async with portal.sessions() as session:
        rows = await session.execute(
            select(OutboxItem.kind, func.count())
            .where(
                OutboxItem.state != DeliveryState.SENT,
                OutboxItem.next_attempt_at <= datetime.now(UTC),
            )
            .group_by(OutboxItem.kind)
        )
        return dict(rows.all())


async def _outbox_drained(portal) -> None:
    """Wait until the workers delivered every notice and email (the staff's included)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while waiting := await _undelivered(portal):
        assert loop.time() < deadline, f"not delivered in time: {waiting}"
        await asyncio.sleep(0.3)


async def _wait_for_replacement(supervisor: int, killed: int, port: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while True:
        children = _children(supervisor)
        serving = {h.get("worker", "").split(":")[1] for h in await _answers(port, 12)}
        if killed not in children and len(children) == 2 and len(serving) == 2:
            return
        assert loop.time() < deadline, "the killed worker was not replaced in time"
        await asyncio.sleep(0.3)


async def _answers(port: int, count: int) -> list[dict]:
    return [health for _ in range(count) if (health := await _health(port)) is not None]


def _children(pid: int) -> list[int]:
    return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_two_worker_processes_serve_parents_concurrently(
    portal, telegram, clock, smtp_sink, database_url, tmp_path
):
    assert not is_sqlite(database_url)
    clock.set(datetime.now(UTC))  # invites are checked by the workers' real clock
    town = await build_town(portal.sessions, _wednesdays_ahead(4), capacity=50)
    extra = await one_child_families(portal.sessions, town.activity_id, MORE_FAMILIES, "W")
    services = await add_services(portal.sessions)
    port = free_port()
    supervisor = start_workers(
        database_url, telegram.url, telegram.token, port, smtp_sink.port, tmp_path
    )
    try:
        await _wait_until_serving(port, supervisor)
        assert len(_children(supervisor.pid)) == 2
        journeys = [
            Journey(await linked_parent(portal, telegram, "parent.f1@exemple.fr"), "Lucas"),
            Journey(
                await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie"), "Jade"
            ),
        ]
        for index in range(len(extra)):
            parent = await linked_parent(
                portal, telegram, f"parent.w{index}@exemple.fr", f"Parent{index}"
            )
            journeys.append(Journey(parent, "C"))

        try:
            await first_round(journeys)
            await _outbox_drained(portal)
            # A worker is killed between two rounds (kill -9): the supervisor starts another,
            # and the parents go on with whichever worker answers.
            killed = _children(supervisor.pid)[0]
            os.kill(killed, signal.SIGKILL)
            await _wait_for_replacement(supervisor.pid, killed, port)
            await second_round(portal, services, journeys)
            await third_round(journeys)
            await _outbox_drained(portal)
        except AssertionError as error:
            log = (tmp_path / "workers.log").read_text()
            raise AssertionError(
                f"{error}\nBot API errors: {telegram.internal_errors!r}\nworkers: {log[-4000:]}"
            ) from error
        workers_seen = {health.get("worker") for health in await _answers(port, 12)}
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            supervisor.wait()

    log = (tmp_path / "workers.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert telegram.internal_errors == []
    assert len(workers_seen) == 2, workers_seen  # both workers answer on the shared port
    await check_journeys(portal, telegram, journeys)
    assert await _undelivered(portal) == {}
