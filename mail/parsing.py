"""Reading an inbound email: who sent it, what they wrote, what they attached, and what it is.

Pure functions over the raw bytes, no database: `parse_mail` gives a `ParsedMail` (or raises
`MalformedMail` when the message cannot be trusted), with the body as text (HTML turned into
text), the reply reduced to the new text (`mail.reply`), the attachments, and whether
it is an automatic reply or a bounce — those never reach a parent.

Attachments: a part attached (`Content-Disposition: attachment`), or carrying a file name, or
an image or file that the HTML body does not show, is an attachment. An image the HTML shows
through `cid:` (a signature logo, a picture pasted in the text) is a *body image*: kept apart
with `inline=True`, so that callers decide (a parent's pasted photo of a certificate is worth
filing; an Outlook signature logo is not). Apple Mail's attached photos are marked `inline`
but are not referenced from the HTML body, so they are attachments.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email import policy as email_policy
from email.errors import (
    CloseBoundaryNotFoundDefect,
    MessageDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.feedparser import FeedParser
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from mail.auth import authenticating_method
from mail.charset import decode_text
from mail.html_text import html_to_text
from mail.reply import Sent, normalize, reduce_reply
from store.absences import REFERENCE_ALPHABET
from store.models.enums import DocumentType

# Defects that leave the MIME structure in doubt: attachments could be cut or mixed up.
STRUCTURAL_DEFECTS: tuple[type[MessageDefect], ...] = (
    StartBoundaryNotFoundDefect,
    CloseBoundaryNotFoundDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
)
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "list"})
AUTO_SUBJECT = re.compile(
    r"^(?:(?:re|tr|fw|fwd)\s*:\s*)*(?:reponse automatique|absence du bureau|absent du bureau|"
    r"out of (?:the )?office|automatic reply|auto[- ]?reply|autoreply|auto\s*:|"
    r"message d'absence|je suis absente?\b|vacation reply|accuse de reception automatique)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})
REPORT_TYPES = frozenset(
    {"message/delivery-status", "message/disposition-notification", "message/feedback-report"}
)
REFERENCE = re.compile(rf"\bABS-([{REFERENCE_ALPHABET}]{{6}})\b", re.IGNORECASE)
# The raw message is given to the parser this many bytes at a time (never whole as text).
FEED_CHUNK_BYTES = 64 * 1024
BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
NOT_BASE64 = bytes(b for b in range(256) if b not in BASE64_ALPHABET)
# Transfer encodings whose decoded size is not known before decoding (always smaller).
SHRINKING_ENCODINGS = frozenset({"quoted-printable", "x-uuencode", "uuencode", "uue", "x-uue"})

# Words of a subject or file name that tell a document's type, most specific first.
DOCUMENT_KEYWORDS: tuple[tuple[DocumentType, tuple[str, ...]], ...] = (
    (DocumentType.VACCINATION_RECORD, ("vaccin", "vaccins", "vaccination", "carnet de sante")),
    (
        DocumentType.CAF_QUOTIENT,
        ("caf", "quotient", "qf", "msa", "quotient familial", "avis d imposition"),
    ),
    (DocumentType.HEALTH_FORM, ("fiche sanitaire", "fiche de liaison", "health form")),
    (
        DocumentType.INSURANCE,
        ("assurance", "responsabilite civile", "insurance", "assurance scolaire"),
    ),
    (
        DocumentType.PROOF_OF_ADDRESS,
        (
            "justificatif de domicile",
            "domicile",
            "edf",
            "engie",
            "facture electricite",
            "facture gaz",
            "quittance",
            "loyer",
            "taxe d habitation",
            "proof of address",
        ),
    ),
    (
        DocumentType.MEDICAL_CERTIFICATE,
        ("certificat", "certificat medical", "medical certificate", "arret maladie", "medecin"),
    ),
)


class MalformedMail(ValueError):
    """The message cannot be read safely; it is kept raw and flagged, never acted upon."""


@dataclass(frozen=True)
class Attachment:
    """A file found in a message (name decoded, never trusted as a path).

    A file larger than the reader's `max_attachment_bytes` is not decoded: its `content` is
    empty and `undecoded_size` tells its size, computed from its encoded form.
    """

    filename: str | None
    content_type: str
    content: bytes
    inline: bool = False
    guessed_type: DocumentType = DocumentType.TO_CLASSIFY
    undecoded_size: int | None = None

    @property
    def size(self) -> int:
        if self.undecoded_size is not None:
            return self.undecoded_size
        return len(self.content)


@dataclass(frozen=True)
class ParsedMail:
    """What an inbound message says, as far as the portal is concerned."""

    message_id: str | None
    from_address: str | None
    from_name: str
    subject: str
    body_text: str
    reply_text: str
    attachments: tuple[Attachment, ...] = ()
    auto_reply: str | None = None
    bounce: str | None = None
    in_reply_to: str | None = None
    absence_reference: str | None = None
    defects: tuple[str, ...] = field(default=())
    # The method (`dmarc`, `dkim`, `spf`) by which our MTA authenticated the From domain
    # (`mail.auth`), or None.
    authenticated_by: str | None = None

    @property
    def authenticated(self) -> bool:
        """Whether our MTA vouches for the From domain (see `mail.auth`)."""
        return self.authenticated_by is not None

    @property
    def automatic(self) -> str | None:
        """Why no person wrote this (auto-reply or bounce), or None."""
        return self.bounce or self.auto_reply

    def reply_knowing(
        self, written: Sequence[str], names: Sequence[str], addresses: Sequence[str]
    ) -> str:
        """The reply reduced knowing what we sent: what our notifications carried (the
        guardians' texts, the names around them) and our addresses (`email_reply.Sent`)."""
        return reduce_reply(self.body_text, Sent.of(written, names, addresses))


def parse_mail(
    raw: bytes,
    envelope_from: str | None = None,
    *,
    max_attachment_bytes: int | None = None,
    authserv_id: str = "",
) -> ParsedMail:
    """Read a raw message; raise `MalformedMail` when its structure cannot be trusted.

    An attachment larger than `max_attachment_bytes` (when given) is told by its size and
    never decoded (see `Attachment`). The sender is authenticated from the
    Authentication-Results fields of our MTA, whose id is `authserv_id` (empty: nothing is
    authenticated; see `mail.auth`)."""
    try:
        message = _parse(raw)
        return _read(message, envelope_from, max_attachment_bytes, authserv_id)
    except MalformedMail:
        raise
    except Exception as error:  # the standard parser has many ways to fail on hostile input
        raise MalformedMail(f"unreadable message: {type(error).__name__}") from error


def _parse(raw: bytes) -> EmailMessage:
    """The message tree, as `BytesParser(policy=default).parsebytes` builds it, without
    turning the whole message into one string first (nor into the parser's `StringIO`, four
    bytes a character): the bytes are fed in chunks, decoded the same way (ASCII, other bytes
    kept as surrogates, which no chunk boundary can split)."""
    parser = FeedParser(policy=email_policy.default)
    view = memoryview(raw)
    for start in range(0, len(view), FEED_CHUNK_BYTES):
        parser.feed(str(view[start : start + FEED_CHUNK_BYTES], "ascii", "surrogateescape"))
    message = parser.close()
    assert isinstance(message, EmailMessage)
    return message


def raw_headers(raw: bytes) -> Message:
    """The headers of a raw message alone (its body is neither copied nor parsed)."""
    # The headers end at the first blank line; only they are copied.
    crlf = raw.find(b"\r\n\r\n")
    limit = crlf if crlf >= 0 else len(raw)
    lf = raw.find(b"\n\n", 0, limit)
    head = raw[: lf if lf >= 0 else limit]
    # Headers only: a multipart head would otherwise compile its boundary's pattern.
    return BytesHeaderParser(policy=email_policy.compat32).parsebytes(head + b"\n\n")


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID of a raw message, read from its headers only; None if absent or odd."""
    try:
        value = raw_headers(raw).get("Message-ID")
    except Exception:
        return None
    if value is None:
        return None
    value = str(value).strip()
    return value[:255] if len(value) >= 3 else None


def _read(
    message: EmailMessage,
    envelope_from: str | None,
    max_attachment_bytes: int | None,
    authserv_id: str = "",
) -> ParsedMail:
    structural = [d for part in message.walk() for d in part.defects if _structural(d)]
    if structural:
        raise MalformedMail("broken MIME structure: " + type(structural[0]).__name__)
    from_name, from_address = _sender(message)
    auto_reply = auto_reply_reason(message)
    bounce = bounce_reason(message, envelope_from)
    if from_address is None and not (auto_reply or bounce):
        raise MalformedMail("no single sender address")
    subject = _header_text(message, "Subject")
    html_parts = [p for p in message.walk() if p.get_content_type() == "text/html"]
    referenced = _referenced_content_ids(html_parts)
    body_parts = list(_body_parts(message))
    body_text = "\n\n".join(t for t in (_part_text(p) for p in body_parts) if t.strip())
    attachments = tuple(
        _attachments(message, body_parts, referenced, subject, max_attachment_bytes)
    )
    return ParsedMail(
        message_id=(_header_text(message, "Message-ID") or None),
        from_address=from_address,
        from_name=from_name,
        subject=subject,
        body_text=body_text,
        reply_text=reduce_reply(body_text),
        attachments=attachments,
        auto_reply=auto_reply,
        bounce=bounce,
        in_reply_to=(_header_text(message, "In-Reply-To") or None),
        absence_reference=find_absence_reference(subject),
        defects=tuple(sorted({type(d).__name__ for p in message.walk() for d in p.defects})),
        authenticated_by=authenticating_method(message.raw_items(), authserv_id, from_address),
    )


def _structural(defect: MessageDefect) -> bool:
    return isinstance(defect, STRUCTURAL_DEFECTS)


def _header_text(message: Message, name: str) -> str:
    """A header as text, encoded words decoded, on one line; '' when absent or unreadable."""
    try:
        value = message.get(name)
    except Exception:
        return ""
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        with contextlib.suppress(Exception):
            text = str(make_header(decode_header(text)))
    return " ".join(text.split())[:998]


def _sender(message: Message) -> tuple[str, str | None]:
    """The display name and lower-cased address of the header From."""
    raw_from = _header_text(message, "From")
    addresses = getaddresses([raw_from]) if raw_from else []
    if len(addresses) != 1:
        return "", None
    name, address = addresses[0]
    address = address.strip().lower()
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        return name, None
    return name, address


# Detection ---------------------------------------------------------------------------------


def auto_reply_reason(message: Message) -> str | None:
    """Why this message is an automatic reply (or a list's), or None if a person sent it."""
    auto_submitted = _header_text(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    precedence = _header_text(message, "Precedence").lower().strip()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Auto-Reply"):
        value = _header_text(message, header).lower()
        if value and value != "no":
            return header
    if _header_text(message, "List-Id") or _header_text(message, "List-Unsubscribe"):
        return "mailing list"
    if AUTO_SUBJECT.match(_fold(_header_text(message, "Subject"))):
        return "automatic reply subject"
    return None


def bounce_reason(message: Message, envelope_from: str | None = None) -> str | None:
    """Why this message is a bounce or a delivery report, or None."""
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "null sender"
    if _header_text(message, "Return-Path").strip() == "<>":
        return "null Return-Path"
    if message.get_content_type() == "multipart/report":
        return "multipart/report"
    for part in message.walk():
        if part.get_content_type() in REPORT_TYPES:
            return part.get_content_type()
    addresses = getaddresses([_header_text(message, "From")])
    local = addresses[0][1].split("@", 1)[0].lower() if addresses else ""
    if local in BOUNCE_SENDERS:
        return "sent by " + local
    return None


# Guesses from subjects and file names -----------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, without accents, one kind of apostrophe."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _plain(text: str) -> str:
    """Folded, punctuation turned into spaces: `Attestation_CAF-déc.pdf` ->
    `attestation caf dec pdf`."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _fold(text)).split())


def guess_document_type(subject: str, filename: str | None) -> DocumentType:
    """The type a file name tells, else the type the subject tells, else "to classify"."""
    for source in (filename or "", subject):
        words = f" {_plain(source)} "
        for doc_type, keywords in DOCUMENT_KEYWORDS:
            if any(f" {keyword} " in words for keyword in keywords):
                return doc_type
    return DocumentType.TO_CLASSIFY


def find_absence_reference(subject: str) -> str | None:
    """An absence reference such as `ABS-7KQ9M2` in a subject, upper-cased, or None."""
    match = REFERENCE.search(subject.upper())
    return f"ABS-{match.group(1).upper()}" if match else None


# Body and attachments ---------------------------------------------------------------------


def _is_attachment_like(part: Message) -> bool:
    disposition = part.get_content_disposition()
    return disposition == "attachment" or bool(_filename(part))


def _body_parts(part: Message) -> Iterator[Message]:
    """The text parts that make the body: in an alternative, plain text if it has any."""
    content_type = part.get_content_type()
    if part.is_multipart():
        payload = part.get_payload()
        children = (
            [c for c in payload if isinstance(c, Message)] if isinstance(payload, list) else []
        )
        if content_type == "multipart/alternative":
            chosen = _choose_alternative(children)
            if chosen is not None:
                yield from _body_parts(chosen)
            return
        if content_type == "multipart/related":
            if children:
                yield from _body_parts(children[0])
            return
        if content_type == "multipart/report":
            if children:
                yield from _body_parts(children[0])
            return
        if content_type.startswith("multipart/"):
            for child in children:
                yield from _body_parts(child)
        return
    text_body = part.get_content_type() in ("text/plain", "text/html")
    if text_body and not _is_attachment_like(part):
        yield part


def _choose_alternative(children: list[Message]) -> Message | None:
    """Plain text when it has words, else HTML, else the last alternative."""
    for wanted in ("text/plain", "text/html"):
        for child in children:
            parts = list(_body_parts(child))
            if any(p.get_content_type() == wanted for p in parts) and any(
                _part_text(p).strip() for p in parts
            ):
                return child
    return children[-1] if children else None


def _part_text(part: Message) -> str:
    """A text part decoded to `str` (HTML turned into text, format=flowed unwrapped)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = _decode(payload, part.get_content_charset())
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    if (part.get_param("format") or "").lower() == "flowed":  # type: ignore[union-attr]
        delsp = (part.get_param("delsp") or "").lower() == "yes"  # type: ignore[union-attr]
        text = unflow(text, delsp)
    return normalize(text)


def _decode(payload: bytes, charset: str | None) -> str:
    """Bytes to text, readable even when the declared charset is wrong; never failing."""
    return decode_text(payload, charset)


def unflow(text: str, delsp: bool = False) -> str:
    """Undo `format=flowed` (RFC 3676): soft line breaks joined, space-stuffing removed."""
    out: list[str] = []
    current = ""
    current_depth: int | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if current_depth is not None and depth != current_depth:
            out.append(_quoted(current_depth, current))
            current, current_depth = "", None
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        current += content
        current_depth = depth
        if not flowed:
            out.append(_quoted(depth, current))
            current, current_depth = "", None
    if current_depth is not None:
        out.append(_quoted(current_depth, current))
    return "\n".join(out)


def _quoted(depth: int, content: str) -> str:
    return ("> " * depth + content) if depth else content


def _referenced_content_ids(html_parts: Sequence[Message]) -> set[str]:
    """Content-IDs that HTML bodies show with `cid:`."""
    found: set[str] = set()
    for part in html_parts:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            text = _decode(payload, part.get_content_charset())
            found.update(m.lower() for m in re.findall(r"cid:([^\"'\s>)]+)", text))
    return found


def _filename(part: Message) -> str | None:
    """The part's file name, decoded (RFC 2231 and RFC 2047) and reduced to a safe base name."""
    try:
        name = part.get_filename() or part.get_param("name")
    except Exception:
        return None
    if isinstance(name, tuple):  # an RFC 2231 value the compat API left encoded
        name = name[2]
    if not isinstance(name, str):
        return None
    if "=?" in name:
        with contextlib.suppress(Exception):
            name = str(make_header(decode_header(name)))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    return name[:200] or None


def encoded_size(part: Message) -> int | None:
    """The size a leaf part will have once decoded, told from its encoded payload without
    decoding it (nor copying it whole); None when only decoding would tell (quoted-printable,
    uuencode: always smaller than encoded).

    Base64: 3 bytes for every 4 characters of its alphabet (`get_payload(decode=True)`
    ignores the others: line ends, spaces, stray bytes). Other encodings are taken as they
    are, one byte per character (characters of non-ASCII bytes included)."""
    payload = part.__dict__.get("_payload")  # the parsed text: `get_payload()` may copy it
    if not isinstance(payload, str):
        return None
    encoding = str(part.get("content-transfer-encoding", "")).lower()
    if encoding in SHRINKING_ENCODINGS:
        return None
    if encoding != "base64":
        return len(payload)
    characters = 0
    for start in range(0, len(payload), FEED_CHUNK_BYTES):
        chunk = payload[start : start + FEED_CHUNK_BYTES].encode("ascii", "ignore")
        characters += len(chunk.translate(None, NOT_BASE64))
    return characters * 3 // 4


def _too_large(part: Message, max_bytes: int | None) -> int | None:
    """The part's size when it is surely over `max_bytes` (checked before decoding), else None."""
    if max_bytes is None:
        return None
    payload = part.__dict__.get("_payload")
    # Decoding never makes a part larger than its encoded text: most parts stop here.
    if not isinstance(payload, str) or len(payload) <= max_bytes:
        return None
    size = encoded_size(part)
    return size if size is not None and size > max_bytes else None


def _attachments(
    message: Message,
    body_parts: list[Message],
    referenced: set[str],
    subject: str,
    max_bytes: int | None = None,
) -> Iterator[Attachment]:
    body_ids = {id(part) for part in body_parts}
    for part in message.walk():
        if part.is_multipart() or id(part) in body_ids:
            continue
        content_type = part.get_content_type()
        if content_type in REPORT_TYPES or content_type.startswith("text/rfc822-headers"):
            continue
        filename = _filename(part)
        disposition = part.get_content_disposition()
        content_id = (str(part.get("Content-ID") or "")).strip().strip("<>").lower()
        if part.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # an alternative body or a text part we did not pick
        if content_type == "message/rfc822":
            continue  # walked into: its attachments are found as its parts
        inline = bool(content_id) and content_id in referenced and disposition != "attachment"
        guessed = guess_document_type(subject, filename)
        oversized = _too_large(part, max_bytes)
        if oversized is not None:
            yield Attachment(
                filename,
                content_type,
                b"",
                inline=inline,
                guessed_type=guessed,
                undecoded_size=oversized,
            )
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        yield Attachment(filename, content_type, payload, inline=inline, guessed_type=guessed)
