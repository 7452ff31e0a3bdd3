"""`portail staff daily-list`: the day's lists sent to the services now, or previewed.

portail staff daily-list [ACTIVITY] [--date YYYY-MM-DD] [--dry-run] [--as EMAIL]
    Queue the lists of the day (today by default, Europe/Paris) into the outbox: the
    activity's, or every activity's with children expected that day (a staff member named
    with --as: their service's). A list goes once: asked again, it says when it went. The
    running bot's outbox delivery sends them; their follow-ups come on their day.
    --dry-run prints what each list would say (no health flag) and queues nothing.
    --json prints the same as one JSON document: with --dry-run, each list's subject, lines
    and sheet (children, classes, absences announced, pick-up persons; no health flag);
    without, what was queued for each activity.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date

from bot.daily_list_loop import daily_lists
from bot.portal import Portal
from bot.staff_commands import Refused, add_decider, decider, moment, on_store
from bot.staff_json import add_json_option, print_json
from mail.daily_list_mail import subject, summary_lines
from store.actors import AccessDenied, NotFound
from store.daily_lists import Outcome


@on_store
async def cmd_daily_list(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    service = daily_lists(portal)
    day = args.day or service.today()
    try:
        if args.dry_run:
            previews = await service.preview(actor, args.activity_code, day)
            if args.json:
                print_json(
                    [
                        {
                            "subject": subject(preview.sheet),
                            "lines": summary_lines(preview.sheet),
                            "queued_at": preview.queued_at,
                            "sheet": preview.sheet,
                        }
                        for preview in previews
                    ]
                )
                return 0
            if not previews:
                print(f"No child expected on {day:%Y-%m-%d}: no list to send.")
            for preview in previews:
                went = (
                    f" (already sent, queued {moment(preview.queued_at)})"
                    if preview.queued_at is not None
                    else ""
                )
                print(f"{subject(preview.sheet)}{went}")
                for line in summary_lines(preview.sheet):
                    print(f"  {line}")
            return 0
        queued = await service.queue(actor, args.activity_code, day)
    except NotFound:
        raise Refused(f"No activity has the code {args.activity_code}.") from None
    except AccessDenied:
        raise Refused(
            f"{args.as_email} is not of the service of {args.activity_code}: nothing was sent."
        ) from None
    if args.json:
        print_json(queued)
        return 0
    if not queued:
        print(f"No child expected on {day:%Y-%m-%d}: no list to send.")
    for item in queued:
        where = f"{item.activity_name} ({item.activity_code}), {item.day:%Y-%m-%d}"
        if item.outcome is Outcome.QUEUED:
            print(f"{where}: list of {item.expected} child(ren) queued for the service.")
        elif item.outcome is Outcome.ALREADY:
            assert item.queued_at is not None
            print(f"{where}: already sent (queued {moment(item.queued_at)}); not sent again.")
        else:
            print(f"{where}: no child expected; nothing sent.")
    return 0


def add_daily_list_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    iso_date: Callable[[str], date],
) -> None:
    """Register `portail staff daily-list`."""
    daily = commands.add_parser(
        "daily-list",
        help="send the day's lists to the services now (or preview them)",
        description="Queue the day's lists (PDF and CSV) to the services of the activities "
        "with children expected, once per activity and day; --dry-run only prints them.",
    )
    daily.add_argument("activity_code", nargs="?", help="one activity (default: every one)")
    daily.add_argument("--date", dest="day", type=iso_date, help="YYYY-MM-DD (default: today)")
    daily.add_argument("--dry-run", action="store_true", help="print, send nothing")
    add_decider(daily)
    add_json_option(daily)
    daily.set_defaults(handler=cmd_daily_list)
