"""Reading updates from Telegram so that no single update can stall the bot.

python-telegram-bot reads a getUpdates answer as one list: when one update of it cannot be
read (a kind newer than the pinned library, or a known kind with a field the library rejects,
e.g. a `poll` without the fields 22.8 requires), the whole call fails before the offset moves
on, the same batch comes back at once, and the updater asks again, hundreds of times a second,
logging the raw updates (family data) each time; nobody is answered any more.

`TolerantBot` reads each update on its own: one that cannot be read becomes its bare
`Update(update_id)`, which the update kinds' handlers ignore; the offset moves past it as past
any other; it is logged once, by id and error type, never with its content.
"""

from __future__ import annotations

import datetime as dtm
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.ext import ExtBot

logger = logging.getLogger(__name__)


def read_update(raw: Any, bot: ExtBot[Any] | None = None) -> Update | None:
    """One update of a getUpdates answer; its bare id when the library cannot read it; None
    (nothing to confirm or to handle) for what is not an update at all."""
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        logger.warning("getUpdates answered something without an update id: skipped")
        return None
    try:
        return Update.de_json(raw, bot)
    except Exception as error:  # noqa: BLE001 - any failure of the library to read it
        logger.warning(
            "update %d skipped: python-telegram-bot cannot read it (%s)",
            update_id,
            type(error).__name__,
        )
        return Update(update_id)


class TolerantBot(ExtBot[None]):
    """The application's bot, whose getUpdates reads each update on its own."""

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 - the Bot API's own signature
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        """`Bot.get_updates` (the same request, the same read timeout: the long poll's plus
        the transport's), with each update read by `read_update`."""
        data: JSONDict = {
            "timeout": timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        if isinstance(read_timeout, DefaultValue):
            base = self._request[0].read_timeout or 0
        else:
            base = read_timeout or 0
        if isinstance(timeout, dtm.timedelta):
            wait = base + timeout.total_seconds()
        else:
            wait = base + (timeout or 0)
        result = await self._post(
            "getUpdates",
            data,
            read_timeout=wait,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        read = (read_update(raw, self) for raw in result or ())
        updates = tuple(update for update in read if update is not None)
        for update in updates:
            self.insert_callback_data(update)
        return updates
