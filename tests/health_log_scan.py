"""The whole test suite's logs scanned for children's health data (issue: minimisation).

Every record any logger emits during the session — the product's own at every level, the
libraries' from INFO — is formatted (traceback included) and searched for the health details
the tests and the demo town hold: allergies, diets, doctors, the words of an absence, and the
bytes of a PDF or image file (a certificate). A hit fails the session, naming the logger and
the word, never the line itself (it would print what it found). The worker processes some
tests start write their own logs, checked by those tests.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("bot", "store", "conversations", "handlers", "mail", "dates")
HEALTH_FIELDS = ("doctor", "allergies", "diet")
# The tests' own tools: the local Bot API logs what the bot sent it, as Telegram would hold it.
NOT_PRODUCT = ("fake_telegram", "tests")
# What tests write as health details (tests.family_file_setup, the absence and file-change
# flows), and what marks a document's bytes: a PDF's header, raw or in base64.
TEST_WORDS = (
    "Arachides (choc anaphylactique)",
    "Dr Lefèvre",
    "Kiwi et lait de vache",
    "Angine de Lucas",
    "%PDF-1.",
    "JVBERi0xL",
    "\x89PNG",
)


def _demo_words() -> set[str]:
    """The demo town's doctors, allergies and diets, as its file holds them."""
    town = yaml.safe_load((ROOT / "bot" / "demo_town.yaml").read_text(encoding="utf-8"))
    words: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in HEALTH_FIELDS and isinstance(value, str) and len(value) > 3:
                    words.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(town)
    return words


class HealthWordsInLogs(logging.Handler):
    """Remembers which health word reached which logger (not the record)."""

    def __init__(self, words: set[str]) -> None:
        super().__init__(logging.DEBUG)
        self.words = sorted(words)
        self.hits: set[tuple[str, str]] = set()
        self.formatter = logging.Formatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(NOT_PRODUCT):
            return
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted holds no word we can read
            return
        for word in self.words:
            if word in line:
                self.hits.add((record.name, word))


_scan: HealthWordsInLogs | None = None


def start_scan() -> None:
    global _scan
    _scan = HealthWordsInLogs({*_demo_words(), *TEST_WORDS})
    root = logging.getLogger()
    root.addHandler(_scan)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for package in PRODUCT:
        logging.getLogger(package).setLevel(logging.DEBUG)


def finish_scan(session: pytest.Session) -> None:
    if _scan is None or not _scan.hits:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"health data in the logs: logger {name!r} wrote {word!r}"
        for name, word in sorted(_scan.hits)
    ]
    if reporter is not None:
        for line in lines:
            reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
