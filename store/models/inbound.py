"""Inbound emails, kept whole from the moment the mail server accepts them.

The raw message is stored in the row itself (`raw`, deferred so that listings never load it):
it is committed in the same transaction as its metadata before the SMTP server answers 250, so
an accepted mail can never be half-stored (a file written next to a row could be left without
its row, or a row without its file, by a crash between the two), it is backed up and purged
with the database, and the SMTP server and the bot may run on different hosts that share only
the database. Mails are limited in size (`MAX_MAIL_BYTES`, 25 MB by default), which both
SQLite and PostgreSQL (`bytea`) hold without trouble.

`raw` holds the mail sealed with AES-256-GCM (encrypted at rest: it carries certificates), 41
bytes more than its size; the inbound mail service seals and opens it (`store.inbound`), never
the model (what is written to `raw` is stored as it is). An emptied `raw` (past its retention)
is empty bytes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, str_enum, utcnow


class InboundStatus(StrEnum):
    """Where an inbound mail stands; only `received` is still to be processed."""

    RECEIVED = "received"
    FILED = "filed"
    RELAYED = "relayed"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"
    MALFORMED = "malformed"
    # A parent's documents from a mail our MTA did not authenticate: checked and held until
    # the parent confirms in the chat that they sent it (`store.mail_documents`).
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    # Held documents thrown away: the parent said they did not send it, or never answered.
    DISCARDED = "discarded"


class InboundMail(Base):
    """One email the mail server accepted, and what became of it.

    `message_id` is unique: the same message delivered twice is stored and filed once (a mail
    without a Message-ID is known by the hash of its bytes). `family_id` is the family it was
    filed or relayed to, if any; `outcome` says what was filed or refused, for staff.

    A worker processes a mail under a lease: `lease_owner` (the worker's id) holds it until
    `lease_until`; the lease is cleared when the mail is done or the attempt failed, and a mail
    whose lease expired (its worker died) is taken over by another worker.

    `raw` is emptied (and `raw_deleted_at` set) once the retention period after processing is
    over (`store.mail_retention`); the rest of the row stays. The mails of the last hour are
    counted per sender (`mail_from`, and `header_from` read at acceptance), case-insensitively,
    through the two expression indexes.
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        Index("ix_inbound_mail_mail_from_lower", func.lower(text("mail_from")), "received_at"),
        Index("ix_inbound_mail_header_from_lower", func.lower(text("header_from")), "received_at"),
        Index("ix_inbound_mail_processed_at", "processed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    mail_from: Mapped[str] = mapped_column(String(254))
    rcpt_to: Mapped[list[str]] = mapped_column(JSON)
    header_from: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    size: Mapped[int]
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[InboundStatus] = mapped_column(str_enum(InboundStatus), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    family_id: Mapped[int | None] = mapped_column(
        ForeignKey("family.id", ondelete="SET NULL"), index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    raw_deleted_at: Mapped[datetime | None]
