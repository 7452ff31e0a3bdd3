"""Each person's turn across workers: one person's updates never run at once on two workers
(PostgreSQL's advisory lock; SQLite is one process), other people never wait, and a flow's
timeout set by one worker does not end a flow another worker moved on since."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import date

from sqlalchemy import text as text_sql
from telegram import Update

from bot.portal import Portal
from conversations.kit.texts import text
from store.database import create_engine, is_sqlite
from store.person_locks import PersonLocks
from tests.helpers import build_town, paris
from tests.messaging_helpers import link_chat
from tests.test_update_dedup import _message, _worker

TIMED_OUT = text("timed_out", "fr")


async def test_one_person_waits_for_their_turn_and_nobody_else_does(database_url):
    first, second = (PersonLocks.for_database(database_url, 4) for _ in range(2))
    if is_sqlite(database_url):
        assert not first.shared  # one process: the process's own locks do it
        return
    events: list[str] = []

    async def holder() -> None:
        async with first.holding(7):
            events.append("7 taken by the first worker")
            await asyncio.sleep(0.4)
            events.append("7 given back")

    async def same_person() -> None:
        await asyncio.sleep(0.1)
        async with second.holding(7):
            events.append("7 taken by the second worker")

    async def someone_else() -> None:
        await asyncio.sleep(0.1)
        async with second.holding(8):
            events.append("8 taken by the second worker")

    try:
        await asyncio.gather(holder(), same_person(), someone_else())
    finally:
        await first.close()
        await second.close()
    assert events == [
        "7 taken by the first worker",
        "8 taken by the second worker",
        "7 given back",
        "7 taken by the second worker",
    ]


async def test_a_worker_that_dies_gives_its_turns_back(database_url):
    if is_sqlite(database_url):
        return
    dying, living = (PersonLocks.for_database(database_url, 2) for _ in range(2))
    entered = asyncio.Event()

    async def dies_holding() -> None:
        async with dying.holding(9):
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(dies_holding())
    await entered.wait()
    # The worker's process is killed: PostgreSQL sees its connection go.
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            )
        )
    await engine.dispose()
    started = time.monotonic()
    async with asyncio.timeout(10), living.holding(9):
        waited = time.monotonic() - started
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    await dying.close()
    await living.close()
    assert waited < 5


def _tap(user_id: int, message: dict, data: str) -> dict:
    return {
        "callback_query": {
            "id": f"q{time.monotonic_ns()}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Camille"},
            "message": message,
            "chat_instance": "1",
            "data": data,
        }
    }


async def test_a_timeout_set_by_one_worker_spares_a_flow_another_moved_on(portal, telegram, clock):
    """Worker one opens the booking flow (its timeout set); worker two gets the next tap
    (the flow moves on, a later timeout set there). Worker one's timeout comes first and
    leaves the flow alone; worker two's ends it, once."""
    settings = portal.settings.model_copy(update={"conversation_timeout_seconds": 1.5})
    town = await build_town(portal.sessions, [date(2026, 12, d) for d in (9, 16)])
    clock.set(paris(date(2026, 11, 24)))
    parent = telegram.add_user(first_name="Camille", language_code="fr")
    await link_chat(portal.sessions, town.guardian.id, parent.id)
    one, two = (Portal.from_settings(settings, clock) for _ in range(2))
    try:
        async with _worker(one) as first, _worker(two) as second:
            started = time.monotonic()
            await first.update_queue.put(
                Update.de_json(
                    {"update_id": 1, "message": _message(parent, "/reserver", 1)}, first.bot
                )
            )
            picker = await parent.wait_for_message(lambda m: "Lucas" in m.buttons)
            await asyncio.sleep(0.8)
            data = picker.button("Lucas")["callback_data"]
            raw = {"update_id": 2, **_tap(parent.id, telegram.message_dict(picker), data)}
            await second.update_queue.put(Update.de_json(raw, second.bot))
            await parent.wait_for_message(lambda m: any(b.isdigit() for b in m.buttons))
            ended = await parent.wait_for_message(lambda m: TIMED_OUT in (m.text or ""), 10)
            elapsed = time.monotonic() - started
            await parent.assert_no_message(2.0)
    finally:
        await one.close()
        await two.close()
    assert ended is not None
    assert elapsed >= 2.2  # worker two's timeout (0.8 + 1.5 s), not worker one's (1.5 s)
    assert sum(TIMED_OUT in (m.text or "") for m in parent.messages) == 1
