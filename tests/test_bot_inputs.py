"""An answer to every input, end to end through the local Bot API, in French and English:
/help, unknown commands, free text at the menu, other message kinds, files outside a flow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from conversations.kit.texts import text
from fake_telegram.models import ChatMessage
from fake_telegram.users import OTHER_KINDS, FakeUser
from handlers.help_page import COMMANDS, NOT_LISTED
from handlers.intents import Intent, intents_of
from store.models import Absence, Booking, Document
from store.models.enums import AbsenceReason, DocumentType
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import speak_english, tiny_pdf, tiny_png
from tests.helpers import build_town, paris
from tests.messaging_helpers import add_services

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]
# What each language's parent reads, for the same steps.
WORDS = {
    "fr": {
        "help": "Joindre une personne",
        "unknown": "Je ne connais pas la commande /cantine",
        "not_understood": "Je n'ai pas compris",
        "greeting": "Bonjour Parent",
        "sick": "Lucas est malade le 9 décembre",
        "absence_button": "🤒 Signaler une absence",
        "balance_phrase": "combien je dois pour la facture ?",
        "balance_button": "💶 Mon solde",
        "book_phrase": "bonjour, je voudrais inscrire mon fils à la cantine",
        "book_button": "📅 Réserver des jours",
        "unreadable": "Je ne sais pas lire",
        "menu": "📅 Réserver des jours",
        "file_question": "De quoi s'agit-il",
        "as_certificate": "🤒 Un certificat médical (absence)",
        "as_document": "📄 Un document pour le dossier",
        "drop": "✖ Ne rien en faire",
        "dropped": "Fichier ignoré",
        "days_question": "Quel jour",
        "recap": "Certificat médical : joint",
        "confirm": "✅ Confirmer",
        "in_flow": "Continuez avec les boutons",
    },
    "en": {
        "help": "Reach a person",
        "unknown": "I don't know the command /cantine",
        "not_understood": "I didn't understand",
        "greeting": "Hello Parent",
        "sick": "Lucas is sick on 9 December",
        "absence_button": "🤒 Report an absence",
        "balance_phrase": "how much do I owe on my invoice?",
        "balance_button": "💶 My balance",
        "book_phrase": "hello, I'd like to sign my son up for the canteen",
        "book_button": "📅 Book days",
        "unreadable": "I can't read",
        "menu": "📅 Book days",
        "file_question": "What is it",
        "as_certificate": "🤒 A medical certificate (absence)",
        "as_document": "📄 A document for the family file",
        "drop": "✖ Discard it",
        "dropped": "File discarded",
        "days_question": "Which day",
        "recap": "Medical certificate: attached",
        "confirm": "✅ Confirm",
        "in_flow": "continue with the buttons",
    },
}
LANGUAGES = list(WORDS)


def _says(words: str) -> Callable[[ChatMessage], bool]:
    return lambda message: words in (message.text or "")


def _has_button(label: str) -> Callable[[ChatMessage], bool]:
    return lambda message: label in message.buttons


@pytest.fixture
async def town(portal, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    await add_services(portal.sessions)
    clock.set(paris(date(2026, 12, 1), "08:00"))
    return town


async def _parent(portal, telegram, language: str) -> FakeUser:
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    if language == "en":
        await speak_english(portal, parent)
    return parent


async def _count(portal, model) -> int:
    async with portal.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("command", ["/help", "/aide"])
async def test_help_says_what_the_bot_does_and_who_to_reach(
    portal, telegram, bot, town, language, command
):
    parent = await _parent(portal, telegram, language)
    await parent.send_command(command)
    help_page = await parent.next_message()
    assert WORDS[language]["help"] in help_page.text
    assert "centres-loisirs@montclar.example" in help_page.text
    assert "/reserver" in help_page.text and "/abandon" in help_page.text
    # Every command of the "/" menu is on the page, with its description in the language.
    for name in set(COMMANDS) - NOT_LISTED:
        assert f"/{name} — {text(f'cmd.{name}', language)}" in help_page.text, name
    assert WORDS[language]["menu"] in help_page.buttons


async def test_help_before_linking_explains_how_to_link(portal, telegram, bot, town):
    stranger = telegram.add_user(first_name="Inès", language_code="en")
    await stranger.send_command("/help")
    page = await stranger.next_message()
    assert "link your account" in page.text and "regie@montclar.example" in page.text
    assert page.buttons == []


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_unknown_command_is_said_so_with_the_menu(portal, telegram, bot, town, language):
    parent = await _parent(portal, telegram, language)
    await parent.send_command("/cantine")
    answer = await parent.next_message()
    assert WORDS[language]["unknown"] in answer.text
    assert WORDS[language]["menu"] in answer.buttons


CLOSEST = {"fr": "Vouliez-vous dire /mesabsences ?", "en": "Did you mean /mesabsences?"}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_mistyped_command_names_the_one_it_most_likely_meant(
    portal, telegram, bot, town, language
):
    parent = await _parent(portal, telegram, language)
    await parent.send_command("/mesabsence")
    answer = await parent.next_message()
    assert CLOSEST[language] in answer.text
    assert WORDS[language]["menu"] in answer.buttons  # the menu all the same
    await parent.send_command("/mesabsences")  # the one it named is a real command
    listing = await parent.next_message()
    assert "/mesabsence" not in listing.text
    assert WORDS[language]["unknown"][:12] not in listing.text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_free_text_offers_the_flow_it_asks_for(portal, telegram, bot, town, language):
    words = WORDS[language]
    parent = await _parent(portal, telegram, language)
    await parent.send_text(words["book_phrase"])
    assert words["book_button"] in (await parent.next_message()).buttons
    await parent.send_text(words["balance_phrase"])
    offer = await parent.next_message()
    assert words["balance_button"] in offer.buttons
    await parent.tap(words["balance_button"])
    await parent.wait_for_message(lambda m: "💶" in (m.text or ""))
    await parent.send_text("xyzzy plugh")
    answer = await parent.next_message()
    assert words["not_understood"] in answer.text and words["menu"] in answer.buttons
    await parent.send_text("bonjour" if language == "fr" else "hello")
    greeting = await parent.next_message()
    assert words["greeting"] in greeting.text and words["menu"] in greeting.buttons


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_phrase_with_a_date_keeps_it_for_the_flow_it_opens(
    portal, telegram, bot, town, language
):
    words = WORDS[language]
    parent = await _parent(portal, telegram, language)
    await parent.send_text(words["sick"])
    offer = await parent.next_message()
    await parent.tap(words["absence_button"], message=offer)
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    reasons = await parent.next_message()  # the days question is skipped: they were typed
    assert "9" in reasons.text and words["days_question"] not in reasons.text
    assert any("🤒" in label for label in reasons.buttons)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
async def test_other_kinds_of_message_get_one_line_and_the_menu(
    portal, telegram, bot, town, language, kind
):
    parent = await _parent(portal, telegram, language)
    await parent.send_kind(kind)
    answer = await parent.next_message()
    assert answer.text.startswith(WORDS[language]["unreadable"])
    assert WORDS[language]["menu"] in answer.buttons
    await parent.assert_no_message(0.1)


async def test_a_sticker_in_a_flow_keeps_the_flow(portal, telegram, bot, town):
    parent = await _parent(portal, telegram, "fr")
    await parent.send_command("/absence")
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.send_kind("sticker")
    answer = await parent.next_message()
    assert WORDS["fr"]["in_flow"] in answer.text and answer.buttons == []
    await parent.tap("Lucas")
    assert "Quel jour" in (await parent.next_message()).text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_photo_sent_at_the_menu_becomes_the_certificate_of_an_absence(
    portal, telegram, bot, town, language
):
    words = WORDS[language]
    parent = await _parent(portal, telegram, language)
    await parent.send_photo(tiny_png())
    question = await parent.next_message()
    assert words["file_question"] in question.text
    assert question.buttons[:3] == [words["as_certificate"], words["as_document"], words["drop"]]
    downloads = len(telegram.calls_to("getFile"))
    await parent.tap(words["as_certificate"])
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    await parent.wait_for_message(_says(words["days_question"]))
    await parent.send_text("9/12" if language == "fr" else "9 December")
    recap = await parent.wait_for_message(_has_button(words["confirm"]))
    assert words["recap"] in recap.text
    await parent.tap(words["confirm"])
    await parent.next_message()
    async with portal.sessions() as session:
        [absence] = list(await session.scalars(select(Absence)))
        [document] = list(await session.scalars(select(Document)))
    assert absence.reason is AbsenceReason.ILLNESS
    assert document.doc_type is DocumentType.MEDICAL_CERTIFICATE
    assert len(telegram.calls_to("getFile")) == downloads + 1  # the same file, not re-sent


async def test_a_file_sent_at_the_menu_can_be_dropped(portal, telegram, bot, town):
    parent = await _parent(portal, telegram, "fr")
    await parent.send_document(tiny_pdf(), "attestation.pdf")
    question = await parent.next_message()
    assert "attestation.pdf" in question.text
    await parent.tap(WORDS["fr"]["drop"])
    dropped = await parent.next_message()
    assert WORDS["fr"]["dropped"] in dropped.text
    assert await _count(portal, Document) == 0 and await _count(portal, Absence) == 0


async def test_a_file_of_the_wrong_type_at_the_menu_is_refused(portal, telegram, bot, town):
    parent = await _parent(portal, telegram, "fr")
    await parent.send_document(b"MZ\x90\x00 not a pdf", "virus.pdf")
    answer = await parent.next_message()
    assert "De quoi s'agit-il" not in answer.text and answer.buttons == []
    assert await _count(portal, Document) == 0


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Lucas est malade aujourd'hui", Intent.ABSENCE),
        ("il sera absent mercredi", Intent.ABSENCE),
        ("my daughter is sick", Intent.ABSENCE),
        ("je veux annuler la cantine de jeudi", Intent.CANCEL),
        ("please cancel friday", Intent.CANCEL),
        ("inscrire Emma au centre de loisirs", Intent.BOOK),
        ("réserver les mercredis", Intent.BOOK),
        ("book the holiday camp", Intent.BOOK),
        ("je voudrais payer ma facture", Intent.BALANCE),
        ("what is my balance", Intent.BALANCE),
        ("j'ai un certificat à envoyer", Intent.DOCUMENTS),
        ("where do I upload the vaccination form", Intent.DOCUMENTS),
        ("j'ai une question pour le service", Intent.MESSAGE),
        ("I want to write to the town hall", Intent.MESSAGE),
        ("ANULER svp", Intent.CANCEL),
        ("Malade", Intent.ABSENCE),
    ],
)
def test_intents_recognise_the_common_requests(phrase, expected):
    assert intents_of(phrase)[0] is expected


@pytest.mark.parametrize("phrase", ["", "   ", "ok", "42", "🙂", "xyzzy"])
def test_phrases_without_intent_give_none(phrase):
    assert intents_of(phrase) == []


async def test_a_booking_phrase_with_a_date_goes_to_the_recap(portal, telegram, bot, town):
    parent = await _parent(portal, telegram, "fr")
    await parent.send_text("je voudrais réserver le centre le 9 décembre pour Lucas")
    offer = await parent.next_message()
    await parent.tap("📅 Réserver des jours", message=offer)
    await parent.wait_for_message(_has_button("Lucas"))
    await parent.tap("Lucas")
    recap = await parent.wait_for_message(_has_button("✅ Confirmer"))
    assert "mer. 9 déc." in recap.text
    await parent.tap("✅ Confirmer")
    await parent.next_message()
    async with portal.sessions() as session:
        assert [b.day for b in await session.scalars(select(Booking))] == [WEDNESDAYS[1]]


async def test_a_pdf_sent_at_the_menu_becomes_a_document_of_the_file(portal, telegram, bot, town):
    parent = await _parent(portal, telegram, "fr")
    await parent.send_document(tiny_pdf(), "facture-edf.pdf")
    await parent.wait_for_message(_says("De quoi s'agit-il"))
    downloads = len(telegram.calls_to("getFile"))
    await parent.tap(WORDS["fr"]["as_document"])
    await parent.wait_for_message(_has_button("Justificatif de domicile"))
    await parent.tap("Justificatif de domicile")
    received = await parent.wait_for_message(_says("Bien reçu"))
    assert "facture-edf.pdf" in received.text
    async with portal.sessions() as session:
        [document] = list(await session.scalars(select(Document)))
    assert document.doc_type is DocumentType.PROOF_OF_ADDRESS
    assert len(telegram.calls_to("getFile")) == downloads + 1
