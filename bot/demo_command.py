"""`portail demo` on the command line: its options, and the demo itself loaded only when run.

The demo (`bot.demo`) stands on the local fake of the Bot API (`fake_telegram`), which the
product needs in no other mode: registering the command imports neither, so `portail run`,
`portail bot` and `portail smtp` never load the fake.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from bot.settings import Settings, get_settings


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """`portail demo`: the demo, imported now (demo mode only)."""
    # Imported here: the fake Bot API is loaded in demo mode only.
    from bot.demo import play

    return play(settings, args)


def add_demo_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `demo` and its options on the `portail` subcommands."""
    demo = subparsers.add_parser(
        "demo", help="chat with the real bot in the terminal (local fake Telegram, demo data)"
    )
    add_demo_arguments(demo)
    demo.set_defaults(handler=cmd_demo)


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the demo (left out: the demo's own defaults)."""
    parser.add_argument(
        "--email",
        help="the guardian of the demo town you play (default: Camille Martin, Famille Martin)",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="pretend today is this day, from 09:00 Paris (default: the real clock)",
    )
    parser.add_argument(
        "--database",
        metavar="URL_OR_FILE",
        help="database URL or SQLite file (default: DATABASE_URL, as portail import)",
    )
    parser.add_argument("--data", help="the YAML file to load (default: the demo town)")
    parser.add_argument("--log", help="the log file (default: var/demo.log)")
    parser.add_argument(
        "--reset", action="store_true", help="start from an empty database (SQLite file only)"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.demo_command`: the demo without the `portail` command."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.demo_command", description="The terminal demo of the Portail Famille."
    )
    add_demo_arguments(parser)
    return cmd_demo(get_settings(), parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
