"""The reducer knows what the notification said: the store gives the thread's guardians'
messages and the names around them, and a staff reply relayed through the inbound service is
cut where it repeats the very notification `mail.staff_mail` wrote, in a client language we
have no markers for, without our reply address ever reaching the parent."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from sqlalchemy import select

from mail.inbound import inbound_service
from mail.parsing import parse_mail
from mail.staff_mail import StaffMail, parent_message
from store.inbound import InboundConfig
from store.messaging import MessagingService
from store.models import Message
from store.models.enums import MessageDirection
from store.models.inbound import InboundStatus
from store.staff_notices import NotifiedTexts, notified_texts
from tests.helpers import build_town
from tests.messaging_helpers import LEISURE, add_services

DOMAIN = "portail-famille.example"
QUESTION = "Lucas peut-il venir à vélo au centre de loisirs le mercredi ?"
FOLLOW_UP = "Il connaît bien le trajet depuis l'école, il a 9 ans."
ANSWER = "Hej,\n\nJa, med hjälm och lås.\n\nVänliga hälsningar\nNadia Belkacem"


async def _thread(portal):
    services = await add_services(portal.sessions)
    town = await build_town(portal.sessions, [])
    messaging = MessagingService(portal.sessions, portal.clock)
    thread = await messaging.write(town.guardian, LEISURE, QUESTION)
    thread = await messaging.continue_thread(town.guardian, thread.id, FOLLOW_UP)
    return services, town, thread


async def test_what_the_notifications_said_is_read_from_the_store(portal):
    _, _, thread = await _thread(portal)
    sent = await notified_texts(portal.sessions, thread.id)
    assert sent.written == (FOLLOW_UP, QUESTION)  # the newest first
    assert thread.subject in sent.names and "Centres de loisirs" in sent.names
    assert any(name.startswith(thread.family_name) for name in sent.names)
    assert await notified_texts(portal.sessions, thread.id + 100) == NotifiedTexts((), ())


def swedish_outlook_reply(notification: StaffMail, sender: str, text: str) -> bytes:
    """Outlook set to Swedish: "Från: / Skickat: / Till: / Ämne:", the history unquoted."""
    reply = EmailMessage()
    reply["From"] = f"Nadia Belkacem <{sender}>"
    reply["To"] = notification.reply_to
    reply["Subject"] = f"SV: {notification.subject}"
    reply["Message-ID"] = "<sv-1@montclar.example>"
    reply["In-Reply-To"] = notification.message_id
    reply.set_content(
        f"{text}\n\n"
        f"Från: Portail Famille <ne-pas-repondre@{DOMAIN}>\n"
        "Skickat: den 25 november 2026 17:40\n"
        "Till: Centres de loisirs <centres-loisirs@montclar.example>\n"
        f"Ämne: {notification.subject}\n\n"
        f"{notification.body}"
    )
    return reply.as_bytes(policy=SMTP_POLICY)


async def test_a_reply_is_cut_where_it_repeats_the_notification(portal, tmp_path):
    services, town, thread = await _thread(portal)
    messages = await MessagingService(portal.sessions).thread_history(services.staff, thread.id)
    notification = await parent_message(portal, {"message_id": messages[-1].id})
    assert isinstance(notification, StaffMail) and notification.reply_to
    raw = swedish_outlook_reply(notification, services.staff_email, ANSWER)
    # Without what we sent, the Swedish header block is not recognised.
    assert parse_mail(raw).reply_text != ANSWER

    portal.settings.documents_dir = tmp_path / "documents"
    config = InboundConfig(DOMAIN, f"documents@{DOMAIN}", ("montclar.example",))
    service = inbound_service(portal, config)
    accepted = await service.accept_raw(
        services.staff_email, [notification.reply_to], raw, "<sv-1@montclar.example>"
    )
    view = await service.process(accepted.mail_id, raw)
    assert view.status is InboundStatus.RELAYED
    async with portal.sessions() as session:
        [relayed] = await session.scalars(
            select(Message).where(Message.direction == MessageDirection.TO_PARENT)
        )
    assert relayed.thread_id == thread.id
    assert relayed.body == ANSWER
    assert "reply+" not in relayed.body and DOMAIN not in relayed.body
