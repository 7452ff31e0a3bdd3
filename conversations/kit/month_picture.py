"""The month of a family's children drawn as one PNG ("Mon planning"), with Pillow.

A row per child and activity (the child's name heads their rows), a column per day, each cell
filled with its state's colour and marked with its state's symbol, so that a reader who does
not tell the colours apart reads the symbols; weekends shaded, today framed, the legend of the
states drawn under the grid, then the next deadline of each row still to book. No IO: the
month comes from `store.month_view`, the words from the catalogs.

Sized for a phone: Telegram shows a photo at most 1280 px wide, so a month of 31 days fits in
`MAX_WIDTH`, and no text is smaller than `TEXT_SIZE` px (digits about 15 px tall).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from html import unescape

from babel.dates import format_date
from PIL import Image, ImageDraw, ImageFont

from conversations.kit.formatting import BABEL_LOCALES, month_title
from conversations.kit.texts import text
from store.deadlines import format_moment
from store.invoice_pdf import system_font
from store.month_view import CellState, FamilyMonth, MonthRow

RGB = tuple[int, int, int]

MAX_WIDTH = 1280
MARGIN = 16
LABEL_WIDTH = 250
CELL_WIDTH = 32
ROW_HEIGHT = 34
TEXT_SIZE = 20
TITLE_SIZE = 28
SWATCH = 28
LEGEND_COLUMNS = 2
LINE_GAP = 8

WHITE: RGB = (255, 255, 255)
INK: RGB = (33, 33, 33)
GRID: RGB = (200, 200, 200)
WEEKEND: RGB = (232, 232, 232)
TODAY: RGB = (21, 101, 192)
HEADING: RGB = (245, 245, 245)


@dataclass(frozen=True)
class CellStyle:
    """How a state is drawn: its fill, the colour of its symbol, and the symbol."""

    fill: RGB
    ink: RGB
    symbol: str


# Every state's look, in the legend's order: fills apart enough to tell, and a symbol each.
STYLES: dict[CellState, CellStyle] = {
    CellState.BOOKED: CellStyle((67, 160, 71), WHITE, "✓"),
    CellState.PRESENT: CellStyle((27, 94, 32), WHITE, "●"),
    CellState.PENDING: CellStyle((255, 202, 40), INK, "?"),
    CellState.WAITLISTED: CellStyle((171, 71, 188), WHITE, "≡"),
    CellState.LATE_CANCELLED: CellStyle((229, 57, 53), WHITE, "€"),
    CellState.ABSENT_EXCUSED: CellStyle((92, 107, 192), WHITE, "○"),
    CellState.ABSENT_BILLED: CellStyle((255, 112, 67), INK, "✗"),
    CellState.BOOKABLE: CellStyle((179, 229, 252), TODAY, "+"),
    CellState.FULL: CellStyle((255, 236, 179), INK, "!"),
    CellState.NOT_OPEN: CellStyle((176, 176, 176), INK, "–"),
    CellState.CLOSED: CellStyle((66, 66, 66), WHITE, "⊘"),
    CellState.PAST: CellStyle((250, 250, 250), (97, 97, 97), "·"),
}


@dataclass(frozen=True)
class Fonts:
    """The faces the picture uses."""

    text: ImageFont.FreeTypeFont | ImageFont.ImageFont
    bold: ImageFont.FreeTypeFont | ImageFont.ImageFont
    title: ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def fonts() -> Fonts:
    """A TrueType font found on the system (as the invoices'), else Pillow's own, scaled."""
    found = system_font()
    if found is None:
        return Fonts(
            ImageFont.load_default(TEXT_SIZE),
            ImageFont.load_default(TEXT_SIZE),
            ImageFont.load_default(TITLE_SIZE),
        )
    return Fonts(
        ImageFont.truetype(str(found.regular), TEXT_SIZE),
        ImageFont.truetype(str(found.bold), TEXT_SIZE),
        ImageFont.truetype(str(found.bold), TITLE_SIZE),
    )


@dataclass
class MonthPicture:
    """The PNG, its size, and where each cell was drawn: `cells[(row index, day)]` is its box
    (left, top, right, bottom), `legend[state]` its swatch's, for whoever reads it back."""

    png: bytes
    width: int
    height: int
    cells: dict[tuple[int, date], tuple[int, int, int, int]] = field(default_factory=dict)
    legend: dict[CellState, tuple[int, int, int, int]] = field(default_factory=dict)


def row_label(row: MonthRow) -> str:
    """ "Lucas · Restauration scolaire": a row as its button and its text name it."""
    return f"{row.child_name} · {row.activity_name}"


def draw_month(month: FamilyMonth, language: str) -> MonthPicture:
    """The month as a PNG, in `language`."""
    face = fonts()
    days = [month.first.replace(day=number) for number in range(1, month.last.day + 1)]
    grid_left = MARGIN + LABEL_WIDTH
    width = min(MAX_WIDTH, grid_left + CELL_WIDTH * len(days) + MARGIN)
    children = _by_child(month.rows)
    drawn = [state for state in STYLES if _drawn(month, state)]
    deadlines = _deadline_lines(month, language)
    title_height = TITLE_SIZE + 2 * LINE_GAP
    header_height = 2 * ROW_HEIGHT
    grid_height = ROW_HEIGHT * (len(children) + len(month.rows)) or ROW_HEIGHT
    legend_rows = -(-(len(drawn) + 1) // LEGEND_COLUMNS)
    legend_height = legend_rows * (SWATCH + LINE_GAP)
    deadlines_height = (len(deadlines) + 1) * (TEXT_SIZE + LINE_GAP) if deadlines else 0
    height = (
        MARGIN
        + title_height
        + header_height
        + grid_height
        + 2 * LINE_GAP
        + legend_height
        + deadlines_height
        + MARGIN
    )
    image = Image.new("RGB", (width, height), WHITE)
    pen = ImageDraw.Draw(image)
    picture = MonthPicture(b"", width, height)

    title = _plain("planning.picture_title", language, month=month_title(month.first, language))
    pen.text((MARGIN, MARGIN), title, font=face.title, fill=INK)
    top = MARGIN + title_height

    def column(day: date) -> tuple[int, int]:
        left = grid_left + CELL_WIDTH * (day.day - 1)
        return left, left + CELL_WIDTH

    # Header: the weekday's initial above the day's number; weekends shaded down the column.
    grid_top = top + header_height
    grid_bottom = grid_top + grid_height
    for day in days:
        left, right = column(day)
        if day.weekday() >= 5:
            pen.rectangle((left, top, right, grid_bottom), fill=WEEKEND)
        letter = _weekday_letter(day, language)
        pen.text(
            ((left + right) / 2, top + ROW_HEIGHT / 2),
            letter,
            font=face.text,
            fill=INK,
            anchor="mm",
        )
        pen.text(
            ((left + right) / 2, top + ROW_HEIGHT * 3 / 2),
            str(day.day),
            font=face.bold if day == month.today else face.text,
            fill=TODAY if day == month.today else INK,
            anchor="mm",
        )
    y = grid_top
    index = 0
    if not month.rows:
        pen.text((MARGIN, y + 6), _plain("planning.no_rows", language), font=face.text, fill=INK)
    for child_name, rows in children:
        pen.rectangle((MARGIN, y, grid_left - 1, y + ROW_HEIGHT), fill=HEADING)
        pen.text(
            (MARGIN + 6, y + ROW_HEIGHT / 2), child_name, font=face.bold, fill=INK, anchor="lm"
        )
        y += ROW_HEIGHT
        for row in rows:
            label = _fit(pen, row.activity_name, face.text, LABEL_WIDTH - 24)
            pen.text(
                (MARGIN + 18, y + ROW_HEIGHT / 2), label, font=face.text, fill=INK, anchor="lm"
            )
            for day in days:
                left, right = column(day)
                box = (left + 1, y + 1, right - 1, y + ROW_HEIGHT - 1)
                cell = row.cells.get(day)
                if cell is None:
                    continue
                style = STYLES[cell.state]
                pen.rectangle(box, fill=style.fill)
                pen.text(
                    ((left + right) / 2, y + ROW_HEIGHT / 2),
                    style.symbol,
                    font=face.text,
                    fill=style.ink,
                    anchor="mm",
                )
                picture.cells[(index, day)] = box
            pen.line((MARGIN, y + ROW_HEIGHT, width - MARGIN, y + ROW_HEIGHT), fill=GRID)
            y += ROW_HEIGHT
            index += 1
    for day in days:
        left, _right = column(day)
        pen.line((left, top, left, grid_bottom), fill=GRID)
    pen.line(
        (grid_left + CELL_WIDTH * len(days), top, grid_left + CELL_WIDTH * len(days), grid_bottom),
        fill=GRID,
    )
    if month.first <= month.today <= month.last:
        left, right = column(month.today)
        pen.rectangle((left - 1, top, right + 1, grid_bottom), outline=TODAY, width=3)

    y = grid_bottom + 2 * LINE_GAP
    column_width = (width - 2 * MARGIN) // LEGEND_COLUMNS
    entries: list[tuple[CellState | None, str]] = [
        (state, _plain(f"planning.state.{state.value}", language)) for state in drawn
    ]
    entries.append((None, _plain("planning.today", language)))
    for position, (state, words) in enumerate(entries):
        left = MARGIN + (position % LEGEND_COLUMNS) * column_width
        top_of = y + (position // LEGEND_COLUMNS) * (SWATCH + LINE_GAP)
        swatch = (left, top_of, left + SWATCH, top_of + SWATCH)
        if state is None:
            pen.rectangle(swatch, outline=TODAY, width=3)
        else:
            look = STYLES[state]
            pen.rectangle(swatch, fill=look.fill, outline=GRID)
            picture.legend[state] = swatch
            pen.text(
                (left + SWATCH / 2, top_of + SWATCH / 2),
                look.symbol,
                font=face.text,
                fill=look.ink,
                anchor="mm",
            )
        label = _fit(pen, words, face.text, column_width - SWATCH - 20)
        pen.text(
            (left + SWATCH + 10, top_of + SWATCH / 2), label, font=face.text, fill=INK, anchor="lm"
        )
    y += legend_height
    if deadlines:
        pen.text((MARGIN, y), _plain("planning.deadlines", language), font=face.bold, fill=INK)
        for line in deadlines:
            y += TEXT_SIZE + LINE_GAP
            pen.text(
                (MARGIN, y),
                _fit(pen, line, face.text, width - 2 * MARGIN),
                font=face.text,
                fill=INK,
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    picture.png = out.getvalue()
    return picture


def _deadline_lines(month: FamilyMonth, language: str) -> list[str]:
    lines = []
    for row in month.rows:
        cell = next(
            (
                row.cells[day]
                for day in sorted(row.cells)
                if row.cells[day].state in (CellState.BOOKABLE, CellState.FULL)
                and row.cells[day].deadline is not None
            ),
            None,
        )
        if cell is None or cell.deadline is None:
            continue
        lines.append(
            _plain(
                "planning.deadline_line",
                language,
                row=row_label(row),
                moment=format_moment(cell.deadline, language),
            )
        )
    return lines


def _plain(key: str, language: str, **values: object) -> str:
    """A catalog text as the picture prints it: plain, not HTML."""
    return unescape(text(key, language, **values))


def _drawn(month: FamilyMonth, state: CellState) -> bool:
    return any(cell.state is state for row in month.rows for cell in row.cells.values())


def _by_child(rows: list[MonthRow]) -> list[tuple[str, list[MonthRow]]]:
    grouped: dict[int, tuple[str, list[MonthRow]]] = {}
    for row in rows:
        grouped.setdefault(row.child_id, (row.child_name, []))[1].append(row)
    return list(grouped.values())


def _weekday_letter(day: date, language: str) -> str:
    return format_date(day, "EEEEE", locale=BABEL_LOCALES.get(language, "fr_FR")).upper()


def _fit(
    pen: ImageDraw.ImageDraw,
    words: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    room: int,
) -> str:
    """`words`, cut with an ellipsis to fit `room` px."""
    if pen.textlength(words, font=font) <= room:
        return words
    while words and pen.textlength(words + "…", font=font) > room:
        words = words[:-1]
    return words.rstrip() + "…"
