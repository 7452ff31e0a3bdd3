"""Words and tokens for the date understanding of `dates`.

The text a parent types is normalised (lower case, no accents, fixed spellings of
"aujourd'hui", "après-demain", ...), cut into tokens, and every word is looked up in a
small French/English lexicon of date words, tolerating one typo (two in long words) and
the usual text-message spellings ("pro", "ts les", "ds", "dem1", "mercre").
Words outside the lexicon ("je", "ma", "sa", "me", "mon", ...) are plain filler. Weekday
abbreviations that are ordinary words too ("mer", "jeu", "sam", "mon") count only where
nothing else fits: with a dot, before a day number, next to another weekday in a list
("lun, mer et ven", "Mon and Wed"), after "ce"/"tous les"/"sauf"/"jusqu'à", before
"prochain"/"dernier"/"matin", or alone in the message; never after an article ("la mer").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["num", "year", "numdate", "month", "weekday", "rel", "word", "punct", "other"]

WEEKDAY_WORDS: dict[str, int] = {
    "lundi": 0,
    "mardi": 1,
    "mercredi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "samedi": 5,
    "dimanche": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
# English abbreviations are safe as words ("mon" is not one: it is French for "my").
WEEKDAY_SAFE_ABBREVIATIONS: dict[str, int] = {
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    "wensday": 2,
    "wendsday": 2,
    # Text-message spellings of French weekdays.
    "lndi": 0,
    "lund": 0,
    "mrdi": 1,
    "mard": 1,
    "mercr": 2,
    "mercre": 2,
    "mercrd": 2,
    "jeud": 3,
    "vendr": 4,
    "samd": 5,
}
# French abbreviations are ordinary words too ("la mer", "un jeu"): only with a dot or a number.
WEEKDAY_DOTTED_ABBREVIATIONS: dict[str, int] = {
    "lun": 0,
    "mar": 1,
    "mer": 2,
    "jeu": 3,
    "ven": 4,
    "sam": 5,
    "dim": 6,
    "mon": 0,
    "merc": 2,
    "vend": 4,
}

MONTH_WORDS: dict[str, int] = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
# Abbreviations (and "may", an English verb too) count only next to a day number.
MONTH_ABBREVIATIONS: dict[str, int] = {
    "janv": 1,
    "jan": 1,
    "fevr": 2,
    "fev": 2,
    "feb": 2,
    "mar": 3,
    "avr": 4,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "juil": 7,
    "juill": 7,
    "jul": 7,
    "aug": 8,
    "sept": 9,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}

RELATIVE_WORDS: dict[str, int] = {
    "aujourdhui": 0,
    "today": 0,
    "demain": 1,
    "tomorrow": 1,
    "apresdemain": 2,
    "hier": -1,
    "yesterday": -1,
    "avanthier": -2,
    "tonight": 0,
}

NUMBER_WORDS: dict[str, int] = {
    "premier": 1,
    "premiere": 1,
    "first": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "vingt": 20,
    "trente": 30,
}

# English counts, only read in durations ("in two days", "three days ago").
DURATION_WORDS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "ten": 10,
    "fourteen": 14,
}

# Canonical keywords. Ambiguous French glue words ("de", "du", "a", "au", "en", "le") stay as
# they are: the grammar decides from their neighbours.
KEYWORDS: dict[str, str] = {
    **{
        w: "next"
        for w in ("prochain", "prochaine", "prochains", "prochaines", "next", "pro", "proch")
    },
    **{
        w: "last"
        for w in ("dernier", "derniere", "derniers", "dernieres", "last", "passe", "passee")
    },
    **{w: "this" for w in ("ce", "cet", "cette", "this")},
    **{w: "week" for w in ("semaine", "semaines", "week", "weeks", "sem")},
    **{w: "month" for w in ("mois", "month", "months")},
    **{w: "weekend" for w in ("weekend", "weekends")},
    **{w: "day" for w in ("jour", "jours", "day", "days", "journee", "journees")},
    **{w: "and" for w in ("et", "and")},
    **{w: "or" for w in ("ou", "or")},
    **{w: "except" for w in ("sauf", "except", "excepte", "hormis", "excluding", "but")},
    **{
        w: "every"
        for w in ("tous", "toutes", "tout", "toute", "chaque", "every", "each", "all", "ts", "tt")
    },
    **{w: "until" for w in ("jusqua", "until", "till", "til", "through", "thru", "jsq", "jsqa")},
    **{w: "between" for w in ("entre", "between")},
    **{w: "from" for w in ("from", "depuis", "apartir", "starting", "dps")},
    **{w: "the" for w in ("le", "la", "les", "l", "the", "on")},
    **{w: "ago" for w in ("ago",)},
    **{w: "ilya" for w in ("ilya",)},
    **{w: "dans" for w in ("dans", "ds")},
    **{w: "in" for w in ("in", "during", "pendant", "durant", "within", "for", "pdt")},
    **{w: "of" for w in ("of",)},
    **{w: "to" for w in ("to",)},
    **{w: "qui" for w in ("qui",)},
    **{w: "vient" for w in ("vient", "coming")},
    **{w: "dapres" for w in ("dapres", "suivante", "suivant", "after", "following")},
    **{w: "whole" for w in ("entier", "entiere", "whole", "entire", "complet", "complete")},
    **{w: "de" for w in ("de", "d", "des")},
    **{w: "du" for w in ("du",)},
    **{w: "au" for w in ("au", "aux")},
    **{w: "a" for w in ("a",)},
    **{w: "en" for w in ("en",)},
    **{w: "ci" for w in ("ci",)},
    **{w: "sur" for w in ("sur", "other")},
    **{w: "un" for w in ("un", "une")},
}

# Phrases that never name precise days: the chat asks which days are meant.
VAGUE_WORDS: frozenset[str] = frozenset(
    {
        "bientot",
        "prochainement",
        "soon",
        "lendemain",  # understood by the grammar after a day ("le 9 et le lendemain")
        "surlendemain",
        "vacances",
        "holidays",
        "holiday",
        "conges",
        "rentree",
        "quelques",
        "plusieurs",
        "several",
        "sometime",
        "someday",
        "asap",
        "fortnight",
    }
)
# Words that make the following month/week vague ("début janvier", "fin du mois", "mid-May").
VAGUE_PREFIXES: frozenset[str] = frozenset(
    {
        "debut",
        "mi",
        "fin",
        "milieu",
        "courant",
        "vers",
        "environ",
        "approximativement",
        "early",
        "mid",
        "late",
        "end",
        "beginning",
        "around",
        "towards",
        "deuxieme",
        "troisieme",
        "quatrieme",
        "cinquieme",
        "second",
        "third",
        "fourth",
    }
)

# Verbs telling that an absence is announced in advance: then an absence looks forward.
FUTURE_MARKERS: frozenset[str] = frozenset(
    {
        "sera",
        "seront",
        "serai",
        "serons",
        "serez",
        "ira",
        "iront",
        "viendra",
        "viendront",
        "pourra",
        "pourront",
        "manquera",
        "manqueront",
        "will",
        "wont",
        "going",
        "prevu",
        "prevue",
        "prevoit",
        "prevoyons",
        "va",
        "vont",
    }
)
# A past verb keeps the default backward reading even with a future word elsewhere.
PAST_MARKERS: frozenset[str] = frozenset(
    {"etait", "etaient", "ete", "was", "were", "missed", "venu", "venue", "manque"}
)

# Words that turn a preceding number into a quantity, never a day ("2 enfants", "6 ans").
QUANTITY_NOUNS: frozenset[str] = frozenset(
    {
        "enfant",
        "enfants",
        "an",
        "ans",
        "annee",
        "annees",
        "euro",
        "euros",
        "eur",
        "fois",
        "personne",
        "personnes",
        "repas",
        "heure",
        "heures",
        "h",
        "min",
        "minute",
        "minutes",
        "kid",
        "kids",
        "child",
        "children",
        "times",
        "year",
        "years",
        "place",
        "places",
        "ticket",
        "tickets",
        "fils",
        "fille",
        "filles",
        "petit",
        "petits",
        "petite",
        "petites",
        "ptit",
        "ptits",
        "loulou",
        "loulous",
        "garcon",
        "garcons",
        "jumeaux",
        "jumelles",
        "eleve",
        "eleves",
        "boys",
        "girls",
        "semaine",
        "semaines",
        "week",
        "weeks",
        "sem",
        "mois",
        "month",
        "months",
        "jour",
        "jours",
        "day",
        "days",
    }
)

# Targets of typo correction (weekdays, months and a few relative words).
_FUZZY_TARGETS: tuple[str, ...] = (
    *WEEKDAY_WORDS,
    *MONTH_WORDS,
    "aujourdhui",
    "demain",
    "apresdemain",
    "avanthier",
    "tomorrow",
    "yesterday",
    "today",
    "prochain",
    "prochaine",
    "dernier",
    "derniere",
    "semaine",
    "weekend",
)
# Real words a typo correction must leave alone.
_NOT_TYPOS: frozenset[str] = frozenset(
    {"domain", "vendre", "vendues", "passer", "marie", "mardis", "lundis", "toddy", "jeudis"}
)


@dataclass(frozen=True)
class Token:
    """One token of the normalised text: `kind` tells how to read `value`."""

    kind: Kind
    value: int | str | tuple[int, int, int | None]
    text: str
    dotted: bool = False
    ordinal: bool = False
    plural: bool = False
    spelled: bool = False

    @property
    def number(self) -> int:
        """The integer value of a num, year, month, weekday or rel token."""
        assert isinstance(self.value, int), self
        return self.value


def _strip_accents(text: str) -> str:
    """The text without diacritics ("décembre" → "decembre")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"[\u2019\u2018`\u00b4\u02bc]", "'"),
        (r"\b(?:aujourd\W*h?ui|aujourdui|aujourdh|aujourd|auj|ajd|aujd|ojd)\b", " aujourdhui "),
        (r"\b(?:dem1|dm1|2main|2m1)\b", " demain "),
        (r"\b(?:tmrw|tmr|tmrow|2morrow)\b", " tomorrow "),
        (r"\bapr[ea]s\W*demain\b", " apresdemain "),
        (r"\bavant\W*hier\b", " avanthier "),
        (r"\bil\s+y\s+a\b", " ilya "),
        (r"\ba\s+partir\s+(?=d)", " apartir "),
        (r"\bjusqu\W*(?:au|aux|a|à|le)?\b", " jusqua "),
        (r"\bjusque\b", " jusqua "),
        (r"\bweek\W*end", " weekend"),
        (r"\b(ce|le|this)\s+we\b", r"\1 weekend"),
        (r"\bd\W*apres\b", " dapres "),
        (r"\bday\s+after\s+tomorrow\b", " apresdemain "),
        (r"\bday\s+before\s+yesterday\b", " avanthier "),
        (r"\b(?:ce|cet)\s+(?:matin|midi|soir|apres\W*midi|aprem)\b", " aujourdhui "),
        (r"\bthis\s+(?:morning|afternoon|evening|noon)\b", " aujourdhui "),
        # Phone numbers and amounts are never dates.
        (r"\b0\d(?:[ .]?\d{2}){4}\b", " "),
        (r"\b\d+(?:[.,]\d+)?\s*(?:€|eur\b|euros?\b)", " "),
        # Clock times ("à 10h", "8h30", "14:00", "3pm") are never days.
        (r"\b\d{1,2}\s*h\s*\d{0,2}\b", " "),
        (r"\b\d{1,2}:\d{2}\b", " "),
        (r"\b\d{1,2}\s*(?:am|pm)\b", " "),
        # Repeated letters ("demainnn").
        (r"([a-z])\1{2,}", r"\1"),
    )
)

_TOKEN = re.compile(
    r"(?P<iso>\b\d{4}([-/.])\d{1,2}\2\d{1,2}\b)"
    r"|(?P<numdate>(?<![\d.,/])\d{1,2}\s?[/.]\s?\d{1,2}(?:\s?[/.]\s?(?:\d{4}|\d{2}))?(?![\d/])"
    r"|\b\d{1,2}-\d{1,2}-(?:\d{4}|\d{2})\b)"
    r"|(?P<num>\d+)(?P<suffix>[a-z]*)"
    r"|(?P<word>[a-z][a-z0-9]*)(?P<dot>\.)?"
    r"|(?P<punct>[,;&+\-/?!])"
)
_ORDINAL_SUFFIXES = frozenset({"er", "ere", "re", "nd", "st", "rd", "th"})
# "2e", "3ème": ranks ("la 2e semaine", "en 6e"), never day numbers.
_RANK_SUFFIXES = frozenset({"e", "eme", "em", "ieme"})


def normalise(text: str) -> str:
    """Lower case, strip accents and rewrite the spellings the lexicon expects."""
    result = _strip_accents(text.lower()).replace("œ", "oe")
    for pattern, replacement in _REWRITES:
        result = pattern.sub(replacement, result)
    return result


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein without re-edits), capped."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=4096)
def correct_typo(word: str) -> str:
    """The date word `word` is a typo of, or `word` itself."""
    if len(word) < 5 or word in _NOT_TYPOS:
        return word
    if word.endswith("s") and word[:-1] not in _NOT_TYPOS:
        singular = correct_typo(word[:-1])
        if singular in WEEKDAY_WORDS:
            return singular + "s"
    best, best_distance = word, 99
    for target in _FUZZY_TARGETS:
        if target[0] != word[0]:
            continue
        shortest = min(len(word), len(target))
        limit = 2 if shortest >= 8 else 1
        distance = _osa_distance(word, target, limit)
        if distance <= limit and distance < best_distance:
            best, best_distance = target, distance
    return best


def _word_token(word: str, dotted: bool) -> Token:
    """Classify one alphabetic word (typo-corrected) into a token."""
    if word in RELATIVE_WORDS:
        return Token("rel", RELATIVE_WORDS[word], word)
    if word in MONTH_WORDS:
        return Token("month", MONTH_WORDS[word], word)
    if word in WEEKDAY_WORDS:
        return Token("weekday", WEEKDAY_WORDS[word], word)
    if word.endswith("s") and word[:-1] in WEEKDAY_WORDS:
        return Token("weekday", WEEKDAY_WORDS[word[:-1]], word, plural=True)
    if word in WEEKDAY_SAFE_ABBREVIATIONS:
        return Token("weekday", WEEKDAY_SAFE_ABBREVIATIONS[word], word)
    if word in KEYWORDS:
        return Token("word", KEYWORDS[word], word, dotted=dotted)
    if word in NUMBER_WORDS:
        return Token("other", word, word, dotted=dotted)
    corrected = correct_typo(word)
    if corrected != word:
        return _word_token(corrected, dotted)
    return Token("other", word, word, dotted=dotted)


def is_plural_weekday(token: Token) -> bool:
    """True for "mercredis", "wednesdays": the plural (recurring) form of a weekday."""
    return token.kind == "weekday" and token.plural


def _numdate(text: str) -> Token | None:
    """A numeric day/month[/year] token, or None when not a valid date."""
    parts = [int(p) for p in re.split(r"\s?[/.\-]\s?", text)]
    day, month = parts[0], parts[1]
    year = parts[2] if len(parts) > 2 else None
    if year is not None and year < 100:
        year += 2000
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return Token("numdate", (day, month, year), text)


def tokenize(text: str) -> list[Token]:
    """Cut normalised text into tokens (see `Token`); unknown words become "other"."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        if match.group("iso"):
            year, month, day = (int(p) for p in re.split(r"[-/.]", match.group("iso")))
            if 1 <= month <= 12 and 1 <= day <= 31:
                tokens.append(Token("numdate", (day, month, year), match.group("iso")))
        elif match.group("numdate"):
            token = _numdate(match.group("numdate"))
            tokens.append(token or Token("other", match.group("numdate"), match.group(0)))
        elif match.group("num") is not None:
            number, suffix = int(match.group("num")), match.group("suffix")
            if suffix in _RANK_SUFFIXES:
                tokens.append(Token("other", "rank", match.group(0)))
            elif suffix and suffix not in _ORDINAL_SUFFIXES:
                tokens.append(Token("other", match.group(0), match.group(0)))
            elif not suffix and len(match.group("num")) == 4 and 1900 <= number <= 2100:
                tokens.append(Token("year", number, match.group(0)))
            else:
                tokens.append(Token("num", number, match.group(0), ordinal=bool(suffix)))
        elif match.group("word"):
            tokens.append(_word_token(match.group("word"), bool(match.group("dot"))))
        else:
            tokens.append(Token("punct", match.group("punct"), match.group("punct")))
    tokens = _split_dashed_lists(tokens)
    return _merge_dashed_dates(_merge_number_words(_resolve_abbreviations(tokens)))


def _split_dashed_lists(tokens: list[Token]) -> list[Token]:
    """Read "9-10-11 décembre" as three days, not as 9 October 2011: a month follows."""
    result: list[Token] = []
    for index, token in enumerate(tokens):
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        month_after = after is not None and (
            after.kind == "month" or after.text in MONTH_ABBREVIATIONS
        )
        parts = token.text.split("-")
        if token.kind == "numdate" and len(parts) == 3 and len(parts[2]) == 2 and month_after:
            for number, part in enumerate(parts):
                if number:
                    result.append(Token("punct", "-", "-"))
                result.append(Token("num", int(part), part))
            continue
        result.append(token)
    return result


def _dashed_list(tokens: list[Token], index: int) -> bool:
    """True for "7-8-9 (décembre)" at `index`: three day numbers, not 7 August and a 9."""
    following = tokens[index + 3 : index + 6]
    return (
        len(following) >= 2
        and following[0].text == "-"
        and following[1].kind == "num"
        and (len(following) == 2 or following[2].text != "-")
    )


def _merge_dashed_dates(tokens: list[Token]) -> list[Token]:
    """Read "9-12" as 9 December like "9/12", unless next to a month ("1-5 déc.", "Dec 1-5")."""
    result: list[Token] = []
    index = 0
    while index < len(tokens):
        window = tokens[index : index + 4]
        if (
            len(window) >= 3
            and window[0].kind == "num"
            and window[1].text == "-"
            and window[2].kind == "num"
            and not (window[0].spelled or window[2].spelled)
            and window[2].number <= 12
            and (not result or result[-1].kind != "month")
            and (len(window) == 3 or window[3].kind != "month")
            and not _dashed_list(tokens, index)
        ):
            merged = _numdate(f"{window[0].text}/{window[2].text}")
            if merged is not None:
                result.append(merged)
                index += 3
                continue
        result.append(tokens[index])
        index += 1
    return result


# Before a weekday abbreviation, an article or a possessive makes it a noun ("la mer", "un jeu").
_DETERMINERS: frozenset[str] = frozenset(
    {"le", "la", "les", "l", "un", "une", "ma", "ta", "sa", "mon", "ton", "son", "nos", "vos"}
    | {"a", "an", "my", "his", "her", "their", "our", "your"}
)
# Links between the items of a list of weekdays ("lun, mer et ven", "tue & thu", "lun-ven").
_LIST_PUNCT: frozenset[str] = frozenset({",", "&", "+", "/", "-"})
_LIST_WORDS: frozenset[str] = frozenset({"and", "or", "au", "a", "to", "until"})
# Words after which an abbreviation can only be a weekday ("ce jeu", "tous les mer", "sauf ven").
_WEEKDAY_BEFORE: frozenset[str] = frozenset({"this", "every", "until", "except"})
# Parts of the day that follow a weekday ("ven soir", "mer matin", "Mon morning").
DAY_PARTS: frozenset[str] = frozenset(
    {"matin", "midi", "soir", "aprem", "apresmidi", "morning", "afternoon", "evening"}
)


def _abbreviated_weekday(tokens: list[Token], index: int) -> bool:
    """True if the abbreviation at `index` ("mer", "jeu", "mon") reads as a weekday by context.

    The list rule is applied separately by `_weekday_lists`.
    """
    token = tokens[index]
    word = token.text
    before = tokens[index - 1] if index > 0 else None
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if word != "mon" and (token.dotted or (after is not None and after.kind in ("num", "year"))):
        return True
    if (
        before is not None
        and index > 1
        and before.value == "the"
        and tokens[index - 2].kind == "word"
        and tokens[index - 2].value in _WEEKDAY_BEFORE
    ):
        return True  # "tous les mer"
    if before is not None and before.text in _DETERMINERS:
        return False
    if after is not None and word != "mon":
        if after.kind == "word" and after.value in ("next", "last"):
            return True  # "jeu prochain", "ven dernier", "mer pro"
        if after.text in DAY_PARTS:
            return True
    if before is not None and before.kind == "word" and before.value in _WEEKDAY_BEFORE:
        return True
    # The message is the abbreviation alone ("jeu", "mer ?").
    return all(other.kind == "punct" for n, other in enumerate(tokens) if n != index)


def _weekday_lists(tokens: list[Token], candidates: set[int]) -> set[int]:
    """The abbreviations in a list with another weekday or abbreviation ("lun, mer et ven")."""

    def listable(index: int) -> bool:
        """A weekday, or an abbreviation that is not after an article."""
        if not 0 <= index < len(tokens):
            return False
        if tokens[index].kind == "weekday":
            return True
        return index in candidates and not (index > 0 and tokens[index - 1].text in _DETERMINERS)

    def link(index: int) -> bool:
        """A comma, "et", "&", "-", "au"... between two items of a list."""
        token = tokens[index]
        if token.kind == "punct":
            return token.value in _LIST_PUNCT
        return token.kind == "word" and token.value in _LIST_WORDS

    found: set[int] = set()
    for index in candidates:
        if not listable(index):
            continue
        for other in (index - 1, index + 1):  # "lun mer ven"
            if listable(other):
                found.add(index)
        for step in (-1, 1):  # "lun, mer", "Mon and Wed"
            middle, other = index + step, index + 2 * step
            if 0 <= middle < len(tokens) and link(middle) and listable(other):
                found.add(index)
    return found


def _resolve_abbreviations(tokens: list[Token]) -> list[Token]:
    """Read "mer." / "jeu 10" / "lun, mer et ven" as weekdays, "9 déc." / "sept 2026" as months."""
    result = list(tokens)
    candidates: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind not in ("other", "word"):
            continue
        word = token.text
        before = tokens[index - 1] if index > 0 else None
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        number_before = before is not None and (
            before.kind == "num" or (before.kind == "other" and before.text in NUMBER_WORDS)
        )
        number_after = after is not None and after.kind in ("num", "year")
        if word in MONTH_ABBREVIATIONS and (number_before or (number_after and word != "sept")):
            result[index] = Token("month", MONTH_ABBREVIATIONS[word], word)
        elif word == "may" and before is not None and before.value in ("in", "of"):
            result[index] = Token("month", 5, word)
        elif word in WEEKDAY_DOTTED_ABBREVIATIONS:
            if _abbreviated_weekday(tokens, index):
                result[index] = Token("weekday", WEEKDAY_DOTTED_ABBREVIATIONS[word], word)
            else:
                candidates.add(index)
    for index in _weekday_lists(result, candidates):
        word = result[index].text
        result[index] = Token("weekday", WEEKDAY_DOTTED_ABBREVIATIONS[word], word)
    return result


def _merge_number_words(tokens: list[Token]) -> list[Token]:
    """Turn French number words into numbers ("vingt et un" → 21, "dix-sept" → 17)."""
    result: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "other" and token.text in NUMBER_WORDS:
            value = NUMBER_WORDS[token.text]
            end = index + 1
            if value in (10, 20, 30):
                probe = end
                if probe < len(tokens) and tokens[probe].kind == "punct":
                    probe += 1
                if probe < len(tokens) and tokens[probe].value == "and" and value != 10:
                    probe += 1
                unit = tokens[probe] if probe < len(tokens) else None
                if unit is not None and unit.text in (*NUMBER_WORDS, "un", "une"):
                    unit_value = NUMBER_WORDS.get(unit.text, 1)
                    if unit.text in ("premier", "premiere", "first"):
                        unit_value = 0
                    if 1 <= unit_value <= 9 and value + unit_value <= 31:
                        value += unit_value
                        end = probe + 1
            ordinal = token.text in ("premier", "premiere", "first")
            result.append(Token("num", value, token.text, ordinal=ordinal, spelled=True))
            index = end
            continue
        result.append(token)
        index += 1
    return result
