"""What the chat front-end must remember across restarts: ongoing conversations and drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class ChatState(Base):
    """One saved piece of chat state: a conversation's step, or a user's draft data.

    `kind` is e.g. `conversation:booking` or `user_data`; `key` identifies the chat or user.
    """

    __tablename__ = "chat_state"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(100))
    data: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
