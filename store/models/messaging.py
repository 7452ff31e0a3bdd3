"""Services and their staff, message threads with families, and the outbox of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from store.encryption import EncryptedText
from store.models.base import Base, str_enum, utcnow
from store.models.enums import Channel, DeliveryState, MessageDirection


class Service(Base):
    """A municipal service parents write to (canteen/ALAE, leisure centres, billing, ...)."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))


class StaffMember(Base):
    """A staff member answering for a service."""

    __tablename__ = "staff_member"
    __table_args__ = (Index("ix_staff_member_email_lower", func.lower(text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)


class Thread(Base):
    """A conversation between a family and a service."""

    __tablename__ = "thread"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    subject: Mapped[str] = mapped_column(String(200))
    reply_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message of a thread, in either direction, with its delivery state."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"), index=True)
    direction: Mapped[MessageDirection] = mapped_column(str_enum(MessageDirection))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    author: Mapped[str] = mapped_column(String(60))
    # Encrypted at rest: what parents and services write each other may tell of a child's
    # health. Never searched or filtered on in SQL.
    body: Mapped[str] = mapped_column(EncryptedText)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    delivery_state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxItem(Base):
    """A notification waiting to be delivered exactly once (Telegram chat or staff email).

    `dedup_key` makes enqueuing idempotent; delivery workers claim due items, and retry them
    with backoff until `state` is sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
