"""Linking a Telegram account to a guardian with single-use, expiring, hashed tokens.

Two ways: an invite link (`create_invite`, `redeem_invite`), or a 6-digit code mailed to the
guardian's address on request from the chat (`request_email_code`, `verify_email_code`).

Codes by email are limited, in the store so that the limits hold across processes: 5 tries
per code, one live code per guardian, and requests per hour per Telegram account, per address
and in all (`CodeLimits`, set by `EMAIL_CODES_PER_*`). Whether an address is known is never
told: an unknown address is counted like a known one, so a requester sees the same answers
("a code was sent if the address is known", or "too many requests, try again later") in the
same order for either; what they may learn is that someone asked for codes for that address
this hour, not whether it is on file. The guardian of an address that reaches its limit is
warned by mail, at most once a day, without any code.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, NotFound
from store.audit import record
from store.clock import Clock, system_clock
from store.deadlines import PARIS
from store.models import Guardian, LinkCodeRequest, LinkToken
from store.models.enums import Channel, TokenPurpose
from store.outbox import enqueue

logger = logging.getLogger(__name__)


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
# A request repeated by the same account for the same address within this delay is not
# counted and changes nothing (the code already on its way stays).
EMAIL_CODE_REPEAT = timedelta(minutes=1)
# Requests for codes are counted over this window (`CodeLimits`).
EMAIL_CODE_WINDOW = timedelta(hours=1)
# The outbox kind of the mail that carries a code, and the payload key of the code itself
# (dropped from the outbox once the mail is sent or given up: see `store.outbox.forget`).
LINK_CODE_MAIL = "link_code"
CODE = "code"
# The outbox kind of the mail that tells a guardian codes are requested repeatedly.
LINK_WARNING_MAIL = "link_code_warning"


class CodeRequest(StrEnum):
    """What the chat may say of a request for an email code: the same for any address."""

    # "If this address is known, a code was sent to it."
    SENT = "sent"
    # "Too many requests, try again later."
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class CodeLimits:
    """How many email codes may be requested per `EMAIL_CODE_WINDOW` (an hour): by one
    Telegram account, for one address (known or not), and in all."""

    per_chat: int = 3
    per_address: int = 3
    in_all: int = 200


DEFAULT_CODE_LIMITS = CodeLimits()


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


def _address_hash(email: str) -> str:
    """How a requested address is counted: the SHA-256 of its normalized form."""
    return hash_token(f"address:{email.strip().lower()}")


def _requests_since(moment: datetime) -> Select[int]:
    """How many code requests were counted after `moment` (filter it further)."""
    return select(func.count(LinkCodeRequest.id)).where(LinkCodeRequest.requested_at > moment)


async def _serialize_code_requests(session: AsyncSession) -> None:
    """Let one request for a code at a time count and change codes, in every process.

    SQLite: every write transaction already begins `IMMEDIATE`, one at a time. PostgreSQL: the
    table lock below conflicts with itself only (reads go on); held until commit, it makes the
    next request wait, then count this one (each statement sees what was committed before it).
    Codes are requested a few times an hour: queuing them costs nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("LOCK TABLE link_code_request IN SHARE ROW EXCLUSIVE MODE"))


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

        def refusal(link: LinkToken | None, now: datetime) -> LinkStatus | None:
            if link is None:
                return LinkStatus.INVALID
            if link.used_at is not None:
                return LinkStatus.USED
            if link.expires_at <= now:
                return LinkStatus.EXPIRED
            return None

        invite = select(LinkToken).where(
            LinkToken.token_hash == hash_token(token),
            LinkToken.purpose == TokenPurpose.INVITE,
        )
        return await self._redeem(telegram_user_id, chat_id, invite, refusal)

    async def _redeem(
        self,
        telegram_user_id: int,
        chat_id: int,
        token: Select[LinkToken],
        refusal: Callable[[LinkToken | None, datetime], LinkStatus | None],
    ) -> LinkResult:
        """Link the Telegram account through the token `token` finds (locked), unless
        `refusal` says why not (it may count a failed try on the token, kept). Never from a
        group chat: the token is not even looked up."""
        if not is_private_chat(telegram_user_id, chat_id):
            return LinkResult(LinkStatus.NOT_PRIVATE)
        now = self._clock()
        async with self._sessions.begin() as session:
            link = await session.scalar(token.with_for_update())
            refused = refusal(link, now)
            if refused is not None:
                return LinkResult(refused)
            assert link is not None
            return await self._link(session, link, telegram_user_id, chat_id, now)

    @staticmethod
    async def _link(
        session: AsyncSession, link: LinkToken, user_id: int, chat_id: int, now: datetime
    ) -> LinkResult:
        """Use `link` now: link the Telegram account to its guardian."""
        guardian = await session.get(Guardian, link.guardian_id)
        assert guardian is not None
        link.used_at = now
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
        return LinkResult(LinkStatus.LINKED, guardian.id, guardian.family_id, guardian.first_name)

    async def request_email_code(
        self, email: str, telegram_user_id: int, limits: CodeLimits = DEFAULT_CODE_LIMITS
    ) -> CodeRequest:
        """Queue a fresh 6-digit code, bound to this Telegram user, for the guardian with this
        email: the outbox sends it (`LINK_CODE_MAIL`), once, retried while the relay is down.

        Nothing tells whether a guardian has the email: the chat answers the same in any case,
        so that nobody learns which emails are known. Requests are counted per Telegram
        account, per address and in all over `EMAIL_CODE_WINDOW` (`limits`), known addresses
        or not, so that `TOO_MANY` does not tell either; a refused request is not counted.

        A guardian has one live code: a request drops the unused codes of this Telegram user
        and those of the guardian (their mail, if still waiting, is not sent). A request
        repeated at once (the same account and address within `EMAIL_CODE_REPEAT`: a double
        send, a retried update) changes nothing and is not counted. An address that reaches
        its limit gets a warning mail (`LINK_WARNING_MAIL`), at most one a day.
        """
        code = "".join(secrets.choice("0123456789") for _ in range(EMAIL_CODE_DIGITS))
        now = self._clock()
        address = _address_hash(email)
        async with self._sessions.begin() as session:
            await _serialize_code_requests(session)
            await session.execute(
                delete(LinkCodeRequest).where(
                    LinkCodeRequest.requested_at <= now - EMAIL_CODE_WINDOW
                )
            )
            counted = _requests_since(now - EMAIL_CODE_WINDOW)
            repeated = await session.scalar(
                _requests_since(now - EMAIL_CODE_REPEAT).where(
                    LinkCodeRequest.telegram_user_id == telegram_user_id,
                    LinkCodeRequest.address_hash == address,
                )
            )
            if repeated:
                return CodeRequest.SENT
            by_chat = (
                await session.scalar(
                    counted.where(LinkCodeRequest.telegram_user_id == telegram_user_id)
                )
                or 0
            )
            by_address = (
                await session.scalar(counted.where(LinkCodeRequest.address_hash == address)) or 0
            )
            in_all = await session.scalar(counted) or 0
            guardian = await _guardian_by_email(session, email)
            if guardian is not None and by_address + 1 >= max(limits.per_address, 2):
                await self._warn(session, guardian, address, now)
            refused = [
                name
                for name, count, limit in (
                    ("account", by_chat, limits.per_chat),
                    ("address", by_address, limits.per_address),
                    ("all", in_all, limits.in_all),
                )
                if count >= limit
            ]
            if refused:
                logger.warning(
                    "email code refused to Telegram user %s: too many requests (%s)",
                    telegram_user_id,
                    ", ".join(refused),
                )
                return CodeRequest.TOO_MANY
            session.add(
                LinkCodeRequest(
                    telegram_user_id=telegram_user_id, address_hash=address, requested_at=now
                )
            )
            live = LinkToken.telegram_user_id == telegram_user_id
            if guardian is not None:
                live = or_(live, LinkToken.guardian_id == guardian.id)
            await session.execute(
                delete(LinkToken).where(
                    live,
                    LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                    LinkToken.used_at.is_(None),
                )
            )
            if guardian is None:
                return CodeRequest.SENT
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
            return CodeRequest.SENT

    @staticmethod
    async def _warn(
        session: AsyncSession, guardian: Guardian, address: str, now: datetime
    ) -> None:
        """Queue the warning that codes are requested repeatedly: one per address and day."""
        day = now.astimezone(PARIS).date().isoformat()
        queued = await enqueue(
            session,
            channel=Channel.EMAIL,
            recipient=guardian.email,
            kind=LINK_WARNING_MAIL,
            payload={"guardian_id": guardian.id, "day": day},
            dedup_key=f"link_warning:{address}:{day}",
        )
        if queued:
            record(session, Actor.system(), "email_code_warning", "guardian", guardian.id)

    async def warning_mail_to_send(self, guardian_id: int) -> CodeRecipient | None:
        """Who the warning about repeated code requests goes to (None: no such guardian)."""
        async with self._sessions() as session:
            guardian = await session.get(Guardian, guardian_id)
        if guardian is None:
            return None
        return CodeRecipient(guardian.email, guardian.first_name, guardian.language.value)

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

        def refusal(link: LinkToken | None, now: datetime) -> LinkStatus | None:
            if link is None:
                return LinkStatus.WRONG_CODE
            if link.expires_at <= now:
                return LinkStatus.EXPIRED
            if link.attempts >= EMAIL_CODE_MAX_TRIES:
                return LinkStatus.TOO_MANY_TRIES
            cleaned = "".join(ch for ch in code if ch.isdigit())
            if link.token_hash != _code_hash(telegram_user_id, link.guardian_id, cleaned):
                link.attempts += 1
                if link.attempts >= EMAIL_CODE_MAX_TRIES:
                    return LinkStatus.TOO_MANY_TRIES
                return LinkStatus.WRONG_CODE
            return None

        latest_code = (
            select(LinkToken)
            .where(
                LinkToken.telegram_user_id == telegram_user_id,
                LinkToken.purpose == TokenPurpose.EMAIL_CODE,
                LinkToken.used_at.is_(None),
            )
            .order_by(LinkToken.id.desc())
            .limit(1)
        )
        return await self._redeem(telegram_user_id, chat_id, latest_code, refusal)

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
