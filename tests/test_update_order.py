"""Concurrent updates: different people side by side, one person's updates in order."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.update_order import OnePersonAtATime


def _text_from(user_id: int, update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "P"},
                "text": "hello",
            },
        },
        None,
    )


async def _run(updates: list[Update]) -> list[tuple[str, int]]:
    processor = OnePersonAtATime(8)
    events: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def work(update: Update) -> None:
        events.append(("start", update.update_id))
        await release.wait()
        events.append(("end", update.update_id))

    tasks = [asyncio.create_task(processor.process_update(u, work(u))) for u in updates]
    for _ in range(5):
        await asyncio.sleep(0)
    started = [number for kind, number in events if kind == "start"]
    release.set()
    await asyncio.gather(*tasks)
    return [("started before release", number) for number in started] + events


async def test_two_people_are_served_side_by_side():
    events = await _run([_text_from(1, 1), _text_from(2, 2)])
    assert ("started before release", 1) in events and ("started before release", 2) in events


async def test_one_persons_updates_run_one_after_the_other_in_order():
    events = await _run([_text_from(1, 1), _text_from(1, 2), _text_from(1, 3)])
    assert [e for e in events if e[0] == "started before release"] == [
        ("started before release", 1)
    ]
    assert [e for e in events if e[0] != "started before release"] == [
        ("start", 1),
        ("end", 1),
        ("start", 2),
        ("end", 2),
        ("start", 3),
        ("end", 3),
    ]


async def test_locks_do_not_pile_up():
    processor = OnePersonAtATime(4)

    async def nothing() -> None:
        await asyncio.sleep(0)

    await asyncio.gather(
        *(processor.process_update(_text_from(n % 3, n), nothing()) for n in range(9))
    )
    assert processor._locks == {} and processor._holders == {}
