"""The emails that tell a mail's sender it was set aside, and a service that a reply was held.

Queued by the inbound mail service (`store.sender_notices`), delivered by the outbox's email
worker (`mail.email_delivery`; these writers register in `mail.staff_mail`):

- `sender_notice`: to the sender of a mail set aside (or taken in part), the reason in plain
  words, in French with a short English line (the sender may be a staff member or a parent).
  The sentences are the catalog's `sendermail.*` keys (`heldmail.*` for the held reply).
  An answer to their mail (RFC 3834): `Auto-Submitted: auto-replied`, In-Reply-To and
  References of their mail; nothing of the mail itself is repeated (no subject, no text, no
  file name: it may name a child), only the reason, counts and limits;
- `staff_reply_held`: to the thread's service, that a staff reply by email was held (it is not
  authenticated and has links outside the allowed domains), with how to look at it and release
  it (`portail staff quarantine show|release ID`). The family's name is given; the reply's
  text is not (it may be a forgery).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from conversations.kit.formatting import format_moment
from conversations.kit.texts import CATALOG, fill
from mail.staff_mail import NotNeeded, StaffMail, message_id, sentence, words, writes
from store.quarantine import held_reply_facts
from store.sender_notices import HELD_REPLY_MAIL, SENDER_NOTICE_MAIL, Reason, reason_of

if TYPE_CHECKING:
    from bot.portal import Portal


def _bilingual(key: str) -> str:
    """A catalog sentence as "French / English", for subjects and the footer."""
    return f"{CATALOG[key]['fr']} / {CATALOG[key]['en']}"


FOOTER = _bilingual("sendermail.footer")
SUBJECT = _bilingual("sendermail.subject.not_delivered")
SUBJECT_IN_PART = _bilingual("sendermail.subject.in_part")
SUBJECT_HELD = _bilingual("sendermail.subject.held")

# Reasons that say a mail was taken, but not wholly (its text went through).
IN_PART = frozenset({Reason.ATTACHMENT_TOO_LARGE, Reason.ATTACHMENT_REFUSED})


class _Defaults(dict[str, Any]):
    """Details for a sentence: a missing number reads as "?" rather than failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def _sizes(size: int) -> tuple[str, str]:
    """A size limit in French and English words: "6 Mo" / "6 MB", "50 Ko" / "50 KB"."""
    if size >= 1_000_000:
        megabytes = max(1, round(size / 1_000_000))
        return f"{megabytes} Mo", f"{megabytes} MB"
    kilobytes = max(1, round(size / 1_000))
    return f"{kilobytes} Ko", f"{kilobytes} KB"


def notice_text(reason: Reason, details: dict[str, Any], received_at: datetime | None) -> str:
    """The body of a sender notice: when, why (French), why (English), the footer."""
    values = _Defaults(details)
    # The same facts under the names the deciding modules give them.
    for name, alias in (("count", "received"), ("limit", "max"), ("limit_bytes", "max_bytes")):
        if name not in values and alias in details:
            values[name] = details[alias]
    french_values, english_values = _Defaults(values), _Defaults(values)
    if "limit_bytes" in values:
        french_values["limit_size"], english_values["limit_size"] = _sizes(
            int(values["limit_bytes"])
        )
    key = f"sendermail.reason.{reason.value}"
    lines = [sentence("sendermail.hello", "fr"), ""]
    if received_at is not None:
        when = format_moment(received_at, "fr")
        lines += [sentence("sendermail.received", "fr", when=when), ""]
    french = fill(CATALOG[key]["fr"], french_values)
    english = fill(CATALOG[key]["en"], english_values)
    lines += [french, "", english, "", FOOTER]
    return "\n".join(lines) + "\n"


@writes(SENDER_NOTICE_MAIL)
async def sender_notice(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """Tell a mail's sender why it was set aside (or taken in part)."""
    reason = reason_of(payload.get("reason"))
    details = payload.get("details") or {}
    received_at = None
    if payload.get("received_at"):
        received_at = datetime.fromisoformat(str(payload["received_at"]))
    if reason is Reason.LINKS_HELD:
        subject = SUBJECT_HELD
    elif reason in IN_PART and details.get("relayed"):
        subject = SUBJECT_IN_PART
    else:
        subject = SUBJECT
    answered = payload.get("in_reply_to")
    return StaffMail(
        subject=subject,
        body=notice_text(reason, details, received_at),
        message_id=message_id(portal, f"sender-notice-{int(payload['mail_id'])}"),
        in_reply_to=answered,
        references=tuple(payload.get("references") or ([answered] if answered else [])),
        auto_submitted="auto-replied",
    )


@writes(HELD_REPLY_MAIL)
async def staff_reply_held(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """Tell a service that a staff reply by email is held until someone releases it."""
    mail_id = int(payload["mail_id"])
    facts = await held_reply_facts(portal.sessions, mail_id, int(payload["thread_id"]))
    if facts is None:
        return NotNeeded("the mail or its thread no longer exists")
    if facts.released:
        return NotNeeded("released meanwhile")
    hosts = ", ".join(payload.get("hosts") or []) or "?"
    body = "\n".join(
        [
            words("sendermail.hello"),
            "",
            words(
                "heldmail.intro",
                family=facts.family_name,
                thread_id=facts.thread_id,
                service=facts.service_name,
            ),
            "",
            words("heldmail.sender", sender=facts.sender or "?"),
            words("heldmail.received", when=format_moment(facts.received_at, "fr")),
            words("heldmail.links", hosts=hosts),
            "",
            words("heldmail.nothing_received"),
            f"  portail staff quarantine show {mail_id}",
            f"  portail staff quarantine release {mail_id} --as VOTRE_EMAIL",
            "",
            sentence("heldmail.summary", "en"),
            "",
            FOOTER,
        ]
    )
    return StaffMail(
        subject=words("heldmail.subject", mail_id=mail_id),
        body=body + "\n",
        message_id=message_id(portal, f"inbound-{mail_id}.held"),
    )
