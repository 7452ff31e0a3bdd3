"""Helpers for tests where staff decide from the command line while the bot runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io

from bot.settings import Settings
from bot.staff_cli import add_staff_command


def staff_command(settings: Settings, *argv: str) -> tuple[int, str, str]:
    """Run `portail staff ARGV...` as a staff member would: its status, stdout and stderr
    (a command line argparse refuses gives its usage error and status 2)."""
    parser = argparse.ArgumentParser(prog="portail")
    add_staff_command(parser.add_subparsers(dest="command", required=True))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(["staff", *argv])
            status = args.handler(settings, args)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


async def staff_command_aside(settings: Settings, *argv: str) -> tuple[int, str, str]:
    """`staff_command` from an async test: in a thread, with its own event loop (as the
    command runs in its own process), while the bot goes on on the test's loop."""
    return await asyncio.to_thread(staff_command, settings, *argv)
