"""Messages with the services: threads, staff replies, the staff inbox and reply tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store.actors import AccessDenied, Actor, NotFound
from store.documents import DocumentFolder, DocumentService
from store.messaging import (
    BODY_MAX_CHARS,
    InvalidMessage,
    MessagingService,
    ServiceView,
    hash_token,
)
from store.models import Message, MessageAttachment, OutboxItem, ReplyToken, Thread
from store.models.enums import Channel, DeliveryState, DocumentType, MessageDirection
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.messaging_helpers import BILLING, LEISURE, add_services, link_chat

PDF = tiny_pdf()


@pytest.fixture
async def town(sessions):
    return await build_town(sessions, [])


@pytest.fixture
async def services(sessions, town):
    return await add_services(sessions)


@pytest.fixture
def messaging(sessions, clock):
    return MessagingService(sessions, clock)


@pytest.fixture
def documents(sessions, tmp_path):
    return DocumentService(sessions, DocumentFolder(tmp_path / "documents"), max_bytes=10_000)


async def test_services_are_listed_by_name(messaging, services):
    assert await messaging.services() == [
        ServiceView(LEISURE, "Centres de loisirs", "centres-loisirs@montclar.example"),
        ServiceView(BILLING, "Règlement-Facture", "regie@montclar.example"),
    ]


async def test_writing_opens_a_thread_and_hands_the_message_to_the_service(
    sessions, messaging, services, town, documents
):
    document = await documents.add(
        town.guardian, town.family_id, DocumentType.TO_CLASSIFY, PDF, original_name="ordo.pdf"
    )
    thread = await messaging.write(
        town.guardian, LEISURE, "  Lucas sera absent mercredi.\nMerci  ", [document.id]
    )
    assert (thread.family_id, thread.service_code, thread.service_name) == (
        town.family_id,
        LEISURE,
        "Centres de loisirs",
    )
    assert thread.subject == "Lucas sera absent mercredi." and thread.awaiting_staff
    async with sessions() as session:
        [message] = await session.scalars(select(Message))
        [attachment] = await session.scalars(select(MessageAttachment))
        [item] = await session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "parent_message")
        )
    assert message.body == "Lucas sera absent mercredi.\nMerci"
    assert (message.direction, message.channel, message.delivery_state) == (
        MessageDirection.FROM_PARENT,
        Channel.TELEGRAM,
        DeliveryState.PENDING,
    )
    assert message.author == town.guardian.label
    assert attachment.document_id == document.id
    assert (item.channel, item.recipient, item.kind) == (
        Channel.EMAIL,
        "centres-loisirs@montclar.example",
        "parent_message",
    )
    assert item.payload == {"thread_id": thread.id, "message_id": message.id}


async def test_a_thread_continues_only_for_its_family(messaging, services, town):
    thread = await messaging.write(town.guardian, LEISURE, "Bonjour")
    again = await messaging.continue_thread(town.guardian, thread.id, "Encore moi")
    assert again.id == thread.id and again.last_message_id > thread.last_message_id
    with pytest.raises(AccessDenied):
        await messaging.continue_thread(town.other_guardian, thread.id, "Intrus")
    with pytest.raises(NotFound):
        await messaging.continue_thread(town.guardian, thread.id + 99, "Perdu")
    with pytest.raises(AccessDenied):
        await messaging.write(services.staff, LEISURE, "Le personnel n'écrit pas ainsi")
    history = await messaging.thread_history(town.guardian, thread.id)
    assert [m.body for m in history] == ["Bonjour", "Encore moi"]


async def test_bad_messages_and_foreign_attachments_store_nothing(
    sessions, messaging, services, town, documents
):
    theirs = await documents.add(
        town.other_guardian, town.other_family_id, DocumentType.OTHER, PDF
    )
    with pytest.raises(AccessDenied):
        await messaging.write(town.guardian, LEISURE, "Regardez ça", [theirs.id])
    with pytest.raises(NotFound):
        await messaging.write(town.guardian, LEISURE, "Et ça", [theirs.id + 99])
    with pytest.raises(NotFound):
        await messaging.write(town.guardian, "nowhere", "Quel service ?")
    for body in ("", "   \n ", "x" * (BODY_MAX_CHARS + 1)):
        with pytest.raises(InvalidMessage):
            await messaging.write(town.guardian, LEISURE, body)
    async with sessions() as session:
        assert await session.scalar(select(func.count(Thread.id))) == 0
        messages = select(func.count(OutboxItem.id)).where(OutboxItem.kind == "parent_message")
        assert await session.scalar(messages) == 0


async def test_a_replayed_external_message_is_stored_once(sessions, messaging, services, town):
    first = await messaging.write(town.guardian, LEISURE, "Par e-mail", external_id="<a@b>")
    again = await messaging.write(town.guardian, LEISURE, "Par e-mail", external_id="<a@b>")
    assert again.id == first.id
    async with sessions() as session:
        assert await session.scalar(select(func.count(Message.id))) == 1


async def test_staff_reply_is_queued_for_the_family_chats(sessions, messaging, services, town):
    await link_chat(sessions, town.guardian.id, 4242)
    thread = await messaging.write(town.guardian, LEISURE, "Une question")
    with pytest.raises(AccessDenied):
        await messaging.staff_reply(town.guardian, thread.id, "Je me réponds")
    reply = await messaging.staff_reply(services.staff, thread.id, "Voici la réponse")
    assert (reply.direction, reply.author) == (MessageDirection.TO_PARENT, services.staff.label)
    async with sessions() as session:
        [item] = await session.scalars(select(OutboxItem).where(OutboxItem.kind == "staff_reply"))
    assert (item.channel, item.recipient) == (Channel.TELEGRAM, "4242")
    assert item.payload == {"thread_id": thread.id, "message_id": reply.id}
    [view] = await messaging.threads(town.guardian, town.family_id)
    assert view.id == thread.id and not view.awaiting_staff
    with pytest.raises(NotFound):
        await messaging.staff_reply(services.staff, thread.id + 99, "Perdu")


async def test_history_is_the_latest_messages_oldest_first_within_the_family(
    messaging, services, town, documents
):
    document = await documents.add(
        town.guardian, town.family_id, DocumentType.TO_CLASSIFY, PDF, original_name="scan.pdf"
    )
    thread = await messaging.write(town.guardian, LEISURE, "Message 0", [document.id])
    for index in range(1, 12):
        await messaging.continue_thread(town.guardian, thread.id, f"Message {index}")
    history = await messaging.thread_history(town.guardian, thread.id, limit=10)
    assert [m.body for m in history] == [f"Message {i}" for i in range(2, 12)]
    everything = await messaging.thread_history(services.staff, thread.id, limit=12)
    assert [a.name for a in everything[0].attachments] == ["scan.pdf"]
    assert everything[1].attachments == ()
    with pytest.raises(AccessDenied):
        await messaging.thread_history(town.other_guardian, thread.id)
    with pytest.raises(AccessDenied):
        await messaging.threads(town.other_guardian, town.family_id)
    assert await messaging.threads(town.other_guardian, town.other_family_id) == []


async def test_inbox_lists_threads_waiting_for_the_service_newest_first(messaging, services, town):
    older = await messaging.write(town.guardian, LEISURE, "Première question")
    newer = await messaging.write(town.other_guardian, BILLING, "Ma facture")
    answered = await messaging.write(town.guardian, BILLING, "Déjà répondu")
    await messaging.staff_reply(services.staff, answered.id, "C'est fait")
    inbox = await messaging.inbox(services.staff)
    assert [entry.thread.id for entry in inbox] == [newer.id, older.id]
    assert inbox[0].last_body == "Ma facture" and inbox[0].thread.family_name == "Famille F2"
    await messaging.continue_thread(town.guardian, answered.id, "Une autre question")
    assert [e.thread.id for e in await messaging.inbox(services.staff)] == [
        answered.id,
        newer.id,
        older.id,
    ]
    assert [e.thread.id for e in await messaging.inbox(services.staff, LEISURE)] == [older.id]
    with pytest.raises(AccessDenied):
        await messaging.inbox(town.guardian)


async def test_reply_tokens_are_unguessable_and_stored_hashed(sessions, messaging, services, town):
    thread = await messaging.write(town.guardian, LEISURE, "Bonjour")
    token = await messaging.new_reply_token(thread.id)
    assert len(token) >= 40
    async with sessions() as session:
        stored = await session.scalar(select(ReplyToken.token_hash))
    assert stored == hash_token(token) and token not in stored
    assert (await messaging.thread_for_reply_token(token)).id == thread.id
    newer = await messaging.new_reply_token(thread.id)
    assert newer != token
    # Every token of a thread stays valid while the thread exists (an older notification).
    assert (await messaging.thread_for_reply_token(token)).id == thread.id
    assert (await messaging.thread_for_reply_token(newer)).id == thread.id
    for forged in ("", "x" * 500, stored):
        assert await messaging.thread_for_reply_token(forged) is None
    with pytest.raises(NotFound):
        await messaging.new_reply_token(thread.id + 99)


async def test_a_delivered_reply_leads_back_to_its_thread(sessions, messaging, services, town):
    thread = await messaging.write(town.guardian, LEISURE, "Bonjour")
    reply = await messaging.staff_reply(services.staff, thread.id, "Bonjour à vous")
    await messaging.remember_chat_copy(Actor.system(), reply.id, 4242, 17)
    await messaging.remember_chat_copy(Actor.system(), reply.id, 4242, 17)  # replayed
    with pytest.raises(AccessDenied):
        await messaging.remember_chat_copy(town.guardian, reply.id, 4242, 18)
    found = await messaging.thread_for_chat_reply(town.guardian, 4242, 17)
    assert found is not None and found.id == thread.id
    assert await messaging.thread_for_chat_reply(town.guardian, 4242, 16) is None
    assert await messaging.thread_for_chat_reply(town.guardian, 999, 17) is None
    with pytest.raises(AccessDenied):
        await messaging.thread_for_chat_reply(town.other_guardian, 4242, 17)
    _, delivered = await messaging.message(town.guardian, reply.id)
    assert delivered.delivery_state is DeliveryState.SENT
