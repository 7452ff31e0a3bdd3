"""A parent's journey through the product's flows, for tests where several workers share the
work: whichever worker gets each tap, the parent must flow on as with one.

The journey books days, cancels one, reports an absence with a certificate sent from the
phone, changes a phone number in the family file, looks at the balance, writes to a service,
and — once the service answered — sends numbered replies back to back, without waiting in
between: they must be stored in the order they were typed. A last round sends a proof of
address photographed with the phone, asks to add a newborn to the family file, and reads every
view of the portal (requests, statement, tariffs, news, the month's picture).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from bot.portal import Portal
from fake_telegram import FakeTelegram
from fake_telegram.models import ChatMessage
from fake_telegram.users import FakeUser
from store.messaging import MessagingService
from store.models import Absence, Booking, Document, Guardian, HandledUpdate, Message
from store.models.enums import DocumentType
from store.models.requests import ChildRegistration
from tests.family_file_helpers import tiny_pdf, tiny_png
from tests.messaging_helpers import Services

WAIT = 60.0
STALE = "Ce bouton n'est plus valide"
SERVICE = "Centres de loisirs"


def has_button(label: str) -> Callable[[ChatMessage], bool]:
    return lambda message: label in message.buttons


def says(words: str) -> Callable[[ChatMessage], bool]:
    return lambda message: words in (message.text or "")


def _day_buttons(message: ChatMessage) -> list[str]:
    return [label for label in message.buttons if label.isdigit()]


@dataclass
class Journey:
    """What one parent did, for the checks at the end."""

    parent: FakeUser
    child: str
    booked: int = 0
    cancelled: int = 0
    absences: int = 0
    phone: str = ""
    numbered: list[str] = field(default_factory=list)
    documents: int = 0
    registrations: int = 0
    views: list[str] = field(default_factory=list)


async def _pick_child(parent: FakeUser, child: str, then: Callable[[ChatMessage], bool]) -> None:
    """Tap the child when the flow asks which one (a family of several children)."""
    first = await parent.wait_for_message(lambda m: child in m.buttons or then(m), timeout=WAIT)
    if child in first.buttons and not then(first):
        await parent.tap(child, message=first, timeout=WAIT)
        await parent.wait_for_message(then, timeout=WAIT)


async def book(journey: Journey) -> None:
    """Book the first two bookable days the calendar shows, and confirm."""
    parent = journey.parent
    await parent.send_command("/reserver")
    await _pick_child(parent, journey.child, lambda m: bool(_day_buttons(m)))
    calendar = parent.messages[-1]
    days = _day_buttons(calendar)[:2]
    assert days, f"no bookable day: {calendar!r}"
    for day in days:
        await parent.tap(day, timeout=WAIT)
        await parent.wait_for_message(has_button(f"Valider ({days.index(day) + 1})"), WAIT)
    await parent.tap(f"Valider ({len(days)})", timeout=WAIT)
    await parent.wait_for_message(has_button("✅ Confirmer"), WAIT)
    await parent.tap("✅ Confirmer", timeout=WAIT)
    result = await parent.wait_for_message(says("réservé"), WAIT)
    journey.booked = result.text.count("réservé")


async def cancel_one(journey: Journey) -> None:
    """Cancel the first day booked, and confirm."""
    parent = journey.parent
    await parent.send_command("/annuler")
    await _pick_child(parent, journey.child, says("Jours réservés à venir"))
    listing = parent.messages[-1]
    day = next(label for label in listing.buttons if "·" in label)
    await parent.tap(day, timeout=WAIT)
    await parent.wait_for_message(has_button("Valider (1)"), WAIT)
    await parent.tap("Valider (1)", timeout=WAIT)
    await parent.wait_for_message(has_button("✅ Confirmer"), WAIT)
    await parent.tap("✅ Confirmer", timeout=WAIT)
    await parent.wait_for_message(says("annulé"), WAIT)
    journey.cancelled = 1


async def report_absence(journey: Journey) -> None:
    """Tomorrow, ill, with a PDF certificate sent from the phone, and confirm."""
    parent = journey.parent
    await parent.send_command("/absence")
    await _pick_child(parent, journey.child, has_button("Aujourd'hui"))
    await parent.send_text("demain")
    await parent.wait_for_message(has_button("🤒 Maladie"), WAIT)
    await parent.tap("🤒 Maladie", timeout=WAIT)
    await parent.wait_for_message(has_button("Je l'enverrai plus tard"), WAIT)
    await parent.send_document(tiny_pdf(), "certificat.pdf", "application/pdf")
    await parent.wait_for_message(has_button("✅ Confirmer"), WAIT)
    await parent.tap("✅ Confirmer", timeout=WAIT)
    await parent.wait_for_message(says("enregistrée"), WAIT)
    journey.absences = 1


async def change_phone(journey: Journey, phone: str) -> None:
    """Ask for a new phone number in the family file (applied at once), and send."""
    parent = journey.parent
    await parent.send_command("/dossier")
    await parent.wait_for_message(has_button("✏️ Demander une modification"), WAIT)
    await parent.tap("✏️ Demander une modification", timeout=WAIT)
    await parent.wait_for_message(has_button("🏠 Le foyer"), WAIT)
    await parent.tap("🏠 Le foyer", timeout=WAIT)
    asking = await parent.wait_for_message(
        lambda m: any(b.startswith("Téléphone de") for b in m.buttons), WAIT
    )
    own = next(b for b in asking.buttons if b.startswith("Téléphone de"))
    await parent.tap(own, timeout=WAIT)
    await parent.wait_for_message(says("nouveau numéro"), WAIT)
    await parent.send_text(phone)
    await parent.wait_for_message(has_button("📨 Envoyer"), WAIT)
    await parent.tap("📨 Envoyer", timeout=WAIT)
    await parent.wait_for_message(says("votre dossier est à jour"), WAIT)
    journey.phone = phone


async def balance(journey: Journey) -> None:
    await journey.parent.send_command("/solde")
    await journey.parent.wait_for_message(says("Mon solde"), WAIT)


async def write_to_service(journey: Journey, words: str) -> None:
    """Write to the leisure centres' service and send."""
    parent = journey.parent
    await parent.send_command("/message")
    await parent.wait_for_message(has_button(SERVICE), WAIT)
    await parent.tap(SERVICE, timeout=WAIT)
    await parent.wait_for_message(says("Écrivez votre message"), WAIT)
    await parent.send_text(words)
    await parent.wait_for_message(has_button("📨 Envoyer"), WAIT)
    await parent.tap("📨 Envoyer", timeout=WAIT)
    await parent.wait_for_message(says("Message envoyé"), WAIT)


async def numbered_replies(journey: Journey, notice: ChatMessage, count: int) -> None:
    """Reply to the service's answer `count` times back to back; wait for every receipt."""
    parent = journey.parent
    parent.mark()
    for number in range(1, count + 1):
        words = f"Réponse n° {number} de {parent.first_name}"
        journey.numbered.append(words)
        await parent.reply_to(notice, words)
    for _ in range(count):
        await parent.wait_for_message(says("Message envoyé"), WAIT)


async def send_proof_of_address(journey: Journey) -> None:
    """Photograph a proof of address and send it from the documents screen."""
    parent = journey.parent
    await parent.send_command("/documents")
    await parent.wait_for_message(has_button("➕ Envoyer un document"), WAIT)
    await parent.tap("➕ Envoyer un document", timeout=WAIT)
    await parent.wait_for_message(has_button("Justificatif de domicile"), WAIT)
    await parent.tap("Justificatif de domicile", timeout=WAIT)
    await parent.wait_for_message(says("Justificatif de domicile"), WAIT)
    await parent.send_photo(tiny_png())
    await parent.wait_for_message(says("Bien reçu"), WAIT)
    journey.documents = 1


async def register_newborn(journey: Journey) -> None:
    """Ask for a child to be added to the family file, from the enrolments screen."""
    parent = journey.parent
    await parent.send_command("/inscriptions")
    await parent.wait_for_message(has_button("➕ Ajouter un enfant"), WAIT)
    await parent.tap("➕ Ajouter un enfant", timeout=WAIT)
    await parent.wait_for_message(says("Quel est son prénom ?"), WAIT)
    await parent.send_text("Léa")
    await parent.wait_for_message(says("Quel est le nom de famille de Léa ?"), WAIT)
    await parent.send_text(parent.last_name or "Martin")
    await parent.wait_for_message(says("date de naissance de Léa"), WAIT)
    await parent.send_text("12/03/2022")
    await parent.wait_for_message(has_button("MS"), WAIT)
    await parent.tap("MS", timeout=WAIT)
    await parent.wait_for_message(has_button("✅ Envoyer la demande"), WAIT)
    await parent.tap("✅ Envoyer la demande", timeout=WAIT)
    await parent.wait_for_message(says("Demande envoyée"), WAIT)
    journey.registrations = 1


VIEWS = {
    "/demandes": "Mes demandes",
    "/releve": "Relevé de compte",
    "/tarifs": "Tarifs",
    "/actualites": "Actualités",
}


async def read_views(journey: Journey) -> None:
    """Every view of the portal, one after the other; the month's picture last."""
    parent = journey.parent
    for command, title in VIEWS.items():
        await parent.send_command(command)
        await parent.wait_for_message(says(title), WAIT)
        journey.views.append(command)
    await parent.send_command("/planning")
    picture = await parent.wait_for_message(lambda m: m.photo is not None, WAIT)
    assert "Mon planning" in (picture.caption or "")
    journey.views.append("/planning")


def stale_answers(parent: FakeUser) -> list[ChatMessage]:
    """The bot's messages telling the parent a button was stale: none in a normal flow."""
    return [m for m in parent.messages if m.from_bot and STALE in (m.text or "")]


ANSWER = "Bien reçu, merci."


async def first_round(journeys: list[Journey]) -> None:
    """Every parent at once: book, cancel one day, report an absence with its certificate,
    change a phone number, the balance, write to the service."""

    async def one(index: int, journey: Journey) -> None:
        await book(journey)
        await cancel_one(journey)
        await report_absence(journey)
        await change_phone(journey, f"06 12 34 56 {index:02d}")
        await balance(journey)
        await write_to_service(journey, f"Question de {journey.parent.first_name}")

    await asyncio.gather(*(one(index, journey) for index, journey in enumerate(journeys)))


async def second_round(portal: Portal, services: Services, journeys: list[Journey]) -> None:
    """The service answers every thread; every parent replies 5 times back to back."""
    messaging = MessagingService(portal.sessions, portal.clock)
    async with portal.sessions() as session:
        threads = list(await session.scalars(select(Message.thread_id).distinct()))
    for thread_id in threads:
        await messaging.staff_reply(services.staff, thread_id, ANSWER)
    notices = [await j.parent.wait_for_message(says(ANSWER), WAIT) for j in journeys]
    await asyncio.gather(
        *(numbered_replies(j, notice, 5) for j, notice in zip(journeys, notices, strict=True))
    )


async def third_round(journeys: list[Journey]) -> None:
    """Every parent at once: a document, a child to add, every view of the portal."""

    async def one(journey: Journey) -> None:
        await send_proof_of_address(journey)
        await register_newborn(journey)
        await read_views(journey)

    await asyncio.gather(*(one(journey) for journey in journeys))


async def check_journeys(portal: Portal, telegram: FakeTelegram, journeys: list[Journey]) -> None:
    """Nobody stuck, nothing twice, each parent's replies in the order typed."""
    assert telegram.webhook is not None and telegram.webhook.refused == 0
    for journey in journeys:
        assert (journey.booked, journey.cancelled) == (2, 1), journey.parent
        assert stale_answers(journey.parent) == []
        answers = [m for m in journey.parent.messages if m.from_bot and ANSWER in (m.text or "")]
        assert len(answers) == 1  # the service's answer reached the parent once
    async with portal.sessions() as session:
        bodies = list(await session.scalars(select(Message.body).order_by(Message.id)))
        handled = await session.scalar(select(func.count()).select_from(HandledUpdate))
        bookings = await session.scalar(select(func.count()).select_from(Booking))
        absences = await session.scalar(select(func.count()).select_from(Absence))
        certificates = await session.scalar(select(func.count()).select_from(Document))
        phones = set(await session.scalars(select(Guardian.phone)))
        proofs = await session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.doc_type == DocumentType.PROOF_OF_ADDRESS)
        )
        registrations = await session.scalar(select(func.count()).select_from(ChildRegistration))
    for journey in journeys:
        assert [b for b in bodies if b in journey.numbered] == journey.numbered
    from_parents = [b for b in bodies if b != ANSWER]
    assert len(from_parents) == len(set(from_parents)) == 6 * len(journeys)  # none twice
    assert bookings == 2 * len(journeys)
    assert absences == sum(j.absences for j in journeys) == len(journeys)
    assert proofs == sum(j.documents for j in journeys)
    assert certificates == absences + proofs
    assert registrations == sum(j.registrations for j in journeys)
    for journey in journeys:
        if journey.views:
            assert journey.views == [*VIEWS, "/planning"]
    assert {j.phone for j in journeys} <= phones
    assert handled == telegram.webhook.delivered
