"""Helpers for the absence and documents chat tests: tiny real files, an English parent, and
the temporary wiring of both flows into the application until the lead registers them."""

from __future__ import annotations

import struct
import zlib

from bot.portal import Portal
from fake_telegram.users import FakeUser
from store.actors import Actor
from store.models.enums import Language

# A Windows program renamed "certificat.pdf": refused on its content, whatever its name says.
EXE_AS_PDF = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run"
)


def tiny_pdf() -> bytes:
    """A valid one-page PDF, with its cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def tiny_png() -> bytes:
    """A valid 1×1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def actor_of(portal: Portal, user: FakeUser) -> Actor:
    """The store actor of a linked Telegram user."""
    profile = await portal.families.profile(user.id)
    assert profile is not None
    return profile.actor


async def speak_english(portal: Portal, user: FakeUser) -> None:
    """Make the linked guardian behind `user` read English."""
    await portal.families.set_language(await actor_of(portal, user), Language.EN)
