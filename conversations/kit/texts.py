"""Every text a parent reads, in French (default) and English, looked up by key.

The texts live in gettext catalogs, `conversations/kit/locale/<language>/LC_MESSAGES/*.po`, one
domain per part of the product (`portail.po` for the core, `family_file.po`, `enrolment.po`…;
msgid: a stable key such as `menu.title`; msgstr: the sentence), read with Babel at start-up;
translators edit them with any PO editor. Texts are HTML (Telegram's parse mode): values that
come from people (names, typed text) are escaped by `text()`; placeholders ending in `_html` are
inserted as they are.

French elides "de", "que", "le", "la" before a vowel ("les jours d'Emma", "l'ALAE"): a French
text never writes "de {child}" but `{child:de}`, and `fill()` says "de Lucas" or "d'Emma" (see
`elide()`); the English text keeps `{child}`. A count says its noun in the singular through a
`.one` key of its own, picked by `counted()` ("1 jour", "2 jours"; "1 day", "2 days").
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en")

LOCALE_DIR = Path(__file__).parent / "locale"


class CatalogError(Exception):
    """Two domains of one language define the same key."""


def load_catalog(locale_dir: Path = LOCALE_DIR) -> dict[str, dict[str, str]]:
    """Every key with its sentence per language, from every domain's PO file."""
    catalog: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        for path in sorted((locale_dir / language / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as handle:
                messages = read_po(handle, locale=language, domain=path.stem)
            for message in messages:
                if not (message.id and message.string):
                    continue
                entry = catalog.setdefault(str(message.id), {})
                if language in entry:
                    raise CatalogError(f"{message.id!r} twice in the {language} catalogs")
                entry[language] = str(message.string)
    return catalog


CATALOG = load_catalog()


def text(key: str, language: str, **values: Any) -> str:
    """The text `key` in `language`, with values escaped for HTML (except `*_html`)."""
    entry = CATALOG[key]
    template = entry.get(language) or entry[DEFAULT_LANGUAGE]
    safe = {
        name: value if name.endswith("_html") else escape(str(value))
        for name, value in values.items()
    }
    return fill(template, safe)


def counted_key(key: str, count: int, language: str) -> str:
    """`key`, or its `.one` form for a count of 1 ("1 jour", "1 day"); `language` for the
    languages to come. No count of 0 is said with a noun: its sentence has a key of its own."""
    del language
    return f"{key}.one" if count == 1 else key


def counted(key: str, count: int, language: str, **values: Any) -> str:
    """The text `key` with `count` (and `values`), its noun agreeing with the count."""
    return text(counted_key(key, count, language), language, count=count, **values)


# The words French elides before a vowel, as a French text's format spec writes them
# (`{child:de}`, `{activity:De}` at the start of a sentence).
ELIDING = frozenset({"de", "que", "le", "la", "jusque", "lorsque", "puisque"})

# First letters said as a vowel ("d'Emma", "d'Élodie", "d'Inès", "l'ALAE", "d'Œdipe"). Not h:
# the portal cannot tell a mute h from an aspirated one, so it says "de Hugo", "de Hélène".
# Not y: first names such as Yanis, Yasmine, Yohan start with the sound /j/ ("de Yanis").
VOWELS = frozenset("aeiouœæ")

_MARKUP = re.compile(r"<[^>]*>|&#?\w+;")


def starts_with_vowel(value: str) -> bool:
    """Whether French elides before `value`: its first letter, past any HTML markup, accents
    aside, is a vowel (see `VOWELS`)."""
    for char in _MARKUP.sub("", value):
        if char.isalnum():
            return unicodedata.normalize("NFKD", char).casefold()[:1] in VOWELS
    return False


def elide(word: str, value: str) -> str:
    """`word` then `value`, elided before a vowel: "de Lucas", "d'Emma", "Qu'Inès", "l'ALAE"."""
    if word.casefold() not in ELIDING:
        raise ValueError(f"{word!r} is not a word French elides")
    return f"{word[:-1]}'{value}" if starts_with_vowel(value) else f"{word} {value}"


class _Eliding(string.Formatter):
    """`str.format`, where a format spec that is an eliding word (`{child:de}`) elides."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec and format_spec.casefold() in ELIDING:
            return elide(format_spec, format(value))
        return super().format_field(value, format_spec)


_FORMATTER = _Eliding()


def fill(template: str, values: Mapping[str, Any]) -> str:
    """A catalog `template` with its `values` as they are (no escaping), elided in French: the
    one way every text, chat or email, is filled in."""
    return _FORMATTER.vformat(template, (), values)


def language_of(code: str | None) -> str:
    """The catalog language for a Telegram or guardian language code: English or French."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE
