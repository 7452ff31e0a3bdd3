"""`portail staff digest`: send each service's digest now, or preview it (`store.staff_digest`).

portail staff digest [--service CODE] [--dry-run]
    --dry-run prints each digest as it would be mailed (codes included) and keeps nothing;
    without it, a digest is queued for each service (or the one named) with something
    waiting, whatever the schedule, and the outbox delivers it.
    --json prints the same as one JSON document: with --dry-run, each digest's recipient,
    subject, body and what it lists (codes, kinds, mails set aside); without, the ids of the
    digests queued.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.portal import Portal
from bot.staff_commands import on_store
from bot.staff_json import add_json_option, print_json
from mail.staff_digest_mail import digest_service, digest_text
from store.actors import NotFound
from store.staff_digest import DigestContent


def _preview(content: DigestContent, portal: Portal) -> dict[str, Any]:
    """A digest as --dry-run --json prints it: the mail's text and what it lists."""
    subject, body = digest_text(content, portal.today())
    return {
        "service_code": content.service_code,
        "service_name": content.service_name,
        "recipient": content.recipient,
        "subject": subject,
        "body": body,
        "requests": content.requests,
        "mails": content.mails,
    }


@on_store
async def cmd_digest(portal: Portal, args: argparse.Namespace) -> int:
    service = digest_service(portal)
    try:
        if args.dry_run:
            previews = await service.preview(args.service)
            shown = [p for p in previews if not p.empty]
            if args.json:
                print_json([_preview(content, portal) for content in shown])
                return 0
            if not shown:
                print("Nothing is waiting: no digest would be sent.")
            for content in shown:
                subject, body = digest_text(content, portal.today())
                print(f"To: {content.recipient}\nSubject: {subject}\n\n{body}")
            return 0
        sent = await service.send_now(args.service)
    except NotFound as error:
        print(error, file=sys.stderr)
        return 2
    if args.json:
        print_json({"queued": sent})
        return 0
    if not sent:
        print("Nothing is waiting: no digest sent.")
    else:
        print(f"{len(sent)} digest(s) queued; the outbox delivers them.")
    return 0


def add_digest_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `portail staff digest`."""
    digest = commands.add_parser(
        "digest",
        help="send each service's digest of what waits for it now (codes to decide by reply)",
    )
    digest.add_argument("--service", metavar="CODE", help="only this service")
    digest.add_argument(
        "--dry-run", action="store_true", help="print the digests, send and keep nothing"
    )
    add_json_option(digest)
    digest.set_defaults(handler=cmd_digest)
