"""French elision ("les jours d'Emma") and count agreement ("1 jour", "2 jours") in every text:
the helper, a scan of the catalogs that keeps the class of bug from coming back, and the chat
and a staff email end to end for a child whose name starts with a vowel."""

from __future__ import annotations

import re
from datetime import date

import pytest

from conversations.kit.texts import CATALOG, ELIDING, counted, elide, fill, starts_with_vowel, text
from tests.chat_helpers import linked_parent
from tests.helpers import build_town

# Placeholders that may follow "de", "que", "le", "la" as they are: dates, times, amounts and
# numbers, which never start with a vowel in French ("le 9 décembre", "de 3,20 €", "le mercredi
# 9 décembre"). Any other placeholder after an eliding word is a name or a word: the French text
# writes it `{child:de}`, and `fill()` elides.
NOT_ELIDED = frozenset(
    {
        "amount",
        "asked",
        "birth",
        "date",
        "day",
        "days",
        "deadline",
        "due_on",
        "issued",
        "later",
        "low",
        "moment",
        "opens",
        "percent",
        "start",
        "suggestion",
        "until",
        "when",
    }
)
BEFORE_PLACEHOLDER = re.compile(
    r"\b(de|que|le|la|jusque|lorsque|puisque)\s+(?:<[^>]+>)*\{(\w+)\}", re.IGNORECASE
)
SPEC = re.compile(r"\{\w+:([^}]*)\}")


@pytest.mark.parametrize(
    ("name", "of_name"),
    [
        ("Emma", "d'Emma"),
        ("Élodie", "d'Élodie"),
        ("Inès", "d'Inès"),
        ("Océane", "d'Océane"),
        ("Ugo", "d'Ugo"),
        ("Œdipe", "d'Œdipe"),
        ("Arthur", "d'Arthur"),
        ("Hugo", "de Hugo"),  # h: never elided (a mute h cannot be told from an aspirated one)
        ("Lucas", "de Lucas"),
        ("Yanis", "de Yanis"),  # y: said /j/ in first names, never elided
        ("<b>Emma</b>", "d'<b>Emma</b>"),  # the first letter past the markup
        ("3,20 €", "de 3,20 €"),
        ("", "de "),
    ],
)
def test_de_elides_before_a_vowel_only(name, of_name):
    assert elide("de", name) == of_name


def test_each_eliding_word_keeps_its_case():
    assert elide("que", "Inès") == "qu'Inès"
    assert elide("De", "Emma") == "D'Emma"
    assert elide("le", "ALAE") == "l'ALAE"
    assert elide("la", "école") == "l'école"
    assert elide("la", "cantine") == "la cantine"
    assert elide("jusque", "Élodie") == "jusqu'Élodie"
    assert starts_with_vowel("&amp;Emma") and not starts_with_vowel("Hélène")
    with pytest.raises(ValueError):
        elide("pour", "Emma")


def test_fill_elides_a_placeholder_written_with_its_word_and_leaves_others():
    template = "Absence {child:de} le {day}, {count} jours"
    assert fill(template, {"child": "Emma", "day": "9 déc.", "count": 2}) == (
        "Absence d'Emma le 9 déc., 2 jours"
    )
    assert fill(template, {"child": "Lucas", "day": "9 déc.", "count": 2}).startswith(
        "Absence de Lucas"
    )
    # Escaped values (the chat's HTML) elide on the name they show.
    assert text("access.what.health", "fr", child="Élodie") == "les informations de santé d'Élodie"
    assert text("access.what.health", "en", child="Élodie") == "Élodie's health details"


def test_no_french_text_puts_an_eliding_word_before_a_name_placeholder():
    """A French text says "de {child}" only as `{child:de}`: the class of "les jours de Emma"
    cannot come back. A new date or number placeholder goes in NOT_ELIDED."""
    wrong = [
        (key, match.group(0))
        for key, entry in CATALOG.items()
        for match in BEFORE_PLACEHOLDER.finditer(entry["fr"])
        if match.group(2) not in NOT_ELIDED
    ]
    assert wrong == []


def test_only_french_texts_elide_and_only_with_known_words():
    for key, entry in CATALOG.items():
        assert SPEC.findall(entry["en"]) == [], key
        assert {spec.casefold() for spec in SPEC.findall(entry["fr"])} <= ELIDING, key
    # The one convention: no second key per vowel any more.
    assert not [key for key in CATALOG if key.endswith(".vowel")]


@pytest.mark.parametrize(
    ("key", "values", "one_fr", "many_fr", "one_en", "many_en"),
    [
        ("access.more", {}, "1 consultation plus ancienne", "2 consultations plus anciennes",
         "1 earlier one.", "2 earlier ones."),
        ("balance.more_lines", {}, "1 autre ligne", "2 autres lignes", "1 more line:",
         "2 more lines:"),
        ("inmail.more_files", {}, "1 autre fichier", "2 autres fichiers", "1 more file",
         "2 more files"),
        ("inmail.not_taken", {"max": 10}, "1 autre pièce jointe non prise en compte",
         "2 autres pièces jointes non prises en compte", "1 more attachment not taken",
         "2 more attachments not taken"),
        ("staffmail.documents.subject", {"family": "F1"}, "1 document à vérifier",
         "2 documents à vérifier", "1 document to review", "2 documents to review"),
        ("reminder.recap_total", {"amount": "3,20 €"}, "pour 1 jour.", "pour 2 jours.",
         "1 day", "2 days"),
        ("digest.subject.requests", {}, "1 demande à décider", "2 demandes à décider",
         "1 request to decide", "2 requests to decide"),
        ("digest.subject.mails", {}, "1 mail mis de côté", "2 mails mis de côté",
         "1 mail set aside", "2 mails set aside"),
    ],
)  # fmt: skip
def test_a_count_agrees_with_its_noun(key, values, one_fr, many_fr, one_en, many_en):
    assert one_fr in counted(key, 1, "fr", **values)
    assert many_fr in counted(key, 2, "fr", **values)
    assert one_en in counted(key, 1, "en", **values)
    assert many_en in counted(key, 2, "en", **values)


def test_every_singular_form_has_its_plural_and_no_count_says_s_in_brackets():
    for key in CATALOG:
        if key.endswith(".one") and key != "consent.one":  # "an authorisation": no count
            plural = key.removesuffix(".one")
            assert plural in CATALOG or f"{plural}.many" in CATALOG, key
    counts_in_brackets = [
        key
        for key, entry in CATALOG.items()
        for language in ("fr", "en")
        if re.search(r"\{(count|files)\}(?:</b>)? \w+\(s\)", entry[language])
    ]
    assert counts_in_brackets == []


async def test_the_chat_elides_emma_in_the_family_file_and_the_absence(portal, telegram, bot):
    town = await build_town(portal.sessions, [date(2026, 12, 9)])
    assert len(town.child_ids) == 2  # Lucas and Emma, Famille F1
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/dossier")
    await parent.next_message()
    await parent.tap("👧 Emma")
    card = await parent.next_message()
    assert "✏️ Modifier la fiche d'Emma" in card.buttons
    await parent.tap("✏️ Modifier la fiche d'Emma")
    ask = await parent.next_message()
    assert "de la fiche d'Emma" in ask.text and "de Emma" not in ask.text
    await parent.send_command("/absence")
    await parent.wait_for_message(lambda m: "Pour quel enfant" in (m.text or ""))
    await parent.tap("Emma")
    await parent.next_message()
    await parent.tap("Aujourd'hui")
    await parent.next_message()
    await parent.tap("👪 Raison familiale")
    await parent.next_message()
    await parent.tap("✅ Confirmer")
    done = await parent.next_message()
    assert "Absence d'Emma enregistrée" in done.text, done.text
