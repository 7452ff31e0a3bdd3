"""Every text a parent reads, in French (default) and English, looked up by key.

The texts live in gettext catalogs, `conversations/kit/locale/<language>/LC_MESSAGES/*.po`, one
domain per part of the product (`portail.po` for the core, `family_file.po`, `enrolment.po`…;
msgid: a stable key such as `menu.title`; msgstr: the sentence), read with Babel at start-up;
translators edit them with any PO editor. Texts are HTML (Telegram's parse mode): values that
come from people (names, typed text) are escaped by `text()`; placeholders ending in `_html` are
inserted as they are.
"""

from __future__ import annotations

import unicodedata
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
    return template.format(**safe)


# First letters that take "d'" in French ("les jours d'Emma"); a mute h is rare enough.
VOWELS = frozenset("aeiou")


def elided(key: str, name: str) -> str:
    """`key`, or its `.vowel` form (French "d'") before a name said with a vowel; the English
    `.vowel` text is the same as the plain one."""
    first = unicodedata.normalize("NFKD", name[:1]).casefold()[:1]
    return f"{key}.vowel" if first in VOWELS else key


def language_of(code: str | None) -> str:
    """The catalog language for a Telegram or guardian language code: English or French."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE
