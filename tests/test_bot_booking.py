"""Booking and cancelling days in the chat, end to end through the local Bot API."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.runner import running_bot
from store.bookings import BookingService
from store.models import Booking
from store.models.enums import BookingState
from tests.chat_helpers import forge_tap, linked_parent
from tests.helpers import build_town, paris

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]


async def _start_booking(parent, child_label: str = "Lucas"):
    await parent.tap("📅 Réserver des jours")
    assert "Pour quel enfant" in (await parent.next_message()).text
    await parent.tap(child_label)
    return await parent.next_message()


async def test_book_a_day_by_taps(portal, telegram, bot):
    town = await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    calendar = await _start_booking(parent)
    assert "CL Mercredis" in calendar.text and "décembre 2026" in calendar.text
    assert {"2", "9", "16", "◀", "▶"} <= set(calendar.buttons)
    await parent.tap("9")
    calendar = await parent.next_message()
    assert "☑️9" in calendar.buttons
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    assert "mer. 9 déc. — Lucas : 4,10\u00a0€" in recap.text
    assert "Total : 4,10\u00a0€" in recap.text
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()
    assert "✅ mer. 9 déc. — Lucas : réservé (4,10\u00a0€)" in result.text
    async with portal.sessions() as session:
        [booking] = await session.scalars(select(Booking))
    assert (booking.child_id, booking.day, booking.state) == (
        town.child_ids[0],
        date(2026, 12, 9),
        BookingState.CONFIRMED,
    )


async def test_siblings_booked_in_one_go_with_typed_dates(portal, telegram, bot):
    await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _start_booking(parent, "Tous mes enfants")
    await parent.send_text("mercredi 9 et mercredi 16 décembre")
    recap = await parent.next_message()
    for line in (
        "mer. 9 déc. — Lucas : 4,10\u00a0€",
        "mer. 16 déc. — Lucas : 4,10\u00a0€",
        "mer. 9 déc. — Emma : 4,10\u00a0€",
        "mer. 16 déc. — Emma : 4,10\u00a0€",
    ):
        assert line in recap.text
    assert "Total : 16,40\u00a0€" in recap.text
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()
    assert result.text.count("réservé") == 4


async def test_refusals_are_explained_in_plain_words(portal, telegram, bot, clock):
    await build_town(
        portal.sessions, WEDNESDAYS, capacity=1, required_documents=["vaccination_record"]
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    clock.set(paris(date(2026, 12, 6), "13:00"))  # after the deadline of the 9th
    await _start_booking(parent)
    answer = await parent.tap("⛔9")
    assert answer is not None and "délai a expiré le dimanche 6 décembre à 12 h" in answer.text
    await parent.tap("16")
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    assert "document manquant : carnet de vaccination" in recap.text
    assert "✅ Confirmer" not in recap.buttons


async def test_cancel_free_and_late_and_the_waitlist_is_told(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS, capacity=1)
    clock.set(paris(date(2026, 11, 24)))
    service = BookingService(portal.sessions, clock)
    mine = await service.book(town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[1:])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    other = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    [queued] = await service.book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WEDNESDAYS[2]]
    )
    assert queued.outcome.value == "waitlisted"
    clock.set(paris(date(2026, 12, 8), "09:00"))  # the 9th is late, the 16th still free
    await parent.tap("🗑 Annuler des jours")
    await parent.next_message()
    await parent.tap("Lucas")
    listing = await parent.next_message()
    assert "Jours réservés à venir" in listing.text
    await parent.tap("mer. 9 déc. · Lucas · CL Mercredis")
    await parent.next_message()
    await parent.tap("mer. 16 déc. · Lucas · CL Mercredis")
    await parent.next_message()
    await parent.tap("Valider (2)")
    recap = await parent.next_message()
    assert (
        "mer. 9 déc. — Lucas, CL Mercredis : annulation tardive, facturée 4,10\u00a0€"
        in recap.text
    )
    assert "mer. 16 déc. — Lucas, CL Mercredis : annulation gratuite" in recap.text
    other.mark()
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()
    assert "annulé, facturé 4,10\u00a0€" in result.text
    notice = await other.wait_for_message(lambda m: "place s'est libérée" in (m.text or ""))
    assert "Jade" in notice.text and "mer. 16 déc." in notice.text
    async with portal.sessions() as session:
        states = dict((await session.execute(select(Booking.id, Booking.state))).all())
    assert states[mine[0].booking_id] is BookingState.LATE_CANCELLED
    assert states[queued.booking_id] is BookingState.CONFIRMED


async def test_abort_and_stale_buttons_change_nothing(portal, telegram, bot):
    await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    calendar = await _start_booking(parent)
    sixteenth = calendar.button("16")["callback_data"]
    await parent.tap("9")
    await parent.next_message()
    await parent.send_command("/reserver")  # a new flow: the old calendar is closed
    closed = await parent.next_message()
    assert closed.message_id == calendar.message_id and "fermé" in closed.text
    assert closed.buttons == []
    await parent.next_message()
    answer = await forge_tap(telegram, parent, calendar, sixteenth)  # an old client's tap
    assert answer is not None and "plus valide" in answer.text
    await parent.tap("✖ Abandonner")
    assert "rien n'a été modifié" in (await parent.next_message()).text
    answer = await forge_tap(telegram, parent, calendar, sixteenth)  # no flow any more
    assert answer is not None
    assert "plus valide" in (await parent.next_message()).text
    async with portal.sessions() as session:
        assert list(await session.scalars(select(Booking))) == []


async def test_forged_buttons_never_touch_another_family(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    [theirs] = await BookingService(portal.sessions, clock).book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WEDNESDAYS[1]]
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📅 Réserver des jours")
    question = await parent.next_message()
    await forge_tap(telegram, parent, question, f"bk:child:{town.other_child_id}")
    assert "pas possible depuis votre compte" in (await parent.next_message()).text
    await parent.send_command("/abandon")
    await parent.next_message()
    await parent.send_command("/annuler")
    question = await parent.next_message()
    await parent.tap("Lucas")
    listing = await parent.next_message()
    await forge_tap(telegram, parent, listing, f"cx:b:{theirs.booking_id}")
    await parent.next_message()
    await forge_tap(telegram, parent, listing, "cx:review")
    await forge_tap(telegram, parent, listing, "cx:confirm")
    async with portal.sessions() as session:
        assert (
            await session.scalar(select(Booking.state).where(Booking.id == theirs.booking_id))
            is BookingState.CONFIRMED
        )


async def test_a_booking_in_progress_survives_a_restart(portal, telegram):
    await build_town(portal.sessions, WEDNESDAYS)
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        await _start_booking(parent)
        await parent.tap("9")
        calendar = await parent.next_message()
    async with running_bot(portal, poll_timeout=1):
        await parent.tap("Valider (1)", message=calendar)
        recap = await parent.next_message()
        assert "mer. 9 déc. — Lucas : 4,10\u00a0€" in recap.text
        await parent.tap("✅ Confirmer")
        assert "réservé" in (await parent.next_message()).text


async def test_an_unanswered_flow_times_out_kindly(portal, telegram):
    await build_town(portal.sessions, WEDNESDAYS)
    portal.settings.conversation_timeout_seconds = 1
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        await _start_booking(parent)
        notice = await parent.wait_for_message(lambda m: "Sans réponse" in (m.text or ""), 10)
    assert "Rien n'a été modifié" in notice.text


async def test_a_late_booking_shows_its_surcharge_before_confirming(portal, telegram, bot, clock):
    rules = {
        "booking": {"rule": "weekday_before", "weekday": "jeudi", "time": "12:00"},
        "late_booking": {"mode": "surcharge", "percent": 50},
    }
    await build_town(portal.sessions, WEDNESDAYS, rules=rules)
    clock.set(paris(date(2026, 12, 3), "12:30"))  # Thursday, just after the cut-off
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    calendar = await _start_booking(parent)
    assert "💶9" in calendar.buttons
    await parent.tap("💶9")
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    assert "mer. 9 déc. — Lucas : 6,15\u00a0€ (dont majoration tardive 2,05\u00a0€)" in recap.text
    await parent.tap("✅ Confirmer")
    assert "réservé (6,15\u00a0€)" in (await parent.next_message()).text


async def test_booking_and_cancelling_in_english(portal, telegram, bot):
    await build_town(portal.sessions, WEDNESDAYS)
    parent = telegram.add_user(first_name="Sam", language_code="en")
    token = await portal.linking.create_invite("parent.f1@exemple.fr", timedelta(hours=1))
    await parent.send_command(f"/start {token}")
    await parent.wait_for_message(lambda m: "What would you like to do" in (m.text or ""))
    await parent.tap("📅 Book days")
    assert "For which child" in (await parent.next_message()).text
    await parent.tap("Emma")
    calendar = await parent.next_message()
    assert "December 2026" in calendar.text and "Tap the days to book" in calendar.text
    await parent.send_text("every Wednesday in December")
    recap = await parent.next_message()
    assert "Wed 9 Dec — Emma: €4.10" in recap.text and "Total: €12.30" in recap.text
    await parent.tap("✅ Confirm")
    assert (await parent.next_message()).text.count("booked (€4.10)") == 3
    await parent.tap("☰ Menu")
    await parent.next_message()
    await parent.tap("🗑 Cancel days")
    await parent.next_message()
    await parent.tap("Emma")
    await parent.next_message()
    await parent.tap("Wed 16 Dec · Emma · CL Mercredis")
    await parent.next_message()
    await parent.tap("Continue (1)")
    assert "free cancellation" in (await parent.next_message()).text
    await parent.tap("✅ Confirm")
    assert "Wed 16 Dec — Emma: cancelled" in (await parent.next_message()).text


async def test_the_calendar_shows_weekend_columns_only_when_the_activity_opens_then(
    portal, telegram, bot
):
    await build_town(portal.sessions, [*WEDNESDAYS, date(2026, 12, 19)])  # a Saturday
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    calendar = await _start_booking(parent)
    assert calendar.button_rows[0] == list("LMMJVSD")
    await parent.tap("▶")
    january = await parent.next_message()
    assert "janvier 2027" in january.text
    assert january.button_rows[0] == list("LMMJV")
    assert all(len(week) == 5 for week in january.button_rows[1:-2])
