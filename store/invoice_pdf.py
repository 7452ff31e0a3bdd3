"""An invoice as a PDF document: the billing office's header, the family, the lines, the totals.

Rendered with fpdf2 (pure Python, no system library). Accents and the euro sign need care:

- when a Unicode TrueType font is found (`INVOICE_FONT_PATH`, else DejaVu Sans, Liberation Sans,
  Noto Sans, FreeSans or Arial in the usual font folders), it is embedded (subset) and any text
  prints as it is;
- without one, the PDF standard font Helvetica is used with the WinAnsi (cp1252) encoding, which
  every PDF reader has: it holds every French letter (é è ê à ç ô œ Œ Ÿ...), "€", « », ’ and the
  dashes. The rare characters outside it print as their base letter ("ă" → "a") or "?".

Either way the text can be selected and extracted (a ToUnicode map, or WinAnsi), as the tests do.
The words printed come from the caller, in the reader's language (see `LABELS`).
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableBordersLayout, XPos, YPos

from store.billing import InvoiceDetail
from store.deadlines import BABEL_LOCALES, format_amount

logger = logging.getLogger(__name__)

LABELS = (
    "title",
    "family",
    "period",
    "issued_on",
    "due_on",
    "status",
    "designation",
    "quantity",
    "unit_price",
    "amount",
    "total",
    "paid",
    "due",
    "footer",
)
"""The words `render_invoice` needs, in the reader's language."""


FONT_FILES: tuple[tuple[str, str], ...] = (
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    ("FreeSans.ttf", "FreeSansBold.ttf"),
    ("Arial.ttf", "Arial Bold.ttf"),
    ("arial.ttf", "arialbd.ttf"),
)
"""Unicode fonts with French letters and "€", regular and bold, in order of preference."""

FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts/Supplemental"),
    Path("C:/Windows/Fonts"),
)

CORE_FONT = "Helvetica"
CORE_ENCODING = "windows-1252"
FAMILY = "invoice"
MARGIN_MM = 18
COLUMNS_MM = (88, 24, 30, 32)
GREY = (90, 90, 90)
HEADINGS = FontFace(emphasis="BOLD", fill_color=(232, 236, 241))
# Spaces babel may put in amounts (thousands) that cp1252 lacks: print a no-break space.
_SPACES = str.maketrans({"\u202f": "\u00a0", "\u2009": "\u00a0", "\u2007": "\u00a0"})


@dataclass(frozen=True)
class Issuer:
    """Who issues the invoice, printed at the top: the town, its billing office, the address."""

    town: str
    office: str
    address: str = ""


@dataclass(frozen=True)
class UnicodeFont:
    """A TrueType font to embed: its regular and bold files (the same file if no bold)."""

    regular: Path
    bold: Path


def unicode_font(path: Path | None = None) -> UnicodeFont | None:
    """The font at `path` (with its bold sibling if there is one), else one found on the system.

    None means no Unicode font at all: the PDF then uses Helvetica in WinAnsi (see the module).
    """
    if path is None:
        return system_font()
    if not path.is_file():
        logger.warning("invoice font %s not found: using a system font", path)
        return system_font()
    for bold_name in (
        path.name.replace("-Regular", "-Bold"),
        f"{path.stem}-Bold{path.suffix}",
        f"{path.stem}bd{path.suffix}",
    ):
        bold = path.with_name(bold_name)
        if bold != path and bold.is_file():
            return UnicodeFont(path, bold)
    return UnicodeFont(path, path)


@lru_cache(maxsize=1)
def system_font() -> UnicodeFont | None:
    """The first font of `FONT_FILES` installed in one of `FONT_DIRS`, or None (looked up once)."""
    found: dict[str, Path] = {}
    for folder in FONT_DIRS:
        if not folder.is_dir():
            continue
        for root, _dirs, files in os.walk(folder):
            for name in files:
                found.setdefault(name, Path(root) / name)
    for regular, bold in FONT_FILES:
        if regular in found:
            return UnicodeFont(found[regular], found.get(bold, found[regular]))
    return None


def winansi(text: str) -> str:
    """`text` with what cp1252 lacks replaced by its base letter, or "?"."""
    kept = []
    for char in text.translate(_SPACES):
        try:
            char.encode(CORE_ENCODING)
            kept.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode(CORE_ENCODING, "ignore")
            kept.append(base.decode(CORE_ENCODING) or "?")
    return "".join(kept)


class PdfDocument(FPDF):
    """An A4 document of the billing office (invoice, statement) with a footer on each page."""

    def __init__(self, font: UnicodeFont | None, footer_text: str) -> None:
        super().__init__(format="A4")
        self._footer_text = footer_text
        self._embedded = font is not None
        if font is None:
            self.core_fonts_encoding = CORE_ENCODING
            self._face = CORE_FONT
        else:
            self.add_font(FAMILY, "", str(font.regular))
            self.add_font(FAMILY, "B", str(font.bold))
            self._face = FAMILY
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM + 6)

    def clean(self, text: str) -> str:
        """Text the current font can print, on one line."""
        text = " ".join(text.split())
        return text if self._embedded else winansi(text)

    def use(self, size: float, bold: bool = False) -> None:
        self.set_font(self._face, "B" if bold else "", size)

    def line_of(self, text: str, size: float, bold: bool = False, height: float = 6) -> None:
        self.use(size, bold)
        self.multi_cell(0, height, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-MARGIN_MM)
        self.use(8)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.clean(f"{self._footer_text} — {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)


def pdf_day(day: date, language: str) -> str:
    """A day as the PDFs print it: "6 nov. 2026"."""
    return format_date(day, "d MMM y", locale=BABEL_LOCALES.get(language, "fr_FR"))


def pdf_period(start: date, end: date, language: str) -> str:
    """ "octobre 2026" for a whole month, else "1 oct. 2026 – 15 oct. 2026"."""
    following = (start.replace(day=28) + date.resolution * 4).replace(day=1)
    if start.day == 1 and end == following - date.resolution:
        return format_date(start, "LLLL y", locale=BABEL_LOCALES.get(language, "fr_FR"))
    return f"{pdf_day(start, language)} – {pdf_day(end, language)}"


def issuer_header(pdf: PdfDocument, issuer: Issuer, title: str) -> None:
    """The top of the first page: the town, its billing office, its address, a rule, `title`."""
    pdf.line_of(issuer.town, 15, bold=True, height=7)
    pdf.line_of(issuer.office, 11)
    if issuer.address:
        pdf.set_text_color(*GREY)
        pdf.line_of(issuer.address, 9, height=5)
        pdf.set_text_color(0)
    pdf.ln(4)
    pdf.line(MARGIN_MM, pdf.get_y(), pdf.w - MARGIN_MM, pdf.get_y())
    pdf.ln(6)
    pdf.line_of(title, 18, bold=True, height=9)
    pdf.ln(2)


def new_document(
    font: UnicodeFont | None,
    footer: str,
    title: str,
    issuer: Issuer,
    language: str,
    created_at: datetime | None,
) -> PdfDocument:
    """A PDF of the billing office, its metadata set, its first page headed by `title`."""
    pdf = PdfDocument(font, footer)
    pdf.set_title(pdf.clean(title))
    pdf.set_author(pdf.clean(f"{issuer.town} — {issuer.office}"))
    pdf.set_creator("Portail Famille")
    pdf.set_lang(language)
    if created_at is not None:
        pdf.set_creation_date(created_at)
    pdf.add_page()
    issuer_header(pdf, issuer, title)
    return pdf


def family_label(name: str, code: str) -> str:
    """ "Famille Martin (F001)", or the name alone when there is no code."""
    return f"{name} ({code})" if code else name


def facts_block(pdf: PdfDocument, facts: Sequence[tuple[str, str]]) -> None:
    """Label and value pairs, one a line, the labels in bold."""
    for label, value in facts:
        pdf.use(10, bold=True)
        pdf.cell(45, 6, pdf.clean(label))
        pdf.use(10)
        pdf.multi_cell(0, 6, pdf.clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)


def render_invoice(
    invoice: InvoiceDetail,
    *,
    issuer: Issuer,
    labels: Mapping[str, str],
    status: str,
    language: str,
    font: UnicodeFont | None,
    created_at: datetime | None = None,
) -> bytes:
    """The invoice as PDF bytes, worded with `labels` (every key of `LABELS`) in `language`."""
    summary = invoice.summary
    money = {
        "total": format_amount(summary.total_cents, language),
        "paid": format_amount(summary.paid_cents, language),
        "due": format_amount(summary.due_cents, language),
    }
    title = f"{labels['title']} {summary.number}"
    pdf = new_document(font, labels["footer"], title, issuer, language, created_at)
    family = family_label(invoice.family_name, invoice.family_code)
    facts = (
        (labels["family"], family),
        (labels["period"], pdf_period(summary.period_start, summary.period_end, language)),
        (labels["issued_on"], pdf_day(summary.issued_on, language)),
        (labels["due_on"], pdf_day(summary.due_on, language)),
        (labels["status"], status),
    )
    facts_block(pdf, facts)

    pdf.use(10)
    with pdf.table(
        col_widths=COLUMNS_MM,
        width=sum(COLUMNS_MM),
        align=Align.L,
        text_align=(Align.L, Align.R, Align.R, Align.R),
        headings_style=HEADINGS,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=7,
    ) as table:
        heading = table.row()
        for key in ("designation", "quantity", "unit_price", "amount"):
            heading.cell(pdf.clean(labels[key]))
        for line in invoice.lines:
            row = table.row()
            row.cell(pdf.clean(line.label))
            row.cell(str(line.quantity))
            row.cell(pdf.clean(format_amount(line.unit_price_cents, language)))
            row.cell(pdf.clean(format_amount(line.amount_cents, language)))
    pdf.ln(4)

    label_width = sum(COLUMNS_MM[:3])
    for key in ("total", "paid", "due"):
        pdf.use(11 if key == "due" else 10, bold=key != "paid")
        pdf.cell(label_width, 7, pdf.clean(labels[key]), align="R")
        pdf.cell(COLUMNS_MM[3], 7, pdf.clean(money[key]), align="R")
        pdf.ln(7)
    return bytes(pdf.output())
