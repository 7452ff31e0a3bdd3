"""What the bot's workers share through the store at run time.

- `UpdateLedger`: each Telegram update is taken once, whatever the number of workers and
  restarts. The claim is one `INSERT ... ON CONFLICT DO NOTHING` of its `update_id`, made
  before the update is handled: the worker whose row went in handles it, every other delivery
  of the same id (Telegram sending it again after a restart, a second worker, a webhook retry)
  is dropped. This is at-most-once: a worker that crashes in the middle of an update loses
  that update, as long polling's acknowledged offset already does. Ids are kept for a
  retention (Telegram keeps an undelivered update 24 hours) and purged once per cluster:
  at its first claim and then every `PURGE_EVERY`, a worker asks for the lease
  `purge:handled_updates` (`store.leases`) for `PURGE_EVERY`, and purges only if it got it.
- `SendSlots`: the outbound rate of the whole bot (about 30 messages a second in all, one a
  second per chat, 20 a minute per group: a group's chat id is negative). One row holds the
  next free send slot; a worker reserves the slots of a batch with one conditional `UPDATE`
  (PostgreSQL locks the row until the transaction ends, a SQLite transaction is exclusive),
  and in the same transaction takes each chat of the batch only if no worker wrote to it less
  than the chat's spacing (a group's is `60 / group_per_minute`) before its slot. Slots are spaced
  `1 / rate` apart over every worker, so N workers together never exceed the rate.
  Times are Unix seconds read from the workers' clocks (keep them in sync, e.g. NTP).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.clock import Clock
from store.database import changed_rows, insert_for
from store.leases import PURGE_HANDLED_UPDATES, ClusterLeases, worker_identity
from store.models.runtime import ChatSend, HandledUpdate, SendSchedule

logger = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)
SCHEDULE_ROW = 1
LEAD = 0.02
# Per-chat rows are only needed while a chat rests; older ones are deleted now and then.
CHAT_ROWS_PURGE_EVERY = 600.0
# Telegram lets a bot write about 20 messages a minute into one group.
GROUP_PER_MINUTE = 20.0


class UpdateLedger:
    """The Telegram updates already taken, shared by every worker on the store."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        keep_for: timedelta,
        owner: str | None = None,
    ):
        self._sessions = sessions
        self._clock = clock
        self._keep_for = keep_for
        self._next_purge: datetime | None = None
        self._leases = ClusterLeases(sessions)
        # Who this worker is, for the purge's lease (the process, by default).
        self._owner = owner or worker_identity()

    async def claim(self, update_id: int) -> bool:
        """Take an update: True for the one caller that gets it, False ever after."""
        await self.purge_if_due()
        async with self._sessions.begin() as session:
            return await self.claim_in(session, update_id)

    async def claim_in(self, session: AsyncSession, update_id: int) -> bool:
        """`claim`, as one statement of the caller's transaction (which must commit for the
        claim to hold); the purge is left to `purge_if_due`, outside any transaction."""
        insert = insert_for(session.get_bind().dialect.name)
        taken = await session.scalar(
            insert(HandledUpdate)
            .values(update_id=update_id, taken_at=self._clock())
            .on_conflict_do_nothing(index_elements=[HandledUpdate.update_id])
            .returning(HandledUpdate.update_id)
        )
        return taken is not None

    async def purge_if_due(self) -> None:
        """At a process's first claim and then every `PURGE_EVERY`: `purge_once`."""
        now = self._clock()
        if self._next_purge is None or now >= self._next_purge:
            self._next_purge = now + PURGE_EVERY
            await self.purge_once(now)

    async def purge_once(self, now: datetime) -> int:
        """Purge the ids past their retention if this worker gets the cluster's purge for
        the next `PURGE_EVERY` (another worker holding it does it); returns how many."""
        if not await self._leases.take(PURGE_HANDLED_UPDATES, self._owner, now, PURGE_EVERY):
            return 0
        return await self.purge(now - self._keep_for)

    async def forget_all(self) -> int:
        """Forget every handled update: for a local Bot API, whose ids start again at 1
        each time it starts (`portail demo`); never for Telegram's."""
        async with self._sessions.begin() as session:
            return await changed_rows(session, delete(HandledUpdate))

    async def purge(self, older_than: datetime) -> int:
        """Forget the updates taken before `older_than`; returns how many."""
        async with self._sessions.begin() as session:
            gone = await changed_rows(
                session, delete(HandledUpdate).where(HandledUpdate.taken_at < older_than)
            )
        if gone:
            logger.info("forgot %d handled update ids", gone)
        return gone


class SendSlots:
    """The bot's send slots, shared by every worker: `per_second` in all, one chat written to
    at most once per `chat_spacing` seconds, a group chat (negative id) at most
    `group_per_minute` times a minute."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        per_second: float,
        chat_spacing: float,
        max_ahead: float = 5.0,
        group_per_minute: float = GROUP_PER_MINUTE,
    ):
        self._sessions = sessions
        self._interval = 1.0 / per_second
        self._chat_spacing = chat_spacing
        self._group_spacing = max(chat_spacing, 60.0 / group_per_minute)
        # Slots are never reserved further ahead than this: the rest of a batch waits.
        self._max_ahead = max_ahead
        self._next_chat_purge = 0.0
        # Seen at the last reservation: no slot may be reserved before this (a flood pause).
        self.full_until = 0.0

    async def reserve(self, chat_ids: Sequence[int], now: float) -> dict[int, float]:
        """A send slot (Unix time) for each chat of a batch that may be written to, in the
        batch's order, one per chat; a chat written to lately, or beyond what may be reserved
        now, has none. One transaction."""
        chats = list(dict.fromkeys(chat_ids))
        if not chats:
            return {}
        async with self._sessions.begin() as session:
            next_free = await self._lock_schedule(session)
            resting = set(
                await session.scalars(
                    select(ChatSend.chat_id).where(
                        ChatSend.chat_id.in_(chats), ChatSend.next_at > now
                    )
                )
            )
            # The first slot leaves the worker a moment to render its first message.
            start = max(next_free, now + LEAD)
            room = int((now + self._max_ahead - start) / self._interval)
            self.full_until = start - self._max_ahead if room <= 0 else 0.0
            free = [chat for chat in chats if chat not in resting][: max(room, 0)]
            if not free:
                return {}
            slots = {chat: start + n * self._interval for n, chat in enumerate(free)}
            await session.execute(
                update(SendSchedule)
                .where(SendSchedule.id == SCHEDULE_ROW)
                .values(next_free=start + len(free) * self._interval)
            )
            insert = insert_for(session.get_bind().dialect.name)
            statement = insert(ChatSend)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ChatSend.chat_id],
                    set_={"next_at": statement.excluded.next_at},
                ),
                [
                    {"chat_id": chat, "next_at": slot + self.spacing(chat)}
                    for chat, slot in slots.items()
                ],
            )
            if now >= self._next_chat_purge:
                self._next_chat_purge = now + CHAT_ROWS_PURGE_EVERY
                await session.execute(delete(ChatSend).where(ChatSend.next_at < now))
        return slots

    def spacing(self, chat_id: int) -> float:
        """Seconds between two sends to a chat: a group's (negative id) are further apart."""
        return self._group_spacing if chat_id < 0 else self._chat_spacing

    async def pause_until(self, until: float) -> None:
        """Telegram refused a send for flooding: no worker's slot before `until`."""
        async with self._sessions.begin() as session:
            await self._lock_schedule(session)
            await session.execute(
                update(SendSchedule)
                .where(SendSchedule.id == SCHEDULE_ROW, SendSchedule.next_free < until)
                .values(next_free=until)
            )

    async def _lock_schedule(self, session: AsyncSession) -> float:
        """The first free slot, the schedule's row locked until the transaction ends (created
        when missing)."""
        query = select(SendSchedule.next_free).where(SendSchedule.id == SCHEDULE_ROW)
        next_free = await session.scalar(query.with_for_update())
        if next_free is None:
            insert = insert_for(session.get_bind().dialect.name)
            await session.execute(
                insert(SendSchedule)
                .values(id=SCHEDULE_ROW, next_free=0.0)
                .on_conflict_do_nothing(index_elements=[SendSchedule.id])
            )
            next_free = await session.scalar(query.with_for_update())
        return float(next_free or 0.0)
