"""Tarifs, the read service and its words: prices per band with limits, the family's band,
"*" for every band, rules in words."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.kit.deadlines import rule_words
from conversations.tariffs import rules_lines, tariff_text
from store.actors import AccessDenied, NotFound
from store.models import Activity, ActivityPrice, TariffBand
from store.models.enums import ActivityKind
from store.policies import ActivityRules
from store.tariffs import TariffService
from tests.helpers import Town, build_town

RULES = {
    "booking": {"rule": "days_before", "days": 2, "count": "working", "time": "10:00"},
    "cancellation": {"rule": "weekday_before", "weekday": "thursday", "time": "12:00"},
    "late_booking": {"mode": "surcharge", "percent": 20},
    "late_cancellation": {"mode": "bill_reduced", "percent": 50},
}


async def build_tariffs(sessions: async_sessionmaker[AsyncSession]) -> tuple[Town, int]:
    """Three bands; the town's activity priced for QF1, QF2 and "*" (QF3 pays it); a canteen
    with one price for all. Returns the town and the canteen's id."""
    town = await build_town(sessions, [date(2026, 12, 2)], rules=RULES)
    async with sessions.begin() as session:
        session.add_all(
            [
                TariffBand(code="QF3", label="Tranche 3", quotient_min=1201, position=3),
                TariffBand(code="QF1", label="Tranche 1", quotient_max=600, position=1),
                TariffBand(
                    code="QF2", label="Tranche 2", quotient_min=601, quotient_max=1200, position=2
                ),
                ActivityPrice(activity_id=town.activity_id, tariff_band="QF1", price_cents=210),
                ActivityPrice(activity_id=town.activity_id, tariff_band="*", price_cents=600),
            ]
        )
        canteen = Activity(
            code="cantine",
            facility_id=town.facility_id,
            name="Restauration scolaire",
            kind=ActivityKind.CANTEEN,
            capacity=100,
        )
        session.add(canteen)
        await session.flush()
        session.add(ActivityPrice(activity_id=canteen.id, tariff_band="*", price_cents=350))
    return town, canteen.id


async def test_prices_for_every_band_with_the_familys_highlighted(sessions):
    town, _ = await build_tariffs(sessions)
    tariff = await TariffService(sessions).tariff(town.guardian, town.family_id, town.activity_id)
    assert [
        (b.code, b.quotient_min, b.quotient_max, b.price_cents, b.is_family_band)
        for b in tariff.bands
    ] == [
        ("QF1", None, 600, 210, False),
        ("QF2", 601, 1200, 410, True),
        ("QF3", 1201, None, 600, False),
    ]
    assert not tariff.same_for_all
    assert tariff.rules.late_booking.percent == 20
    french = tariff_text(tariff, "fr")
    for line in (
        "• QF1 — Tranche 1 (QF jusqu'à 600\u00a0€) : 2,10\u00a0€",
        "• <b>QF2 — Tranche 2 (QF de 601\u00a0€ à 1\u202f200\u00a0€) : 4,10\u00a0€</b>"
        " ◀ votre tranche",
        "• QF3 — Tranche 3 (QF à partir de 1\u202f201\u00a0€) : 6,00\u00a0€",
        "• Réservation : jusqu'à 2 jours ouvrés avant, à 10 h.",
        "• Annulation gratuite : jusqu'au jeudi précédent, à 12 h.",
        "majoration de 20 % du prix du jour",
        "50 % du prix du jour reste facturé",
    ):
        assert line in french, line
    english = tariff_text(tariff, "en")
    assert "• <b>QF2 — Tranche 2 (QF €601 to €1,200): €4.10</b> ◀ your band" in english
    assert "until the previous Thursday, at 12:00" in english


async def test_the_family_band_follows_the_family(sessions):
    town, _ = await build_tariffs(sessions)
    from store.models import Family

    async with sessions.begin() as session:
        await session.execute(
            update(Family).where(Family.id == town.family_id).values(tariff_band="QF3")
        )
    tariff = await TariffService(sessions).tariff(town.guardian, town.family_id, town.activity_id)
    assert [b.code for b in tariff.bands if b.is_family_band] == ["QF3"]


async def test_one_price_for_every_band(sessions):
    town, canteen = await build_tariffs(sessions)
    tariff = await TariffService(sessions).tariff(town.guardian, town.family_id, canteen)
    assert tariff.same_for_all
    assert {b.price_cents for b in tariff.bands} == {350}
    assert "Même prix pour toutes les tranches : <b>3,50\u00a0€</b>" in tariff_text(tariff, "fr")


async def test_activities_and_refusals(sessions):
    town, canteen = await build_tariffs(sessions)
    service = TariffService(sessions)
    entries = await service.activities(town.guardian, town.family_id)
    assert [e.name for e in entries] == ["CL Mercredis", "Restauration scolaire"]
    with pytest.raises(AccessDenied):
        await service.activities(town.guardian, town.other_family_id)
    with pytest.raises(AccessDenied):
        await service.tariff(town.guardian, town.other_family_id, canteen)
    with pytest.raises(NotFound):
        await service.tariff(town.guardian, town.family_id, 999_999)


@pytest.mark.parametrize(
    ("rule", "french", "english"),
    [
        ({"rule": "days_before", "days": 0, "time": "08:30"}, "jour même, à 8 h 30", "08:30"),
        ({"rule": "days_before", "days": 3}, "3 jours avant, à 12 h", "3 days before"),
        ({"rule": "days_before", "days": 1}, "jusqu'à la veille, à 12 h", "the day before"),
        (
            {"rule": "days_before", "days": 1, "count": "working"},
            "jour ouvré précédent",
            "the working day before",
        ),
        ({"rule": "weekday_before", "weekday": "thursday"}, "jeudi précédent", "Thursday"),
        (
            {"rule": "previous_week", "weekday": "monday", "weeks_before": 2},
            "lundi deux semaines avant",
            "Monday two weeks before",
        ),
        ({"rule": "previous_month_day", "day": 20}, "20 du mois précédent", "day 20"),
        ({"rule": "window_only"}, "périodes d'inscription", "booking periods"),
    ],
)
def test_deadlines_in_words(rule, french, english):
    rules = ActivityRules.model_validate({"booking": rule})
    assert french in rule_words(rules.booking, "fr")
    assert english in rule_words(rules.booking, "en")


def test_late_rules_in_words():
    refuse = ActivityRules.model_validate(
        {
            "late_booking": {"mode": "surcharge", "fixed": "1,50"},
            "late_cancellation": {"mode": "refuse"},
        }
    )
    lines = "\n".join(rules_lines(refuse, "fr"))
    assert "majoration de 1,50\u00a0€ par jour" in lines
    assert "l'annulation n'est plus possible en ligne" in lines
    default = "\n".join(rules_lines(ActivityRules(), "en"))
    assert "booking is no longer possible online" in default
    assert "the day is billed in full" in default
