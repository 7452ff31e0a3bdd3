"""Every refusal has words in both languages, and people's text is escaped."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from conversations.booking import refusal_text
from conversations.kit.texts import CATALOG, LOCALE_DIR, CatalogError, load_catalog, text
from store.bookings import BookingOutcome, Outcome, Refusal

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("refusal", list(Refusal))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_refusal_reads_as_a_plain_sentence(refusal, language):
    outcome = BookingOutcome(
        child_id=1,
        day=date(2026, 12, 9),
        outcome=Outcome.REFUSED,
        refusal=refusal,
        deadline=datetime(2026, 12, 6, 12, 0, tzinfo=PARIS),
        opens_at=datetime(2026, 11, 3, 8, 0, tzinfo=PARIS),
        missing_document="vaccination_record",
        next_bookable_day=date(2026, 12, 16),
    )
    sentence = refusal_text(outcome, language)
    assert "{" not in sentence and sentence.strip()
    if refusal is Refusal.DEADLINE_PASSED:
        expected = "6 décembre à 12 h" if language == "fr" else "6 December, 12:00"
        assert expected in sentence
    if refusal is Refusal.DOCUMENT_MISSING:
        assert ("carnet de vaccination" if language == "fr" else "vaccination record") in sentence


def test_every_text_exists_in_both_languages_with_the_same_placeholders():
    assert all(set(entry) == {"fr", "en"} for entry in CATALOG.values())
    for key, entry in CATALOG.items():
        french, english = (
            set(re.findall(r"{(\w+)(?::\w+)?}", entry[lang])) for lang in ("fr", "en")
        )
        assert french == english, key


def test_the_po_files_hold_each_key_once():
    for language in ("fr", "en"):
        keys = [
            key
            for po in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))
            for key in re.findall(r'^msgid "(.+)"$', po.read_text("utf-8"), flags=re.MULTILINE)
        ]
        assert len(keys) == len(set(keys)) == len(CATALOG)


def test_a_key_in_two_domains_is_refused(tmp_path):
    for language in ("fr", "en"):
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        for domain in ("one", "two"):
            (folder / f"{domain}.po").write_text('msgid "same.key"\nmsgstr "x"\n', "utf-8")
    with pytest.raises(CatalogError):
        load_catalog(tmp_path)


def test_values_are_escaped_but_html_values_are_not():
    greeting = text("start.linked", "fr", name="<b>Léa</b>")
    assert greeting.startswith("Bonjour &lt;b&gt;Léa&lt;/b&gt; !")
    assert "<i>x</i>" in text(
        "calendar.title", "fr", activity_html="<i>x</i>", children="", month=""
    )
