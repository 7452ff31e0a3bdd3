"""`portail import`: idempotent, updates in place, refuses bad files naming line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from store.importer import ImportFileError, import_file, parse_file
from store.models import (
    Activity,
    ActivityPrice,
    Base,
    Child,
    ChildConsent,
    Family,
    Invoice,
    OpeningDay,
    PickupPerson,
    TariffBand,
)
from store.models.enums import ConsentKind, InvoiceKind

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
        ("method: cheque", "method: chèque", "field families[0].payments[1].method"),
        ("outings: true, transport", "outing: true, transport", "consents"),
        ("tariff_band: QF1", "tariff_band: QF9", "unknown band 'QF9'"),
        ("quotient_min: 451, quotient_max: 800", "quotient_min: 851, quotient_max: 800", "above"),
        ('relationship: "oncle"', 'phone: "", relationship: "oncle"', "phone"),
        ("required_consents: [image_rights", "required_consents: [image_right", "consents"),
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


async def test_the_family_file_bands_and_credit_notes_are_imported(sessions):
    await import_file(sessions, DEMO)
    async with sessions() as session:
        lucas = await session.scalar(select(Child).where(Child.code == "E0011"))
        assert lucas is not None
        assert (lucas.allergies, lucas.pai, lucas.diet) == ("Arachides", True, "Sans porc")
        consents = {
            c.kind: c.granted
            for c in await session.scalars(
                select(ChildConsent).where(ChildConsent.child_id == lucas.id)
            )
        }
        assert consents == {
            ConsentKind.IMAGE_RIGHTS: True,
            ConsentKind.OUTINGS: True,
            ConsentKind.TRANSPORT: False,
        }
        [grandmother] = await session.scalars(
            select(PickupPerson).where(PickupPerson.child_id == lucas.id)
        )
        assert (grandmother.name, grandmother.relationship) == ("Martine Martin", "grand-mère")
        bands = [
            (b.code, b.quotient_min, b.quotient_max)
            for b in await session.scalars(select(TariffBand).order_by(TariffBand.position))
        ]
        assert bands[0] == ("QF1", None, 450) and bands[-1] == ("QF4", 1201, None)
        credit = await session.scalar(select(Invoice).where(Invoice.number == "AVO-2026-10-001"))
        assert credit is not None
        assert (credit.kind, credit.total_cents) == (InvoiceKind.CREDIT_NOTE, -80)
        morning = await session.scalar(
            select(Activity).where(Activity.code == "wednesday_primary_am")
        )
        assert morning is not None
        assert morning.required_consents == ["image_rights", "outings"]
        assert morning.enrolment_capacity == 20


async def test_a_second_import_keeps_pickup_persons_added_since(sessions):
    await import_file(sessions, DEMO)
    async with sessions.begin() as session:
        lucas_id = await session.scalar(select(Child.id).where(Child.code == "E0011"))
        session.add(PickupPerson(child_id=lucas_id, name="Paul Martin", phone="0611223344"))
    await import_file(sessions, DEMO)
    async with sessions() as session:
        names = set(await session.scalars(select(PickupPerson.name)))
    assert {"Martine Martin", "Paul Martin"} <= names
