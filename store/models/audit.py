"""The audit log of who did what, and the hashed tokens that link Telegram accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, str_enum, utcnow
from store.models.enums import TokenPurpose


class AuditEntry(Base):
    """One action: who (`actor`, e.g. "guardian:12"), what, on which entity.

    `details` never carries document contents nor medical reasons.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LinkToken(Base):
    """A single-use secret that links a Telegram account to a guardian; only its hash is kept."""

    __tablename__ = "link_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardian.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose))
    # For email codes: the Telegram account that asked, the only one that may use the code.
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
