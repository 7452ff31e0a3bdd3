"""The process's encryption keyring, from the settings (`store.encryption`).

PRIVACY_KEYS (comma-separated, newest first) and then the keys of PRIVACY_KEY_FILE make the
keyring. With neither set, a SQLite store (`make run`, the demo) gets the embedded default: a
key file `privacy.key` beside the database file (0600, in a 0700 folder), made with a fresh
key on first use; PostgreSQL (production) refuses to start, saying how to make a key.
"""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from store.database import is_sqlite, sqlite_path
from store.encryption import Keyring, install, load_keyring

DEFAULT_KEY_FILE = "privacy.key"


def default_key_file(database_url: str) -> Path | None:
    """Where the embedded default key lives: beside a SQLite file; None for PostgreSQL."""
    path = sqlite_path(database_url)
    if path is not None:
        return path.parent / DEFAULT_KEY_FILE
    if is_sqlite(database_url):  # in memory: the default folder
        return Path("var") / DEFAULT_KEY_FILE
    return None


def keyring_for(settings: Settings) -> Keyring:
    """The keyring the settings name (`KeyringError` when none is, on PostgreSQL)."""
    return load_keyring(
        settings.privacy_keys,
        settings.privacy_key_file,
        default_key_file(settings.database_url),
    )


def install_keyring(settings: Settings) -> Keyring:
    """Make the settings' keyring the process's; return it."""
    keyring = keyring_for(settings)
    install(keyring)
    return keyring
