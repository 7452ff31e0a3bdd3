"""Every text a parent reads, in French (default) and English, looked up by key.

Texts are HTML (Telegram's parse mode): values that come from people (names, typed text) are
escaped by `text()`; placeholders ending in `_html` are inserted as they are.
"""

from __future__ import annotations

from html import escape
from typing import Any

from bot.catalog import merged_catalog

DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en")

CATALOG = merged_catalog()


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
