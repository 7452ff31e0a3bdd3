"""What the store needs to know of an inbound mail, as the mail layer reads it (`mail.parsing`
gives these; the store never parses a mail itself)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from store.models.enums import DocumentType


class MailFile(Protocol):
    """An attachment as the reader gives it."""

    @property
    def filename(self) -> str | None: ...
    @property
    def content(self) -> bytes: ...
    @property
    def inline(self) -> bool: ...
    @property
    def guessed_type(self) -> DocumentType: ...
    @property
    def size(self) -> int: ...


class ReadMail(Protocol):
    """What the service needs to know of a mail."""

    @property
    def from_address(self) -> str | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def reply_text(self) -> str: ...
    def reply_knowing(
        self, written: Sequence[str], names: Sequence[str], addresses: Sequence[str]
    ) -> str: ...
    @property
    def attachments(self) -> Sequence[MailFile]: ...
    @property
    def automatic(self) -> str | None: ...
    @property
    def absence_reference(self) -> str | None: ...
    @property
    def authenticated(self) -> bool:
        """Our MTA vouches for the From domain (DMARC, aligned DKIM or SPF pass)."""
        ...


# Reads raw bytes (and the envelope sender); raises when the mail cannot be read safely.
Reader = Callable[[bytes, str], ReadMail]
