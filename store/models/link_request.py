"""The requests for an email linking code, kept an hour to limit how often codes are mailed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base


class LinkCodeRequest(Base):
    """One request for an email code that was answered "sent" (whether the address is known or
    not): counted per Telegram account, per address and in all (`store.linking`).

    The address is kept as its SHA-256 only, and rows older than the counting window are
    deleted by the next request.
    """

    __tablename__ = "link_code_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime] = mapped_column(index=True)
