"""Linking a Telegram account from an invite link, through the real application."""

from __future__ import annotations

from datetime import timedelta

from tests.chat_helpers import linked_parent
from tests.helpers import build_town


async def test_invite_link_links_once_and_shows_the_menu(portal, telegram, bot, clock):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    assert any("relié" in (m.text or "") for m in parent.messages)
    assert parent.last_message.buttons  # the menu
    other = telegram.add_user(first_name="Intrus")
    token = await portal.linking.create_invite("parent.f2@exemple.fr", timedelta(hours=1))
    await other.send_command(f"/start {token}")
    await other.wait_for_message(lambda m: "Que souhaitez-vous faire" in (m.text or ""))
    await other.send_command(f"/start {token}")
    assert "déjà servi" in (await other.next_message()).text


async def test_expired_and_invalid_links_are_explained(portal, telegram, bot, clock):
    await build_town(portal.sessions, [])
    user = telegram.add_user(first_name="Camille")
    token = await portal.linking.create_invite("parent.f1@exemple.fr", timedelta(minutes=5))
    clock.set(clock.now + timedelta(minutes=6))
    await user.send_command(f"/start {token}")
    assert "expiré" in (await user.next_message()).text
    await user.send_command("/start abc")
    assert "n'est pas valide" in (await user.next_message()).text
    await user.send_command("/start")
    assert "reliez d'abord votre compte" in (await user.next_message()).text
    await user.send_command("/reserver")
    assert "n'est pas relié" in (await user.next_message()).text


async def test_unlink_after_confirmation(portal, telegram, bot):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("🔌 Délier ce compte")
    assert "Délier ce compte" in (await parent.next_message()).text
    await parent.tap("Oui, délier")
    assert "n'est plus relié" in (await parent.next_message()).text
    await parent.send_command("/menu")
    assert "n'est pas relié" in (await parent.next_message()).text


async def test_commands_are_published_in_french_and_english(portal, telegram, bot):
    french = dict(telegram.commands("fr"))
    english = dict(telegram.commands("en"))
    assert french["reserver"] == "Réserver des jours"
    assert english["reserver"] == "Book days"
    assert set(french) == set(english) >= {"start", "menu", "reserver", "annuler", "abandon"}


async def test_the_phones_language_is_adopted_and_can_be_changed(portal, telegram, bot):
    await build_town(portal.sessions, [])
    user = telegram.add_user(first_name="Sam", language_code="en-GB")
    token = await portal.linking.create_invite("parent.f1@exemple.fr", timedelta(hours=1))
    await user.send_command(f"/start {token}")
    menu = await user.wait_for_message(lambda m: "What would you like to do" in (m.text or ""))
    assert "📅 Book days" in menu.buttons
    await user.send_command("/langue")
    assert "Choose your language" in (await user.next_message()).text
    await user.tap("Français")
    assert "je vous parlerai en français" in (await user.next_message()).text
    menu = await user.wait_for_message(lambda m: "Que souhaitez-vous faire" in (m.text or ""))
    assert "📅 Réserver des jours" in menu.buttons
