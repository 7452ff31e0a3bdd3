"""Balance (mon solde) in the chat, end to end through the local Bot API, in French and English."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select, update

from bot.portal import Portal
from bot.runner import running_bot
from conversations import balance
from fake_telegram import FakeTelegram
from fake_telegram.users import FakeUser
from store.billing import (
    Balance,
    InvoiceDetail,
    InvoiceLineView,
    InvoiceStatus,
    InvoiceSummary,
)
from store.bookings import BookingService
from store.models import Booking, Guardian, Invoice, InvoiceLine, Payment
from store.models.enums import Language
from tests.chat_helpers import forge_tap, linked_parent
from tests.helpers import FakeClock, Town, build_town

NOVEMBER_DAYS = [date(2026, 11, 28), date(2026, 11, 30)]
PAYFIP = (
    "https://www.payfip.gouv.fr/tpi/paiement.web?numcli=000000&exer={year}"
    "&refdet={invoice_number}&montant={amount_cents}"
)
EUR = "\u00a0€"
OCTOBER = f"FAC-2026-10-001 · 20,80{EUR} · impayée"
SEPTEMBER = f"FAC-2026-09-001 · 12,80{EUR} · payée"


@pytest.fixture
async def balance_bot(portal: Portal) -> AsyncIterator[Any]:
    """The real application, with a payment link template and the town's names set."""
    portal.settings = portal.settings.model_copy(
        update={
            "payment_url_template": PAYFIP,
            "town_name": "Ville de Montclar-sur-Garonne",
            "billing_office_name": "Régie Enfance-Jeunesse",
        }
    )
    async with running_bot(portal, poll_timeout=1) as application:
        yield application


def _invoice(
    family_id: int, number: str, month: int, lines: list[tuple[str, int, int]]
) -> Invoice:
    """An invoice of `month` 2026, issued early the following month."""
    start = date(2026, month, 1)
    end = date(2026, month + 1, 1) - timedelta(days=1)
    issued = date(2026, month + 1, 6 if month == 10 else 8)
    return Invoice(
        family_id=family_id,
        number=number,
        issued_on=issued,
        due_on=date(2026, month + 1, 30 if month == 10 else 31),
        period_start=start,
        period_end=end,
        total_cents=sum(quantity * price for _, quantity, price in lines),
        lines=[
            InvoiceLine(
                position=position,
                label=label,
                quantity=quantity,
                unit_price_cents=price,
                amount_cents=quantity * price,
            )
            for position, (label, quantity, price) in enumerate(lines)
        ],
    )


async def _billed_town(portal: Portal, clock: FakeClock) -> tuple[Town, dict[str, int]]:
    """September invoiced and paid, October invoiced and unpaid, two November days booked."""
    town = await build_town(portal.sessions, NOVEMBER_DAYS)
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, NOVEMBER_DAYS
    )
    september = _invoice(
        town.family_id,
        "FAC-2026-09-001",
        9,
        [("Restauration scolaire", 10, 80), ("Accueil périscolaire du matin", 4, 120)],
    )
    october = _invoice(
        town.family_id,
        "FAC-2026-10-001",
        10,
        [("Restauration scolaire", 16, 80), ("CL Mercredis — journée", 2, 400)],
    )
    theirs = _invoice(town.other_family_id, "FAC-2026-10-002", 10, [("Repas", 5, 80)])
    async with portal.sessions.begin() as session:
        session.add_all([september, october, theirs])
        await session.flush()
        session.add(
            Payment(
                family_id=town.family_id,
                invoice_id=september.id,
                reference="PAY-2026-09-001",
                paid_on=date(2026, 10, 20),
                amount_cents=1280,
                method="payfip",
            )
        )
    ids = {"september": september.id, "october": october.id, "theirs": theirs.id}
    return town, ids


async def _english_parent(portal: Portal, telegram: FakeTelegram, email: str) -> FakeUser:
    """A parent whose guardian speaks English, linked by invite, menu on screen."""
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Guardian).where(Guardian.email == email).values(language=Language.EN)
        )
    user = telegram.add_user(first_name="Sam", language_code="en")
    token = await portal.linking.create_invite(email, timedelta(hours=1))
    await user.send_command(f"/start {token}")
    await user.wait_for_message(lambda m: "What would you like" in (m.text or ""))
    return user


def _pdf_text(data: bytes) -> str:
    """The text of a PDF, read back by pypdf (no-break spaces read as spaces)."""
    assert data.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(data)).pages
    return "\n".join(page.extract_text() for page in pages).replace("\u00a0", " ")


async def test_balance_detail_pdf_and_pay_link_in_french(portal, telegram, clock, balance_bot):
    await _billed_town(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    menu = parent.last_message
    await forge_tap(telegram, parent, menu, "menu:balance")  # the menu button, once wired
    screen = await parent.next_message()
    assert screen.message_id == menu.message_id
    for line in (
        f"Facturé : 33,60{EUR}",
        f"Payé : 12,80{EUR}",
        f"Reste à payer : 20,80{EUR}",
        f"Réservé en novembre 2026, pas encore facturé : 8,20{EUR}",
    ):
        assert line in screen.text
    assert screen.buttons == [OCTOBER, SEPTEMBER, "✖ Fermer"]

    await parent.tap(OCTOBER)
    detail = await parent.next_message()
    assert detail.message_id == menu.message_id
    for line in (
        "Facture FAC-2026-10-001",
        "Période : octobre 2026",
        "Émise le ven. 6 nov. · à payer avant le lun. 30 nov.",
        "Statut : impayée",
        f"• Restauration scolaire — 16 × 0,80{EUR} = 12,80{EUR}",
        f"• CL Mercredis — journée — 2 × 4,00{EUR} = 8,00{EUR}",
        f"Total : 20,80{EUR}",
        f"Reste à payer : 20,80{EUR}",
    ):
        assert line in detail.text
    assert detail.button_rows == [["📄 PDF", "💳 Payer en ligne"], ["◀ Retour", "✖ Fermer"]]
    assert detail.button("💳 Payer en ligne")["url"] == (
        "https://www.payfip.gouv.fr/tpi/paiement.web?numcli=000000&exer=2026"
        "&refdet=FAC-2026-10-001&montant=2080"
    )

    assert await parent.tap("📄 PDF") is not None
    document = await parent.wait_for_message(lambda m: m.document is not None)
    assert document.document_name == "facture-FAC-2026-10-001.pdf"
    assert "Facture FAC-2026-10-001" in document.caption
    printed = _pdf_text(document.document_bytes)
    for words in (
        "Ville de Montclar-sur-Garonne",
        "Régie Enfance-Jeunesse",
        "Facture FAC-2026-10-001",
        "Facturé à Famille F1 (F1)",
        "Période octobre 2026",
        "Date d'émission 6 nov. 2026",
        "Date d'échéance 30 nov. 2026",
        "Statut impayée",
        "Désignation Quantité Prix unitaire Montant",
        "Restauration scolaire 16 0,80 € 12,80 €",
        "CL Mercredis — journée 2 4,00 € 8,00 €",
        "Total 20,80 €",
        "Déjà payé 0,00 €",
        "Reste à payer 20,80 €",
    ):
        assert words in printed

    await parent.tap("◀ Retour", message=detail)
    back = await parent.next_message()
    assert back.message_id == menu.message_id and back.buttons[0] == OCTOBER
    await parent.tap(SEPTEMBER)
    paid = await parent.next_message()
    assert "Statut : payée" in paid.text and f"Reste à payer : 0,00{EUR}" in paid.text
    assert paid.buttons == ["📄 PDF", "◀ Retour", "✖ Fermer"]  # nothing due: no pay link
    await parent.tap("✖ Fermer")
    closed = await parent.next_message()
    assert closed.buttons == ["☰ Menu"] and "Statut : payée" in closed.text


async def test_balance_in_english(portal, telegram, clock, balance_bot):
    await _billed_town(portal, clock)
    parent = await _english_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/solde")
    screen = await parent.next_message()
    for line in (
        "Invoiced: €33.60",
        "Paid: €12.80",
        "Left to pay: €20.80",
        "Booked in November 2026, not yet invoiced: €8.20",
        "Latest invoices",
    ):
        assert line in screen.text
    assert screen.buttons == [
        "FAC-2026-10-001 · €20.80 · unpaid",
        "FAC-2026-09-001 · €12.80 · paid",
        "✖ Close",
    ]
    await parent.tap("FAC-2026-10-001 · €20.80 · unpaid")
    detail = await parent.next_message()
    for line in (
        "Invoice FAC-2026-10-001",
        "Period: October 2026",
        "Issued Fri 6 Nov · due by Mon 30 Nov",
        "• Restauration scolaire — 16 × €0.80 = €12.80",
        "Left to pay: €20.80",
    ):
        assert line in detail.text
    assert detail.button_rows == [["📄 PDF", "💳 Pay online"], ["◀ Back", "✖ Close"]]
    await parent.tap("📄 PDF")
    document = await parent.wait_for_message(lambda m: m.document is not None)
    assert document.document_name == "facture-FAC-2026-10-001.pdf"
    printed = _pdf_text(document.document_bytes)
    for words in ("Invoice FAC-2026-10-001", "Description", "Left to pay €20.80", "6 Nov 2026"):
        assert words in printed


async def test_another_familys_invoice_is_refused(portal, telegram, clock, balance_bot):
    _, ids = await _billed_town(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/solde")
    screen = await parent.next_message()
    for data in (f"bl:inv:{ids['theirs']}", f"bl:pdf:{ids['theirs']}", "bl:inv:999999999"):
        refusal = await forge_tap(telegram, parent, screen, data)
        assert refusal is not None and refusal.text == "Cette facture n'est pas disponible."
        await parent.assert_no_message()
    assert not any(message.document for message in parent.messages)


async def test_stale_buttons_are_answered(portal, telegram, clock, balance_bot):
    town, ids = await _billed_town(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/solde")
    screen = await parent.next_message()
    async with portal.sessions.begin() as session:  # the billing office withdrew it
        await session.execute(delete(Invoice).where(Invoice.id == ids["october"]))
    gone = await parent.tap(OCTOBER, message=screen)
    assert gone is not None and gone.text == "Cette facture n'est pas disponible."
    malformed = await forge_tap(telegram, parent, screen, "bl:inv:x")
    assert malformed is not None
    assert "plus valide" in (await parent.next_message()).text
    await portal.linking.unlink(town.guardian)
    assert await parent.tap(SEPTEMBER, message=screen) is not None
    assert "pas relié" in (await parent.next_message()).text


async def test_opening_the_balance_closes_a_booking_in_progress(
    portal, telegram, clock, balance_bot
):
    await _billed_town(portal, clock)
    async with portal.sessions() as session:
        before = len(list(await session.scalars(select(Booking))))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/reserver")
    await parent.next_message()
    await parent.tap("Emma")
    calendar = await parent.next_message()
    thirtieth = calendar.button("30")["callback_data"]
    await parent.send_command("/solde")
    closed = await parent.next_message()
    assert closed.message_id == calendar.message_id and "Réservation : fermé" in closed.text
    await parent.next_message()
    await parent.tap(OCTOBER)
    assert "Facture FAC-2026-10-001" in (await parent.next_message()).text
    assert await forge_tap(telegram, parent, calendar, thirtieth) is not None
    assert "plus valide" in (await parent.next_message()).text
    await parent.send_text("le 30")  # no flow is open: not a day for the closed calendar
    assert "Je n'ai pas compris" in (await parent.next_message()).text
    async with portal.sessions() as session:
        assert len(list(await session.scalars(select(Booking)))) == before


# --- Rendering, without the bot ---------------------------------------------------------------


def _detail(total: int, paid: int) -> InvoiceDetail:
    summary = InvoiceSummary(
        7,
        "FAC 2026/10 é",
        date(2026, 11, 6),
        date(2026, 11, 30),
        date(2026, 10, 5),
        date(2026, 10, 16),
        total,
        paid,
        InvoiceStatus.PARTLY_PAID,
    )
    return InvoiceDetail(summary, [InvoiceLineView("Repas", 1, total, total)], "Famille", "F&1")


def test_up_to_date_and_credit():
    today = date(2026, 11, 24)
    assert "Vous êtes à jour" in balance.balance_text(Balance(1000, 1000, 0), [], today, "fr")
    credit = balance.balance_text(Balance(1000, 1500, 0), [], today, "en")
    assert "Credit in your favour: €5.00" in credit and "No invoice yet." in credit


def test_payment_url_placeholders_are_encoded_and_checked():
    detail = _detail(2080, 1000)
    template = "https://pay.example/?n={invoice_number}&y={year}&c={amount_cents}&a={amount}"
    assert balance.payment_url(template, detail) == (
        "https://pay.example/?n=FAC%202026%2F10%20%C3%A9&y=2026&c=1080&a=10.80"
    )
    assert balance.payment_url("https://pay.example/?f={family_code}", detail).endswith("F%261")
    assert balance.payment_url("", detail) is None
    assert balance.payment_url("https://pay.example/?x={nope}", detail) is None
    assert balance.payment_url("javascript:{amount}", detail) is None
    assert balance.payment_url(template, _detail(2080, 2080)) is None


def test_a_partial_period_and_a_safe_file_name():
    detail = _detail(2080, 1000)
    assert "Période : du lun. 5 oct. au ven. 16 oct." in balance.invoice_text(detail, "fr")
    assert balance.pdf_filename(detail.summary.number) == "facture-FAC_2026_10__.pdf"
