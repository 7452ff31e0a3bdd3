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
from store.models.enums import Channel, TokenPurpose
from store.outbox import enqueue


class LinkStatus(StrEnum):
    LINKED = "linked"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"
    WRONG_CODE = "wrong_code"
    TOO_MANY_TRIES = "too_many_tries"
    # Only a private chat may be linked: a group would show the family's data to its members.
    NOT_PRIVATE = "not_private"


EMAIL_CODE_TTL = timedelta(minutes=15)
EMAIL_CODE_MAX_TRIES = 5
EMAIL_CODE_DIGITS = 6
# A code requested again for the same guardian within this delay is not replaced.
EMAIL_CODE_REPEAT = timedelta(minutes=1)
# The outbox kind of the mail that carries a code, and the payload key of the code itself
# (dropped from the outbox once the mail is sent or given up: see `store.outbox.forget`).
LINK_CODE_MAIL = "link_code"
CODE = "code"


@dataclass(frozen=True)
class CodeRecipient:
    """The guardian an email code is mailed to, and in which language."""

    email: str
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


def is_private_chat(telegram_user_id: int, chat_id: int) -> bool:
    """Whether `chat_id` is the private chat of that user: Telegram gives it the user's id."""
    return chat_id == telegram_user_id and chat_id > 0


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
        """Link the Telegram account to the token's guardian, once, before expiry.

        From a group chat the token is not even looked up: it stays usable in private.
        """
        if not is_private_chat(telegram_user_id, chat_id):
            return LinkResult(LinkStatus.NOT_PRIVATE)
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

    async def request_email_code(self, email: str, telegram_user_id: int) -> None:
        """Queue a fresh 6-digit code, bound to this Telegram user, for the guardian with this
        email: the outbox sends it (`LINK_CODE_MAIL`), once, retried while the relay is down.

        Nothing tells whether a guardian has the email: the chat answers the same in any case,
        so that nobody learns which emails are known. Earlier unused codes of the same Telegram
        user are dropped (their mail, if still waiting, is not sent), except a code for the same
        guardian requested less than `EMAIL_CODE_REPEAT` ago: a request repeated at once (a
        double send, a retried update) keeps the code already on its way.
        """
        code = "".join(secrets.choice("0123456789") for _ in range(EMAIL_CODE_DIGITS))
        now = self._clock()
        async with self._sessions.begin() as session:
            guardian = await _guardian_by_email(session, email)
            if guardian is not None:
                recent = await session.scalar(
                    select(LinkToken.id).where(
                        LinkToken.telegram_user_id == telegram_user_id,
                        LinkToken.guardian_id == guardian.id,
                        LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                        LinkToken.used_at.is_(None),
                        LinkToken.attempts == 0,
                        LinkToken.expires_at > now + EMAIL_CODE_TTL - EMAIL_CODE_REPEAT,
                    )
                )
                if recent is not None:
                    return
            await session.execute(
                delete(LinkToken).where(
                    LinkToken.telegram_user_id == telegram_user_id,
                    LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                    LinkToken.used_at.is_(None),
                )
            )
            if guardian is None:
                return
            link = LinkToken(
                guardian_id=guardian.id,
                purpose=TokenPurpose.EMAIL_CODE,
                telegram_user_id=telegram_user_id,
                token_hash=_code_hash(telegram_user_id, guardian.id, code),
                expires_at=now + EMAIL_CODE_TTL,
            )
            session.add(link)
            await session.flush()
            # The code travels in the outbox item until it is sent (then it is forgotten);
            # the store keeps only its hash.
            await enqueue(
                session,
                channel=Channel.EMAIL,
                recipient=guardian.email,
                kind=LINK_CODE_MAIL,
                payload={"token_id": link.id, CODE: code},
                # Row ids may be reused once a code is dropped (SQLite): the key is unique anyway.
                dedup_key=f"link_code:{link.id}:{secrets.token_hex(8)}",
            )
            record(session, Actor.system(), "email_code", "guardian", guardian.id)

    async def code_mail_to_send(self, token_id: int, code: str) -> CodeRecipient | None:
        """Who the mail of an email code goes to, while that code can still link (None once it
        was used, replaced, burnt by wrong tries, or has expired)."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        Guardian.email,
                        Guardian.first_name,
                        Guardian.language,
                        LinkToken.telegram_user_id,
                        LinkToken.guardian_id,
                        LinkToken.token_hash,
                    )
                    .join(LinkToken, LinkToken.guardian_id == Guardian.id)
                    .where(
                        LinkToken.id == token_id,
                        LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                        LinkToken.used_at.is_(None),
                        LinkToken.attempts < EMAIL_CODE_MAX_TRIES,
                        LinkToken.expires_at > self._clock(),
                    )
                )
            ).first()
        if row is None or row.telegram_user_id is None:
            return None
        if row.token_hash != _code_hash(row.telegram_user_id, row.guardian_id, code):
            return None  # another code now has this row's id
        return CodeRecipient(row.email, row.first_name, row.language.value)

    async def verify_email_code(
        self, telegram_user_id: int, code: str, chat_id: int
    ) -> LinkResult:
        """Link the account if `code` is the one sent to this Telegram user, in time."""
        if not is_private_chat(telegram_user_id, chat_id):
            return LinkResult(LinkStatus.NOT_PRIVATE)
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

    async def chat_blocked(self, telegram_user_id: int, blocked: bool) -> bool:
        """The parent blocked the bot (or unblocked it): stop (or resume) writing to them.

        The link stays (the account is still theirs); only the chat to write to is cleared
        while blocked. Returns whether a guardian is linked to that account.
        """
        async with self._sessions.begin() as session:
            guardian = await session.scalar(
                select(Guardian).where(Guardian.telegram_user_id == telegram_user_id)
            )
            if guardian is None:
                return False
            chat_id = None if blocked else telegram_user_id
            if guardian.telegram_chat_id != chat_id:
                guardian.telegram_chat_id = chat_id
                actor = Actor.guardian(guardian.id, guardian.family_id)
                record(session, actor, "block" if blocked else "unblock", "guardian", guardian.id)
            return True

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
