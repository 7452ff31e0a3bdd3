"""Mes demandes in the chat, end to end through the local Bot API, in French and English."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.portal import Portal
from fake_telegram import FakeTelegram
from fake_telegram.users import FakeUser
from store.models import Guardian
from store.models.enums import Language
from tests.chat_helpers import forge_tap, linked_parent
from tests.test_requests_list import ask_everything


async def english_parent(portal: Portal, telegram: FakeTelegram, email: str) -> FakeUser:
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


FIRST_PAGE = (
    "Toutes les demandes · Tous mes enfants · 3 derniers mois",
    "1. Pré-inscription · Léa F1 — ⏳ en attente de validation (le ven. 20 nov.)",
    "2. Inscription · Lucas · CL Mercredis, à partir du mer. 2 déc. — ✅ acceptée",
    "3. Inscription · Emma · CL Mercredis, à partir du mer. 2 déc. — 🕒 liste d'attente n°2",
    "4. Modification du dossier · Lucas · allergies — ❌ refusée",
    "5. Modification du dossier · téléphone — ⏳ en attente de validation",
    "6. Document · attestation d'assurance — ⏳ en attente de validation",
    "7. Document · Lucas · certificat médical — ❌ refusé",
    "8. Absence · Emma · maladie, du lun. 16 nov. au mar. 17 nov. — ⏳ signalée",
    "Page 1/2",
)
SECOND_PAGE = (
    "9. Absence · Lucas · maladie, le mar. 10 nov. — ❌ refusée (facturée)",
    "10. Réservation · Lucas · CL Mercredis, mer. 16 déc. — ❌ refusée",
    "11. Réservation · Emma · CL Mercredis, mer. 9 déc. — 🕒 liste d'attente n°2",
    "12. Réservation · Lucas · CL Mercredis, mer. 2 déc. — ⏳ en attente de validation",
    "Page 2/2",
)


async def test_every_kind_with_its_state_pages_and_details_in_french(portal, telegram, bot):
    await ask_everything(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    menu = parent.last_message
    await parent.tap("📬 Mes demandes")
    screen = await parent.next_message()
    assert screen.message_id == menu.message_id
    for line in FIRST_PAGE:
        assert line in screen.text, line
    assert screen.buttons[:8] == [
        "1. Pré-inscription · Léa F1",
        "2. Inscription · Lucas",
        "3. Inscription · Emma",
        "4. Modification du dossier · Lucas",
        "5. Modification du dossier · téléphone",
        "6. Document · attestation d'assurance",
        "7. Document · Lucas",
        "8. Absence · Emma",
    ]
    assert screen.button_rows[8:] == [
        ["Suivantes ▶"],
        ["🔎 Par type", "👧 Par enfant"],
        ["🗓 Plus anciennes", "✖ Fermer"],
    ]
    await parent.tap("Suivantes ▶")
    second = await parent.next_message()
    for line in SECOND_PAGE:
        assert line in second.text, line
    assert "Pré-inscription" not in second.text

    await parent.tap("10. Réservation · Lucas")
    detail = await parent.next_message()
    for line in (
        "Réservation",
        "CL Mercredis, mer. 16 déc.",
        "Enfant : Lucas",
        "État : ❌ refusée",
        "Motif : Sortie complète",
    ):
        assert line in detail.text, line
    assert detail.button_rows == [["◀ Retour", "✖ Fermer"]]
    await parent.tap("◀ Retour")
    back = await parent.next_message()
    assert "Page 2/2" in back.text and SECOND_PAGE[1] in back.text

    await parent.tap("◀ Précédentes")
    await parent.next_message()
    await parent.tap("5. Modification du dossier · téléphone")
    change = await parent.next_message()
    for line in (
        "Avant : 06 11 22 33 44",
        "Demandé : 07 55 66 77 88",
        "⏳ en attente de validation",
    ):
        assert line in change.text, line
    await parent.tap("✖ Fermer")
    closed = await parent.next_message()
    assert closed.buttons == ["☰ Menu"]


async def test_filters_by_kind_child_and_older_requests(portal, telegram, bot):
    await ask_everything(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/demandes")
    await parent.next_message()
    await parent.tap("🔎 Par type")
    kinds = await parent.next_message()
    assert kinds.buttons == [
        "Réservations",
        "Absences et certificats",
        "Documents",
        "Modifications du dossier",
        "Inscriptions",
        "Pré-inscriptions",
        "Effacement des données",
        "Toutes les demandes",
    ]
    await parent.tap("Modifications du dossier")
    changes = await parent.next_message()
    assert "Modifications du dossier · Tous mes enfants · 3 derniers mois" in changes.text
    assert changes.buttons[:2] == [
        "1. Modification du dossier · Lucas",
        "2. Modification du dossier · téléphone",
    ]
    assert "adresse" not in changes.text and "Réservation" not in changes.text
    await parent.tap("🗓 Plus anciennes")
    older = await parent.next_message()
    assert "toutes les dates" in older.text
    assert "3. Modification du dossier · adresse — ✅ acceptée (le sam. 2 mai)" in older.text
    assert "🗓 3 derniers mois" in older.buttons

    await parent.tap("👧 Par enfant")
    children = await parent.next_message()
    assert children.buttons == ["Emma", "Lucas", "Tous mes enfants"]
    await parent.tap("Lucas")
    lucas = await parent.next_message()
    assert "Modifications du dossier · Lucas · toutes les dates" in lucas.text
    assert lucas.buttons[:1] == ["1. Modification du dossier · Lucas"]
    assert "téléphone" not in lucas.text
    await parent.tap("🔎 Par type")
    await parent.next_message()
    await parent.tap("Toutes les demandes")
    everything = await parent.next_message()
    assert "Emma" not in everything.text
    assert "Réservation · Lucas · CL Mercredis, mer. 2 déc." in everything.text


async def test_another_familys_requests_are_never_listed_nor_opened(portal, telegram, bot):
    asked = await ask_everything(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/demandes")
    await parent.next_message()
    await parent.tap("🗓 Plus anciennes")
    everything = await parent.next_message()
    assert "adresse e-mail" not in everything.text  # F2's change
    ids = asked.ids
    for data in (
        f"rq:o:fc:{ids['theirs_change']}:all.0.r.0",
        f"rq:o:en:{ids['theirs_enrolment']}:all.0.r.0",
        f"rq:o:bk:{ids['theirs_waiting']}:all.0.r.0",
        f"rq:o:bk:{ids['confirmed']}:all.0.r.0",
        f"rq:v:all.{asked.town.other_child_id}.r.0",
    ):
        refusal = await forge_tap(telegram, parent, everything, data)
        assert refusal is not None and refusal.text == "Cette demande n'est pas disponible.", data
        await parent.assert_no_message()
    assert parent.get_message(everything.message_id).text == everything.text
    # Malformed data reaches no handler of the view: answered as a stale button.
    await forge_tap(telegram, parent, everything, "rq:o:fc:99999999999:all.0.r.0")
    stale = await parent.next_message()
    assert stale.message_id != everything.message_id


async def test_requests_in_english(portal, telegram, bot):
    await ask_everything(portal.sessions)
    parent = await english_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📬 My requests")
    screen = await parent.next_message()
    for line in (
        "My requests",
        "All requests · All my children · last 3 months",
        "1. Pre-registration · Léa F1 — ⏳ awaiting validation (on Fri 20 Nov)",
        "3. Enrolment · Emma · CL Mercredis, from Wed 2 Dec — 🕒 waiting list #2",
        "4. Family file change · Lucas · allergies — ❌ refused",
    ):
        assert line in screen.text, line
    await parent.tap("Next ▶")
    second = await parent.next_message()
    assert "11. Booking · Emma · CL Mercredis, Wed 9 Dec — 🕒 waiting list #2" in second.text
    await parent.tap("10. Booking · Lucas")
    detail = await parent.next_message()
    assert "Reason: Sortie complète" in detail.text and "Status: ❌ refused" in detail.text
    assert detail.button_rows == [["◀ Back", "✖ Close"]]


async def test_opening_the_list_closes_the_flow_in_progress(portal, telegram, bot):
    await ask_everything(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/reserver")
    await parent.wait_for_message(lambda m: "Lucas" in m.buttons)
    await parent.tap("Lucas")
    calendar = await parent.wait_for_message(lambda m: "9" in m.buttons)
    await parent.send_command("/demandes")
    screen = await parent.wait_for_message(lambda m: "Mes demandes" in (m.text or ""))
    assert "fermé" in parent.get_message(calendar.message_id).text
    # Typed text outside any flow is answered, and the list is left as it was.
    await parent.send_text("bonjour")
    await parent.next_message()
    assert parent.get_message(screen.message_id).text == screen.text
    await parent.tap("3. Inscription · Emma", message=screen)
    detail = await parent.next_message()
    assert "Jours demandés : mercredi, vendredi" in detail.text
    await parent.tap("◀ Retour", message=detail)
    await parent.next_message()
    await parent.tap("🔎 Par type", message=screen)
    kinds = await parent.next_message()
    await parent.tap("Absences et certificats", message=kinds)
    absences = await parent.next_message()
    await parent.tap("2. Absence · Lucas", message=absences)
    absence = await parent.next_message()
    for line in (
        "Référence : ABS-0002",
        "Certificat médical envoyé.",
        "État : ❌ refusée (facturée)",
        "Motif : Certificat illisible",
    ):
        assert line in absence.text, line
