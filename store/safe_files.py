"""Files that are safe to open: a PDF, a JPEG or a PNG for real, kept under a name of ours.

What families send reaches staff as email attachments, opened on the town hall's computers, so
a file is taken only when its content really is one of the three formats we accept, whatever
its name says:

- a PDF must open (pypdf) and have a page; one that runs something — JavaScript, automatic
  actions (`/AA`, an `/OpenAction` that is a script), launching a program — or carries
  embedded files is refused. Bytes after its last `%%EOF` are dropped, and markup before its
  first object (a file made to read as a web page too) is refused;
- an image must decode whole (Pillow); it is then re-encoded from its pixels, turned upright
  first (EXIF orientation), so that nothing but the picture is kept: no EXIF (a phone's GPS
  position), no comment, nothing appended after it;
- the sender's file name is a label to show, never a file name: `display_label` strips it of
  control and bidirectional characters, folders and dangerous extensions. Files are stored and
  mailed under names we make (`file_name`), with the content type their content tells.

`inspect` is CPU work (a photo's decoding and encoding, a PDF's objects): callers run it in a
worker thread, off the event loop.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
# Magic numbers of the formats we accept: the first check, never the last.
SIGNATURES: dict[bytes, str] = {
    b"%PDF-": PDF,
    b"\xff\xd8\xff": JPEG,
    b"\x89PNG\r\n\x1a\n": PNG,
}
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
# What Pillow may find behind each image signature (MPO: a phone's JPEG with a depth map).
IMAGE_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",)}
# Larger pictures are refused before decoding (a small file can unpack to gigabytes); a 48
# megapixel phone photo passes.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 90

PDF_END = b"%%EOF"
FIRST_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")
# A tag or processing instruction (`<html`, `<script`, `<?php`, `<!--`); PDF dictionaries
# (`<<`) and hex strings come only after the first object.
MARKUP = re.compile(rb"<\s*[!?/A-Za-z]")
# Dictionary keys that make a PDF run something or carry files.
ACTIVE_KEYS = frozenset(
    {"/JS", "/JavaScript", "/AA", "/EmbeddedFiles", "/EF", "/RichMedia", "/XFA"}
)
# Actions (`/S`) that run something, and objects (`/Type`) that are embedded files.
ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute", "/GoToE", "/Rendition"}
)
ACTIVE_TYPES = frozenset({"/EmbeddedFile"})
# The same names in the raw bytes: an object no cross-reference table lists is still refused.
ACTIVE_BYTES = re.compile(
    rb"/(?:JavaScript|JS|AA|Launch|EmbeddedFiles?|RichMedia|XFA)(?=[\s/<>\[\]()%{}]|$)"
)

MAX_LABEL_CHARS = 120
# Extensions a sender's file name loses, so that a label never reads as a program or a page.
_DANGEROUS = """
app apk appx asp aspx bash bat cgi chm cmd com cpl csh dll dmg docm dotm exe gadget hta htm
html inf ini ins iso jar jnlp js jse jsp ksh lnk mht mhtml msc msi msix msp mst pet phar php
php3 php4 php5 phtml pif pl potm ppam ppsm pptm ps1 ps2 psc1 psm1 py pyc pyw rb reg scf scr
sct sh shb shs shtml svg svgz sys url vb vbe vbs vhd vhdx ws wsc wsf wsh xhtml xht xlam xlsm
xltm xml xsl desktop
"""
DANGEROUS_EXTENSIONS = frozenset(_DANGEROUS.split())
NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9]+")


class RejectionReason(StrEnum):
    """Why a file is refused (parents read it in their language: `conversations.kit.uploads`)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    WRONG_TYPE = "wrong_type"
    DAMAGED = "damaged"
    ACTIVE_CONTENT = "active_content"


class UnsafeFile(ValueError):
    """The content is not a PDF, JPEG or PNG we can open safely."""

    def __init__(self, reason: RejectionReason):
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class SafeFile:
    """A file as we keep it (an image re-encoded) and the content type its content tells."""

    content: bytes
    content_type: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def sniff_content_type(content: bytes) -> str | None:
    """The content type told by the file's first bytes, if it is one we accept."""
    for signature, content_type in SIGNATURES.items():
        if content.startswith(signature):
            return content_type
    return None


def inspect(content: bytes) -> SafeFile:
    """The file as we keep it, if it really is a PDF, a JPEG or a PNG; `UnsafeFile` if not.

    CPU work: run it in a worker thread."""
    content_type = sniff_content_type(content)
    if content_type is None:
        raise UnsafeFile(RejectionReason.WRONG_TYPE)
    if content_type == PDF:
        return SafeFile(_checked_pdf(content), PDF)
    return SafeFile(_reencoded_image(content, content_type), content_type)


# PDF ---------------------------------------------------------------------------------------


def _checked_pdf(content: bytes) -> bytes:
    """The PDF up to its last `%%EOF`, once it opened, showed a page and runs nothing."""
    end = content.rfind(PDF_END)
    if end < 0:  # cut short: the end of a PDF is its table of contents
        raise UnsafeFile(RejectionReason.DAMAGED)
    end += len(PDF_END)
    for byte in b"\r\n":
        if content[end : end + 1] == bytes([byte]):
            end += 1
    content = content[:end]
    first = FIRST_OBJECT.search(content)
    head = content[: first.start() if first else len(content)]
    if MARKUP.search(head):
        raise UnsafeFile(RejectionReason.DAMAGED)
    if ACTIVE_BYTES.search(content):
        raise UnsafeFile(RejectionReason.ACTIVE_CONTENT)
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsafeFile(RejectionReason.DAMAGED)  # it needs a password to open
        if len(reader.pages) < 1:
            raise UnsafeFile(RejectionReason.DAMAGED)
        active = any(_active(item) for item in _pdf_objects(reader))
    except UnsafeFile:
        raise
    except Exception as error:  # pypdf has many ways to fail on a file that is not a PDF
        raise UnsafeFile(RejectionReason.DAMAGED) from error
    if active:
        raise UnsafeFile(RejectionReason.ACTIVE_CONTENT)
    return content


def _pdf_objects(reader: PdfReader) -> Iterator[Any]:
    """Every object of the PDF (those in object streams too), and its trailer."""
    yield reader.trailer
    for generation, numbers in reader.xref.items():
        for number in numbers:
            yield reader.get_object(IndirectObject(number, generation, reader))
    for number in reader.xref_objStm:
        yield reader.get_object(IndirectObject(number, 0, reader))


def _active(item: Any) -> bool:
    """Whether an object (its dictionaries and arrays, not what it refers to: each object is
    looked at on its own) runs something or carries a file. Names come decoded (`/J#53`)."""
    stack = [item]
    while stack:
        current = stack.pop()
        if isinstance(current, DictionaryObject):  # streams too: their dictionary
            for key, value in dict.items(current):
                if key in ACTIVE_KEYS:
                    return True
                if key == "/S" and value in ACTIVE_ACTIONS:
                    return True
                if key == "/Type" and value in ACTIVE_TYPES:
                    return True
                if isinstance(value, DictionaryObject | ArrayObject):
                    stack.append(value)
        elif isinstance(current, ArrayObject):
            stack.extend(v for v in current if isinstance(v, DictionaryObject | ArrayObject))
    return False


# Images ------------------------------------------------------------------------------------


def _reencoded_image(content: bytes, content_type: str) -> bytes:
    """The picture alone, upright, encoded again in its own format."""
    formats = IMAGE_FORMATS[content_type]
    try:
        with Image.open(io.BytesIO(content), formats=[formats[0]]) as image:
            if image.format not in formats:
                raise UnsafeFile(RejectionReason.DAMAGED)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnsafeFile(RejectionReason.DAMAGED)
            image.verify()
        with Image.open(io.BytesIO(content), formats=[formats[0]]) as image:
            image.load()  # every pixel decoded: a file cut short fails here
            upright = ImageOps.exif_transpose(image)
        return _encoded(upright, content_type)
    except UnsafeFile:
        raise
    except Exception as error:  # Pillow's errors are many (OSError, SyntaxError, ...)
        raise UnsafeFile(RejectionReason.DAMAGED) from error


def _encoded(image: Image.Image, content_type: str) -> bytes:
    """The pixels in a fresh file: no metadata is carried over (EXIF, ICC, text chunks), only
    a PNG's transparent colour."""
    options: dict[str, Any] = {}
    if content_type == JPEG:
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        options["quality"] = JPEG_QUALITY
    else:
        if image.mode not in ("1", "L", "LA", "I;16", "P", "RGB", "RGBA"):
            transparent = "transparency" in image.info or "A" in image.mode
            image = image.convert("RGBA" if transparent else "RGB")
        if "transparency" in image.info:
            options["transparency"] = image.info["transparency"]
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if content_type == JPEG else "PNG", **options)
    return buffer.getvalue()


# Names -------------------------------------------------------------------------------------


def display_label(name: str | None) -> str | None:
    """A sender's file name fit to show (never to name a file): without control, format or
    bidirectional characters (categories C*: U+202A–U+202E, U+2066–U+2069, U+200E/F...),
    folders, nor dangerous extensions ("certif<U+202E>fdp.exe" -> "certiffdp"); None if
    nothing is left."""
    if not name:
        return None
    name = unicodedata.normalize("NFKC", name)  # full-width "．ｅｘｅ" is ".exe"
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.split(r"[\\/]", name)[-1]
    name = " ".join(name.split()).rstrip(" .")
    while True:
        stem, dot, extension = name.rpartition(".")
        if not (dot and extension.strip().lower() in DANGEROUS_EXTENSIONS):
            break
        name = stem.rstrip(" .")
    name = name.lstrip(" .")[:MAX_LABEL_CHARS].strip()
    return name or None


def file_name(stem: str, content_type: str) -> str:
    """A file name of ours: the stem in ASCII letters, digits and dashes, and the extension
    of the content type ("certificat-medical-ABS-7KQ9M2.pdf")."""
    stem = NAME_CHARACTERS.sub("-", stem).strip("-") or "document"
    return f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"
