"""Encryption at rest: children's health details in the database, documents' bytes in storage.

Authenticated encryption (Fernet, from `cryptography`: AES-128-CBC with an HMAC-SHA256 over
it) under a keyring of one or more keys (`MultiFernet`): the first key encrypts everything new,
every key decrypts. A new key is put first while the older ones still read what they wrote;
`portail privacy rotate-key` then writes every value again under the first key
(`store.key_rotation`), after which the old keys may go.

- `EncryptedText` and `EncryptedJSON` are column types: the database holds a Fernet token (a
  text), the code reads and writes clear values. A value that is not a token (written before
  encryption came, or by hand) reads as it is: the migration that brought encryption, and
  `rotate-key`, encrypt such values in place.
- The document service encrypts a file's bytes before the storage gets them, and decrypts them
  when it reads them back (`encrypt_bytes`, `decrypt_bytes`); a file stored in clear before
  reads as it is, until `rotate-key` encrypts it.

The process's keyring is installed once at start-up (`install`: `bot.portal.Portal`, the
command line), from the settings `PRIVACY_KEYS` and `PRIVACY_KEY_FILE`; the column types and
the document service read it from here (`current`). A value no key opens raises
`Undecryptable`, never garbage: the token's MAC is checked before anything is decrypted.
Keys, clear values and tokens are never logged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text, TypeDecorator

from store.database import make_private_folder

# Every Fernet token starts with its version byte (0x80) and a 64-bit timestamp whose first
# bytes are zero for the next thirty thousand years: "gAAAAA" in base64.
TOKEN_PREFIX = "gAAAAA"
# Version, timestamp, IV (25 bytes) before the ciphertext (whole AES blocks), HMAC (32) after.
_HEADER_BYTES = 1 + 8 + 16
_HMAC_BYTES = 32
_BLOCK = 16
_SMALLEST_TOKEN = _HEADER_BYTES + _BLOCK + _HMAC_BYTES
_BASE64URL = re.compile(rb"^[A-Za-z0-9_-]+={0,2}$")

NO_KEY = (
    "No encryption key is set: children's health details and documents are encrypted at rest. "
    "Make one with `portail privacy new-key` and put it in PRIVACY_KEYS (environment or .env), "
    "or in a file (one key a line, newest first, readable by the service's user only) named by "
    "PRIVACY_KEY_FILE. Keep a copy apart from the database's backups: without it nothing "
    "encrypted can be read."
)


class KeyringError(RuntimeError):
    """No key is configured, or a configured key is not a Fernet key."""


class Undecryptable(ValueError):
    """A stored token that none of the configured keys opens (a wrong or missing key, or a
    value altered in storage). Carries no part of the value."""


def new_key() -> str:
    """A fresh Fernet key (32 random bytes, URL-safe base64), as PRIVACY_KEYS takes it."""
    return Fernet.generate_key().decode("ascii")


def looks_encrypted(value: str | bytes) -> bool:
    """Whether a stored value is a Fernet token (rather than a clear value written before
    encryption): its prefix, alphabet, and a length that only a token's layout gives."""
    raw = value.encode("ascii", "replace") if isinstance(value, str) else value
    if not raw.startswith(TOKEN_PREFIX.encode()) or len(raw) % 4 != 0:
        return False
    if not _BASE64URL.match(raw):
        return False
    try:
        decoded = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError):
        return False
    return (
        len(decoded) >= _SMALLEST_TOKEN
        and decoded[0] == 0x80
        and (len(decoded) - _HEADER_BYTES - _HMAC_BYTES) % _BLOCK == 0
    )


class Keyring:
    """One or more Fernet keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str | bytes]):
        if not keys:
            raise KeyringError(NO_KEY)
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip() if isinstance(key, str) else key))
            except (ValueError, TypeError, binascii.Error):
                raise KeyringError(
                    f"encryption key {number} (PRIVACY_KEYS / PRIVACY_KEY_FILE, newest first) is "
                    "not a Fernet key: 32 bytes in URL-safe base64, as `portail privacy new-key` "
                    "prints"
                ) from None
        self._current = fernets[0]
        self._all = MultiFernet(fernets)
        self.size = len(fernets)

    @classmethod
    def generate(cls) -> Keyring:
        """A keyring of one fresh key (tests, a first run)."""
        return cls([new_key()])

    def encrypt_bytes(self, content: bytes) -> bytes:
        """A token of the content, under the first key."""
        return self._current.encrypt(content)

    def decrypt_bytes(self, stored: bytes) -> bytes:
        """The content of a token (any key); bytes that are not a token are returned as they
        are (stored before encryption). `Undecryptable` when no key opens the token."""
        if not looks_encrypted(stored):
            return stored
        try:
            return self._all.decrypt(stored)
        except InvalidToken:
            raise Undecryptable(
                "a stored value cannot be decrypted with the configured keys (PRIVACY_KEYS / "
                "PRIVACY_KEY_FILE): a key is missing or wrong"
            ) from None

    def encrypt_text(self, value: str) -> str:
        return self.encrypt_bytes(value.encode("utf-8")).decode("ascii")

    def decrypt_text(self, stored: str) -> str:
        if not looks_encrypted(stored):
            return stored
        return self.decrypt_bytes(stored.encode("ascii")).decode("utf-8")

    def is_current(self, stored: str | bytes) -> bool:
        """Whether a stored value is a token of the first key (nothing to rotate)."""
        raw = stored.encode("ascii", "replace") if isinstance(stored, str) else stored
        if not looks_encrypted(raw):
            return False
        try:
            self._current.decrypt(raw)
        except InvalidToken:
            return False
        return True

    def rotate_bytes(self, stored: bytes) -> bytes:
        """The stored value as a token of the first key: a token of another key re-encrypted
        (its time kept), clear bytes encrypted. `Undecryptable` when no key opens it."""
        if not looks_encrypted(stored):
            return self.encrypt_bytes(stored)
        try:
            return self._all.rotate(stored)
        except InvalidToken:
            raise Undecryptable(
                "a stored value cannot be decrypted with the configured keys: a key is missing"
            ) from None

    def rotate_text(self, stored: str) -> str:
        if not looks_encrypted(stored):
            return self.encrypt_text(stored)
        return self.rotate_bytes(stored.encode("ascii")).decode("ascii")


# The process's keyring ----------------------------------------------------------------------

_installed: Keyring | None = None


def install(keyring: Keyring | None) -> Keyring | None:
    """Make `keyring` the process's (None: none); return the one it replaces."""
    global _installed
    previous, _installed = _installed, keyring
    return previous


def current() -> Keyring:
    """The process's keyring; `KeyringError` when none was installed."""
    if _installed is None:
        raise KeyringError(NO_KEY)
    return _installed


def is_installed() -> bool:
    return _installed is not None


@contextlib.contextmanager
def installed(keyring: Keyring) -> Iterator[Keyring]:
    """`keyring` as the process's for the block, the previous one back after (tests)."""
    previous = install(keyring)
    try:
        yield keyring
    finally:
        install(previous)


def read_key_file(path: Path) -> list[str]:
    """The keys of a key file: one a line, newest first; blank lines and `#` comments skipped."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyringError(f"the key file {path} (PRIVACY_KEY_FILE) does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyringError(f"the key file {path} cannot be read: {error}") from None
    keys = [line.strip() for line in text.splitlines()]
    return [key for key in keys if key and not key.startswith("#")]


def ensure_key_file(path: Path) -> None:
    """Create `path` with one fresh key (0600, its folder 0700) unless it exists."""
    make_private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(
            "# Encryption key of the Portail Famille store (newest first). Keep a copy apart\n"
            "# from the database's backups: without it nothing encrypted can be read.\n"
        )
        handle.write(new_key() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_keyring(keys: str, key_file: Path | None, default_file: Path | None) -> Keyring:
    """The keyring the settings name: the keys of `keys` (comma-separated, newest first), then
    those of `key_file`. With neither, `default_file` (created with a fresh key on first use:
    the embedded default next to a SQLite store); without a default, `KeyringError`."""
    listed = [key.strip() for key in keys.split(",") if key.strip()]
    if key_file is not None:
        listed.extend(read_key_file(key_file))
    if not listed and default_file is not None:
        ensure_key_file(default_file)
        listed = read_key_file(default_file)
    if not listed:
        raise KeyringError(NO_KEY)
    return Keyring(listed)


# Column types -------------------------------------------------------------------------------


class EncryptedText(TypeDecorator[str]):
    """A text kept as a Fernet token of the process's first key; read back clear."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().encrypt_text(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().decrypt_text(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value (a string, a bool, a small object) kept as a Fernet token of its JSON
    text; `None` stays SQL NULL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().encrypt_text(json.dumps(value, ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        return json.loads(current().decrypt_text(value))
