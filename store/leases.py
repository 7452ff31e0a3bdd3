"""Leases on the work that must be done once per cluster, whatever the number of workers.

Some work is the cluster's, not a worker's: purging the old update ids, emptying raw mails
past their retention, a scheduled job. Every worker runs the same loop and, each time the
work is due, asks for its lease by name (`ClusterLeases.take`) for a period: one worker wins
it for that period and does the work; the others, refused, do nothing until their next turn.
The winner usually takes it again at its next turn (the same owner renews); a worker that
died holds nothing for long, since its lease expires at the end of the period and the next
worker to ask gets it.

A lease is one row per name, taken with one conditional upsert: `INSERT ... ON CONFLICT (name)
DO UPDATE ... WHERE the lease expired OR is already ours ... RETURNING`. PostgreSQL locks the
row of a conflicting insert and checks the condition against its latest version (two workers
asking at once: one wins, the other sees the new holder); a SQLite transaction is exclusive.
Times are the workers' own clocks (keep them in sync, e.g. NTP): a lease is for work that may
run a little late or twice in a rare overlap (idempotent purges), not for mutual exclusion
at the millisecond.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import changed_rows, insert_for
from store.models.runtime import ClusterLease

# Names of the leases, one per kind of work.
PURGE_HANDLED_UPDATES = "purge:handled_updates"
PURGE_RAW_MAIL = "purge:raw_mail"
PURGE_CHAT_STATE = "purge:chat_state"
# Children's data past their retention (`store.retention`), once a day.
PURGE_RETENTION = "purge:retention"
# Planning and sending the deadline reminders (`store.reminders`).
REMINDERS = "reminders"
# Queuing the daily lists to the services and their follow-ups (`store.daily_lists`).
DAILY_LISTS = "daily_lists"


@lru_cache(maxsize=1)
def worker_identity() -> str:
    """This process's id among the workers: host, process id and a random part (a process
    id may come again after a restart, on another host too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class ClusterLeases:
    """Named leases in the store: `take` one for a period, `release` it when done early."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def take(self, name: str, owner: str, now: datetime, hold: timedelta) -> bool:
        """Hold the lease `name` until `now + hold`: True when `owner` now holds it (it was
        free, expired, or already `owner`'s, then renewed), False when another worker holds
        it. One statement."""
        async with self._sessions.begin() as session:
            insert = insert_for(session.get_bind().dialect.name)
            statement = insert(ClusterLease).values(name=name, owner=owner, until=now + hold)
            taken = await session.scalar(
                statement.on_conflict_do_update(
                    index_elements=[ClusterLease.name],
                    set_={"owner": statement.excluded.owner, "until": statement.excluded.until},
                    where=or_(ClusterLease.until <= now, ClusterLease.owner == owner),
                ).returning(ClusterLease.name)
            )
        return taken is not None

    async def release(self, name: str, owner: str) -> bool:
        """Give the lease `name` up, if `owner` holds it: the next worker to ask gets it at
        once. True when it was held."""
        async with self._sessions.begin() as session:
            gone = await changed_rows(
                session,
                delete(ClusterLease).where(ClusterLease.name == name, ClusterLease.owner == owner),
            )
        return gone > 0
