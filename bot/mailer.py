"""Outbound email (SMTP), sent from a worker thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from bot.settings import Settings

SMTP_TIMEOUT_SECONDS = 30


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


async def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send a plain-text email through the configured SMTP server."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    await send_message(settings, message)
