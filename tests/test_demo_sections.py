"""`portail demo`, tried as a new user would: the family file, an enrolment, the requests list,
the account statement and the tariffs, on the demo town."""

from __future__ import annotations

from sqlalchemy import select

from bot.demo import DemoSession
from store.actors import Actor
from store.models import Guardian, StaffMember
from tests.test_demo import number_of

MORNING = "CL Élémentaire Mercredis – Matin sans repas"


async def test_phone_updated_child_enrolled_and_both_requests_listed(demo: DemoSession) -> None:
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "🗂 Mon dossier"))
    joined = "\n".join(screen)
    assert "Famille Martin" in joined and "quotient familial 412 €" in joined
    screen = await demo.handle_line(number_of(screen, "✏️ Demander une modification"))
    screen = await demo.handle_line(number_of(screen, "🏠 Le foyer"))
    screen = await demo.handle_line(number_of(screen, "Téléphone de Camille"))
    screen = await demo.handle_line("06 11")
    assert any("numéro" in line for line in screen), screen
    screen = await demo.handle_line("06 11 22 33 44")
    assert any("« 06 12 34 00 10 » → « 06 11 22 33 44 »" in line for line in screen)
    screen = await demo.handle_line(number_of(screen, "📨 Envoyer"))
    assert any("votre dossier est à jour" in line for line in screen)

    screen = await demo.handle_line(number_of(screen, "☰ Menu"))
    screen = await demo.handle_line(number_of(screen, "📝 Inscriptions"))
    assert any(MORNING in line and "Les Platanes" in line for line in screen)
    assert any("1,90 € par jour" in line for line in screen)
    screen = await demo.handle_line(number_of(screen, MORNING))
    screen = await demo.handle_line(number_of(screen, "Dès que possible"))
    joined = " ".join(screen)
    assert "attestation d'assurance" in joined
    screen = await demo.handle_line(number_of(screen, "✅ Envoyer la demande"))
    joined = " ".join(screen)
    assert "Demande envoyée" in joined

    screen = await demo.handle_line(number_of(screen, "☰ Menu"))
    screen = await demo.handle_line(number_of(screen, "📬 Mes demandes"))
    joined = " ".join(screen)
    assert "Inscription · Lucas" in joined and "en attente de validation" in joined
    assert "Modification du dossier · téléphone" in joined and "acceptée" in joined

    assert demo.portal is not None
    async with demo.portal.sessions() as session:
        camille = await session.scalar(
            select(Guardian).where(Guardian.email == "camille.martin@exemple.fr")
        )
        staff_id = await session.scalar(
            select(StaffMember.id).where(StaffMember.email == "j.roux@montclar.example")
        )
    assert camille is not None and camille.phone == "06 11 22 33 44"
    assert staff_id is not None
    # The leisure centres' service accepts, as `portail staff enrolments accept` does.
    [request] = await demo.portal.enrolments.enrolments(Actor.staff(staff_id))
    await demo.portal.enrolments.decide_enrolment(Actor.staff(staff_id), request.id, True)
    # The family's notice may arrive at any moment now: a typed command is not a numbered tap.
    screen = await demo.handle_line("/demandes")
    assert any("Inscription · Lucas" in line for line in screen)
    assert "en attente de validation" not in " ".join(screen)


async def test_statement_and_tariffs_of_the_demo_family(demo: DemoSession) -> None:
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "📒 Relevé de compte"))
    joined = " ".join(screen)
    assert "Avoir AVO-2026-10-001" in joined
    assert "chèque" in joined and "PayFiP" in joined
    assert "Solde : 6,40 € à payer" in joined
    screen = await demo.handle_line(number_of(screen, "✖ Fermer"))
    screen = await demo.handle_line(number_of(screen, "☰ Menu"))
    screen = await demo.handle_line(number_of(screen, "💶 Mon solde"))
    assert any("6,40 €" in line for line in screen)
    screen = await demo.handle_line(number_of(screen, "✖ Fermer"))
    screen = await demo.handle_line(number_of(screen, "☰ Menu"))
    screen = await demo.handle_line(number_of(screen, "🏷 Tarifs"))
    screen = await demo.handle_line(number_of(screen, "Restauration scolaire", prefix=True))
    joined = "\n".join(screen)
    assert "QF1 — Tranche 1 (QF jusqu'à 450 €) : 0,80 € ◀ votre tranche" in joined
    assert any("QF4 — Tranche 4" in line and ": 4,20 €" in line for line in screen)


async def test_the_month_picture_is_saved_and_another_month_too(demo: DemoSession) -> None:
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "🗓 Mon planning"))
    saved = [line.split("Enregistré : ", 1)[1] for line in screen if "Enregistré : " in line]
    assert len(saved) == 1 and saved[0].endswith(".png"), screen
    screen = await demo.handle_line(number_of(screen, "▶"))
    again = [line.split("Enregistré : ", 1)[1] for line in screen if "Enregistré : " in line]
    assert len(again) == 1 and again[0] != saved[0] and again[0].endswith(".png"), screen
    screen = await demo.handle_line(number_of(screen, "📝 Version texte"))
    assert any("Lucas" in line for line in screen), screen
