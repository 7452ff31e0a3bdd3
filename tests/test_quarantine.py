"""Mails set aside, over real SMTP: a forged staff reply with a link is held, the service is told,
staff list, look at and release it (`portail staff quarantine`), and it reaches the parent once.

A staff reply that is not authenticated (no Authentication-Results of our MTA) with a link
outside the allowed domains is held; one that is authenticated, or whose links stay inside the
allowed domains, is relayed as it is.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.staff_cli import add_staff_command
from store.actors import AccessDenied, Actor
from store.inbound import InboundConfig
from store.models import AuditEntry, Document, OutboxItem, StaffMember
from store.models.enums import Channel
from store.models.inbound import InboundStatus
from store.quarantine import QuarantineService
from tests.family_file_helpers import tiny_pdf
from tests.mail_helpers import wait_for_mails
from tests.mail_stack import (
    DOCUMENTS,
    DOMAIN,
    SERVICE_EMAIL,
    STAFF_DOMAIN,
    inbound_rows,
    mail_stack,
    replies_to_parent,
    settle,
    staff_mail,
    staff_reply_notices,
)

FORGED = "payez 50 EUR sur http://evil.example/pay"
AUTHSERV_ID = "mx.portail-famille.example"
RECEIVED_AT = "Thu, 3 Dec 2026 10:00:00 +0100"
PDF = tiny_pdf()


def portail(portal: Any, capsys: Any) -> Any:
    """`portail staff ARGS...` on the test's store, run in a thread (it has its own loop)."""
    parser = argparse.ArgumentParser(prog="portail")
    add_staff_command(parser.add_subparsers(dest="command", required=True))

    async def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(["staff", *argv])
        status = await asyncio.to_thread(args.handler, portal.settings, args)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


async def telegram_kinds(portal: Any) -> list[str]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem.kind).where(OutboxItem.channel == Channel.TELEGRAM)
            )
        )


async def test_a_forged_staff_reply_with_a_link_is_held_then_released_once(
    portal, telegram, smtp_sink, capsys
):
    staff_cli = portail(portal, capsys)
    async with mail_stack(portal, telegram, smtp_sink) as stack:
        telegram_before = await telegram_kinds(portal)
        raw = staff_mail(
            f"Bonjour,\n{FORGED}\nCordialement",
            sender=f"Nadia Belkacem <{stack.staff_email}>",  # forged: no authentication
            to=stack.reply_address,
        )
        await stack.send(raw, mail_from="forger@evil.example")
        [row] = await inbound_rows(portal)
        assert (row.status, row.reason) == (
            InboundStatus.QUARANTINED,
            "links outside allowed domains",
        )
        assert await replies_to_parent(portal) == []
        assert await telegram_kinds(portal) == telegram_before  # the parent is told nothing
        # The service is told, with how to release it; the sender is told it is held.
        mails = await wait_for_mails(smtp_sink, 3)
        [held] = [m for m in mails if m["To"] == SERVICE_EMAIL and "retenue" in m["Subject"]]
        text = held.get_content()
        assert f"portail staff quarantine release {row.id}" in text
        assert "evil.example" in text and "50 EUR" not in text
        [told] = [m for m in mails if m["To"] == "forger@evil.example"]
        assert told["Auto-Submitted"] == "auto-replied"

        status, out, _ = await staff_cli("quarantine", "list")
        assert status == 0
        assert f"#{row.id}" in out and "links outside allowed domains" in out
        assert stack.staff_email in out and "evil.example/pay" not in out  # no body

        status, out, _ = await staff_cli("quarantine", "show", str(row.id))
        assert status == 0
        assert f"From: Nadia Belkacem <{stack.staff_email}>" in out
        assert "links outside allowed domains" in out
        assert FORGED in out  # the text, as the family would read it

        status, out, err = await staff_cli(
            "quarantine", "release", str(row.id), "--as", stack.staff_email
        )
        assert status == 0, err
        assert "released by Nadia Belkacem" in out
        notice = await stack.parent.wait_for_message(lambda m: "evil.example" in (m.text or ""))
        assert "Centres de loisirs" in notice.text

        status, out, err = await staff_cli(
            "quarantine", "release", str(row.id), "--as", stack.staff_email
        )
        assert (status, out) == (2, "") and "is not set aside (it is relayed)" in err
        await settle()
    assert len(await replies_to_parent(portal)) == 1
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.RELAYED
    async with portal.sessions() as session:
        [entry] = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "inbound_mail_release")
        )
    assert entry.actor.startswith("staff:") and entry.entity_id == row.id


async def test_a_release_twice_at_once_relays_once(portal, telegram, smtp_sink):
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        raw = staff_mail(FORGED, sender=stack.staff_email, to=stack.reply_address)
        await stack.send(raw)
        [row] = await inbound_rows(portal)
        assert row.status is InboundStatus.QUARANTINED
        quarantine = QuarantineService(stack.server.service)
        async with portal.sessions() as session:
            staff_id = await session.scalar(select(StaffMember.id))
        staff = Actor.staff(staff_id)
        results = await asyncio.gather(
            quarantine.release(staff, row.id),
            quarantine.release(staff, row.id),
            return_exceptions=True,
        )
        assert any(not isinstance(r, BaseException) for r in results)
        with pytest.raises(AccessDenied):
            await quarantine.release(Actor.system(), row.id)
    assert len(await replies_to_parent(portal)) == 1
    assert [n.kind for n in await staff_reply_notices(portal)] == ["staff_reply"]


@pytest.mark.parametrize(
    ("body", "html"),
    [
        (None, '<p>Bonjour, <a href="http://evil.example/pay">payez ici</a></p>'),
        ("Le programme : www.evil.example/programme", None),
        ("Voir https://mairie-montclar.fr.evil.example/x", None),
    ],
    ids=["html-href", "www", "lookalike-domain"],
)
async def test_links_outside_the_allowed_domains_are_held_in_any_form(
    portal, telegram, smtp_sink, body, html
):
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        raw = staff_mail(body, sender=stack.staff_email, to=stack.reply_address, html=html)
        await stack.send(raw)
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (InboundStatus.QUARANTINED, "links outside allowed domains")
    assert await replies_to_parent(portal) == []


async def test_links_inside_the_allowed_domains_are_relayed(portal, telegram, smtp_sink):
    config = InboundConfig(
        DOMAIN,
        DOCUMENTS,
        staff_allowed_domains=(STAFF_DOMAIN,),
        allowed_link_domains=("montclar.example", "service-public.fr"),
    )
    async with mail_stack(portal, telegram, smtp_sink, config=config, bot=False) as stack:
        raw = staff_mail(
            "Le programme : https://www.montclar.example/loisirs et "
            "https://www.service-public.fr/particuliers",
            sender=stack.staff_email,
            to=stack.reply_address,
        )
        await stack.send(raw)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.RELAYED
    [message] = await replies_to_parent(portal)
    assert "https://www.service-public.fr/particuliers" in message.body
    assert [n.kind for n in await staff_reply_notices(portal)] == ["staff_reply"]


async def test_an_authenticated_staff_reply_with_a_link_is_relayed(portal, telegram, smtp_sink):
    portal.settings.mail_authserv_id = AUTHSERV_ID
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        headers = {
            "Authentication-Results": (
                f"{AUTHSERV_ID}; dkim=pass header.d={STAFF_DOMAIN}; "
                f"dmarc=pass header.from={STAFF_DOMAIN}"
            ),
            "Received": f"from mail.{STAFF_DOMAIN} by {AUTHSERV_ID}; {RECEIVED_AT}",
        }
        raw = staff_mail(
            "Le formulaire est sur https://www.demarches.example/formulaire",
            sender=stack.staff_email,
            to=stack.reply_address,
            headers=headers,
        )
        await stack.send(raw)
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.RELAYED
    [message] = await replies_to_parent(portal)
    assert "https://www.demarches.example/formulaire" in message.body
    assert [n.kind for n in await staff_reply_notices(portal)] == ["staff_reply"]


async def test_a_reply_from_an_address_not_allowed_is_released_to_the_family(
    portal, telegram, smtp_sink, capsys
):
    staff_cli = portail(portal, capsys)
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        raw = staff_mail(
            "Bonjour, c'est noté.", sender="n.belkacem.perso@gmail.example", to=stack.reply_address
        )
        await stack.send(raw, mail_from="n.belkacem.perso@gmail.example")
        [row] = await inbound_rows(portal)
        assert row.reason == "sender not allowed for staff replies"
        status, out, err = await staff_cli(
            "quarantine", "release", str(row.id), "--as", stack.staff_email
        )
        assert status == 0, err
    [message] = await replies_to_parent(portal)
    assert message.body == "Bonjour, c'est noté."
    assert [n.kind for n in await staff_reply_notices(portal)] == ["staff_reply"]


async def test_documents_from_an_unknown_sender_are_released_to_a_named_family(
    portal, telegram, smtp_sink, capsys
):
    staff_cli = portail(portal, capsys)
    async with mail_stack(portal, telegram, smtp_sink, bot=False) as stack:
        raw = staff_mail(
            "Voici l'attestation.",
            ("attestation.pdf", PDF, "application/pdf"),
            sender="camille.dupont.autre@exemple.fr",
            to=DOCUMENTS,
        )
        await stack.send(raw, [DOCUMENTS], mail_from="camille.dupont.autre@exemple.fr")
        [row] = await inbound_rows(portal)
        assert row.status is InboundStatus.QUARANTINED

        status, out, err = await staff_cli("quarantine", "show", str(row.id))
        assert "attestation.pdf  application/pdf" in out
        assert "documents from an unknown sender" in out
        assert "Content-Transfer-Encoding" not in out  # never the bytes, unless --raw
        status, out, err = await staff_cli("quarantine", "show", str(row.id), "--raw")
        assert status == 0 and "Content-Transfer-Encoding: base64" in out
        status, out, err = await staff_cli(
            "quarantine", "release", str(row.id), "--as", stack.staff_email
        )
        assert status == 2 and "name the family" in err
        status, out, err = await staff_cli(
            "quarantine",
            "release",
            str(row.id),
            "--as",
            stack.staff_email,
            "--family",
            str(stack.town.family_id),
        )
        assert status == 0, err
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
    assert document.family_id == stack.town.family_id
    [row] = await inbound_rows(portal)
    assert row.status is InboundStatus.FILED


def test_the_allowed_link_domains_come_from_the_settings():
    default = Settings(
        mail_domain="portail.example", staff_allowed_domains="mairie.fr", _env_file=None
    )
    assert InboundConfig.from_settings(default).link_domains == ("portail.example", "mairie.fr")
    given = Settings(mail_allowed_link_domains=" Mairie.fr, service-public.fr ,", _env_file=None)
    assert InboundConfig.from_settings(given).link_domains == ("mairie.fr", "service-public.fr")
