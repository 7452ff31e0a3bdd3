"""Linking a Telegram account to a guardian with single-use, expiring, hashed tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, NotFound
from store.audit import record
from store.clock import Clock, system_clock
from store.models import Guardian, LinkToken
from store.models.enums import TokenPurpose


class LinkStatus(StrEnum):
    LINKED = "linked"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"
    WRONG_CODE = "wrong_code"
    TOO_MANY_TRIES = "too_many_tries"


EMAIL_CODE_TTL = timedelta(minutes=15)
EMAIL_CODE_MAX_TRIES = 5
EMAIL_CODE_DIGITS = 6


@dataclass(frozen=True)
class EmailCode:
    """A code to send by email to a guardian who asked to link from Telegram."""

    email: str
    code: str
    first_name: str
    language: str


@dataclass(frozen=True)
class LinkResult:
    status: LinkStatus
    guardian_id: int | None = None
    family_id: int | None = None
    first_name: str | None = None


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(telegram_user_id: int, guardian_id: int, code: str) -> str:
    return hash_token(f"code:{telegram_user_id}:{guardian_id}:{code}")


def deep_link(bot_username: str, token: str) -> str:
    """The `https://t.me/<bot>?start=<token>` link that opens the bot with the token."""
    return f"https://t.me/{bot_username}?start={token}"


class LinkingService:
    """Invite links, redemption, and who a Telegram user is."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    async def create_invite(self, email: str, ttl: timedelta) -> str:
        """A new single-use token for the guardian with this email (case-insensitive)."""
        token = secrets.token_urlsafe(24)  # 32 characters, within Telegram's 64 for /start
        async with self._sessions.begin() as session:
            guardian = await _guardian_by_email(session, email)
            if guardian is None:
                raise NotFound("no guardian has this email")
            session.add(
                LinkToken(
                    guardian_id=guardian.id,
                    purpose=TokenPurpose.INVITE,
                    token_hash=hash_token(token),
                    expires_at=self._clock() + ttl,
                )
            )
            record(session, Actor.system(), "create_invite", "guardian", guardian.id)
        return token

    async def redeem_invite(self, token: str, telegram_user_id: int, chat_id: int) -> LinkResult:
        """Link the Telegram account to the token's guardian, once, before expiry."""
        now = self._clock()
        async with self._sessions.begin() as session:
            link = await session.scalar(
                select(LinkToken)
                .where(
                    LinkToken.token_hash == hash_token(token),
                    LinkToken.purpose == TokenPurpose.INVITE,
                )
                .with_for_update()
            )
            if link is None:
                return LinkResult(LinkStatus.INVALID)
            if link.used_at is not None:
                return LinkResult(LinkStatus.USED)
            if link.expires_at <= now:
                return LinkResult(LinkStatus.EXPIRED)
            guardian = await session.get(Guardian, link.guardian_id)
            assert guardian is not None
            link.used_at = now
            await self._link(session, guardian, telegram_user_id, chat_id, now)
            return LinkResult(
                LinkStatus.LINKED, guardian.id, guardian.family_id, guardian.first_name
            )

    @staticmethod
    async def _link(
        session: AsyncSession, guardian: Guardian, user_id: int, chat_id: int, now: datetime
    ) -> None:
        # A Telegram account speaks for one guardian only: move it if it was linked elsewhere.
        previous = await session.scalar(
            select(Guardian).where(Guardian.telegram_user_id == user_id)
        )
        if previous is not None and previous.id != guardian.id:
            previous.telegram_user_id = None
            previous.telegram_chat_id = None
            await session.flush()
        guardian.telegram_user_id = user_id
        guardian.telegram_chat_id = chat_id
        guardian.telegram_linked_at = now
        record(
            session,
            Actor.guardian(guardian.id, guardian.family_id),
            "link",
            "guardian",
            guardian.id,
        )

    async def request_email_code(self, email: str, telegram_user_id: int) -> EmailCode | None:
        """A fresh 6-digit code for the guardian with this email, bound to this Telegram user.

        None when no guardian has the email: the chat must answer exactly as if a code had been
        sent, so that nobody learns which emails are known. Earlier unused codes of the same
        Telegram user are dropped.
        """
        code = "".join(secrets.choice("0123456789") for _ in range(EMAIL_CODE_DIGITS))
        async with self._sessions.begin() as session:
            await session.execute(
                delete(LinkToken).where(
                    LinkToken.telegram_user_id == telegram_user_id,
                    LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                    LinkToken.used_at.is_(None),
                )
            )
            guardian = await _guardian_by_email(session, email)
            if guardian is None:
                return None
            session.add(
                LinkToken(
                    guardian_id=guardian.id,
                    purpose=TokenPurpose.EMAIL_CODE,
                    telegram_user_id=telegram_user_id,
                    token_hash=_code_hash(telegram_user_id, guardian.id, code),
                    expires_at=self._clock() + EMAIL_CODE_TTL,
                )
            )
            record(session, Actor.system(), "email_code", "guardian", guardian.id)
            return EmailCode(guardian.email, code, guardian.first_name, guardian.language.value)

    async def verify_email_code(
        self, telegram_user_id: int, code: str, chat_id: int
    ) -> LinkResult:
        """Link the account if `code` is the one sent to this Telegram user, in time."""
        now = self._clock()
        async with self._sessions.begin() as session:
            link = await session.scalar(
                select(LinkToken)
                .where(
                    LinkToken.telegram_user_id == telegram_user_id,
                    LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                    LinkToken.used_at.is_(None),
                )
                .order_by(LinkToken.id.desc())
                .limit(1)
                .with_for_update()
            )
            if link is None:
                return LinkResult(LinkStatus.WRONG_CODE)
            if link.expires_at <= now:
                return LinkResult(LinkStatus.EXPIRED)
            if link.attempts >= EMAIL_CODE_MAX_TRIES:
                return LinkResult(LinkStatus.TOO_MANY_TRIES)
            cleaned = "".join(ch for ch in code if ch.isdigit())
            if link.token_hash != _code_hash(telegram_user_id, link.guardian_id, cleaned):
                link.attempts += 1
                if link.attempts >= EMAIL_CODE_MAX_TRIES:
                    return LinkResult(LinkStatus.TOO_MANY_TRIES)
                return LinkResult(LinkStatus.WRONG_CODE)
            guardian = await session.get(Guardian, link.guardian_id)
            assert guardian is not None
            link.used_at = now
            await self._link(session, guardian, telegram_user_id, chat_id, now)
            return LinkResult(
                LinkStatus.LINKED, guardian.id, guardian.family_id, guardian.first_name
            )

    async def unlink(self, actor: Actor) -> None:
        """Forget the Telegram account of the acting guardian."""
        async with self._sessions.begin() as session:
            guardian = await session.get(Guardian, actor.id)
            if guardian is None:
                raise NotFound("unknown guardian")
            actor.check_family(guardian.family_id)
            guardian.telegram_user_id = None
            guardian.telegram_chat_id = None
            guardian.telegram_linked_at = None
            record(session, actor, "unlink", "guardian", guardian.id)

    async def actor_for_telegram_user(self, telegram_user_id: int) -> Actor | None:
        """The guardian acting behind a Telegram account, if linked."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Guardian.id, Guardian.family_id).where(
                        Guardian.telegram_user_id == telegram_user_id
                    )
                )
            ).first()
            return Actor.guardian(row.id, row.family_id) if row else None


async def _guardian_by_email(session: AsyncSession, email: str) -> Guardian | None:
    return await session.scalar(
        select(Guardian).where(func.lower(Guardian.email) == email.strip().lower())
    )
