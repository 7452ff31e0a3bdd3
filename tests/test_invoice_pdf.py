"""The invoice PDF: real, readable, accents and "€" printed, with or without a system font."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from conversations.kit.texts import CATALOG as TEXTS
from store.billing import InvoiceDetail, InvoiceLineView, InvoiceStatus, InvoiceSummary
from store.invoice_pdf import (
    LABELS,
    Issuer,
    UnicodeFont,
    render_invoice,
    system_font,
    unicode_font,
    winansi,
)

ISSUER = Issuer(
    "Ville de Montclar-sur-Garonne", "Régie Enfance-Jeunesse", "1 place de l'Église, 31999"
)
FRENCH = {key: TEXTS[f"invoice_pdf.{key}"]["fr"] for key in LABELS}
ENGLISH = {key: TEXTS[f"invoice_pdf.{key}"]["en"] for key in LABELS}


def _invoice(lines: list[InvoiceLineView], paid: int = 800, **dates: date) -> InvoiceDetail:
    total = sum(line.amount_cents for line in lines)
    summary = InvoiceSummary(
        1,
        "FAC-2026-10-001",
        dates.get("issued_on", date(2026, 11, 6)),
        dates.get("due_on", date(2026, 11, 30)),
        dates.get("period_start", date(2026, 10, 1)),
        dates.get("period_end", date(2026, 10, 31)),
        total,
        paid,
        InvoiceStatus.PARTLY_PAID,
    )
    return InvoiceDetail(summary, lines, "Famille Lefèvre-Œhmichen", "F001")


LINES = [
    InvoiceLineView("Restauration scolaire — élémentaire", 16, 80, 1280),
    InvoiceLineView("Accueil de loisirs « journée » avec repas", 2, 400, 800),
]


def _text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


def _render(font: UnicodeFont | None, language: str = "fr", **changes: object) -> bytes:
    words = FRENCH if language == "fr" else ENGLISH
    return render_invoice(
        changes.get("invoice", _invoice(LINES)),  # type: ignore[arg-type]
        issuer=ISSUER,
        labels=words,
        status="partiellement payée" if language == "fr" else "partly paid",
        language=language,
        font=font,
        created_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )


FONTS = [
    pytest.param(None, id="core-helvetica-cp1252"),
    pytest.param(
        "system",
        id="system-truetype",
        marks=pytest.mark.skipif(system_font() is None, reason="no Unicode TrueType font"),
    ),
]


@pytest.mark.parametrize("font", FONTS)
def test_a_french_invoice_reads_back_whole(font):
    printed = _text(_render(system_font() if font else None))
    for words in (
        "Ville de Montclar-sur-Garonne",
        "Régie Enfance-Jeunesse",
        "1 place de l'Église, 31999",
        "Facture FAC-2026-10-001",
        "Facturé à Famille Lefèvre-Œhmichen (F001)",
        "Période octobre 2026",
        "Date d'émission 6 nov. 2026",
        "Date d'échéance 30 nov. 2026",
        "Statut partiellement payée",
        "Désignation Quantité Prix unitaire Montant",
        "Restauration scolaire — élémentaire 16 0,80 € 12,80 €",
        "Accueil de loisirs « journée » avec repas 2 4,00 € 8,00 €",
        "Total 20,80 €",
        "Déjà payé 8,00 €",
        "Reste à payer 12,80 €",
        "Document édité par le Portail Famille — 1/1",
    ):
        assert words in printed


@pytest.mark.parametrize("font", FONTS)
def test_an_english_invoice_and_a_partial_period(font):
    invoice = _invoice(LINES, period_start=date(2026, 10, 5), period_end=date(2026, 10, 16))
    printed = _text(_render(system_font() if font else None, "en", invoice=invoice))
    for words in (
        "Invoice FAC-2026-10-001",
        "Billed to Famille Lefèvre-Œhmichen (F001)",
        "Period 5 Oct 2026 – 16 Oct 2026",
        "Issue date 6 Nov 2026",
        "Description Quantity Unit price Amount",
        "Total €20.80",
        "Already paid €8.00",
        "Left to pay €12.80",
    ):
        assert words in printed


def test_characters_outside_the_core_font_do_not_break_it():
    odd = [InvoiceLineView("Stage d'été de Ștefan 🎉\nlundi", 1, 123456, 123456)]
    printed = _text(_render(None, invoice=_invoice(odd, paid=0)))
    assert "Stage d'été de Stefan ? lundi 1 1 234,56 € 1 234,56 €" in printed


def test_many_lines_flow_onto_more_pages():
    many = [InvoiceLineView(f"Repas du jour n°{n}", 1, 80, 80) for n in range(80)]
    data = _render(None, invoice=_invoice(many, paid=0))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    printed = _text(data)
    assert "Repas du jour n°79" in printed and "Reste à payer 64,00 €" in printed
    assert f"1/{len(reader.pages)}" in printed


def test_winansi_keeps_french_and_the_euro_and_replaces_the_rest():
    french = "Œuvre d’été « à » 20,80\u00a0€ – ok…"
    assert winansi(french) == french
    assert winansi("1\u202f234 ă ł 🎉") == "1\u00a0234 a ? ?"


def test_a_given_font_file_and_its_bold_sibling(tmp_path: Path):
    regular = tmp_path / "Brand-Regular.ttf"
    regular.write_bytes(b"")
    assert unicode_font(regular) == UnicodeFont(regular, regular)
    (tmp_path / "Brand-Bold.ttf").write_bytes(b"")
    assert unicode_font(regular) == UnicodeFont(regular, tmp_path / "Brand-Bold.ttf")
    assert unicode_font(tmp_path / "missing.ttf") == system_font()


def test_every_label_is_worded_in_both_languages():
    for key in LABELS:
        entry = TEXTS[f"invoice_pdf.{key}"]
        assert entry["fr"].strip() and entry["en"].strip()
