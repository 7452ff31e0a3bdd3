"""Confirmations done once: each confirm carries a key, recorded with the change it made.

A flow makes a key when it shows its recap (`new_key`), and the recap's confirm button carries
it. The service that acts runs its change and records the key with what the change gave in one
transaction (`run_once`): a confirm tapped again — after a Telegram error hid the result, or
replayed after a restart lost the chat's state — finds its key and gets the first outcome back,
flagged `replayed`; nothing is done twice. Two taps racing with one key meet the key's unique
index: the second transaction is rolled back and answers the first one's outcome.

Outcomes are the services' own frozen dataclasses, kept as JSON (`encode`, `decode`).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, StoreError
from store.models.confirmed_action import ConfirmedAction
from store.models.enums import Channel
from store.outbox import enqueue

# A key as buttons carry it: 16 URL-safe characters (96 random bits).
KEY_PATTERN = "[A-Za-z0-9_-]{16}"
KEY_BYTES = 12
_KEY = re.compile(KEY_PATTERN)
# Keys of the steps a confirm may run before its main change (`step_key`), e.g. "…:free".
STEP_SEPARATOR = ":"
# The Telegram message that tells a confirm's outcome when the chat could not show it.
OUTCOME_MESSAGE = "confirm_outcome"

T = TypeVar("T")


class KeyReused(StoreError):
    """A key already confirmed another kind of action: a forged request."""


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A confirm already carried out: its action and its outcome (JSON, see `decode`)."""

    action: str
    outcome: Any


def new_key() -> str:
    """A fresh key for a recap's confirm button."""
    return secrets.token_urlsafe(KEY_BYTES)


def is_key(value: object) -> bool:
    """Whether `value` is a key as `new_key` makes them (a forged one is not)."""
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def step_key(key: str, step: str) -> str:
    """The key of a step a confirm runs before its main change (its own transaction)."""
    return f"{key}{STEP_SEPARATOR}{step}"


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    key: str | None,
    action: str,
    work: Callable[[AsyncSession], Awaitable[T]],
    encode: Callable[[T], Any],
    decode: Callable[[Any], T],
) -> T:
    """`work(session)` in one transaction that also records `key` with its outcome; a key
    recorded already gives its first outcome back (decoded) and `work` does not run.

    Without a key, `work` just runs in its transaction. A key that confirmed another action is
    refused (`KeyReused`)."""
    for attempt in (1, 2):
        try:
            async with sessions.begin() as session:
                if key is not None:
                    done = await _recorded(session, actor, key)
                    if done is not None:
                        if done.action != action:
                            raise KeyReused("this key confirmed another action")
                        return decode(done.outcome)
                result = await work(session)
                if key is not None:
                    session.add(
                        ConfirmedAction(
                            key=key,
                            family_id=actor.family_id,
                            action=action,
                            outcome=encode(result),
                        )
                    )
                    await session.flush()
                return result
        except IntegrityError:
            # Another confirm with this key committed while this one worked: it is rolled back,
            # and the next round answers the outcome recorded first.
            if key is None or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def recall(
    sessions: async_sessionmaker[AsyncSession], actor: Actor, key: str
) -> Recorded | None:
    """What the confirm with `key` gave, if it was carried out for the actor's family."""
    if not key:
        return None
    async with sessions() as session:
        return await _recorded(session, actor, key)


async def _recorded(session: AsyncSession, actor: Actor, key: str) -> Recorded | None:
    row = (
        await session.execute(
            select(
                ConfirmedAction.action, ConfirmedAction.outcome, ConfirmedAction.family_id
            ).where(ConfirmedAction.key == key)
        )
    ).first()
    if row is None:
        return None
    if actor.family_id is not None and row.family_id != actor.family_id:
        return None  # a forged key of another family reveals nothing
    return Recorded(row.action, row.outcome)


async def queue_outcome_message(
    sessions: async_sessionmaker[AsyncSession],
    chat_id: int,
    dedup_key: str,
    text: str,
    buttons: Sequence[Sequence[tuple[str, str]]],
) -> bool:
    """Give a confirm's outcome message (HTML text, rows of (label, callback data) buttons)
    to the outbox, which sends it to the chat, retried with backoff until it is delivered."""
    async with sessions.begin() as session:
        return await enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient=str(chat_id),
            kind=OUTCOME_MESSAGE,
            payload={
                "text": text,
                "buttons": [[list(button) for button in row] for row in buttons],
            },
            dedup_key=f"{OUTCOME_MESSAGE}:{dedup_key}",
        )


# Outcomes as JSON ---------------------------------------------------------------------------


def encode(items: Sequence[Any]) -> list[dict[str, Any]]:
    """Frozen dataclasses (dates, datetimes, enums, plain values) as JSON objects."""
    return [
        {field.name: _plain(getattr(item, field.name)) for field in dataclasses.fields(item)}
        for item in items
    ]


def decode(cls: type[T], data: Sequence[dict[str, Any]], **changes: Any) -> list[T]:
    """The dataclasses `encode` wrote, with `changes` (e.g. `replayed=True`)."""
    hints = typing.get_type_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return [
        cls(
            **{
                name: _typed(hints[name], value)
                for name, value in item.items()
                if name in names and name not in changes
            },
            **changes,
        )
        for item in data
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    return value


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if isinstance(hint, type):
        if issubclass(hint, datetime):
            return datetime.fromisoformat(value)
        if issubclass(hint, date):
            return date.fromisoformat(value)
        if issubclass(hint, Enum):
            return hint(value)
    return value
