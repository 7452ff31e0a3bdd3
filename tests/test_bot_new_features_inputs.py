"""The newest chat features as a demanding parent tries them, end to end through the local Bot
API: "qui a consulté mes documents ?" typed freely (French and English) opens the access log;
a reminder tapped again after everything was booked says so (not "nothing booked last time")
and offers the calendar; a reminder tapped after its period closed says it is over and changes
nothing; "✅ Confirmer" tapped twice at once books once; a flow opened from a reminder is closed
cleanly by a command typed inside it; counts of one day read "1 jour" / "1 day"."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from conversations.access_log import what_words
from conversations.reminders import counted, pick_buttons
from handlers.intents import Intent, intents_of
from store.access_log import HEALTH, AccessView
from store.models import Booking, Guardian, ReminderSkip
from store.models.enums import GuardianVisibility
from tests.chat_helpers import forge_tap, linked_parent
from tests.enrolment_helpers import build_enrolment_town
from tests.family_file_helpers import speak_english
from tests.helpers import build_town, paris
from tests.test_bot_reminders import LUCAS_DAYS, _reminder, _town_and_parent
from tests.test_reminders import DEADLINE, DECEMBER

ACCESS_LOG_TITLE = {"fr": "Qui a consulté vos données", "en": "Who looked at your data"}
ACCESS_PHRASES = {
    "fr": [
        "qui a consulté mes documents ?",
        "Qui a vu mes documents",
        "qui a accès à nos données",
    ],
    "en": ["who read my documents?", "Who has seen our data", "who viewed my files"],
}


async def _december_bookings(portal) -> int:
    async with portal.sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Booking).where(Booking.day >= DECEMBER)
        )


async def _settles(parent, message_id: int, words: str, check=lambda message: True):
    """The message once its text says `words` and `check` holds (an edit lands just after the
    tap's answer)."""
    async with asyncio.timeout(5):
        while True:
            message = parent.get_message(message_id)
            if message is not None and words in (message.text or "") and check(message):
                return message
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("qui a consulté mes documents ?", Intent.ACCESS_LOG),
        ("Qui a vu mes documents", Intent.ACCESS_LOG),
        ("qui a regardé les infos santé de Lucas", Intent.ACCESS_LOG),
        ("who read my documents", Intent.ACCESS_LOG),
        ("who has accessed our data?", Intent.ACCESS_LOG),
        ("consultations", Intent.ACCESS_LOG),
        ("mes documents", Intent.DOCUMENTS),
        ("je veux envoyer un document", Intent.DOCUMENTS),
        ("qui a vu mon message ?", Intent.MESSAGE),
        ("qui a accès à mes données ?", Intent.ACCESS_LOG),
        ("supprimer mes données", Intent.PRIVACY),
        ("je ne veux plus de rappels", Intent.REMINDERS),
        ("voir le planning du mois", Intent.PLANNING),
        ("pouvez-vous me rappeler demain ?", None),
    ],
)
def test_who_read_my_documents_is_its_own_intent(phrase, expected):
    found = intents_of(phrase)
    assert (found[0] if found else None) is expected


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_asking_who_read_our_documents_shows_the_access_log(portal, telegram, bot, language):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    if language == "en":
        await speak_english(portal, parent)
    close = "✖ Fermer" if language == "fr" else "✖ Close"
    for phrase in ACCESS_PHRASES[language]:
        await parent.send_text(phrase)
        shown = await parent.next_message()
        assert ACCESS_LOG_TITLE[language] in shown.text, phrase
        assert shown.buttons == [close]
    await parent.tap(close, message=shown)
    closed = await parent.next_message()
    assert close not in closed.buttons
    # From Mes données, the log has a way back to it.
    await parent.send_command("/mesdonnees")
    home = await parent.next_message()
    await parent.tap(home.buttons[2], message=home)
    log = await _settles(parent, home.message_id, ACCESS_LOG_TITLE[language])
    back = "↩ Retour" if language == "fr" else "↩ Back"
    assert log.buttons == [back, close]
    await parent.tap(back, message=log)
    await _settles(parent, home.message_id, "Mes données" if language == "fr" else "My data")
    # A plain "my documents" still offers the documents, not the access log.
    await parent.send_text("mes documents" if language == "fr" else "my documents")
    offer = await parent.next_message()
    assert ACCESS_LOG_TITLE[language] not in offer.text
    assert ("📎 Mes documents" if language == "fr" else "📎 My documents") in offer.buttons


@pytest.mark.parametrize(
    ("language", "phrase", "button", "screen"),
    [
        ("fr", "je ne veux plus recevoir les rappels", "⏰ Rappels", "Rappels avant"),
        ("fr", "supprimer mes données", "🔒 Mes données", "Demander l'effacement"),
        ("fr", "RGPD", "🔒 Mes données", "Télécharger nos données"),
        ("fr", "mon planning", "🗓 Mon planning", None),
        ("en", "stop the reminders please", "⏰ Reminders", "Reminders before"),
        ("en", "delete my data", "🔒 My data", "Ask for erasure"),
        ("en", "my schedule", "🗓 My planning", None),
    ],
)
async def test_free_text_about_the_new_screens_offers_them(
    portal, telegram, bot, language, phrase, button, screen
):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    if language == "en":
        await speak_english(portal, parent)
    await parent.send_text(phrase)
    offer = await parent.next_message()
    assert offer.buttons[0] == button, offer.buttons
    await parent.tap(button, message=offer)
    if screen is None:
        await parent.wait_for_message(lambda m: m.photo is not None)
    else:
        await parent.wait_for_message(
            lambda m: screen in (m.text or "") or any(screen in label for label in m.buttons)
        )


async def test_same_as_last_month_again_after_booking_says_it_is_booked(
    portal, telegram, clock, bot
):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    same = reminder.inline_keyboard[0][0]["callback_data"]
    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    recap = await parent.next_message()
    await parent.tap("✅ Confirmer", message=recap)
    await parent.next_message()
    booked = await _december_bookings(portal)
    assert booked == len(LUCAS_DAYS)

    # The reminder's button again (an older copy of it, the eve's, or a quick second tap).
    await forge_tap(telegram, parent, reminder, same)
    again = await parent.next_message()
    assert f"Lucas : déjà réservé ({len(LUCAS_DAYS)} j)" in again.text
    assert "Lucas : aucun jour à reprendre" not in again.text
    assert "Tout est déjà réservé" in again.text
    assert "✅ Confirmer" not in again.buttons
    assert "📅 Choisir les jours de Lucas" in again.buttons and "Annuler" in again.buttons
    await parent.tap("📅 Choisir les jours de Lucas", message=again)
    calendar = await parent.wait_for_message(lambda m: "Lucas" in (m.text or ""))
    assert "décembre 2026" in calendar.text
    assert await _december_bookings(portal) == booked


async def test_confirm_tapped_twice_at_once_books_once(portal, telegram, clock, bot):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    recap = await parent.next_message()
    data = recap.inline_keyboard[0][0]["callback_data"]
    answers = await asyncio.gather(
        forge_tap(telegram, parent, recap, data), forge_tap(telegram, parent, recap, data)
    )
    assert all(answer is not None for answer in answers)
    done = await parent.wait_for_message(lambda m: "C'est réservé" in (m.text or ""))
    assert f"{len(LUCAS_DAYS)} jours pour CL Mercredis" in done.text
    assert await _december_bookings(portal) == len(LUCAS_DAYS)


async def test_an_older_recap_confirmed_after_another_says_the_days_are_booked(
    portal, telegram, clock, bot
):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    same = reminder.inline_keyboard[0][0]["callback_data"]
    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    first = (await parent.next_message()).inline_keyboard[0][0]["callback_data"]
    # "Comme le mois dernier" tapped twice quickly: a second recap, with its own confirm.
    await forge_tap(telegram, parent, reminder, same)
    second = (await parent.next_message()).inline_keyboard[0][0]["callback_data"]
    assert first != second and first.startswith("rm:ok:")
    await forge_tap(telegram, parent, reminder, second)
    done = await parent.wait_for_message(lambda m: "C'est réservé" in (m.text or ""))
    assert f"{len(LUCAS_DAYS)} jours" in done.text
    await forge_tap(telegram, parent, reminder, first)
    again = await _settles(parent, reminder.message_id, "Rien de plus à réserver")
    assert "déjà réservés" in again.text and "Aucun jour n'a pu" not in again.text
    assert await _december_bookings(portal) == len(LUCAS_DAYS)


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_a_reminder_tapped_after_its_period_closed_changes_nothing(
    portal, telegram, clock, bot, language
):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    if language == "en":
        await speak_english(portal, parent)
    reminder = await _reminder(portal, parent, clock)
    await parent.tap(reminder.buttons[0], message=reminder)
    recap = await parent.next_message()
    confirm, back = (button["callback_data"] for button in recap.inline_keyboard[0])
    same = reminder.inline_keyboard[0][0]["callback_data"]
    skip = reminder.inline_keyboard[-1][0]["callback_data"]

    clock.set(DEADLINE + timedelta(hours=1))
    over = {
        "fr": ("plus d'actualité", "vendredi 20 novembre à 12 h", "Rien n'a été changé"),
        "en": ("is over", "Friday 20 November, 12:00", "Nothing was changed"),
    }[language]
    for data in (confirm, same, skip, back):
        answer = await forge_tap(telegram, parent, recap, data)
        assert answer is not None and over[0] in (answer.text or ""), data
        said = await _settles(parent, recap.message_id, over[0])
        assert all(words in said.text for words in over), said.text
        assert said.buttons == ["☰ Menu"]
    assert await _december_bookings(portal) == 0
    async with portal.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ReminderSkip)) == 0


async def test_a_command_inside_the_calendar_a_reminder_opened_closes_it_cleanly(
    portal, telegram, clock, bot
):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    await parent.tap("📅 Choisir les jours de Lucas", message=reminder)
    calendar = await parent.wait_for_message(lambda m: "Lucas" in (m.text or ""))
    await parent.send_kind("sticker")
    sticker = await parent.next_message()
    assert "autocollant" in sticker.text
    await parent.send_command("/rappels")
    await parent.wait_for_message(lambda m: "Rappels avant" in (m.text or ""))
    assert "fermé" in (parent.get_message(calendar.message_id).text or "")
    # Nothing is left open: free text is read at the menu again, not by the old calendar.
    await parent.send_text("qui a vu mes documents ?")
    shown = await parent.next_message()
    assert "Qui a consulté vos données" in shown.text
    # The reminder's own buttons still work after all that.
    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    recap = await parent.next_message()
    assert recap.buttons == ["✅ Confirmer", "Annuler"]


async def test_same_as_last_month_inside_the_calendar_closes_the_calendar(
    portal, telegram, clock, bot
):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    await parent.tap("📅 Choisir les jours de Lucas", message=reminder)
    calendar = await parent.wait_for_message(lambda m: "Lucas" in (m.text or ""))
    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    recap = await _settles(parent, reminder.message_id, "Comme la dernière fois")
    # The calendar (which would still show those days free) is closed, said in its place.
    assert "fermé" in (parent.get_message(calendar.message_id).text or "")
    await parent.tap("✅ Confirmer", message=recap)
    await _settles(parent, reminder.message_id, "C'est réservé")
    # Nothing is left waiting for a date: typed text is read at the menu.
    await parent.send_text("réserver la cantine")
    offer = await parent.next_message()
    assert "📅 Réserver des jours" in offer.buttons
    assert await _december_bookings(portal) == len(LUCAS_DAYS)


def test_a_name_starting_with_a_vowel_is_elided_in_french():
    buttons = pick_buttons([(1, "Emma"), (2, "Lucas"), (3, "Élise")], 7, "fr")
    assert [row[0].text for row in buttons] == [
        "📅 Choisir les jours d'Emma",
        "📅 Choisir les jours de Lucas",
        "📅 Choisir les jours d'Élise",
    ]
    english = pick_buttons([(1, "Emma")], 7, "en") + pick_buttons(
        [(1, "Emma"), (2, "Léo")], 7, "en"
    )
    assert [row[0].text for row in english][1:] == [
        "📅 Choose Emma's days",
        "📅 Choose Léo's days",
    ]


def test_the_access_log_elides_before_a_vowel_in_french():
    def read(child: str) -> AccessView:
        return AccessView(paris(date(2026, 11, 2)), "Dossier", None, HEALTH, 1, "file", child)

    assert what_words(read("Emma"), "fr") == "les informations de santé d'Emma"
    assert what_words(read("Lucas"), "fr") == "les informations de santé de Lucas"
    assert what_words(read("Emma"), "en") == "Emma's health details"


def test_one_day_is_said_in_the_singular():
    assert counted("reminder.recap_total", 1, "fr", amount="3,20 €") == (
        "Total : <b>3,20 €</b> pour 1 jour. Confirmer ?"
    )
    assert counted("reminder.recap_total", 2, "fr", amount="6,40 €").endswith(
        "pour 2 jours. Confirmer ?"
    )
    assert counted("reminder.booked", 1, "en", activity="Canteen", amount="€3.20") == (
        "✅ Booked: 1 day of Canteen, €3.20."
    )
    assert "(1 day)" in counted("reminder.recap_already", 1, "en", child="Emma")
    assert "(2 days)" in counted("reminder.recap_already", 2, "en", child="Emma")
    for key in ("reminder.booked_pending", "reminder.booked_waitlisted"):
        assert "1 jour " in counted(key, 1, "fr") and "1 day " in counted(key, 1, "en")


async def test_a_day_booked_late_announces_no_deadline_already_past(portal, telegram, clock, bot):
    wednesdays = [date(2026, 11, 25), date(2026, 12, 2)]
    rules = {
        "booking": {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"},
        "late_booking": {"mode": "surcharge", "fixed": "2,00"},
    }
    await build_town(portal.sessions, wednesdays, rules=rules)
    clock.set(paris(date(2026, 11, 24)))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/planning")
    picture = await parent.wait_for_message(lambda m: m.photo is not None)
    await parent.tap("📝 Version texte", message=picture)
    words = await parent.next_message()
    # 25 November may still be booked, with a surcharge; its deadline (22 November) is past
    # and is not offered as one to meet.
    assert "25" in words.text and "22 novembre" not in words.text, words.text
    await parent.tap("▶", message=picture)
    await parent.wait_for_message(lambda m: "décembre" in (m.caption or ""))
    await parent.tap("📝 Version texte", message=picture)
    december = await parent.wait_for_message(lambda m: "décembre" in (m.text or ""))
    assert "dimanche 29 novembre à 12 h" in december.text, december.text


async def test_the_export_confirm_says_what_a_limited_guardian_will_get(portal, telegram, bot):
    town = await build_enrolment_town(portal.sessions)
    async with portal.sessions.begin() as session:
        session.add(
            Guardian(
                family_id=town.family_id,
                first_name="Alex",
                last_name="F1",
                email="alex.f1@exemple.fr",
                visibility=GuardianVisibility.LIMITED,
            )
        )
    full = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    limited = await linked_parent(portal, telegram, "alex.f1@exemple.fr", first_name="Alex")
    said = {}
    for name, user in (("full", full), ("limited", limited)):
        await user.send_command("/mesdonnees")
        await user.wait_for_message(lambda m: "Mes données" in (m.text or ""))
        await user.tap("📦 Télécharger nos données")
        said[name] = (await user.next_message()).text
    assert "dont les informations de santé des enfants" in said["full"]
    assert "sans les informations de santé des enfants" in said["limited"]
    assert "dont les informations de santé" not in said["limited"]
    await speak_english(portal, limited)
    await limited.tap("↩ Retour")
    await limited.wait_for_message(lambda m: "My data" in (m.text or ""))
    await limited.tap("📦 Download our data")
    english = await limited.next_message()
    assert "without the children's health details" in english.text
    assert english.buttons == ["✅ Send me the file", "↩ Back"]


async def test_langue_switches_the_new_screens_and_its_prompt_closes(portal, telegram, clock, bot):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    await parent.send_command("/langue")
    prompt = await parent.next_message()
    assert prompt.buttons == ["Français", "English", "✖ Fermer"]
    await parent.tap("English", message=prompt)
    await parent.wait_for_message(lambda m: "What would you like" in (m.text or ""))
    reminder = await _reminder(portal, parent, clock)
    assert reminder.buttons == [
        "🔁 Same as last month",
        "📅 Choose Lucas's days",
        "📅 Choose Emma's days",
        "🙅 Not needed this month",
    ]
    await parent.send_command("/rappels")
    settings = await parent.wait_for_message(lambda m: "Reminders before" in (m.text or ""))
    assert settings.buttons[-1] == "✖ Close"
    await parent.send_command("/langue")
    prompt = await parent.next_message()
    assert prompt.buttons == ["Français", "English", "✖ Close"]
    await parent.tap("✖ Close", message=prompt)
    closed = await _settles(parent, prompt.message_id, "", lambda m: "✖ Close" not in m.buttons)
    assert closed.buttons == ["☰ Menu"]
