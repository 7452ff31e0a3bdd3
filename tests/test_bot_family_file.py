"""Mon dossier in the chat, end to end through the local Bot API: the file, changes applied at
once or decided by the family-file service from the command line, bad input, forged buttons,
a consent an activity requires, the yearly check."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import func, select, update

from store.models import Activity, Booking, Family, FileChange, Guardian, PickupPerson
from store.models.enums import BookingState, RequestStatus
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import speak_english
from tests.family_file_setup import ALLERGY, FILE_STAFF, add_file_staff, set_health
from tests.helpers import build_town, paris
from tests.staff_helpers import staff_command_aside

WED = date(2026, 12, 9)


async def _changes(portal) -> list[FileChange]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(FileChange).order_by(FileChange.id)))


async def _guardian(portal, email: str) -> Guardian:
    async with portal.sessions() as session:
        guardian = await session.scalar(select(Guardian).where(Guardian.email == email))
        assert guardian is not None
        return guardian


async def test_the_file_household_then_a_child_in_french(portal, telegram, bot):
    town = await build_town(portal.sessions, [])
    await set_health(portal.sessions, town.child_ids[1])
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Family)
            .where(Family.id == town.family_id)
            .values(
                address="12 rue des Lilas, 31000 Toulouse",
                quotient=850,
                quotient_on=date(2026, 9, 1),
            )
        )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/dossier")
    screen = await parent.next_message()
    assert screen.text.startswith("🗂 Mon dossier — Famille F1")
    assert "Adresse : 12 rue des Lilas, 31000 Toulouse" in screen.text
    assert (
        "Tranche tarifaire : QF2 — quotient familial 850 € (établi le 1 septembre 2026)"
        in screen.text
    )
    assert "Parent F1 — 📞 non renseigné — ✉️ parent.f1@exemple.fr" in screen.text
    assert screen.buttons == ["👧 Emma", "👧 Lucas", "✏️ Demander une modification", "☰ Menu"]
    await parent.tap("👧 Emma")
    child = await parent.next_message()
    assert child.message_id == screen.message_id  # navigation edits the same message
    assert "Emma F1" in child.text
    assert "Né(e) le 1 mai 2019" in child.text
    assert "École : École Jules Ferry — niveau CE1" in child.text
    assert f"Allergies : {ALLERGY}" in child.text and "PAI : oui" in child.text
    assert "• droit à l'image : sans réponse" in child.text
    assert "• autorisation de baignade : sans réponse" in child.text
    assert child.buttons == ["✏️ Modifier la fiche d'Emma", "🏠 Le foyer", "☰ Menu"]


async def test_a_phone_changed_in_english_applies_at_once_after_a_bad_one(portal, telegram, bot):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("✏️ Ask for a change")
    subject = await parent.next_message()
    assert subject.buttons[:3] == ["🏠 Household", "👧 Emma", "👧 Lucas"]
    await parent.tap("🏠 Household")
    fields = await parent.next_message()
    assert "Parent's phone" in fields.buttons
    await parent.tap("Parent's phone")
    await parent.next_message()
    await parent.send_text("12 34")
    refused = await parent.next_message()
    assert (
        "This phone number is not valid" in refused.text and "Nothing was changed" in refused.text
    )
    await parent.send_kind("sticker")
    assert "Type your answer as text" in (await parent.next_message()).text
    await parent.send_text("06 12 34 56 78")
    recap = await parent.next_message()
    assert "Parent's phone: “not given” → “06 12 34 56 78”" in recap.text
    assert "This change applies as soon as it is sent." in recap.text
    await parent.tap("📨 Send")
    done = await parent.next_message()
    assert "✅ Done, your file is up to date" in done.text
    assert (await _guardian(portal, "parent.f1@exemple.fr")).phone == "06 12 34 56 78"
    [change] = await _changes(portal)
    assert (change.field, change.status) == ("guardian.phone", RequestStatus.ACCEPTED)


async def test_an_invalid_email_and_a_pickup_person_without_phone_change_nothing(
    portal, telegram, bot
):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("✏️ Demander une modification")
    await parent.next_message()
    await parent.tap("🏠 Le foyer")
    await parent.next_message()
    await parent.tap("Email de Parent")
    await parent.next_message()
    await parent.send_text("parent.f1@@exemple")
    assert "Cette adresse email n'est pas valide" in (await parent.next_message()).text
    await parent.send_text("parent.f2@exemple.fr")
    recap = await parent.next_message()
    assert "Ce changement sera vérifié par le service Dossier famille" in recap.text
    await parent.tap("📨 Envoyer")
    taken = await parent.next_message()
    assert "déjà celle d'un autre compte" in taken.text and "Rien n'a été modifié" in taken.text

    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("👧 Lucas")
    await parent.next_message()
    await parent.tap("✏️ Modifier la fiche de Lucas")
    await parent.next_message()
    await parent.tap("➕ Personne autorisée")
    await parent.next_message()
    await parent.send_text("Josette Martin")
    assert "Le numéro de téléphone de Josette Martin" in (await parent.next_message()).text
    await parent.send_text("   ")
    assert "numéro de téléphone n'est pas valide" in (await parent.next_message()).text
    await parent.tap("✖ Abandonner")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    assert await _changes(portal) == []
    async with portal.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PickupPerson)) == 0
    assert (await _guardian(portal, "parent.f1@exemple.fr")).email == "parent.f1@exemple.fr"


async def test_a_forged_tap_on_another_familys_child_changes_nothing(portal, telegram, bot):
    town = await build_town(portal.sessions, [])
    await set_health(portal.sessions, town.other_child_id)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/dossier")
    screen = await parent.next_message()
    await forge_tap(telegram, parent, screen, f"ff:child:{town.other_child_id}")
    refused = await parent.next_message()
    assert "n'est pas possible depuis votre compte" in refused.text
    assert ALLERGY not in refused.text and "Jade" not in refused.text
    await forge_tap(telegram, parent, screen, f"menu:file:edit:{town.other_child_id}")
    assert "n'est pas possible" in (await parent.next_message()).text
    await parent.tap("✏️ Demander une modification", message=screen)
    subject = await parent.next_message()
    await forge_tap(telegram, parent, subject, f"fc:who:{town.other_child_id}")
    assert "n'est pas possible" in (await parent.next_message()).text
    assert await _changes(portal) == []


async def test_a_pickup_person_accepted_by_the_file_service_then_visible(portal, telegram, bot):
    town = await build_town(portal.sessions, [])
    await add_file_staff(portal.sessions, town.activity_id)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("👧 Lucas")
    await parent.next_message()
    await parent.tap("✏️ Modifier la fiche de Lucas")
    await parent.next_message()
    await parent.tap("➕ Personne autorisée")
    await parent.next_message()
    await parent.send_text("Josette Martin")
    await parent.next_message()
    await parent.send_text("0698765432")
    await parent.next_message()
    await parent.send_text("grand-mère")
    recap = await parent.next_message()
    assert (
        "Personne autorisée à ajouter : Josette Martin, 06 98 76 54 32 (grand-mère)" in recap.text
    )
    await parent.tap("📨 Envoyer")
    assert "Demande envoyée au service Dossier famille" in (await parent.next_message()).text
    [change] = await _changes(portal)
    assert change.status is RequestStatus.PENDING
    await parent.send_command("/dossier")
    screen = await parent.next_message()
    assert "⏳ En attente de validation par le service" in screen.text
    assert (
        "• personne autorisée à récupérer l'enfant (ajout) (Lucas) : "
        "Josette Martin, 06 98 76 54 32 (grand-mère)" in screen.text
    )

    status, out, _ = await staff_command_aside(portal.settings, "changes", "list")
    assert status == 0 and f"#{change.id}" in out and "pickup.add" in out
    status, out, err = await staff_command_aside(
        portal.settings, "changes", "accept", str(change.id), "--as", "n.belkacem@montclar.example"
    )
    assert status == 2 and "Only staff of the family-file service" in err
    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings, "changes", "accept", str(change.id), "--as", FILE_STAFF
    )
    assert (status, out) == (0, f"Change #{change.id} accepted. The family is told.\n")
    notice = await parent.wait_for_message(
        lambda m: "a accepté votre modification" in (m.text or "")
    )
    assert "Lucas" in notice.text
    status, out, _ = await staff_command_aside(
        portal.settings, "changes", "refuse", str(change.id), "--as", FILE_STAFF, "--reason", "non"
    )
    assert status == 0 and "decided already (accepted): nothing changed" in out

    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("👧 Lucas")
    child = await parent.next_message()
    assert "Josette Martin — 📞 06 98 76 54 32 — grand-mère" in child.text


async def test_staff_refuse_with_a_reason_and_the_english_parent_reads_it(portal, telegram, bot):
    town = await build_town(portal.sessions, [])
    await add_file_staff(portal.sessions, town.activity_id)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    change = await portal.family_file.request_change(
        town.guardian, "family.address", "3 impasse des Roses"
    )
    status, _, err = await staff_command_aside(
        portal.settings, "changes", "refuse", str(change.id), "--as", FILE_STAFF
    )
    assert status == 2 and "--reason" in err
    parent.mark()
    status, out, _ = await staff_command_aside(
        portal.settings,
        "changes",
        "refuse",
        str(change.id),
        "--as",
        FILE_STAFF,
        "--reason",
        "Please send a proof of address first.",
    )
    assert out == f"Change #{change.id} refused. The family is told.\n"
    notice = await parent.wait_for_message(lambda m: "refused your change" in (m.text or ""))
    assert notice.text == (
        "❌ The family-file service refused your change: address.\n"
        "Reason: Please send a proof of address first."
    )
    await parent.send_command("/dossier")
    screen = await parent.next_message()
    assert screen.text.startswith("🗂 My file — Famille F1\n🏠 Address: not given")
    assert "Awaiting the service's validation" not in screen.text  # decided: no longer waiting
    await parent.tap("👧 Emma")
    child = await parent.next_message()
    assert "🎂 Born on 1 May 2019" in child.text
    assert "• image rights: not answered" in child.text
    assert child.buttons == ["✏️ Change Emma's file", "🏠 Household", "☰ Menu"]


async def _book_lucas_on_the_9th(parent):
    await parent.send_command("/reserver")
    assert "Pour quel enfant" in (await parent.next_message()).text
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.tap("9")
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    if "✅ Confirmer" not in recap.buttons:  # nothing can be booked: the recap says why
        said = recap.text
        await parent.tap("✖ Abandonner")
        await parent.next_message()
        return said
    await parent.tap("✅ Confirmer")
    return (await parent.next_message()).text


async def test_a_missing_consent_blocks_a_booking_until_given_from_the_chat(
    portal, telegram, bot, clock
):
    town = await build_town(portal.sessions, [WED])
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Activity)
            .where(Activity.id == town.activity_id)
            .values(required_consents=["outings"])
        )
    clock.set(paris(date(2026, 11, 24)))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    refused = await _book_lucas_on_the_9th(parent)
    assert (
        "autorisation manquante : autorisation de sortie — à donner dans « 🗂 Mon dossier »"
        in refused
    )
    async with portal.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Booking)) == 0

    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("👧 Lucas")
    await parent.next_message()
    await parent.tap("✏️ Modifier la fiche de Lucas")
    await parent.next_message()
    await parent.tap("Autorisation de sortie")
    ask = await parent.next_message()
    assert "Autorisation de sortie : donnez-vous votre autorisation ?" in ask.text
    await parent.tap("✅ Je donne mon autorisation")
    recap = await parent.next_message()
    assert "« sans réponse » → « donnée ✅ »" in recap.text
    await parent.tap("📨 Envoyer")
    assert "C'est fait" in (await parent.next_message()).text

    booked = await _book_lucas_on_the_9th(parent)  # the same minute
    assert "✅ mer. 9 déc. — Lucas : réservé" in booked
    async with portal.sessions() as session:
        assert await session.scalar(select(Booking.state)) is BookingState.CONFIRMED


async def test_the_yearly_check_asks_once_a_day(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, [])
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Family)
            .where(Family.id == town.family_id)
            .values(
                created_at=datetime(2025, 3, 1, tzinfo=UTC),
                file_checked_at=datetime(2025, 9, 5, tzinfo=UTC),
            )
        )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    check = await parent.wait_for_message(
        lambda m: "votre dossier famille est-il toujours à jour" in (m.text or "")
    )
    assert check.buttons == ["✅ Tout est à jour", "✏️ Modifier"]
    await parent.send_command("/menu")
    await parent.next_message()
    await parent.assert_no_message(0.5)  # asked once a day at most
    await parent.tap("✏️ Modifier", message=check)
    assert "Mon dossier" in (await parent.next_message()).text
    await parent.tap("✅ Tout est à jour", message=check)
    assert "Merci ! Votre dossier est confirmé" in (await parent.next_message()).text
    async with portal.sessions() as session:
        checked = await session.scalar(
            select(Family.file_checked_at).where(Family.id == town.family_id)
        )
    assert checked is not None and checked.year == 2026
    # The next day, confirmed: not asked again.
    clock.set(paris(date(2026, 11, 25)))
    await parent.send_command("/menu")
    await parent.next_message()
    await parent.assert_no_message(0.5)


async def test_the_service_email_says_a_health_detail_changed_never_its_value(
    portal, bot, smtp_sink
):
    town = await build_town(portal.sessions, [])
    await add_file_staff(portal.sessions, town.activity_id)
    await set_health(portal.sessions, town.child_ids[0])
    change = await portal.family_file.request_change(
        town.guardian, "child.allergies", "Kiwi et lait de vache", child_id=town.child_ids[0]
    )
    for _ in range(200):  # the mail worker polls every second
        if smtp_sink.messages:
            break
        await asyncio.sleep(0.05)
    [mail] = smtp_sink.messages
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "dossier@montclar.example"
    assert "Modification du dossier à valider — Famille F1 — allergies" in mail["Subject"]
    assert "allergies : un détail de santé a changé" in body
    assert f"portail staff changes accept {change.id} --as VOTRE_EMAIL" in body
    assert "Kiwi" not in body and ALLERGY not in body and "Arachides" not in body

    # The command line shows the values only to those who may read them.
    _, out, _ = await staff_command_aside(portal.settings, "changes", "show", str(change.id))
    assert "a health detail changed" in out and "Kiwi" not in out and "Arachides" not in out
    _, out, _ = await staff_command_aside(
        portal.settings, "changes", "show", str(change.id), "--as", "regie@montclar.example"
    )
    assert "Kiwi" not in out
    _, out, _ = await staff_command_aside(
        portal.settings, "changes", "show", str(change.id), "--as", FILE_STAFF
    )
    assert f"Change: {ALLERGY} -> Kiwi et lait de vache" in out
