"""`/aide` (`/help`): what the bot does, its commands, and how to reach a person."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CommandHandler

from conversations.kit.context import PortalContext
from conversations.kit.language import guess_language
from conversations.kit.live import reply
from conversations.kit.menu import menu_keyboard
from conversations.kit.texts import text

HELP_COMMANDS = ("aide", "help")
# The commands published to Telegram (the "/" menu) and listed by the help page, in that order;
# each has its description `cmd.<name>` in both languages.
COMMANDS = (
    "start",
    "menu",
    "reserver",
    "annuler",
    "solde",
    "absence",
    "mesabsences",
    "documents",
    "message",
    "dossier",
    "inscriptions",
    "demandes",
    "releve",
    "tarifs",
    "actualites",
    "consultations",
    "mesdonnees",
    "confidentialite",
    "planning",
    "rappels",
    "abandon",
    "aide",
    "langue",
    "deconnexion",
)
# Not worth a line of the help page: it is how one arrives, and the page itself.
NOT_LISTED = frozenset({"start", "aide"})


def commands_html(language: str) -> str:
    """ "/reserver — Réserver des jours", a line per command."""
    return "\n".join(
        f"/{name} — {escape(text(f'cmd.{name}', language))}"
        for name in COMMANDS
        if name not in NOT_LISTED
    )


async def send_help(update: Update, context: PortalContext) -> None:
    """The help page, in the parent's language; the menu below when they are linked."""
    user = update.effective_user
    profile = await context.portal.families.profile(user.id) if user is not None else None
    language = profile.language.value if profile is not None else guess_language(update)
    services = await context.portal.messaging.services()
    lines = [
        text("help.service", language, name=service.name, email=service.email)
        for service in services
        if service.email
    ]
    documents = context.portal.settings.documents_email
    body = text(
        "help.body" if profile is not None else "help.body_unlinked",
        language,
        services_html="\n".join(lines) or escape(documents),
        commands_html=commands_html(language),
        documents=documents,
    )
    await reply(update, body, menu_keyboard(language) if profile is not None else None)


HANDLERS = [CommandHandler(list(HELP_COMMANDS), send_help)]
