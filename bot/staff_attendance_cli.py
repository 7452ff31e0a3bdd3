"""`portail staff attendance` and `portail staff day ... --pdf`: the day's attendance marked, and
the day's sheet printed.

portail staff attendance ACTIVITY YYYY-MM-DD (--absent CHILD [CHILD ...] | --all-present)
                         [--as EMAIL]
    CHILD is a child's id or "Firstname Lastname" (a name two children share is refused: give
    the id). Every other confirmed booking of the day is marked present; an absence the family
    reported stays absent (announced); a child absent with nothing reported is billed per the
    activity's rule and the family is told. Marking again corrects, and tells only what changed.
portail staff day ACTIVITY YYYY-MM-DD --pdf FILE [--as EMAIL] [--language fr|en]
    The day's sheet to print: children, class, absences announced, pick-up persons, a box to
    tick; allergies, PAI and diet only for staff of the activity's service or of the
    family-file service, named with --as.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bot.portal import Portal
from bot.staff_commands import Refused, add_decider, decider, on_store
from conversations.kit.texts import text
from store.actors import AccessDenied, NotFound
from store.attendance import (
    AttendanceRefused,
    AttendanceService,
    DayAttendance,
    Mark,
    Problem,
)
from store.day_sheet_pdf import LABELS, render_day_sheet
from store.deadlines import format_amount
from store.invoice_pdf import unicode_font

MARK_WORDS = {
    Mark.PRESENT: "present",
    Mark.ABSENT_ANNOUNCED: "absent, announced",
    Mark.ABSENT_UNANNOUNCED: "absent, unannounced",
}


def _service(portal: Portal) -> AttendanceService:
    return AttendanceService(portal.sessions, portal.clock)


def _euros(cents: int) -> str:
    return format_amount(cents, "fr").replace("\u00a0", " ").replace("\u202f", " ")


def _refusal(error: AttendanceRefused, args: argparse.Namespace) -> str:
    where = f"{args.activity_code} on {args.day:%Y-%m-%d}"
    names = ", ".join(error.children)
    if error.problem is Problem.FUTURE_DAY:
        return f"{args.day:%Y-%m-%d} is still to come: attendance is marked on the day or after."
    if error.problem is Problem.NOT_BOOKED:
        return f"Not booked on {where}: {names}. Nothing was marked."
    if error.problem is Problem.NOT_CONFIRMED:
        return (
            f"The booking on {where} is not confirmed (pending or waitlisted): {names}. "
            "Nothing was marked."
        )
    if error.problem is Problem.AMBIGUOUS:
        ids = ", ".join(f"#{child_id}" for child_id in error.candidates)
        return f"Several children are named {names} ({ids}): give the child's id."
    return f'No child is {names}: give the child\'s id or "Firstname Lastname".'


def summary(result: DayAttendance) -> list[str]:
    """The lines `portail staff attendance` prints: the counts, then a line per child."""
    announced = result.count(Mark.ABSENT_ANNOUNCED)
    excused = sum(1 for c in result.children if c.mark is Mark.ABSENT_ANNOUNCED and c.excused)
    lines = [
        f"{result.activity_name} ({result.activity_code}), {result.day:%Y-%m-%d}: "
        f"present {result.count(Mark.PRESENT)}, "
        f"absent announced {announced} ({excused} excused), "
        f"absent unannounced {result.count(Mark.ABSENT_UNANNOUNCED)} "
        f"billed {_euros(result.unannounced_billed_cents)}."
    ]
    if not result.children:
        lines.append("  no confirmed booking that day.")
    for child in result.children:
        word = MARK_WORDS[child.mark]
        if child.mark is Mark.ABSENT_ANNOUNCED:
            word += ", excused" if child.excused else f", billed {_euros(child.billed_cents)}"
        elif child.mark is Mark.ABSENT_UNANNOUNCED:
            word += f", billed {_euros(child.billed_cents)}"
            if child.surcharge_cents:
                word += f" (surcharge {_euros(child.surcharge_cents)})"
        changed = ""
        if child.changed:
            changed = f"  (was {MARK_WORDS[child.previous]})" if child.previous else "  (new)"
        lines.append(f"  #{child.child_id:<5} {child.child_name:<28} {word}{changed}")
    if not result.changed:
        lines.append("Nothing changed: the day was already marked so.")
        return lines
    told = sum(1 for c in result.children if c.changed and c.mark is Mark.ABSENT_UNANNOUNCED)
    corrected = sum(
        1 for c in result.children if c.changed and c.previous is Mark.ABSENT_UNANNOUNCED
    )
    lines.append(
        f"{result.changed} change(s) recorded; families told: {told} absence(s) not "
        f"announced, {corrected} correction(s)."
    )
    return lines


@on_store
async def cmd_attendance(portal: Portal, args: argparse.Namespace) -> int:
    actor = await decider(portal, args.as_email)
    service = _service(portal)
    try:
        absent = (
            []
            if args.all_present
            else await service.resolve_children(actor, args.activity_code, args.day, args.absent)
        )
        result = await service.record_day(actor, args.activity_code, args.day, absent)
    except NotFound:
        raise Refused(f"No activity has the code {args.activity_code}.") from None
    except AccessDenied:
        raise Refused(
            f"{args.as_email} is not of the service of {args.activity_code}: nothing was marked."
        ) from None
    except AttendanceRefused as error:
        raise Refused(_refusal(error, args)) from None
    for line in summary(result):
        print(line)
    return 0


async def day_pdf(portal: Portal, args: argparse.Namespace) -> int:
    """`portail staff day ACTIVITY DAY --pdf FILE`: the day's sheet written to FILE."""
    actor = await decider(portal, args.as_email)
    try:
        sheet = await _service(portal).day_sheet(actor, args.activity_code, args.day)
    except NotFound:
        raise Refused(f"No activity has the code {args.activity_code}.") from None
    language = args.language
    # The font's subsetting speaks at INFO: not on a staff member's terminal.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    labels = {key: text(f"attendance.pdf.{key}", language) for key in LABELS}
    document = render_day_sheet(
        sheet,
        labels=labels,
        language=language,
        font=unicode_font(portal.settings.invoice_font_path),
        created_at=portal.clock(),
    )
    path = Path(args.pdf)
    try:
        await asyncio.to_thread(path.write_bytes, document)
    except OSError as error:
        raise Refused(f"Cannot write {path}: {error.strerror}.") from None
    health = "shown" if sheet.health_shown else "not shown (name who reads with --as)"
    print(
        f"Day list of {sheet.activity_name} ({sheet.activity_code}), {sheet.day:%Y-%m-%d}: "
        f"{len(sheet.entries)} child(ren), written to {path}; health flags {health}."
    )
    return 0


def add_day_pdf_options(day: argparse.ArgumentParser) -> None:
    """`--pdf FILE`, `--as EMAIL` and `--language` on `portail staff day`."""
    day.add_argument("--pdf", metavar="FILE", help="write the day's sheet to print as a PDF")
    day.add_argument(
        "--language", choices=("fr", "en"), default="fr", help="the sheet's language (fr)"
    )
    add_decider(day)


def add_attendance_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    iso_date: Callable[[str], date],
) -> None:
    """Register `portail staff attendance`."""
    attendance = commands.add_parser(
        "attendance",
        help="mark who was there on a day: the children absent, or all present",
        description="Mark a day's attendance: the children named absent, every other "
        "confirmed booking present. An absence the family did not report is billed per the "
        "activity's rule, and the family is told.",
    )
    attendance.add_argument("activity_code")
    attendance.add_argument("day", type=iso_date, help="YYYY-MM-DD")
    marks = attendance.add_mutually_exclusive_group(required=True)
    marks.add_argument(
        "--absent",
        nargs="+",
        metavar="CHILD",
        help='the children absent: ids or "Firstname Lastname"',
    )
    marks.add_argument("--all-present", action="store_true", help="every child booked was there")
    add_decider(attendance)
    attendance.set_defaults(handler=cmd_attendance)
