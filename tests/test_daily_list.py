"""The daily lists (`store.daily_lists`, `mail.daily_list_mail`): each morning, the activity's
service gets the day's list over real SMTP, its PDF read back with pypdf and its CSV parsed;
not before its time, once whatever the workers; follow-ups for the day's changes; the access
log of the health flags mailed; the loop and `portail staff daily-list`."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import date, timedelta
from email.message import EmailMessage

import pytest
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import func, select, update

from bot.daily_list_loop import run_daily_lists
from bot.settings import Settings
from mail.email_delivery import deliver_due_emails
from store.absences import AbsenceService
from store.access_log import AccessLogService
from store.actors import Actor
from store.bookings import BookingService
from store.daily_lists import (
    DAILY_LIST_MAIL,
    DAILY_LIST_UPDATE_MAIL,
    DailyListService,
    Outcome,
    Schedule,
    ScheduleError,
)
from store.database import create_engine, create_sessionmaker
from store.models import (
    Activity,
    Booking,
    Child,
    OutboxItem,
    PickupPerson,
    Service,
    StaffMember,
)
from store.models.enums import AbsenceReason, BookingState
from tests.helpers import FakeClock, Town, build_town, one_child_families, paris
from tests.messaging_helpers import BILLING, add_services
from tests.staff_helpers import staff_command

WED, NEXT_WED = date(2026, 12, 9), date(2026, 12, 16)
LEISURE_EMAIL = "centres-loisirs@montclar.example"
LEISURE_STAFF = "n.belkacem@montclar.example"
BILLING_STAFF = "regie.agent@montclar.example"
HOLD = timedelta(minutes=1)
SUBJECT = "Liste du jour — CL Mercredis — mercredi 9 décembre 2026"


async def _setup(sessions, clock: FakeClock) -> tuple[Town, int]:
    """Lucas (allergy, PAI, a pick-up person), Emma (absence reported) and Jade booked on
    WED; the child of family G0 booked then cancelled (not on the list); the activity run by
    the leisure centres. Returns the town and G0's child."""
    town = await build_town(sessions, [WED, NEXT_WED])
    services = await add_services(sessions)
    [(g0, g0_child)] = await one_child_families(sessions, town.activity_id, 1, "G")
    clock.set(paris(date(2026, 11, 20)))
    bookings = BookingService(sessions, clock)
    await bookings.book(town.guardian, town.child_ids, town.activity_id, [WED])
    await bookings.book(town.other_guardian, [town.other_child_id], town.activity_id, [WED])
    [g0_booking] = await bookings.book(g0, [g0_child], town.activity_id, [WED])
    await bookings.cancel(g0, [g0_booking.booking_id])
    await AbsenceService(sessions).report(
        town.guardian, town.child_ids[1:], WED, WED, AbsenceReason.FAMILY
    )
    async with sessions.begin() as session:
        await session.execute(update(Activity).values(service_id=services.leisure_id))
        await session.execute(
            update(Child)
            .where(Child.id == town.child_ids[0])
            .values(allergies="arachide", pai=True, school="École Jaurès")
        )
        session.add(
            PickupPerson(
                child_id=town.child_ids[0],
                name="Joséphine Martin",
                phone="06 12 34 56 78",
                relationship="grand-mère",
            )
        )
    return town, g0_child


@pytest.fixture
async def town(portal) -> Town:
    town, _ = await _setup(portal.sessions, portal.clock)
    return town


def _service(portal) -> DailyListService:
    return DailyListService(portal.sessions, portal.clock, Schedule())


async def _outbox(portal, kind: str) -> list[OutboxItem]:
    async with portal.sessions() as session:
        return list(
            await session.scalars(
                select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)
            )
        )


def _attachments(mail: EmailMessage) -> dict[str, tuple[str, bytes]]:
    return {
        str(part.get_filename()): (part.get_content_type(), part.get_payload(decode=True))
        for part in mail.iter_attachments()
    }


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def _pdf_words(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")
    return " ".join(text.split())


async def test_the_list_goes_at_its_time_once_with_its_pdf_and_csv(portal, smtp_sink, town):
    lucas, emma = town.child_ids
    early, on_time = _service(portal), _service(portal)
    portal.clock.set(paris(WED, "06:59"))
    assert (await early.tick("worker-a", HOLD)).queued == []
    assert await deliver_due_emails(portal) == 0

    # 07:00: two workers at once, and two direct calls at once: one list.
    portal.clock.set(paris(WED, "07:00"))
    direct = await asyncio.gather(early.queue_due(), on_time.queue_due())
    ticks = await asyncio.gather(early.tick("worker-a", HOLD), on_time.tick("worker-b", HOLD))
    assert sum(len(queued) for queued in direct) == 1
    assert [len(report.queued) for report in ticks] == [0, 0]
    assert sum(report.leased for report in ticks) == 1
    # A restart later in the morning: the row is there, nothing goes again.
    portal.clock.set(paris(WED, "09:00"))
    assert (await _service(portal).tick("worker-c", HOLD)).queued == []
    [item] = await _outbox(portal, DAILY_LIST_MAIL)
    assert item.recipient == LEISURE_EMAIL
    assert await deliver_due_emails(portal) == 1
    assert await deliver_due_emails(portal) == 0

    [mail] = smtp_sink.messages
    assert mail["To"] == LEISURE_EMAIL
    assert mail["Subject"] == SUBJECT
    body = _body(mail)
    assert "Enfants attendus : 3." in body
    assert "Dont absences signalées par les familles : 1." in body
    assert "Par classe : CP 2, CE1 1." in body
    assert "arachide" not in body
    files = _attachments(mail)
    assert set(files) == {"liste-du-jour-act-2026-12-09.pdf", "liste-du-jour-act-2026-12-09.csv"}

    content_type, pdf = files["liste-du-jour-act-2026-12-09.pdf"]
    assert content_type == "application/pdf"
    words = _pdf_words(pdf)
    assert words.index("Emma F1") < words.index("Lucas F1") < words.index("Jade F2")
    assert re.findall(r"\b(?:Lucas|Emma|Jade) F\d\b|\bC G0\b", words) == [
        "Emma F1",
        "Lucas F1",
        "Jade F2",
    ]
    assert "Enfants attendus 3" in words or "Enfants attendus : 3" in words
    assert "Allergies · PAI" in words and "arachide" not in words
    assert "Joséphine Martin (grand-mère) 06 12 34 56 78" in words

    content_type, raw = files["liste-du-jour-act-2026-12-09.csv"]
    assert content_type == "text/csv"
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Enfant",
        "Classe",
        "École",
        "Allergie",
        "PAI",
        "Régime",
        "Absence signalée",
        "Réservation",
        "Personnes autorisées (téléphone)",
    ]
    assert rows[1:] == [
        ["Emma F1", "CE1", "", "", "", "", "signalée", "", ""],
        [
            "Lucas F1",
            "CP",
            "École Jaurès",
            "oui",
            "oui",
            "",
            "",
            "",
            "Joséphine Martin (grand-mère) 06 12 34 56 78",
        ],
        ["Jade F2", "CP", "", "", "", "", "", "", ""],
    ]

    # The mailbox read Lucas's flags (Emma and Jade have none): in his family's access log.
    reads = await AccessLogService(portal.sessions, True).for_family(
        Actor.system(), town.family_id
    )
    assert [(r.what, r.what_id, r.why, r.service_name) for r in reads] == [
        ("health", lucas, "daily list:act:2026-12-09", "Centres de loisirs")
    ]
    assert emma not in [r.what_id for r in reads]


async def test_changes_after_sending_come_as_one_follow_up(portal, smtp_sink, town):
    lucas, _emma = town.child_ids
    [(h0, h0_child)] = await one_child_families(portal.sessions, town.activity_id, 1, "H")
    portal.clock.set(paris(date(2026, 11, 20)))
    bookings = BookingService(portal.sessions, portal.clock)
    await bookings.book(h0, [h0_child], town.activity_id, [WED])
    service = _service(portal)
    portal.clock.set(paris(WED, "07:00"))
    assert len((await service.tick("worker-a", HOLD)).queued) == 1
    # Before the list itself is sent, its follow-ups wait: it is written as the day is then.
    portal.clock.set(paris(WED, "07:01"))
    await bookings.cancel(h0, [await _booking_of(portal, h0_child)])
    assert await service.queue_updates() == 0
    assert await deliver_due_emails(portal) == 1
    [listed] = smtp_sink.messages
    words = _pdf_words(_attachments(listed)["liste-du-jour-act-2026-12-09.pdf"][1])
    assert "Jade F2" in words and "C H0" not in words
    # Nothing changed since it was written: no follow-up.
    portal.clock.set(paris(WED, "07:05"))
    assert await service.queue_updates() == 0

    # A booking cancelled late and an absence reported: one follow-up naming both, whatever
    # the number of workers looking.
    portal.clock.set(paris(WED, "09:12"))
    [late] = await bookings.cancel(
        town.other_guardian, [await _booking_of(portal, town.other_child_id)]
    )
    assert late.outcome.value == "late_cancelled"
    await AbsenceService(portal.sessions).report(
        town.guardian, [lucas], WED, WED, AbsenceReason.FAMILY
    )
    # And H0 is back (a booking the service restored), with an allergy on file.
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Booking)
            .where(Booking.child_id == h0_child, Booking.day == WED)
            .values(state=BookingState.CONFIRMED)
        )
        await session.execute(update(Child).where(Child.id == h0_child).values(allergies="lait"))
    portal.clock.set(paris(WED, "09:15"))
    counts = await asyncio.gather(_service(portal).queue_updates(), service.queue_updates())
    assert sorted(counts) == [0, 1]
    assert await deliver_due_emails(portal) == 1
    assert len(smtp_sink.messages) == 2
    follow_up = smtp_sink.messages[1]
    root = "<daily-list-1@portail-famille.example>"
    assert follow_up["Subject"] == "Mise à jour — CL Mercredis — mercredi 9 décembre 2026"
    assert follow_up["In-Reply-To"] == root and follow_up["References"] == root
    assert not list(follow_up.iter_attachments())
    body = _body(follow_up)
    assert body.startswith(
        "Changements depuis la liste du jour de CL Mercredis, mercredi 9 décembre 2026 :\n"
    )
    lines = [line for line in body.splitlines() if line.startswith("• ")]
    assert len(lines) == 3
    assert any(
        re.fullmatch(
            r"• C H\. ajouté\(e\) à la liste \(réservation \d\d:\d\d\) — à noter : Allergies", x
        )
        for x in lines
    )
    assert any(re.fullmatch(r"• Jade F\. : annulation tardive \(\d\d:\d\d\)", x) for x in lines)
    assert any(
        re.fullmatch(r"• Lucas F\. absent\(e\) \(absence signalée \d\d:\d\d\)", x) for x in lines
    )
    assert "arachide" not in body and "lait" not in body
    # The flags of the child added were mailed: in the family's access log.
    reads = await AccessLogService(portal.sessions, True).for_family(Actor.system(), h0.family_id)
    assert [(r.what, r.what_id, r.why) for r in reads] == [
        ("health", h0_child, "daily list:act:2026-12-09")
    ]

    # Nothing new: no follow-up; once the day is over, none either.
    assert await service.queue_updates() == 0
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Booking)
            .where(Booking.child_id == lucas, Booking.day == WED)
            .values(state=BookingState.CANCELLED)
        )
    portal.clock.set(paris(WED + timedelta(days=1), "07:00"))
    assert await service.queue_updates() == 0
    assert len(await _outbox(portal, DAILY_LIST_UPDATE_MAIL)) == 1


async def _booking_of(portal, child_id: int) -> int:
    async with portal.sessions() as session:
        booking_id = await session.scalar(
            select(Booking.id)
            .where(Booking.child_id == child_id, Booking.day == WED)
            .order_by(Booking.id.desc())
        )
    assert booking_id is not None
    return booking_id


async def test_no_list_on_a_day_without_children_nor_on_other_weekdays(portal, town):
    # NEXT_WED has no booking (G0's was cancelled): nothing goes.
    portal.clock.set(paris(NEXT_WED, "08:00"))
    assert await _service(portal).queue_due() == []
    # Lists on Mondays and Tuesdays only: not on Wednesday.
    portal.clock.set(paris(WED, "08:00"))
    weekdays = Schedule.parse("07:00", "lun, tue", 5)
    assert weekdays.weekdays == frozenset({0, 1})
    assert await DailyListService(portal.sessions, portal.clock, weekdays).queue_due() == []
    later = Schedule.parse("08:30", "", 5)
    assert await DailyListService(portal.sessions, portal.clock, later).queue_due() == []
    assert await _outbox(portal, DAILY_LIST_MAIL) == []
    with pytest.raises(ScheduleError):
        Schedule.parse("07:00", "wednesday,someday", 5)
    with pytest.raises(ValidationError):
        Settings(daily_list_days="someday", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(daily_list_time="7h", _env_file=None)  # type: ignore[call-arg]


async def test_the_loop_queues_the_list_and_the_bot_delivers_it(portal, smtp_sink, town):
    portal.clock.set(paris(WED, "07:01"))
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_daily_lists(portal, stop, timedelta(seconds=0.05), timedelta(0))
    )
    try:
        for _ in range(100):
            if await _outbox(portal, DAILY_LIST_MAIL):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # more looks: still one
    finally:
        stop.set()
        await loop
    assert len(await _outbox(portal, DAILY_LIST_MAIL)) == 1
    assert await deliver_due_emails(portal) == 1
    assert smtp_sink.messages[0]["Subject"] == SUBJECT


# portail staff daily-list ------------------------------------------------------------------


def test_the_command_previews_sends_once_and_refuses_another_service(database_url, tmp_path):
    settings = Settings(
        database_url=database_url, documents_dir=tmp_path / "documents", _env_file=None
    )

    async def setup() -> None:
        engine = create_engine(database_url)
        sessions = create_sessionmaker(engine)
        try:
            await _setup(sessions, FakeClock())
            async with sessions.begin() as session:
                billing = await session.scalar(select(Service.id).where(Service.code == BILLING))
                assert billing is not None
                session.add(StaffMember(service_id=billing, name="Régie", email=BILLING_STAFF))
        finally:
            await engine.dispose()

    asyncio.run(setup())
    status, out, err = staff_command(settings, "daily-list", "--date", "2026-12-09", "--dry-run")
    assert (status, err) == (0, "")
    assert out.splitlines()[:3] == [
        SUBJECT,
        "  Voici la liste du jour de CL Mercredis (École), mercredi 9 décembre 2026.",
        "  Enfants attendus : 3.",
    ]
    assert "arachide" not in out and "Enfants avec une allergie" not in out

    status, out, err = staff_command(
        settings, "daily-list", "act", "--date", "2026-12-09", "--as", LEISURE_STAFF
    )
    assert (status, err) == (0, "")
    assert out == (
        "CL Mercredis (act), 2026-12-09: list of 3 child(ren) queued for the service.\n"
    )
    status, out, _ = staff_command(settings, "daily-list", "--date", "2026-12-09")
    assert status == 0 and "already sent (queued 2026-" in out and "not sent again" in out
    status, out, _ = staff_command(settings, "daily-list", "act", "--date", "2026-12-16")
    assert (status, out) == (
        0,
        "CL Mercredis (act), 2026-12-16: no child expected; nothing sent.\n",
    )

    # The billing office's agent sends no list of the leisure centres (and none at all).
    status, _, err = staff_command(
        settings, "daily-list", "act", "--date", "2026-12-09", "--as", BILLING_STAFF
    )
    assert status == 2
    assert err == f"{BILLING_STAFF} is not of the service of act: nothing was sent.\n"
    status, out, _ = staff_command(
        settings, "daily-list", "--date", "2026-12-09", "--as", BILLING_STAFF
    )
    assert (status, out) == (0, "No child expected on 2026-12-09: no list to send.\n")
    status, _, err = staff_command(settings, "daily-list", "nope", "--date", "2026-12-09")
    assert status == 2 and err == "No activity has the code nope.\n"

    async def count() -> int:
        engine = create_engine(database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                found = await session.scalar(
                    select(func.count(OutboxItem.id)).where(OutboxItem.kind == DAILY_LIST_MAIL)
                )
                return int(found or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(count()) == 1
    assert Outcome.ALREADY.value == "already"
