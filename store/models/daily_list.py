"""The daily lists mailed to the activities' services (`store.daily_lists`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class DailyList(Base):
    """The list of one activity's day, queued once to its service (unique per activity and
    day, whatever the number of workers), with a snapshot of what it said: `snapshot` maps
    each booking listed (its id, as text) to `{"child": id, "state": "confirmed" | "pending",
    "absence": absence id or null}`. Each follow-up (`updates` of them so far) mails what
    changed since, and replaces the snapshot."""

    __tablename__ = "daily_list"
    __table_args__ = (UniqueConstraint("activity_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updates: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
