"""States and words that say the truth: the calendar's marks and legend, typed days, siblings
left out of an activity, the cancel list, and an absence that can still be cancelled."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select, update

from conversations.booking import DAY_MARKS, SELECTED, legend
from store.actors import Actor
from store.billing import BillingService
from store.bookings import BookingService
from store.models import Activity, ActivityPrice, Booking, Enrollment, OpeningDay
from store.models.enums import ActivityKind, Attendance, BookingState
from store.planning import DayState
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import speak_english
from tests.helpers import build_town, paris

EUR = "\u00a0€"
WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16, 23, 30)]


async def _calendar(parent, child: str = "Lucas"):
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap(child)
    return await parent.next_message()


def _legend_of(message) -> str:
    """The legend: the last paragraph of the calendar's text."""
    return message.text.split("\n\n")[-1]


def _marks(message) -> set[str]:
    """The marks drawn on the day buttons of a calendar (the label without its day number)."""
    days = [
        button["text"]
        for row in message.inline_keyboard
        for button in row
        if button.get("callback_data", "").startswith("bk:day:")
    ]
    return {re.sub(r"\d+$", "", label) for label in days} - {""}


# The calendar's marks and legend ---------------------------------------------------------


def test_every_state_has_a_mark_and_every_mark_is_in_the_legend():
    assert set(DAY_MARKS) == set(DayState)
    symbols = [mark.symbol for mark in DAY_MARKS.values() if mark.symbol]
    assert len(symbols) == len(set(symbols)), "two states share a mark"
    for language in ("fr", "en"):
        full = legend([*symbols, SELECTED.symbol], language)
        for mark in [*DAY_MARKS.values(), SELECTED]:
            if mark.symbol:
                assert f"{mark.symbol} " in full, (language, mark)
    assert "💶 réservable avec majoration" in legend(["💶"], "fr")
    assert "▫️ passé" in legend(["▫️"], "fr")
    assert "▫️ past" in legend(["▫️"], "en")


async def test_every_mark_drawn_is_in_the_legend_and_a_late_cancellation_says_why(
    portal, telegram, bot, clock
):
    days = [date(2026, 12, d) for d in (2, 9, 16, 17, 21, 22, 23, 28, 30)]
    town = await build_town(portal.sessions, days, capacity=1, closed={date(2026, 12, 30)})
    service = BookingService(portal.sessions, clock)
    lucas = town.child_ids[:1]
    clock.set(paris(date(2026, 11, 20)))
    booked = await service.book(
        town.guardian, lucas, town.activity_id, [date(2026, 12, d) for d in (2, 16, 23)]
    )
    other = [town.other_child_id]
    await service.book(
        town.other_guardian, other, town.activity_id, [date(2026, 12, 21), date(2026, 12, 22)]
    )
    [waiting] = await service.book(town.guardian, lucas, town.activity_id, [date(2026, 12, 22)])
    assert waiting.outcome.value == "waitlisted"
    clock.set(paris(date(2026, 12, 15), "09:00"))
    [late] = await service.cancel(town.guardian, [booked[1].booking_id])  # the 16th, late
    assert late.outcome.value == "late_cancelled"

    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    calendar = await _calendar(parent)
    labels = set(calendar.buttons)
    assert {"🔒2", "▫️9", "💸16", "⛔17", "🟡21", "🕒22", "✅23", "28", "✖30"} <= labels
    drawn = _marks(calendar)
    assert drawn == {"🔒", "▫️", "💸", "⛔", "🟡", "🕒", "✅", "✖"}
    for mark in drawn | {"☑️"}:
        assert f"{mark} " in _legend_of(calendar), mark
    assert "💸 annulé hors délai, facturé" in _legend_of(calendar)
    assert "▫️ passé" in _legend_of(calendar)

    answer = await parent.tap("💸16")
    assert answer is not None and answer.show_alert
    assert (
        f"mer. 16 déc. : annulé hors délai le mardi 15 décembre à 9 h, facturé 4,10{EUR}"
        == answer.text
    )
    answer = await parent.tap("▫️9")
    assert answer is not None and answer.text == "mer. 9 déc. : ce jour est passé"
    answer = await parent.tap("✅23")
    assert answer is not None and answer.text.startswith("mer. 23 déc. : déjà réservé — ")
    assert "annulation gratuite jusqu'au dimanche 20 décembre à 12 h" in answer.text


async def test_a_late_booking_mark_is_in_the_legend_in_english(portal, telegram, bot, clock):
    rules = {
        "booking": {"rule": "weekday_before", "weekday": "jeudi", "time": "12:00"},
        "late_booking": {"mode": "surcharge", "percent": 50},
    }
    await build_town(portal.sessions, WEDNESDAYS, rules=rules)
    clock.set(paris(date(2026, 12, 3), "12:30"))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/reserver")
    await parent.next_message()
    await parent.tap("Lucas")
    calendar = await parent.next_message()
    assert "💶9" in calendar.buttons and "▫️2" in calendar.buttons
    assert "💶 bookable with a surcharge" in _legend_of(calendar)
    assert "▫️ past" in _legend_of(calendar)
    for mark in _marks(calendar):
        assert f"{mark} " in _legend_of(calendar), mark


# Typed days ------------------------------------------------------------------------------


async def test_typed_days_are_added_to_the_tapped_ones(portal, telegram, bot):
    await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _calendar(parent)
    await parent.tap("9")
    assert "☑️9" in (await parent.next_message()).buttons
    await parent.send_text("le 16 décembre")
    recap = await parent.next_message()
    assert f"mer. 9 déc. — Lucas : 4,10{EUR}" in recap.text
    assert f"mer. 16 déc. — Lucas : 4,10{EUR}" in recap.text
    assert f"Total : 8,20{EUR}" in recap.text
    await parent.tap("◀ Modifier")
    calendar = await parent.next_message()
    assert {"☑️9", "☑️16"} <= set(calendar.buttons)


async def test_a_typed_day_that_cannot_be_booked_says_its_real_reason(
    portal, telegram, bot, clock
):
    town = await build_town(portal.sessions, WEDNESDAYS, closed={date(2026, 12, 30)})
    clock.set(paris(date(2026, 11, 20)))
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, [date(2026, 12, 16)]
    )
    clock.set(paris(date(2026, 12, 7), "08:00"))  # the 9th's deadline (6 Dec, noon) passed
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _calendar(parent)
    parent.mark()
    await parent.send_text("le 9, le 16, le 23 et le 30 décembre")
    refused = await parent.next_message()
    recap = await parent.next_message()
    assert "Ces jours ne sont pas ajoutés à votre choix :" in refused.text
    assert "n'est ouvert" not in refused.text
    assert (
        "• mer. 9 déc. : ❌ Réservation impossible : le délai a expiré le dimanche 6 décembre "
        "à 12 h — prochain jour possible : mer. 23 déc." in refused.text
    )
    assert "• mer. 16 déc. : ❌ déjà réservé — annulation gratuite jusqu'au" in refused.text
    assert "• mer. 30 déc. : ❌ fermé ce jour-là" in refused.text
    assert f"mer. 23 déc. — Lucas : 4,10{EUR}" in recap.text
    assert "9 déc." not in recap.text and "30 déc." not in recap.text

    # Nothing typed can be booked: said so, with each reason, and the calendar stays.
    await parent.tap("◀ Modifier")
    await parent.next_message()
    await parent.send_text("le 30 décembre")
    refused = await parent.next_message()
    assert refused.text.startswith("Aucun de ces jours ne peut être réservé :")
    assert "• mer. 30 déc. : ❌ fermé ce jour-là" in refused.text


async def test_a_typed_day_out_of_the_enrollment_says_so_in_english(portal, telegram, bot):
    town = await build_town(portal.sessions, WEDNESDAYS)
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Enrollment)
            .where(Enrollment.child_id == town.child_ids[0])
            .values(ends_on=date(2026, 12, 10))
        )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/reserver")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.send_text("16 December")
    refused = await parent.next_message()
    assert refused.text.startswith("None of these days can be booked:")
    assert "• Wed 16 Dec: ❌ not enrolled in this activity that day" in refused.text


# "All my children" -----------------------------------------------------------------------


async def _canteen_for(portal, town, child_ids: list[int]) -> None:
    """A second activity, "Cantine", open on the Wednesdays, with only `child_ids` enrolled."""
    async with portal.sessions.begin() as session:
        canteen = Activity(
            code="cantine",
            facility_id=town.facility_id,
            name="Cantine",
            kind=ActivityKind.CANTEEN,
            capacity=10,
            rules={
                "booking": {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"}
            },
        )
        session.add(canteen)
        await session.flush()
        session.add(ActivityPrice(activity_id=canteen.id, tariff_band="QF2", price_cents=350))
        for day in WEDNESDAYS:
            session.add(OpeningDay(activity_id=canteen.id, day=day, capacity=10))
        for child_id in child_ids:
            session.add(
                Enrollment(
                    child_id=child_id,
                    activity_id=canteen.id,
                    school_year="2026-2027",
                    starts_on=date(2026, 9, 1),
                    ends_on=date(2027, 8, 31),
                )
            )


async def test_all_my_children_books_only_those_enrolled_and_says_who_is_left_out(
    portal, telegram, bot
):
    town = await build_town(portal.sessions, WEDNESDAYS)
    await _canteen_for(portal, town, town.child_ids[:1])  # Lucas only
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap("Tous mes enfants")
    assert "Quelle activité" in (await parent.next_message()).text
    await parent.tap("Cantine")
    calendar = await parent.next_message()
    assert "Cantine — Lucas\n" in calendar.text
    assert "Emma" not in calendar.text.split("\n")[0]
    assert calendar.text.count("Emma") == 1
    assert "Pas d'inscription à Cantine pour Emma : réservation pour Lucas seulement." in (
        calendar.text
    )
    await parent.send_text("le 9 décembre")
    recap = await parent.next_message()
    assert f"mer. 9 déc. — Lucas : 3,50{EUR}" in recap.text
    assert "Emma" not in recap.text and "inscription" not in recap.text
    await parent.tap("✅ Confirmer")
    assert "Emma" not in (await parent.next_message()).text

    # An activity both are enrolled in: both booked, nobody left out.
    await parent.tap("☰ Menu")
    await parent.next_message()
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap("Tous mes enfants")
    await parent.next_message()
    await parent.tap("CL Mercredis")
    calendar = await parent.next_message()
    assert "Pas d'inscription" not in calendar.text
    assert "Lucas, Emma" in calendar.text


async def test_all_my_children_left_out_in_english(portal, telegram, bot):
    town = await build_town(portal.sessions, WEDNESDAYS)
    await _canteen_for(portal, town, town.child_ids[1:])  # Emma only
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/reserver")
    await parent.next_message()
    await parent.tap("All my children")
    await parent.next_message()
    await parent.tap("Cantine")
    calendar = await parent.next_message()
    assert "Lucas: not enrolled in Cantine; booking for Emma only." in calendar.text


# The cancel list -------------------------------------------------------------------------


async def test_the_cancel_list_marks_pending_and_waitlisted_days_apart(
    portal, telegram, bot, clock
):
    town = await build_town(portal.sessions, WEDNESDAYS, capacity=1, requires_validation=True)
    service = BookingService(portal.sessions, clock)
    lucas, emma = town.child_ids
    clock.set(paris(date(2026, 11, 20)))
    [confirmed] = await service.book(town.guardian, [lucas], town.activity_id, [WEDNESDAYS[3]])
    await service.decide_pending(Actor.staff(1), confirmed.booking_id, accept=True)
    await service.book(
        town.other_guardian, [town.other_child_id], town.activity_id, WEDNESDAYS[1:2]
    )
    [first] = await service.book(town.guardian, [lucas], town.activity_id, WEDNESDAYS[1:2])
    [second] = await service.book(town.guardian, [emma], town.activity_id, WEDNESDAYS[1:2])
    assert (first.outcome.value, second.outcome.value) == ("waitlisted", "waitlisted")
    [pending] = await service.book(town.guardian, [lucas], town.activity_id, WEDNESDAYS[2:3])
    assert pending.outcome.value == "pending"
    clock.set(paris(date(2026, 12, 8), "09:00"))  # the 9th's cancellation deadline passed

    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("🗑 Annuler des jours")
    await parent.next_message()
    await parent.tap("Tous mes enfants")
    listing = await parent.next_message()
    assert listing.buttons[:4] == [
        "🕒 n°1 mer. 9 déc. · Lucas · CL Mercredis",
        "🕒 n°2 mer. 9 déc. · Emma · CL Mercredis",
        "⏳ mer. 16 déc. · Lucas · CL Mercredis",
        "mer. 23 déc. · Lucas · CL Mercredis",
    ]
    assert (
        "⏳ en attente de validation · 🕒 liste d'attente · n° : rang dans la liste d'attente"
        in listing.text
    )
    await parent.tap("🕒 n°2 mer. 9 déc. · Emma · CL Mercredis")
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    # Leaving the waitlist is free, whatever the deadline: the store cancels it so.
    assert (
        "mer. 9 déc. — Emma, CL Mercredis : retrait de la liste d'attente (n°2), sans frais"
        in recap.text
    )
    assert "facturé" not in recap.text
    await parent.tap("✅ Confirmer")
    assert "✅ mer. 9 déc. — Emma : annulé" in (await parent.next_message()).text
    async with portal.sessions() as session:
        state = await session.scalar(select(Booking.state).where(Booking.id == second.booking_id))
    assert state is BookingState.CANCELLED


async def test_the_cancel_list_marks_in_english(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS, capacity=1)
    service = BookingService(portal.sessions, clock)
    await service.book(
        town.other_guardian, [town.other_child_id], town.activity_id, WEDNESDAYS[1:2]
    )
    await service.book(town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[1:2])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/annuler")
    await parent.next_message()
    await parent.tap("Lucas")
    listing = await parent.next_message()
    assert listing.buttons[0] == "🕒 #1 Wed 9 Dec · Lucas · CL Mercredis"
    assert "🕒 waiting list · #: place on the waiting list" in listing.text


# An absence that can still be cancelled --------------------------------------------------


async def _absence_for_family_reason(parent, phrase: str):
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.send_text(phrase)
    await parent.next_message()
    await parent.tap("👪 Raison familiale")
    return await parent.next_message()


async def _booked_9_and_16(portal, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 11, 20)))
    booked = await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[1:3]
    )
    clock.set(paris(date(2026, 12, 7), "08:00"))  # the 9th is billed; the 16th is still free
    return town, booked


async def test_an_absence_ahead_of_time_offers_to_cancel_for_free(portal, telegram, bot, clock):
    town, (ninth, sixteenth) = await _booked_9_and_16(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    recap = await _absence_for_family_reason(parent, "du 9 au 16 décembre")
    assert "peuvent encore être annulés sans frais" in recap.text
    assert (
        "• mer. 16 déc. — Lucas, CL Mercredis : annulation gratuite jusqu'au dimanche "
        "13 décembre à 12 h" in recap.text
    )
    assert "Les autres jours réservés concernés restent facturés" in recap.text
    assert recap.buttons[:2] == ["🗑 Annuler sans frais (1) et signaler", "Signaler sans annuler"]
    await parent.tap("🗑 Annuler sans frais (1) et signaler")
    done = await parent.next_message()
    assert "Absence de Lucas enregistrée" in done.text
    assert "🗑 mer. 16 déc. — Lucas : annulé sans frais, non facturé" in done.text
    assert "1 jour réservé est marqué absent." in done.text  # the 9th
    assert "Les jours réservés concernés restent facturés." in done.text
    async with portal.sessions() as session:
        rows = dict((await session.execute(select(Booking.id, Booking.state))).all())
        attendance = await session.scalar(
            select(Booking.attendance).where(Booking.id == ninth.booking_id)
        )
    assert rows[sixteenth.booking_id] is BookingState.CANCELLED
    assert rows[ninth.booking_id] is BookingState.CONFIRMED and attendance is Attendance.ABSENT
    balance = await BillingService(portal.sessions).balance(
        town.guardian, town.family_id, date(2026, 12, 7)
    )
    assert balance.uninvoiced_cents == 410  # the 9th only


async def test_reported_without_cancelling_says_it_is_still_free_and_offers_it(
    portal, telegram, bot, clock
):
    await _booked_9_and_16(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _absence_for_family_reason(parent, "le 16 décembre")
    await parent.tap("Signaler sans annuler")
    done = await parent.next_message()
    assert "restent facturés, sauf si vous les annulez à temps" in done.text
    assert "annulation gratuite jusqu'au dimanche 13 décembre à 12 h" in done.text
    assert "🗑 Annuler des jours" in done.buttons
    await parent.tap("🗑 Annuler des jours")
    assert "Pour quel enfant" in (await parent.next_message()).text
    await parent.tap("Lucas")
    listing = await parent.next_message()
    assert "Jours réservés à venir" in listing.text
    assert "mer. 16 déc. · Lucas · CL Mercredis" in listing.buttons


async def test_an_absence_past_the_deadline_still_says_billed(portal, telegram, bot, clock):
    await _booked_9_and_16(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    recap = await _absence_for_family_reason(parent, "le 9 décembre")
    assert "restent facturés" in recap.text and "sans frais" not in recap.text
    assert recap.buttons[0] == "✅ Confirmer"
    await parent.tap("✅ Confirmer")
    done = await parent.next_message()
    assert "Les jours réservés concernés restent facturés." in done.text
    assert "🗑 Annuler des jours" not in done.buttons


async def test_an_absence_ahead_of_time_in_english(portal, telegram, bot, clock):
    await _booked_9_and_16(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.send_text("16 December")
    await parent.next_message()
    await parent.tap("👪 Family reason")
    recap = await parent.next_message()
    assert "can still be cancelled free of charge" in recap.text
    assert (
        "• Wed 16 Dec — Lucas, CL Mercredis: free cancellation until Sunday 13 December, 12:00"
        in recap.text
    )
    await parent.tap("🗑 Cancel free of charge (1) and report")
    done = await parent.next_message()
    assert "🗑 Wed 16 Dec — Lucas: cancelled free of charge, not billed" in done.text
    assert "No booked day" not in done.text


async def test_a_refusal_naming_a_document_reads_as_written(portal, telegram, bot):
    await build_town(portal.sessions, WEDNESDAYS, required_documents=["insurance"])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _calendar(parent)
    await parent.send_text("le 16 décembre")
    recap = await parent.next_message()
    assert "document manquant : attestation d'assurance" in recap.text
