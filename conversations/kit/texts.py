"""Every text a parent reads, in French (default) and English, looked up by key.

The texts live in gettext catalogs, `conversations/kit/locale/<language>/LC_MESSAGES/portail.po`
(msgid: a stable key such as `menu.title`; msgstr: the sentence), read with Babel at start-up;
translators edit them with any PO editor. Texts are HTML (Telegram's parse mode): values that
come from people (names, typed text) are escaped by `text()`; placeholders ending in `_html` are
inserted as they are.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en")

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "portail"


def load_catalog(locale_dir: Path = LOCALE_DIR) -> dict[str, dict[str, str]]:
    """Every key with its sentence per language, from the PO files."""
    catalog: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        path = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        with path.open("rb") as handle:
            messages = read_po(handle, locale=language, domain=DOMAIN)
        for message in messages:
            if message.id and message.string:
                catalog.setdefault(str(message.id), {})[language] = str(message.string)
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


def language_of(code: str | None) -> str:
    """The catalog language for a Telegram or guardian language code: English or French."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE
