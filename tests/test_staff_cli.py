"""`portail staff ...`: the services' inbox, replies, decisions and day lists, in process."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.staff_cli import add_staff_command
from store.absences import AbsenceService
from store.bookings import BookingService
from store.database import create_engine, create_sessionmaker
from store.documents import DocumentFolder, DocumentService
from store.messaging import MessagingService
from store.models import Absence, Booking, Document, OutboxItem
from store.models.enums import (
    AbsenceReason,
    AbsenceStatus,
    BookingState,
    DocumentStatus,
    DocumentType,
)
from tests.family_file_helpers import tiny_pdf
from tests.helpers import FakeClock, build_town
from tests.messaging_helpers import LEISURE, add_services, link_chat

PDF = tiny_pdf()
WEDNESDAYS = [date(2026, 12, 2), date(2026, 12, 9)]


def _in_store(database_url: str, work: Callable[..., Awaitable[Any]]) -> Any:
    """Run `work(sessions)` on the test database, outside the command line."""

    async def run() -> Any:
        engine = create_engine(database_url)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        database_url=database_url, documents_dir=tmp_path / "documents", _env_file=None
    )


@pytest.fixture
def portail(settings, capsys) -> Callable[..., tuple[int, str, str]]:
    """Run `portail staff ARGS...`: its status, stdout and stderr."""
    parser = argparse.ArgumentParser(prog="portail")
    add_staff_command(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(["staff", *argv])
        status = args.handler(settings, args)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_inbox_show_and_reply(database_url, settings, portail):
    async def setup(sessions):
        town = await build_town(sessions, [])
        await add_services(sessions)
        await link_chat(sessions, town.guardian.id, 4242)
        document = await DocumentService(
            sessions, DocumentFolder(settings.documents_dir), 10_000
        ).add(town.guardian, town.family_id, DocumentType.TO_CLASSIFY, PDF, original_name="a.pdf")
        messaging = MessagingService(sessions, FakeClock())
        thread = await messaging.write(
            town.guardian, LEISURE, "Bonjour,\nLucas sera absent mercredi.", [document.id]
        )
        return thread.id, document.id

    thread_id, document_id = _in_store(database_url, setup)
    status, out, _ = portail("inbox")
    assert status == 0
    assert f"#{thread_id}  2026-11-24 10:00  Centres de loisirs  Famille F1  Bonjour, Lucas" in out
    status, out, _ = portail("show", str(thread_id))
    assert status == 0
    assert "Thread #1, Centres de loisirs, Famille F1" in out and "Subject: Bonjour," in out
    assert "  Lucas sera absent mercredi." in out
    assert f"attachment: document #{document_id} a.pdf (application/pdf)" in out

    status, _, err = portail("reply", str(thread_id), "Bien noté", "--as", "nobody@exemple.fr")
    assert status == 2 and "No staff member has the email nobody@exemple.fr." in err
    status, _, err = portail("reply", "99", "Bien noté", "--as", "n.belkacem@montclar.example")
    assert status == 2 and "No thread #99." in err
    status, _, err = portail("reply", str(thread_id), "  ", "--as", "n.belkacem@montclar.example")
    assert status == 2 and "not sent" in err
    status, out, _ = portail(
        "reply", str(thread_id), "Bien noté, merci.", "--as", "N.Belkacem@montclar.example"
    )
    assert status == 0 and "from Nadia Belkacem stored in thread #1" in out

    async def queued(sessions):
        async with sessions() as session:
            return list(await session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)))

    assert _in_store(database_url, queued) == [
        "document_to_review",
        "parent_message",
        "staff_reply",
    ]
    assert portail("inbox") == (0, "No thread is waiting for an answer.\n", "")
    status, out, _ = portail("show", str(thread_id))
    assert "service (staff:1):\n  Bien noté, merci." in out
    status, _, err = portail("show", "99")
    assert status == 2 and "No thread #99." in err


def test_pending_work_and_decisions(database_url, settings, portail):
    async def setup(sessions):
        town = await build_town(sessions, WEDNESDAYS, requires_validation=True)
        clock = FakeClock()
        [pending] = await BookingService(sessions, clock).book(
            town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[:1]
        )
        documents = DocumentService(sessions, DocumentFolder(settings.documents_dir), 10_000)
        insurance = await documents.add(
            town.guardian, town.family_id, DocumentType.INSURANCE, PDF, original_name="rc.pdf"
        )
        certificate = await documents.add(
            town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, PDF
        )
        absences = AbsenceService(sessions)
        [absence] = await absences.report(
            town.guardian,
            town.child_ids[:1],
            WEDNESDAYS[0],
            WEDNESDAYS[0],
            AbsenceReason.ILLNESS,
            "gastro-entérite",
        )
        await absences.attach_certificate(town.guardian, absence.id, certificate.id)
        [bare] = await absences.report(
            town.guardian, town.child_ids[1:], WEDNESDAYS[1], WEDNESDAYS[1], AbsenceReason.FAMILY
        )
        return pending.booking_id, insurance.id, absence, bare.id

    booking_id, insurance_id, absence, bare_id = _in_store(database_url, setup)
    status, out, _ = portail("pending")
    assert status == 0
    assert (
        f"  absence #{absence.id}  {absence.reference}  Lucas F1 (Famille F1)"
        "  2026-12-02 to 2026-12-02  certificate: document #2"
    ) in out
    assert f"  document #{insurance_id}  insurance  Famille F1  rc.pdf  received" in out
    assert f"  booking #{booking_id}  2026-12-02  CL Mercredis  Lucas F1 (Famille F1)" in out
    assert "document #2  medical_certificate" not in out  # listed once, as a certificate
    assert "gastro" not in out

    status, _, err = portail("accept", "certificate", str(bare_id))
    assert status == 2 and f"Absence #{bare_id} has no certificate to accept." in err
    status, _, err = portail("accept", "certificate", "99")
    assert status == 2 and "No absence #99." in err
    status, _, err = portail("accept", "document", "1", "--as", "nobody@exemple.fr")
    assert status == 2 and "No staff member" in err
    status, out, _ = portail("accept", "certificate", str(absence.id))
    assert status == 0 and "accepted: 1 booked day(s) excused, not billed" in out
    status, out, _ = portail("refuse", "document", str(insurance_id), "--note", "Illisible")
    assert status == 0 and f"Document #{insurance_id} rejected." in out
    status, _, err = portail("refuse", "document", "99")
    assert status == 2 and "No document #99." in err
    status, out, _ = portail("validate", "booking", str(booking_id))
    assert status == 0 and f"Booking #{booking_id} confirmed." in out
    status, _, err = portail("reject", "booking", str(booking_id))
    assert status == 2 and "was not awaiting validation: it is confirmed." in err
    status, _, err = portail("validate", "booking", "99")
    assert status == 2 and "No booking #99." in err
    assert portail("pending") == (0, "Nothing is waiting for a decision.\n", "")

    async def states(sessions):
        async with sessions() as session:
            return (
                await session.scalar(select(Absence.status).where(Absence.id == absence.id)),
                await session.scalar(select(Document.status).where(Document.id == insurance_id)),
                await session.scalar(select(Booking.state).where(Booking.id == booking_id)),
            )

    assert _in_store(database_url, states) == (
        AbsenceStatus.EXCUSED,
        DocumentStatus.REJECTED,
        BookingState.CONFIRMED,
    )


def test_a_day_list_names_the_children_their_state_and_absence(database_url, portail):
    async def setup(sessions):
        town = await build_town(sessions, WEDNESDAYS)
        bookings = BookingService(sessions, FakeClock())
        await bookings.book(town.guardian, town.child_ids, town.activity_id, WEDNESDAYS[1:])
        await bookings.book(
            town.other_guardian, [town.other_child_id], town.activity_id, WEDNESDAYS[1:]
        )
        await AbsenceService(sessions).report(
            town.guardian,
            town.child_ids[:1],
            WEDNESDAYS[1],
            WEDNESDAYS[1],
            AbsenceReason.ILLNESS,
            "fièvre",
        )

    _in_store(database_url, setup)
    status, out, _ = portail("day", "act", "2026-12-09")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "CL Mercredis (act), 2026-12-09:"
    assert [line.split()[:2] for line in lines[1:]] == [
        ["Emma", "F1"],
        ["Lucas", "F1"],
        ["Jade", "F2"],
    ]
    assert lines[2].split()[2:] == ["CP", "confirmed", "absent,", "reported"]
    assert lines[1].split()[2:] == ["CE1", "confirmed"]
    assert "fièvre" not in out
    assert portail("day", "act", "2026-12-02")[1].endswith("  no child booked.\n")
    status, _, err = portail("day", "nowhere", "2026-12-09")
    assert status == 2 and "No activity has the code nowhere." in err
    with pytest.raises(SystemExit):
        portail("day", "act", "9 décembre")
