"""The daily list's email to an activity's service (kind `daily_list`, queued by
`store.daily_lists`) and its follow-ups (kind `daily_list_update`).

The list: subject "Liste du jour — <activité> — <jour>", a short text (children expected,
absences announced, bookings pending, children per class) and two files: the day's sheet to
print (`store.day_sheet_pdf`) and a CSV for Excel (UTF-8 with a byte-order mark, `;` between
fields, as French Excel reads it). Health shows as flags only, in both: "Allergies", "PAI",
"Régime" — never what the allergy is. A follow-up: one line per change, "Lucas M. absent(e)
(absence signalée 09:12)", threaded under the list. Neither is sent once its day is over.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from conversations.kit.formatting import long_day
from conversations.kit.texts import text
from mail.staff_mail import (
    LANGUAGE,
    MailFile,
    NotNeeded,
    StaffMail,
    _join,
    message_id,
    words,
    writes,
)
from store.attendance import DaySheet, SheetEntry
from store.daily_lists import (
    DAILY_LIST_MAIL,
    DAILY_LIST_UPDATE_MAIL,
    ChangeLine,
    DailyListService,
    Flags,
    ListUpdate,
)
from store.day_sheet_pdf import LABELS, absence_word, render_day_sheet
from store.deadlines import PARIS
from store.invoice_pdf import unicode_font

if TYPE_CHECKING:
    from bot.portal import Portal

# The order classes are counted in (others after, by name).
LEVELS = ("TPS", "PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2")
CSV_COLUMNS = (
    "child",
    "level",
    "school",
    "allergy",
    "pai",
    "diet",
    "absence",
    "booking",
    "pickups",
)


def pdf_labels(language: str = LANGUAGE) -> dict[str, str]:
    return {key: text(f"attendance.pdf.{key}", language) for key in LABELS}


def file_stem(sheet: DaySheet) -> str:
    """ "liste-du-jour-act-2026-12-09"."""
    return f"{words('dailylist.file')}-{sheet.activity_code}-{sheet.day.isoformat()}"


def subject(sheet: DaySheet) -> str:
    return words(
        "dailylist.subject", activity=sheet.activity_name, day=long_day(sheet.day, LANGUAGE)
    )


def groups(entries: Iterable[SheetEntry]) -> str:
    """ "CP 5, CE1 7"."""
    counts = Counter(entry.school_level for entry in entries)

    def rank(level: str) -> tuple[int, str]:
        return (LEVELS.index(level) if level in LEVELS else len(LEVELS), level)

    return ", ".join(f"{level} {counts[level]}" for level in sorted(counts, key=rank))


def _has_flags(entry: SheetEntry) -> bool:
    return bool(entry.allergies or entry.pai or entry.diet)


def summary_lines(sheet: DaySheet) -> list[str]:
    """What the list's text says: the day, how many children, absences, pending, classes."""
    lines = [
        words(
            "dailylist.intro",
            activity=sheet.activity_name,
            facility=sheet.facility_name,
            day=long_day(sheet.day, LANGUAGE),
        ),
        words("dailylist.expected", count=len(sheet.entries)),
    ]
    absent = sum(1 for entry in sheet.entries if entry.absence is not None)
    if absent:
        lines.append(words("dailylist.absent", count=absent))
    pending = sum(1 for entry in sheet.entries if entry.pending)
    if pending:
        lines.append(words("dailylist.pending", count=pending))
    if sheet.entries:
        lines.append(words("dailylist.groups", groups=groups(sheet.entries)))
    flagged = sum(1 for entry in sheet.entries if _has_flags(entry))
    if flagged:
        lines.append(words("dailylist.health", count=flagged))
    return lines


def csv_bytes(sheet: DaySheet) -> bytes:
    """The list as a CSV French Excel opens: UTF-8 with a BOM, `;` between fields; health
    as "oui" flags only."""
    labels = pdf_labels()
    yes = words("dailylist.csv.yes")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([words(f"dailylist.csv.{column}") for column in CSV_COLUMNS])
    for entry in sheet.entries:
        writer.writerow(
            [
                entry.child_name,
                entry.school_level,
                entry.school or "",
                yes if entry.allergies else "",
                yes if entry.pai else "",
                yes if entry.diet else "",
                absence_word(entry.absence, labels),
                labels["pending"] if entry.pending else "",
                " | ".join(
                    f"{p.name}{f' ({p.relationship})' if p.relationship else ''} {p.phone}"
                    for p in entry.pickups
                ),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _day_over(portal: Portal, day: date) -> bool:
    return day < portal.clock().astimezone(PARIS).date()


@writes(DAILY_LIST_MAIL)
async def daily_list(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """The day's list for the activity's service, with its PDF and CSV."""
    service = DailyListService(portal.sessions, portal.clock)
    mailed = await service.mailed_list(int(payload["daily_list_id"]))
    if mailed is None:
        return NotNeeded("the list no longer exists")
    sheet = mailed.sheet
    if _day_over(portal, sheet.day):
        return NotNeeded("its day is over")
    pdf = await asyncio.to_thread(
        render_day_sheet,
        sheet,
        labels=pdf_labels(),
        language=LANGUAGE,
        font=unicode_font(portal.settings.invoice_font_path),
        created_at=portal.clock(),
        health_details=False,
    )
    stem = file_stem(sheet)
    files = (
        MailFile(f"{stem}.pdf", "application/pdf", pdf),
        MailFile(f"{stem}.csv", "text/csv", csv_bytes(sheet)),
    )
    body = _join(
        summary_lines(sheet),
        [
            words("dailylist.attached"),
            words("dailylist.updates_follow"),
            words("dailylist.no_reply"),
        ],
    )
    return StaffMail(
        subject(sheet),
        body,
        message_id(portal, f"daily-list-{mailed.list_id}"),
        files=files,
    )


def flags_words(flags: Flags) -> str:
    labels = pdf_labels()
    names = [
        labels[key]
        for key, shown in (
            ("allergies", flags.allergies),
            ("pai", flags.pai),
            ("diet", flags.diet),
        )
        if shown
    ]
    return " · ".join(names)


def change_line(change: ChangeLine) -> str:
    """ "• Lucas M. absent(e) (absence signalée 09:12)"."""
    moment = f"{change.at.astimezone(PARIS):%H:%M}" if change.at is not None else ""
    line = words(f"dailylist.change.{change.kind.value}", child=change.child_name, time=moment)
    if change.flags:
        line += words("dailylist.change.flags", flags=flags_words(change.flags))
    return f"• {line}"


def update_lines(update: ListUpdate) -> list[str]:
    intro = "dailylist.update.intro" if update.round == 1 else "dailylist.update.intro_again"
    return [
        words(intro, activity=update.activity_name, day=long_day(update.day, LANGUAGE)),
        *(change_line(change) for change in update.changes),
    ]


@writes(DAILY_LIST_UPDATE_MAIL)
async def daily_list_update(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A short follow-up: what changed in the day since the list (or the last follow-up)."""
    service = DailyListService(portal.sessions, portal.clock)
    list_id, round_ = int(payload["daily_list_id"]), int(payload["round"])
    update = await service.list_update(list_id, round_, payload.get("changes", []))
    if update is None:
        return NotNeeded("the list no longer exists")
    if _day_over(portal, update.day):
        return NotNeeded("its day is over")
    if not update.changes:
        return NotNeeded("the children it named are no longer on file")
    root = message_id(portal, f"daily-list-{list_id}")
    return StaffMail(
        words(
            "dailylist.update.subject",
            activity=update.activity_name,
            day=long_day(update.day, LANGUAGE),
        ),
        _join(update_lines(update), [words("dailylist.no_reply")]),
        message_id(portal, f"daily-list-{list_id}.update-{round_}"),
        in_reply_to=root,
        references=(root,),
    )
