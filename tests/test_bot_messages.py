"""Writing to a service and reading its answers in the chat, end to end through the Bot API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.runner import running_bot
from conversations.messages import (
    HISTORY_MESSAGES,
    MENU_MESSAGES,
    TEXT_LIMIT,
    history_text,
    staff_reply_notice,
)
from store.messaging import MessageView, MessagingService, ThreadView
from store.models import Document, Message, MessageAttachment, OutboxItem, Thread
from store.models.enums import Channel, DeliveryState, Language, MessageDirection
from store.models.message_links import ChatCopy
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import tiny_jpeg, tiny_pdf
from tests.helpers import build_town
from tests.messaging_helpers import add_services

PDF = tiny_pdf()

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "pick": "À quel service souhaitez-vous écrire ?",
        "ask": "Écrivez votre message.",
        "prompt": "puis touchez « Envoyer »",
        "attached": "Pièces jointes (1) : ordonnance.pdf",
        "send": "📨 Envoyer",
        "sent": "✅ Message envoyé au service Centres de loisirs.",
        "notice": "✉️ Centres de loisirs :\n",
        "reply": "↩️ Répondre",
        "history": "📜 Historique",
        "ask_reply": "Écrivez votre réponse.",
        "you": "Vous ·",
        "abort": "✖ Abandonner",
    },
    "en": {
        "pick": "Which service would you like to write to?",
        "ask": "Type your message.",
        "prompt": "then tap “Send”",
        "attached": "Attachments (1): ordonnance.pdf",
        "send": "📨 Send",
        "sent": "✅ Message sent to the Centres de loisirs service.",
        "notice": "✉️ Centres de loisirs:\n",
        "reply": "↩️ Reply",
        "history": "📜 History",
        "ask_reply": "Type your reply.",
        "you": "You ·",
        "abort": "✖ Abort",
    },
}


@pytest.fixture
async def town(portal):
    town = await build_town(portal.sessions, [])
    town.services = await add_services(portal.sessions)
    return town


async def _parent(portal, telegram, language: str, email: str = "parent.f1@exemple.fr"):
    parent = await linked_parent(portal, telegram, email)
    if language == "en":
        profile = await portal.families.profile(parent.id)
        await portal.families.set_language(profile.actor, Language.EN)
    return parent


async def _count(portal, model) -> int:
    async with portal.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_write_with_a_file_then_answer_the_service_in_the_same_thread(
    portal, telegram, bot, town, language
):
    words = WORDS[language]
    parent = await _parent(portal, telegram, language)
    await parent.send_command("/message")
    picker = await parent.next_message()
    assert words["pick"] in picker.text
    assert picker.buttons == ["Centres de loisirs", "Règlement-Facture", words["abort"]]
    await parent.tap("Centres de loisirs")
    asking = await parent.next_message()
    assert asking.message_id == picker.message_id and words["ask"] in asking.text
    await parent.send_text("Lucas sera absent <mercredi> & jeudi")
    prompt = await parent.next_message()
    assert "Lucas sera absent <mercredi> & jeudi" in prompt.text and words["prompt"] in prompt.text
    await parent.send_document(PDF, "ordonnance.pdf", "application/pdf")
    prompt = await parent.next_message()
    assert words["attached"] in prompt.text
    await parent.tap(words["send"])
    sent = await parent.next_message()
    assert sent.message_id == prompt.message_id and words["sent"] in sent.text

    async with portal.sessions() as session:
        [thread] = await session.scalars(select(Thread))
        [message] = await session.scalars(select(Message))
        [attachment] = await session.scalars(select(MessageAttachment))
        document = await session.get(Document, attachment.document_id)
        [item] = await session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "parent_message")
        )
    assert thread.family_id == town.family_id
    assert message.body == "Lucas sera absent <mercredi> & jeudi"
    assert (document.family_id, document.original_name) == (town.family_id, "ordonnance.pdf")
    assert (item.channel, item.recipient) == (Channel.EMAIL, "centres-loisirs@montclar.example")
    assert item.payload == {"thread_id": thread.id, "message_id": message.id}

    parent.mark()
    service = MessagingService(portal.sessions, portal.clock)
    await service.staff_reply(
        town.services.staff, thread.id, "C'est noté <b>Lucas</b> & bon rétablissement"
    )
    notice = await parent.wait_for_message(lambda m: "✉️" in (m.text or ""))
    assert notice.text == words["notice"] + "C'est noté <b>Lucas</b> & bon rétablissement"
    assert "&lt;b&gt;Lucas&lt;/b&gt; &amp; bon" in notice.raw_text
    assert notice.buttons == [words["reply"], words["history"]]

    await parent.tap(words["reply"], message=notice)
    asking = await parent.next_message()
    assert asking.message_id != notice.message_id and words["ask_reply"] in asking.text
    await parent.send_text("Merci beaucoup")
    await parent.next_message()
    await parent.tap(words["send"])
    assert words["sent"] in (await parent.next_message()).text

    await parent.reply_to(notice, "Et vendredi, il revient")
    assert words["sent"] in (await parent.next_message()).text

    async with portal.sessions() as session:
        assert await session.scalar(select(func.count(Thread.id))) == 1
        bodies = list(await session.scalars(select(Message.body).order_by(Message.id)))
    assert bodies[2:] == ["Merci beaucoup", "Et vendredi, il revient"]

    await parent.tap(words["history"], message=notice)
    history = await parent.next_message()
    assert history.message_id != notice.message_id
    for line in (
        words["you"],
        "Lucas sera absent <mercredi> & jeudi",
        "📎 ordonnance.pdf",
        "Centres de loisirs ·",
        "C'est noté <b>Lucas</b>",
        "Merci beaucoup",
        "Et vendredi, il revient",
    ):
        assert line in history.text
    assert history.text.index("Lucas sera absent") < history.text.index("Et vendredi")
    assert words["reply"] in history.buttons


async def test_a_thread_of_another_family_is_never_reached(portal, telegram, bot, town):
    service = MessagingService(portal.sessions, portal.clock)
    theirs = await service.write(town.other_guardian, "leisure_centres", "Notre question")
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    menu = parent.last_message
    for data in (f"msg:reply:{theirs.id}", f"msg:hist:{theirs.id}", "msg:reply:999"):
        answer = await forge_tap(telegram, parent, menu, data)
        assert answer is not None and "pas accessible depuis votre compte" in answer.text
    await parent.send_text("Je tape sans flow")
    assert "Je n'ai pas compris" in (await parent.next_message()).text
    # A Telegram reply to a message that is not a staff reply is just text.
    await parent.reply_to(menu, "Bonjour ?")
    assert "Que souhaitez-vous faire" in (await parent.next_message()).text
    assert await _count(portal, Message) == 1
    history = await service.thread_history(town.other_guardian, theirs.id)
    assert [m.direction for m in history] == [MessageDirection.FROM_PARENT]


async def test_files_are_checked_and_abort_stores_nothing(portal, telegram, bot, town):
    portal.settings.max_document_bytes = 1000
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    menu = parent.last_message
    await forge_tap(telegram, parent, menu, MENU_MESSAGES)  # the menu button, once wired
    picker = await parent.next_message()
    assert picker.message_id == menu.message_id and "À quel service" in picker.text
    await parent.tap("Règlement-Facture")
    await parent.next_message()
    await parent.send_document(b"MZ\x90\x00 not a pdf", "facture.pdf", "application/pdf")
    assert "ni un PDF, ni une image" in (await parent.next_message()).text
    await parent.send_document(PDF + b"\x00" * 2000, "gros.pdf", "application/pdf")
    assert "trop lourd" in (await parent.next_message()).text
    await parent.send_photo(tiny_jpeg())
    assert "Écrivez maintenant votre message" in (await parent.next_message()).text
    await parent.send_text("Voici la facture")
    first_prompt = await parent.next_message()
    assert "Pièces jointes (1) : photo" in first_prompt.text
    await parent.send_text("du mois de novembre")
    prompt = await parent.next_message()
    assert "« Voici la facture\ndu mois de novembre »" in prompt.text
    answer = await parent.tap("📨 Envoyer", message=first_prompt)  # an older step's button
    assert answer is not None and "plus valide" in answer.text
    await parent.tap("✖ Abandonner", message=prompt)
    assert "rien n'a été modifié" in (await parent.next_message()).text
    answer = await parent.tap("📨 Envoyer", message=first_prompt)  # no flow any more
    assert answer is not None
    assert "plus valide" in (await parent.next_message()).text
    for model in (Thread, Message, Document, OutboxItem):
        assert await _count(portal, model) == 0


async def test_an_unanswered_message_times_out_kindly(portal, telegram, town, monkeypatch):
    portal.settings.conversation_timeout_seconds = 1
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        await parent.send_command("/message")
        await parent.next_message()
        notice = await parent.wait_for_message(lambda m: "Sans réponse" in (m.text or ""), 10)
    assert "Rien n'a été modifié" in notice.text
    assert await _count(portal, Thread) == 0


def test_the_history_fits_in_one_telegram_message(monkeypatch):
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    thread = ThreadView(
        1, 1, "Famille F1", "leisure_centres", "Centres de loisirs", "s", now, 11, False
    )
    messages = [
        MessageView(
            id=index,
            thread_id=1,
            direction=MessageDirection.FROM_PARENT if index % 2 else MessageDirection.TO_PARENT,
            channel=Channel.TELEGRAM,
            author="guardian:1",
            body=f"Message {index} " + "<" * 2000,
            delivery_state=DeliveryState.SENT,
            created_at=now,
        )
        for index in range(HISTORY_MESSAGES + 1)
    ]
    shown = history_text(thread, messages, "fr")
    assert len(shown) <= TEXT_LIMIT
    assert "messages plus anciens non affichés" in shown
    assert "Message 10 &lt;&lt;" in shown and "[…]" in shown
    assert "Message 0 " not in shown
    short = history_text(thread, messages[-2:], "en")
    assert "older messages" not in short
    assert short.index("Message 9") < short.index("Message 10")
    assert "<b>You</b> · Tue 24 Nov 10:00\nMessage 9" in short


async def test_a_long_staff_reply_is_cut_to_fit_one_message(portal, town, monkeypatch):
    service = MessagingService(portal.sessions, portal.clock)
    thread = await service.write(town.guardian, "leisure_centres", "Une question")
    reply = await service.staff_reply(town.services.staff, thread.id, "R&D " * 1000)
    notice = await staff_reply_notice(portal, {"message_id": reply.id}, "fr")
    assert notice is not None and len(notice.text) <= TEXT_LIMIT
    assert notice.text.startswith("✉️ <b>Centres de loisirs</b> :\nR&amp;D R&amp;D")
    assert notice.text.endswith(" […]") and len(notice.text) > TEXT_LIMIT - 10
    assert await staff_reply_notice(portal, {"message_id": 999}, "fr") is None


async def test_opening_another_flow_closes_the_message_being_written(portal, telegram, bot, town):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/message")
    await parent.next_message()
    await parent.tap("Centres de loisirs")
    await parent.next_message()
    await parent.send_text("Bonjour")
    prompt = await parent.next_message()
    send = prompt.button("📨 Envoyer")["callback_data"]
    await parent.send_command("/reserver")
    closed = await parent.next_message()
    assert closed.message_id == prompt.message_id
    assert "Message au service : fermé" in closed.text and closed.buttons == []
    assert "Pour quel enfant" in (await parent.next_message()).text
    await parent.tap("✖ Abandonner")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    assert await forge_tap(telegram, parent, prompt, send) is not None
    assert "plus valide" in (await parent.next_message()).text
    assert await _count(portal, Thread) == 0


async def test_a_reply_sent_before_the_copy_was_recorded_still_continues_the_thread(
    portal, telegram, bot, town
):
    """The parent answers the staff's reply in the very moment it arrives, before the worker
    that sent it recorded its copy: the reply still reaches the thread (looked up again)."""
    parent = await _parent(portal, telegram, "fr")
    await parent.send_command("/message")
    await parent.next_message()
    await parent.tap("Centres de loisirs")
    await parent.next_message()
    await parent.send_text("Une question")
    await parent.next_message()
    await parent.tap("📨 Envoyer")
    await parent.next_message()
    async with portal.sessions() as session:
        [thread] = await session.scalars(select(Thread))
    service = MessagingService(portal.sessions, portal.clock)
    await service.staff_reply(town.services.staff, thread.id, "Réponse du service")
    notice = await parent.wait_for_message(lambda m: "Réponse du service" in (m.text or ""))
    # The copy is recorded just after the parent could see it: wait for it, then undo it.
    for _ in range(250):
        if await _count(portal, ChatCopy):
            break
        await asyncio.sleep(0.02)
    async with portal.sessions.begin() as session:
        [copy] = await session.scalars(select(ChatCopy))
        saved = {c.key: getattr(copy, c.key) for c in ChatCopy.__table__.columns}
        await session.delete(copy)

    async def recorded_late() -> None:
        await asyncio.sleep(0.3)
        async with portal.sessions.begin() as session:
            session.add(ChatCopy(**saved))

    late = asyncio.create_task(recorded_late())
    await parent.reply_to(notice, "Merci, à bientôt")
    sent = await parent.wait_for_message(lambda m: "Message envoyé" in (m.text or ""))
    await late
    async with portal.sessions() as session:
        bodies = list(await session.scalars(select(Message.body).order_by(Message.id)))
    assert bodies[-1] == "Merci, à bientôt" and sent is not None
