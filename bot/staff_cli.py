"""`portail staff ...`: the services' side of the portal, on the command line.

portail staff inbox [--service CODE]            threads waiting for an answer, newest first
portail staff show THREAD_ID                    a thread's messages and attachments
portail staff reply THREAD_ID "TEXT" --as EMAIL answer a thread; the family reads it on Telegram
portail staff pending                           certificates, documents, bookings to decide on
portail staff accept|refuse certificate ABSENCE_ID [--note TEXT] [--as EMAIL]
portail staff accept|refuse document DOC_ID [--type TYPE] [--note TEXT] [--as EMAIL]
portail staff reclassify document DOC_ID TYPE [--as EMAIL]   file it under another type
portail staff validate booking BOOKING_ID [--as EMAIL]
portail staff reject booking BOOKING_ID --reason TEXT [--as EMAIL]   the family reads the reason
portail staff day ACTIVITY_CODE YYYY-MM-DD      the children booked that day
portail staff day ACTIVITY_CODE YYYY-MM-DD --pdf FILE [--as EMAIL] [--language fr|en]
                                                the day's sheet to print (health flags for
                                                the activity's staff named with --as)
portail staff attendance ACTIVITY_CODE YYYY-MM-DD (--absent CHILD [CHILD ...] | --all-present)
                         [--as EMAIL]           mark who was there; an absence nobody
                                                announced is billed, the family told
portail staff daily-list [ACTIVITY_CODE] [--date YYYY-MM-DD] [--dry-run] [--as EMAIL]
                                                send the day's lists (PDF, CSV) to the
                                                services now, once; --dry-run prints them
portail staff digest [--service CODE] [--dry-run]
                                                each service's digest of what waits, now
                                                (codes to decide by reply); --dry-run prints
portail staff quarantine list [--all]           mails set aside: id, date, sender, subject, reason
portail staff quarantine show MAIL_ID [--raw]   its headers, reason, text, attachments (no bytes
                                                unless --raw)
portail staff quarantine release MAIL_ID --as EMAIL [--family FAMILY_ID]
                                                relay the staff reply, or file the documents for
                                                the family; once, recorded with who released it

Every listing (inbox, show, pending, day, quarantine list|show, and those of `changes`,
`enrolments`, `registrations`) takes `--json`: one JSON document for scripts (`bot.staff_json`).

Decisions are recorded as made by the staff member named with `--as`, or by the system.
A document TYPE is its code (`health_form`) or its French name (`fiche_sanitaire`, "fiche
sanitaire"). Medical details of absences are never printed.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from datetime import date

from bot.daily_list_cli import add_daily_list_command
from bot.portal import Portal
from bot.staff_attendance_cli import add_attendance_command, add_day_pdf_options, day_pdf
from bot.staff_commands import (
    Refused,
    add_decider,
    decider,
    moment,
    on_store,
)
from bot.staff_digest_cli import add_digest_command
from bot.staff_enrolment_cli import add_enrolment_commands
from bot.staff_file_cli import add_changes_command, add_file_command
from bot.staff_json import add_json_option, print_json
from conversations.kit.texts import CATALOG
from mail.inbound import inbound_service
from store.absences import InvalidAbsence
from store.actors import Actor, NotFound
from store.bookings import ReasonRequired
from store.documents import InvalidReclassification
from store.inbound import NotReleasable
from store.messaging import InvalidMessage
from store.models.enums import BookingState, DocumentType, MessageDirection
from store.models.inbound import InboundStatus
from store.quarantine import QuarantineService

SHOW_LIMIT = 100
EXCERPT_CHARS = 60
ERROR_STATUS = 2


def _excerpt(body: str) -> str:
    line = " ".join(body.split())
    return line if len(line) <= EXCERPT_CHARS else line[: EXCERPT_CHARS - 1] + "…"


# Messages -----------------------------------------------------------------------------------


@on_store
async def cmd_inbox(portal: Portal, args: argparse.Namespace) -> int:
    entries = await portal.messaging.inbox(Actor.system(), args.service)
    if args.json:
        print_json(entries)
        return 0
    if not entries:
        print("No thread is waiting for an answer.")
    for entry in entries:
        thread = entry.thread
        print(
            f"#{thread.id}  {moment(entry.last_at)}  {thread.service_name}  "
            f"{thread.family_name}  {_excerpt(entry.last_body)}"
        )
    return 0


@on_store
async def cmd_show(portal: Portal, args: argparse.Namespace) -> int:
    service = portal.messaging
    try:
        thread = await service.thread(Actor.system(), args.thread_id)
        messages = await service.thread_history(Actor.system(), args.thread_id, SHOW_LIMIT)
    except NotFound:
        raise Refused(f"No thread #{args.thread_id}.") from None
    if args.json:
        print_json({"thread": thread, "messages": messages})
        return 0
    print(f"Thread #{thread.id}, {thread.service_name}, {thread.family_name}")
    print(f"Subject: {thread.subject}")
    for message in messages:
        side = "family" if message.direction is MessageDirection.FROM_PARENT else "service"
        print(f"\n[{moment(message.created_at)}] {side} ({message.author}):")
        for line in message.body.splitlines():
            print(f"  {line}")
        for attachment in message.attachments:
            name = attachment.name or "photo"
            print(
                f"  attachment: document #{attachment.document_id} {name} "
                f"({attachment.content_type})"
            )
    return 0


@on_store
async def cmd_reply(portal: Portal, args: argparse.Namespace) -> int:
    try:
        staff = await portal.staff.by_email(args.as_email)
    except NotFound:
        raise Refused(f"No staff member has the email {args.as_email}.") from None
    try:
        message = await portal.messaging.staff_reply(staff.actor, args.thread_id, args.text)
    except NotFound:
        raise Refused(f"No thread #{args.thread_id}.") from None
    except InvalidMessage as error:
        raise Refused(f"The reply was not sent: {error}.") from None
    print(
        f"Reply #{message.id} from {staff.name} stored in thread #{args.thread_id}; "
        "the family will read it on Telegram."
    )
    return 0


# Decisions ----------------------------------------------------------------------------------


SYSTEM = Actor.system()


@on_store
async def cmd_pending(portal: Portal, args: argparse.Namespace) -> int:
    work_left = await portal.staff.pending(Actor.system())
    requests = (
        ("changes of family files", "changes", len(await portal.family_file.changes(SYSTEM))),
        ("enrolment requests", "enrolments", len(await portal.enrolments.enrolments(SYSTEM))),
        ("new children", "registrations", len(await portal.enrolments.registrations(SYSTEM))),
    )
    waiting = [(what, command, count) for what, command, count in requests if count]
    if args.json:
        print_json(
            {
                "certificates": work_left.certificates,
                "documents": work_left.documents,
                "bookings": work_left.bookings,
                **{command: count for _, command, count in requests},
            }
        )
        return 0
    if not (work_left.certificates or work_left.documents or work_left.bookings or waiting):
        print("Nothing is waiting for a decision.")
        return 0
    for what, command, count in waiting:
        print(f"{what.capitalize()}: {count} waiting (portail staff {command} list)")
    if work_left.certificates:
        print("Certificates to review (accept|refuse certificate ABSENCE_ID):")
        for c in work_left.certificates:
            print(
                f"  absence #{c.absence_id}  {c.reference}  {c.child_name} ({c.family_name})"
                f"  {c.start} to {c.end}  certificate: document #{c.document_id}"
            )
    if work_left.documents:
        print(
            "Documents to review (accept|refuse document DOC_ID [--type TYPE], "
            "reclassify document DOC_ID TYPE):"
        )
        for d in work_left.documents:
            whose = f"{d.child_name} ({d.family_name})" if d.child_name else d.family_name
            print(
                f"  document #{d.document_id}  {d.doc_type.value}  {whose}  "
                f"{d.original_name or '-'}  received {moment(d.received_at)}"
            )
    if work_left.bookings:
        print(
            "Bookings awaiting validation (validate booking BOOKING_ID, "
            'reject booking BOOKING_ID --reason "..."):'
        )
        for b in work_left.bookings:
            print(
                f"  booking #{b.booking_id}  {b.day}  {b.activity_name}  "
                f"{b.child_name} ({b.family_name})"
            )
    return 0


@on_store
async def cmd_review(portal: Portal, args: argparse.Namespace) -> int:
    """accept|refuse certificate ABSENCE_ID, accept|refuse document DOC_ID."""
    actor = await decider(portal, args.as_email)
    if args.what == "certificate":
        if args.doc_type is not None:
            raise Refused("--type is for documents: a certificate stays a certificate.")
        try:
            excused = await portal.absences.decide(actor, args.id, args.accept, args.note)
        except NotFound:
            raise Refused(f"No absence #{args.id}.") from None
        except InvalidAbsence:
            raise Refused(f"Absence #{args.id} has no certificate to accept.") from None
        if args.accept:
            print(
                f"Certificate of absence #{args.id} accepted: {excused} booked day(s) "
                "excused, not billed. The family is told."
            )
        else:
            print(
                f"Certificate of absence #{args.id} refused: its days stay billed. "
                "The family is told."
            )
        return 0
    try:
        status = await portal.documents.review(
            actor, args.id, args.accept, args.note, doc_type=args.doc_type
        )
    except NotFound:
        raise Refused(f"No document #{args.id}.") from None
    except InvalidReclassification:
        raise Refused(_certificate_stays(args.id)) from None
    filed = f" as {args.doc_type.value}" if args.doc_type is not None else ""
    print(f"Document #{args.id} {status.value}{filed}. The family is told.")
    return 0


@on_store
async def cmd_reclassify(portal: Portal, args: argparse.Namespace) -> int:
    """reclassify document DOC_ID TYPE."""
    actor = await decider(portal, args.as_email)
    try:
        view = await portal.documents.reclassify(actor, args.id, args.doc_type)
    except NotFound:
        raise Refused(f"No document #{args.id}.") from None
    except InvalidReclassification:
        raise Refused(_certificate_stays(args.id)) from None
    print(f"Document #{view.id} filed as {view.doc_type.value} ({view.status.value}).")
    return 0


def _certificate_stays(document_id: int) -> str:
    return (
        f"Document #{document_id} is the medical certificate of an absence: it stays one "
        "(accept|refuse certificate ABSENCE_ID)."
    )


@on_store
async def cmd_booking(portal: Portal, args: argparse.Namespace) -> int:
    """validate|reject booking BOOKING_ID."""
    actor = await decider(portal, args.as_email)
    try:
        state = await portal.bookings.decide_pending(actor, args.id, args.accept, args.reason)
    except NotFound:
        raise Refused(f"No booking #{args.id}.") from None
    except ReasonRequired:
        raise Refused(
            f"Booking #{args.id} was not rejected: give the reason the family will read, "
            'with --reason "...".'
        ) from None
    expected = BookingState.CONFIRMED if args.accept else BookingState.REFUSED
    if state is not expected:
        raise Refused(f"Booking #{args.id} was not awaiting validation: it is {state.value}.")
    print(f"Booking #{args.id} {state.value}. The family is told.")
    return 0


# Day list -----------------------------------------------------------------------------------


@on_store
async def cmd_day(portal: Portal, args: argparse.Namespace) -> int:
    if args.pdf is not None and args.json:
        raise Refused("--pdf writes the sheet to print, --json the list for scripts: choose one.")
    if args.pdf is not None:
        return await day_pdf(portal, args)
    try:
        listing = await portal.staff.day_list(Actor.system(), args.activity_code, args.day)
    except NotFound:
        raise Refused(f"No activity has the code {args.activity_code}.") from None
    if args.json:
        print_json(listing)
        return 0
    print(f"{listing.activity_name} ({listing.activity_code}), {listing.day:%Y-%m-%d}:")
    if not listing.entries:
        print("  no child booked.")
    for entry in listing.entries:
        absence = f"absent, {entry.absence.value}" if entry.absence else ""
        print(
            f"  {entry.child_name:<28} {entry.school_level:<5} {entry.state.value:<15} "
            f"{absence}".rstrip()
        )
    return 0


# Mails set aside -----------------------------------------------------------------------------


def _quarantine(portal: Portal) -> QuarantineService:
    """The quarantine over the inbound mail service as `portail smtp` builds it."""
    return QuarantineService(inbound_service(portal))


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{(size + 1023) // 1024} KB"


def _one_line(value: str | None) -> str:
    return _printable(_excerpt(value)) if value else "-"


@on_store
async def cmd_quarantine_list(portal: Portal, args: argparse.Namespace) -> int:
    views = await _quarantine(portal).listed(Actor.system(), everything=args.all, limit=args.limit)
    if args.json:
        print_json(views)
        return 0
    if not views:
        print("No mail is set aside.")
    for view in views:
        sender = view.header_from or view.mail_from or "<>"
        status = "" if view.status is InboundStatus.QUARANTINED else f"[{view.status.value}] "
        print(
            f"#{view.id}  {moment(view.received_at)}  {sender}  "
            f"{_one_line(view.subject)}  {status}{view.reason or '-'}"
        )
    return 0


@on_store
async def cmd_quarantine_show(portal: Portal, args: argparse.Namespace) -> int:
    quarantine = _quarantine(portal)
    if args.raw and args.json:
        raise Refused("--raw prints the bytes as received, --json the mail as read: choose one.")
    try:
        if args.raw:
            sys.stdout.flush()
            sys.stdout.buffer.write(await quarantine.raw(Actor.system(), args.mail_id))
            sys.stdout.buffer.flush()
            return 0
        kept = await quarantine.show(Actor.system(), args.mail_id)
    except NotFound:
        raise Refused(f"No inbound mail #{args.mail_id}.") from None
    if args.json:
        print_json(kept)
        return 0
    view = kept.view
    print(f"Mail #{view.id}, received {moment(view.received_at)}, {view.size} bytes")
    print(f"Status: {view.status.value}; reason: {view.reason or '-'}")
    print(f"Envelope: from {view.mail_from or '<>'} to {', '.join(view.rcpt_to)}")
    for name, value in kept.headers:
        print(f"{name}: {value}")
    if view.outcome and "released_by" in view.outcome:
        print(f"Released by: {view.outcome['released_by']}")
    if not kept.readable:
        print("\n(The mail can no longer be read: its bytes were deleted, or it is malformed.)")
        return 0
    print("\nText (as the family would read it):")
    for line in (kept.text or "(none)").splitlines() or ["(none)"]:
        print(f"  {_printable(line)}")
    if kept.files:
        print("\nAttachments:")
    for file in kept.files:
        body_image = ", image in the text" if file.inline else ""
        print(
            f"  {_printable(file.name or '(no name)')}  {file.content_type or '?'}  "
            f"{_size(file.size)}{body_image}"
        )
    print(f"\nBytes as received: portail staff quarantine show {view.id} --raw")
    return 0


def _printable(text: str) -> str:
    """A line without the control characters a terminal would act upon."""
    return "".join(c if c.isprintable() or c == "\t" else "?" for c in text)


@on_store
async def cmd_quarantine_release(portal: Portal, args: argparse.Namespace) -> int:
    try:
        staff = await portal.staff.by_email(args.as_email)
    except NotFound:
        raise Refused(f"No staff member has the email {args.as_email}.") from None
    try:
        view = await _quarantine(portal).release(staff.actor, args.mail_id, args.family)
    except NotFound:
        raise Refused(f"No inbound mail #{args.mail_id}.") from None
    except NotReleasable as error:
        raise Refused(f"Not released: {error}.") from None
    if view.outcome and view.outcome.get("released_by") == staff.actor.label:
        done = "relayed to" if view.status is InboundStatus.RELAYED else "filed for"
        print(f"Mail #{view.id} released by {staff.name}: {done} family #{view.family_id}.")
    else:
        print(f"Mail #{view.id} was released already ({view.status.value}).")
    return 0


# Parser -------------------------------------------------------------------------------------


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value}") from error


def _simple(label: str) -> str:
    """A document type's name as typed on a command line: "fiche_sanitaire"."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    return "_".join(plain.lower().replace("'", " ").replace("-", " ").split())


def _document_type(value: str) -> DocumentType:
    """A document type from its code (`health_form`) or its French name (`fiche_sanitaire`)."""
    names = {_simple(doc_type.value): doc_type for doc_type in DocumentType}
    for doc_type in DocumentType:
        label = CATALOG.get(f"doc.{doc_type.value}", {}).get("fr")
        if label:
            names.setdefault(_simple(label), doc_type)
    found = names.get(_simple(value))
    if found is None:
        known = ", ".join(doc_type.value for doc_type in DocumentType)
        raise argparse.ArgumentTypeError(f"unknown document type {value!r} (one of: {known})")
    return found


def add_staff_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `staff` command on the `portail` command line."""
    staff = subparsers.add_parser(
        "staff",
        help="the services' side: inbox, replies, decisions, day lists",
        description="The services' side of the portal: messages, decisions and day lists.",
    )
    commands = staff.add_subparsers(dest="staff_command", required=True)

    inbox = commands.add_parser("inbox", help="threads waiting for an answer, newest first")
    inbox.add_argument("--service", metavar="CODE", help="only this service's threads")
    add_json_option(inbox)
    inbox.set_defaults(handler=cmd_inbox)

    show = commands.add_parser("show", help="a thread's messages and attachments")
    show.add_argument("thread_id", type=int)
    add_json_option(show)
    show.set_defaults(handler=cmd_show)

    reply = commands.add_parser("reply", help="answer a thread (the family reads it on Telegram)")
    reply.add_argument("thread_id", type=int)
    reply.add_argument("text")
    reply.add_argument("--as", dest="as_email", metavar="STAFF_EMAIL", required=True)
    reply.set_defaults(handler=cmd_reply)

    pending = commands.add_parser("pending", help="certificates, documents, bookings to decide")
    add_json_option(pending)
    pending.set_defaults(handler=cmd_pending)

    for verb, accept in (("accept", True), ("refuse", False)):
        review = commands.add_parser(verb, help=f"{verb} an absence certificate or a document")
        review.add_argument("what", choices=("certificate", "document"))
        review.add_argument("id", type=int, help="ABSENCE_ID for a certificate, else DOC_ID")
        review.add_argument("--note", default="", help="a word for the family")
        review.add_argument(
            "--type",
            dest="doc_type",
            type=_document_type,
            metavar="TYPE",
            help="a document: file it under this type first (health_form, fiche_sanitaire...)",
        )
        add_decider(review)
        review.set_defaults(handler=cmd_review, accept=accept)

    reclassify = commands.add_parser("reclassify", help="file a document under another type")
    reclassify.add_argument("what", choices=("document",))
    reclassify.add_argument("id", type=int, help="DOC_ID")
    reclassify.add_argument(
        "doc_type", type=_document_type, metavar="TYPE", help="health_form, fiche_sanitaire..."
    )
    add_decider(reclassify)
    reclassify.set_defaults(handler=cmd_reclassify)

    for verb, accept in (("validate", True), ("reject", False)):
        booking = commands.add_parser(verb, help=f"{verb} a booking awaiting validation")
        booking.add_argument("what", choices=("booking",))
        booking.add_argument("id", type=int, help="BOOKING_ID")
        if not accept:
            booking.add_argument(
                "--reason", default="", help="why, in words the family reads (required)"
            )
        add_decider(booking)
        booking.set_defaults(handler=cmd_booking, accept=accept, reason="")

    quarantine = commands.add_parser(
        "quarantine",
        help="mails set aside: list, show, release",
        description="Mails set aside (unknown senders, bad reply addresses, replies held for "
        "their links...): list them, look at one, release one.",
    )
    mails = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = mails.add_parser("list", help="id, date, sender, subject, reason (no text)")
    listing.add_argument("--all", action="store_true", help="automatic and malformed mails too")
    listing.add_argument("--limit", type=int, default=SHOW_LIMIT, help="at most this many")
    add_json_option(listing)
    listing.set_defaults(handler=cmd_quarantine_list)
    show_mail = mails.add_parser(
        "show", help="headers, reason, text as the family would read it, attachments"
    )
    show_mail.add_argument("mail_id", type=int)
    show_mail.add_argument("--raw", action="store_true", help="the bytes as received, as they are")
    add_json_option(show_mail)
    show_mail.set_defaults(handler=cmd_quarantine_show)
    release = mails.add_parser(
        "release", help="act on it as if allowed: relay the staff reply, or file the documents"
    )
    release.add_argument("mail_id", type=int)
    release.add_argument(
        "--family", type=int, metavar="FAMILY_ID", help="documents: the family to file them for"
    )
    release.add_argument("--as", dest="as_email", metavar="STAFF_EMAIL", required=True)
    release.set_defaults(handler=cmd_quarantine_release)

    day = commands.add_parser("day", help="the children booked on an activity on a day")
    day.add_argument("activity_code")
    day.add_argument("day", type=_iso_date, help="YYYY-MM-DD")
    add_day_pdf_options(day)
    add_json_option(day)
    day.set_defaults(handler=cmd_day)

    add_attendance_command(commands, _iso_date)
    add_daily_list_command(commands, _iso_date)

    add_changes_command(commands)
    add_file_command(commands)
    add_enrolment_commands(commands)
    add_digest_command(commands)
