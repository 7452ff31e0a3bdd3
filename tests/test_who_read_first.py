"""The guardian behind an update is read in the transaction that opens the person's turn (with
the update's claim and their chat state), not in a transaction of its own (issue 16, item 7).

Transactions and statements are recorded on the engine (`begin`, `before_cursor_execute`),
per connection, while the real application answers a parent over the local Bot API.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.chat_helpers import linked_parent
from tests.helpers import build_town

GUARDIAN_READ = "FROM guardian WHERE guardian.telegram_user_id ="


@contextmanager
def transactions(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[list[str]]]:
    """The transactions run on the sessions' engine inside the block, each as its statements."""
    engine = sessions.kw["bind"].sync_engine
    numbers = itertools.count()
    current: dict[int, int] = {}
    seen: list[list[str]] = []

    def begin(conn: Any) -> None:
        current[id(conn)] = next(numbers)
        seen.append([])

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        number = current.get(id(conn))
        if number is not None and not sql.startswith("BEGIN"):
            seen[number].append(" ".join(sql.split()))

    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)


async def test_the_guardian_is_read_with_the_claim_of_the_update(portal, telegram, bot):
    await build_town(portal.sessions, [date(2026, 12, 2)])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")

    with transactions(portal.sessions) as seen:
        parent.mark()
        await parent.send_command("/solde")
        screen = await parent.next_message()
    assert "Mon solde" in screen.text

    # The /solde update's turn opens with the update's claim (what came before is the end of
    # the linking update); its guardian is read there, with the person's chat state, and not
    # again in a transaction of its own.
    opening = next(i for i, statements in enumerate(seen) if _claims(statements))
    assert any(GUARDIAN_READ in sql for sql in seen[opening]), seen[opening]
    assert any("FROM chat_state" in sql for sql in seen[opening]), seen[opening]
    later = [sql for statements in seen[opening + 1 :] for sql in statements]
    assert not [sql for sql in later if GUARDIAN_READ in sql], later
    assert any("FROM invoice" in sql for sql in later), later


def _claims(statements: list[str]) -> bool:
    return any(sql.startswith("INSERT INTO handled_update") for sql in statements)


async def test_an_account_not_linked_is_told_so(portal, telegram, bot):
    await build_town(portal.sessions, [date(2026, 12, 2)])
    stranger = telegram.add_user(first_name="Inconnu", language_code="fr")
    stranger.mark()
    await stranger.send_command("/solde")
    answer = await stranger.next_message()
    assert "n'est pas relié au Portail Famille" in answer.text


async def test_an_account_linked_by_the_update_itself_gets_its_menu(portal, telegram, bot):
    """Read at the start of the update, the account was not linked yet: the menu that follows
    the link, in the same update, reads the guardian again."""
    await build_town(portal.sessions, [date(2026, 12, 2)])
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", first_name="Dominique")
    assert "Que souhaitez-vous faire" in (parent.last_message.text or "")
