"""What a parent typing freely at the menu most likely wants, in French or English.

Pure text, no chat: `intents_of("bonjour, je voudrais inscrire mon fils à la cantine")` gives
`[Intent.BOOK]`. Words are compared without case, accents or punctuation, and a few common
typos and SMS spellings are known. Several intents may match ("il est malade, j'annule
demain"): they come in order of how specific their words are, verbs before nouns.
"Qui a consulté mes documents ?" asks for the access log: a question on who read (a reader
phrase) about the family's documents or data (an object word), or "consultations" alone.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    ACCESS_LOG = "access_log"
    PRIVACY = "privacy"
    ABSENCE = "absence"
    CANCEL = "cancel"
    BOOK = "book"
    BALANCE = "balance"
    DOCUMENTS = "documents"
    MESSAGE = "message"
    REMINDERS = "reminders"
    PLANNING = "planning"
    HELP = "help"
    GREETING = "greeting"


# Each intent's words (already without accents); a word ending in "*" matches as a prefix.
# Order matters: the first intents are the most specific.
WORDS: dict[Intent, tuple[str, ...]] = {
    # Before "cancel": "supprimer mes données" asks for Mes données first.
    Intent.PRIVACY: (
        "mes donnees",
        "nos donnees",
        "donnees personnelles",
        "rgpd",
        "gdpr",
        "confidentialite",
        "vie privee",
        "droit a l'oubli",
        "my data",
        "our data",
        "personal data",
        "privacy",
    ),
    Intent.CANCEL: (
        "annul*",
        "decommand*",
        "desinscri*",
        "desinscrip*",
        "cancel*",
        "unbook*",
        "plus besoin",
        "no longer need",
        "supprim*",
    ),
    Intent.ABSENCE: (
        "absent*",
        "absence*",
        "malade*",
        "maladie",
        "fievre",
        "grippe",
        "gastro*",
        "varicelle",
        "sick",
        "ill",
        "illness",
        "fever",
        "flu",
        "away",
        "ne viendra pas",
        "ne vient pas",
        "viendra pas",
        "won't come",
        "wont come",
        "not coming",
        "reste a la maison",
        "stays home",
        "staying home",
        "rdv medical",
        "medecin",
        "doctor",
        "hopital",
        "hospital",
    ),
    Intent.BALANCE: (
        "solde",
        "facture*",
        "factur*",
        "payer",
        "paye",
        "paiement*",
        "regler",
        "reglement",
        "combien je dois",
        "combien on doit",
        "impaye*",
        "prelevement*",
        "balance",
        "invoice*",
        "bill*",
        "pay",
        "paying",
        "payment*",
        "owe",
        "how much",
    ),
    Intent.DOCUMENTS: (
        "document*",
        "certificat*",
        "attestation*",
        "justificatif*",
        "fiche sanitaire",
        "vaccin*",
        "pai",
        "ordonnance",
        "certificate*",
        "form",
        "forms",
        "paperwork",
        "upload*",
        "pdf",
        "scan*",
    ),
    Intent.MESSAGE: (
        "message*",
        "question*",
        "ecrire",
        "contacter",
        "contact",
        "parler",
        "joindre",
        "demander",
        "write",
        "ask",
        "talk",
        "speak",
        "reclamation",
        "complaint",
    ),
    Intent.BOOK: (
        "reserv*",
        "inscri*",
        "inscription*",
        "cantine*",
        "centre*",
        "alae",
        "alsh",
        "garderie",
        "periscolaire",
        "mercredi*",
        "vacances",
        "stage*",
        "book*",
        "sign up",
        "signup",
        "enrol*",
        "enroll*",
        "canteen",
        "lunch",
        "daycare",
        "holiday*",
        "camp*",
    ),
    Intent.REMINDERS: ("rappel", "rappels", "reminder*"),
    Intent.PLANNING: ("planning*", "emploi du temps", "agenda", "schedule", "timetable"),
    Intent.HELP: ("aide", "aidez", "help", "comment ca marche", "how does", "how do i", "sos"),
    Intent.GREETING: (
        "bonjour",
        "bonsoir",
        "salut",
        "coucou",
        "hello",
        "hi",
        "hey",
        "good morning",
        "merci",
        "thanks",
        "thank you",
    ),
}
# "Qui a consulté mes documents ?": who read (a phrase) + what was read (a word), both needed,
# so that "qui a vu mon message" or "mes documents" alone do not open the access log.
READER_PHRASES = (
    "qui a consulte",
    "qui a consulter",
    "qui consulte",
    "qui a vu",
    "qui voit",
    "qui a lu",
    "qui a regarde",
    "qui a ouvert",
    "qui a acces",
    "qui a eu acces",
    "qui peut voir",
    "qui a telecharge",
    "who read",
    "who has read",
    "who's read",
    "who viewed",
    "who has viewed",
    "who saw",
    "who has seen",
    "who looked",
    "who has looked",
    "who accessed",
    "who has accessed",
    "who opened",
    "who can see",
    "who sees",
)
READ_OBJECTS = (
    "document*",
    "donnee*",
    "dossier*",
    "fichier*",
    "certificat*",
    "justificatif*",
    "sante",
    "info*",
    "piece*",
    "papier*",
    "data",
    "file*",
    "record*",
    "certificate*",
    "health",
    "paperwork",
)
ACCESS_LOG_WORDS = ("consultations", "access log")
# Frequent misspellings and SMS forms, replaced word by word before matching.
SPELLINGS = {
    "reservé": "reserve",
    "anuler": "annuler",
    "anule": "annule",
    "annuller": "annuler",
    "malad": "malade",
    "absant": "absent",
    "absante": "absente",
    "fcture": "facture",
    "factur": "facture",
    "cantinne": "cantine",
    "kantine": "cantine",
    "stp": "",
    "svp": "",
    "pk": "pourquoi",
    "jvoudrais": "je voudrais",
    "jveux": "je veux",
}
_WORD = re.compile(r"[a-z0-9']+")


def normalise(phrase: str) -> str:
    """Lower case, no accents, words separated by single spaces, known typos mended."""
    decomposed = unicodedata.normalize("NFKD", phrase.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("’", "'")
    words = [SPELLINGS.get(word, word) for word in _WORD.findall(bare)]
    return " ".join(word for word in words if word)


def _matches(pattern: str, text: str, words: list[str]) -> bool:
    if " " in pattern or "'" in pattern:
        return f" {pattern} " in f" {text} "
    if pattern.endswith("*"):
        return any(word.startswith(pattern[:-1]) for word in words)
    return pattern in words


def intents_of(phrase: str) -> list[Intent]:
    """The intents the phrase expresses, most specific first (empty: not understood)."""
    text = normalise(phrase)
    words = [word.strip("'") for word in text.split()]
    # "l'absence", "d'annuler": look at what follows the elision too.
    words += [word.split("'", 1)[1] for word in words if "'" in word]
    found = [
        intent
        for intent, patterns in WORDS.items()
        if any(_matches(pattern, text, words) for pattern in patterns)
    ]
    if _asks_who_read(text, words):
        # The most specific of all: the documents it names are the subject, not a request.
        found = [Intent.ACCESS_LOG, *(i for i in found if i is not Intent.DOCUMENTS)]
    # A greeting or a call for help beside a real request is only politeness.
    actions: list[Intent] = [
        intent for intent in found if intent not in (Intent.GREETING, Intent.HELP)
    ]
    return actions or found


def _asks_who_read(text: str, words: list[str]) -> bool:
    """Whether the phrase asks who read the family's documents or data."""
    if any(_matches(pattern, text, words) for pattern in ACCESS_LOG_WORDS):
        return True
    return any(_matches(phrase, text, words) for phrase in READER_PHRASES) and any(
        _matches(pattern, text, words) for pattern in READ_OBJECTS
    )
