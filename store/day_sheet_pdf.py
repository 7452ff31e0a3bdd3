"""The day's sheet as a PDF staff print and tick: the activity, its facility and the day at the
top, then a table of the children expected (name, class, health flags for staff allowed to read
them, the absence the family announced, pick-up persons) with an empty "present" box per child.

Built on the billing office's page and fonts (`store.invoice_pdf`): accents print whatever font
is found, and the text can be extracted. The words come from the caller, in the reader's
language (`LABELS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fpdf import FontFace
from fpdf.enums import Align, TableBordersLayout

from store.attendance import DaySheet, SheetEntry
from store.deadlines import format_day
from store.invoice_pdf import HEADINGS, PdfDocument, UnicodeFont, facts_block
from store.models.enums import AbsenceStatus

LABELS = (
    "title",
    "facility",
    "activity",
    "date",
    "expected",
    "child",
    "level",
    "health",
    "absence",
    "pickups",
    "present",
    "pending",
    "allergies",
    "pai",
    "diet",
    "absence_reported",
    "absence_excused",
    "absence_refused",
    "health_hidden",
    "nobody",
    "footer",
)
"""The words `render_day_sheet` needs, in the reader's language."""

# Column widths (mm) of an A4 page less its margins (174 mm), with and without health flags.
WITH_HEALTH = {"child": 38, "level": 16, "health": 42, "absence": 22, "pickups": 40, "present": 16}
WITHOUT_HEALTH = {"child": 48, "level": 18, "absence": 28, "pickups": 64, "present": 16}
ABSENT_ROW = FontFace(fill_color=(245, 245, 245))


def health_flags(entry: SheetEntry, labels: Mapping[str, str], details: bool = True) -> str:
    """ "Allergies : arachide · PAI · Régime : sans porc", or "" when none (or not shown);
    without `details`, the flags alone: "Allergies · PAI · Régime"."""
    flags = []
    if entry.allergies:
        flags.append(
            f"{labels['allergies']} : {entry.allergies}" if details else labels["allergies"]
        )
    if entry.pai:
        flags.append(labels["pai"])
    if entry.diet:
        flags.append(f"{labels['diet']} : {entry.diet}" if details else labels["diet"])
    return " · ".join(flags)


def absence_word(status: AbsenceStatus | None, labels: Mapping[str, str]) -> str:
    if status is None:
        return ""
    return labels[f"absence_{status.value}"]


def render_day_sheet(
    sheet: DaySheet,
    *,
    labels: Mapping[str, str],
    language: str,
    font: UnicodeFont | None,
    created_at: datetime | None = None,
    health_details: bool = True,
) -> bytes:
    """The sheet as PDF bytes, worded with `labels` (every key of `LABELS`) in `language`;
    without `health_details`, health shows as flags only (a sheet mailed to a service)."""
    day = format_day(sheet.day, language)
    title = f"{labels['title']} — {sheet.activity_name}"
    pdf = PdfDocument(font, f"{labels['footer']} — {sheet.activity_name}, {day}")
    pdf.set_title(pdf.clean(title))
    pdf.set_creator("Portail Famille")
    pdf.set_lang(language)
    if created_at is not None:
        pdf.set_creation_date(created_at)
    pdf.add_page()
    pdf.line_of(title, 16, bold=True, height=8)
    pdf.ln(2)
    facts_block(
        pdf,
        (
            (labels["activity"], f"{sheet.activity_name} ({sheet.activity_code})"),
            (labels["facility"], sheet.facility_name),
            (labels["date"], f"{day} {sheet.day.year}"),
            (labels["expected"], str(len(sheet.entries))),
        ),
    )
    if not sheet.health_shown:
        pdf.line_of(labels["health_hidden"], 9, height=5)
        pdf.ln(2)
    if not sheet.entries:
        pdf.line_of(labels["nobody"], 11)
        return bytes(pdf.output())
    columns = WITH_HEALTH if sheet.health_shown else WITHOUT_HEALTH
    pdf.use(9)
    with pdf.table(
        col_widths=tuple(columns.values()),
        width=sum(columns.values()),
        align=Align.L,
        text_align=tuple(Align.C if key == "present" else Align.L for key in columns),
        headings_style=HEADINGS,
        borders_layout=TableBordersLayout.ALL,
        line_height=6,
    ) as table:
        heading = table.row()
        for key in columns:
            heading.cell(pdf.clean(labels[key]))
        for entry in sheet.entries:
            name = entry.child_name + (f" ({labels['pending']})" if entry.pending else "")
            cells = {
                "child": name,
                "level": entry.school_level,
                "health": health_flags(entry, labels, health_details),
                "absence": absence_word(entry.absence, labels),
                "pickups": " ; ".join(
                    f"{p.name}{f' ({p.relationship})' if p.relationship else ''} {p.phone}"
                    for p in entry.pickups
                ),
                "present": "",
            }
            row = table.row(style=ABSENT_ROW if entry.absence is not None else None)
            for key in columns:
                row.cell(pdf.clean(cells[key]))
    return bytes(pdf.output())
