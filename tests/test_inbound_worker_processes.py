"""Two `portail smtp` processes on one PostgreSQL database, over a backlog of staff replies.

The backlog is accepted (committed, not yet processed) before the processes start, as after
an outage; each process lists it at start-up and works through it, taking only the mails it
can lease. Every reply reaches the parent once: as many staff messages and chat notices as
replies, none twice, none lost, and the two processes shared the work.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from store.database import is_sqlite
from store.models.inbound import InboundStatus
from tests.test_inbound_workers import (
    BACKLOG,
    DOMAIN,
    accept_backlog,
    mail_service,
    staff_thread,
    statuses,
    to_parents,
)

ROOT = Path(__file__).resolve().parent.parent
# How long the two processes may take over the backlog (a few seconds in practice).
DEADLINE_SECONDS = 120.0
RELAYED_LINE = re.compile(r"inbound mail (\d+): relayed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(database_url: str, documents: Path, log: Path) -> subprocess.Popen[bytes]:
    """`portail smtp` as an operator starts it, on its own port, logging to a file."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MAIL_DOMAIN": DOMAIN,
        "SMTP_LISTEN_HOST": "127.0.0.1",
        "SMTP_LISTEN_PORT": str(free_port()),
        "DOCUMENTS_DIR": str(documents),
        "LOG_LEVEL": "INFO",
        "TELEGRAM_TOKEN": "",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "smtp"],
            cwd=log.parent,  # no `.env` there: the settings are the environment's
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="several worker processes: PostgreSQL"
)
async def test_two_smtp_processes_relay_a_backlog_once_each(sessions, database_url, tmp_path):
    assert not is_sqlite(database_url)
    thread = await staff_thread(sessions)
    await accept_backlog(mail_service(sessions, tmp_path / "documents"), thread, BACKLOG)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env_path}" if env_path else str(ROOT)
    logs = [tmp_path / "first" / "smtp.log", tmp_path / "second" / "smtp.log"]
    workers = []
    try:
        for log in logs:
            log.parent.mkdir()
            workers.append(start_worker(database_url, tmp_path / "documents", log))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while InboundStatus.RECEIVED in await statuses(sessions):
            assert loop.time() < deadline, "the backlog was not worked through in time"
            assert all(worker.poll() is None for worker in workers), "a worker stopped"
            await asyncio.sleep(0.2)
    finally:
        os.environ["PYTHONPATH"] = env_path
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    bodies, notices, distinct = await to_parents(sessions)
    assert sorted(bodies) == sorted(f"Bonjour, réponse numéro {n}." for n in range(BACKLOG))
    assert (notices, distinct) == (BACKLOG, BACKLOG)  # one chat message per reply
    assert await statuses(sessions) == {InboundStatus.RELAYED: BACKLOG}
    relayed_by = [set(RELAYED_LINE.findall(log.read_text())) for log in logs]
    assert not relayed_by[0] & relayed_by[1]  # no mail relayed by both
    assert len(relayed_by[0] | relayed_by[1]) == BACKLOG
    assert all(relayed_by), "both processes took part"
