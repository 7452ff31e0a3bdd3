"""The message catalog, one module per part of the product, merged into one lookup table.

Each module defines `TEXTS = {key: {"fr": ..., "en": ...}}`; keys are unique across modules.
"""

from __future__ import annotations

from bot.catalog import balance, core, family_file, inbound_mail, messages

MODULES = (core, balance, family_file, messages, inbound_mail)


def merged_catalog() -> dict[str, dict[str, str]]:
    """All texts of all modules; a key defined twice is a programming error."""
    merged: dict[str, dict[str, str]] = {}
    for module in MODULES:
        for key, entry in module.TEXTS.items():
            if key in merged:
                raise ValueError(f"text {key!r} is defined twice")
            merged[key] = entry
    return merged
