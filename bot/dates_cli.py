"""`portail dates "PHRASE"`: show which days the chat would understand from a phrase.

portail dates "du 21 au 24 décembre" --today 2026-11-24 [--intent book|absence] [--lang fr|en]

Prints one ISO date a line (every calendar day of a range: no activity is given, so no
opening days trim it). Where the chat would ask back, prints the question and exits with 3.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

from conversations.kit.ask_back import ask_back_text
from dates import AskBack, Intent, understand

ASK_BACK_EXIT_STATUS = 3
PARIS = ZoneInfo("Europe/Paris")


def _iso_date(text: str) -> date:
    """Parse --today, with a readable error."""
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text}") from error


def cmd_dates(settings: Any, args: argparse.Namespace) -> int:
    """Print the days understood from `args.phrase`, or the question asked back (status 3)."""
    del settings  # the command needs no database nor configuration
    today = args.today or datetime.now(PARIS).date()
    result = understand(args.phrase, today, Intent(args.intent))
    if isinstance(result, AskBack):
        print(unescape(ask_back_text(result, args.lang)))  # the chat's words, as plain text
        return ASK_BACK_EXIT_STATUS
    for day in result.days:
        print(day.isoformat())
    return 0


def add_dates_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `dates` command on the `portail` command line."""
    parser = subparsers.add_parser(
        "dates",
        help="show the days a chat phrase means",
        description="Show the days the chat understands from a phrase, one ISO date a line.",
    )
    parser.add_argument("phrase", help='what a parent would type, e.g. "mercredi prochain"')
    parser.add_argument(
        "--today", type=_iso_date, default=None, help="YYYY-MM-DD (default: today in Paris)"
    )
    parser.add_argument(
        "--intent", choices=[intent.value for intent in Intent], default=Intent.BOOK.value
    )
    parser.add_argument("--lang", choices=["fr", "en"], default="fr", help="language of questions")
    parser.set_defaults(handler=cmd_dates)
