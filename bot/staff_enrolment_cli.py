"""`portail staff enrolments|registrations ...`: the services decide enrolments and new children.

portail staff enrolments list [--all]             requests waiting (all of them with --all)
portail staff enrolments show REQUEST_ID          one request
portail staff enrolments accept REQUEST_ID [--as EMAIL]
                                                  the enrolment line is created: booking opens
portail staff enrolments refuse REQUEST_ID --reason TEXT [--as EMAIL]
portail staff registrations list [--all]          new children waiting (all with --all)
portail staff registrations show REGISTRATION_ID
portail staff registrations accept REGISTRATION_ID [--as EMAIL]   the child joins the family
portail staff registrations refuse REGISTRATION_ID --reason TEXT [--as EMAIL]

Only staff of the activity's service decide an enrolment, and only staff of the family-file
service a new child (`--as`; without it, the system decides); the first decision wins. The
family reads each decision on Telegram, in their language, with the reason of a refusal.
"""

from __future__ import annotations

import argparse

from bot.portal import Portal
from bot.staff_commands import Refused, add_decider, decider, moment, on_store
from bot.staff_json import add_json_option, print_json
from store.actors import AccessDenied, Actor, NotFound
from store.enrolments import (
    NOT_AT_SCHOOL,
    AlreadyDecided,
    DecisionRefused,
    EnrolmentView,
    RegistrationView,
)
from store.models.enums import RequestStatus

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DECISION_REFUSALS = {
    "no_place": "The activity has no enrolment place left: refuse it, or wait for a place.",
    "reason_required": 'A refusal needs a reason the family can read: --reason "...".',
}


def _state(status: RequestStatus, position: int | None) -> str:
    if status is RequestStatus.WAITLISTED and position is not None:
        return f"waitlisted #{position}"
    return status.value


def _enrolment_line(view: EnrolmentView) -> str:
    days = ",".join(WEEKDAYS[day] for day in view.weekdays) or "-"
    return (
        f"#{view.id}  {_state(view.status, view.position)}  {view.child_name} "
        f"({view.family_name})  {view.activity_name}  {view.school_year}  "
        f"from {view.starts_on}  {days}  asked {moment(view.requested_at)}"
    )


def _registration_line(view: RegistrationView) -> str:
    level = "not at school" if view.school_level == NOT_AT_SCHOOL else view.school_level
    return (
        f"#{view.id}  {view.status.value}  {view.first_name} {view.last_name} "
        f"({view.family_name})  born {view.birth_date}  {level}  "
        f"asked {moment(view.requested_at)}"
    )


def _decided(view: EnrolmentView | RegistrationView) -> list[str]:
    lines = []
    if view.decided_at is not None:
        lines.append(f"Decided: {moment(view.decided_at)}")
    if view.reason:
        lines.append(f"Reason: {view.reason}")
    return lines


@on_store
async def cmd_enrolments_list(portal: Portal, args: argparse.Namespace) -> int:
    views = await portal.enrolments.enrolments(Actor.system(), everything=args.all)
    if args.json:
        print_json(views)
        return 0
    if not views:
        print("No enrolment request is waiting for a decision.")
    for view in views:
        print(_enrolment_line(view))
    return 0


@on_store
async def cmd_enrolments_show(portal: Portal, args: argparse.Namespace) -> int:
    try:
        view = await portal.enrolments.enrolment(Actor.system(), args.id)
    except NotFound:
        raise Refused(f"No enrolment request #{args.id}.") from None
    if args.json:
        print_json(view)
        return 0
    print(_enrolment_line(view))
    for line in _decided(view):
        print(f"  {line}")
    return 0


@on_store
async def cmd_enrolments_decide(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    try:
        view = await portal.enrolments.decide_enrolment(
            actor, args.id, args.accept, args.reason or ""
        )
    except NotFound:
        raise Refused(f"No enrolment request #{args.id}.") from None
    except AccessDenied:
        raise Refused("Only staff of the activity's service decide this request.") from None
    except AlreadyDecided as decided:
        raise Refused(f"Request #{args.id} was {decided.status.value} already.") from None
    except DecisionRefused as refused:
        raise Refused(DECISION_REFUSALS[refused.code]) from None
    if view.status is RequestStatus.ACCEPTED:
        print(
            f"Request #{view.id} accepted: {view.child_name} is enrolled in "
            f"{view.activity_name} from {view.starts_on}; the family is told."
        )
    else:
        print(f"Request #{view.id} refused; the family is told, with the reason.")
    return 0


@on_store
async def cmd_registrations_list(portal: Portal, args: argparse.Namespace) -> int:
    views = await portal.enrolments.registrations(Actor.system(), everything=args.all)
    if args.json:
        print_json(views)
        return 0
    if not views:
        print("No new child is waiting for a decision.")
    for view in views:
        print(_registration_line(view))
    return 0


@on_store
async def cmd_registrations_show(portal: Portal, args: argparse.Namespace) -> int:
    try:
        view = await portal.enrolments.registration(Actor.system(), args.id)
    except NotFound:
        raise Refused(f"No registration #{args.id}.") from None
    if args.json:
        print_json(view)
        return 0
    print(_registration_line(view))
    for line in _decided(view):
        print(f"  {line}")
    return 0


@on_store
async def cmd_registrations_decide(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    try:
        view = await portal.enrolments.decide_registration(
            actor, args.id, args.accept, args.reason or ""
        )
    except NotFound:
        raise Refused(f"No registration #{args.id}.") from None
    except AccessDenied:
        raise Refused("Only staff of the family-file service decide a new child.") from None
    except AlreadyDecided as decided:
        raise Refused(f"Registration #{args.id} was {decided.status.value} already.") from None
    except DecisionRefused as refused:
        raise Refused(DECISION_REFUSALS[refused.code]) from None
    if view.status is RequestStatus.ACCEPTED:
        print(
            f"Registration #{view.id} accepted: {view.first_name} {view.last_name} joins "
            f"{view.family_name} (child #{view.child_id}); the family is told."
        )
    else:
        print(f"Registration #{view.id} refused; the family is told, with the reason.")
    return 0


def add_enrolment_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `enrolments` and `registrations` under `portail staff`."""
    for name, noun, handlers in (
        (
            "enrolments",
            "enrolment requests",
            (cmd_enrolments_list, cmd_enrolments_show, cmd_enrolments_decide),
        ),
        (
            "registrations",
            "new children (pre-registrations)",
            (cmd_registrations_list, cmd_registrations_show, cmd_registrations_decide),
        ),
    ):
        listing, showing, deciding = handlers
        group = commands.add_parser(name, help=f"{noun}: list, show, accept, refuse")
        verbs = group.add_subparsers(dest=f"{name}_command", required=True)
        list_parser = verbs.add_parser("list", help=f"{noun} waiting for a decision")
        list_parser.add_argument("--all", action="store_true", help="decided ones too")
        add_json_option(list_parser)
        list_parser.set_defaults(handler=listing)
        show_parser = verbs.add_parser("show", help="one of them")
        show_parser.add_argument("id", type=int)
        add_json_option(show_parser)
        show_parser.set_defaults(handler=showing)
        for verb, accept in (("accept", True), ("refuse", False)):
            decide = verbs.add_parser(verb, help=f"{verb} one (the family is told)")
            decide.add_argument("id", type=int)
            if not accept:
                decide.add_argument(
                    "--reason", required=True, help="why, in words the family reads"
                )
            add_decider(decide)
            decide.set_defaults(handler=deciding, accept=accept, reason="")
