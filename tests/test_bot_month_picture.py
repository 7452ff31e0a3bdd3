"""Mon planning in the chat, end to end through the local Bot API: the picture, ◀ ▶, the text
version, a row's calendar, and never another family's children."""

from __future__ import annotations

import io
from datetime import date, timedelta
from html import unescape

from PIL import Image
from sqlalchemy import update

from bot.app import COMMANDS
from conversations.booking import row_data
from conversations.kit.texts import text
from fake_telegram import FakeTelegram
from fake_telegram.models import ChatMessage
from fake_telegram.users import FakeUser
from store.bookings import BookingService
from store.models import Guardian
from store.models.enums import Language
from tests.chat_helpers import forge_tap, linked_parent
from tests.helpers import build_town, paris

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16, 23, 30)]


def _png_size(message: ChatMessage) -> tuple[int, int]:
    data = message.photo_bytes
    assert data is not None
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.size


async def _picture(parent: FakeUser) -> ChatMessage:
    return await parent.wait_for_message(lambda message: message.photo is not None)


async def test_planning_picture_months_text_and_a_rows_calendar(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, [*WEDNESDAYS, date(2027, 1, 6)])
    clock.set(paris(date(2026, 11, 20)))
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, [WEDNESDAYS[1]]
    )
    await BookingService(portal.sessions, clock).book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WEDNESDAYS[2]]
    )
    clock.set(paris(date(2026, 12, 3)))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")

    await parent.send_command("/planning")
    picture = await _picture(parent)
    assert len(telegram.calls_to("sendPhoto")) == 1
    width, _height = _png_size(picture)
    assert width <= 1280
    assert "Mon planning — décembre 2026" in (picture.caption or "")
    assert picture.buttons == [
        "📅 Emma · CL Mercredis",
        "📅 Lucas · CL Mercredis",
        "◀",
        "▶",
        "📝 Version texte",
        "☰ Menu",
    ]
    assert not any("Jade" in label for label in picture.buttons)

    # The month in words, for a screen reader: one line per row.
    await parent.tap("📝 Version texte", message=picture)
    words = unescape((await parent.next_message()).text or "")
    assert "Mon planning — décembre 2026" in words
    assert words.split("\n")[3:] == [
        "Emma · CL Mercredis — réservable : 9, 16, 23, 30 (avant le dimanche 6 décembre à 12 h)"
        " ; passé, sans réservation : 2",
        "Lucas · CL Mercredis — réservé : 9 ; réservable : 16, 23, 30 (avant le dimanche 13"
        " décembre à 12 h) ; passé, sans réservation : 2",
    ]
    assert "Jade" not in words

    # ▶: January in place of December, the same message, its picture changed.
    december_png = picture.photo_bytes
    await parent.tap("▶", message=picture)
    january = await parent.next_message()
    assert january.message_id == picture.message_id
    assert "Mon planning — janvier 2027" in (january.caption or "")
    assert len(telegram.calls_to("editMessageMedia")) == 1
    assert january.photo_bytes != december_png
    _png_size(january)
    await parent.tap("◀", message=january)
    assert "décembre 2026" in ((await parent.next_message()).caption or "")

    # A row's button opens the booking calendar of that child and activity, under the picture.
    await parent.tap("📅 Lucas · CL Mercredis", message=picture)
    calendar = await parent.next_message()
    assert calendar.message_id != picture.message_id and calendar.photo is None
    assert "CL Mercredis" in (calendar.text or "") and "Lucas" in (calendar.text or "")
    assert "✅9" in calendar.buttons
    await parent.tap("23", message=calendar)
    await parent.next_message()
    await parent.tap("Valider (1)", message=calendar)
    recap = await parent.next_message()
    assert "mer. 23 déc. — Lucas" in (recap.text or "")


async def test_the_menu_button_and_another_familys_rows(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 12, 3)))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("🗓 Mon planning")
    picture = await _picture(parent)
    assert "Mon planning — décembre 2026" in (picture.caption or "")

    # A forged row of the other family's child: refused, and no calendar of theirs shown.
    await forge_tap(telegram, parent, picture, row_data(town.other_child_id, town.activity_id))
    refusal = await parent.next_message()
    assert refusal.text == unescape(text("forbidden", "fr"))
    await parent.assert_no_message()
    # A month out of reach, forged: answered, nothing drawn.
    answer = await forge_tap(telegram, parent, picture, "pl:m:2031-01")
    assert answer is not None and answer.text == text("planning.unavailable", "fr")
    assert len(telegram.calls_to("editMessageMedia")) == 0

    # The other family's parent sees only Jade.
    other = await linked_parent(portal, telegram, "parent.f2@exemple.fr", first_name="Léa")
    await other.send_command("/planning")
    theirs = await _picture(other)
    assert theirs.buttons[0] == "📅 Jade · CL Mercredis"
    assert not any("Lucas" in label or "Emma" in label for label in theirs.buttons)


async def test_in_english_and_published(portal, telegram: FakeTelegram, bot, clock):
    await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 12, 3)))
    assert "planning" in COMMANDS
    assert text("cmd.planning", "en").startswith("My planning")
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Guardian)
            .where(Guardian.email == "parent.f1@exemple.fr")
            .values(language=Language.EN)
        )
    parent = telegram.add_user(first_name="Sam", language_code="en")
    token = await portal.linking.create_invite("parent.f1@exemple.fr", timedelta(hours=1))
    await parent.send_command(f"/start {token}")
    await parent.wait_for_message(lambda m: "What would you like" in (m.text or ""))
    await parent.send_command("/planning")
    picture = await _picture(parent)
    assert "My planning — December 2026" in (picture.caption or "")
    assert "📝 Text version" in picture.buttons
    await parent.tap("📝 Text version", message=picture)
    words = unescape((await parent.next_message()).text or "")
    assert (
        "Emma · CL Mercredis — bookable: 9, 16, 23, 30 (by Sunday 6 December, 12:00); "
        "past, not booked: 2"
    ) in words
