"""A family's request that its data be erased, for the family-file service to decide."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base
from store.models.requests import Decided


class ErasureRequest(Decided, Base):
    """Erasure asked by a guardian (right to erasure); accepted when staff erase
    (`portail privacy erase`), or refused with a reason."""

    __tablename__ = "erasure_request"
    __table_args__ = (Index("ix_erasure_request_status", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
