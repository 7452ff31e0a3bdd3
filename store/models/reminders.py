"""Deadline reminders: the waves planned per activity, period and kind, the periods a family
said it does not need, and the activities a guardian muted reminders for."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class ReminderWave(Base):
    """One reminder of an activity's period about to close: `kind` is `opening` (a holiday
    window opens) or `d<N>` (N days before the deadline; `d1` the eve), sent at `due_at`
    (never inside quiet hours), to the families that have booked nothing of the period by
    then. `state`: planned, sent, or skipped (a later wave of the same period was due too:
    the latest one alone is sent). Unique per activity, period and kind: planning is
    idempotent, whatever the number of workers."""

    __tablename__ = "reminder_wave"
    __table_args__ = (
        UniqueConstraint("activity_id", "period_start", "kind"),
        Index("ix_reminder_wave_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # "month" (a calendar month) or "window" (a holiday booking window).
    period_kind: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    deadline_at: Mapped[datetime]
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(10), default="planned")
    sent_at: Mapped[datetime | None]
    # What sending counted: families reminded, messages queued.
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ReminderSkip(Base):
    """A family that tapped "Pas besoin ce mois-ci": no more reminders of that activity's
    period."""

    __tablename__ = "reminder_skip"

    family_id: Mapped[int] = mapped_column(
        ForeignKey("family.id", ondelete="CASCADE"), primary_key=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    skipped_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderMute(Base):
    """A guardian who turned reminders off for an activity."""

    __tablename__ = "reminder_mute"

    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardian.id", ondelete="CASCADE"), primary_key=True
    )
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    muted_at: Mapped[datetime] = mapped_column(default=utcnow)
