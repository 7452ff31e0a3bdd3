"""`--json` on every `portail staff` listing: the same facts as the text, for scripts.

A listing prints one JSON document on stdout: the service's views as objects (dataclasses),
enumerations as their codes, days as `YYYY-MM-DD`, moments as ISO 8601 with their offset
(UTC as stored). What the text hides (health details without `--as`, medical reasons) is
hidden the same way, since the views given here are the ones the text is printed from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """`--json`: print the listing as one JSON document instead of lines of text."""
    parser.add_argument(
        "--json", action="store_true", help="print JSON (one document) instead of text"
    )


def plain(value: Any) -> Any:
    """`value` as JSON's types: objects, lists, strings, numbers, booleans and null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"no JSON form for {type(value).__name__}")


def print_json(value: Any) -> None:
    """Print `value` as one JSON document (UTF-8 letters as they are, indented)."""
    print(json.dumps(plain(value), ensure_ascii=False, indent=2))
