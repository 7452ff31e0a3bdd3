"""Staff replies of every shape reach the parent, over real SMTP, or their sender is told.

A reply of a file only (a corrected invoice), a file and a signature, a file and the quoted
history: the parent receives the file and a line saying who sent it, in their language. A
reply with truly nothing: nothing reaches the parent, and the sender gets a short answer.
An older notification of the thread can be answered; the reply address works in To, Cc or
Bcc, and with the documents address beside it.
"""

from __future__ import annotations

import pytest

from mail.email_delivery import deliver_due_emails
from store.models.enums import Language
from store.models.inbound import InboundStatus
from tests.family_file_helpers import tiny_pdf
from tests.mail_helpers import wait_for_mails
from tests.mail_stack import (
    CHAT_ID,
    DOCUMENTS,
    SERVICE_EMAIL,
    inbound_rows,
    mail_stack,
    replies_to_parent,
    staff_mail,
    staff_reply_notices,
)

PDF = tiny_pdf()
INVOICE = ("facture rectifiée.pdf", PDF, "application/pdf")
SIGNATURE = "-- \nNadia Belkacem\nService Centres de loisirs\nMairie de Montclar\n05 61 00 00 00"
QUOTED = (
    "Le mer. 2 déc. 2026 à 10:14, Portail Famille <ne-pas-repondre@portail-famille.example> "
    "a écrit :\n> Question sur la cantine\n> Camille Dupont"
)


@pytest.mark.parametrize(
    "body",
    [None, SIGNATURE, f"\n\n{SIGNATURE}\n\n{QUOTED}"],
    ids=["file-only", "file-and-signature", "file-signature-and-quote"],
)
async def test_a_reply_of_only_a_file_reaches_the_parent_with_who_sent_it(
    portal, telegram, smtp_sink, body
):
    async with mail_stack(portal, telegram, smtp_sink) as stack:
        raw = staff_mail(body, INVOICE, sender=stack.staff_email, to=stack.reply_address)
        await stack.send(raw)
        line = await stack.parent.wait_for_message(
            lambda m: "Pièce jointe envoyée par" in (m.text or "")
        )
        document = await stack.parent.wait_for_message(lambda m: m.document_bytes is not None)
    assert "Pièce jointe envoyée par Centres de loisirs" in line.text
    assert "Belkacem" not in line.text and "a écrit" not in line.text
    assert document.document_bytes == PDF
    assert document.document_name == "facture rectifiée.pdf"
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (
        InboundStatus.RELAYED,
        "attachments relayed to the family",
    )
    [reply] = await replies_to_parent(portal)
    assert reply.body == ""


async def test_an_english_speaking_parent_reads_the_line_in_english(portal, telegram, smtp_sink):
    async with mail_stack(portal, telegram, smtp_sink, language=Language.EN) as stack:
        raw = staff_mail(SIGNATURE, INVOICE, sender=stack.staff_email, to=stack.reply_address)
        await stack.send(raw)
        line = await stack.parent.wait_for_message(
            lambda m: "Attachment sent by" in (m.text or "")
        )
        await stack.parent.wait_for_message(lambda m: m.document_bytes is not None)
    assert "Attachment sent by Centres de loisirs" in line.text


@pytest.mark.parametrize(
    "body", ["", SIGNATURE, QUOTED], ids=["nothing", "signature-only", "quote-only"]
)
async def test_a_reply_with_nothing_reaches_no_one_but_its_sender_is_told(
    portal, telegram, smtp_sink, body
):
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        raw = staff_mail(
            body, sender=stack.staff_email, to=stack.reply_address, message_id="<vide@montclar>"
        )
        await stack.send(raw)
        await deliver_due_emails(portal)
        mails = await wait_for_mails(smtp_sink, 2)
    assert await replies_to_parent(portal) == []
    assert await staff_reply_notices(portal) == []
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (InboundStatus.QUARANTINED, "empty reply")
    [notice] = [mail for mail in mails if mail["To"] == stack.staff_email]
    assert notice["Auto-Submitted"] == "auto-replied"
    assert notice["In-Reply-To"] == "<vide@montclar>"
    assert notice["References"] == "<vide@montclar>"
    text = notice.get_content()
    assert (
        "Votre message n'a pas été transmis : il ne contenait pas de texte ni de pièce jointe."
        in text
    )
    assert "neither text nor an attachment" in text
    assert "Question sur la cantine" not in text and "Camille" not in text


async def test_answering_an_older_notification_of_the_thread_relays(portal, telegram, smtp_sink):
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        older = stack.token
        newer = await stack.new_notification_token()
        assert newer != older
        raw = staff_mail(
            "Bonjour, oui pour mercredi.", sender=stack.staff_email, to=stack.reply_address
        )
        await stack.send(raw, [stack.reply_address])
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.RELAYED, stack.town.family_id)
    [message] = await replies_to_parent(portal)
    assert message.body == "Bonjour, oui pour mercredi."
    [notice] = await staff_reply_notices(portal)
    assert notice.payload["message_id"] == message.id


@pytest.mark.parametrize("where", ["to", "cc", "bcc", "cc-with-documents-in-to"])
async def test_the_reply_address_works_in_to_cc_or_bcc(portal, telegram, smtp_sink, where):
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        reply = stack.reply_address
        headers = {
            "to": (reply, None),
            "cc": (SERVICE_EMAIL, reply),
            "bcc": (SERVICE_EMAIL, None),  # only in the envelope
            "cc-with-documents-in-to": (DOCUMENTS, reply),
        }[where]
        rcpts = [DOCUMENTS, reply] if where.endswith("documents-in-to") else [reply]
        raw = staff_mail(
            f"Bonjour, réponse en {where}.",
            sender=f"Nadia Belkacem <{stack.staff_email}>",
            to=headers[0],
            cc=headers[1],
        )
        await stack.send(raw, rcpts)
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.RELAYED, stack.town.family_id)
    [message] = await replies_to_parent(portal)
    assert message.body == f"Bonjour, réponse en {where}."
    [notice] = await staff_reply_notices(portal)
    assert (notice.kind, notice.recipient) == ("staff_reply", str(CHAT_ID))


async def test_a_reply_to_a_stale_and_a_live_address_goes_to_the_live_thread(
    portal, telegram, smtp_sink
):
    """Two reply addresses among the recipients, the first naming no thread (mistyped, or of a
    thread gone): the reply goes to the thread the other names, not aside."""
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        stale = f"reply+{'x' * 32}@{stack.reply_address.rpartition('@')[2]}"
        raw = staff_mail(
            "Bonjour, c'est noté.",
            sender=stack.staff_email,
            to=stale,
            cc=stack.reply_address,
        )
        await stack.send(raw, [stale, stack.reply_address])
    [row] = await inbound_rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.RELAYED, stack.town.family_id)
    [message] = await replies_to_parent(portal)
    assert message.body == "Bonjour, c'est noté."
