"""`portail bot` (or another `portail` command) with its SQL counted per update, a CPU profile,
or a proposed fix applied from the outside — never used for the timed runs of the product.

Run as `python -m bench.sql_census [portail arguments]` with the product's settings in the
environment. With `BENCH_SQL_CENSUS=<file.json>`, every statement is recorded with the update
being processed at the time (python-telegram-bot processes one update at a time by default),
its duration and one example of its parameters, and the census is written to the file on exit.
With `BENCH_PROFILE=<file.prof>` the whole process runs under cProfile. With
`BENCH_PROTOTYPE=<names>` proposed fixes are applied (see `_prototype`), to measure them before
they are made in the product. The timed runs start the product unchanged (`python -m bot.cli
bot`).
"""

from __future__ import annotations

import cProfile
import json
import os
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


PROTOTYPES = ("sqlite_one_connection", "persistence_upsert")


def _prototype(names: str) -> None:
    """Apply fixes proposed in RESULTS.md from the outside, to measure them before they exist.

    `sqlite_one_connection`: on SQLite, one pooled connection (`pool_size=1, max_overflow=0`),
    so that the process's transactions queue in the pool (FIFO, asyncio) instead of in
    SQLite's busy handler (which sleeps up to 100 ms between retries).
    `persistence_upsert`: `ChatStateStore.save` remembers what it last wrote for each key and
    skips an unchanged document; otherwise it writes with one INSERT ... ON CONFLICT DO
    UPDATE (DELETE for None), instead of SELECT ... FOR UPDATE then UPDATE in a transaction.
    """
    import store.database as database

    if "sqlite_one_connection" in names:
        original = database.create_engine

        def create_engine(url: str, **kwargs: Any) -> Any:
            if database.is_sqlite(url):
                kwargs.setdefault("pool_size", 1)
                kwargs.setdefault("max_overflow", 0)
            return original(url, **kwargs)

        database.create_engine = create_engine  # type: ignore[assignment]
    if "persistence_upsert" in names:
        _persistence_upsert()


def _persistence_upsert() -> None:
    import json as json_module

    from sqlalchemy import delete
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from store.chat_state import ChatStateStore
    from store.models import ChatState
    from store.models.base import utcnow

    async def save(self: ChatStateStore, kind: str, key: str, data: Any) -> None:
        written = self.__dict__.setdefault("_written", {})
        encoded = None if data is None else json_module.dumps(data, sort_keys=True)
        if (kind, key) in written and written[(kind, key)] == encoded:
            return
        async with self._sessions.begin() as session:
            if data is None:
                await session.execute(
                    delete(ChatState).where(ChatState.kind == kind, ChatState.key == key)
                )
            else:
                dialect = session.bind.dialect.name if session.bind else "sqlite"
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                statement = insert(ChatState).values(
                    kind=kind, key=key, data=data, updated_at=utcnow()
                )
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[ChatState.kind, ChatState.key],
                        set_={"data": statement.excluded.data, "updated_at": utcnow()},
                    )
                )
        written[(kind, key)] = encoded

    ChatStateStore.save = save  # type: ignore[method-assign]


def main() -> None:
    """`python -m bench.sql_census [portail arguments]` (default: `bot`)."""
    _prototype(os.environ.get("BENCH_PROTOTYPE", ""))
    from bot.cli import main as portail

    census = os.environ.get("BENCH_SQL_CENSUS")
    if census:
        _install()
    arguments = sys.argv[1:] or ["bot"]
    profile_path = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_path else None
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
