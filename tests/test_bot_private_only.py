"""Family data and linking only in private chats; every other kind of update handled on purpose.

Found black-box: in a group, /solde, /mesabsences, /documents or /reserver posted the family's
data for every member to read, and /start <invite> linked the group. Edited messages and
callbacks without a message raised errors.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import COMMANDS
from store.bookings import BookingService
from store.linking import LinkingService, LinkStatus
from store.models import Guardian, OutboxItem
from store.models.enums import Channel
from store.outbox import enqueue, notify_family
from tests.chat_helpers import linked_parent
from tests.helpers import build_town
from tests.messaging_helpers import add_services

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]
ERROR_WORDS = ("erreur", "error")


@pytest.fixture
async def town(portal, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    await add_services(portal.sessions)
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, [WEDNESDAYS[2]]
    )
    return town


async def _guardian(portal, email: str) -> Guardian:
    async with portal.sessions() as session:
        return await session.scalar(select(Guardian).where(Guardian.email == email))


async def _only_the_private_chat_notice(group) -> None:
    """The group got one message, the notice with the link, and the bot left."""
    for _ in range(100):
        if group.left:
            break
        await asyncio.sleep(0.02)
    texts = [message.text for message in group.messages]
    assert len(texts) == 1, texts
    assert "conversation privée" in texts[0] and "https://t.me/" in texts[0]
    assert group.left


@pytest.mark.parametrize("kind", ["group", "supergroup"])
@pytest.mark.parametrize(
    "command", [f"/{name}" for name in COMMANDS] + ["/help", "/cantine", "bonjour la cantine"]
)
async def test_in_a_group_no_family_data_is_shown(portal, telegram, bot, town, kind, command):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    group = telegram.add_group(parent, kind=kind)
    await group.send_text(command)
    await group.wait_for_message()
    await group.assert_no_message(0.2)
    await _only_the_private_chat_notice(group)
    await parent.assert_no_message(0.05)


async def test_an_invite_link_typed_in_a_group_links_nothing(portal, telegram, bot, town):
    token = await portal.linking.create_invite("parent.f1@exemple.fr", timedelta(hours=1))
    member = telegram.add_user(first_name="Camille", language_code="fr")
    group = telegram.add_group(member)
    await group.send_command(f"/start {token}")
    await group.wait_for_message()
    await _only_the_private_chat_notice(group)
    guardian = await _guardian(portal, "parent.f1@exemple.fr")
    assert guardian.telegram_user_id is None and guardian.telegram_chat_id is None
    await member.send_command(f"/start {token}")  # the same link still works in private
    assert "relié" in (await member.next_message()).text


async def test_a_button_tapped_in_a_group_is_refused(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    group = telegram.add_group(parent)
    await group.send_text("/menu")
    await group.wait_for_message()
    notice = group.last_message
    query_id, answered = telegram.new_callback_query(group)
    telegram.enqueue_update(
        {
            "callback_query": {
                "id": query_id,
                "from": parent.user_dict,
                "message": telegram.message_dict(notice),
                "chat_instance": "group",
                "data": "menu:balance",
            }
        }
    )
    await answered
    assert len(group.messages) == 1


async def test_a_channel_or_a_group_that_adds_the_bot_is_left(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    group = telegram.add_group(parent, kind="supergroup")
    group.bot_added()
    await group.wait_for_message()
    await _only_the_private_chat_notice(group)
    channel = telegram.add_group(parent, kind="channel", title="Infos école")
    await channel.send_text("/solde")
    await channel.wait_for_message()
    await _only_the_private_chat_notice(channel)


async def test_the_store_links_and_writes_to_private_chats_only(portal, town):
    linking = LinkingService(portal.sessions, portal.clock)
    token = await linking.create_invite("parent.f1@exemple.fr", timedelta(hours=1))
    refused = await linking.redeem_invite(token, 4242, chat_id=-1004242)
    assert refused.status is LinkStatus.NOT_PRIVATE
    assert (await linking.redeem_invite(token, 4242, chat_id=4242)).status is LinkStatus.LINKED
    async with portal.sessions.begin() as session:
        queued = await enqueue(
            session,
            channel=Channel.TELEGRAM,
            recipient="-1004242",
            kind="test",
            payload={},
            dedup_key="group",
        )
        assert not queued
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0


async def test_an_edited_message_gets_a_note_and_changes_nothing(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/absence")
    await parent.wait_for_message(lambda m: "Lucas" in m.buttons)
    await parent.tap("Lucas")
    await parent.wait_for_message(lambda m: "Aujourd'hui" in m.buttons)
    typed = await parent.send_text("demain")
    await parent.wait_for_message(lambda m: "🤒 Maladie" in m.buttons)
    await parent.edit(typed, "après-demain")
    note = await parent.next_message()
    assert "modifié" in note.text
    assert not any(word in note.text.lower() for word in ERROR_WORDS)
    await parent.assert_no_message(0.1)
    await parent.tap("🤒 Maladie")  # the flow goes on
    assert "Certificat médical" in (await parent.next_message()).text


async def test_a_button_without_a_message_is_answered(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    answer = await parent.tap_inline("menu:balance")
    assert answer is not None and "plus valide" in answer.text
    await parent.assert_no_message(0.2)


async def test_inline_queries_show_no_family_data(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    parent.inline_query("solde")
    await telegram.wait_until_consumed()
    for _ in range(50):
        if telegram.inline_answers:
            break
        await asyncio.sleep(0.02)
    [answered] = telegram.inline_answers
    assert answered["results"] in ([], "[]")
    assert parent.messages[-1].text.startswith("Que souhaitez-vous faire")


async def test_a_reaction_is_ignored(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    parent.react(parent.last_message, "👍")
    await telegram.wait_until_consumed()
    await parent.assert_no_message(0.2)


async def test_a_parent_who_blocks_the_bot_gets_nothing_until_unblocked(
    portal, telegram, bot, town
):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    parent.member_status("member", "kicked")
    await telegram.wait_until_consumed()
    for _ in range(50):
        guardian = await _guardian(portal, "parent.f1@exemple.fr")
        if guardian.telegram_chat_id is None:
            break
        await parent.assert_no_message(0.02)
    assert guardian.telegram_chat_id is None and guardian.telegram_user_id == parent.id
    async with portal.sessions.begin() as session:
        assert await notify_family(session, town.family_id, "test", {}, "blocked") == 0
    parent.member_status("kicked", "member")
    await telegram.wait_until_consumed()
    for _ in range(50):
        guardian = await _guardian(portal, "parent.f1@exemple.fr")
        if guardian.telegram_chat_id == parent.id:
            break
        await parent.assert_no_message(0.02)
    assert guardian.telegram_chat_id == parent.id
    await parent.send_command("/solde")
    assert "Mon solde" in (await parent.next_message()).text
