"""`portail bot`, `portail smtp`, `portail run`: each says what it starts, and two roles on one
host never fight for the mail port — the second says so clearly and exits, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import CANNOT_LISTEN, main

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str, port: int, **values: str) -> dict[str, str]:
    """A subprocess's environment: the test's store and port, nothing of the caller's."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TELEGRAM_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL")
        and not key.startswith(("SMTP_", "MAIL_"))
    }
    return {
        **environment,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "SMTP_LISTEN_HOST": "127.0.0.1",
        "SMTP_LISTEN_PORT": str(port),
        **values,
    }


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("run", ["Telegram bot", "inbound mail server", "SMTP_LISTEN_PORT", "portail bot"]),
        ("bot", ["Telegram bot", "without the inbound mail server", "long polling", "workers"]),
        ("smtp", ["inbound mail server", "SMTP_LISTEN_PORT", "no bot"]),
        ("mail", ["purge"]),
    ],
)
def test_each_role_says_what_it_starts(capsys, command, said):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in said:
        assert words in text, (command, words)


@pytest.fixture
def first_smtp(database_url: str, tmp_path: Path) -> Iterator[int]:
    """`portail smtp` running in its own process; its port."""
    port = _free_port()
    (tmp_path / "first").mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "smtp"],
        cwd=tmp_path / "first",
        env=_environment(database_url, port, DOCUMENTS_DIR=str(tmp_path / "documents")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "portail smtp did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == 0  # it stopped cleanly on SIGTERM


def _second(command: str, database_url: str, port: int, cwd: Path, **values: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=_environment(database_url, port, **values),
    )


def test_a_second_mail_server_on_the_same_port_says_so_and_exits(
    first_smtp: int, database_url: str, tmp_path: Path
):
    result = _second("smtp", database_url, first_smtp, tmp_path)
    assert result.returncode == CANNOT_LISTEN
    assert f"cannot listen on 127.0.0.1:{first_smtp}" in result.stderr
    assert "already in use" in result.stderr and "portail bot" in result.stderr
    assert "Traceback" not in result.stderr


def test_portail_run_beside_portail_smtp_says_so_before_starting_the_bot(
    first_smtp: int, database_url: str, tmp_path: Path
):
    # A Bot API nobody listens on: the bot must not even have been tried.
    dead_api = f"http://127.0.0.1:{_free_port()}"
    result = _second(
        "run", database_url, first_smtp, tmp_path, TELEGRAM_TOKEN="1:x", TELEGRAM_API_URL=dead_api
    )
    assert result.returncode == CANNOT_LISTEN
    assert f"portail run: cannot listen on 127.0.0.1:{first_smtp}" in result.stderr
    assert "Traceback" not in result.stderr
