"""The clock the services read, so that tests and demos can set the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real current time, aware."""
    return datetime.now(UTC)
