"""Helpers for the tests of staff emails: wait for the local SMTP sink to receive them."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import parseaddr
from typing import Any

POLL_SECONDS = 0.02


async def wait_for_mails(sink: Any, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:  # noqa: ASYNC109
    """The sink's messages once it holds at least `count` of them (AssertionError otherwise)."""
    for _ in range(int(timeout / POLL_SECONDS)):
        if len(sink.messages) >= count:
            return list(sink.messages)
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{len(sink.messages)} email(s) received, {count} expected")


# The authserv-id of the MTA in front of the inbound server, in the tests' settings.
MTA_AUTHSERV_ID = "mx.portail-test.example"


def vouched(raw: bytes, authserv_id: str = MTA_AUTHSERV_ID) -> bytes:
    """`raw` as our MTA hands it on once DMARC passed for its From domain: its
    Authentication-Results field on top (`mail.auth`)."""
    _, address = parseaddr(str(BytesHeaderParser(policy=default).parsebytes(raw)["From"] or ""))
    domain = address.rpartition("@")[2] or "invalid.example"
    line_end = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    field = f"Authentication-Results: {authserv_id}; dmarc=pass header.from={domain}"
    return field.encode() + line_end + raw
