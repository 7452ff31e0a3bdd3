"""Inscriptions in the chat, end to end: the activities offered with the family's price, a
request decided by staff on the command line (then booking the same minute), the waiting
list, forged buttons, and adding a new child."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from store.actors import Actor
from store.enrolments import EnrolmentService
from store.models import Booking, Child, ChildRegistration, Enrollment, EnrolmentRequest
from store.models.enums import BookingState, RequestStatus
from tests.chat_helpers import forge_tap, linked_parent
from tests.enrolment_helpers import (
    CENTRES_STAFF,
    FILE_STAFF,
    NURSERY_STAFF,
    build_enrolment_town,
)
from tests.family_file_helpers import speak_english
from tests.mail_helpers import wait_for_mails
from tests.staff_helpers import staff_command_aside

REASON = "Plus de place le lundi cette année."


async def _requests(portal) -> list[EnrolmentRequest]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(EnrolmentRequest).order_by(EnrolmentRequest.id)))


async def test_enrol_then_accepted_then_book_the_same_minute(portal, telegram, bot, smtp_sink):
    town = await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📝 Inscriptions")
    offer = await parent.next_message()  # an only child: straight to the activities
    assert "Inscriptions 2026-2027 — Lucas" in offer.text
    assert "CL Mercredis (École Jules Ferry)\n5,20\u00a0€ par jour · mercredi" in offer.text
    assert "Réservation jusqu'à 2 jours avant, à 12 h." in offer.text
    assert "Garderie du soir" in offer.text and "1,50\u00a0€ par jour" in offer.text
    assert "maternelle" not in offer.text  # PS to GS only
    assert offer.buttons == [
        "CL Mercredis",
        "Garderie du soir",
        "Stage nature",
        "➕ Ajouter un enfant",
        "✖ Abandonner",
    ]
    await parent.tap("CL Mercredis")
    ask = await parent.next_message()
    assert "À partir de quand ?" in ask.text
    assert ask.buttons == ["Dès que possible", "À partir du lun. 30 nov.", "✖ Abandonner"]
    await parent.send_text("02/11/2026")
    refused = await parent.next_message()
    assert refused.text == (
        "Le lundi 2 novembre 2026 est déjà passé : choisissez une date à partir d'aujourd'hui."
    )
    await parent.send_text("15/07/2027")
    refused = await parent.next_message()
    assert "est après la fin de l'année scolaire (samedi 3 juillet 2027)" in refused.text
    await parent.tap("Dès que possible", message=ask)
    recap = await parent.next_message()  # one weekday only: not asked
    assert "Enfant : Lucas\nActivité : CL Mercredis (École Jules Ferry)" in recap.text
    assert "Tarif : 5,20\u00a0€ par jour\nÀ partir du : mardi 24 novembre 2026" in recap.text
    assert "Jours : mercredi" in recap.text
    await parent.tap("✅ Envoyer la demande")
    sent = await parent.next_message()
    assert "✅ Demande envoyée : Lucas — CL Mercredis." in sent.text
    [request] = await _requests(portal)
    assert (request.child_id, request.status, request.weekdays) == (
        town.lucas_id,
        RequestStatus.PENDING,
        [2],
    )
    [mail] = await wait_for_mails(smtp_sink)
    assert mail["To"] == "cl@ville.fr"
    assert mail["Subject"] == (
        "Demande d'inscription : Lucas — CL Mercredis à partir du mardi 24 novembre 2026"
    )
    body = mail.get_body().get_content()
    assert "Jours : mercredi" in body
    assert f"portail staff enrolments accept {request.id}" in body

    # Only the activity's service decides; then booking opens at once.
    status, _, err = await staff_command_aside(
        portal.settings, "enrolments", "accept", str(request.id), "--as", NURSERY_STAFF
    )
    assert (status, err) == (2, "Only staff of the activity's service decide this request.\n")
    status, out, _ = await staff_command_aside(portal.settings, "enrolments", "list")
    assert f"#{request.id}  pending  Lucas (Famille F1)  CL Mercredis" in out
    status, out, _ = await staff_command_aside(portal.settings, "pending")
    assert "Enrolment requests: 1 waiting (portail staff enrolments list)" in out
    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings, "enrolments", "accept", str(request.id), "--as", CENTRES_STAFF
    )
    assert status == 0 and "accepted: Lucas is enrolled in CL Mercredis" in out
    notice = await parent.wait_for_message(lambda m: "Inscription acceptée" in (m.text or ""))
    assert notice.text == (
        "✅ Inscription acceptée : Lucas — CL Mercredis, à partir du mardi 24 novembre 2026. "
        "Vous pouvez réserver dès maintenant."
    )
    await parent.tap("📅 Réserver des jours", message=notice)
    calendar = await parent.wait_for_message(lambda m: "CL Mercredis" in (m.text or ""))
    await parent.tap("9", message=calendar)
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    assert "mer. 9 déc. — Lucas : 5,20\u00a0€" in recap.text
    await parent.tap("✅ Confirmer")
    done = await parent.next_message()
    assert "✅ mer. 9 déc. — Lucas : réservé" in done.text
    async with portal.sessions() as session:
        [booking] = await session.scalars(select(Booking))
    assert (booking.child_id, booking.day, booking.state) == (
        town.lucas_id,
        date(2026, 12, 9),
        BookingState.CONFIRMED,
    )


async def test_in_english_weekdays_chosen_then_refused_with_a_reason(portal, telegram, bot):
    town = await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/inscriptions")
    pick = await parent.next_message()
    assert "For which child?" in pick.text
    assert pick.buttons == ["Hugo", "Jade", "➕ Add a child", "✖ Abort"]
    await parent.tap("Jade")
    offer = await parent.next_message()
    assert "CL Mercredis (École Jules Ferry)\n€3.00 a day · Wednesday" in offer.text
    assert "Booking until the day before, at 18:00." in offer.text
    await parent.tap("Garderie du soir")
    await parent.next_message()
    await parent.send_text("4 January")
    days = await parent.next_message()
    assert "Which days of the week?" in days.text
    assert days.buttons == [
        "⬜ Monday",
        "⬜ Tuesday",
        "⬜ Thursday",
        "⬜ Friday",
        "Continue (0)",
        "✖ Abort",
    ]
    answer = await parent.tap("Continue (0)")
    assert answer is not None and answer.text == "Tick at least one day."
    await parent.tap("⬜ Monday")
    await parent.next_message()
    await parent.tap("⬜ Thursday")
    days = await parent.next_message()
    assert days.buttons[:4] == ["✅ Monday", "⬜ Tuesday", "✅ Thursday", "⬜ Friday"]
    await parent.tap("Continue (2)")
    recap = await parent.next_message()
    assert "From: Monday 4 January 2027\nDays: Monday, Thursday" in recap.text
    assert "Price: €1.50 a day" in recap.text
    await parent.tap("✅ Send the request")
    sent = await parent.next_message()
    assert "✅ Request sent: Jade — Garderie du soir." in sent.text
    [request] = await _requests(portal)
    assert (request.child_id, request.weekdays, request.starts_on) == (
        town.jade_id,
        [0, 3],
        date(2027, 1, 4),
    )

    status, _, err = await staff_command_aside(
        portal.settings, "enrolments", "refuse", str(request.id), "--as", NURSERY_STAFF
    )
    assert status == 2 and "--reason" in err  # a refusal needs a reason
    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings,
        "enrolments",
        "refuse",
        str(request.id),
        "--reason",
        REASON,
        "--as",
        NURSERY_STAFF,
    )
    assert status == 0
    notice = await parent.wait_for_message(lambda m: "refused" in (m.text or ""))
    assert notice.text == f"❌ Enrolment refused: Jade — Garderie du soir.\nReason: {REASON}"
    status, _, err = await staff_command_aside(
        portal.settings, "enrolments", "accept", str(request.id), "--as", NURSERY_STAFF
    )
    assert (status, err) == (2, f"Request #{request.id} was refused already.\n")
    async with portal.sessions() as session:
        assert (
            await session.scalar(
                select(func.count(Enrollment.id)).where(Enrollment.child_id == town.jade_id)
            )
            == 0
        )


async def test_a_full_activity_puts_the_request_on_the_waiting_list(portal, telegram, bot):
    town = await build_enrolment_town(portal.sessions, centre_capacity=1)
    service = EnrolmentService(portal.sessions, portal.clock)
    first = await service.request(
        town.guardian, town.lucas_id, town.centre_id, date(2026, 11, 25), [2]
    )
    await service.decide_enrolment(Actor.system(), first.id, True)
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr")
    await parent.send_command("/inscriptions")
    await parent.next_message()
    await parent.tap("Jade")
    offer = await parent.next_message()
    assert "⏳ Complet : une demande ira sur liste d'attente." in offer.text
    await parent.tap("CL Mercredis")
    await parent.next_message()
    await parent.tap("À partir du lun. 30 nov.")
    recap = await parent.next_message()
    assert "L'activité est complète : votre demande ira sur liste d'attente." in recap.text
    await parent.tap("✅ Envoyer la demande")
    sent = await parent.next_message()
    assert "sur liste d'attente, en position 1" in sent.text
    status, out, _ = await staff_command_aside(portal.settings, "enrolments", "list")
    assert "waitlisted #1  Jade (Famille F2)  CL Mercredis" in out
    status, _, err = await staff_command_aside(
        portal.settings, "enrolments", "accept", str((await _requests(portal))[-1].id)
    )
    assert status == 2 and "no enrolment place left" in err


async def test_documents_and_consents_needed_are_listed_with_a_button_to_send(
    portal, telegram, bot
):
    await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/inscriptions")
    await parent.next_message()
    await parent.tap("Stage nature")
    await parent.next_message()
    await parent.tap("À partir du lun. 30 nov.")
    days = await parent.next_message()
    assert days.buttons[:2] == ["✅ mercredi", "⬜ jeudi"]  # a leisure centre: Wednesday ticked
    await parent.tap("Continuer (1)")
    recap = await parent.next_message()
    assert "📎 À fournir avant de pouvoir réserver : carnet de vaccination." in recap.text
    assert "Autorisations à donner (dans « Mon dossier ») avant de pouvoir réserver : " in (
        recap.text
    )
    assert "autorisation de sortie" in recap.text
    await parent.tap("✅ Envoyer la demande")
    sent = await parent.next_message()
    assert "carnet de vaccination" in sent.text
    assert sent.buttons == ["📎 Envoyer un document", "✍️ Donner les autorisations", "☰ Menu"]
    await parent.tap("📎 Envoyer un document")
    kinds = await parent.next_message()
    assert "Carnet de vaccination" in kinds.buttons  # the documents flow, opened right there


async def test_the_consents_an_activity_needs_are_given_right_after_enrolling(
    portal, telegram, bot
):
    await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/inscriptions")
    await parent.next_message()
    await parent.tap("Stage nature")
    await parent.next_message()
    await parent.tap("À partir du lun. 30 nov.")
    await parent.next_message()
    await parent.tap("Continuer (1)")
    await parent.next_message()
    await parent.tap("✅ Envoyer la demande")
    sent = await parent.next_message()
    # The family file's change flow, opened on this child: the consents are one tap away.
    await parent.tap("✍️ Donner les autorisations", message=sent)
    fields = await parent.wait_for_message(lambda m: "Autorisation de sortie" in m.buttons)
    assert "Droit à l'image" in fields.buttons and "✖ Abandonner" in fields.buttons


async def test_forged_buttons_change_nothing(portal, telegram, bot):
    town = await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr")
    await parent.send_command("/inscriptions")
    pick = await parent.next_message()
    # Another family's child.
    await forge_tap(telegram, parent, pick, f"en:child:{town.lucas_id}")
    refused = await parent.next_message()
    assert refused.text == "Cette action n'est pas possible depuis votre compte."
    await parent.tap("Jade", message=pick)
    offer = await parent.next_message()
    # An activity Jade (CP) may not join: the nursery is for PS to GS.
    await forge_tap(telegram, parent, offer, f"en:act:{town.nursery_id}")
    refused = await parent.next_message()
    assert "n'est pas ouverte à l'inscription pour cet enfant" in refused.text
    # A weekday the activity does not open on.
    await parent.tap("Garderie du soir", message=offer)
    ask = await parent.next_message()
    await parent.tap("Dès que possible", message=ask)
    days = await parent.next_message()
    answer = await forge_tap(telegram, parent, days, "en:wd:2")
    assert answer is not None and answer.text == "L'activité n'ouvre pas ce jour-là."
    # Free text where a tap is expected is pointed at the buttons; abort changes nothing.
    await parent.send_text("mercredi")
    assert (await parent.next_message()).text == "Utilisez les boutons ci-dessus, ou ✖ Abandonner."
    await parent.tap("✖ Abandonner", message=days)
    assert "rien n'a été modifié" in (await parent.next_message()).text
    assert await _requests(portal) == []


async def test_add_a_child_then_accepted_it_is_in_the_picker(portal, telegram, bot, smtp_sink):
    town = await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/inscriptions")
    await parent.next_message()
    await parent.tap("➕ Ajouter un enfant")
    ask = await parent.next_message()
    assert "Quel est son prénom ?" in ask.text
    await parent.send_kind("sticker")
    assert (await parent.next_message()).text == (
        "Écrivez votre réponse au clavier, ou ✖ Abandonner."
    )
    await parent.send_text("Léa")
    assert "Quel est le nom de famille de Léa ?" in (await parent.next_message()).text
    await parent.send_text("Martin")
    assert "date de naissance de Léa" in (await parent.next_message()).text
    await parent.send_text("12/03/2030")
    refused = await parent.next_message()
    assert refused.text.startswith("Le mardi 12 mars 2030 est dans le futur")
    await parent.send_text("31/02/2021")
    assert "Je n'ai pas compris cette date" in (await parent.next_message()).text
    await parent.send_text("12/03/2022")
    levels = await parent.next_message()
    assert levels.buttons == [
        "PS",
        "MS",
        "GS",
        "CP",
        "CE1",
        "CE2",
        "CM1",
        "CM2",
        "Pas encore scolarisé",
        "✖ Abandonner",
    ]
    await parent.tap("MS")
    recap = await parent.next_message()
    assert "Prénom : Léa\nNom : Martin\nNé(e) le : samedi 12 mars 2022\nClasse : MS" in (
        recap.text
    )
    await parent.tap("✅ Envoyer la demande")
    sent = await parent.next_message()
    assert "l'ajout de Léa attend la décision du service Dossier famille" in sent.text
    async with portal.sessions() as session:
        [registration] = await session.scalars(select(ChildRegistration))
    [mail] = await wait_for_mails(smtp_sink)
    assert mail["To"] == "dossier@ville.fr"
    assert mail["Subject"] == "Ajout d'un enfant au dossier : Léa Martin"

    status, _, err = await staff_command_aside(
        portal.settings, "registrations", "accept", str(registration.id), "--as", CENTRES_STAFF
    )
    assert (status, err) == (2, "Only staff of the family-file service decide a new child.\n")
    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings, "registrations", "accept", str(registration.id), "--as", FILE_STAFF
    )
    assert status == 0 and "Léa Martin joins Famille F1" in out
    notice = await parent.wait_for_message(lambda m: "dans votre dossier" in (m.text or ""))
    assert notice.text == (
        "✅ Léa est maintenant dans votre dossier. Vous pouvez l'inscrire aux activités."
    )
    await parent.tap("📝 Inscriptions", message=notice)
    pick = await parent.next_message()
    # Ordered as the database sorts names (accents vary with the collation).
    assert set(pick.buttons[:2]) == {"Léa", "Lucas"}
    assert pick.buttons[2:] == ["➕ Ajouter un enfant", "✖ Abandonner"]
    async with portal.sessions() as session:
        lea = await session.scalar(select(Child).where(Child.first_name == "Léa"))
    assert lea.family_id == town.family_id and lea.birth_date == date(2022, 3, 12)


async def test_a_new_child_refused_in_english_is_told_with_the_reason(portal, telegram, bot):
    await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/inscriptions")
    await parent.next_message()
    await parent.tap("➕ Add a child")
    await parent.next_message()
    await parent.send_text("Tom")
    await parent.next_message()
    await parent.send_text("Martin")
    await parent.next_message()
    await parent.send_text("01/09/2020")
    await parent.next_message()
    await parent.tap("Not at school yet")
    recap = await parent.next_message()
    assert "Class: Not at school yet" in recap.text
    await parent.tap("✅ Send the request")
    await parent.next_message()
    async with portal.sessions() as session:
        [registration] = await session.scalars(select(ChildRegistration))
    parent.mark()
    status, _, _ = await staff_command_aside(
        portal.settings,
        "registrations",
        "refuse",
        str(registration.id),
        "--reason",
        "Tom est déjà inscrit dans le dossier de son autre parent.",
        "--as",
        FILE_STAFF,
    )
    assert status == 0
    notice = await parent.wait_for_message(lambda m: "refused" in (m.text or ""))
    assert notice.text == (
        "❌ Adding Tom to your file was refused.\n"
        "Reason: Tom est déjà inscrit dans le dossier de son autre parent."
    )
    async with portal.sessions() as session:
        assert (
            await session.scalar(select(func.count(Child.id)).where(Child.first_name == "Tom"))
            == 0
        )
