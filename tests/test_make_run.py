"""`make run` and `portail run`: the product with a token, the demo explicitly without one, and
the README a newcomer follows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:fake-token"


def _environment(**values: str) -> dict[str, str]:
    """The environment of a subprocess: no Telegram token nor database from the caller's."""
    environment = {key: value for key, value in os.environ.items() if key != "TELEGRAM_TOKEN"}
    environment.pop("DATABASE_URL", None)
    return {**environment, "PYTHONUNBUFFERED": "1", **values}


def test_portail_run_without_a_token_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=_environment(),
    )
    assert result.returncode == 2
    assert "TELEGRAM_TOKEN is not set" in result.stderr
    assert "portail demo" in result.stderr
    assert result.stdout == ""  # no demo started
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()  # nothing touched


@pytest.fixture
def stub_bin(tmp_path: Path) -> Path:
    """A `bin/` whose `portail` records its arguments, and whose `python` is the project's."""
    folder = tmp_path / "bin"
    folder.mkdir()
    calls = tmp_path / "calls"
    portail = folder / "portail"
    portail.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    for script in (portail, python):
        script.chmod(0o755)
    # `make run` sets up first: an up-to-date stamp means nothing to install.
    (tmp_path / "pyproject.toml").write_text("")
    os.utime(tmp_path / "pyproject.toml", (0, 0))
    (tmp_path / "stamp").write_text("")
    return folder


def _make_run(tmp_path: Path, stub_bin: Path, **environment: str) -> list[str]:
    """Run `make run` in `tmp_path` (its own .env, if any) with the stub `portail`."""
    result = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "run", f"BIN={stub_bin}", "STAMP=stamp"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        # Not the flags of a `make test` this may run under.
        env={
            key: value
            for key, value in _environment(**environment).items()
            if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return (tmp_path / "calls").read_text().splitlines()


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@needs_make
def test_make_run_without_a_token_starts_the_demo_explicitly(
    tmp_path: Path, stub_bin: Path
) -> None:
    calls = _make_run(tmp_path, stub_bin)
    assert calls == ["db upgrade", "import examples/demo.yaml", "demo"]


@needs_make
def test_make_run_with_a_token_runs_the_product(tmp_path: Path, stub_bin: Path) -> None:
    assert _make_run(tmp_path, stub_bin, TELEGRAM_TOKEN=TOKEN)[-1] == "run"
    (tmp_path / "calls").unlink()
    (tmp_path / ".env").write_text(f"# the bot\nTELEGRAM_TOKEN={TOKEN}\n")
    assert _make_run(tmp_path, stub_bin)[-1] == "run"


def _demo_guardians() -> dict[str, dict]:
    """Each guardian's email in the demo town, with their family."""
    data = yaml.safe_load((ROOT / "examples" / "demo.yaml").read_text("utf-8"))
    return {
        guardian["email"]: family
        for family in data["families"]
        for guardian in family["guardians"]
    }


def test_the_readme_says_how_to_play_another_parent_siblings_and_another_day() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    guardians = _demo_guardians()
    played = re.findall(r"portail demo --email (\S+)", readme)
    assert played and all(email in guardians for email in played)
    assert any(len(guardians[email]["children"]) >= 2 for email in played)
    assert re.search(r"portail demo --today \d{4}-\d{2}-\d{2}", readme)
    # One database: the demo plays on what `make run` imported, staff commands too.
    assert "demo.sqlite3" not in readme
