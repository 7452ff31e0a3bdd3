"""`portail staff attendance` and `portail staff day ... --pdf`, as staff run them: the summary,
the refusals and their status, and the day's sheet read back from its PDF."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from bot.settings import Settings
from store.absences import AbsenceService
from store.bookings import BookingService
from store.database import create_engine, create_sessionmaker
from store.models import Activity, Child, OutboxItem, PickupPerson, StaffMember
from store.models.enums import AbsenceReason
from tests.helpers import FakeClock, build_town, paris
from tests.messaging_helpers import add_services, link_chat
from tests.staff_helpers import staff_command

D1, D2 = date(2026, 12, 1), date(2026, 12, 2)
RULES = {
    "booking": {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"},
    "unannounced_absence": {"mode": "surcharge", "percent": 50},
}
LEISURE_STAFF = "n.belkacem@montclar.example"
BILLING_STAFF = "regie.agent@montclar.example"


def _in_store(database_url: str, work: Callable[..., Awaitable[Any]]) -> Any:
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
def town(database_url):
    """Lucas, Emma (Famille F1) and Jade (F2) booked on D1; Lucas alone on D2; the activity
    run by the leisure centres, whose staff is Nadia Belkacem; Lucas's health details and
    pick-up person on file; Emma's absence of D1 reported by her parent."""

    async def setup(sessions):
        clock = FakeClock()
        town = await build_town(sessions, [D1, D2], rules=RULES)
        services = await add_services(sessions)
        clock.set(paris(date(2026, 11, 20)))
        bookings = BookingService(sessions, clock)
        await bookings.book(town.guardian, town.child_ids, town.activity_id, [D1])
        await bookings.book(town.guardian, town.child_ids[:1], town.activity_id, [D2])
        await bookings.book(town.other_guardian, [town.other_child_id], town.activity_id, [D1])
        await link_chat(sessions, town.guardian.id, 5001)
        await AbsenceService(sessions).report(
            town.guardian, town.child_ids[1:], D1, D1, AbsenceReason.FAMILY
        )
        async with sessions.begin() as session:
            await session.execute(update(Activity).values(service_id=services.leisure_id))
            await session.execute(
                update(Child)
                .where(Child.id == town.child_ids[0])
                .values(allergies="arachide", pai=True, diet="sans porc")
            )
            session.add(
                PickupPerson(
                    child_id=town.child_ids[0],
                    name="Joséphine Martin",
                    phone="06 12 34 56 78",
                    relationship="grand-mère",
                )
            )
            session.add(
                StaffMember(service_id=services.billing_id, name="Régie", email=BILLING_STAFF)
            )
        return town

    return _in_store(database_url, setup)


def _outbox(database_url: str) -> list[tuple[str, str]]:
    async def read(sessions):
        async with sessions() as session:
            rows = await session.execute(
                select(OutboxItem.kind, OutboxItem.recipient).order_by(OutboxItem.id)
            )
            return [(kind, recipient) for kind, recipient in rows]

    return _in_store(database_url, read)


def test_attendance_summary_corrections_and_notices(database_url, settings, town):
    status, out, err = staff_command(
        settings, "attendance", "act", "2026-12-01", "--absent", "lucas f1", "--as", LEISURE_STAFF
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "CL Mercredis (act), 2026-12-01: present 1, absent announced 1 (0 excused), "
        "absent unannounced 1 billed 6,15 €."
    )
    # Emma's reported absence had marked her absent already.
    assert "Emma F1" in lines[1] and lines[1].endswith("absent, announced, billed 4,10 €")
    assert "Lucas F1" in lines[2] and lines[2].endswith(
        "absent, unannounced, billed 6,15 € (surcharge 2,05 €)  (new)"
    )
    assert "Jade F2" in lines[3] and lines[3].endswith("present  (new)")
    assert lines[4] == (
        "2 change(s) recorded; families told: 1 absence(s) not announced, 0 correction(s)."
    )
    assert ("unannounced_absence", "5001") in _outbox(database_url)

    # The same again: nothing changes, no one is told twice.
    status, out, _ = staff_command(
        settings, "attendance", "act", "2026-12-01", "--absent", str(town.child_ids[0])
    )
    assert (
        status == 0 and out.splitlines()[-1] == "Nothing changed: the day was already marked so."
    )
    assert len(_outbox(database_url)) == 1

    # Everyone was there after all: Lucas's absence is corrected, his family told.
    status, out, _ = staff_command(settings, "attendance", "act", "2026-12-01", "--all-present")
    assert status == 0
    assert out.splitlines()[0].endswith(
        "present 2, absent announced 1 (0 excused), absent unannounced 0 billed 0,00 €."
    )
    assert "Lucas F1                     present  (was absent, unannounced)" in out
    assert out.splitlines()[-1].endswith("0 absence(s) not announced, 1 correction(s).")
    assert [kind for kind, _ in _outbox(database_url)] == [
        "unannounced_absence",
        "attendance_corrected",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["act", "2026-12-02", "--absent", "Emma F1"],
            "Not booked on act on 2026-12-02: Emma F1. Nothing was marked.",
        ),
        (
            ["act", "2099-01-07", "--all-present"],
            "2099-01-07 is still to come: attendance is marked on the day or after.",
        ),
        (["nope", "2026-12-01", "--all-present"], "No activity has the code nope."),
        (
            ["act", "2026-12-01", "--absent", "Zoé Nobody"],
            'No child is Zoé Nobody: give the child\'s id or "Firstname Lastname".',
        ),
        (
            ["act", "2026-12-01", "--all-present", "--as", BILLING_STAFF],
            f"{BILLING_STAFF} is not of the service of act: nothing was marked.",
        ),
        (
            ["act", "2026-12-01", "--all-present", "--as", "nobody@exemple.fr"],
            "No staff member has the email nobody@exemple.fr.",
        ),
    ],
)
def test_attendance_refusals(database_url, settings, town, argv, message):
    status, out, err = staff_command(settings, "attendance", *argv)
    assert (status, out, err.strip()) == (2, "", message)
    assert _outbox(database_url) == []


def test_exactly_one_of_absent_or_all_present(settings, town):
    for argv in (
        ["act", "2026-12-01"],
        ["act", "2026-12-01", "--all-present", "--absent", "Lucas F1"],
        ["act", "2026-12-01", "--absent"],
    ):
        status, _, err = staff_command(settings, "attendance", *argv)
        assert status == 2 and "usage:" in err


def _pdf_text(path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


def test_the_day_sheet_as_a_pdf(settings, town, tmp_path):
    sheet = tmp_path / "jour.pdf"
    status, out, err = staff_command(
        settings, "day", "act", "2026-12-01", "--pdf", str(sheet), "--as", LEISURE_STAFF
    )
    assert (status, err) == (0, "")
    assert out == (
        f"Day list of CL Mercredis (act), 2026-12-01: 3 child(ren), written to {sheet}; "
        "health flags shown.\n"
    )
    words = _pdf_text(sheet)
    for expected in (
        "Liste du jour — CL Mercredis",
        "École",
        "mardi 1er décembre 2026",
        "Enfants attendus",
        "Santé (allergies, PAI, régime)",
        "Lucas F1",
        "Emma F1",
        "Jade F2",
        "arachide",
        "PAI",
        "sans porc",
        "Joséphine Martin (grand-mère) 06 12 34 56 78",
        "signalée",
        "Présent",
    ):
        assert expected in " ".join(words.split()), expected
    assert words.index("Emma F1") < words.index("Lucas F1") < words.index("Jade F2")

    # Without naming a reader allowed to see them, no health flag is printed.
    hidden = tmp_path / "jour-sans-sante.pdf"
    status, out, _ = staff_command(settings, "day", "act", "2026-12-01", "--pdf", str(hidden))
    assert status == 0 and "health flags not shown (name who reads with --as)" in out
    words = " ".join(_pdf_text(hidden).split())
    assert "arachide" not in words and "sans porc" not in words
    assert "Informations de santé non affichées" in words
    assert "Joséphine Martin" in words

    # In English; and the text list goes on as before.
    english = tmp_path / "day.pdf"
    status, _, _ = staff_command(
        settings, "day", "act", "2026-12-01", "--pdf", str(english), "--language", "en"
    )
    assert status == 0 and "Day list — CL Mercredis" in _pdf_text(english)
    status, out, _ = staff_command(settings, "day", "act", "2026-12-01")
    assert status == 0 and out.startswith("CL Mercredis (act), 2026-12-01:\n")
    assert "absent, reported" in out

    status, _, err = staff_command(
        settings, "day", "act", "2026-12-01", "--pdf", str(tmp_path / "no" / "such" / "x.pdf")
    )
    assert status == 2 and err.startswith("Cannot write")
