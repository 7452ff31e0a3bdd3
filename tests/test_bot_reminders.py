"""Deadline reminders in the chat, end to end through the local Bot API on a controlled clock:
the message and its buttons, "Comme le mois dernier" (recap, then ✅ Confirmer books the same
weekdays), "Choisir les jours" (the booking calendar), "Pas besoin ce mois-ci", `/rappels`
(off and on per activity), forged or stale buttons, and English."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select

from bot.portal import Portal
from conversations.kit.formatting import amount, days_label
from fake_telegram.users import FakeUser
from handlers.help_page import COMMANDS
from store.models import Booking, OutboxItem
from store.models.enums import DeliveryState
from tests.chat_helpers import forge_tap, linked_parent
from tests.helpers import build_town, paris
from tests.test_reminders import DAYS, EVE, THREE_DAYS, TWENTIETH, _book_last_month

LUCAS_DAYS = [d for d in DAYS if d.month == 12 and d.weekday() in (0, 3)]


async def _settled(portal: Portal) -> None:
    """Wait for the running bot to deliver (or drop) every queued reminder."""
    async with asyncio.timeout(10):
        while True:
            async with portal.sessions() as session:
                pending = await session.scalar(
                    select(OutboxItem.id).where(
                        OutboxItem.kind == "reminder", OutboxItem.state == DeliveryState.PENDING
                    )
                )
            if pending is None:
                return
            await asyncio.sleep(0.05)


async def _town_and_parent(portal: Portal, telegram, clock, booked_last_month: bool = True):
    clock.set(paris(date(2026, 10, 12)))
    town = await build_town(portal.sessions, DAYS, rules=TWENTIETH)
    if booked_last_month:
        await _book_last_month(town, clock, portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    return town, parent


async def _reminder(portal: Portal, parent: FakeUser, clock, at=THREE_DAYS):
    clock.set(at)
    await portal.reminders.tick("test-worker")
    return await parent.wait_for_message(lambda m: "⏰" in (m.text or ""))


async def test_reminder_then_same_as_last_month_books_the_same_weekdays(
    portal, telegram, clock, bot
):
    town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    assert "<b>" not in reminder.text
    assert (
        "CL Mercredis : les réservations pour décembre 2026 ferment vendredi 20 novembre à 12 h."
        in reminder.text
    )
    assert "Aucun jour réservé pour l'instant pour Lucas, Emma." in reminder.text
    assert reminder.buttons == [
        "🔁 Comme le mois dernier",
        "📅 Choisir les jours de Lucas",
        "📅 Choisir les jours d'Emma",
        "🙅 Pas besoin ce mois-ci",
    ]

    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    recap = await parent.next_message()
    assert recap.message_id == reminder.message_id
    assert "Comme la dernière fois — CL Mercredis, décembre 2026" in recap.text
    lucas = days_label(LUCAS_DAYS, "fr")
    assert f"Lucas : {lucas} ({len(LUCAS_DAYS)} j, " in recap.text
    assert "Emma : aucun jour à reprendre" in recap.text
    assert f"Total : {amount(410 * len(LUCAS_DAYS), 'fr')} pour" in recap.text
    assert recap.buttons == ["✅ Confirmer", "Annuler"]
    async with portal.sessions() as session:
        assert not list(
            await session.scalars(select(Booking.id).where(Booking.day >= date(2026, 12, 1)))
        )

    confirm_data = recap.inline_keyboard[0][0]["callback_data"]
    await parent.tap("✅ Confirmer", message=recap)
    done = await parent.next_message()
    assert f"✅ C'est réservé : {len(LUCAS_DAYS)} jours pour CL Mercredis" in done.text
    async with portal.sessions() as session:
        days = list(
            await session.scalars(
                select(Booking.day)
                .where(Booking.child_id == town.child_ids[0], Booking.day >= date(2026, 12, 1))
                .order_by(Booking.day)
            )
        )
    assert days == LUCAS_DAYS
    # The confirm tapped again books nothing more.
    # The confirm tapped again books nothing more (the message says the same).
    assert await forge_tap(telegram, parent, done, confirm_data) is not None
    async with portal.sessions() as session:
        count = len(
            list(await session.scalars(select(Booking.id).where(Booking.day >= date(2026, 12, 1))))
        )
    assert count == len(LUCAS_DAYS)


async def test_cancel_shows_the_reminder_again_and_choose_opens_the_calendar(
    portal, telegram, clock, bot
):
    _town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    await parent.tap("🔁 Comme le mois dernier", message=reminder)
    recap = await parent.next_message()
    await parent.tap("Annuler", message=recap)
    back = await parent.next_message()
    assert "⏰" in back.text and back.buttons[0] == "🔁 Comme le mois dernier"
    await parent.tap("📅 Choisir les jours d'Emma", message=back)
    calendar = await parent.wait_for_message(lambda m: "Emma" in (m.text or ""))
    assert "décembre 2026" in calendar.text
    assert any(label.endswith("Abandonner") or "Abandon" in label for label in calendar.buttons)


async def test_not_needed_is_acknowledged_and_stops_the_eves_reminder(
    portal, telegram, clock, bot
):
    _town, parent = await _town_and_parent(portal, telegram, clock, booked_last_month=False)
    reminder = await _reminder(portal, parent, clock)
    await parent.tap("🙅 Pas besoin ce mois-ci", message=reminder)
    done = await parent.next_message()
    assert "Noté : plus de rappel pour CL Mercredis, décembre 2026." in done.text
    clock.set(EVE)
    report = await portal.reminders.tick("test-worker")
    assert len(report.sent) == 1
    await _settled(portal)
    await parent.assert_no_message(0.2)


async def test_rappels_turns_an_activity_off_and_on(portal, telegram, clock, bot):
    town, parent = await _town_and_parent(portal, telegram, clock, booked_last_month=False)
    assert "rappels" in COMMANDS
    await parent.send_command("/rappels")
    screen = await parent.wait_for_message(lambda m: "Rappels avant" in (m.text or ""))
    assert screen.buttons == ["🔔 CL Mercredis", "✖ Fermer"]
    answer = await parent.tap("🔔 CL Mercredis", message=screen)
    assert answer is not None and "Rappels coupés pour CL Mercredis" in (answer.text or "")
    muted = await parent.next_message()
    assert muted.buttons == ["🔕 CL Mercredis", "✖ Fermer"]
    clock.set(THREE_DAYS)
    await portal.reminders.tick("test-worker")
    await _settled(portal)
    await parent.assert_no_message(0.2)

    await parent.tap("🔕 CL Mercredis", message=muted)
    unmuted = await parent.next_message()
    assert unmuted.buttons == ["🔔 CL Mercredis", "✖ Fermer"]
    await parent.tap("✖ Fermer", message=unmuted)
    await parent.next_message()
    # From the menu too.
    await parent.send_command("/menu")
    menu = await parent.wait_for_message(lambda m: "⏰ Rappels" in m.buttons)
    await parent.tap("⏰ Rappels", message=menu)
    await parent.wait_for_message(lambda m: "Rappels avant" in (m.text or ""))
    await _reminder(portal, parent, clock, at=EVE)
    assert town.activity_id


async def test_forged_or_stale_reminder_buttons_change_nothing(portal, telegram, clock, bot):
    town, parent = await _town_and_parent(portal, telegram, clock)
    reminder = await _reminder(portal, parent, clock)
    for data in ("rm:same:999", "rm:skip:999", "rm:ok:999:AAAAAAAAAAAAAAAA", "rm:back:999"):
        answer = await forge_tap(telegram, parent, reminder, data)
        assert answer is not None and "plus disponible" in (answer.text or ""), data
    answer = await forge_tap(telegram, parent, reminder, f"rm:mute:{town.activity_id + 5}:on")
    assert answer is not None and "plus disponible" in (answer.text or "")
    async with portal.sessions() as session:
        assert not list(
            await session.scalars(select(Booking.id).where(Booking.day >= date(2026, 12, 1)))
        )


async def test_an_english_parent_reads_the_reminder_in_english(portal, telegram, clock, bot):
    from tests.test_bot_requests import english_parent

    clock.set(paris(date(2026, 10, 12)))
    town = await build_town(portal.sessions, DAYS, rules=TWENTIETH)
    await _book_last_month(town, clock, portal.sessions)
    parent = await english_parent(portal, telegram, "parent.f1@exemple.fr")
    reminder = await _reminder(portal, parent, clock)
    assert "bookings for December 2026 close on Friday 20 November, 12:00." in reminder.text
    assert reminder.buttons[0] == "🔁 Same as last month"
    assert reminder.buttons[-1] == "🙅 Not needed this month"
    await parent.tap("🔁 Same as last month", message=reminder)
    recap = await parent.next_message()
    assert "Total: <b>" not in recap.text and "Total: €" in recap.text
    assert recap.buttons == ["✅ Confirm", "Cancel"]
