"""What ties a message to other things: its attached documents, its copies in Telegram chats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class MessageAttachment(Base):
    """A document sent with a message (the document itself lives in `document`)."""

    __tablename__ = "message_attachment"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )


class ChatCopy(Base):
    """A message as delivered into one Telegram chat: a Telegram reply to it continues its thread.

    A staff reply reaches every linked guardian of the family, so one message may have several
    copies, one per chat.
    """

    __tablename__ = "chat_copy"
    __table_args__ = (UniqueConstraint("chat_id", "telegram_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    telegram_message_id: Mapped[int] = mapped_column(BigInteger)
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)
