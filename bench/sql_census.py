"""`portail bot` (or another `portail` command) with its SQL counted per update, or a CPU
profile — never used for the timed runs of the product.

Run as `python -m bench.sql_census [portail arguments]` with the product's settings in the
environment. With `BENCH_SQL_CENSUS=<file.json>`, every statement is recorded with the update
being processed at the time (the census runs the bot with MAX_CONCURRENT_UPDATES=1),
its duration and one example of its parameters, and the census is written to the file on exit.
With `BENCH_PROFILE=<file.prof>` the whole process runs under cProfile; with
`BENCH_PROFILE_ON_SIGNAL=1` as well, the profile only runs between SIGUSR1 and SIGUSR2 (which
writes the file), so that start-up and warm-up stay out of it (`bench/profile_chat.py`). The
timed runs start the product unchanged (`python -m bot.cli bot`).
"""

from __future__ import annotations

import cProfile
import json
import os
import signal
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application

_current: list[str] = []
_statements: dict[str, dict[str, Any]] = {}
_per_update: list[dict[str, Any]] = []
_started: dict[int, float] = {}


def _step(update: object) -> str:
    """A short name for the update: callback data prefix, or the command, or 'text'."""
    if not isinstance(update, Update):
        return type(update).__name__
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        parts = data.split(":")
        return ":".join(parts[:2]) if parts and parts[0] not in ("menu",) else data
    if update.message is not None and update.message.text:
        words = update.message.text.split()
        return words[0] if words and words[0].startswith("/") else "text"
    return "other"


def _install() -> None:
    original = Application.process_update

    async def process_update(self: Application, update: object) -> None:  # type: ignore[type-arg]
        record: dict[str, Any] = {"step": _step(update), "statements": Counter()}
        _current.append(record["step"])
        _per_update.append(record)
        try:
            await original(self, update)
        finally:
            _current.pop()

    Application.process_update = process_update  # type: ignore[method-assign]

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any):  # type: ignore[no-untyped-def]
        _started[id(cursor)] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: Any):  # type: ignore[no-untyped-def]
        took = time.perf_counter() - _started.pop(id(cursor), time.perf_counter())
        owner = _current[-1] if _current else "(outside updates: delivery loop, start-up)"
        entry = _statements.setdefault(
            statement,
            {
                "count": 0,
                "seconds": 0.0,
                "max": 0.0,
                "example": _jsonable(parameters),
                "steps": Counter(),
            },
        )
        entry["count"] += 1
        entry["seconds"] += took
        entry["max"] = max(entry["max"], took)
        entry["steps"][owner] += 1
        if _current and _per_update:
            _per_update[-1]["statements"][statement] += 1


def _jsonable(parameters: Any) -> Any:
    if isinstance(parameters, tuple | list):
        return [_jsonable(value) for value in parameters]
    if isinstance(parameters, dict):
        return {key: _jsonable(value) for key, value in parameters.items()}
    if isinstance(parameters, int | float | str) or parameters is None:
        return parameters
    return str(parameters)


def _dump(path: str) -> None:
    per_step: dict[str, list[int]] = defaultdict(list)
    for record in _per_update:
        per_step[record["step"]].append(sum(record["statements"].values()))
    census = {
        "updates": len(_per_update),
        "per_step": per_step,
        "statements": {
            statement: {**entry, "steps": dict(entry["steps"])}
            for statement, entry in _statements.items()
        },
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(census, out)


def _profile_on_signal(profiler: cProfile.Profile, path: str) -> None:
    """SIGUSR1 starts the profile (of the main thread: the event loop), SIGUSR2 stops it and
    writes it to `path`."""

    def start(signum: int, frame: Any) -> None:
        profiler.enable()

    def stop(signum: int, frame: Any) -> None:
        profiler.disable()
        profiler.dump_stats(path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def main() -> None:
    """`python -m bench.sql_census [portail arguments]` (default: `bot`)."""
    from bot.cli import main as portail

    census = os.environ.get("BENCH_SQL_CENSUS")
    if census:
        _install()
    arguments = sys.argv[1:] or ["bot"]
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_path else None
    if profiler is not None and profile_path and os.environ.get("BENCH_PROFILE_ON_SIGNAL"):
        _profile_on_signal(profiler, profile_path)
        profiler = None
    try:
        if profiler is not None:
            profiler.runcall(portail, arguments)
        else:
            portail(arguments)
    finally:
        if profiler is not None and profile_path:
            profiler.dump_stats(profile_path)
        if census:
            _dump(census)


if __name__ == "__main__":
    main()
