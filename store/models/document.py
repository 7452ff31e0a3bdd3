"""Documents sent by families: metadata here, bytes on disk under a name we choose."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, str_enum, utcnow
from store.models.enums import DocumentSource, DocumentStatus, DocumentType


class Document(Base):
    """A document of a family, or of one of its children.

    The file lives under the documents folder as `storage_key` (random, never the sender's
    name); `original_name` is kept only to show it back to the family.
    """

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    doc_type: Mapped[DocumentType] = mapped_column(str_enum(DocumentType))
    status: Mapped[DocumentStatus] = mapped_column(str_enum(DocumentStatus))
    source: Mapped[DocumentSource] = mapped_column(str_enum(DocumentSource))
    original_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(40))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(String(500))
