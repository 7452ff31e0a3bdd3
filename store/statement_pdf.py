"""An account statement as a PDF document: the billing office's header, the family and the
school year, the operations with debit, credit and running balance, the final balance.

Built on the invoice PDF's page, fonts and header (`store.invoice_pdf`): the same letters and
euro sign whatever font is found. The words printed come from the caller, in the reader's
language (`LABELS`, and one description per operation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from fpdf.enums import Align, TableBordersLayout

from store.deadlines import format_amount
from store.invoice_pdf import (
    HEADINGS,
    Issuer,
    UnicodeFont,
    facts_block,
    family_label,
    new_document,
    pdf_day,
)
from store.statement import Statement

LABELS = (
    "title",
    "family",
    "school_year",
    "date",
    "operation",
    "debit",
    "credit",
    "balance",
    "opening",
    "closing",
    "footer",
)
"""The words `render_statement` needs, in the reader's language."""

COLUMNS_MM = (26, 70, 26, 26, 26)


def render_statement(
    statement: Statement,
    descriptions: Sequence[str],
    *,
    issuer: Issuer,
    labels: Mapping[str, str],
    language: str,
    font: UnicodeFont | None,
    created_at: datetime | None = None,
) -> bytes:
    """The statement as PDF bytes; `descriptions` words each operation, in order."""
    if len(descriptions) != len(statement.operations):
        raise ValueError("one description per operation is needed")
    school_year = f"{statement.year}-{statement.year + 1}"
    title = f"{labels['title']} {school_year}"
    pdf = new_document(font, labels["footer"], title, issuer, language, created_at)
    family = family_label(statement.family_name, statement.family_code)
    period = f"{pdf_day(statement.first_day, language)} – {pdf_day(statement.last_day, language)}"
    facts_block(pdf, ((labels["family"], family), (labels["school_year"], period)))

    def money(cents: int) -> str:
        return pdf.clean(format_amount(cents, language)) if cents else ""

    pdf.use(9)
    with pdf.table(
        col_widths=COLUMNS_MM,
        width=sum(COLUMNS_MM),
        align=Align.L,
        text_align=(Align.L, Align.L, Align.R, Align.R, Align.R),
        headings_style=HEADINGS,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=6,
    ) as table:
        heading = table.row()
        for key in ("date", "operation", "debit", "credit", "balance"):
            heading.cell(pdf.clean(labels[key]))
        opening = table.row()
        opening.cell(pdf.clean(pdf_day(statement.first_day, language)))
        opening.cell(pdf.clean(labels["opening"]))
        opening.cell("")
        opening.cell("")
        opening.cell(pdf.clean(format_amount(statement.opening_cents, language)))
        for operation, description in zip(statement.operations, descriptions, strict=True):
            row = table.row()
            row.cell(pdf.clean(pdf_day(operation.day, language)))
            row.cell(pdf.clean(description))
            row.cell(money(operation.debit_cents))
            row.cell(money(operation.credit_cents))
            row.cell(pdf.clean(format_amount(operation.balance_cents, language)))
    pdf.ln(4)
    pdf.use(11, bold=True)
    pdf.cell(sum(COLUMNS_MM[:4]), 7, pdf.clean(labels["closing"]), align="R")
    pdf.cell(
        COLUMNS_MM[4], 7, pdf.clean(format_amount(statement.closing_cents, language)), align="R"
    )
    pdf.ln(7)
    return bytes(pdf.output())
