"""Reply addresses of the notifications that ask staff for a decision, and who decided first.

`DecisionToken`: the token (its sha256 only) of a notification asking the service to decide on
a request — a certificate, a document, bookings to validate, a family file change, an enrolment
request, a new child. `kind` names the request and `subject_ids` what it covers (one id; the
bookings made together, several). A token is valid until `expires_at`.

`DecisionClaim`: one row per request decided by reply (`key`: its kind and ids, with the
certificate for an absence's), taken by the first mail that decides it; a second staff
member's reply finds it taken, and the same mail processed again (a retry after a crash) finds
its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class DecisionToken(Base):
    """One token made for deciding a request by replying to its notification."""

    __tablename__ = "decision_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class DecisionClaim(Base):
    """The first reply that decided a request."""

    __tablename__ = "decision_claim"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    mail_id: Mapped[int]
    staff_id: Mapped[int]
    accept: Mapped[bool]
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
