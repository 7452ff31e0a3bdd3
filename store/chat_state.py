"""Saving and loading the chat front-end's state in the shared store."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import ChatState


class ChatStateStore:
    """A small key-value store of JSON documents, grouped by kind."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions
        # What this process last wrote or read per (kind, key): unchanged data is not rewritten.
        self._known: dict[tuple[str, str], str] = {}

    async def load_kind(self, kind: str) -> dict[str, Any]:
        """Every saved key of a kind, with its data."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(ChatState.key, ChatState.data).where(ChatState.kind == kind)
            )
            loaded = {key: data for key, data in rows}
        for key, data in loaded.items():
            self._known[(kind, key)] = json.dumps(data, sort_keys=True)
        return loaded

    async def save(self, kind: str, key: str, data: Any) -> None:
        """Insert or replace one entry (None deletes it); nothing to do when unchanged."""
        fingerprint = json.dumps(data, sort_keys=True)
        if self._known.get((kind, key)) == fingerprint:
            return
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ChatState)
                .where(ChatState.kind == kind, ChatState.key == key)
                .with_for_update()
            )
            if data is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(ChatState(kind=kind, key=key, data=data))
            elif row.data != data:
                row.data = data
        self._known[(kind, key)] = fingerprint

    async def drop(self, kind: str, key: str) -> None:
        self._known.pop((kind, key), None)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ChatState).where(ChatState.kind == kind, ChatState.key == key)
            )
