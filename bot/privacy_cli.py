"""`portail privacy ...`: the family's rights, applied by staff.

portail privacy export FAMILY --out FILE.zip [--as EMAIL]
    The family's data as the chat's download gives it (`store.family_export`), of any size.
portail privacy erase FAMILY [--as EMAIL] [--yes]
    Erase what may be erased of the family (`store.family_rights`): health details, consents,
    pick-up persons, documents, messages, change requests, phones, Telegram links and chat
    state; invoices and payments are kept (accounting, 10 years). Pending erasure requests of
    the family are marked accepted. Without --yes, says what it would do and asks.
portail privacy requests [--json]    the erasure requests waiting for a decision
portail privacy refuse ID --reason "..." [--as EMAIL]   refuse one (the family sees why)
portail privacy new-key | rotate-key   encryption keys at rest (see bot/encryption_cli.py)

FAMILY is the family's file code (as in the import file) or its number.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.encryption_cli import add_encryption_commands
from bot.portal import Portal
from bot.staff_commands import Refused, add_decider, decider, moment, on_store
from bot.staff_json import add_json_option, print_json
from store.actors import NotFound
from store.models import Family


async def family_id_of(portal: Portal, family: str) -> int:
    """The family with this file code (F1), or this number; Refused otherwise."""
    async with portal.sessions() as session:
        found = await session.scalar(select(Family.id).where(Family.code == family))
        if found is None and family.isdigit():
            found = await session.scalar(select(Family.id).where(Family.id == int(family)))
    if found is None:
        raise Refused(f"No family has the code or number {family}.")
    return found


def _write_private(out: Path, content: bytes) -> None:
    """The export holds health data: readable by its owner only."""
    out.write_bytes(content)
    out.chmod(0o600)


@on_store
async def cmd_export(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    family_id = await family_id_of(portal, args.family)
    archive = await portal.family_export.build(actor, family_id, check_size=False)
    out = Path(args.out)
    try:
        await asyncio.to_thread(_write_private, out, archive.content)
    except OSError as error:
        raise Refused(f"Cannot write {out}: {error}.") from None
    missing = (
        f"; {archive.missing_documents} document file(s) missing from the storage"
        if archive.missing_documents
        else ""
    )
    print(
        f"Family {args.family} exported to {out}: {len(archive.content)} bytes, "
        f"{archive.documents} document(s){missing}."
    )
    return 0


@on_store
async def cmd_erase(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    family_id = await family_id_of(portal, args.family)
    if not args.yes:
        print(
            f"Erase family {args.family}: children's health details, consents, pick-up persons, "
            "documents, messages, change requests, phones and Telegram links; invoices and "
            "payments are kept (10 years)."
        )
        typed = await asyncio.to_thread(input, "Type ERASE to confirm: ")
        if typed.strip() != "ERASE":
            raise Refused("Nothing was erased.")
    erased = await portal.family_rights.erase(actor, family_id)
    print(
        f"Family {args.family} erased: {erased.children} child(ren) without health details, "
        f"{erased.documents} document(s), {erased.threads} thread(s), {erased.requests} "
        f"change request(s), {erased.guardians_unlinked} guardian(s) unlinked; invoices and "
        "payments kept."
    )
    return 0


@on_store
async def cmd_requests(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    pending = await portal.family_rights.pending(actor)
    if args.json:
        print_json(pending)
        return 0
    if not pending:
        print("No erasure request is waiting.")
    for request in pending:
        print(
            f"#{request.request_id}  {moment(request.requested_at)}  {request.family_code}  "
            f"{request.family_name}"
        )
    return 0


@on_store
async def cmd_refuse(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    try:
        await portal.family_rights.refuse(actor, args.id, args.reason)
    except NotFound:
        raise Refused(f"No pending erasure request #{args.id}.") from None
    print(f"Erasure request #{args.id} refused.")
    return 0


def add_privacy_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Register `portail privacy`; return its verbs, for other privacy commands to join."""
    privacy = commands.add_parser(
        "privacy", help="the families' data: export, erasure, erasure requests"
    )
    verbs = privacy.add_subparsers(dest="privacy_command", required=True)
    export = verbs.add_parser("export", help="a family's data as a ZIP file")
    export.add_argument("family", metavar="FAMILY", help="file code or number")
    export.add_argument("--out", required=True, metavar="FILE.zip")
    add_decider(export)
    export.set_defaults(handler=cmd_export)
    erase = verbs.add_parser(
        "erase", help="erase a family's data but invoices and payments (kept 10 years)"
    )
    erase.add_argument("family", metavar="FAMILY", help="file code or number")
    erase.add_argument("--yes", action="store_true", help="do not ask to confirm")
    add_decider(erase)
    erase.set_defaults(handler=cmd_erase)
    listing = verbs.add_parser("requests", help="erasure requests waiting for a decision")
    add_decider(listing)
    add_json_option(listing)
    listing.set_defaults(handler=cmd_requests)
    refuse = verbs.add_parser("refuse", help="refuse an erasure request, saying why")
    refuse.add_argument("id", type=int)
    refuse.add_argument("--reason", required=True)
    add_decider(refuse)
    refuse.set_defaults(handler=cmd_refuse)
    add_encryption_commands(verbs)
    return verbs
