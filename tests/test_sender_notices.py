"""Every mail set aside tells its sender why, over real SMTP: once an hour per address at most
(kept in the store, so workers and restarts agree), never to an automatic sender (RFC 3834).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from conversations.kit.texts import text as catalog_text
from mail.email_delivery import deliver_due_emails
from mail.inbound import InboundMailServer, inbound_service
from mail.sender_mail import notice_text
from store.inbound import InboundConfig
from store.messaging import MessagingService
from store.models import OutboxItem, SenderNotice
from store.models.base import utcnow
from store.models.inbound import InboundStatus
from store.sender_notices import (
    SENDER_NOTICE_MAIL,
    Reason,
    claim_notice_slot,
    queue_sender_notice,
    reason_of,
)
from tests.helpers import build_town
from tests.mail_helpers import wait_for_mails
from tests.mail_stack import (
    DOCUMENTS,
    DOMAIN,
    STAFF_DOMAIN,
    Stack,
    inbound_rows,
    staff_mail,
)
from tests.messaging_helpers import LEISURE, add_services

STRANGER = "intrus@gmail.example"


@pytest.fixture
async def stack(portal) -> AsyncIterator[Stack]:
    """The inbound server alone (no bot: the outbox is read, or delivered by the test), and a
    thread with a reply token."""
    town = await build_town(portal.sessions, [])
    services = await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    thread = await messaging.write(town.guardian, LEISURE, "Question sur la cantine")
    token = await messaging.new_reply_token(thread.id)
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(inbound_service(portal, config))
    await server.start("127.0.0.1", 0)
    yield Stack(portal, None, server, None, town, services.staff_email, thread.id, token)
    await server.close()


async def notices(portal: Any) -> list[OutboxItem]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem)
                .where(OutboxItem.kind == SENDER_NOTICE_MAIL)
                .order_by(OutboxItem.id)
            )
        )


@pytest.mark.parametrize(
    ("sender", "token_ok", "reason", "words"),
    [
        (STRANGER, True, "sender_not_allowed", "n'est pas autorisée à répondre aux familles"),
        (None, False, "unknown_token", "l'adresse de réponse utilisée est inconnue"),
    ],
)
async def test_a_reply_set_aside_tells_its_sender_why(
    portal, smtp_sink, stack, sender, token_ok, reason, words
):
    sender = sender or stack.staff_email
    address = stack.reply_address if token_ok else f"reply+Zz{stack.token[2:]}@{DOMAIN}"
    earlier = f"<thread-{stack.thread_id}@{DOMAIN}>"  # our notification, answered
    raw = staff_mail(
        "Bonjour, c'est noté.",
        sender=sender,
        to=address,
        message_id="<m1@x>",
        headers={"In-Reply-To": earlier},
    )
    await stack.send(raw, [address], mail_from=sender)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.QUARANTINED
    [item] = await notices(portal)
    assert (item.recipient, item.payload["reason"]) == (sender, reason)
    assert await deliver_due_emails(portal) == 2  # the parent's message to the service, and it
    notice = [m for m in await wait_for_mails(smtp_sink, 2) if m["To"] == sender][0]
    assert notice["Auto-Submitted"] == "auto-replied" and notice["In-Reply-To"] == "<m1@x>"
    assert notice["References"] == f"{earlier} <m1@x>"
    assert words in notice.get_content()
    assert "c'est noté" not in notice.get_content()


async def test_a_sender_is_told_at_most_once_an_hour(portal, smtp_sink, stack):
    for number in range(3):
        raw = staff_mail(
            "", sender=stack.staff_email, to=stack.reply_address, message_id=f"<e{number}@x>"
        )
        await stack.send(raw)
    rows = await inbound_rows(portal)
    assert [row.reason for row in rows] == ["empty reply"] * 3
    assert len(await notices(portal)) == 1
    assert [row.outcome["sender_notice"]["status"] for row in rows] == [
        "queued",
        "rate_limited",
        "rate_limited",
    ]
    # An hour later (as the store sees it), the address may be told again.
    async with portal.sessions.begin() as session:
        await session.execute(
            update(SenderNotice).values(last_sent_at=utcnow() - timedelta(minutes=61))
        )
    raw = staff_mail("", sender=stack.staff_email, to=stack.reply_address, message_id="<e9@x>")
    await stack.send(raw)
    assert len(await notices(portal)) == 2
    # Another sender is counted on their own.
    raw = staff_mail("", sender=STRANGER, to=stack.reply_address, message_id="<s1@x>")
    await stack.send(raw, mail_from=STRANGER)
    assert [n.recipient for n in await notices(portal)] == [
        stack.staff_email,
        stack.staff_email,
        STRANGER,
    ]


@pytest.mark.parametrize(
    ("envelope", "headers"),
    [
        ("", {}),  # a null envelope sender: a bounce
        ("mailer-daemon@montclar.example", {}),
        ("owner-parents@lists.montclar.example", {}),
        ("parents-request@lists.montclar.example", {}),
        ("noreply@montclar.example", {}),
        (f"someone@{DOMAIN}", {}),  # one of ours: never a loop
        (None, {"Auto-Submitted": "auto-replied"}),
        (None, {"Auto-Submitted": "auto-generated"}),
        (None, {"Precedence": "bulk"}),
        (None, {"Precedence": "junk"}),
        (None, {"Precedence": "list"}),
        (None, {"List-Id": "<parents.lists.montclar.example>"}),
    ],
)
async def test_an_automatic_sender_is_never_answered(portal, stack, envelope, headers):
    sender = STRANGER  # not allowed: a notice would be due to a person
    raw = staff_mail("Bonjour.", sender=sender, to=stack.reply_address, headers=headers)
    await stack.send(raw, mail_from=sender if envelope is None else envelope)
    [row] = await inbound_rows(portal)
    assert row.status in (InboundStatus.QUARANTINED, InboundStatus.IGNORED)
    assert await notices(portal) == []
    async with portal.sessions() as session:
        assert list(await session.scalars(select(SenderNotice))) == []


async def test_each_reason_has_words_and_an_unknown_code_a_generic_notice(portal, smtp_sink):
    for reason in Reason:
        text = notice_text(reason, {"count": 3, "limit": 10, "limit_bytes": 6_000_000}, None)
        key = f"sendermail.reason.{reason.value}"
        french = catalog_text(key, "fr", count=3, limit=10, limit_size="6 Mo")
        english = catalog_text(key, "en", count=3, limit=10, limit_size="6 MB")
        assert french in text and english in text
        assert "{" not in text
    assert reason_of("a_code_added_later") is Reason.OTHER
    async with portal.sessions.begin() as session:
        queued = await queue_sender_notice(
            session,
            mail_id=77,
            reason="a_code_added_later",
            details={"count": 2, "name": "certificat_lucas.pdf"},
            envelope_sender="agent@montclar.example",
            automatic=None,
            own_domains=(DOMAIN,),
            message_id="<x77@montclar.example>",
            received_at=utcnow(),
            now=utcnow(),
        )
    assert queued.status == "queued"
    [item] = await notices(portal)
    assert item.payload["details"] == {"count": 2}  # numbers only: no file name
    assert await deliver_due_emails(portal) == 1
    [mail] = await wait_for_mails(smtp_sink)
    assert "Votre message n'a pas été transmis. Le service peut le consulter." in (
        mail.get_content()
    )


async def test_two_workers_at_once_take_one_notice_slot(portal):
    now = utcnow()

    async def claim() -> bool:
        async with portal.sessions.begin() as session:
            return await claim_notice_slot(session, "agent@montclar.example", 1, now)

    results = await asyncio.gather(*(claim() for _ in range(4)))
    assert sorted(results) == [False, False, False, True]


@pytest.mark.parametrize(
    ("name", "content", "content_type", "reason", "words"),
    [
        (
            "fiche.docx",
            b"PK\x03\x04 not a pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "attachment_refused",
            "seuls les fichiers PDF, JPEG et PNG sont acceptés",
        ),
        (
            "scan.pdf",
            b"%PDF-1.4\n" + b"0" * 60_000,
            "application/pdf",
            "attachment_too_large",
            "trop volumineuses (au plus 50 Ko par fichier)",
        ),
    ],
    ids=["wrong-type", "too-large"],
)
async def test_a_reply_relayed_without_some_files_tells_its_sender_which(
    portal, smtp_sink, name, content, content_type, reason, words
):
    portal.settings.max_document_bytes = 50_000
    town = await build_town(portal.sessions, [])
    services = await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    thread = await messaging.write(town.guardian, LEISURE, "Question sur la cantine")
    token = await messaging.new_reply_token(thread.id)
    config = InboundConfig(DOMAIN, DOCUMENTS, staff_allowed_domains=(STAFF_DOMAIN,))
    server = InboundMailServer(inbound_service(portal, config))
    await server.start("127.0.0.1", 0)
    try:
        stack = Stack(portal, None, server, None, town, services.staff_email, thread.id, token)
        raw = staff_mail(
            "Bonjour, voici la fiche.",
            (name, content, content_type),
            sender=services.staff_email,
            to=stack.reply_address,
        )
        await stack.send(raw)
    finally:
        await server.close()
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (InboundStatus.RELAYED, "relayed to the family")
    assert row.outcome["attachments_not_forwarded"] == 1
    [item] = await notices(portal)
    assert item.payload["reason"] == reason and item.payload["details"]["relayed"] is True
    await deliver_due_emails(portal)
    [notice] = [m for m in await wait_for_mails(smtp_sink, 2) if m["To"] == services.staff_email]
    assert notice["Subject"].startswith("Votre message a été transmis en partie")
    assert words in notice.get_content()
