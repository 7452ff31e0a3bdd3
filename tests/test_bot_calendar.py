"""The booking calendar: month navigation and the state of each day, as the parent sees it."""

from __future__ import annotations

from datetime import date

from store.bookings import BookingService
from tests.chat_helpers import linked_parent
from tests.helpers import build_town, paris

DAYS = [date(2026, 12, d) for d in (2, 9, 16, 17, 18, 23, 30)]


async def test_each_day_shows_its_state(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, DAYS, capacity=1, closed={date(2026, 12, 30)})
    clock.set(paris(date(2026, 11, 20)))
    service = BookingService(portal.sessions, clock)
    lucas = town.child_ids[:1]
    await service.book(town.guardian, lucas, town.activity_id, [DAYS[0], DAYS[2]])
    await service.book(town.other_guardian, [town.other_child_id], town.activity_id, DAYS[3:5])
    [waiting] = await service.book(town.guardian, lucas, town.activity_id, [DAYS[4]])
    assert waiting.outcome.value == "waitlisted"
    clock.set(paris(date(2026, 12, 7), "08:00"))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap("Lucas")
    calendar = await parent.next_message()
    labels = set(calendar.buttons)
    assert {"🔒2", "⛔9", "✅16", "🟡17", "🕒18", "23", "✖30"} <= labels
    assert "décembre 2026" in calendar.text and "liste d'attente" in calendar.text
    answer = await parent.tap("✖30")
    assert answer is not None and answer.show_alert


async def test_months_are_navigated_in_the_same_message(portal, telegram, bot, clock):
    await build_town(portal.sessions, [date(2026, 12, 9), date(2027, 1, 6)])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap("Emma")
    calendar = await parent.next_message()
    assert "décembre 2026" in calendar.text
    await parent.tap("9")
    await parent.next_message()
    await parent.tap("▶")
    january = await parent.next_message()
    assert january.message_id == calendar.message_id
    assert "janvier 2027" in january.text and "6" in january.buttons
    await parent.tap("6")
    await parent.next_message()
    await parent.tap("◀")
    december = await parent.next_message()
    assert "☑️9" in december.buttons
    await parent.tap("◀")  # back to the current month
    assert "novembre 2026" in (await parent.next_message()).text
    await parent.tap("Valider (2)")
    recap = await parent.next_message()
    assert "mer. 9 déc. — Emma" in recap.text and "mer. 6 janv. — Emma" in recap.text
