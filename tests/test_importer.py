"""`portail import`: idempotent, updates in place, refuses bad files naming line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from store.importer import ImportFileError, import_file, parse_file
from store.models import ActivityPrice, Base, Family, Invoice, OpeningDay

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
SKIPPED_COLUMNS = {"created_at", "updated_at", "at"}


async def snapshot(sessions) -> dict[str, list[tuple]]:
    """Every row of every table but the audit log, without timestamps."""
    result = {}
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_log":
                continue
            columns = [c for c in table.columns if c.name not in SKIPPED_COLUMNS]
            rows = await session.execute(select(*columns).order_by(*table.primary_key.columns))
            result[table.name] = [tuple(row) for row in rows]
    return result


async def test_demo_imports_and_a_second_import_changes_nothing(sessions):
    first = await import_file(sessions, DEMO)
    assert first.created["family"] == 12
    assert first.created["child"] >= 20
    before = await snapshot(sessions)
    second = await import_file(sessions, DEMO)
    assert not second.changed, (second.created, second.updated)
    assert await snapshot(sessions) == before


async def test_demo_calendar_closes_public_and_school_holidays(sessions):
    await import_file(sessions, DEMO)
    async with sessions() as session:
        days = {
            (row.day.isoformat(), row.closed) for row in await session.scalars(select(OpeningDay))
        }
    assert ("2026-11-11", True) in days  # Armistice, a Wednesday
    assert ("2026-12-16", False) in days
    assert ("2026-12-23", False) in days  # the Christmas centre opens during the holidays
    assert ("2026-12-23", True) in days  # the Wednesday centres close then
    assert ("2026-12-31", True) in days


async def test_an_edited_file_updates_in_place(sessions, tmp_path):
    await import_file(sessions, DEMO)
    edited = tmp_path / "edited.yaml"
    text = DEMO.read_text(encoding="utf-8")
    edited.write_text(
        text.replace('QF1: "0,80", QF2: "1,90"', 'QF1: "0,85", QF2: "1,90"', 1).replace(
            'name: "Famille Martin"', 'name: "Famille Martin-Durand"'
        ),
        encoding="utf-8",
    )
    report = await import_file(sessions, edited)
    assert report.updated == {"activity_price": 1, "family": 1}
    assert report.created == {}
    async with sessions() as session:
        assert (
            await session.scalar(select(Family.name).where(Family.code == "F001"))
            == "Famille Martin-Durand"
        )
        assert 85 in set(await session.scalars(select(ActivityPrice.price_cents)))


@pytest.mark.parametrize(
    ("find", "replace", "expected"),
    [
        ("birth_date: 2016-", "birth_date: 2016-13-", "field families[0].children[0].birth_date"),
        ("facility: platanes", "facility: nowhere", "unknown facility 'nowhere'"),
        ("tariff_band: QF1", "tarif_band: QF1", "field families[0].tarif_band"),
        ('unit_price: "0,80"', 'unit_price: "0,8O"', "not an amount in euros"),
        (
            "weekdays: [wednesday]",
            "weekdays: [mercrdi]",
            "field activities[2].calendar.weekdays[0]",
        ),
    ],
)
async def test_a_bad_file_is_refused_with_line_and_field_and_nothing_changes(
    sessions, tmp_path, find, replace, expected
):
    text = DEMO.read_text(encoding="utf-8")
    assert find in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(find, replace, 1), encoding="utf-8")
    with pytest.raises(ImportFileError) as refused:
        await import_file(sessions, bad)
    [problem] = [p for p in refused.value.problems if expected in p]
    line = int(problem.split()[1].rstrip(","))
    assert replace in bad.read_text(encoding="utf-8").splitlines()[line - 1]
    async with sessions() as session:
        assert list(await session.scalars(select(Invoice))) == []


def test_the_line_number_points_at_the_faulty_field(tmp_path):
    text = DEMO.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("capacity: 24", "capacity: -4", 1), encoding="utf-8")
    with pytest.raises(ImportFileError) as refused:
        parse_file(bad)
    line = int(str(refused.value).split()[1].rstrip(","))
    assert "capacity: -4" in bad.read_text().splitlines()[line - 1]


def test_not_yaml_and_not_a_mapping_are_refused(tmp_path):
    for content in ("families: [", "- just\n- a list\n"):
        bad = tmp_path / "bad.yaml"
        bad.write_text(content)
        with pytest.raises(ImportFileError):
            parse_file(bad)
