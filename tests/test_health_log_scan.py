"""The log scan itself: it sees a health word however it reaches a record, and fails the
session; the local Bot API's own logs are not the product's."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from tests import health_log_scan
from tests.health_log_scan import HealthWordsInLogs, finish_scan


def test_a_word_in_a_message_its_arguments_or_a_traceback_is_seen():
    scan = HealthWordsInLogs({"Arachides", "Dr Roussel"})
    logger = logging.getLogger("store.scan_probe")
    logger.addHandler(scan)
    logger.propagate = False  # the session's own scan is not to see the probe
    try:
        logger.info("child file: %s", "allergies Arachides")
        try:
            raise ValueError("Dr Roussel")
        except ValueError:
            logger.exception("failed")
        scan.handle(logging.makeLogRecord({"name": "fake_telegram.server", "msg": "Arachides"}))
    finally:
        logger.removeHandler(scan)
        logger.propagate = True
    assert scan.hits == {("store.scan_probe", "Arachides"), ("store.scan_probe", "Dr Roussel")}


def test_a_hit_fails_the_session(monkeypatch):
    scan = HealthWordsInLogs({"Arachides"})
    scan.hits.add(("store.probe", "Arachides"))
    monkeypatch.setattr(health_log_scan, "_scan", scan)
    session = SimpleNamespace(
        exitstatus=pytest.ExitCode.OK,
        config=SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: None)),
    )
    finish_scan(session)  # type: ignore[arg-type]
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED


def test_the_demo_towns_health_details_are_searched_for():
    words = health_log_scan._demo_words()
    assert {"Arachides", "Dr Anne Roussel, 05 61 00 00 01", "Sans porc"} <= words


def test_the_smtp_library_never_logs_a_mails_lines(monkeypatch):
    """aiosmtpd logs each line of a message at DEBUG: its logger stays at INFO even when
    everything else is at DEBUG (LOG_LEVEL=DEBUG)."""
    import mail.inbound  # noqa: F401  (where the level is set)

    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    monkeypatch.setattr(logging.getLogger("mail"), "level", logging.DEBUG)
    assert not logging.getLogger("mail.log").isEnabledFor(logging.DEBUG)
