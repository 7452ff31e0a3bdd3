"""Outbound email (SMTP), sent from a worker thread so the event loop never blocks.

Every email the product sends goes through the outbox and `bot.staff_mail` (retried while
the relay is down), which calls `send_message`.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.header import Header
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

from bot.settings import Settings

SMTP_TIMEOUT_SECONDS = 30


class SubjectKeepingPolicy(EmailPolicy):
    """The standard policy, but a Subject is written whole as RFC 2047 encoded words when it is
    not plain ASCII, folded between encoded words only.

    Python's own folding of a long header that mixes plain and encoded words may drop or double
    the space where they meet ("21 déc. 2026" read back as "21déc. 2026"). Our subjects are
    free text (names, activities, dates): none is left to it.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        # The subject is kept as written (the standard policy would decode what looks like an
        # encoded word in it), still refusing line breaks.
        if name.lower() == "subject" and isinstance(value, str):
            if "\r" in value or "\n" in value:
                raise ValueError("Header values may not contain linefeed or carriage return")
            return name, value
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        if name.lower() == "subject":
            return self._fold_subject(name, str(value))
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() == "subject":
            return self._fold_subject(name, str(value)).encode("ascii")
        return super().fold_binary(name, value)

    def _fold_subject(self, name: str, subject: str) -> str:
        # ASCII that looks like an encoded word is encoded too, so it reads back as written.
        plain = subject.isascii() and "=?" not in subject
        header = Header(
            subject,
            "us-ascii" if plain else "utf-8",
            maxlinelen=self.max_line_length,
            header_name=name,
        )
        folded = header.encode(splitchars=" ", linesep=self.linesep)
        return f"{name}: {folded}{self.linesep}"


# The policy of every email we write (`EmailMessage(policy=MAIL_POLICY)`).
MAIL_POLICY = SubjectKeepingPolicy()


class MailError(Exception):
    """The SMTP server could not take the message.

    `permanent` is True when the server refused it for good (a 5xx answer): sending it again
    would be refused again. Otherwise (the relay unreachable, a 4xx answer) it may be retried.
    """

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _permanent(error: smtplib.SMTPException) -> bool:
    """Whether the message itself was refused for good (its recipient, or its content).

    A refused login or sender is our configuration's fault: retried, so that nothing is lost
    while it is put right.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPDataError):
        return 500 <= error.smtp_code < 600
    return False


def _send(settings: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS
        ) as client:
            if settings.smtp_starttls:
                client.starttls()
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password)
            client.send_message(message)
    except smtplib.SMTPException as error:
        raise MailError(str(error), permanent=_permanent(error)) from error
    except OSError as error:
        raise MailError(str(error)) from error


async def send_message(settings: Settings, message: EmailMessage) -> None:
    """Send a ready message through the configured SMTP relay; raises `MailError`."""
    await asyncio.to_thread(_send, settings, message)
