"""The emails that tell a mail's sender it was set aside, and a service that a reply was held.

Queued by the inbound mail service (`store.sender_notices`), delivered by the outbox's email
worker (`mail.staff_mail`, where these writers register):

- `sender_notice`: to the sender of a mail set aside (or taken in part), the reason in plain
  words, in French with a short English line (the sender may be a staff member or a parent).
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
from mail.staff_mail import NotNeeded, StaffMail, message_id, writes
from store.quarantine import held_reply_facts
from store.sender_notices import HELD_REPLY_MAIL, SENDER_NOTICE_MAIL, Reason, reason_of

if TYPE_CHECKING:
    from bot.portal import Portal

FOOTER = (
    "— Portail Famille, message automatique : ne pas répondre / automatic message, do not reply"
)
SUBJECT = "Votre message n'a pas été transmis / Your message was not delivered"
SUBJECT_IN_PART = "Votre message a été transmis en partie / Your message was delivered in part"
SUBJECT_HELD = "Votre message est retenu pour vérification / Your message is held for review"

# Per reason: (French sentence, English sentence). Placeholders come from the notice's details.
SENTENCES: dict[Reason, tuple[str, str]] = {
    Reason.EMPTY_REPLY: (
        "Votre message n'a pas été transmis : il ne contenait pas de texte ni de pièce jointe.",
        "Your message was not delivered: it contained neither text nor an attachment.",
    ),
    Reason.UNKNOWN_TOKEN: (
        "Votre message n'a pas été transmis : l'adresse de réponse utilisée est inconnue ou "
        "n'est plus valable (la conversation n'existe plus). Répondez à une notification "
        "récente de la conversation.",
        "Your message was not delivered: the reply address is unknown or no longer valid.",
    ),
    Reason.SENDER_NOT_ALLOWED: (
        "Votre message n'a pas été transmis : votre adresse n'est pas autorisée à répondre aux "
        "familles par e-mail.",
        "Your message was not delivered: your address may not answer families by email.",
    ),
    Reason.ATTACHMENT_TOO_LARGE: (
        "Des pièces jointes n'ont pas été transmises : trop volumineuses (au plus {limit_fr} "
        "par fichier).",
        "Some attachments were not delivered: too large (at most {limit_en} per file).",
    ),
    Reason.ATTACHMENT_REFUSED: (
        "Des pièces jointes n'ont pas été transmises : seuls les fichiers PDF, JPEG et PNG sont "
        "acceptés.",
        "Some attachments were not delivered: only PDF, JPEG and PNG files are accepted.",
    ),
    Reason.UNKNOWN_SENDER: (
        "Vos documents n'ont pas été classés : votre adresse n'est celle d'aucun dossier "
        "famille. Envoyez-les depuis l'adresse enregistrée dans votre dossier, ou par le bot "
        "Telegram du Portail Famille.",
        "Your documents were not filed: your address is not one of a family's file. Send them "
        "from the address your file holds, or through the Telegram bot.",
    ),
    Reason.TOO_MANY_ATTACHMENTS: (
        "Votre message contenait trop de pièces jointes ({count}) : au plus {limit} sont prises "
        "par message, les autres n'ont pas été transmises. Envoyez-les dans un autre message.",
        "Your message had too many attachments ({count}): at most {limit} are taken per "
        "message. Send the others in another message.",
    ),
    Reason.LINKS_HELD: (
        "Votre message est retenu : il contient des liens vers des sites extérieurs et n'a pas "
        "pu être authentifié. Le service le vérifiera avant de le transmettre.",
        "Your message is held: it has links to outside sites and could not be authenticated. "
        "The service will check it before delivering it.",
    ),
    Reason.OTHER: (
        "Votre message n'a pas été transmis. Le service peut le consulter.",
        "Your message was not delivered. The service can look at it.",
    ),
}
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
    french, english = SENTENCES[reason]
    values = _Defaults(details)
    # The same facts under the names the deciding modules give them.
    for name, alias in (("count", "received"), ("limit", "max"), ("limit_bytes", "max_bytes")):
        if name not in values and alias in details:
            values[name] = details[alias]
    if "limit_bytes" in values:
        values["limit_fr"], values["limit_en"] = _sizes(int(values["limit_bytes"]))
    lines = ["Bonjour,", ""]
    if received_at is not None:
        lines += [f"Message reçu le {format_moment(received_at, 'fr')}.", ""]
    lines += [french.format_map(values), "", english.format_map(values), "", FOOTER]
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
            "Bonjour,",
            "",
            f"Une réponse par e-mail à la famille {facts.family_name} (conversation n° "
            f"{facts.thread_id}, {facts.service_name}) est retenue : elle n'est pas authentifiée "
            "et contient des liens hors des domaines autorisés.",
            "",
            f"Expéditeur annoncé : {facts.sender or '?'}",
            f"Reçue le : {format_moment(facts.received_at, 'fr')}",
            f"Liens vers : {hosts}",
            "",
            "La famille n'a rien reçu. Si l'expéditeur l'a vraiment écrite :",
            f"  portail staff quarantine show {mail_id}",
            f"  portail staff quarantine release {mail_id} --as VOTRE_EMAIL",
            "",
            "A staff reply by email is held (not authenticated, links outside the allowed "
            "domains); the family has received nothing.",
            "",
            FOOTER,
        ]
    )
    return StaffMail(
        subject=f"Réponse retenue pour vérification (courriel n° {mail_id})",
        body=body + "\n",
        message_id=message_id(portal, f"inbound-{mail_id}.held"),
    )
