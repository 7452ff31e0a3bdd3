"""News from the services (actualités): staff publish, families read, the outbox broadcasts.

An item's audience (all families, a facility's, an activity's, the families booked on given
days) is resolved when it is published, into the families it is for: they alone list it, and
each of their guardians with a linked chat gets one outbox message (`dedup_key`
`news:<id>:g:<guardian>`: a retry or a second publication never sends twice). A guardian who
muted news gets urgent items only. Withdrawing an item hides it and stops what was not sent.

Closing an opening day (strike, weather) cancels that day's bookings without billing (state
`cancelled`, no fee: the day never happened; a late cancellation of that day loses its fee
too), closes the day, and publishes an urgent item to the families who were booked, in one
transaction; closing it again changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.clock import Clock, system_clock
from store.deadlines import PARIS
from store.models import (
    Activity,
    AuditEntry,
    Booking,
    Child,
    Enrollment,
    Facility,
    Family,
    Guardian,
    NewsAudience,
    NewsItem,
    NewsMute,
    OpeningDay,
    OutboxItem,
    StaffMember,
)
from store.models.enums import ActorKind, BookingState, Channel, DeliveryState
from store.outbox import DUE_AT_ONCE

NEWS_KIND = "news"
ACTIVE_STATES = (BookingState.PENDING, BookingState.CONFIRMED, BookingState.WAITLISTED)
# Rows per statement when a broadcast reaches thousands of guardians.
CHUNK = 500
MAX_TITLE = 200
MAX_DAYS = 31
WITHDRAWN = "withdrawn"


class InvalidNews(StoreError):
    """A news item that cannot be published as written (unknown audience, empty text...)."""


@dataclass(frozen=True)
class Audience:
    """Who a news item is for: `kind` all, facility, activity or booked; `code` the facility's
    or activity's code; `days` for booked."""

    kind: str
    code: str = ""
    days: tuple[date, ...] = ()

    def __str__(self) -> str:
        if self.kind == "all":
            return "all"
        if self.kind == "booked":
            return f"booked:{self.code}:" + ",".join(day.isoformat() for day in self.days)
        return f"{self.kind}:{self.code}"


def parse_audience(written: str) -> Audience:
    """`all`, `facility:CODE`, `activity:CODE` or `booked:ACTIVITY:YYYY-MM-DD[,...]`."""
    parts = written.strip().split(":")
    if parts == ["all"]:
        return Audience("all")
    if len(parts) == 2 and parts[0] in ("facility", "activity") and parts[1]:
        return Audience(parts[0], parts[1])
    if len(parts) == 3 and parts[0] == "booked" and parts[1] and parts[2]:
        try:
            days = tuple(sorted({date.fromisoformat(day) for day in parts[2].split(",")}))
        except ValueError:
            raise InvalidNews(f"days are written YYYY-MM-DD: {parts[2]}") from None
        if len(days) > MAX_DAYS:
            raise InvalidNews(f"at most {MAX_DAYS} days")
        return Audience("booked", parts[1], days)
    raise InvalidNews(
        f"unknown audience {written!r}: all, facility:CODE, activity:CODE or "
        "booked:ACTIVITY:YYYY-MM-DD[,YYYY-MM-DD...]"
    )


@dataclass(frozen=True)
class Attachment:
    """An image or PDF checked like documents (`store.safe_files.inspect`)."""

    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class NewsDraft:
    """What staff publish."""

    title: str
    body: str
    audience: Audience
    title_en: str | None = None
    body_en: str | None = None
    urgent: bool = False
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Published:
    """A publication: the item, the families it is for, messages queued now; `already`: the
    same item was published before (nothing new queued but what was missing)."""

    news_id: int
    families: int
    queued: int
    already: bool = False
    cancelled: int = 0


@dataclass(frozen=True)
class NewsView:
    """A news item as a parent reads it, in their language when translated."""

    id: int
    title: str
    body: str
    urgent: bool
    published_at: datetime
    closure_activity: str | None
    closure_day: date | None
    attachment: Attachment | None


@dataclass(frozen=True)
class NewsHeadline:
    id: int
    title: str
    urgent: bool
    published_at: datetime


@dataclass(frozen=True)
class NewsSummary:
    """A news item as staff list it."""

    id: int
    title: str
    audience: str
    urgent: bool
    published_at: datetime
    withdrawn: bool
    families: int
    queued: int
    sent: int


def news_key(news_id: int, guardian_id: int) -> str:
    """The outbox `dedup_key` of a news item's message to a guardian."""
    return f"news:{news_id}:g:{guardian_id}"


def _content_key(actor: Actor, draft: NewsDraft) -> str:
    digest = hashlib.sha256()
    for part in (
        str(actor.id),
        draft.title,
        draft.body,
        draft.title_en or "",
        draft.body_en or "",
        str(draft.audience),
        str(draft.urgent),
    ):
        digest.update(part.encode() + b"\x00")
    if draft.attachment is not None:
        digest.update(draft.attachment.content)
    return f"publish:{digest.hexdigest()[:64]}"


def _checked(draft: NewsDraft) -> None:
    for title in (draft.title, draft.title_en):
        if title is not None and not (0 < len(title.strip()) <= MAX_TITLE):
            raise InvalidNews(f"a title has 1 to {MAX_TITLE} characters")
    if not draft.body.strip() or (draft.body_en is not None and not draft.body_en.strip()):
        raise InvalidNews("the text is empty")
    if (draft.title_en is None) != (draft.body_en is None):
        raise InvalidNews("an English translation has both a title and a text")


class NewsService:
    """Publish, withdraw and read news; close an opening day."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    # --- Staff ---------------------------------------------------------------------------

    async def publish(self, actor: Actor, draft: NewsDraft) -> Published:
        """Publish an item to its audience and queue its messages (once per guardian)."""
        _checked(draft)
        key = _content_key(actor, draft)
        async with self._sessions.begin() as session:
            await _check_staff(session, actor)
            existing = await session.scalar(select(NewsItem).where(NewsItem.key == key))
            if existing is not None:
                queued = 0
                if existing.withdrawn_at is None:
                    queued = await _broadcast(session, existing.id, existing.urgent)
                count = await _audience_count(session, existing.id)
                return Published(existing.id, count, queued, already=True)
            families = await _resolve(session, draft.audience, self._today())
            item = _new_item(actor, draft, key, self._clock())
            session.add(item)
            await session.flush()
            return await _finish(session, actor, item, families, "publish")

    async def close_day(
        self,
        actor: Actor,
        activity_code: str,
        day: date,
        title: str,
        body: str,
        title_en: str | None = None,
        body_en: str | None = None,
    ) -> Published:
        """Close an activity's opening day: its bookings cancelled without billing, the day
        closed, an urgent item to the families that were booked. Twice is once."""
        async with self._sessions.begin() as session:
            await _check_staff(session, actor)
            activity = await session.scalar(select(Activity).where(Activity.code == activity_code))
            if activity is None:
                raise InvalidNews(f"no activity has the code {activity_code}")
            opening = await session.scalar(
                select(OpeningDay)
                .where(OpeningDay.activity_id == activity.id, OpeningDay.day == day)
                .with_for_update()
            )
            if opening is None:
                raise InvalidNews(f"{activity_code} is not open on {day.isoformat()}")
            key = f"closure:{activity.id}:{day.isoformat()}"
            existing = await session.scalar(select(NewsItem).where(NewsItem.key == key))
            if existing is not None:
                count = await _audience_count(session, existing.id)
                queued = await _broadcast(session, existing.id, urgent=True)
                return Published(existing.id, count, queued, already=True)
            draft = NewsDraft(
                title,
                body,
                Audience("booked", activity_code, (day,)),
                title_en,
                body_en,
                urgent=True,
            )
            _checked(draft)
            booked = list(
                await session.execute(
                    select(Booking.id, Booking.family_id)
                    .where(Booking.opening_day_id == opening.id, Booking.state.in_(ACTIVE_STATES))
                    .order_by(Booking.id)
                    .with_for_update()
                )
            )
            unbilled = list(
                await session.scalars(
                    select(Booking.id).where(
                        Booking.opening_day_id == opening.id,
                        Booking.state == BookingState.LATE_CANCELLED,
                    )
                )
            )
            now = self._clock()
            cancelled = [booking_id for booking_id, _ in booked] + unbilled
            if cancelled:
                await session.execute(
                    update(Booking)
                    .where(Booking.id.in_(cancelled))
                    .values(state=BookingState.CANCELLED, cancellation_fee_cents=0, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                await session.execute(
                    insert(AuditEntry),
                    [
                        {
                            "actor": actor.label,
                            "action": "cancel",
                            "entity": "booking",
                            "entity_id": booking_id,
                            "details": {"closure": True, "fee": 0},
                        }
                        for booking_id in cancelled
                    ],
                )
            opening.closed = True
            opening.closed_reason = title.strip()[:200]
            opening.taken = 0
            item = _new_item(actor, draft, key, now)
            item.closure_activity = activity.name
            item.closure_day = day
            session.add(item)
            await session.flush()
            record(session, actor, "close_day", "opening_day", opening.id, news_id=item.id)
            booked_families = sorted({family_id for _, family_id in booked})
            published = await _finish(session, actor, item, booked_families, "publish_closure")
            return Published(
                published.news_id, published.families, published.queued, cancelled=len(booked)
            )

    async def withdraw(self, actor: Actor, news_id: int) -> int:
        """Hide an item and stop its messages not sent yet; returns how many were stopped."""
        async with self._sessions.begin() as session:
            await _check_staff(session, actor)
            item = await session.get(NewsItem, news_id, with_for_update=True)
            if item is None:
                raise NotFound("unknown news item")
            if item.withdrawn_at is None:
                item.withdrawn_at = self._clock()
                record(session, actor, "withdraw", "news_item", news_id)
            stopped = await session.execute(
                update(OutboxItem)
                .where(
                    OutboxItem.kind == NEWS_KIND,
                    OutboxItem.dedup_key.like(f"news:{news_id}:g:%"),
                    OutboxItem.state == DeliveryState.PENDING,
                )
                .values(state=DeliveryState.FAILED, last_error=WITHDRAWN)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(stopped, "rowcount", 0) or 0)

    async def summaries(self, actor: Actor, limit: int = 50) -> list[NewsSummary]:
        """The latest items, withdrawn ones too, with their messages sent."""
        actor.check_staff()
        async with self._sessions() as session:
            items = list(
                await session.scalars(
                    select(NewsItem)
                    .order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
                    .limit(limit)
                )
            )
            sent: dict[int, int] = {}
            for item in items:
                sent[item.id] = int(
                    await session.scalar(
                        select(func.count(OutboxItem.id)).where(
                            OutboxItem.dedup_key.like(f"news:{item.id}:g:%"),
                            OutboxItem.state == DeliveryState.SENT,
                        )
                    )
                    or 0
                )
        return [
            NewsSummary(
                item.id,
                item.title,
                item.audience,
                item.urgent,
                item.published_at,
                item.withdrawn_at is not None,
                int((item.counts or {}).get("families", 0)),
                int((item.counts or {}).get("queued", 0)),
                sent[item.id],
            )
            for item in items
        ]

    # --- Families ------------------------------------------------------------------------

    async def headlines(
        self, actor: Actor, offset: int, limit: int, language: str
    ) -> tuple[list[NewsHeadline], int]:
        """The family's items, latest first (a page), and how many there are."""
        family_id = _family_of(actor)
        visible = (
            select(NewsItem)
            .join(NewsAudience, NewsAudience.news_id == NewsItem.id)
            .where(NewsAudience.family_id == family_id, NewsItem.withdrawn_at.is_(None))
        )
        async with self._sessions() as session:
            total = int(
                await session.scalar(select(func.count()).select_from(visible.subquery())) or 0
            )
            rows = await session.execute(
                visible.with_only_columns(
                    NewsItem.id,
                    NewsItem.title,
                    NewsItem.title_en,
                    NewsItem.urgent,
                    NewsItem.published_at,
                )
                .order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
                .offset(offset)
                .limit(limit)
            )
            headlines = [
                NewsHeadline(
                    news_id, title_en if language == "en" and title_en else title, urgent, at
                )
                for news_id, title, title_en, urgent, at in rows
            ]
        return headlines, total

    async def item(self, actor: Actor, news_id: int, language: str) -> NewsView:
        """One item of the family's, whole; NotFound for another's, or a withdrawn one."""
        family_id = _family_of(actor)
        async with self._sessions() as session:
            item = await session.scalar(
                select(NewsItem)
                .join(NewsAudience, NewsAudience.news_id == NewsItem.id)
                .where(
                    NewsItem.id == news_id,
                    NewsAudience.family_id == family_id,
                    NewsItem.withdrawn_at.is_(None),
                )
            )
        if item is None:
            raise NotFound("unknown news item")
        return _view(item, language)

    async def for_delivery(self, news_id: int, language: str) -> NewsView | None:
        """An item as its broadcast says it; None once withdrawn (nothing is sent)."""
        async with self._sessions() as session:
            item = await session.get(NewsItem, news_id)
        if item is None or item.withdrawn_at is not None:
            return None
        return _view(item, language)

    async def is_muted(self, actor: Actor) -> bool:
        guardian_id = _guardian_of(actor)
        async with self._sessions() as session:
            return await session.get(NewsMute, guardian_id) is not None

    async def set_muted(self, actor: Actor, muted: bool) -> bool:
        """Mute (or unmute) news for the guardian; returns the new setting."""
        guardian_id = _guardian_of(actor)
        async with self._sessions.begin() as session:
            if await session.get(Guardian, guardian_id) is None:
                raise NotFound("unknown guardian")
            exists = await session.get(NewsMute, guardian_id)
            if muted and exists is None:
                session.add(NewsMute(guardian_id=guardian_id, muted_at=self._clock()))
            elif not muted and exists is not None:
                await session.execute(delete(NewsMute).where(NewsMute.guardian_id == guardian_id))
            record(
                session, actor, "mute_news" if muted else "unmute_news", "guardian", guardian_id
            )
        return muted

    def _today(self) -> date:
        return self._clock().astimezone(PARIS).date()


# --- In the caller's transaction -------------------------------------------------------------


async def _check_staff(session: AsyncSession, actor: Actor) -> None:
    """Only a staff member of the store publishes: not a guardian, not an unknown id."""
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        raise AccessDenied("a staff member publishes news")
    if await session.get(StaffMember, actor.id) is None:
        raise AccessDenied("unknown staff member")


def _family_of(actor: Actor) -> int:
    if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
        raise AccessDenied("a family's news")
    return actor.family_id


def _guardian_of(actor: Actor) -> int:
    if actor.kind is not ActorKind.GUARDIAN or actor.id is None:
        raise AccessDenied("a guardian's setting")
    return actor.id


def _new_item(actor: Actor, draft: NewsDraft, key: str, now: datetime) -> NewsItem:
    attachment = draft.attachment
    return NewsItem(
        title=draft.title.strip(),
        body=draft.body.strip(),
        title_en=draft.title_en.strip() if draft.title_en else None,
        body_en=draft.body_en.strip() if draft.body_en else None,
        audience=str(draft.audience),
        urgent=draft.urgent,
        staff_id=actor.id,
        attachment=attachment.content if attachment else None,
        attachment_name=attachment.name if attachment else None,
        attachment_type=attachment.content_type if attachment else None,
        key=key,
        counts={},
        published_at=now,
    )


async def _finish(
    session: AsyncSession, actor: Actor, item: NewsItem, families: Sequence[int], action: str
) -> Published:
    """The item's families written, its messages queued, the counts kept, the audit entry."""
    for start in range(0, len(families), CHUNK):
        await session.execute(
            insert(NewsAudience),
            [{"news_id": item.id, "family_id": f} for f in families[start : start + CHUNK]],
        )
    queued = await _broadcast(session, item.id, item.urgent)
    item.counts = {"families": len(families), "queued": queued}
    record(
        session,
        actor,
        action,
        "news_item",
        item.id,
        audience=item.audience,
        urgent=item.urgent,
        families=len(families),
        queued=queued,
    )
    return Published(item.id, len(families), queued)


async def _resolve(session: AsyncSession, audience: Audience, today: date) -> list[int]:
    """The families an audience names, now."""
    if audience.kind == "all":
        query = select(Family.id)
    elif audience.kind == "facility":
        facility_id = await session.scalar(
            select(Facility.id).where(Facility.code == audience.code)
        )
        if facility_id is None:
            raise InvalidNews(f"no facility has the code {audience.code}")
        query = (
            select(Child.family_id)
            .join(Enrollment, Enrollment.child_id == Child.id)
            .join(Activity, Activity.id == Enrollment.activity_id)
            .where(Activity.facility_id == facility_id, Enrollment.ends_on >= today)
        )
    else:
        activity_id = await session.scalar(
            select(Activity.id).where(Activity.code == audience.code)
        )
        if activity_id is None:
            raise InvalidNews(f"no activity has the code {audience.code}")
        if audience.kind == "activity":
            query = (
                select(Child.family_id)
                .join(Enrollment, Enrollment.child_id == Child.id)
                .where(Enrollment.activity_id == activity_id, Enrollment.ends_on >= today)
            )
        else:
            query = select(Booking.family_id).where(
                Booking.activity_id == activity_id,
                Booking.day.in_(audience.days),
                Booking.state.in_(ACTIVE_STATES),
            )
    return sorted(set(await session.scalars(query)))


async def _audience_count(session: AsyncSession, news_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(NewsAudience).where(NewsAudience.news_id == news_id)
        )
        or 0
    )


async def _broadcast(session: AsyncSession, news_id: int, urgent: bool) -> int:
    """Queue the item's message to each linked guardian of its families (private chats, not
    twice, not to a guardian who muted news unless urgent), in a few statements."""
    rows = await session.execute(
        select(Guardian.id, Guardian.telegram_chat_id, NewsMute.guardian_id)
        .join(NewsAudience, NewsAudience.family_id == Guardian.family_id)
        .outerjoin(NewsMute, NewsMute.guardian_id == Guardian.id)
        .where(NewsAudience.news_id == news_id, Guardian.telegram_chat_id.is_not(None))
        .order_by(Guardian.id)
    )
    wanted = {
        news_key(news_id, guardian_id): str(chat_id)
        for guardian_id, chat_id, muted in rows
        if chat_id is not None and chat_id > 0 and (urgent or muted is None)
    }
    queued = 0
    for keys in _chunks(list(wanted), CHUNK):
        known = set(
            await session.scalars(
                select(OutboxItem.dedup_key).where(OutboxItem.dedup_key.in_(keys))
            )
        )
        fresh: list[dict[str, Any]] = [
            {
                "channel": Channel.TELEGRAM,
                "recipient": wanted[key],
                "kind": NEWS_KIND,
                "payload": {"news_id": news_id},
                "dedup_key": key,
                "state": DeliveryState.PENDING,
                "next_attempt_at": DUE_AT_ONCE,
            }
            for key in keys
            if key not in known
        ]
        if fresh:
            await session.execute(insert(OutboxItem), fresh)
            queued += len(fresh)
    return queued


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _view(item: NewsItem, language: str) -> NewsView:
    english = language == "en" and item.title_en and item.body_en
    attachment = None
    if item.attachment is not None:
        attachment = Attachment(
            item.attachment_name or "piece-jointe",
            item.attachment_type or "application/pdf",
            item.attachment,
        )
    return NewsView(
        item.id,
        (item.title_en if english else item.title) or item.title,
        (item.body_en if english else item.body) or item.body,
        item.urgent,
        item.published_at,
        item.closure_activity,
        item.closure_day,
        attachment,
    )
