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
- The inbound mail service seals a raw mail (up to 25 MB) before it is stored, and opens it
  when it reads it back (`seal_large`, `open_large`): AES-256-GCM (`cryptography`'s AEAD, its
  `encrypt_into`/`decrypt_into`) under a key derived from the keyring's key, so that a mail
  costs its clear bytes and its sealed copy (41 bytes more), never the half-dozen whole copies
  (base64 included) `Fernet.encrypt`/`decrypt` make on the way.

The process's keyring is installed once at start-up (`install`: `bot.portal.Portal`, the
command line), from the settings `PRIVACY_KEYS` and `PRIVACY_KEY_FILE`; the column types and
the document service read it from here (`current`). A value no key opens raises
`Undecryptable`, never garbage: the token's MAC (a sealed mail's GCM tag) is checked.
Keys, clear values and tokens are never logged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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
# Large values (a raw mail, up to tens of MB) are sealed with AES-256-GCM (`cryptography`'s
# AEAD) rather than as Fernet tokens, whose base64 and one-shot API cost several copies:
# MAGIC, the key's fingerprint, the nonce, then the ciphertext with its 16-byte tag. A raw mail
# never starts with a NUL byte, so a value without MAGIC is one stored before encryption.
LARGE_MAGIC = b"\x00PFM1"
_FINGERPRINT_BYTES = 8
_NONCE_BYTES = 12
_TAG_BYTES = 16
_LARGE_HEADER = len(LARGE_MAGIC) + _FINGERPRINT_BYTES + _NONCE_BYTES
# Bound to what it seals: a token made for a raw mail opens as nothing else.
_LARGE_CONTEXT = b"portail-famille:inbound-mail"

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
        # For large values (`seal_large`): an AES-256-GCM key derived from each key (HKDF),
        # known by its fingerprint.
        self._large = [_large_key(key) for key in keys]

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

    # Large values: a raw mail -----------------------------------------------------------

    def seal_large(self, content: bytes | bytearray) -> bytearray:
        """The content sealed under the first key (AES-256-GCM): what it costs is the sealed
        value itself, the content's size and 41 bytes. A bytearray, which the database
        drivers take as it is (a `bytes` of it would be one more copy)."""
        fingerprint, aead = self._large[0]
        nonce = os.urandom(_NONCE_BYTES)
        out = bytearray(_LARGE_HEADER + len(content) + _TAG_BYTES)
        out[:_LARGE_HEADER] = LARGE_MAGIC + fingerprint + nonce
        aead.encrypt_into(nonce, content, _LARGE_CONTEXT, memoryview(out)[_LARGE_HEADER:])
        return out

    def open_large(self, stored: bytes | bytearray) -> bytes:
        """The content of a sealed value (any key of the ring); a value that is not sealed is
        returned as it is (stored before encryption, or emptied). `Undecryptable` when no key
        of the ring sealed it, or when it was altered (the GCM tag is checked)."""
        if not looks_sealed(stored):
            return bytes(stored)
        aead = self._large_aead(stored)
        view = memoryview(stored)
        nonce = bytes(view[_LARGE_HEADER - _NONCE_BYTES : _LARGE_HEADER])
        clear = bytearray(len(stored) - _LARGE_HEADER - _TAG_BYTES)
        try:
            aead.decrypt_into(nonce, view[_LARGE_HEADER:], _LARGE_CONTEXT, clear)
        except InvalidTag:
            raise Undecryptable("a stored value was altered: it cannot be decrypted") from None
        return bytes(clear)

    def is_current_large(self, stored: bytes | bytearray) -> bool:
        """Whether a large stored value is sealed under the first key (nothing to rotate)."""
        return looks_sealed(stored) and _fingerprint_of(stored) == self._large[0][0]

    def rotate_large(self, stored: bytes | bytearray) -> bytearray:
        """A large stored value sealed under the first key (clear bytes sealed too).
        `Undecryptable` when no key opens it."""
        return self.seal_large(self.open_large(stored))

    def _large_aead(self, stored: bytes | bytearray) -> AESGCM:
        fingerprint = _fingerprint_of(stored)
        for known, aead in self._large:
            if hmac.compare_digest(known, fingerprint):
                return aead
        raise Undecryptable(
            "a stored value cannot be decrypted with the configured keys (PRIVACY_KEYS / "
            "PRIVACY_KEY_FILE): a key is missing or wrong"
        )


def _large_key(key: str | bytes) -> tuple[bytes, AESGCM]:
    """The fingerprint and the AES-256-GCM cipher of a large value under a keyring's key: a
    key of its own derived with HKDF (the Fernet key's material is not used twice as is)."""
    material = base64.urlsafe_b64decode(key.strip() if isinstance(key, str) else key)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LARGE_CONTEXT).derive(
        material
    )
    fingerprint = hashlib.sha256(b"fingerprint:" + derived).digest()[:_FINGERPRINT_BYTES]
    return fingerprint, AESGCM(derived)


def _fingerprint_of(stored: bytes | bytearray) -> bytes:
    start = len(LARGE_MAGIC)
    return bytes(stored[start : start + _FINGERPRINT_BYTES])


def looks_sealed(value: bytes | bytearray) -> bool:
    """Whether a large stored value was sealed by `seal_large` (rather than stored in clear)."""
    return len(value) >= _LARGE_HEADER + _TAG_BYTES and value.startswith(LARGE_MAGIC)


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
