"""A confirm carried out once: its idempotency key and what it gave (see `store.idempotency`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class ConfirmedAction(Base):
    """A confirm that was carried out: its key, whose it is, and what it gave (JSON)."""

    __tablename__ = "confirmed_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[int | None] = mapped_column(
        ForeignKey("family.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
