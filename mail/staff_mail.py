"""Notification emails to the services, delivered from the outbox: once each, retried with
backoff while the SMTP relay is down.

The store queues them (channel email) with the change that causes them (`store.staff_notices`):
a parent's message, an absence's medical certificate, a family's document (or all the
documents of one parent's email, in one email), a mail a family disowned (a forgery attempt),
bookings waiting for validation. Each kind has its writer here (`writes`), which puts the
email in French with the family, child and dates, and attaches the certificate or documents
(under a name we make, "certificat-medical-ABS-7KQ9M2.pdf", with the content type its bytes
tell; the family's file name is only quoted, cleaned, in the text). `mail.email_delivery`
claims, sends and retries them. A crash between the relay's answer and `mark_sent` may send an
email again after the lease: its Message-ID is stable, so mailboxes can tell.

A parent's message carries `Reply-To: reply+<token>@<mail domain>`, a fresh unguessable token
bound to its thread, valid as long as the thread exists, like every earlier one of the thread
(the inbound server relays the answer to the family), and Message-ID,
In-Reply-To and References that thread a conversation's emails in the staff's mailbox.

The same machinery mails a guardian the 6-digit code that links their Telegram account
(`store.linking`, kind `link_code`), in their language: sent once, retried while the relay is
down, not sent once the code is used, replaced or expired; the code leaves the outbox as soon
as the mail is sent or given up. And the warning that codes are requested repeatedly for their
address (kind `link_code_warning`, at most one a day, no code in it).

Nothing here logs a message's text, a document's bytes, nor a linking code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias

from babel.numbers import format_decimal

from conversations.kit.formatting import amount, format_moment, long_day, short_month
from conversations.kit.texts import CATALOG, counted_key, fill
from store.access_log import record_mailed
from store.actors import Actor, StoreError
from store.decide_by_mail import RequestKind, new_decision_token
from store.documents import document_file_name
from store.family_file import FAMILY_FILE_SERVICE
from store.linking import CODE, LINK_CODE_MAIL, LINK_WARNING_MAIL
from store.models.enums import Channel, DocumentSource
from store.safe_files import display_label, sniff_content_type
from store.staff_notices import (
    AttachedFile,
    FamilyFacts,
    bookings_to_validate_facts,
    certificate_facts,
    disowned_mail_facts,
    document_review_facts,
    mail_documents_facts,
    parent_message_facts,
)

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)

LANGUAGE = "fr"
# Files attached to one email, at most (relays commonly refuse 25 MB); the rest is named.
MAX_ATTACHED_BYTES = 15 * 1024 * 1024
# Days named in a booking email's subject before "…".
SUBJECT_DAYS = 3


@dataclass(frozen=True)
class MailFile:
    """A file attached to a staff email: under our name, with the type its content tells;
    `label`: the family's file name, cleaned, to quote in the text."""

    name: str
    content_type: str
    content: bytes
    label: str | None = None


@dataclass(frozen=True)
class StaffMail:
    """What one notification email says, and how it threads."""

    subject: str
    body: str
    message_id: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    files: tuple[MailFile, ...] = field(default_factory=tuple)
    # RFC 3834: "auto-generated" for our notifications, "auto-replied" for an answer to a mail.
    auto_submitted: str = "auto-generated"


@dataclass(frozen=True)
class NotNeeded:
    """Nothing to send any more (e.g. the bookings were decided meanwhile), and why."""

    reason: str


Writer: TypeAlias = "Callable[[Portal, dict[str, Any]], Awaitable[StaffMail | NotNeeded]]"
WRITERS: dict[str, Writer] = {}


def writes(*kinds: str) -> Callable[[Writer], Writer]:
    """Register the function that writes the email of these notification kinds."""

    def register(function: Writer) -> Writer:
        for kind in kinds:
            WRITERS[kind] = function
        return function

    return register


# Words --------------------------------------------------------------------------------------


def words(key: str, **values: Any) -> str:
    """A staff email's sentence, plain text (no HTML escaping: emails are text/plain)."""
    return sentence(key, LANGUAGE, **values)


def sentence(key: str, language: str, **values: Any) -> str:
    """A sentence of the catalog in `language` (a parent's, for their emails), plain text."""
    entry = CATALOG[key]
    return fill(entry.get(language) or entry["fr"], values)


def dates_label(start: date, end: date) -> str:
    """An absence's days in full: "le mercredi 2 décembre 2026" or "du … au …"."""
    if start == end:
        return words("staffmail.dates.one", day=long_day(start, LANGUAGE))
    return words(
        "staffmail.dates.range", start=long_day(start, LANGUAGE), end=long_day(end, LANGUAGE)
    )


def short_dates(start: date, end: date) -> str:
    """An absence's days, short, for a subject: "2 déc. 2026" or "2 déc. 2026 – 4 déc. 2026"."""
    first = f"{start.day} {short_month(start, LANGUAGE)}"
    if start == end:
        return first
    return f"{first} – {end.day} {short_month(end, LANGUAGE)}"


def family_lines(family: FamilyFacts) -> list[str]:
    """Who the family is: name and file code, guardians, children."""
    lines = [words("staffmail.family", family=family.name, code=family.code)]
    if family.guardians:
        lines.append(words("staffmail.guardians", guardians=", ".join(family.guardians)))
    if family.children:
        lines.append(words("staffmail.children", children=", ".join(family.children)))
    return lines


def channel_words(source: Channel | DocumentSource) -> str:
    """How a message or document arrived: "par email" or "sur Telegram"."""
    by_email = source.value == Channel.EMAIL.value
    return words("staffmail.channel.email" if by_email else "staffmail.channel.telegram")


def _join(*blocks: Sequence[str]) -> str:
    """An email's text: its non-empty blocks as paragraphs, then the footer."""
    paragraphs = ["\n".join(block) for block in blocks if block]
    return "\n\n".join([*paragraphs, words("staffmail.footer")]) + "\n"


async def decision_reply(portal: Portal, kind: RequestKind, ids: Sequence[int]) -> str:
    """The reply address of a notification asking for a decision: a fresh token bound to
    that request (`store.decide_by_mail`)."""
    token = await new_decision_token(portal.sessions, kind, ids, portal.clock())
    return f"reply+{token}@{portal.settings.mail_domain}"


def decision_how(kind: RequestKind, several: bool = False) -> list[str]:
    """The lines at the top of such a notification that say how to decide by replying."""
    how = (
        "staffmail.decide.how_document" if kind is RequestKind.DOCUMENT else "staffmail.decide.how"
    )
    return [words(how), *([words("staffmail.decide.how_all")] if several else [])]


def message_id(portal: Portal, local: str) -> str:
    """A Message-ID of ours: `<local@mail domain>`."""
    return f"<{local}@{portal.settings.mail_domain}>"


async def read_files(
    portal: Portal,
    files: Sequence[AttachedFile],
    reference: str | None = None,
    *,
    why: str,
    service_code: str | None = FAMILY_FILE_SERVICE,
    service_name: str | None = None,
) -> tuple[tuple[MailFile, ...], list[AttachedFile]]:
    """The files' bytes, as many as fit in one email, named by us (after `reference`, an
    absence's, when given; else the document's number); and those left out. Each file read
    for a service's mailbox is in the family's access log (`store.access_log`), with `why`."""
    documents = portal.documents
    attached: list[MailFile] = []
    left_out: list[AttachedFile] = []
    total = 0
    for file in files:
        if total + file.size > MAX_ATTACHED_BYTES:
            left_out.append(file)
            continue
        try:
            view, content = await documents.read(Actor.system(), file.document_id)
        except (StoreError, OSError):
            logger.warning("document %s could not be read for a staff email", file.document_id)
            left_out.append(file)
            continue
        async with portal.sessions.begin() as session:
            await record_mailed(
                session,
                view.family_id,
                view.id,
                why,
                service_code=service_code,
                service_name=service_name,
            )
        total += len(content)
        content_type = sniff_content_type(content) or "application/octet-stream"
        name = document_file_name(view.doc_type, reference or view.id, content_type)
        attached.append(MailFile(name, content_type, content, display_label(view.original_name)))
    return tuple(attached), left_out


def file_lines(attached: Sequence[MailFile], left_out: Sequence[AttachedFile]) -> list[str]:
    """The files attached, by name (and the family's); those too large to attach, with their
    document number."""
    lines = [
        words("staffmail.attached_as", name=file.name, label=file.label)
        if file.label
        else words("staffmail.attached", name=file.name)
        for file in attached
    ]
    for file in left_out:
        name = display_label(file.name) or words("staffmail.unnamed")
        lines.append(words("staffmail.not_attached", name=name, document_id=file.document_id))
    return lines


# Writers ------------------------------------------------------------------------------------


@writes("parent_message")
async def parent_message(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A parent's message to a service, answerable by replying to the email."""
    facts = await parent_message_facts(portal.sessions, int(payload["message_id"]))
    if facts is None:
        return NotNeeded("the message no longer exists")
    subject = words(
        "staffmail.subject.message", family=facts.family.name, subject=facts.thread_subject
    )
    root = message_id(portal, f"thread-{facts.thread_id}")
    first = facts.message_id == facts.first_message_id
    references: tuple[str, ...] = ()
    in_reply_to = None
    if first:
        own_id = root
    else:
        subject = words("staffmail.subject.follow_up", subject=subject)
        own_id = message_id(portal, f"thread-{facts.thread_id}.message-{facts.message_id}")
        earlier = [
            root
            if earlier_id == facts.first_message_id
            else message_id(portal, f"thread-{facts.thread_id}.message-{earlier_id}")
            for earlier_id in facts.earlier_message_ids
        ]
        references = tuple(dict.fromkeys([root, *earlier]))
        in_reply_to = earlier[-1] if earlier else root
    files, left_out = await read_files(
        portal,
        facts.attachments,
        why=f"parent_message:{facts.message_id}",
        service_code=None,
        service_name=facts.service_name,
    )
    token = await portal.messaging.new_reply_token(facts.thread_id)
    intro = words(
        "staffmail.message.intro",
        author=facts.author or words("staffmail.message.someone"),
        service=facts.service_name,
        channel=channel_words(facts.channel),
        when=format_moment(facts.created_at, LANGUAGE),
    )
    body = _join(
        [intro],
        [facts.body],
        file_lines(files, left_out),
        family_lines(facts.family),
        [
            words("staffmail.message.reply_hint"),
            words("staffmail.message.thread", thread_id=facts.thread_id),
        ],
    )
    return StaffMail(
        subject=subject,
        body=body,
        message_id=own_id,
        reply_to=f"reply+{token}@{portal.settings.mail_domain}",
        in_reply_to=in_reply_to,
        references=references,
        files=files,
    )


@writes("certificate_to_review")
async def certificate_to_review(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """An absence's medical certificate, attached, for the family file service."""
    facts = await certificate_facts(portal.sessions, int(payload["absence_id"]))
    if facts is None or facts.certificate is None:
        return NotNeeded("the absence or its certificate no longer exists")
    files, left_out = await read_files(
        portal,
        [facts.certificate],
        facts.reference,
        why=f"certificate_to_review:{facts.absence_id}",
    )
    subject = words(
        "staffmail.certificate.subject",
        child=facts.child_name,
        dates=short_dates(facts.start, facts.end),
        reference=facts.reference,
    )
    details = [
        words("staffmail.absence", reference=facts.reference),
        words("staffmail.child", child=facts.child_name),
        words("staffmail.dates", dates=dates_label(facts.start, facts.end)),
        words("staffmail.reason", reason=CATALOG[f"absence.reason.{facts.reason.value}"]["fr"]),
        words("staffmail.days_marked", count=facts.days_marked),
    ]
    attached = file_lines(files, left_out) if files else [words("staffmail.certificate.missing")]
    body = _join(
        decision_how(RequestKind.CERTIFICATE),
        [words("staffmail.certificate.intro")],
        details,
        attached,
        family_lines(facts.family),
        [words("staffmail.certificate.decide", absence_id=facts.absence_id)],
    )
    local = f"absence-{facts.absence_id}.certificate-{facts.certificate.document_id}"
    reply_to = await decision_reply(portal, RequestKind.CERTIFICATE, [facts.absence_id])
    return StaffMail(subject, body, message_id(portal, local), reply_to=reply_to, files=files)


@writes("document_to_review")
async def document_to_review(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A family's document, attached, for the family file service."""
    facts = await document_review_facts(portal.sessions, int(payload["document_id"]))
    if facts is None:
        return NotNeeded("the document no longer exists")
    if facts.carried_by is not None:
        return NotNeeded(f"sent with its {facts.carried_by}'s own notification")
    doc_type = CATALOG[f"doc.{facts.doc_type.value}"]["fr"]
    files, left_out = await read_files(
        portal, [facts.file], why=f"document_to_review:{facts.file.document_id}"
    )
    owner = (
        words("staffmail.document.for_child", child=facts.child_name)
        if facts.child_name
        else words("staffmail.document.for_family")
    )
    intro = words(
        "staffmail.document.intro",
        doc_type=doc_type,
        channel=channel_words(facts.source),
        when=format_moment(facts.created_at, LANGUAGE),
    )
    body = _join(
        decision_how(RequestKind.DOCUMENT),
        [intro, owner],
        file_lines(files, left_out),
        family_lines(facts.family),
        [words("staffmail.document.decide", document_id=facts.file.document_id)],
    )
    subject = words("staffmail.document.subject", doc_type=doc_type, family=facts.family.name)
    reply_to = await decision_reply(portal, RequestKind.DOCUMENT, [facts.file.document_id])
    return StaffMail(
        subject,
        body,
        message_id(portal, f"document-{facts.file.document_id}"),
        reply_to=reply_to,
        files=files,
    )


@writes("documents_to_review")
async def documents_to_review(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """The documents of one parent's email, listed and attached, for the family file service
    (one email per mail, however many files it carried)."""
    ids = [int(document_id) for document_id in payload.get("document_ids", [])]
    facts = await mail_documents_facts(portal.sessions, ids)
    if facts is None:
        return NotNeeded("no document left to announce (gone, or sent with an absence)")
    files, left_out = await read_files(
        portal, [file for file, _ in facts.files], why="documents_to_review"
    )
    lines = [
        words(
            "staffmail.documents.file",
            document_id=file.document_id,
            label=display_label(file.name) or words("staffmail.unnamed"),
            doc_type=CATALOG[f"doc.{doc_type.value}"]["fr"],
            size=_size(file.size),
        )
        for file, doc_type in facts.files
    ]
    count = len(facts.files)
    intro = words(
        counted_key("staffmail.documents.intro", count, LANGUAGE),
        count=count,
        when=format_moment(facts.created_at, LANGUAGE),
    )
    body = _join(
        decision_how(RequestKind.DOCUMENT, several=count > 1),
        [intro, *lines],
        file_lines(files, left_out),
        family_lines(facts.family),
        [words("staffmail.documents.decide")],
    )
    subject = words(
        counted_key("staffmail.documents.subject", count, LANGUAGE),
        count=count,
        family=facts.family.name,
    )
    local = f"inbound-{int(payload['mail_id'])}.documents"
    reply_to = await decision_reply(
        portal, RequestKind.DOCUMENT, [file.document_id for file, _ in facts.files]
    )
    return StaffMail(subject, body, message_id(portal, local), reply_to=reply_to, files=files)


@writes("mail_disowned")
async def mail_disowned(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A guardian said they did not send a mail in their name: a forgery attempt, for the
    family file service (no file of it, nor its text)."""
    facts = await disowned_mail_facts(portal.sessions, int(payload["mail_id"]))
    if facts is None:
        return NotNeeded("the mail no longer exists")
    intro = words(
        counted_key("staffmail.disowned.intro", facts.files, LANGUAGE),
        who=facts.answered_by or words("staffmail.disowned.guardian"),
        files=facts.files,
    )
    details = words(
        "staffmail.disowned.details",
        header_from=facts.header_from or "?",
        envelope_from=facts.envelope_from or "<>",
        subject=facts.subject or "",
        when=format_moment(facts.received_at, LANGUAGE),
        mail_id=facts.mail_id,
    )
    body = _join([intro], details.split("\n"), family_lines(facts.family))
    subject = words("staffmail.disowned.subject", family=facts.family.name)
    return StaffMail(subject, body, message_id(portal, f"inbound-{facts.mail_id}.disowned"))


def _size(size: int) -> str:
    """A file's size for staff: "120 Ko", "1,5 Mo"."""
    if size < 1024 * 1024:
        return f"{format_decimal(max(1, round(size / 1024)), locale='fr_FR')} Ko"
    return f"{format_decimal(round(size / (1024 * 1024), 1), locale='fr_FR')} Mo"


@writes("booking_to_validate")
async def booking_to_validate(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """Bookings waiting for the activity's service to validate them."""
    ids = [int(booking_id) for booking_id in payload.get("booking_ids", [])]
    facts = await bookings_to_validate_facts(portal.sessions, ids)
    if facts is None or not facts.still_pending:
        return NotNeeded("no booking is waiting for validation any more")
    pending = facts.still_pending
    children = ", ".join(dict.fromkeys(day.child_name for day in pending))
    days = sorted({day.day for day in pending})
    shown = ", ".join(f"{d.day} {short_month(d, LANGUAGE)}" for d in days[:SUBJECT_DAYS])
    if len(days) > SUBJECT_DAYS:
        shown += "…"
    lines = []
    for day in pending:
        values = {
            "day": long_day(day.day, LANGUAGE),
            "child": day.child_name,
            "price": amount(day.price_cents, LANGUAGE),
            "booking_id": day.booking_id,
        }
        if day.surcharge_cents:
            lines.append(
                words(
                    "staffmail.booking.day_late",
                    surcharge=amount(day.surcharge_cents, LANGUAGE),
                    **values,
                )
            )
        else:
            lines.append(words("staffmail.booking.day", **values))
    body = _join(
        decision_how(RequestKind.BOOKINGS, several=len(pending) > 1),
        [
            words(
                "staffmail.booking.intro",
                activity=facts.activity_name,
                facility=facts.facility_name,
            )
        ],
        lines,
        family_lines(facts.family),
        [words("staffmail.booking.decide")],
    )
    subject = words(
        "staffmail.booking.subject", children=children, activity=facts.activity_name, days=shown
    )
    reply_to = await decision_reply(
        portal, RequestKind.BOOKINGS, [day.booking_id for day in pending]
    )
    return StaffMail(
        subject, body, message_id(portal, f"booking-{min(ids)}.to-validate"), reply_to=reply_to
    )


@writes(LINK_CODE_MAIL)
async def link_code(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """The code a guardian asked for to link their Telegram account, in their language."""
    token_id = int(payload["token_id"])
    code = payload.get(CODE)
    recipient = await portal.linking.code_mail_to_send(token_id, str(code or ""))
    if recipient is None:
        return NotNeeded("the code was used, replaced or has expired")
    values = {"code": code, "name": recipient.first_name}
    return StaffMail(
        sentence("link.mail_subject", recipient.language, **values),
        sentence("link.mail_body", recipient.language, **values) + "\n",
        message_id(portal, f"link-code-{token_id}"),
    )


@writes(LINK_WARNING_MAIL)
async def link_code_warning(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """Tell a guardian that codes were requested repeatedly for their address (no code)."""
    guardian_id = int(payload["guardian_id"])
    recipient = await portal.linking.warning_mail_to_send(guardian_id)
    if recipient is None:
        return NotNeeded("the guardian no longer exists")
    values = {"name": recipient.first_name}
    return StaffMail(
        sentence("link.warning_subject", recipient.language, **values),
        sentence("link.warning_body", recipient.language, **values) + "\n",
        message_id(portal, f"link-warning-{guardian_id}-{payload.get('day', '')}"),
    )
