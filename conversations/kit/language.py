"""The language the flows speak to a parent, and the parent's chat state (`user_data`) that
keeps it."""

from __future__ import annotations

from typing import Any, Final

from telegram import Update

from conversations.kit.context import PortalContext
from conversations.kit.texts import language_of
from store.models.enums import Language

# Where the parent's chat state keeps the language the flows speak (set when one opens).
LANGUAGE: Final = "language"


def saved(context: PortalContext) -> dict[str, Any]:
    """The parent's chat state (`user_data`); every update a flow or the menu takes has one."""
    data = context.user_data
    if data is None:
        raise RuntimeError("an update without a user has no chat state")
    return data


def chat_language(context: PortalContext, update: Update | None = None) -> str:
    """The language the flows speak to this parent (kept when a flow opened); else Telegram's
    for `update`, else French."""
    kept = (context.user_data or {}).get(LANGUAGE)
    if kept:
        return str(kept)
    return guess_language(update) if update is not None else "fr"


def keep_language(context: PortalContext, language: str) -> None:
    """Speak `language` in the flows from now on."""
    saved(context)[LANGUAGE] = language


async def adopt_telegram_language(update: Update, context: PortalContext) -> str:
    """At linking, speak the language the phone speaks when we know it; French otherwise."""
    user = update.effective_user
    assert user is not None  # a linking message or tap has a sender
    profile = await context.portal.families.profile(user.id)
    assert profile is not None
    code = (user.language_code or "").lower()
    if code[:2] in ("fr", "en") and code[:2] != profile.language.value:
        await context.portal.families.set_language(profile.actor, Language(code[:2]))
        return code[:2]
    return profile.language.value


def guess_language(update: Update) -> str:
    """The language to speak before we know the guardian: Telegram's, else French."""
    user = update.effective_user
    return language_of(user.language_code if user else None)
