"""Helpers for the absence and documents chat tests: tiny real files (PDFs written by hand,
images made with Pillow: the store parses what it is sent), an English parent, and the
temporary wiring of both flows into the application until the lead registers them."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Collection, Sequence
from typing import Any

from PIL import Image

from bot.portal import Portal
from fake_telegram.users import FakeUser
from store.actors import Actor
from store.models.enums import Language

# A Windows program renamed "certificat.pdf": refused on its content, whatever its name says.
EXE_AS_PDF = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run"
)


# The pages of a one-page PDF, objects 2 and 3 (object 1 is the catalog).
PDF_PAGES = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
)
PDF_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PDF_HEADER = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"


def pdf_file(
    *objects: bytes,
    compressed: Collection[int] = (),
    pad_to: int | None = None,
    header: bytes = PDF_HEADER,
) -> bytes:
    """A PDF written by hand: `objects` numbered from 1 (1 is the catalog), with its
    cross-reference table; with a cross-reference stream, and the objects numbered in
    `compressed` inside a compressed object stream, when there are some. `pad_to`: a comment
    after the header makes the file exactly that long."""
    padding = b""
    while True:
        content = _pdf_bytes(objects, set(compressed), header + padding)
        if pad_to is None or len(content) == pad_to:
            return content
        missing = pad_to - len(content) + len(padding)
        if missing < 1:
            raise ValueError(f"a PDF of these objects takes more than {pad_to} bytes")
        padding = b"\n" if missing == 1 else b"%" + b"x" * (missing - 2) + b"\n"


def _pdf_bytes(objects: Sequence[bytes], compressed: set[int], head: bytes) -> bytes:
    out = bytearray(head)
    offsets: dict[int, int] = {}
    for number, body in enumerate(objects, 1):
        if number not in compressed:
            offsets[number] = len(out)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    size = len(objects) + 1
    if not compressed:
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            out += b"%010d 00000 n \n" % offsets[number]
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
        return bytes(out)
    # An object stream (number size) and a cross-reference stream (number size + 1).
    inside = sorted(compressed)
    bodies = b""
    table = b""
    for number in inside:
        table += b"%d %d " % (number, len(bodies))
        bodies += objects[number - 1] + b"\n"
    data = zlib.compress(table + bodies)
    offsets[size] = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\n" % (
        size,
        len(inside),
        len(table),
        len(data),
    )
    out += b"stream\n" + data + b"\nendstream\nendobj\n"
    xref = len(out)
    offsets[size + 1] = xref
    rows = struct.pack(">BIH", 0, 0, 65535)
    for number in range(1, size + 2):
        if number in compressed:
            rows += struct.pack(">BIH", 2, size, inside.index(number))
        else:
            rows += struct.pack(">BIH", 1, offsets[number], 0)
    data = zlib.compress(rows)
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d "
        b"/Filter /FlateDecode >>\nstream\n" % (size + 1, size + 2, len(data))
    )
    out += data + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def tiny_pdf() -> bytes:
    """A valid one-page PDF, with its cross-reference table."""
    return pdf_file(PDF_CATALOG, *PDF_PAGES)


def pdf_of_size(size: int) -> bytes:
    """A valid one-page PDF of exactly `size` bytes (340 at least)."""
    return pdf_file(PDF_CATALOG, *PDF_PAGES, pad_to=size)


def image_file(
    image_format: str = "PNG",
    size: tuple[int, int] = (1, 1),
    color: tuple[int, ...] = (255, 255, 255),
    mode: str = "RGB",
    **options: Any,
) -> bytes:
    """A real image made with Pillow (`options` go to `save`: `exif=...`)."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, image_format, **options)
    return buffer.getvalue()


def tiny_png() -> bytes:
    """A valid 1×1 white PNG."""
    return image_file("PNG")


def tiny_jpeg() -> bytes:
    """A valid 8×8 white JPEG (a photo as small as it gets)."""
    return image_file("JPEG", (8, 8))


async def actor_of(portal: Portal, user: FakeUser) -> Actor:
    """The store actor of a linked Telegram user."""
    profile = await portal.families.profile(user.id)
    assert profile is not None
    return profile.actor


async def speak_english(portal: Portal, user: FakeUser) -> None:
    """Make the linked guardian behind `user` read English."""
    await portal.families.set_language(await actor_of(portal, user), Language.EN)
