"""The morning digest of each service: its codes, the digests sent, their reply addresses.

`DigestCode`: a short number (`number`, unique among a service's live codes) standing for one
request waiting for the service's decision (`kind` a `RequestKind` value, `subject_ids` what it
covers) or one mail set aside for it (`kind` "mail", `subject_ids` the mail's id). `key` names
what it stands for (one row per service and key): a request listed again keeps its number;
a number is given again only once its row expired (`expires_at`, pushed back at each listing).

`StaffDigest`: one digest built for a service, and what its codes meant then (`entries`:
its numbers and code rows), so that a reply to it is read against the digest it answers.
`scheduled_for` is the day (Europe/Paris) of a scheduled digest: one per service and day,
whatever the workers (a digest sent on demand has none). A day with nothing pending is
recorded too, with `sent` false.

`StaffDigestToken`: the reply address of a digest's email (only the token's sha256).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class DigestCode(Base):
    """A short code a service's digest gives a pending request or a mail set aside."""

    __tablename__ = "digest_code"
    __table_args__ = (
        UniqueConstraint("service_id", "key"),
        UniqueConstraint("service_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    # None once expired and given to another request.
    number: Mapped[int | None]
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    subject_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class StaffDigest(Base):
    """One digest of a service (sent, or recorded as having nothing to say)."""

    __tablename__ = "staff_digest"
    __table_args__ = (UniqueConstraint("service_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    scheduled_for: Mapped[date | None] = mapped_column(Date)
    sent: Mapped[bool]
    # [number, code row id] pairs, in the digest's order.
    entries: Mapped[list[list[int]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class StaffDigestToken(Base):
    """The reply address of a digest's email."""

    __tablename__ = "staff_digest_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("staff_digest.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
