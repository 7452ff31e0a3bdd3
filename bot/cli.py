"""The `portail` command line: database, import, invitations, running the product.

portail db upgrade            bring the database schema up to date
portail import FILE.yaml      load facilities, activities, families, invoices (idempotent)
portail invite EMAIL          print a single-use Telegram deep link for a guardian
portail run                   the whole product: bot, outbox, inbound mail server (needs
                              TELEGRAM_TOKEN; fails without it)
portail bot [--workers N]     the bot and its outbox only (needs TELEGRAM_TOKEN); N worker
                              processes in webhook mode (TELEGRAM_WEBHOOK_URL)
portail smtp                  the inbound mail server and its mail worker only
portail mail purge            empty the raw mails past their retention (the mail server
                              also does it every hour)

`portail run` and `portail smtp` both listen on SMTP_LISTEN_HOST:SMTP_LISTEN_PORT: on one host,
run either `portail run` alone, or `portail bot` next to `portail smtp`. A command that cannot
listen says so and exits with status 3 (nothing else started).
portail demo                  the terminal demo, on the same database (no token needed)
portail news ...              news to families, and closure days (see bot/news_cli.py)
portail privacy ...           a family's data: export, erasure (see bot/privacy_cli.py), who
                              read it (access-log), the retention purge (bot/access_log_cli.py)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.access_log_cli import add_access_log_commands
from bot.dates_cli import add_dates_command
from bot.demo_command import add_demo_command
from bot.news_cli import add_news_command
from bot.portal import Portal
from bot.privacy_cli import add_privacy_command
from bot.privacy_keys import install_keyring
from bot.settings import Settings, get_settings
from bot.staff_cli import add_staff_command
from store import migrate
from store.actors import NotFound
from store.clock import system_clock
from store.database import with_sessions
from store.encryption import KeyringError
from store.importer import ImportFileError, import_file
from store.linking import deep_link


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url, args.revision)
    print(f"Database schema is at {args.revision}.")
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    async def work(sessions) -> int:  # type: ignore[no-untyped-def]
        report = await import_file(sessions, Path(args.file))
        if not report.changed:
            print("Nothing changed: the store already holds this file's data.")
        for label, counts in (("created", report.created), ("updated", report.updated)):
            for table, count in sorted(counts.items()):
                print(f"{label}: {count} {table}")
        return 0

    try:
        return asyncio.run(with_sessions(settings.database_url, work))
    except ImportFileError as error:
        print(f"{args.file} was not imported, nothing changed:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2


def cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        portal = Portal.from_settings(settings)
        try:
            ttl = timedelta(hours=args.hours or settings.invite_ttl_hours)
            token = await portal.linking.create_invite(args.email, ttl)
            print(deep_link(settings.telegram_bot_username, token))
            return 0
        finally:
            await portal.close()

    try:
        return asyncio.run(work())
    except NotFound:
        print(f"No guardian has the email {args.email}.", file=sys.stderr)
        return 2


NO_TOKEN = (
    "TELEGRAM_TOKEN is not set (environment or .env; see .env.example): the bot cannot run.\n"
    "To try the product without Telegram, run the terminal demo: portail demo (or make run)."
)


CANNOT_LISTEN = 3
ONE_POLLER = (
    "portail bot --workers: several workers need webhook mode (TELEGRAM_WEBHOOK_URL and "
    "TELEGRAM_WEBHOOK_SECRET); long polling admits one bot process per token."
)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return number


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Every part of the product in one process: bot, outbox, inbound mail server (`portail
    bot`: the same without the mail server, which `portail smtp` then runs).

    Without a token it fails: a service that lost its token must not quietly start something
    else (the demo is `portail demo`, which `make run` starts when no token is set).
    """
    if not settings.telegram_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    install_keyring(settings)  # only now: a refused start touches nothing (no key file)
    workers = getattr(args, "workers", 1)
    if workers > 1:
        if not settings.telegram_webhook_url:
            print(ONE_POLLER, file=sys.stderr)
            return 2
        from bot.workers import supervise

        return supervise(workers)
    from bot.runner import serve
    from mail.inbound import CannotListen

    try:
        asyncio.run(serve(settings, smtp=args.command == "run"))
    except CannotListen as error:
        print(f"portail {args.command}: {error}", file=sys.stderr)
        return CANNOT_LISTEN
    return 0


def cmd_smtp(settings: Settings, args: argparse.Namespace) -> int:
    from bot.smtp import serve_smtp
    from mail.inbound import CannotListen

    try:
        asyncio.run(serve_smtp(settings))
    except CannotListen as error:
        print(f"portail smtp: {error}", file=sys.stderr)
        return CANNOT_LISTEN
    return 0


def cmd_mail_purge(settings: Settings, args: argparse.Namespace) -> int:
    from store.mail_retention import Retention, purge_raw

    retention = Retention.from_settings(settings)

    async def work(sessions) -> int:  # type: ignore[no-untyped-def]
        purged = await purge_raw(sessions, system_clock(), retention)
        print(
            f"{purged} raw mail(s) emptied (kept {retention.raw_days} days after processing, "
            f"{retention.set_aside_days} when set aside)."
        )
        return 0

    return asyncio.run(with_sessions(settings.database_url, work))


Command = Callable[[Settings, argparse.Namespace], int]
"""What runs a command: the settings and the command line's arguments give its exit status."""


def _described(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    description: str,
    handler: Command,
) -> argparse.ArgumentParser:
    """A command, its help and description `description`, run by `handler`."""
    command = commands.add_parser(name, help=description, description=description)
    command.set_defaults(handler=handler)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portail", description="Portail Famille on Telegram")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply the migrations")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=cmd_db_upgrade)

    importer = commands.add_parser("import", help="load a YAML data file (idempotent)")
    importer.add_argument("file")
    importer.set_defaults(handler=cmd_import)

    invite = commands.add_parser("invite", help="print a Telegram invite link for a guardian")
    invite.add_argument("email")
    invite.add_argument("--hours", type=int, help="validity (default: INVITE_TTL_HOURS)")
    invite.set_defaults(handler=cmd_invite)

    bot_help = (
        "run the Telegram bot and its outbox delivery (Telegram messages, staff emails), "
        "without the inbound mail server (needs TELEGRAM_TOKEN): long polling, or with "
        "TELEGRAM_WEBHOOK_URL a webhook server on WEBHOOK_LISTEN_HOST:WEBHOOK_LISTEN_PORT that "
        "any number of workers may serve; run `portail smtp` beside it for mail"
    )
    bot = _described(commands, "bot", bot_help, cmd_run)
    bot.set_defaults(needs_keyring=False)  # cmd_run installs it once the token is checked
    bot.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes on this host, sharing the webhook's port (webhook mode only: "
        "TELEGRAM_WEBHOOK_URL)",
    )
    run_help = (
        "run every part of the product in one process: the Telegram bot, its outbox delivery, "
        "and the inbound mail server with its worker, listening on "
        "SMTP_LISTEN_HOST:SMTP_LISTEN_PORT (needs TELEGRAM_TOKEN); not beside `portail smtp` "
        "on the same port (use `portail bot` then)"
    )
    _described(commands, "run", run_help, cmd_run).set_defaults(needs_keyring=False)
    smtp_help = (
        "run the inbound mail server and its mail worker alone, listening on "
        "SMTP_LISTEN_HOST:SMTP_LISTEN_PORT; no bot (no TELEGRAM_TOKEN needed). Several may "
        "share one database, each on its own host or port"
    )
    _described(commands, "smtp", smtp_help, cmd_smtp)
    mail = commands.add_parser("mail", help="inbound mail upkeep")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True)
    purge_help = (
        "empty the raw bytes of inbound mails past their retention (MAIL_RAW_RETENTION_DAYS "
        "after processing, MAIL_QUARANTINE_RETENTION_DAYS when set aside), keeping what staff "
        "see of them; safe beside running mail servers"
    )
    _described(mail_commands, "purge", purge_help, cmd_mail_purge)
    add_demo_command(commands)
    add_dates_command(commands)
    add_staff_command(commands)
    add_news_command(commands)
    add_access_log_commands(add_privacy_command(commands))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL, which holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The job queue logs each conversation timeout it re-arms: two lines per update.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        # Health details and documents are encrypted at rest: every command that may read or
        # write them (the migrations too) has the keyring first; `privacy new-key` needs none.
        if getattr(args, "needs_keyring", True):
            install_keyring(settings)
        return args.handler(settings, args)
    except KeyringError as error:
        print(f"portail: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
