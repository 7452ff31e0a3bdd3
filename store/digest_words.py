"""What a staff member's reply to their service's digest asks, line by line.

Each line starts with a verb and the codes it applies to: **OK 12 15 18** accepts those
requests, **REFUS 13 complet** (or **REFUS 13 14 complet**) refuses them for that reason (the
family reads it), **LIBÉRER 21** releases a mail set aside, **SUPPRIMER 22** drops one. The
verbs are read as the single-request replies read theirs (`store.decision_words`: case,
accents and punctuation aside; "NON", "ACCEPTÉ", "VALIDÉ"... mean the same), with a few words
for the mails ("LIBERER", "LIBÉREZ", "RELÂCHER"; "SUPPRIMER", "SUPPRIMEZ", "EFFACER",
"JETER"). Codes may be separated by spaces, commas, "et" or "+". A greeting alone on the
first line is skipped; a closing ("Cordialement", "Merci...") ends the reading, and so does a
line not understood after a blank line once some line was understood (a signature).

Pure functions, no I/O: `store.staff_digest` applies what they read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from store.decision_words import (
    ACCEPT_WORDS,
    CLOSINGS,
    GREETINGS,
    REASON_MAX_CHARS,
    WORD,
    document_type_named,
    plain,
)
from store.models.enums import DocumentType

RELEASE_WORDS = frozenset(
    {"liberer", "libere", "liberez", "liberes", "liberee", "libre", "relacher", "relache",
     "relachez", "release"}
)  # fmt: skip
DROP_WORDS = frozenset(
    {"supprimer", "supprime", "supprimez", "supprimes", "supprimee", "suppr", "effacer",
     "efface", "effacez", "jeter", "jete", "jetez", "drop"}
)  # fmt: skip
# A refusal: "NON" too, as in a single reply.
REFUSE_VERBS = frozenset(
    {"refus", "refuse", "refusee", "refuses", "refusees", "refuser", "refusez", "non", "rejet",
     "rejete", "rejetee", "rejeter", "rejetez"}
)  # fmt: skip
# Lines read at most in one reply, codes at most on one line.
MAX_LINES = 100
MAX_CODES = 50
LINE_QUOTE_CHARS = 60

FIRST = re.compile(r"^\s*(d[’'`]\s*accord|[^\W\d_]+)[\s:,.;!-]*", re.IGNORECASE)
CODES = re.compile(r"^(?:\s*(?:,|;|\+|&|\bet\b|#|n°|no\.?)?\s*(\d{1,6})\b)+", re.IGNORECASE)
NUMBER = re.compile(r"\d{1,6}")


class Verb(StrEnum):
    """What a line asks."""

    ACCEPT = "accept"
    REFUSE = "refuse"
    RELEASE = "release"
    DROP = "drop"


@dataclass(frozen=True)
class Line:
    """One line read: its verb and codes (`verb` None: not understood), the refusal's reason
    (empty: missing), a document type named after OK, and the line as written (shortened)."""

    written: str
    verb: Verb | None = None
    codes: tuple[int, ...] = ()
    reason: str = ""
    doc_type: DocumentType | None = None


def _verb(word: str) -> Verb | None:
    spoken = "".join(WORD.findall(plain(word)))
    if spoken in ACCEPT_WORDS:
        return Verb.ACCEPT
    if spoken in REFUSE_VERBS:
        return Verb.REFUSE
    if spoken in RELEASE_WORDS:
        return Verb.RELEASE
    if spoken in DROP_WORDS:
        return Verb.DROP
    return None


def read_line(text: str) -> Line:
    """One line: verb, codes, then the rest (the reason of a refusal)."""
    written = " ".join(text.split())[:LINE_QUOTE_CHARS]
    found = FIRST.match(text)
    if found is None:
        return Line(written)
    verb = _verb(found.group(1))
    if verb is None:
        return Line(written)
    rest = text[found.end() :]
    codes_found = CODES.match(rest)
    if codes_found is None:
        return Line(written, verb)
    codes = tuple(dict.fromkeys(int(n) for n in NUMBER.findall(codes_found.group(0))))
    after = rest[codes_found.end() :].strip()
    after = re.sub(r"^[\s,;:.!?\-–—()]+", "", after)
    after = re.sub(r"[\s,;:\-–—]+$", "", after).strip()
    if verb is Verb.REFUSE:
        reason = after[:REASON_MAX_CHARS] if WORD.search(after) else ""
        return Line(written, verb, codes[:MAX_CODES], reason)
    doc_type = document_type_named(after) if verb is Verb.ACCEPT else None
    return Line(written, verb, codes[:MAX_CODES], doc_type=doc_type)


def _closing(line: str) -> bool:
    spoken = WORD.findall(plain(line))
    return bool(spoken) and spoken[0] in CLOSINGS


def read_digest_reply(text: str) -> list[Line]:
    """The lines of a reply's new text (see the module's docstring), blank ones left out."""
    raw = [line.strip() for line in text.replace("\r\n", "\n").split("\n")][: MAX_LINES * 2]
    lines: list[Line] = []
    blank_before = False
    understood = False
    for index, line in enumerate(raw):
        if not line:
            blank_before = True
            continue
        words = set(WORD.findall(plain(line)))
        if not lines and not understood and words and words <= GREETINGS:
            continue
        if _closing(line):
            break
        read = read_line(line)
        if read.verb is None and understood and blank_before:
            break
        if read.verb is Verb.REFUSE and read.codes and not read.reason:
            # "REFUS 13" then the reason on the next line of the paragraph.
            following = raw[index + 1] if index + 1 < len(raw) else ""
            if following and not _closing(following) and read_line(following).verb is None:
                reason = following[:REASON_MAX_CHARS] if WORD.search(following) else ""
                read = Line(read.written, read.verb, read.codes, reason)
                raw[index + 1] = ""
        lines.append(read)
        understood = understood or read.verb is not None
        blank_before = False
        if len(lines) >= MAX_LINES:
            break
    return lines
