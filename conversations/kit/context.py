"""A typed `CallbackContext`: handlers reach the store through `context.portal`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.portal import Portal


PORTAL_KEY = "portal"


class PortalContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """The context every handler of the product receives."""

    @property
    def portal(self) -> Portal:
        return self.application.bot_data[PORTAL_KEY]

    @classmethod
    def attach(
        cls, application: Application[Any, Any, Any, Any, Any, Any], portal: Portal
    ) -> None:
        """Make `portal` reachable from every handler of `application`."""
        application.bot_data[PORTAL_KEY] = portal
