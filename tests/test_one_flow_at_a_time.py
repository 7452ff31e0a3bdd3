"""One flow at a time, end to end: for every ordered pair of flows, the parent opens the first
up to a step that waits for input, opens the second, types, and the second gets it — the first
is closed (its message says so) and nothing is written to the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from fake_telegram.models import ChatMessage
from fake_telegram.users import FakeUser
from store.bookings import BookingService
from store.models import Absence, Booking, Document, LinkToken, Message, OutboxItem, Thread
from tests.chat_helpers import linked_parent
from tests.helpers import build_town
from tests.messaging_helpers import add_services

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]


def _has_button(label: str) -> Callable[[ChatMessage], bool]:
    return lambda message: label in message.buttons


def _says(words: str) -> Callable[[ChatMessage], bool]:
    return lambda message: words in (message.text or "")


@dataclass(frozen=True)
class FlowUnderTest:
    """How a parent opens a flow up to a step waiting for input, and what typing there does."""

    name: str
    open: Callable[[FakeUser], Awaitable[ChatMessage]]
    typed: str
    answer: Callable[[ChatMessage], bool]
    # The title its message shows once closed (None: a view, nothing to close).
    closed_title: str | None


async def _open_booking(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/reserver")
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    return await parent.wait_for_message(_has_button("9"))


async def _open_cancelling(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/annuler")
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    return await parent.wait_for_message(lambda m: any("16 déc." in b for b in m.buttons))


async def _open_absence(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/absence")
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    return await parent.wait_for_message(_has_button("Aujourd'hui"))


async def _open_documents(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/documents")
    await parent.wait_for_message(_has_button("➕ Envoyer un document"))
    await parent.tap("➕ Envoyer un document")
    await parent.wait_for_message(_has_button("Certificat médical"))
    await parent.tap("Certificat médical")
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    return await parent.wait_for_message(_has_button("✖ Abandonner"))


async def _open_messages(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/message")
    await parent.wait_for_message(_has_button("Centres de loisirs"))
    await parent.tap("Centres de loisirs")
    return await parent.wait_for_message(_says("Écrivez votre message"))


async def _open_balance(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/solde")
    return await parent.wait_for_message(_says("Mon solde"))


async def _open_family_file(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/dossier")
    await parent.wait_for_message(_has_button("✏️ Demander une modification"))
    await parent.tap("✏️ Demander une modification")
    await parent.wait_for_message(_has_button("🏠 Le foyer"))
    await parent.tap("🏠 Le foyer")
    await parent.wait_for_message(_has_button("Téléphone de Parent"))
    await parent.tap("Téléphone de Parent")
    return await parent.wait_for_message(_says("nouveau numéro"))


async def _open_enrolment(parent: FakeUser) -> ChatMessage:
    await parent.send_command("/inscriptions")
    await parent.wait_for_message(_has_button("➕ Ajouter un enfant"))
    await parent.tap("➕ Ajouter un enfant")
    return await parent.wait_for_message(_says("prénom"))


FLOWS = [
    FlowUnderTest("booking", _open_booking, "le 9", _says("mer. 9 déc."), "Réservation"),
    FlowUnderTest(
        "cancelling", _open_cancelling, "le 16", _says("Utilisez les boutons"), "Annulation"
    ),
    FlowUnderTest(
        "absence", _open_absence, "le 9 décembre", _has_button("🤒 Maladie"), "Signalement"
    ),
    FlowUnderTest("documents", _open_documents, "voici", _says("photo"), "Envoi de document"),
    FlowUnderTest(
        "messages", _open_messages, "Bonjour le service", _has_button("📨 Envoyer"), "Message"
    ),
    FlowUnderTest("balance", _open_balance, "le 9", _says("Je n'ai pas compris"), None),
    FlowUnderTest(
        "family-file",
        _open_family_file,
        "le 9",
        _says("Ce numéro de téléphone n'est pas valide"),
        "la modification du dossier",
    ),
    FlowUnderTest(
        "enrolment", _open_enrolment, "Zoé", _says("nom de famille de Zoé"), "Inscriptions"
    ),
]
PAIRS = [(first, second) for first in FLOWS for second in FLOWS if first is not second]


async def _store_rows(portal) -> dict[str, int]:
    """How many rows the flows could have written."""
    counts = {}
    async with portal.sessions() as session:
        for model in (Booking, Absence, Document, Message, Thread, OutboxItem, LinkToken):
            counts[model.__name__] = await session.scalar(select(func.count()).select_from(model))
    return counts


@pytest.fixture
async def family(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    await add_services(portal.sessions)
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, [WEDNESDAYS[2]]
    )
    return await linked_parent(portal, telegram, "parent.f1@exemple.fr")


@pytest.mark.parametrize(
    ("first", "second"), PAIRS, ids=[f"{a.name}-then-{b.name}" for a, b in PAIRS]
)
async def test_the_flow_opened_last_gets_what_is_typed(portal, family, first, second):
    parent = family
    before = await _store_rows(portal)
    waiting = await first.open(parent)
    await second.open(parent)
    if first.closed_title is not None:
        closed = parent.get_message(waiting.message_id)
        assert first.closed_title in closed.text and "fermé" in closed.text
        assert closed.buttons == []
    await parent.send_text(second.typed)
    await parent.wait_for_message(second.answer)
    await parent.assert_no_message(0.1)
    assert await _store_rows(portal) == before


async def test_abandon_closes_the_open_flow_and_the_next_one_starts_clean(portal, family):
    """Found: after /abandon, a new absence lost its child and its confirm raised KeyError."""
    parent = family
    await _open_cancelling(parent)
    await _open_absence(parent)
    await parent.send_command("/abandon")
    assert "rien n'a été modifié" in (await parent.wait_for_message(_says("abandonnée"))).text
    await parent.send_text("demain")  # no flow is open any more: not a day for an absence
    assert "Je n'ai pas compris" in (await parent.next_message()).text
    await _open_absence(parent)
    await parent.send_text("le 9 décembre")
    reasons = await parent.wait_for_message(_has_button("🤒 Maladie"))
    assert "Lucas" in reasons.text
    await parent.tap("👪 Raison familiale")
    recap = await parent.wait_for_message(_has_button("✅ Confirmer"))
    assert "Pour : Lucas" in recap.text
    await parent.tap("✅ Confirmer")
    done = await parent.wait_for_message(_says("Lucas"))
    assert "erreur" not in done.text
    async with portal.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Absence)) == 1


async def test_abandon_with_nothing_open_says_so(portal, family):
    parent = family
    await parent.send_command("/abandon")
    message = await parent.next_message()
    assert "Aucune démarche n'est en cours" in message.text and "☰ Menu" in message.buttons


async def test_a_flow_opened_from_a_menu_button_closes_the_one_in_progress(portal, family):
    parent = family
    calendar = await _open_booking(parent)
    await parent.send_command("/menu")
    menu = await parent.wait_for_message(_has_button("🤒 Signaler une absence"))
    assert "fermé" in parent.get_message(calendar.message_id).text
    await parent.tap("🤒 Signaler une absence", message=menu)
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    await parent.wait_for_message(_has_button("Aujourd'hui"))
    await parent.send_text("demain")
    await parent.wait_for_message(_has_button("🤒 Maladie"))


async def test_email_linking_is_closed_by_what_opens_next(portal, telegram, bot, family):
    """An unlinked parent started linking by email, then typed a command: the address typed
    next is not taken as the email to link."""
    stranger = telegram.add_user(first_name="Inès", language_code="fr")
    await stranger.send_command("/start")
    await stranger.wait_for_message(_has_button("✉️ Relier avec mon adresse e-mail"))
    await stranger.tap("✉️ Relier avec mon adresse e-mail")
    await stranger.wait_for_message(_says("adresse e-mail"))
    before = await _store_rows(portal)
    await stranger.send_command("/reserver")
    assert "pas relié" in (await stranger.next_message()).text
    await stranger.send_text("parent.f1@exemple.fr")
    assert "pas relié" in (await stranger.next_message()).text
    assert await _store_rows(portal) == before
