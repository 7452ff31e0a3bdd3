"""Reading what a tapped button says, for the booking, cancelling and absence flows: days,
months, confirm keys, and ids (`conversations.kit.callback_data.record_id`).

A button only names a choice, and a forged one may name anything: a 13th month, the 30th of
February, an id longer than any in the store, a negative number, digits of another script, a
trailing newline. Such values read as None here, never as an exception, and the flow answers
the tap as it answers a stale button. What a well-formed value names is still checked by the
store. The flows' patterns end with `\\Z`: `$` would let a final newline through.
"""

from __future__ import annotations

import re
from datetime import date

from conversations.kit.callback_data import record_id
from store.idempotency import KEY_PATTERN, is_key

# The shapes the flows' patterns accept (ASCII digits only: `\d` takes other scripts' too);
# the values are read by the functions below.
ID = "[0-9]+"
DAY = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
MONTH = "[0-9]{4}-[0-9]{2}"
KEY = KEY_PATTERN


def child_pattern(prefix: str) -> str:
    """The pattern of a child picker's buttons: `prefix` then a child's id or "all"."""
    return rf"^{prefix}({ID}|all)\Z"


def confirm_pattern(prefix: str) -> str:
    """The pattern of a recap's confirm: `prefix`, then its key (none on a recap shown before
    confirms carried keys)."""
    return rf"^{prefix}(:{KEY})?\Z"


def id_of(data: str | None, prefix: str) -> int | None:
    """The record id after `prefix` in a button's data: one the store can hold, or None."""
    return record_id(data, prefix)


def day_of(data: str | None, prefix: str) -> date | None:
    """The day after `prefix` (`2026-12-09`); None for a day that does not exist."""
    value = _after(data, prefix)
    if value is None or not re.fullmatch(DAY, value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def month_of(data: str | None, prefix: str) -> date | None:
    """The first day of the month after `prefix` (`2026-12`); None for a month that does not
    exist."""
    value = _after(data, prefix)
    if value is None or not re.fullmatch(MONTH, value):
        return None
    return day_of(f"{value}-01", "")


def child_of(data: str | None, prefix: str) -> str | None:
    """The tapped child after `prefix`: "all", or an id as the button wrote it (the draft's
    names are keyed by it); None for anything else."""
    value = _after(data, prefix)
    if value == "all" or (value is not None and id_of(value, "") is not None):
        return value
    return None


def key_of(data: str | None, prefix: str) -> str | None:
    """The confirm key after `prefix` and a colon (`bk:confirm:<key>`); None without one."""
    value = _after(data, prefix + ":")
    return value if is_key(value) else None


def _after(data: str | None, prefix: str) -> str | None:
    if data is None or not data.startswith(prefix):
        return None
    return data[len(prefix) :]
