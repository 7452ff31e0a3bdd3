"""Saving and loading the chat front-end's state in the shared store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import ChatState


class ChatStateStore:
    """A small key-value store of JSON documents, grouped by kind."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def load_kind(self, kind: str) -> dict[str, Any]:
        """Every saved key of a kind, with its data."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(ChatState.key, ChatState.data).where(ChatState.kind == kind)
            )
            return {key: data for key, data in rows}

    async def save(self, kind: str, key: str, data: Any) -> None:
        """Insert or replace one entry (None deletes it)."""
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

    async def drop(self, kind: str, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ChatState).where(ChatState.kind == kind, ChatState.key == key)
            )
