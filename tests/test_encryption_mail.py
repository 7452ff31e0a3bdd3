"""Encryption at rest of the raw inbound mails: a parent's certificate delivered over real SMTP
is sealed (AES-256-GCM) in the store (no PDF, no subject), clear through the inbound service only
(filing, reprocessing after a restart, quarantine's show and raw); after a key rotation the
new key alone reads it; the migration seals the clear mails of an older store. The messages
between parents and services likewise. On SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select, text

from mail.inbound import InboundMailServer, inbound_service
from store import migrate
from store.actors import AccessDenied, Actor
from store.database import create_engine
from store.encryption import Keyring, Undecryptable, installed, looks_sealed, new_key
from store.inbound import THREAD_CRYPTO_BYTES, InboundConfig
from store.key_rotation import RAW_MAILS, rotate
from store.mail_retention import Retention
from store.messaging import MessagingService
from store.models import Document, InboundMail
from store.models.base import utcnow
from store.models.inbound import InboundStatus
from store.quarantine import QuarantineService
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.mail_helpers import vouched
from tests.messaging_helpers import LEISURE, add_services
from tests.test_inbound_email import DOCUMENTS, DOMAIN, PARENT, mail, on_the_wire, send

PDF = tiny_pdf()
SUBJECT = "Certificat medical varicelle de Lea"
STRANGER = "inconnu@ailleurs.example"
# What must never be seen in a stored raw mail: the PDF (as the mail carries it, base64, and
# as it is), the subject, the sender.
PDF_IN_MAIL = base64.b64encode(PDF)[:40]
CLEAR_MARKS = (b"%PDF", b"JVBERi0", PDF_IN_MAIL, b"varicelle", b"Certificat", PARENT.encode())
PARENT_WORDS = "Lea a la varicelle, elle reviendra lundi"
STAFF_WORDS = "Bon retablissement a Lea"


@pytest.fixture
async def inbound(portal, tmp_path) -> AsyncIterator[InboundMailServer]:
    """The product's inbound mail server on loopback, with its default limits."""
    portal.settings.documents_dir = tmp_path / "documents"
    server = InboundMailServer(inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS)))
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def _stored(sessions, mail_id: int) -> bytes:
    """The raw column as the database holds it (plain SQL, no service)."""
    async with sessions() as session:
        value = await session.scalar(
            text("SELECT raw FROM inbound_mail WHERE id = :id"), {"id": mail_id}
        )
    return bytes(value)


def _assert_sealed(stored: bytes) -> None:
    assert looks_sealed(stored)
    for mark in CLEAR_MARKS:
        assert mark not in stored


async def _rows(portal) -> list[InboundMail]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(InboundMail).order_by(InboundMail.id)))


async def test_a_certificate_by_mail_is_a_token_in_the_store_and_clear_through_the_services(
    portal, inbound, privacy_keyring
):
    town = await build_town(portal.sessions, [])
    sent = vouched(mail(SUBJECT, ("certificat.pdf", PDF, "application/pdf")))
    assert PDF_IN_MAIL in sent and SUBJECT.encode() in sent
    await send(inbound, sent, vouch=False)

    [row] = await _rows(portal)
    assert (row.status, row.family_id) == (InboundStatus.FILED, town.family_id)
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
    assert (await portal.documents.read(town.guardian, document.id))[1] == PDF

    stored = await _stored(portal.sessions, row.id)
    _assert_sealed(stored)
    clear = await inbound.service.raw(Actor.system(), row.id)
    assert clear == on_the_wire(sent)
    # Sealed with the process's key: a keyring of another key alone cannot open it.
    with pytest.raises(Undecryptable):
        Keyring([new_key()]).open_large(stored)
    # Emptied past its retention: nothing left, sealed or not; the service says so.
    later = utcnow() + timedelta(days=31)
    assert await inbound.service.purge_raw(later, Retention(raw_days=30)) == 1
    assert await _stored(portal.sessions, row.id) == b""
    assert await inbound.service.raw(Actor.system(), row.id) == b""


async def test_a_mail_set_aside_shows_through_quarantine_and_is_reprocessed_from_its_token(
    portal, inbound
):
    town = await build_town(portal.sessions, [])
    # From no family: set aside. Large enough to be sealed in a thread, by several chunks.
    big = os.urandom(THREAD_CRYPTO_BYTES * 6)
    stranger = mail(
        SUBJECT,
        ("certificat.pdf", PDF, "application/pdf"),
        ("scan.bin", big, "application/octet-stream"),
        sender=f"Inconnu <{STRANGER}>",
    )
    await send(inbound, stranger, mail_from=STRANGER, vouch=False)
    [held] = await _rows(portal)
    assert held.status is InboundStatus.QUARANTINED
    _assert_sealed(await _stored(portal.sessions, held.id))

    quarantine = QuarantineService(inbound.service)
    staff = Actor.system()
    shown = await quarantine.show(staff, held.id)
    assert shown.readable and dict(shown.headers)["Subject"] == SUBJECT
    assert [f.name for f in shown.files] == ["certificat.pdf", "scan.bin"]
    assert await quarantine.raw(staff, held.id) == on_the_wire(stranger)
    with pytest.raises(AccessDenied):
        await quarantine.raw(town.guardian, held.id)
    with pytest.raises(AccessDenied):
        await inbound.service.raw(town.guardian, held.id)

    # Accepted, then the process died before processing it: processed from the store's token.
    service = inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS))
    parents = vouched(mail("vaccins", ("vaccins.pdf", PDF, "application/pdf")))
    accepted = await service.accept_raw(PARENT, [DOCUMENTS], parents, "<restart@exemple.fr>")
    _assert_sealed(await _stored(portal.sessions, accepted.mail_id))
    # Restarted without its key: the mail waits, however many times it is tried.
    with installed(Keyring([new_key()])):
        for _ in range(service.config.max_attempts + 1):
            with pytest.raises(Undecryptable):
                await service.process(accepted.mail_id)
    [waiting] = [row for row in await _rows(portal) if row.id == accepted.mail_id]
    assert (waiting.status, waiting.attempts, waiting.lease_owner) == (
        InboundStatus.RECEIVED,
        0,
        None,
    )
    view = await service.process(accepted.mail_id)
    assert (view.status, view.family_id) == (InboundStatus.FILED, town.family_id)
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
    assert (await portal.documents.read(town.guardian, document.id))[1] == PDF


async def test_after_rotation_the_new_key_alone_opens_the_raw_mails(
    portal, inbound, privacy_keyring
):
    await build_town(portal.sessions, [])
    sent = vouched(mail(SUBJECT, ("certificat.pdf", PDF, "application/pdf")))
    await send(inbound, sent, vouch=False)
    stranger = mail("autre", sender=STRANGER, body="Bonjour")
    await send(inbound, stranger, mail_from=STRANGER, vouch=False)
    filed, held = await _rows(portal)
    # A mail kept in clear before encryption came, and one emptied past its retention.
    async with portal.sessions.begin() as session:
        await session.execute(
            text("UPDATE inbound_mail SET raw = :raw WHERE id = :id"),
            {"raw": on_the_wire(stranger), "id": held.id},
        )
        session.add(
            InboundMail(
                message_id="<purged@exemple.fr>",
                mail_from=PARENT,
                rcpt_to=[DOCUMENTS],
                size=10,
                raw=b"",
                status=InboundStatus.FILED,
                raw_deleted_at=utcnow(),
            )
        )
    before = await _stored(portal.sessions, filed.id)
    old_key = os.environ["PRIVACY_KEYS"]
    fresh = new_key()

    with installed(Keyring([fresh, old_key])):  # the workers restarted with both keys
        assert await inbound.service.raw(Actor.system(), filed.id) == on_the_wire(sent)
        report = await rotate(portal.sessions, portal.documents, batch=1)
        assert report.complete
        assert report.rotated[RAW_MAILS] == 2 and report.current[RAW_MAILS] == 0
        again = await rotate(portal.sessions, portal.documents)
        assert not again.rotated[RAW_MAILS] and again.current[RAW_MAILS] == 2
    after = await _stored(portal.sessions, filed.id)
    _assert_sealed(after)
    assert after != before
    _assert_sealed(await _stored(portal.sessions, held.id))

    with installed(Keyring([old_key])):
        for mail_id in (filed.id, held.id):
            with pytest.raises(Undecryptable):
                await inbound.service.raw(Actor.system(), mail_id)
    with installed(Keyring([fresh])):
        assert await inbound.service.raw(Actor.system(), filed.id) == on_the_wire(sent)
        assert await inbound.service.raw(Actor.system(), held.id) == on_the_wire(stranger)
        shown = await QuarantineService(inbound.service).show(Actor.system(), held.id)
        assert shown.readable and dict(shown.headers)["Subject"] == "autre"


async def _bodies(sessions) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(text("SELECT body FROM message ORDER BY id"))
        return list(rows)


async def test_messages_between_parents_and_services_are_tokens_read_clear_by_the_service(
    portal, clock, privacy_keyring
):
    town = await build_town(portal.sessions, [])
    services = await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, clock)
    thread = await messaging.write(town.guardian, LEISURE, PARENT_WORDS)
    await messaging.staff_reply(services.staff, thread.id, STAFF_WORDS)
    stored = await _bodies(portal.sessions)
    assert len(stored) == 2
    assert all(body.startswith("gAAAAA") and "varicelle" not in body for body in stored)
    history = await messaging.thread_history(town.guardian, thread.id)
    assert [m.body for m in history] == [PARENT_WORDS, STAFF_WORDS]

    fresh = new_key()
    with installed(Keyring([fresh, os.environ["PRIVACY_KEYS"]])):
        report = await rotate(portal.sessions, portal.documents)
        assert report.complete and report.rotated["message"] == 2
    with installed(Keyring([fresh])):
        history = await messaging.thread_history(town.guardian, thread.id)
        assert [m.body for m in history] == [PARENT_WORDS, STAFF_WORDS]
    with installed(privacy_keyring), pytest.raises(Undecryptable):
        await messaging.thread_history(town.guardian, thread.id)


def _raw_column(url: str) -> dict[str, bytes]:
    """message_id → the raw column, read with plain SQL (any revision)."""

    async def work() -> dict[str, bytes]:
        engine = create_engine(url)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT message_id, raw FROM inbound_mail"))
            ).all()
        await engine.dispose()
        return {row[0]: bytes(row[1]) for row in rows}

    return asyncio.run(work())


async def test_the_migration_seals_the_raw_mails_and_messages_of_an_older_store(
    portal, database_url, clock
):
    clear = on_the_wire(vouched(mail(SUBJECT, ("certificat.pdf", PDF, "application/pdf"))))
    token = bytes(Keyring([os.environ["PRIVACY_KEYS"]]).seal_large(b"sealed before"))
    async with portal.sessions.begin() as session:
        for message_id, raw in (("clear", clear), ("sealed", token), ("purged", b"")):
            session.add(
                InboundMail(
                    message_id=message_id,
                    mail_from=PARENT,
                    rcpt_to=[DOCUMENTS],
                    size=len(raw),
                    raw=raw,  # written as it is: the model does not seal, the service does
                    status=InboundStatus.QUARANTINED,
                )
            )
    ids = {row.message_id: row.id for row in await _rows(portal)}
    town = await build_town(portal.sessions, [])
    await add_services(portal.sessions)
    messaging = MessagingService(portal.sessions, clock)
    thread = await messaging.write(town.guardian, LEISURE, PARENT_WORDS)
    config = migrate.alembic_config(database_url)
    try:
        await asyncio.to_thread(command.downgrade, config, "0019")
        down = await asyncio.to_thread(_raw_column, database_url)
        assert down == {"clear": clear, "sealed": b"sealed before", "purged": b""}
        assert await _bodies(portal.sessions) == [PARENT_WORDS]
        # An upgrade interrupted half-way: one mail sealed already, left as it is.
        async with portal.sessions.begin() as session:
            await session.execute(
                text("UPDATE inbound_mail SET raw = :raw WHERE id = :id"),
                {"raw": token, "id": ids["sealed"]},
            )
        await asyncio.to_thread(command.upgrade, config, "0020")
        up = await asyncio.to_thread(_raw_column, database_url)
        _assert_sealed(up["clear"])
        assert (up["sealed"], up["purged"]) == (token, b"")
        [body] = await _bodies(portal.sessions)
        assert body.startswith("gAAAAA") and "varicelle" not in body
        assert [m.body for m in await messaging.thread_history(town.guardian, thread.id)] == [
            PARENT_WORDS
        ]
        service = inbound_service(portal, InboundConfig(DOMAIN, DOCUMENTS))
        assert await service.raw(Actor.system(), ids["clear"]) == clear
        assert await service.raw(Actor.system(), ids["sealed"]) == b"sealed before"
        assert await service.raw(Actor.system(), ids["purged"]) == b""
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 48, 1000, 2 * 1024 * 1024 + 7])
def test_large_values_are_sealed_rotated_and_refuse_any_change(size):
    key, other = new_key(), new_key()
    keyring = Keyring([key])
    content = os.urandom(size)
    sealed = keyring.seal_large(content)
    assert looks_sealed(sealed) and len(sealed) == size + 41  # magic, key fingerprint, nonce, tag
    # The clear bytes are not in the sealed value (from 16 bytes on: a shorter random run may
    # turn up among 41+ random bytes by chance).
    assert size < 16 or content not in sealed
    assert keyring.seal_large(content) != sealed  # a fresh nonce each time
    assert keyring.open_large(sealed) == content and keyring.is_current_large(sealed)
    assert Keyring([other, key]).open_large(sealed) == content  # an older key still reads
    rotated = Keyring([other, key]).rotate_large(sealed)
    assert Keyring([other]).open_large(rotated) == content
    assert not keyring.is_current_large(rotated)
    for at in (5, 13, 30, len(sealed) // 2, len(sealed) - 5, len(sealed) - 1):
        changed = bytearray(sealed)
        changed[at] ^= 0x01
        with pytest.raises(Undecryptable):
            keyring.open_large(changed)
    with pytest.raises(Undecryptable):
        keyring.open_large(rotated)
