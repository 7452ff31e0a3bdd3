"""`portail privacy access-log FAMILY [--json]`: who read a family's documents and children's
health details, when and why (`store.access_log`), newest first; and `portail privacy purge`:
the retention purge (`store.retention`) run now, as the bot runs it daily."""

from __future__ import annotations

import argparse

from bot.portal import Portal
from bot.privacy_cli import family_id_of
from bot.staff_commands import moment, on_store
from bot.staff_json import add_json_option, print_json
from store.actors import Actor
from store.retention import purge


@on_store
async def cmd_access_log(portal: Portal, args: argparse.Namespace) -> int:
    family_id = await family_id_of(portal, args.family)
    views = await portal.access_log.for_family(Actor.system(), family_id)
    if args.json:
        print_json(views)
        return 0
    if not views:
        print(f"Nobody outside family {args.family} read its documents or health details.")
    for view in views:
        subject = f" ({view.subject})" if view.subject else ""
        print(
            f"{moment(view.at)}  {view.service_name or '-'}  {view.reader_name or '-'}  "
            f"{view.what} #{view.what_id}{subject}  for {view.why}"
        )
    return 0


@on_store
async def cmd_purge(portal: Portal, args: argparse.Namespace) -> int:
    purged = await purge(
        portal.sessions, portal.documents.remove_files, portal.clock(), portal.retention_rules
    )
    print(
        f"{purged.certificates} certificate(s), {purged.documents} document(s), "
        f"{purged.absence_reasons} absence reason(s), {purged.audit_entries} audit "
        "entry(ies) deleted past their retention."
    )
    return 0


def add_access_log_commands(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `access-log` and `purge` under `portail privacy`."""
    log = verbs.add_parser(
        "access-log", help="who read a family's documents and health details, when, why"
    )
    log.add_argument("family", metavar="FAMILY", help="the family's file code, or its number")
    add_json_option(log)
    log.set_defaults(handler=cmd_access_log)
    cleanup = verbs.add_parser("purge", help="delete now what is past its retention")
    cleanup.set_defaults(handler=cmd_purge)
