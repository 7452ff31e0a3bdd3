"""Delivering the outbox's Telegram messages: once each, retried with backoff until sent.

Items are leased by a conditional update before sending, marked sent right after; a 429 stops
the whole sender (every chat) for Telegram's `retry_after`, the refused item retried after it;
a blocked bot gives up; a request Telegram refuses as such (400 Bad Request: message too
long, chat not found, HTML it cannot parse...) is given up at once, since sending it again
would be refused again (a text whose HTML Telegram cannot parse goes once more as plain text);
other errors (5xx, network) back off exponentially, up to `GIVE_UP_AFTER_ATTEMPTS`.

Pacing is shared by every worker on the store (`SharedPacer`, `store.runtime.SendSlots`): each
batch reserves its send slots and its chats in one transaction, so that any number of workers
together keep to the bot's rate and to one message a second per chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.metrics import record_flood_wait
from bot.portal import Portal
from conversations.kit.formatting import day_label
from conversations.kit.notices import AFTER_SENT, Notice, backoff, render, renders
from conversations.kit.texts import text
from store.models import Guardian
from store.models.enums import Channel
from store.outbox import claim_due, mark_failed, mark_sent, postpone
from store.planning import booking_facts
from store.runtime import SendSlots

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
GIVE_UP_AFTER_ATTEMPTS = 20
POLL_SECONDS = 1.0
# Telegram allows a bot about 30 messages a second in all and 1 a second per chat.
GLOBAL_PER_SECOND = 28.0
CHAT_SPACING = 1.0
# Shared slots: a chat rests a little longer than Telegram asks, for the network's jitter
# between two workers' requests.
SHARED_CHAT_SPACING = 1.1
# A shared slot missed by more than this (the worker fell behind) is given up, its message
# due again for a later one: late sends would bunch with the next slots of other workers.
MAX_LATE = 0.1
# Slots are spaced so that, each send being up to MAX_LATE after its slot, no second (sliding)
# ever holds more than the rate set: over any 1 s, the slots of 1 + MAX_LATE s may be sent.
SLOT_MARGIN = 1.01
CHAT_MEMORY = 10_000
BATCH = 50


@renders("waitlist_promoted", "booking_validated", "booking_refused")
async def _booking_notice(portal: Portal, payload: dict[str, Any], language: str) -> str | None:
    facts = await booking_facts(portal.sessions, int(payload["booking_id"]))
    if facts is None:
        return None
    values = {
        "child": facts.child_name,
        "activity": facts.activity_name,
        "day": day_label(date.fromisoformat(payload.get("day", facts.day.isoformat())), language),
    }
    if payload["kind"] == "waitlist_promoted":
        state = text(f"notify.state_{payload.get('state', 'confirmed')}", language)
        return text("notify.waitlist_promoted", language, state=state, **values)
    message = text(f"notify.{payload['kind']}", language, **values)
    if payload["kind"] == "booking_refused" and payload.get("reason"):
        message += "\n" + text("notify.booking_refused_reason", language, reason=payload["reason"])
    return message


async def _language_of_chat(portal: Portal, chat_id: int) -> str:
    async with portal.sessions() as session:
        language = await session.scalar(
            select(Guardian.language).where(Guardian.telegram_chat_id == chat_id)
        )
    return language.value if language is not None else "fr"


async def send_notice(bot: Bot, chat_id: int, notice: Notice, *, plain: bool = False) -> Message:
    """One notice into one chat: a message, or a document with its caption; `plain`: its
    text without its HTML markup, sent as plain text."""
    text = _plain_text(notice.text) if plain else notice.text
    parse_mode = None if plain else "HTML"
    if notice.document is not None:
        name, content = notice.document
        return await bot.send_document(
            chat_id,
            document=content,
            filename=name,
            caption=text,
            parse_mode=parse_mode,
            reply_markup=notice.keyboard,
        )
    return await bot.send_message(
        chat_id, text, parse_mode=parse_mode, reply_markup=notice.keyboard
    )


TAG = re.compile(r"<[^>]*>")


def _plain_text(text: str) -> str:
    """An HTML notice's text as plain text: tags dropped, entities read."""
    return html.unescape(TAG.sub("", text))


def _unparsable(error: BadRequest) -> bool:
    """Telegram could not read the notice's HTML ("can't parse entities: ...")."""
    return "can't parse entities" in error.message.lower()


async def _send(bot: Bot, chat_id: int, notice: Notice) -> Message:
    """Send a notice; one whose HTML Telegram cannot parse goes once more, as plain text."""
    try:
        return await send_notice(bot, chat_id, notice)
    except BadRequest as error:
        if not _unparsable(error):
            raise
        logger.warning("a notice's HTML was refused (%s); sent as plain text", error.message)
    return await send_notice(bot, chat_id, notice, plain=True)


class Pacer:
    """Telegram's limits, kept on our side: ~30 messages a second in all, 1 a second per chat,
    in this process's memory (`SharedPacer` keeps them for every worker).

    `reserve()` gives a batch's chats their send slots, evenly spaced, and `wait_for()` waits
    for one (`wait()` spaces sends without slots); `chat_is_resting()` tells a chat written to
    less than a second ago, whose message waits for a later round rather than meet a 429.
    When Telegram answers 429 all the same (a flood limit of its own), `pause()` stops every
    send, to every chat, for the `retry_after` it gave: sending on meanwhile only earns more
    429s.
    """

    def __init__(self, per_second: float = GLOBAL_PER_SECOND, per_chat: float = CHAT_SPACING):
        self._interval = 1.0 / per_second
        self._per_chat = per_chat
        self._next = 0.0
        self._resume_at = 0.0
        self._last_by_chat: dict[int, float] = {}
        self._last_send = float("-inf")

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(self._next, self._resume_at)
        if start > now:
            await asyncio.sleep(start - now)
            now = time.monotonic()
        self._next = max(now, start) + self._interval

    async def reserve(self, chat_ids: list[int]) -> dict[int, float]:
        """A send slot for each chat of a batch that may be written to (one per chat, in
        order); a resting chat has none."""
        slots: dict[int, float] = {}
        for chat_id in dict.fromkeys(chat_ids):
            if self.chat_is_resting(chat_id):
                continue
            slot = max(self._next, self._resume_at, time.monotonic())
            self._next = slot + self._interval
            self.sent_to(chat_id, at=slot)
            slots[chat_id] = slot
        return slots

    async def wait_for(self, slot: float) -> bool:
        """Sleep until a reserved slot, and never send twice within the rate's interval;
        False: the slot is missed, nothing may be sent on it."""
        delay = max(slot, self._last_send + self._interval) - self._now()
        if delay > 0:
            await asyncio.sleep(delay)
        self._last_send = self._now()
        return True

    async def flooded(self, seconds: float) -> None:
        """Telegram said 429: stop sending for `seconds`."""
        self.pause(seconds)

    def _now(self) -> float:
        return time.monotonic()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: no send to any chat for `seconds` from now."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def paused_for(self) -> float:
        """Seconds before anything may be sent again (0 when not paused)."""
        return max(0.0, self._resume_at - time.monotonic())

    def chat_is_resting(self, chat_id: int) -> float:
        """Seconds before this chat may be written to again (0 when it may now)."""
        last = self._last_by_chat.get(chat_id)
        return 0.0 if last is None else max(0.0, last + self._per_chat - time.monotonic())

    def sent_to(self, chat_id: int, at: float | None = None) -> None:
        """Remember a send to this chat (now, or at a given `time.monotonic()` value)."""
        self._last_by_chat[chat_id] = time.monotonic() if at is None else at
        if len(self._last_by_chat) > CHAT_MEMORY:
            horizon = time.monotonic() - self._per_chat
            self._last_by_chat = {c: t for c, t in self._last_by_chat.items() if t > horizon}


class SharedPacer(Pacer):
    """The pacer of a worker among others: slots and resting chats reserved in the store
    (Unix time), for every worker at once; a 429 pauses them all."""

    def __init__(self, slots: SendSlots, per_second: float):
        super().__init__(per_second)
        self._slots = slots

    async def reserve(self, chat_ids: list[int]) -> dict[int, float]:
        now = self._now()
        slots = await self._slots.reserve(chat_ids, now)
        if self._slots.full_until > now:
            # Another worker met a flood pause: this one claims nothing until it ends.
            self.pause(self._slots.full_until - now)
        return slots

    async def wait_for(self, slot: float) -> bool:
        await super().wait_for(slot)
        return self._last_send - slot <= MAX_LATE

    async def flooded(self, seconds: float) -> None:
        self.pause(seconds)
        await self._slots.pause_until(self._now() + seconds)

    def _now(self) -> float:
        return time.time()


async def deliver_due(portal: Portal, bot: Bot, pacer: Pacer | None = None) -> int:
    """Send what is due now, paced (`pacer`, or unpaced); returns how many were sent."""
    now = portal.clock()
    sent = 0
    claimed = await claim_due(portal.sessions, Channel.TELEGRAM, now, LEASE, BATCH)
    slots = None
    if pacer is not None and claimed:
        slots = await pacer.reserve([int(delivery.recipient) for delivery in claimed])
    for position, delivery in enumerate(claimed):
        chat_id = int(delivery.recipient)
        slot = None
        if slots is not None:
            slot = slots.pop(chat_id, None)
            if slot is None:
                # A chat resting (or written to already in this batch), or no slot left:
                # released, due again at once, taken in a later round.
                await postpone(portal.sessions, delivery.id, now)
                continue
        rendered = await render(portal, delivery, await _language_of_chat(portal, chat_id))
        if rendered is None:
            await mark_failed(portal.sessions, delivery.id, f"cannot render {delivery.kind}", None)
            continue
        notice = rendered if isinstance(rendered, Notice) else Notice(rendered)
        if pacer is not None and slot is not None and not await pacer.wait_for(slot):
            # This worker fell behind its slots: released, due again for a later one.
            await postpone(portal.sessions, delivery.id, now)
            continue
        try:
            message = await _send(bot, chat_id, notice)
        except RetryAfter as error:
            record_flood_wait()
            wait = error.retry_after
            delay = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
            await mark_failed(portal.sessions, delivery.id, "429", portal.clock() + delay)
            # Telegram takes nothing more from the bot for a while: the whole sender stops,
            # and the rest of the batch goes back, due as before, for after the pause.
            if pacer is not None:
                await pacer.flooded(delay.total_seconds())
            for waiting in claimed[position + 1 :]:
                await postpone(portal.sessions, waiting.id, now)
            break
        except Forbidden as error:
            # Blocked by the parent: nothing more is written to them until they unblock it.
            await mark_failed(portal.sessions, delivery.id, str(error), None)
            await portal.linking.chat_blocked(chat_id, blocked=True)
            continue
        except BadRequest as error:
            # Telegram refused the request itself (too long, unknown chat...): the same
            # request would be refused again, 20 times over. Given up at once.
            logger.warning(
                "notice %s (%s) refused by Telegram, not retried: %s",
                delivery.id,
                delivery.kind,
                error.message,
            )
            await mark_failed(portal.sessions, delivery.id, f"refused: {error.message}", None)
            continue
        except TelegramError as error:
            give_up = delivery.attempts + 1 >= GIVE_UP_AFTER_ATTEMPTS
            retry_at = None if give_up else portal.clock() + backoff(delivery.attempts)
            await mark_failed(portal.sessions, delivery.id, str(error), retry_at)
            continue
        await mark_sent(portal.sessions, delivery.id, portal.clock())
        sent += 1
        hook = AFTER_SENT.get(delivery.kind)
        if hook is not None:
            try:
                await hook(portal, delivery, message)
            except Exception:
                logger.exception("after-send step of %s failed", delivery.kind)
    return sent


def slot_rate(per_second: float) -> float:
    """The shared slots' rate for at most `per_second` sends in any second: a little under
    `per_second`, as sends may come up to `MAX_LATE` after their slot."""
    return per_second / ((1 + MAX_LATE) * SLOT_MARGIN)


async def run_delivery(portal: Portal, bot: Bot, stop: asyncio.Event) -> None:
    """Deliver the outbox until `stop` is set: batch after batch while there is work."""
    per_second = portal.settings.telegram_messages_per_second
    slots = SendSlots(
        portal.sessions,
        slot_rate(per_second),
        SHARED_CHAT_SPACING,
        group_per_minute=portal.settings.telegram_group_messages_per_minute,
    )
    pacer = SharedPacer(slots, per_second)
    while not stop.is_set():
        paused = pacer.paused_for()
        if paused > 0:
            # After a 429: nothing is claimed (nor leased) before Telegram takes sends again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), paused)
            continue
        sent = 0
        try:
            sent = await deliver_due(portal, bot, pacer)
        except Exception:
            logger.exception("outbox delivery round failed")
        if sent:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
