"""News from the services (actualités): the items staff publish, the families each one is for,
and the guardians who muted news."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class NewsItem(Base):
    """A news item: a title and a Markdown-subset text (French, and English when translated),
    an optional image or PDF, an audience, and whether it is urgent (closures, strikes: sent
    to guardians who muted news too).

    `audience` is how staff wrote it (`all`, `facility:CODE`, `activity:CODE`,
    `booked:ACTIVITY:DAY[,DAY...]`); the families it resolved to at publication are the rows
    of `NewsAudience`. `key` makes publishing idempotent: a closure's names its activity and
    day, a news item's its content (closing a day, or publishing an item, twice publishes once).
    """

    __tablename__ = "news_item"
    __table_args__ = (Index("ix_news_item_published", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(String(200))
    body_en: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(500))
    urgent: Mapped[bool] = mapped_column(default=False)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id"), index=True)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(60))
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    closure_activity: Mapped[str | None] = mapped_column(String(200))
    closure_day: Mapped[date | None] = mapped_column(Date)
    # What publishing it counted: families in the audience, messages queued.
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class NewsAudience(Base):
    """A family a news item is for (resolved when it was published)."""

    __tablename__ = "news_audience"

    news_id: Mapped[int] = mapped_column(
        ForeignKey("news_item.id", ondelete="CASCADE"), primary_key=True
    )
    family_id: Mapped[int] = mapped_column(
        ForeignKey("family.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class NewsMute(Base):
    """A guardian who muted news: no broadcast reaches them but urgent ones."""

    __tablename__ = "news_mute"

    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("guardian.id", ondelete="CASCADE"), primary_key=True
    )
    muted_at: Mapped[datetime] = mapped_column(default=utcnow)
