"""Who read a family's documents or children's health details, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class AccessEntry(Base):
    """One read of a document or of a child's health details by someone other than the
    family: `reader` is a staff actor's label (`staff:7`) or a service's code when a file
    went to its mailbox; `service_name` is what the family is shown; `what` is
    `document` or `health`, `what_id` the document's or the child's id; `why` the request
    it served (`certificate_to_review:12`, `file_change:4`, `day_sheet:act:2026-12-09`).
    Nothing of the content is kept here."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_family", "family_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"))
    reader: Mapped[str] = mapped_column(String(80))
    reader_name: Mapped[str | None] = mapped_column(String(200))
    service_name: Mapped[str | None] = mapped_column(String(200))
    what: Mapped[str] = mapped_column(String(20))
    what_id: Mapped[int]
    why: Mapped[str] = mapped_column(String(120))
