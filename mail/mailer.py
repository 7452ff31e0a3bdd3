"""Outbound email (SMTP), sent from a worker thread so the event loop never blocks.

Every email the product sends goes through the outbox and `mail.staff_mail` (retried while
the relay is down), which calls `send_message`.

Emails carry linking codes, certificates and family documents: to a relay that is not on
this machine they go over STARTTLS, the relay's certificate checked (`SMTP_STARTTLS=auto`,
the default; `always` even on loopback; `never` sends in clear). A relay that does not offer
STARTTLS when it is required gets nothing: the error is logged and the email stays in the
outbox, retried, until the relay or the setting is put right.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import smtplib
import ssl
from email.header import Header
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings


logger = logging.getLogger(__name__)

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


def is_loopback(host: str) -> bool:
    """Whether the relay's host is this machine: `localhost` or a loopback address.

    Other names are not resolved: a name is taken for a remote relay.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def starttls_mode(settings: Settings) -> str:
    """`SMTP_STARTTLS` as auto, always or never (a bool set in code reads as always/auto)."""
    mode = settings.smtp_starttls
    if isinstance(mode, bool):
        return "always" if mode else "auto"
    return str(mode)


def starttls_required(settings: Settings) -> bool:
    """Whether emails go to the relay over STARTTLS only: always, or (auto) unless the relay
    is on loopback."""
    mode = starttls_mode(settings)
    if mode == "never":
        return False
    return mode == "always" or not is_loopback(settings.smtp_host)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Certificates checked, against `SMTP_TLS_CA_FILE` if set, else the system's."""
    cafile = str(settings.smtp_tls_ca_file) if settings.smtp_tls_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def _send(settings: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS
        ) as client:
            if starttls_required(settings):
                client.ehlo()
                if not client.has_extn("starttls"):
                    relay = f"{settings.smtp_host}:{settings.smtp_port}"
                    logger.error(
                        "the relay %s does not offer STARTTLS, required (SMTP_STARTTLS=%s): "
                        "nothing is sent to it; emails wait in the outbox",
                        relay,
                        starttls_mode(settings),
                    )
                    raise MailError(f"{relay} does not offer STARTTLS: not sent")
                client.starttls(context=tls_context(settings))
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
