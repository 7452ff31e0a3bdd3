"""Reply tokens of message threads, and the notices told to senders of mails set aside.

`ReplyToken`: every token a thread's notification emails carried (its sha256 only). A staff
member may answer any notification of a thread, the newest or an older one: each token stays
valid as long as its thread exists, and goes with it.

`SenderNotice`: per sender address (lower-cased), when it was last told that its mail was
set aside; one row per address, so that several mail workers agree on the hourly limit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class ReplyToken(Base):
    """One token made for answering a thread by email (its hash; the token is never kept)."""

    __tablename__ = "reply_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SenderNotice(Base):
    """The last notice an address was sent about a mail of theirs set aside."""

    __tablename__ = "sender_notice"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    last_sent_at: Mapped[datetime]
    mail_id: Mapped[int | None]
