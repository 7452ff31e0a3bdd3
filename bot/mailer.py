"""Outbound email (SMTP), sent from a worker thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from bot.settings import Settings


class MailError(Exception):
    """The SMTP server could not take the message."""


def _send(settings: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as client:
            if settings.smtp_starttls:
                client.starttls()
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(str(error)) from error


async def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send a plain-text email through the configured SMTP server."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    await asyncio.to_thread(_send, settings, message)
