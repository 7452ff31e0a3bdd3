"""Actualités in the chat, end to end through the local Bot API: the broadcast, the list
(latest first, a page at a time, only the family's, withdrawn ones hidden), one item whole
with its attachment, the mute toggle, and a forged tap on another family's item."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.portal import Portal
from fake_telegram.users import FakeUser
from store.actors import Actor
from store.bookings import BookingService
from store.models import OutboxItem
from store.models.enums import DeliveryState
from store.news import Attachment, NewsDraft, NewsService, parse_audience
from store.safe_files import PDF, PNG
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.helpers import build_town, paris
from tests.messaging_helpers import add_services
from tests.test_news import TODAY, WED


async def _town(portal: Portal, clock) -> tuple[NewsService, Actor]:
    clock.set(paris(TODAY))
    await build_town(portal.sessions, [WED])
    services = await add_services(portal.sessions)
    return NewsService(portal.sessions, clock), services.staff


async def _publish(
    service: NewsService, staff: Actor, clock, title: str, audience: str = "all", **extra
) -> int:
    clock.set(clock.now + timedelta(minutes=1))  # each item a little later than the last
    body = extra.pop("body", f"Texte de **{title}**.")
    published = await service.publish(
        staff, NewsDraft(title, body, parse_audience(audience), **extra)
    )
    return published.news_id


async def _settled(portal: Portal) -> None:
    """Wait for the running bot to deliver every queued news message."""
    async with asyncio.timeout(10):
        while True:
            async with portal.sessions() as session:
                pending = await session.scalar(
                    select(OutboxItem.id).where(
                        OutboxItem.kind == "news", OutboxItem.state == DeliveryState.PENDING
                    )
                )
            if pending is None:
                return
            await asyncio.sleep(0.05)


async def _open_news(parent: FakeUser):
    await parent.send_command("/actualites")
    return await parent.wait_for_message(lambda m: "Actualités" in (m.text or ""))


async def test_broadcast_then_list_pages_and_one_item_whole(portal, telegram, clock, bot):
    service, staff = await _town(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _publish(
        service,
        staff,
        clock,
        "Fête de l'école",
        body="La fête a lieu **samedi** : [programme](https://exemple.fr/fete).\n- jeux\n- goûter",
        attachment=Attachment("programme.pdf", PDF, tiny_pdf()),
    )
    broadcast = await parent.wait_for_message(lambda m: "Fête de l'école" in (m.text or ""))
    assert "La fête a lieu samedi : programme." in broadcast.text
    assert "• jeux\n• goûter" in broadcast.text
    assert "📎 Pièce jointe : programme.pdf" in broadcast.text
    assert broadcast.buttons == ["📰 Lire dans Actualités"]
    bold = [e for e in broadcast.entities if e["type"] == "bold"]
    link = [e for e in broadcast.entities if e["type"] == "text_link"]
    assert bold and link and link[0]["url"] == "https://exemple.fr/fete"

    # Muted meanwhile, so that the chat does not wait a second for each of ten broadcasts:
    # what is listed does not depend on it.
    profile = await portal.families.profile(parent.id)
    assert profile is not None
    await service.set_muted(profile.actor, True)
    for number in range(1, 10):
        await _publish(service, staff, clock, f"Info {number}")
    await service.set_muted(profile.actor, False)
    await _publish(service, staff, clock, "Pour F2 seulement", "booked:act:2026-12-09")
    withdrawn = await _publish(service, staff, clock, "Retirée")
    await service.withdraw(staff, withdrawn)
    await _settled(portal)

    screen = await _open_news(parent)
    assert "Page 1/2" in screen.text
    assert screen.buttons[:8] == [f"Info {n}" for n in range(9, 1, -1)]
    assert "Retirée" not in screen.text and "Pour F2" not in screen.text
    assert screen.button_rows[8:] == [["Suivantes ▶"], ["🔕 Couper les actualités", "✖ Fermer"]]
    await parent.tap("Suivantes ▶")
    second = await parent.next_message()
    assert "Page 2/2" in second.text
    assert second.buttons[:2] == ["Info 1", "Fête de l'école"]
    assert second.button_rows[2] == ["◀ Précédentes"]

    await parent.tap("Fête de l'école")
    detail = await parent.wait_for_message(lambda m: "Publiée le" in (m.text or ""))
    assert "La fête a lieu samedi" in detail.text
    assert detail.button_rows == [["◀ Retour", "✖ Fermer"]]
    await parent.wait_for_message(lambda m: m.document is not None)
    [document] = telegram.documents_sent(parent.id)
    assert (document.filename, document.data) == ("programme.pdf", tiny_pdf())
    await parent.tap("◀ Retour", message=detail)
    back = await parent.wait_for_message(lambda m: "Page 1/2" in (m.text or ""))
    assert back.buttons[0] == "Info 9"


async def test_the_broadcast_button_opens_the_item_and_a_photo_is_sent_as_a_photo(
    portal, telegram, clock, bot
):
    service, staff = await _town(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _publish(
        service,
        staff,
        clock,
        "Photo du spectacle",
        attachment=Attachment("photo.png", PNG, tiny_png()),
    )
    broadcast = await parent.wait_for_message(lambda m: "Photo du spectacle" in (m.text or ""))
    await parent.tap("📰 Lire dans Actualités", message=broadcast)
    await parent.wait_for_message(lambda m: m.photo is not None)


async def test_mute_toggle_stops_news_but_not_urgent_ones(portal, telegram, clock, bot):
    service, staff = await _town(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _open_news(parent)
    assert parent.last_message.text.endswith("Aucune actualité pour votre famille pour le moment.")
    answer = await parent.tap("🔕 Couper les actualités")
    assert answer is not None and "Actualités coupées" in (answer.text or "")
    muted = await parent.next_message()
    assert "🔕 Actualités coupées" in muted.text
    assert "🔔 Réactiver les actualités" in muted.buttons

    await _publish(service, staff, clock, "Sortie au parc")
    await _publish(service, staff, clock, "Grève jeudi", urgent=True)
    await parent.wait_for_message(lambda m: "Grève jeudi" in (m.text or ""))
    assert parent.last_message.text.startswith("⚠️ Grève jeudi")
    await _settled(portal)
    assert not [m for m in parent.messages if (m.text or "").startswith("📰 Sortie au parc")]
    # Both are listed all the same.
    listing = await _open_news(parent)
    assert listing.buttons[:2] == ["⚠️ Grève jeudi", "Sortie au parc"]

    await parent.tap("🔔 Réactiver les actualités")
    unmuted = await parent.next_message()
    assert "🔕 Couper les actualités" in unmuted.buttons
    await _publish(service, staff, clock, "Kermesse")
    await parent.wait_for_message(lambda m: (m.text or "").startswith("📰 Kermesse"))


async def test_english_parent_reads_the_translation(portal, telegram, clock, bot):
    service, staff = await _town(portal, clock)
    from tests.test_bot_requests import english_parent

    parent = await english_parent(portal, telegram, "parent.f1@exemple.fr")
    await _publish(
        service,
        staff,
        clock,
        "Fête de l'école",
        title_en="School party",
        body_en="On **Saturday**.",
    )
    message = await parent.wait_for_message(lambda m: "School party" in (m.text or ""))
    assert "On Saturday." in message.text and "Fête" not in message.text
    await parent.send_command("/actualites")
    listing = await parent.wait_for_message(lambda m: "📰 News" in (m.text or ""))
    assert listing.buttons[0] == "School party"


async def test_another_familys_item_or_a_forged_tap_shows_nothing(portal, telegram, clock, bot):
    clock.set(paris(TODAY))
    town = await build_town(portal.sessions, [WED])
    staff = (await add_services(portal.sessions)).staff
    service = NewsService(portal.sessions, clock)
    # F2 alone is booked on WED: an item to the families booked that day is F2's.
    await BookingService(portal.sessions, clock).book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WED]
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _publish(service, staff, clock, "Pour l'activité", "activity:act")
    not_ours = await _publish(service, staff, clock, "Pour F2", f"booked:act:{WED}")
    screen = await _open_news(parent)
    assert "Pour F2" not in screen.text and screen.buttons[0] == "Pour l'activité"
    answer = await forge_tap(telegram, parent, screen, f"nw:o:{not_ours}")
    assert answer is not None and "n'est plus disponible" in (answer.text or "")
    for data in ("nw:o:999999", "nw:o:-1", "nw:o:99999999999999999999", "nw:m:maybe"):
        assert await forge_tap(telegram, parent, screen, data) is not None
    assert not [m for m in parent.messages if "Pour F2" in (m.text or "")]
