"""Mon planning: the family's month read from the store, drawn as a PNG a phone can read, and
said in words for a screen reader."""

from __future__ import annotations

import io
import itertools
import math
from datetime import date, datetime
from html import unescape

import pytest
from PIL import Image
from sqlalchemy import update

from conversations.kit.month_picture import MAX_WIDTH, STYLES, TEXT_SIZE, draw_month, fonts
from conversations.planning_picture import month_text, shift, within_reach
from store.absences import AbsenceService
from store.bookings import BookingService
from store.models import Absence, Activity, ActivityPrice, Booking, Enrollment, OpeningDay
from store.models.enums import AbsenceReason, AbsenceStatus, ActivityKind, Attendance
from store.month_view import CellState, FamilyMonth, MonthCell, MonthRow, MonthViewService
from store.planning import PlanningService
from tests.helpers import PARIS, build_town, paris

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16, 23, 30)]
DECEMBER = date(2026, 12, 1)
ACTIVITIES = ["Restauration scolaire", "ALAE matin", "ALAE soir", "CL Mercredis — journée"]
CHILDREN = ["Lucas", "Emma", "Jade-Marie"]


def _every_state_month(today: date = date(2026, 12, 3)) -> FamilyMonth:
    """3 children × 4 activities in December, every state drawn somewhere."""
    states = itertools.cycle(CellState)
    rows = []
    for child_id, child in enumerate(CHILDREN, start=1):
        for activity_id, activity in enumerate(ACTIVITIES, start=1):
            cells = {}
            for number in range(1, 32):
                day = date(2026, 12, number)
                if day.weekday() < 5:
                    cells[day] = MonthCell(day, next(states))
            rows.append(MonthRow(child_id, child, activity_id, activity, cells))
    return FamilyMonth(DECEMBER, date(2026, 12, 31), today, rows)


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image.convert("RGB")


def _colour_of(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """The fill of a box, read near its corner (its symbol is in the middle)."""
    return image.getpixel((box[0] + 3, box[1] + 3))  # type: ignore[return-value]


def test_three_children_four_activities_fit_a_phone():
    picture = draw_month(_every_state_month(), "fr")
    image = _image(picture.png)
    assert image.size == (picture.width, picture.height)
    assert 900 <= picture.width <= MAX_WIDTH <= 1280
    assert picture.height <= 1600
    # Digits, the smallest text drawn, are at least 14 px tall.
    face = fonts()
    top, bottom = face.text.getbbox("0")[1], face.text.getbbox("0")[3]
    assert TEXT_SIZE >= 20 and bottom - top >= 14
    assert len(picture.cells) == 12 * 23  # every weekday of every row


def test_every_state_has_its_own_colour_and_symbol():
    fills = [style.fill for style in STYLES.values()]
    symbols = [style.symbol for style in STYLES.values()]
    assert set(STYLES) == set(CellState)
    assert len(set(symbols)) == len(symbols)
    # Apart enough to tell on a screen, and by the symbol for who does not tell colours apart.
    assert min(math.dist(a, b) for a, b in itertools.combinations(fills, 2)) > 50


def test_cells_and_legend_read_back_in_their_colours():
    month = _every_state_month()
    picture = draw_month(month, "en")
    image = _image(picture.png)
    assert set(picture.legend) == set(CellState)  # every state drawn is in the legend
    for state, swatch in picture.legend.items():
        assert _colour_of(image, swatch) == STYLES[state].fill
    for (index, day), box in picture.cells.items():
        assert _colour_of(image, box) == STYLES[month.rows[index].cells[day].state].fill
    # A weekend column without a state stays shaded grey, not white.
    saturday = picture.cells[(0, date(2026, 12, 4))]
    right = saturday[2] + 3 + 32 // 2
    assert image.getpixel((right, saturday[1] + 3)) != (255, 255, 255)


def test_the_legend_shows_only_the_states_drawn():
    month = _every_state_month()
    only_booked = FamilyMonth(
        month.first,
        month.last,
        month.today,
        [
            MonthRow(
                1,
                "Lucas",
                1,
                "Cantine",
                {WEDNESDAYS[0]: MonthCell(WEDNESDAYS[0], CellState.BOOKED)},
            )
        ],
    )
    picture = draw_month(only_booked, "fr")
    assert set(picture.legend) == {CellState.BOOKED}
    assert _image(picture.png).size[1] < draw_month(month, "fr").height


def test_the_month_in_words_one_line_per_row():
    deadline = datetime(2026, 12, 20, 12, 0, tzinfo=PARIS)
    month = FamilyMonth(
        DECEMBER,
        date(2026, 12, 31),
        date(2026, 12, 3),
        [
            MonthRow(
                1,
                "Emma",
                7,
                "CL Mercredis",
                {
                    WEDNESDAYS[0]: MonthCell(WEDNESDAYS[0], CellState.PRESENT),
                    WEDNESDAYS[1]: MonthCell(WEDNESDAYS[1], CellState.BOOKED),
                    WEDNESDAYS[2]: MonthCell(WEDNESDAYS[2], CellState.WAITLISTED),
                    WEDNESDAYS[3]: MonthCell(WEDNESDAYS[3], CellState.BOOKABLE, deadline),
                    WEDNESDAYS[4]: MonthCell(WEDNESDAYS[4], CellState.CLOSED),
                },
            ),
            MonthRow(2, "Lucas", 7, "CL Mercredis", {}),
        ],
    )
    # As the reader hears it: the HTML's entities read back.
    assert unescape(month_text(month, "fr")).split("\n") == [
        "📝 <b>Mon planning — décembre 2026</b>",
        "Aujourd'hui : jeudi 3 décembre 2026",
        "",
        "<b>Emma · CL Mercredis</b> — réservé : 9 ; présent : 2 ; liste d'attente : 16 ; "
        "réservable : 23 (avant le dimanche 20 décembre à 12 h) ; fermé : 30",
        "<b>Lucas · CL Mercredis</b> — aucun jour ce mois-ci",
    ]
    english = unescape(month_text(month, "en")).split("\n")
    assert english[0] == "📝 <b>My planning — December 2026</b>"
    assert english[3] == (
        "<b>Emma · CL Mercredis</b> — booked: 9; present: 2; waiting list: 16; "
        "bookable: 23 (by Sunday 20 December, 12:00); closed: 30"
    )
    assert english[4] == "<b>Lucas · CL Mercredis</b> — no day this month"


def test_months_within_reach():
    today = date(2026, 12, 3)
    assert shift(DECEMBER, 1) == date(2027, 1, 1) and shift(DECEMBER, -12) == date(2025, 12, 1)
    assert within_reach(date(2027, 12, 1), today) and not within_reach(date(2028, 1, 1), today)
    assert within_reach(date(2025, 12, 1), today) and not within_reach(date(2025, 11, 1), today)


async def _canteen(sessions, town, child_ids: list[int], days: list[date]) -> int:
    """A second activity, on weekdays, for some of the family's children."""
    async with sessions.begin() as session:
        canteen = Activity(
            code="cantine",
            facility_id=town.facility_id,
            name="Restauration scolaire",
            kind=ActivityKind.CANTEEN,
            capacity=50,
            rules={"booking": {"rule": "days_before", "days": 3, "count": "calendar"}},
        )
        session.add(canteen)
        await session.flush()
        session.add(ActivityPrice(activity_id=canteen.id, tariff_band="QF2", price_cents=350))
        session.add_all(OpeningDay(activity_id=canteen.id, day=day, capacity=50) for day in days)
        session.add_all(
            Enrollment(
                child_id=child_id,
                activity_id=canteen.id,
                school_year="2026-2027",
                starts_on=date(2026, 9, 1),
                ends_on=date(2027, 8, 31),
            )
            for child_id in child_ids
        )
        return canteen.id


async def test_the_family_month_from_the_store_with_attendance(sessions, clock):
    town = await build_town(sessions, WEDNESDAYS, capacity=1, closed={WEDNESDAYS[4]})
    lucas, emma = town.child_ids
    canteen_days = [date(2026, 12, d) for d in (1, 2, 3, 4, 7)]
    canteen = await _canteen(sessions, town, [lucas], canteen_days)
    clock.set(paris(date(2026, 11, 20)))
    bookings = BookingService(sessions, clock)
    await bookings.book(town.guardian, [lucas], town.activity_id, WEDNESDAYS[:3])
    await bookings.book(town.guardian, [lucas], canteen, canteen_days[:3])
    await bookings.book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WEDNESDAYS[3]]
    )
    await bookings.book(town.guardian, [emma], town.activity_id, [WEDNESDAYS[3]])  # waiting list
    # Lucas was at the centre on the 2nd; ill on the 9th with an excused absence; staff marked
    # him absent without a word at the canteen today, the 3rd (billed).
    absence = (
        await AbsenceService(sessions).report(
            town.guardian, [lucas], WEDNESDAYS[1], WEDNESDAYS[1], AbsenceReason.ILLNESS
        )
    )[0]
    async with sessions.begin() as session:
        await session.execute(
            update(Booking)
            .where(
                Booking.child_id == lucas,
                Booking.activity_id == town.activity_id,
                Booking.day == WEDNESDAYS[0],
            )
            .values(attendance=Attendance.PRESENT)
        )
        await session.execute(
            update(Booking)
            .where(Booking.child_id == lucas, Booking.day == canteen_days[2])
            .values(attendance=Attendance.ABSENT)
        )
        # Staff accepted its certificate (`AbsenceService.decide`, tested with its certificate).
        await session.execute(
            update(Absence).where(Absence.id == absence.id).values(status=AbsenceStatus.EXCUSED)
        )
    clock.set(paris(date(2026, 12, 3)))
    service = MonthViewService(sessions, PlanningService(sessions, clock))
    month = await service.family_month(town.guardian, date(2026, 12, 17), date(2026, 12, 3))
    assert (month.first, month.last) == (DECEMBER, date(2026, 12, 31))
    labels = [(row.child_name, row.activity_name) for row in month.rows]
    assert labels == [
        ("Emma", "CL Mercredis"),
        ("Lucas", "CL Mercredis"),
        ("Lucas", "Restauration scolaire"),
    ]
    emma_centre, lucas_centre, lucas_canteen = (
        {day: cell.state for day, cell in row.cells.items()} for row in month.rows
    )
    assert lucas_centre == {
        WEDNESDAYS[0]: CellState.PRESENT,
        WEDNESDAYS[1]: CellState.ABSENT_EXCUSED,
        WEDNESDAYS[2]: CellState.BOOKED,
        WEDNESDAYS[3]: CellState.FULL,
        WEDNESDAYS[4]: CellState.CLOSED,
    }
    assert emma_centre[WEDNESDAYS[3]] is CellState.WAITLISTED
    assert emma_centre[WEDNESDAYS[0]] is CellState.PAST
    assert lucas_canteen == {
        canteen_days[0]: CellState.BOOKED,
        canteen_days[1]: CellState.BOOKED,
        canteen_days[2]: CellState.ABSENT_BILLED,
        canteen_days[3]: CellState.NOT_OPEN,  # its 3-day deadline passed
        canteen_days[4]: CellState.BOOKABLE,
    }
    assert month.rows[2].cells[canteen_days[4]].deadline is not None
    # The other family's child never appears, and the other family sees only theirs.
    assert town.other_child_id not in {row.child_id for row in month.rows}
    theirs = await service.family_month(town.other_guardian, DECEMBER, date(2026, 12, 3))
    assert {row.child_id for row in theirs.rows} == {town.other_child_id}

    # Drawn: a known cell's colour read back from the picture.
    picture = draw_month(month, "fr")
    image = _image(picture.png)
    box = picture.cells[(1, WEDNESDAYS[1])]
    assert _colour_of(image, box) == STYLES[CellState.ABSENT_EXCUSED].fill
    assert _colour_of(image, picture.cells[(2, canteen_days[2])]) == (
        STYLES[CellState.ABSENT_BILLED].fill
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_empty_month_still_draws(language):
    picture = draw_month(
        FamilyMonth(DECEMBER, date(2026, 12, 31), date(2026, 11, 3), []), language
    )
    assert _image(picture.png).size[0] <= MAX_WIDTH and not picture.cells
