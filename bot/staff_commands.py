"""What every `portail staff` command stands on: the portal opened for one command, refusals
printed on stderr with status 2, who decides (`--as`), and how moments are printed."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.portal import Portal
from bot.settings import Settings
from store.actors import Actor, NotFound
from store.deadlines import PARIS

ERROR_STATUS = 2


class Refused(Exception):
    """A command that cannot be done, with the sentence that says why."""


def run_on_portal(settings: Settings, work: Callable[[Portal], Awaitable[int]]) -> int:
    """Run `work` on the portal's services; a refusal is printed on stderr with status 2."""

    async def on_portal() -> int:
        portal = Portal.from_settings(settings)
        try:
            return await work(portal)
        finally:
            await portal.close()

    try:
        return asyncio.run(on_portal())
    except Refused as refused:
        print(refused, file=sys.stderr)
        return ERROR_STATUS


StaffWork = Callable[[Portal, argparse.Namespace], Awaitable[int]]
"""A staff command's work on the portal's services, with the command line's arguments."""


def on_store(work: StaffWork) -> Callable[[Settings, argparse.Namespace], int]:
    """A staff command as the command line calls it: `work` run on the store (`run_on_portal`)."""

    @functools.wraps(work)
    def command(settings: Settings, args: argparse.Namespace) -> int:
        return run_on_portal(settings, lambda portal: work(portal, args))

    return command


def moment(at: datetime) -> str:
    """A moment as staff read it: "2026-11-24 09:00", Paris time."""
    return f"{at.astimezone(PARIS):%Y-%m-%d %H:%M}"


async def decider(portal: Portal, email: str | None) -> Actor:
    """The staff member named by `--as`, or the system when no one is named."""
    if email is None:
        return Actor.system()
    try:
        return (await portal.staff.by_email(email)).actor
    except NotFound:
        raise Refused(f"No staff member has the email {email}.") from None


def add_decider(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as", dest="as_email", metavar="STAFF_EMAIL", help="who decides (default: system)"
    )
