"""Work done once per cluster: workers, each on its own engine, ask for a named lease at once,
round after round; one wins each period, a dead worker's lease expires, the holder renews.
The purges of old update ids and of raw mails are claimed this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mail.inbound import InboundMailServer, inbound_service, start_smtp_server
from store.database import create_engine, create_sessionmaker
from store.inbound import InboundConfig
from store.leases import PURGE_HANDLED_UPDATES, PURGE_RAW_MAIL, ClusterLeases, worker_identity
from store.models.runtime import ClusterLease, HandledUpdate
from store.runtime import PURGE_EVERY, UpdateLedger
from tests.test_inbound_email import DOCUMENTS, DOMAIN

WORKERS = 4
ROUNDS = 25
PERIOD = timedelta(minutes=10)
START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
async def workers(database_url) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """The sessions of `WORKERS` workers, each on its own engine (its own connections)."""
    engines = [create_engine(database_url) for _ in range(WORKERS)]
    yield [create_sessionmaker(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


async def test_one_worker_wins_each_period_and_the_holder_renews(workers):
    leases = [ClusterLeases(sessions) for sessions in workers]
    owners = [f"worker-{n}" for n in range(WORKERS)]
    holders = []
    for round_ in range(ROUNDS):
        now = START + round_ * PERIOD  # the last period just ended
        taken = await asyncio.gather(
            *(
                lease.take("job", owner, now, PERIOD)
                for lease, owner in zip(leases, owners, strict=True)
            )
        )
        assert taken.count(True) == 1, f"round {round_}: {taken}"
        holder = taken.index(True)
        holders.append(holder)
        # Within the period, every worker asks again: only the holder gets it (renewed).
        later = await asyncio.gather(
            *(
                lease.take("job", owner, now + PERIOD / 2, PERIOD)
                for lease, owner in zip(leases, owners, strict=True)
            )
        )
        assert later == [n == holder for n in range(WORKERS)]
        # Renewed from the middle of the period: still held at its first end.
        others = [n for n in range(WORKERS) if n != holder]
        assert not await leases[others[0]].take("job", owners[others[0]], now + PERIOD, PERIOD)
        # ... and the next round starts when that renewal ends.
        await leases[holder].release("job", owners[holder])
    async with workers[0]() as session:
        assert await session.scalar(select(func.count()).select_from(ClusterLease)) == 0


async def test_a_dead_workers_lease_expires_and_names_are_independent(workers):
    one, two = ClusterLeases(workers[0]), ClusterLeases(workers[1])
    assert await one.take("purge:a", "one", START, PERIOD)
    assert not await two.take("purge:a", "two", START + PERIOD - timedelta(seconds=1), PERIOD)
    # Another name is another lease.
    assert await two.take("purge:b", "two", START, PERIOD)
    # "one" died: its lease ends with its period and the next to ask gets it.
    assert await two.take("purge:a", "two", START + PERIOD, PERIOD)
    assert not await one.take("purge:a", "one", START + PERIOD + timedelta(seconds=1), PERIOD)
    async with workers[0]() as session:
        row = await session.get(ClusterLease, "purge:a")
        assert row is not None
        assert (row.owner, row.until) == ("two", START + 2 * PERIOD)


async def test_release_gives_the_lease_to_the_next_at_once_and_only_by_its_holder(workers):
    one, two = ClusterLeases(workers[0]), ClusterLeases(workers[1])
    assert await one.take("job", "one", START, PERIOD)
    assert not await two.release("job", "two")  # not its own: nothing given up
    assert not await two.take("job", "two", START, PERIOD)
    assert await one.release("job", "one")
    assert await two.take("job", "two", START, PERIOD)


def test_the_worker_identity_is_the_process_s():
    identity = worker_identity()
    assert identity == worker_identity()
    host, pid, random = identity.split(":")
    assert host and int(pid) > 0 and len(random) == 12


async def _old_ids(sessions: async_sessionmaker[AsyncSession], first: int, at: datetime) -> None:
    async with sessions.begin() as session:
        session.add_all(HandledUpdate(update_id=first + n, taken_at=at) for n in range(3))


async def _ids_left(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(HandledUpdate)) or 0)


async def test_old_update_ids_are_purged_by_one_worker_an_hour(workers, clock):
    keep = timedelta(days=2)
    old = clock.now - keep - timedelta(hours=1)
    one = UpdateLedger(workers[0], clock, keep, owner="one")
    two = UpdateLedger(workers[1], clock, keep, owner="two")
    await _old_ids(workers[0], 1, old)
    # Both start: their first claims ask for the purge at once; one purges.
    assert await asyncio.gather(one.claim(100), two.claim(101)) == [True, True]
    assert await _ids_left(workers[0]) == 2  # the two new ids, the old ones gone
    async with workers[0]() as session:
        lease = await session.get(ClusterLease, PURGE_HANDLED_UPDATES)
        assert lease is not None and lease.owner in ("one", "two")
    other = two if lease.owner == "one" else one
    # More old ids: within the hour, the other worker asks and is refused.
    await _old_ids(workers[0], 10, old)
    assert await other.purge_once(clock.now + PURGE_EVERY / 2) == 0
    assert await _ids_left(workers[0]) == 5
    # The holder died; after its hour, the other gets the purge.
    assert await other.purge_once(clock.now + PURGE_EVERY) == 3
    # Its next claim an hour on purges (it holds the lease): the claims do it on their own.
    clock.set(clock.now + keep + 2 * PURGE_EVERY)
    assert await other.claim(102)
    assert await _ids_left(workers[0]) == 1


async def test_one_mail_server_purges_raw_mails_per_period(portal, clock, tmp_path):
    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, DOCUMENTS)
    servers = [
        InboundMailServer(
            inbound_service(portal, config),
            clock=clock,
            purge_seconds=3600,
            leases=ClusterLeases(portal.sessions),
        )
        for _ in range(3)
    ]
    purged = await asyncio.gather(*(server.purge_for_cluster() for server in servers))
    assert sum(result is not None for result in purged) == 1
    holder = next(
        server for server, result in zip(servers, purged, strict=True) if result is not None
    )
    others = [server for server in servers if server is not holder]
    assert await holder.purge_for_cluster() == 0  # renewed: nothing left to empty
    assert await others[0].purge_for_cluster() is None
    clock.set(clock.now + timedelta(seconds=3600))
    results = await asyncio.gather(*(server.purge_for_cluster() for server in servers))
    assert sum(result is not None for result in results) == 1


async def test_the_mail_server_takes_the_purge_lease_at_start_and_gives_it_up(portal):
    server = await start_smtp_server(portal, "127.0.0.1", 0)
    try:
        for _ in range(100):
            async with portal.sessions() as session:
                lease = await session.get(ClusterLease, PURGE_RAW_MAIL)
            if lease is not None:
                break
            await asyncio.sleep(0.02)
        assert lease is not None and lease.owner == server.service.worker_id
        assert lease.until == portal.clock() + timedelta(hours=1)
    finally:
        await server.close()
    async with portal.sessions() as session:
        assert await session.get(ClusterLease, PURGE_RAW_MAIL) is None
