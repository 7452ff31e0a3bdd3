"""`portail bot --workers N`: N bot worker processes on one host, kept running.

Each worker is a plain `portail bot` process (webhook mode): they listen on the same port
(`SO_REUSEPORT`) and share the store, which gives each person's updates their turn, each
update once, one send rate and each periodic job once, whatever the number of workers on
however many hosts. This supervisor only starts them, passes SIGINT/SIGTERM on, and starts
again a worker that stopped on its own (after a pause, so that a worker failing at start-up
does not spin). A systemd unit per worker does the same job (see the README).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from types import FrameType

logger = logging.getLogger(__name__)

RESTART_PAUSE = 2.0
STOP_GRACE = 20.0


def worker_command() -> list[str]:
    """The command of one worker: this program's `portail bot`, one process."""
    return [sys.executable, "-m", "bot.cli", "bot"]


def supervise(count: int) -> int:
    """Run `count` workers until SIGINT or SIGTERM; returns the exit status."""
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers = [subprocess.Popen(worker_command()) for _ in range(count)]
    logger.info("%d bot workers started: %s", count, [w.pid for w in workers])
    try:
        while not stopping:
            time.sleep(0.5)
            for index, worker in enumerate(workers):
                if worker.poll() is not None and not stopping:
                    logger.warning(
                        "bot worker %s stopped (status %s); starting it again",
                        worker.pid,
                        worker.returncode,
                    )
                    time.sleep(RESTART_PAUSE)
                    workers[index] = subprocess.Popen(worker_command())
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for worker in workers:
            try:
                worker.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
