"""What a staff member's reply to a request's notification decides, from its first words.

The reply's new text (history, quotes and signature already cut by the mail layer) is read from
its first word: **OK** / **ACCEPTÉ** (and a few words meaning the same) accepts, **REFUS** /
**NON** refuses, and what follows a refusal on its line (or, when nothing does, on the next line
of the same paragraph) is the reason the family reads. Case, accents and punctuation do not
matter ("ok.", "Accepté !", "NON, dossier incomplet"). A refusal without a reason is not
applied: the family must be told why (`Verdict.REASON_MISSING`). For a document, the words after
OK may name the type to file it under ("OK fiche sanitaire"); other words after OK ("ok merci")
change nothing. A first word that is none of these is `Verdict.UNKNOWN`: nothing is decided.

Pure functions, no I/O: the inbound mail service applies what they read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from store.models.enums import DocumentType

# First words, without accents and lower-cased.
ACCEPT_WORDS = frozenset(
    {"ok", "okay", "oki", "accepte", "acceptee", "acceptes", "acceptees", "accepter", "valide",
     "validee", "valider", "oui", "accord", "daccord"}
)  # fmt: skip
REFUSE_WORDS = frozenset(
    {"refus", "refuse", "refusee", "refuses", "refusees", "refuser", "non", "rejet", "rejete",
     "rejetee", "rejeter"}
)  # fmt: skip
# A greeting alone on the first line is skipped ("Bonjour,\nOK").
GREETINGS = frozenset({"bonjour", "bonsoir", "hello", "salut", "coucou"})
# A next line starting with these is a closing, not a reason ("NON\nCordialement").
CLOSINGS = frozenset({"cordialement", "merci", "bien", "bonne", "salutations", "amicalement"})
# How much of a reason is kept (the family reads it in the chat).
REASON_MAX_CHARS = 500

# The words that name a document type after OK (accents and case aside), longest first.
DOCUMENT_TYPE_WORDS: tuple[tuple[str, DocumentType], ...] = (
    ("justificatif de domicile", DocumentType.PROOF_OF_ADDRESS),
    ("attestation de quotient familial", DocumentType.CAF_QUOTIENT),
    ("attestation d assurance", DocumentType.INSURANCE),
    ("carnet de vaccination", DocumentType.VACCINATION_RECORD),
    ("certificat medical", DocumentType.MEDICAL_CERTIFICATE),
    ("quotient familial", DocumentType.CAF_QUOTIENT),
    ("fiche sanitaire", DocumentType.HEALTH_FORM),
    ("autre document", DocumentType.OTHER),
    ("domicile", DocumentType.PROOF_OF_ADDRESS),
    ("quotient", DocumentType.CAF_QUOTIENT),
    ("caf", DocumentType.CAF_QUOTIENT),
    ("assurance", DocumentType.INSURANCE),
    ("vaccination", DocumentType.VACCINATION_RECORD),
    ("vaccins", DocumentType.VACCINATION_RECORD),
    ("sanitaire", DocumentType.HEALTH_FORM),
    ("autre", DocumentType.OTHER),
    *((kind.value.replace("_", " "), kind) for kind in DocumentType),
)

WORD = re.compile(r"[^\W_]+")
APOSTROPHES = re.compile(r"[’'`]")
FIRST_WORD = re.compile(r"(d[’'`]\s*accord|[^\W_]+)", re.IGNORECASE)


class Verdict(StrEnum):
    """What a reply says."""

    ACCEPT = "accept"
    REFUSE = "refuse"
    # A refusal with no reason: not applied, the sender is asked for one.
    REASON_MISSING = "reason_missing"
    # No decision word first (or nothing written at all).
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reading:
    """A reply read: its verdict, the reason of a refusal, the document type named after OK,
    and the first word as written (to quote it back when it is not understood)."""

    verdict: Verdict
    reason: str = ""
    doc_type: DocumentType | None = None
    first_word: str = ""


def plain(text: str) -> str:
    """Lower case, no accents, apostrophes as spaces: what words are compared on."""
    decomposed = unicodedata.normalize("NFKD", APOSTROPHES.sub(" ", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _lines(text: str) -> list[str]:
    """The text's lines, trimmed, a first line made of a greeting alone skipped; blank lines
    kept as "" (they end a paragraph)."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    if lines and set(WORD.findall(plain(lines[0]))) <= GREETINGS and WORD.search(lines[0]):
        lines.pop(0)
        while lines and not lines[0]:
            lines.pop(0)
    return lines


def _after_first_word(line: str) -> tuple[str, str]:
    """(first word as written, what follows it on the line, punctuation around trimmed);
    "d'accord" is one word."""
    found = FIRST_WORD.search(line)
    if found is None:
        return "", ""
    return found.group(1), _trim(line[found.end() :])


def _trim(text: str) -> str:
    """Without the punctuation and spaces a reason starts or ends with (", dossier incomplet.")
    but its closing full stop, question or exclamation mark kept."""
    text = text.strip()
    text = re.sub(r"^[\s,;:.!?\-–—()]+", "", text)
    return re.sub(r"[\s,;:\-–—]+$", "", text).strip()


def document_type_named(words: str) -> DocumentType | None:
    """The document type the words after OK name ("fiche sanitaire", "health_form"), or None
    ("merci", nothing)."""
    spoken = " ".join(WORD.findall(plain(words)))
    if not spoken:
        return None
    padded = f" {spoken} "
    for phrase, kind in DOCUMENT_TYPE_WORDS:
        if f" {phrase} " in padded:
            return kind
    return None


def read_decision(text: str) -> Reading:
    """What the new text of a reply decides (see the module's docstring)."""
    lines = _lines(text)
    if not lines:
        return Reading(Verdict.UNKNOWN)
    first_word, rest = _after_first_word(lines[0])
    word = "".join(WORD.findall(plain(first_word)))
    if word in ACCEPT_WORDS:
        return Reading(Verdict.ACCEPT, doc_type=document_type_named(rest), first_word=first_word)
    if word in REFUSE_WORDS:
        reason = rest
        if not reason and len(lines) > 1 and lines[1]:
            following = WORD.findall(plain(lines[1]))
            reason = "" if following[:1] and following[0] in CLOSINGS else _trim(lines[1])
        if not WORD.search(reason):
            return Reading(Verdict.REASON_MISSING, first_word=first_word)
        return Reading(Verdict.REFUSE, reason=reason[:REASON_MAX_CHARS], first_word=first_word)
    return Reading(Verdict.UNKNOWN, first_word=first_word or lines[0][:40])
