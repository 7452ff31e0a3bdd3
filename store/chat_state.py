"""Saving and loading the chat front-end's state in the shared store."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import insert_for
from store.models import ChatState
from store.models.base import utcnow

Entry = tuple[str, str]
"""A saved document's address: (kind, key)."""


class ChatStateStore:
    """A small key-value store of JSON documents, grouped by kind."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions
        # What this process last wrote or read per entry: unchanged data is not rewritten.
        self._known: dict[Entry, str] = {}

    async def load_kind(self, kind: str) -> dict[str, Any]:
        """Every saved key of a kind, with its data."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(ChatState.key, ChatState.data).where(ChatState.kind == kind)
            )
            loaded = {key: data for key, data in rows}
        for key, data in loaded.items():
            self._known[(kind, key)] = _fingerprint(data)
        return loaded

    async def load_entries(
        self,
        entries: Iterable[Entry],
        first: Callable[[AsyncSession], Awaitable[object]] | None = None,
    ) -> dict[Entry, Any]:
        """The saved data of some entries (one statement); an entry not saved is absent.
        `first` runs before it in the same transaction, committed with it.

        What was read is what this process knows of them from now on: data another worker
        wrote since is seen, and is never taken for unchanged by `save_many`."""
        wanted = list(dict.fromkeys(entries))
        if not wanted:
            return {}
        async with self._sessions.begin() as session:
            if first is not None:
                await first(session)
            rows = await session.execute(
                select(ChatState.kind, ChatState.key, ChatState.data).where(
                    tuple_(ChatState.kind, ChatState.key).in_(wanted)
                )
            )
            loaded = {(kind, key): data for kind, key, data in rows}
        for entry in wanted:
            if entry in loaded:
                self._known[entry] = _fingerprint(loaded[entry])
            else:
                self._known.pop(entry, None)
        return loaded

    async def save_many(self, entries: Mapping[Entry, Any]) -> None:
        """Write the changed entries (None deletes one) in one transaction: one upsert, one
        delete at most; nothing to do for what is unchanged."""
        changed = {
            entry: data
            for entry, data in entries.items()
            if self._known.get(entry, _fingerprint(None)) != _fingerprint(data)
        }
        if not changed:
            return
        now = utcnow()
        kept = [
            {"kind": kind, "key": key, "data": data, "updated_at": now}
            for (kind, key), data in changed.items()
            if data is not None
        ]
        gone = [entry for entry, data in changed.items() if data is None]
        async with self._sessions.begin() as session:
            if kept:
                await session.execute(_upsert(session), kept)
            if gone:
                await session.execute(
                    delete(ChatState).where(tuple_(ChatState.kind, ChatState.key).in_(gone))
                )
        for entry, data in changed.items():
            if data is None:
                self._known.pop(entry, None)
            else:
                self._known[entry] = _fingerprint(data)

    async def purge(self, older_than: datetime) -> int:
        """Delete the entries nobody has changed since `older_than` (abandoned drafts)."""
        async with self._sessions.begin() as session:
            stale = (
                await session.execute(
                    select(ChatState.kind, ChatState.key).where(ChatState.updated_at < older_than)
                )
            ).all()
            if stale:
                await session.execute(delete(ChatState).where(ChatState.updated_at < older_than))
        for kind, key in stale:
            self._known.pop((kind, key), None)
        return len(stale)


def _fingerprint(data: Any) -> str:
    return json.dumps(data, sort_keys=True)


def _upsert(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT (kind, key) DO UPDATE, in the session's SQL dialect."""
    return _upsert_for(session.get_bind().dialect.name)


@lru_cache(maxsize=2)
def _upsert_for(dialect: str) -> Any:
    statement = insert_for(dialect)(ChatState)
    return statement.on_conflict_do_update(
        index_elements=[ChatState.kind, ChatState.key],
        set_={"data": statement.excluded.data, "updated_at": statement.excluded.updated_at},
    )
