"""The outbox's notice registry: what each kind of Telegram notification says, and what to
remember once one was sent. Flows and handlers register their kinds here (`renders`,
`after_sent`); the sending loop (`bot.delivery`) renders each item through it. Also the retry
schedule both outbox senders share (`bot.delivery`, `mail.staff_mail`): `backoff`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from telegram import InlineKeyboardMarkup, Message

from store.outbox import Delivery

if TYPE_CHECKING:
    from bot.portal import Portal

FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Notice:
    """A notification with buttons under it; a renderer returns one, or just its text."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    # A file sent as a document, `text` being its caption: (file name, bytes).
    document: tuple[str, bytes] | None = None


Renderer: TypeAlias = "Callable[[Portal, dict[str, Any], str], Awaitable[str | Notice | None]]"
# What each kind of notification says; flows of the product add their own kinds here.
RENDERERS: dict[str, Renderer] = {}
AfterSent: TypeAlias = "Callable[[Portal, Delivery, Message], Awaitable[None]]"
# What to remember once a notification reached a chat (e.g. its Telegram message id).
AFTER_SENT: dict[str, AfterSent] = {}


def renders(*kinds: str) -> Callable[[Renderer], Renderer]:
    """Register the function that writes the text of these notification kinds."""

    def register(function: Renderer) -> Renderer:
        for kind in kinds:
            RENDERERS[kind] = function
        return function

    return register


def after_sent(*kinds: str) -> Callable[[AfterSent], AfterSent]:
    """Register what to do once a notification of these kinds was sent."""

    def register(function: AfterSent) -> AfterSent:
        for kind in kinds:
            AFTER_SENT[kind] = function
        return function

    return register


async def render(portal: Portal, delivery: Delivery, language: str) -> str | Notice | None:
    """The text (and buttons) of a notification, or None when its kind or subject is unknown."""
    renderer = RENDERERS.get(delivery.kind)
    if renderer is None:
        return None
    # The recipient (a chat id) too: what a notice may say depends on who reads it
    # (`store.visibility`: a guardian who does not see health details).
    payload = {**delivery.payload, "kind": delivery.kind, "recipient": delivery.recipient}
    return await renderer(portal, payload, language)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s... up to an hour."""
    return min(FIRST_BACKOFF * (2**attempts), MAX_BACKOFF)
