"""Callback data read strictly: what a button sends back is a request, and a forged request can
carry any 64 bytes (or none).

A handler's pattern is built here and accepts only data of the exact form its buttons carry: a
word of a closed list, or a record id — ASCII digits, no sign, no space, no trailing newline,
within the store's 32-bit ids. Anything else matches no handler and is answered like any stale
button, instead of reaching the store (a 20-digit id overflows the database's integer) or the
code that reads the value (an unknown language). The store still checks that a record is the
family's: a well-formed id is a request, never a permission.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# The store's ids are 32-bit integer columns, counted from 1.
MAX_RECORD_ID = 2**31 - 1
_RECORD_ID = re.compile(r"[1-9][0-9]{0,9}")

Pattern = Callable[[object], bool]
"""A `CallbackQueryHandler` pattern: called with the callback data, true when it is handled."""


def record_id(data: object, prefix: str) -> int | None:
    """The record id after `prefix` in `data`; None unless `data` is exactly that."""
    if not isinstance(data, str) or not data.startswith(prefix):
        return None
    digits = data[len(prefix) :]
    if _RECORD_ID.fullmatch(digits) is None:
        return None
    value = int(digits)
    return value if value <= MAX_RECORD_ID else None


def choice(data: object, prefix: str, choices: Iterable[str]) -> str | None:
    """The word after `prefix` in `data` when it is one of `choices`; None otherwise."""
    if not isinstance(data, str) or not data.startswith(prefix):
        return None
    word = data[len(prefix) :]
    return word if word in choices else None


def with_record_id(prefix: str) -> Pattern:
    """Pattern: `prefix` followed by a record id, nothing else."""
    return lambda data: record_id(data, prefix) is not None


def one_of(prefix: str, choices: Iterable[str]) -> Pattern:
    """Pattern: `prefix` followed by one of `choices`, nothing else."""
    kept = frozenset(choices)
    return lambda data: choice(data, prefix, kept) is not None


def either(*patterns: Pattern) -> Pattern:
    """Pattern: data any of `patterns` accepts."""
    return lambda data: any(pattern(data) for pattern in patterns)
