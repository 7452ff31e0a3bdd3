"""`portail staff changes ...`: the family-file service decides on changes of family files.

portail staff changes list [--all]                    changes waiting (--all: decided ones too)
portail staff changes show ID [--as EMAIL]            one change, old and new values
portail staff changes accept ID --as EMAIL            apply it (if the file still holds the
                                                      value it was asked against)
portail staff changes refuse ID --as EMAIL --reason TEXT   the family reads the reason

portail staff file visibility FAMILY [GUARDIAN_EMAIL full|limited --as EMAIL] [--json]
                                                      what each guardian of the family sees;
                                                      with an email and a value, set it

Only staff of the family-file service decide; the first decision wins. Health details (doctor,
allergies, PAI) are printed only to a member of the family-file service or of one of the child's
activities named with `--as`.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.portal import Portal
from bot.staff_commands import Refused, moment, on_store
from bot.staff_json import add_json_option, plain, print_json
from store.actors import AccessDenied, Actor, NotFound
from store.family_records import PICKUP_REMOVE, ChangeView, FileMoved, InvalidChange
from store.models.enums import GuardianVisibility
from store.visibility import GuardianSight, VisibilityService


async def _staff(portal: Portal, email: str | None) -> Actor:
    if email is None:
        return Actor.system()
    try:
        return (await portal.staff.by_email(email)).actor
    except NotFound:
        raise Refused(f"No staff member has the email {email}.") from None


def _value(value: Any) -> str:
    if isinstance(value, dict):
        relationship = value.get("relationship")
        person = f"{value.get('name', '')}, {value.get('phone', '')}"
        return f"{person} ({relationship})" if relationship else person
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None or value == "" else str(value)


def _what(change: ChangeView) -> str:
    if not change.health_shown:
        return "(a health detail changed: shown with --as a family-file staff email)"
    if change.field == PICKUP_REMOVE:
        return f"remove {_value(change.old_value)}"
    return f"{_value(change.old_value)} -> {_value(change.new_value)}"


def _json(change: ChangeView) -> dict[str, Any]:
    """A change for scripts: its values hidden as the text hides them."""
    fields = plain(change)
    if not change.health_shown:
        fields.update(old_value=None, new_value=None)
    return fields


def _line(change: ChangeView) -> str:
    whose = change.child_name or change.target_name or ""
    status = "" if change.status.value == "pending" else f"[{change.status.value}] "
    return (
        f"#{change.id}  {moment(change.requested_at)}  {change.family_name}  "
        f"{change.field}  {whose}  {status}{_what(change)}"
    )


@on_store
async def cmd_list(portal: Portal, args: argparse.Namespace) -> int:
    changes = await portal.family_file.changes(Actor.system(), everything=args.all)
    if args.json:
        print_json([_json(change) for change in changes])
        return 0
    if not changes:
        print("No change of a family file is waiting for a decision.")
    for change in changes:
        print(_line(change))
    return 0


@on_store
async def cmd_show(portal: Portal, args: argparse.Namespace) -> int:
    actor = await _staff(portal, args.as_email)
    try:
        change = await portal.family_file.change(actor, args.id)
    except NotFound:
        raise Refused(f"No change #{args.id}.") from None
    if args.json:
        print_json(_json(change))
        return 0
    print(f"Change #{change.id} of the file of {change.family_name}: {change.field}")
    if change.child_name:
        print(f"Child: {change.child_name}")
    if change.target_name:
        print(f"About: {change.target_name}")
    print(f"Asked by {change.requested_by or '-'} on {moment(change.requested_at)}")
    print(f"Change: {_what(change)}")
    print(f"Status: {change.status.value}")
    if change.decided_at is not None:
        print(f"Decided by {change.decided_by or 'the system'} on {moment(change.decided_at)}")
    if change.reason:
        print(f"Reason: {change.reason}")
    return 0


@on_store
async def cmd_decide(portal: Portal, args: argparse.Namespace) -> int:
    actor = await _staff(portal, args.as_email)
    try:
        decision = await portal.family_file.decide(actor, args.id, args.accept, args.reason)
    except NotFound:
        raise Refused(f"No change #{args.id}.") from None
    except AccessDenied:
        raise Refused("Only staff of the family-file service decide on file changes.") from None
    except FileMoved:
        raise Refused(
            f"Change #{args.id} was not applied: the file no longer holds the value it was "
            "asked against (it changed meanwhile). Refuse it, or let the family ask again."
        ) from None
    except InvalidChange as error:
        if error.code == "reason_required":
            raise Refused(
                f"Change #{args.id} was not refused: give the reason the family will read, "
                'with --reason "...".'
            ) from None
        if error.code == "email_taken":
            raise Refused(
                f"Change #{args.id} was not applied: the email is another account's already."
            ) from None
        raise Refused(f"Change #{args.id} was not applied: {error.code}.") from None
    change = decision.change
    if not decision.first:
        print(f"Change #{change.id} was decided already ({change.status.value}): nothing changed.")
        return 0
    print(f"Change #{change.id} {change.status.value}. The family is told.")
    return 0


def add_changes_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `portail staff changes ...`."""
    changes = commands.add_parser(
        "changes",
        help="changes of family files: list, show, accept, refuse",
        description="Changes of family files asked by parents, decided by the family-file "
        "service.",
    )
    verbs = changes.add_subparsers(dest="changes_command", required=True)
    listing = verbs.add_parser("list", help="changes waiting for a decision")
    listing.add_argument("--all", action="store_true", help="decided changes too")
    add_json_option(listing)
    listing.set_defaults(handler=cmd_list)
    show = verbs.add_parser("show", help="one change, old and new values")
    show.add_argument("id", type=int)
    show.add_argument("--as", dest="as_email", metavar="STAFF_EMAIL", help="who reads it")
    add_json_option(show)
    show.set_defaults(handler=cmd_show)
    for verb, accept in (("accept", True), ("refuse", False)):
        decide = verbs.add_parser(verb, help=f"{verb} a change (family-file service only)")
        decide.add_argument("id", type=int)
        decide.add_argument("--as", dest="as_email", metavar="STAFF_EMAIL", required=True)
        if not accept:
            decide.add_argument("--reason", required=True, help="why, in words the family reads")
        decide.set_defaults(handler=cmd_decide, accept=accept, reason=None)


def _listed(sight: GuardianSight) -> dict[str, Any]:
    """A guardian's sight as `--json` lists it (`changed` says nothing in a listing)."""
    listed: dict[str, Any] = plain(sight)
    del listed["changed"]
    return listed


def _sight_line(sight: GuardianSight) -> str:
    linked = "" if sight.linked else "  (not linked to Telegram)"
    return f"{sight.email}  {sight.name}  {sight.visibility.value}{linked}"


@on_store
async def cmd_visibility(portal: Portal, args: argparse.Namespace) -> int:
    """List what each guardian of a family sees, or set it for one of them (audited; the
    guardian is told in the chat)."""
    service = VisibilityService(portal.sessions, portal.clock)
    if args.json and args.email is not None:
        raise Refused(
            "--json lists what each guardian sees; setting it takes no --json: "
            "leave out the email, or --json."
        )
    if args.email is None:
        try:
            sights = await service.of_family(Actor.system(), args.family)
        except NotFound:
            raise Refused(f"No family has the code or number {args.family}.") from None
        if args.json:
            print_json([_listed(sight) for sight in sights])
            return 0
        for sight in sights:
            print(_sight_line(sight))
        return 0
    if args.value is None:
        raise Refused("Say what the guardian sees: full or limited.")
    if args.as_email is None:
        raise Refused("Say who sets it, with --as STAFF_EMAIL (the family-file service).")
    actor = await _staff(portal, args.as_email)
    try:
        sight = await service.set(actor, args.family, args.email, GuardianVisibility(args.value))
    except AccessDenied:
        raise Refused("Only staff of the family-file service set what a guardian sees.") from None
    except NotFound:
        raise Refused(
            f"No guardian {args.email} in the family with the code or number {args.family}."
        ) from None
    if not sight.changed:
        print(f"{sight.name} sees {sight.visibility.value} already: nothing changed.")
        return 0
    told = " They are told in the chat." if sight.linked else ""
    print(f"{sight.name} now sees {sight.visibility.value}.{told}")
    return 0


def add_file_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `portail staff file visibility ...`."""
    file = commands.add_parser(
        "file",
        help="family files: what each guardian sees",
        description="Family files, as the family-file service keeps them.",
    )
    verbs = file.add_subparsers(dest="file_command", required=True)
    visibility = verbs.add_parser(
        "visibility",
        help="what each guardian of a family sees: full, or limited (no health details)",
        description="Without an email, list what each guardian of the family sees. With an "
        "email and a value, set it: full (the whole file) or limited (no health details of the "
        "children: allergies, PAI, doctor, vaccinations, absences' medical reasons, "
        "certificates and health documents). Family-file service only; audited; the guardian "
        "is told in the chat.",
    )
    visibility.add_argument("family", metavar="FAMILY", help="file code or number")
    visibility.add_argument("email", metavar="GUARDIAN_EMAIL", nargs="?")
    visibility.add_argument(
        "value", nargs="?", choices=[value.value for value in GuardianVisibility]
    )
    visibility.add_argument("--as", dest="as_email", metavar="STAFF_EMAIL", help="who sets it")
    add_json_option(visibility)
    visibility.set_defaults(handler=cmd_visibility)
