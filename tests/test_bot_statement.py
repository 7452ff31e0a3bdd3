"""Relevé de compte and Tarifs in the chat, end to end through the local Bot API, in French and
English: the statement's running balance matches the balance view; its PDF; a tariff per band."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader

from bot.portal import Portal
from bot.runner import running_bot
from store.models import Payment
from tests.chat_helpers import forge_tap, linked_parent
from tests.test_bot_requests import english_parent
from tests.test_statement import build_account
from tests.test_tariffs import build_tariffs

EUR = "\u00a0€"


@pytest.fixture
async def office_bot(portal: Portal) -> AsyncIterator[Any]:
    """The real application, with the town's names set."""
    portal.settings = portal.settings.model_copy(
        update={
            "town_name": "Ville de Montclar-sur-Garonne",
            "billing_office_name": "Régie Enfance-Jeunesse",
        }
    )
    async with running_bot(portal, poll_timeout=1) as application:
        yield application


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(data)).pages
    return "\n".join(page.extract_text() for page in pages).replace("\u00a0", " ")


STATEMENT_LINES = (
    "📒 Relevé de compte — année scolaire 2026-2027",
    "Du mardi 1er septembre 2026 au mardi 31 août 2027",
    f"Solde reporté au mar. 1 sept. : 20,00{EUR} à payer",
    f"jeu. 8 oct. · Facture FAC-2026-09-001 (septembre 2026) · débit 12,80{EUR}"
    f" → solde 32,80{EUR}",
    "mar. 20 oct. · Règlement (en ligne, PayFiP) — facture FAC-2026-09-001"
    f" · crédit 12,80{EUR} → solde 20,00{EUR}",
    f"ven. 6 nov. · Facture FAC-2026-10-001 (octobre 2026) · débit 20,80{EUR} → solde 40,80{EUR}",
    f"mar. 10 nov. · Avoir AV-2026-11-001 (octobre 2026) · crédit 4,10{EUR} → solde 36,70{EUR}",
    f"dim. 15 nov. · Règlement (chèque) · crédit 20,00{EUR} → solde 16,70{EUR}",
    f"Total débits : 33,60{EUR} · total crédits : 36,90{EUR}",
    f"Solde : 16,70{EUR} à payer",
)


async def test_statement_matches_the_balance_view_with_its_pdf_in_french(
    portal, telegram, office_bot
):
    await build_account(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/solde")
    balance = await parent.next_message()
    assert f"Reste à payer : 16,70{EUR}" in balance.text
    await parent.send_command("/menu")
    menu = await parent.wait_for_message(lambda m: "📒 Relevé de compte" in m.buttons)
    await parent.tap("📒 Relevé de compte", message=menu)
    screen = await parent.next_message()
    assert screen.message_id == menu.message_id
    for line in STATEMENT_LINES:
        assert line in screen.text, line
    assert screen.button_rows == [["📄 PDF"], ["🗓 2025-2026"], ["✖ Fermer"]]

    await parent.tap("📄 PDF")
    document = await parent.wait_for_message(lambda m: m.document is not None)
    assert document.document_name == "releve-F1-2026-2027.pdf"
    assert "Relevé de compte, année scolaire 2026-2027" in document.caption
    printed = pdf_text(document.document_bytes)
    for words in (
        "Ville de Montclar-sur-Garonne",
        "Régie Enfance-Jeunesse",
        "Relevé de compte 2026-2027",
        "Compte de Famille F1 (F1)",
        "Date Opération Débit Crédit Solde",
        "1 sept. 2026 Solde reporté 20,00 €",
        "15 nov. 2026 Règlement (chèque) 20,00 € 16,70 €",
        "Solde (positif : à payer) 16,70 €",
    ):
        assert words in printed, words

    await parent.tap("🗓 2025-2026", message=screen)
    earlier = await parent.next_message()
    for line in (
        "année scolaire 2025-2026",
        f"Solde reporté au lun. 1 sept. : 0,00{EUR}",
        f"dim. 5 juil. · Facture FAC-2026-06-001 (juin 2026) · débit 30,00{EUR}",
        f"lun. 20 juil. · Règlement (chèque) — facture FAC-2026-06-001 · crédit 10,00{EUR}",
        f"Solde : 20,00{EUR} à payer",
    ):
        assert line in earlier.text, line
    assert earlier.button_rows == [["📄 PDF"], ["🗓 2026-2027"], ["✖ Fermer"]]
    await parent.tap("✖ Fermer")
    closed = await parent.next_message()
    assert closed.buttons == ["☰ Menu"]


async def test_statement_in_english_and_forged_years(portal, telegram, office_bot):
    town = await build_account(portal.sessions)
    parent = await english_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/releve")
    screen = await parent.next_message()
    for line in (
        "Account statement — school year 2026-2027",
        "Balance carried over on Tue 1 Sept: €20.00 to pay",
        "Tue 20 Oct · Payment (online, PayFiP) — invoice FAC-2026-09-001"
        " · credit €12.80 → balance €20.00",
        "Tue 10 Nov · Credit note AV-2026-11-001 (October 2026) · credit €4.10",
        "Balance: €16.70 to pay",
    ):
        assert line in screen.text, line
    await parent.tap("📄 PDF")
    document = await parent.wait_for_message(lambda m: m.document is not None)
    printed = pdf_text(document.document_bytes)
    assert "Account statement 2026-2027" in printed and "Balance carried over €20.00" in printed
    # No operation in 2023-2024: nothing to show, whatever the button says.
    for data in ("st:v:2023.0", "st:pdf:2023"):
        refusal = await forge_tap(telegram, parent, screen, data)
        assert refusal is not None and refusal.text == "This statement is not available."
        await parent.assert_no_message()
    assert "FAC-2026-10-002" not in screen.text  # the other family's invoice
    assert town.other_family_id


async def test_a_long_statement_is_paged(portal, telegram, office_bot):
    town = await build_account(portal.sessions)
    async with portal.sessions.begin() as session:
        session.add_all(
            Payment(
                family_id=town.family_id,
                reference=f"CESU-{n}",
                paid_on=date(2026, 9, 2 + n),
                amount_cents=100,
                method="CESU",
            )
            for n in range(20)
        )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/releve")
    first = await parent.next_message()
    assert "Page 1/2" in first.text and "Solde :" not in first.text
    assert f"Règlement (CESU) · crédit 1,00{EUR} → solde 19,00{EUR}" in first.text
    assert first.button_rows[0] == ["Suivantes ▶"]
    await parent.tap("Suivantes ▶")
    second = await parent.next_message()
    assert "Page 2/2" in second.text
    assert f"Solde reporté de la page précédente : 5,00{EUR} à payer" in second.text
    # 20 payments of 1 € more than the balance view's 16,70 €: 3,30 € in the family's favour.
    assert f"Solde : 3,30{EUR} en votre faveur" in second.text


async def test_tariffs_for_every_band_in_french(portal, telegram, office_bot):
    town, canteen = await build_tariffs(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("🏷 Tarifs")
    screen = await parent.next_message()
    assert "Choisissez une activité" in screen.text
    assert screen.buttons == ["CL Mercredis · École", "Restauration scolaire · École", "✖ Fermer"]
    await parent.tap("CL Mercredis · École")
    tariff = await parent.next_message()
    for line in (
        "🏷 CL Mercredis (École)",
        "Prix d'une journée selon la tranche de quotient familial :",
        f"• QF1 — Tranche 1 (QF jusqu'à 600{EUR}) : 2,10{EUR}",
        f"• QF2 — Tranche 2 (QF de 601{EUR} à 1\u202f200{EUR}) : 4,10{EUR} ◀ votre tranche",
        f"• QF3 — Tranche 3 (QF à partir de 1\u202f201{EUR}) : 6,00{EUR}",
        "• Réservation : jusqu'à 2 jours ouvrés avant, à 10 h.",
        "• Annulation gratuite : jusqu'au jeudi précédent, à 12 h.",
        "• Après le délai, réservation possible avec une majoration de 20 % du prix du jour.",
        "• Annulation après le délai : 50 % du prix du jour reste facturé.",
    ):
        assert line in tariff.text, line
    units = tariff.text.encode("utf-16-le")  # entity offsets count UTF-16 code units
    bold = [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in tariff.entities
        if e["type"] == "bold"
    ]
    assert f"QF2 — Tranche 2 (QF de 601{EUR} à 1\u202f200{EUR}) : 4,10{EUR}" in bold
    assert not any("QF1" in words or "QF3" in words for words in bold)
    assert tariff.button_rows == [["◀ Retour", "✖ Fermer"]]
    await parent.tap("◀ Retour")
    back = await parent.next_message()
    await parent.tap("Restauration scolaire · École", message=back)
    same = await parent.next_message()
    assert f"Même prix pour toutes les tranches : 3,50{EUR} la journée." in same.text
    refusal = await forge_tap(telegram, parent, same, "tf:a:999999")
    assert refusal is not None and refusal.text == "Ce tarif n'est pas disponible."
    assert canteen and town


async def test_tariffs_in_english(portal, telegram, office_bot):
    await build_tariffs(portal.sessions)
    parent = await english_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/tarifs")
    await parent.next_message()
    await parent.tap("CL Mercredis · École")
    tariff = await parent.next_message()
    for line in (
        "Price of a day by quotient familial band:",
        "• QF1 — Tranche 1 (QF up to €600): €2.10",
        "• QF2 — Tranche 2 (QF €601 to €1,200): €4.10 ◀ your band",
        "• Booking: up to 2 working days before, at 10:00.",
        "• Cancelling after the deadline: 50% of the day's price is billed.",
    ):
        assert line in tariff.text, line
    assert tariff.button_rows == [["◀ Back", "✖ Close"]]


GARBAGE = [
    "rq:v:all.0.r.0\n",
    f"rq:v:all.{'9' * 20}.r.0",
    "rq:v:all.\u0661.r.0",
    "rq:o:bk:0:all.0.r.0",
    f"rq:o:bk:{'9' * 20}:all.0.r.0",
    "rq:k:all.0.z.0",
    "st:v:2026.0\n",
    "st:v:1999.0",
    "st:v:2026.100",
    "st:pdf:20266",
    "tf:a:0",
    f"tf:a:{'9' * 20}",
    "tf:a:1\n",
]


async def test_garbage_is_a_stale_button(portal, telegram, office_bot, caplog):
    await build_account(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    menu = parent.last_message
    for data in GARBAGE:
        answer = await forge_tap(telegram, parent, menu, data)
        assert answer is not None, data
        said = (await parent.next_message()).text
        assert "plus valide" in said, (data, said)
    await parent.assert_no_message(0.1)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
