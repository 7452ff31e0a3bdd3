"""Grammar of date phrases for `dates`: tokens become points, ranges, periods, recurrences.

Nothing here knows today's date: the items keep what the parent wrote ("le 12", "mercredi
prochain", "du 21 au 24 décembre") and `dates` resolves them against `today`.
Unknown words are skipped, so whole sentences work; the link between two items is kept
(`Placed.glue`) so that "les 3, 10 et 17 décembre" lends the month to 3 and 10, and
"lundi et mardi de la semaine prochaine" puts both days in that week. An item may refer to
the one before it: "le 9 et le lendemain", "cette semaine et la suivante", "mercredi et le
mercredi suivant". A number of days is a span with a start ("3 jours à partir de lundi"),
or, alone ("3 jours"), a count the days written must match.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dates.lexicon import (
    DURATION_WORDS,
    FUTURE_MARKERS,
    PAST_MARKERS,
    QUANTITY_NOUNS,
    VAGUE_PREFIXES,
    VAGUE_WORDS,
    Token,
    is_plural_weekday,
)

# Modifiers of a weekday: "next" = of next week ("mercredi prochain"), "last" = the previous
# one, "this" = the nearest one ("ce mercredi"), "upcoming" = the first after today
# ("mercredi qui vient", "le prochain mercredi"), "en8"/"en15" = a week/two after the coming one,
# "following" = the first after the previous item ("lundi et le mercredi suivant").
Modifier = str


@dataclass
class Period:
    """A week, a weekend or a month, named relatively or by an anchor / a month name."""

    kind: str  # "week" | "weekend" | "month"
    ref: str | None = None  # "this" | "next" | "last"
    anchor: Point | None = None  # "la semaine du 14 décembre"
    month: int | None = None
    year: int | None = None
    extra: int = 0  # periods further on ("cette semaine et la suivante": the second is +1)


@dataclass
class Point:
    """One day as written: any of day number, month, year, weekday, modifier, offset."""

    day: int | None = None
    month: int | None = None
    year: int | None = None
    weekday: int | None = None
    modifier: Modifier | None = None
    offset: int | None = None  # days from today ("demain" = 1)
    within: Period | None = None  # "mercredi de la semaine prochaine"
    edge: str | None = None  # "start" | "end": first or last day of `within` ("fin mars")
    after: int | None = None  # days after the previous item, or today ("le lendemain" = 1)
    shift: int = 0  # days added to the date written ("le lendemain du 9" = 1)

    @property
    def bare_day(self) -> bool:
        """A day number without month ("le 12", "mercredi 9")."""
        return (
            self.day is not None
            and self.month is None
            and self.offset is None
            and self.within is None
            and self.shift == 0
        )

    @property
    def bare_weekday(self) -> bool:
        """A weekday alone, without modifier or day number ("jeudi")."""
        return (
            self.weekday is not None
            and self.day is None
            and self.modifier is None
            and self.offset is None
            and self.within is None
        )


@dataclass
class Range:
    """From `start` to `end` included; None is today ("jusqu'au 5", "depuis lundi")."""

    start: Point | None
    end: Point | None
    since: bool = False  # "depuis lundi": the start is looked for before today


@dataclass
class Span:
    """`count` days (or weeks) from `start`: "3 jours à partir de lundi", "for 2 days from Mon"."""

    start: Point
    count: int
    unit: str  # "day" | "week"
    since: bool = False  # "3 jours depuis lundi": the start is looked for before today


@dataclass
class Count:
    """A number of days written without a start ("3 jours", "pendant 2 jours")."""

    count: int
    unit: str  # "day" | "week"


@dataclass
class Every:
    """Given weekdays (None: every day) within a scope ("tous les mercredis de janvier")."""

    weekdays: frozenset[int] | None
    scope: Range | Period | None


@dataclass
class Vague:
    """A phrase that names no precise days ("mi-décembre", "bientôt", "à partir de lundi")."""

    detail: str  # "vague" | "open_ended" | "holidays" | "month_only"


Item = Point | Range | Period | Span | Every | Vague


@dataclass
class Placed:
    """An item with its place in the text and what links it to the previous item."""

    item: Item
    start: int
    end: int
    excluded: bool
    glue: frozenset[str]
    clean: bool  # only linking words between the previous item and this one


@dataclass
class Parsed:
    """Everything the grammar found in one message."""

    placed: list[Placed] = field(default_factory=list)
    vague: list[str] = field(default_factory=list)  # details of vague words and phrases
    attached_vague: bool = False  # "mi-décembre", "fin du mois": always ask back
    future_tense: bool = False
    past_tense: bool = False
    counts: list[int] = field(default_factory=list)  # days written alone ("3 jours")

    @property
    def ambiguous(self) -> bool:
        """Two dates joined by "ou"/"or": the parent has not chosen."""
        return any(p.clean and "or" in p.glue for p in self.placed)


_GLUE_WORDS = frozenset({"the", "and", "or", "de", "du", "of", "in", "en", "au", "a"})
_GLUE_PUNCT = frozenset({",", "-", ";", "&", "+"})
_DAY_INTRO_WORDS = frozenset(
    {"the", "du", "au", "a", "de", "and", "or", "until", "between", "from", "to", "except", "of"}
)
_RANGE_TO = frozenset({"au", "a", "to", "until"})
# Words before a count of days ("pendant 3 jours", "for 2 days").
_COUNT_LEADS = frozenset({"pendant", "durant", "pour", "pr", "pdt", "for", "during"})
# "3 jours consécutifs", "2 consecutive days" is still a count.
_IN_A_ROW = frozenset({"consecutifs", "consecutives", "consecutive", "straight"})
# Words after a count of days that make it an offset from an unnamed day ("3 jours plus tard").
_COUNT_RELATIVE = frozenset({"plus", "tard", "later", "avant", "before", "apres", "auparavant"})
# Starters of a span after its count ("3 jours à partir de lundi", "dès lundi", "depuis lundi").
_SPAN_STARTERS = frozenset({"apartir", "starting", "depuis", "dps", "des"})
# Pronouns standing for the previous item ("celui d'après", "the one after").
_PRONOUNS = frozenset({"celui", "celle", "one"})
# Words after "d'après" that make it "according to" ("d'après moi", "suivant mon planning").
_ACCORDING_TO_WHOM = frozenset(
    {"moi", "toi", "lui", "elle", "nous", "vous", "eux", "elles", "ca", "mon", "ma", "mes"}
    | {"ton", "ta", "tes", "son", "sa", "ses", "notre", "votre", "nos", "vos", "leur", "leurs"}
)
# "Plural" words that follow a number without being nouns ("les 4 puis le 5").
_NOT_NOUNS = frozenset(
    {"plus", "puis", "inclus", "apres", "sans", "mais", "alors", "ainsi", "tres", "moins", "pas"}
    | {"jamais", "toujours", "sinon", "thanks", "thx", "pls", "is", "was", "as", "yes", "always"}
)


class _Parser:
    """Recursive descent over the token list; each rule returns (item, next index) or None."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens

    def tok(self, index: int) -> Token | None:
        """The token at `index`, or None past either end."""
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def word(self, index: int, *values: str) -> bool:
        """True if the token at `index` is one of the keywords `values`."""
        token = self.tok(index)
        return token is not None and token.kind == "word" and token.value in values

    def punct(self, index: int, *values: str) -> bool:
        """True if the token at `index` is one of the punctuation marks `values`."""
        token = self.tok(index)
        return token is not None and token.kind == "punct" and token.value in values

    def kind(self, index: int, *kinds: str) -> bool:
        """True if the token at `index` is of one of `kinds`."""
        token = self.tok(index)
        return token is not None and token.kind in kinds

    def quantity_after(self, index: int) -> bool:
        """True if a counted noun follows ("2 enfants", "3 jours")."""
        token = self.tok(index)
        return token is not None and token.text in QUANTITY_NOUNS

    def day_intro(self, index: int) -> bool:
        """True if the token may introduce a day number ("le", "du", ",", a weekday)."""
        token = self.tok(index)
        if token is None:
            return False
        if token.kind == "word":
            return token.value in _DAY_INTRO_WORDS
        if token.kind == "punct":
            return token.value in (",", "-", "&", "+")
        return token.kind == "weekday"

    def range_to(self, index: int) -> bool:
        """True for the word joining the two ends of a range ("au", "to", "-")."""
        return self.word(index, *_RANGE_TO) or self.punct(index, "-")

    def prefix(self, index: int) -> bool:
        """True for "ce", "prochain", "dernier" before what they qualify ("prochain mercredi");
        the text-message "pro" only comes after ("mercredi pro"; "un rdv pro lundi")."""
        token = self.tok(index)
        return (
            self.word(index, "this", "next", "last")
            and token is not None
            and token.text not in ("pro", "proch")
        )

    def singular(self, index: int, *values: str) -> bool:
        """True for the keyword `values` written in the singular ("jour", not "jours")."""
        token = self.tok(index)
        return (
            self.word(index, *values)
            and token is not None
            and token.text not in ("jours", "days", "journees", "semaines", "weeks", "weekends")
        )

    def counted_noun(self, index: int) -> bool:
        """True for an unknown plural word: "les 4 petits", "the 2 boys", "les 4 pourront"
        count people, not days (a plural noun, or a verb in the third person plural)."""
        token = self.tok(index)
        if token is None or token.kind != "other" or token.text in _NOT_NOUNS:
            return False
        text = token.text
        plural_noun = len(text) >= 3 and text[-1] in "sx"
        plural_verb = text.endswith("ont") or (text.endswith("ent") and not text.endswith("ment"))
        return plural_noun or plural_verb

    def according_to(self, index: int) -> bool:
        """True for "d'après le planning", "suivant le calendrier": "according to", not "after"."""
        token = self.tok(index)
        if token is None or token.kind != "word" or token.value != "dapres":
            return False
        if token.text not in ("dapres", "suivant"):
            return False
        following = self.tok(index + 1)
        return following is not None and (
            (following.kind == "word" and following.value in ("the", "de", "du", "this"))
            or following.text in _ACCORDING_TO_WHOM
        )

    # -- days -------------------------------------------------------------------------------

    def year_at(self, index: int) -> tuple[int | None, int]:
        """A year at `index`, if any, and the index after it."""
        if self.kind(index, "year"):
            return self.tokens[index].number, index + 1
        return None, index

    def day_part(
        self, index: int, after_weekday: bool = False, loose: bool = False
    ) -> tuple[tuple[int, int | None, int | None], int] | None:
        """ "12", "le 12", "12 décembre 2026", "12/12", "December 12th"."""
        j = index + 1 if self.word(index, "the") else index
        token = self.tok(j)
        if token is None:
            return None
        if token.kind == "numdate":
            if self.quantity_after(j + 1):
                return None
            assert isinstance(token.value, tuple)
            day, month, year = token.value
            return (day, month, year), j + 1
        if token.kind == "month":
            k = j + 1 + (1 if self.word(j + 1, "the") else 0)
            number = self.tok(k)
            if (
                number is not None
                and number.kind == "num"
                and 1 <= number.number <= 31
                and not self.quantity_after(k + 1)
            ):
                year, end = self.year_at(k + 1)
                return (number.number, token.number, year), end
            return None
        if token.kind != "num" or not 1 <= token.number <= 31:
            return None
        day = token.number
        k = j + 1
        month_index = k + 1 if self.word(k, "de", "of") else k
        if self.kind(month_index, "month"):
            year, end = self.year_at(month_index + 1)
            return (day, self.tokens[month_index].number, year), end
        if self.quantity_after(k) or self.word(k, "next", "last"):
            return None
        listed = (self.punct(k, ",") or self.word(k, "and")) and self.kind(k + 1, "num")
        if token.spelled:
            # "le deux décembre", "le premier", but "les deux" is "both".
            before = self.tok(j - 1)
            qualified = after_weekday or (before is not None and before.text in ("le", "du", "au"))
        else:
            qualified = token.ordinal or after_weekday or loose or listed or self.day_intro(j - 1)
        if not qualified:
            return None
        article = self.tok(j - 1)
        if (
            not (token.ordinal or after_weekday)
            and article is not None
            and article.text in ("les", "des", "aux", "the")
            and self.counted_noun(k)
        ):
            return None  # "pour les 4 petits", "the 2 boys": a number of people
        return (day, None, None), k

    def post_modifier(self, index: int) -> tuple[Modifier | None, int]:
        """A modifier written after a weekday ("prochain", "en huit", "qui vient")."""
        token = self.tok(index)
        if token is None:
            return None, index
        if self.word(index, "next"):
            return "next", index + 1
        if self.word(index, "last"):
            return "last", index + 1
        if self.word(index, "en") and self.kind(index + 1, "num"):
            value = self.tokens[index + 1].value
            if value == 8:
                return "en8", index + 2
            if value == 15:
                return "en15", index + 2
        if self.word(index, "qui") and self.word(index + 1, "vient"):
            return "upcoming", index + 2
        return None, index

    def relative_duration(self, index: int) -> tuple[Point | Vague, int] | None:
        """ "dans 3 jours", "in 2 days", "il y a 3 jours", "3 days ago" (weeks are vague)."""
        sign = 0
        j = index
        if self.word(index, "dans") or (
            self.word(index, "in") and self.tokens[index].text == "in"
        ):
            sign, j = 1, index + 1
        elif self.word(index, "ilya"):
            sign, j = -1, index + 1
        number = self.tok(j)
        count: int | None = None
        if number is not None and number.kind == "num":
            count = number.number
        elif self.word(j, "un"):
            count = 1
        elif number is not None and number.text in DURATION_WORDS:
            count = DURATION_WORDS[number.text]
        if count is None or not self.word(j + 1, "day", "week", "month"):
            return None
        unit = self.tokens[j + 1].value
        end = j + 2
        if sign == 0:
            if not self.word(end, "ago"):
                return None
            sign, end = -1, end + 1
        if unit != "day" or count > 62:
            return Vague("vague"), end
        if self.tokens[j + 1].text == "jours" and count in (8, 15):
            count -= 1  # French idiom: "dans huit jours" is in a week, "quinze jours" two
        return Point(offset=sign * count), end

    def point(self, index: int, loose: bool = False) -> tuple[Point | Vague, int] | None:
        """One day: relative word, weekday with modifiers and/or a day number, or a date."""
        token = self.tok(index)
        if token is None:
            return None
        if token.kind == "rel":
            return Point(offset=token.number), index + 1
        duration = self.relative_duration(index)
        if duration is not None:
            return duration
        modifier: Modifier | None = None
        j = index
        if self.prefix(j) and self.kind(j + 1, "weekday"):
            value = str(self.tokens[j].value)
            modifier = {"this": "this", "last": "last"}.get(value)
            if value == "next":
                modifier = "next" if self.tokens[j].text == "next" else "upcoming"
            j += 1
        elif self.word(j, "the") and self.word(j + 1, "next") and self.kind(j + 2, "weekday"):
            modifier, j = "upcoming", j + 2
        elif self.word(j, "the") and self.kind(j + 1, "weekday"):
            j += 1
        weekday_token = self.tok(j)
        if (
            weekday_token is not None
            and is_plural_weekday(weekday_token)
            and modifier is None
            and self.kind(j + 1, "num", "numdate")
        ):
            day = self.day_part(j + 1, after_weekday=True)
            if day is not None:
                (number, month, year), end = day
                weekday = weekday_token.number
                return Point(day=number, month=month, year=year, weekday=weekday), end
        if (
            weekday_token is not None
            and weekday_token.kind == "weekday"
            and not is_plural_weekday(weekday_token)
        ):
            weekday = weekday_token.number
            j += 1
            if modifier is not None and self.word(j, "du", "de", "of", "in"):
                k = j + 1 + (1 if self.word(j + 1, "the", "this") else 0)
                if self.kind(k, "month") or self.word(k, "month"):
                    return Vague("vague"), k + 1
            post, j = self.post_modifier(j)
            modifier = post or modifier
            k = j + 1 if self.punct(j, ",") else j
            day = self.day_part(k, after_weekday=True)
            if day is not None:
                (number, month, year), end = day
                return Point(day=number, month=month, year=year, weekday=weekday), end
            return Point(weekday=weekday, modifier=modifier), j
        if modifier is not None:
            return None
        day = self.day_part(index, loose=loose)
        if day is None:
            return None
        (number, month, year), end = day
        return Point(day=number, month=month, year=year), end

    # -- ranges, periods, recurrences --------------------------------------------------------

    def range_(self, index: int) -> tuple[Item, int] | None:
        """ "du 21 au 24 décembre", "de lundi à vendredi", "jusqu'au 5", "entre le 3 et le 5"."""
        j = index
        starter: str | None = None
        if self.word(j, "from", "du", "de", "between"):
            starter = str(self.tokens[j].value)
            j += 1
            if self.tokens[index].text == "des" and (
                self.word(j, "the")
                or self.kind(j, "rel")
                or (self.kind(j, "weekday") and not self.is_plural_weekday_at(j))
            ):
                starter = "from"  # "dès lundi", "dès le 14": from then on
            if starter == "from" and self.word(j, "du", "de"):
                j += 1
        if self.word(j, "until"):
            end = self.point(j + 1, loose=True) or self.period_edge(j + 1, "end")
            if end is None or not isinstance(end[0], Point):
                return None
            return Range(None, end[0]), end[1]
        loose = starter is not None or self.range_to(j + 1) or self.range_to(j + 2)
        start = self.point(j, loose=loose)
        if start is None:
            start = self.period_edge(j, "start")  # "de janvier à mars"
        if start is None:
            return None
        first, k = start
        if not isinstance(first, Point):
            return None
        joined = self.range_to(k) or (starter == "between" and self.word(k, "and"))
        if first.edge is not None and not joined:
            return None  # a month alone: see `period`
        if joined:
            end = self.point(k + 1, loose=True) or self.period_edge(k + 1, "end")
            last = end[0] if end is not None else None
            if end is not None and isinstance(last, Point):
                if first.bare_day and last.month is not None and last.day is not None:
                    first = _lend_month(first, last.month, last.year, last.day)
                return Range(first, last), end[1]
        if starter == "from":
            if self.tokens[index].text in ("depuis", "since"):
                return Range(first, None, since=True), k
            return Vague("open_ended"), k
        return None

    def period_edge(self, index: int, edge: str) -> tuple[Point, int] | None:
        """A month as the start or end of a range: "(de) janvier", "(jusqu')en juin", "(à) fin
        mars", "(jusqu'à) la fin du mois", "(until) the end of next month"."""
        j = index
        while self.word(j, "the", "en", "a", "in"):
            j += 1
        marked = False
        token = self.tok(j)
        if edge == "end" and token is not None and token.text in ("fin", "end"):
            marked, j = True, j + 1
            while self.word(j, "the", "de", "du", "of"):
                j += 1
        token = self.tok(j)
        if token is None:
            return None
        if token.kind == "month":
            year, end = self.year_at(j + 1)
            return Point(within=Period("month", month=token.number, year=year), edge=edge), end
        if self.word(j, "month") and self.word(j + 1, "de", "of") and self.kind(j + 2, "month"):
            year, end = self.year_at(j + 3)
            month = self.tokens[j + 2].number
            return Point(within=Period("month", month=month, year=year), edge=edge), end
        if not marked:
            return None
        ref: str | None = None
        if self.word(j, "this", "next"):
            ref, j = str(self.tokens[j].value), j + 1
        if not self.word(j, "week", "month"):
            return None
        kind = str(self.tokens[j].value)
        later_ref, end = self.period_ref(j + 1)
        return Point(within=Period(kind, ref=ref or later_ref or "this"), edge=edge), end

    def period_ref(self, index: int) -> tuple[str | None, int]:
        """ "prochaine", "dernière", "-ci" after "semaine" or "mois"."""
        if self.word(index, "next"):
            return "next", index + 1
        if self.word(index, "last"):
            return "last", index + 1
        if self.word(index, "qui") and self.word(index + 1, "vient"):
            return "next", index + 2
        if self.punct(index, "-") and self.word(index + 1, "ci"):
            return "this", index + 2
        if self.word(index, "ci"):
            return "this", index + 1
        return None, index

    def period(self, index: int, in_scope: bool = False) -> tuple[Item, int] | None:
        """ "la semaine prochaine", "ce mois-ci", "tout le mois de décembre", "ce week-end"."""
        j = index
        whole = False
        if self.word(j, "every"):
            whole, j = True, j + 1
        if self.word(j, "the"):
            j += 1
        if self.word(j, "whole"):
            whole, j = True, j + 1
        if whole and self.word(j, "of"):
            j += 1
        ref: str | None = None
        if self.prefix(j):
            ref = {"this": "this", "next": "next", "last": "last"}[str(self.tokens[j].value)]
            j += 1
        token = self.tok(j)
        if token is None:
            return None
        if token.kind == "word" and token.value in ("week", "weekend", "month"):
            kind = str(token.value)
            j += 1
            later_ref, j = self.period_ref(j)
            ref = ref or later_ref
            if self.word(j, "whole"):
                whole, j = True, j + 1
            if self.word(j, "dapres"):
                return Vague("vague"), j + 1
            if ref is None and kind == "week" and self.word(j, "du", "of", "de"):
                anchor = self.point(j + 1, loose=True)
                if anchor is not None and isinstance(anchor[0], Point):
                    if self.range_to(anchor[1]):
                        return self.range_(j)  # "la semaine du 7 au 11 décembre"
                    return Period("week", anchor=anchor[0]), anchor[1]
            if ref is None and kind == "month" and self.word(j, "de", "of"):
                named = self.tok(j + 1)
                if named is not None and named.kind == "month":
                    year, end = self.year_at(j + 2)
                    return Period("month", month=named.number, year=year), end
            if ref is None and (whole or kind == "weekend"):
                ref = "this"
            if ref is None:
                return None
            return Period(kind, ref=ref), j
        if token.kind == "month" and (whole or in_scope) and ref is None:
            year, end = self.year_at(j + 1)
            return Period("month", month=token.number, year=year), end
        return None

    def counted(self, index: int) -> tuple[int, str, int] | None:
        """ "3 jours", "pendant trois jours", "for 2 weeks": count, unit and the index after."""
        j = (
            index + 1
            if self.tok(index) is not None and self.tokens[index].text in _COUNT_LEADS
            else index
        )
        number = self.tok(j)
        if number is None:
            return None
        count: int | None = None
        if number.kind == "num" and not number.ordinal:
            count = number.number
        elif self.word(j, "un"):
            count = 1
        elif number.text in DURATION_WORDS:
            count = DURATION_WORDS[number.text]
        if count is None or count < 1 or not self.word(j + 1, "day", "week"):
            return None
        end = j + 2
        if self.word(end, "de", "d") and self.tok(end + 1) is not None:
            if self.tokens[end + 1].text in ("suite", "affilee"):
                end += 2  # "3 jours de suite", "3 jours d'affilée"
        elif self.tok(end) is not None and self.tokens[end].text in _IN_A_ROW:
            end += 1  # "3 jours consécutifs"
        return count, str(self.tokens[j + 1].value), end

    def span_start(self, index: int) -> tuple[Point, bool, int] | None:
        """The start after a count: "à partir de lundi", "dès le 7", "depuis lundi", "starting
        Monday", "from the 7th" (after "for"); with whether it is looked for in the past."""
        token = self.tok(index)
        if token is None or token.text not in _SPAN_STARTERS and token.text != "from":
            return None
        j = index + 1
        while self.word(j, "de", "du", "the", "from"):
            j += 1
        start = self.point(j, loose=True)
        if start is None or not isinstance(start[0], Point):
            return None
        return start[0], token.text in ("depuis", "dps"), start[1]

    def span(self, index: int) -> tuple[Item | Count, int] | None:
        """A number of days: "3 jours à partir de lundi", "du 7 pour 3 jours", "3 jours"."""
        counted = self.counted(index)
        if counted is not None:
            count, unit, k = counted
            lead = self.tokens[index].text in _COUNT_LEADS
            if self.word(k, "ago"):
                return None  # "3 days ago": `relative_duration`
            following = self.tok(k)
            if following is not None and following.text in _COUNT_RELATIVE:
                return Vague("vague"), k + 1  # "3 jours plus tard": after what?
            if following is not None and following.text == "from" and not lead:
                after = self.tok(k + 1)
                if after is not None and (
                    after.text == "now" or (after.kind == "rel" and after.value == 0)
                ):
                    return Point(offset=count * (7 if unit == "week" else 1)), k + 2
                return Vague("vague"), k + 1  # "3 days from Monday": Thursday, or three days?
            start = self.span_start(k)
            if start is not None:
                point, since, end = start
                return Span(point, count, unit, since), end
            return Count(count, unit), k
        j = index
        starter = self.tok(j)
        if starter is None:
            return None
        if starter.text in _SPAN_STARTERS or self.word(j, "du", "from"):
            j += 1
            while self.word(j, "de", "du", "the"):
                j += 1
        begun = self.point(j, loose=j > index)
        if begun is None:
            return None
        first, after_first = begun
        if not isinstance(first, Point):
            return None
        k = after_first + (1 if self.punct(after_first, ",") else 0)
        count_lead = self.tok(k)
        if count_lead is None or count_lead.text not in _COUNT_LEADS:
            return None  # "jeudi, 2 jours" is a day and a count
        counted = self.counted(k)
        if counted is None:
            return None
        count, unit, end = counted
        since = starter.text in ("depuis", "dps")
        return Span(first, count, unit, since), end

    def relative_to_previous(self, index: int, previous: Placed | None) -> tuple[Item, int] | None:
        """ "le lendemain", "le jour d'après", "the day after", "la suivante", "celle d'après",
        "la semaine suivante", "le mercredi suivant": a day or period after the previous item."""
        j = index + 1 if self.word(index, "the") else index
        token = self.tok(j)
        if token is None:
            return None
        before = previous.item if previous is not None else None
        if token.kind == "other" and token.text in ("lendemain", "surlendemain"):
            days = 1 if token.text == "lendemain" else 2
            end = j + 1
            if self.word(end, "de", "du", "of"):
                base = self.point(end + 1, loose=True)
                if base is not None and isinstance(base[0], Point) and base[0].after is None:
                    return replace(base[0], shift=base[0].shift + days), base[1]
                return Vague("vague"), end + 1  # "le lendemain de la fête"
            if days == 2 and isinstance(before, Point) and 1 in (before.offset, before.after):
                # "demain et le surlendemain", "le 9, le lendemain et le surlendemain": the day
                # after the previous one, which is itself a "lendemain" (demain = today's).
                days = 1
            return Point(after=days), end
        # "le jour d'après", "le jour suivant", "the day after", "the next/following day"
        day_after = self.singular(j, "day") and self.word(j + 1, "dapres")
        next_day = (
            self.word(j, "next", "dapres")
            and self.tokens[j].text in ("next", "following")
            and self.singular(j + 1, "day")
            and j > index
        )
        if (day_after and not self.according_to(j + 1)) or next_day:
            return self.after_end(Point(after=1), j + 2)
        # "la semaine d'après", "the following week", "le mois suivant"
        kind: str | None = None
        if self.singular(j, "week", "weekend", "month") and self.word(j + 1, "dapres"):
            kind, end = str(self.tokens[j].value), j + 2
        elif (
            self.word(j, "dapres")
            and j > index
            and self.tokens[j].text == "following"
            and self.singular(j + 1, "week", "weekend", "month")
        ):
            kind, end = str(self.tokens[j + 1].value), j + 2
        if kind is not None:
            if self.according_to(j + 1):
                return None
            if isinstance(before, Period) and before.kind == kind:
                return self.after_end(replace(before, extra=before.extra + 1), end)
            return Vague("vague"), end
        # "le mercredi suivant", "the Wednesday after", "the following Wednesday"
        weekday_index: int | None = None
        if (
            self.kind(j, "weekday")
            and self.word(j + 1, "dapres")
            and self.tokens[j + 1].text in ("dapres", "suivant", "suivante")
            and not self.according_to(j + 1)
        ):
            weekday_index, end = j, j + 2
        elif (
            self.word(j, "dapres")
            and self.tokens[j].text == "following"
            and self.kind(j + 1, "weekday")
        ):
            weekday_index, end = j + 1, j + 2
        if weekday_index is not None:
            weekday = self.tokens[weekday_index]
            if before is None or is_plural_weekday(weekday):
                return Vague("vague"), end
            return self.after_end(Point(weekday=weekday.number, modifier="following"), end)
        # "le suivant", "la suivante", "celui d'après", "the one after", "the following one"
        k = j + 1 if self.tok(j) is not None and self.tokens[j].text in _PRONOUNS else j
        pronoun = k > index
        if not (pronoun and self.word(k, "dapres")) or self.according_to(k):
            return None
        if self.tokens[k].text == "following":
            if not (self.tok(k + 1) is not None and self.tokens[k + 1].text == "one"):
                return None
            k += 1
        end = k + 1
        if isinstance(before, Period):
            return self.after_end(replace(before, extra=before.extra + 1), end)
        if isinstance(before, Point) and before.weekday is not None:
            if before.day is not None:
                return Vague("vague"), end  # "mercredi 9 et le suivant": the 10th or the 16th?
            return self.after_end(Point(after=7), end)  # "mercredi et le suivant"
        if isinstance(before, Point):
            return self.after_end(Point(after=1), end)
        return Vague("vague"), end

    def after_end(self, item: Item, end: int) -> tuple[Item, int]:
        """`item`, unless an English "after" goes on with what it is after: "the day after
        Monday" is Tuesday; "the day after Christmas", "the week after the 9th" are asked."""
        following = self.tok(end)
        if self.tokens[end - 1].text != "after" or following is None:
            return item, end
        if following.kind == "other":
            return Vague("vague"), end + 1
        if following.kind in ("weekday", "num", "numdate", "month", "rel") or self.word(
            end, "the", "next", "this"
        ):
            base = self.point(end, loose=True)
            if (
                isinstance(item, Point)
                and item.after == 1
                and base is not None
                and isinstance(base[0], Point)
                and base[0].after is None
            ):
                return replace(base[0], shift=base[0].shift + 1), base[1]
            return Vague("vague"), end + 1
        return item, end

    def every(self, index: int) -> tuple[Item, int] | None:
        """ "tous les mercredis de janvier", "les lundis et jeudis du mois prochain"."""
        j = index
        has_every = self.word(j, "every")
        if has_every:
            j += 1
        if self.word(j, "the"):
            j += 1
        token = self.tok(j)
        if token is None:
            return None
        weekdays: set[int] | None = set()
        if has_every and self.word(j, "day"):
            weekdays, j = None, j + 1
        elif token.kind == "weekday" and (has_every or is_plural_weekday(token)):
            if self.kind(j + 1, "num", "numdate"):
                return None  # "les mercredis 2, 9 et 16 décembre" lists days
            while True:
                assert weekdays is not None
                weekdays.add(self.tokens[j].number)
                j += 1
                k = j
                while self.punct(k, ",") or self.word(k, "and", "the"):
                    k += 1
                following = self.tok(k)
                if (
                    k > j
                    and following is not None
                    and following.kind == "weekday"
                    and (has_every or is_plural_weekday(following))
                ):
                    j = k
                    continue
                break
        else:
            return None
        chosen = None if weekdays is None else frozenset(weekdays)
        scoped = self.range_(j)
        if scoped is not None and isinstance(scoped[0], Range):
            return Every(chosen, scoped[0]), scoped[1]
        k = j
        while self.word(k, "de", "du", "of", "in", "en", "the"):
            k += 1
        scope = self.period(k, in_scope=True)
        if scope is not None and isinstance(scope[0], Period):
            return Every(chosen, scope[0]), scope[1]
        return Vague("open_ended"), j

    # -- the message --------------------------------------------------------------------------

    def vague_prefix(self, index: int) -> int | None:
        """Index after "mi-décembre", "fin du mois", "vers le 12"; None if not such a phrase."""
        token = self.tok(index)
        if token is None or token.kind != "other" or token.text not in VAGUE_PREFIXES:
            return None
        j = index + 1
        while self.punct(j, "-") or self.word(j, "the", "de", "du", "of", "a", "au"):
            j += 1
        following = self.tok(j)
        if following is None:
            return None
        if following.kind in ("month", "num", "numdate", "weekday") or (
            following.kind == "word" and following.value in ("week", "month", "weekend", "this")
        ):
            return j + 1
        return None

    def vague_at(self, index: int) -> tuple[str, int] | None:
        """A phrase that makes the whole message vague, and the index after it."""
        token = self.tokens[index]
        after_prefix = self.vague_prefix(index)
        if after_prefix is not None:
            return "vague", after_prefix
        if (
            token.kind == "num"
            and self.word(index + 1, "next", "last")
            and self.word(index + 2, "week", "month", "day")
        ):
            return "vague", index + 3  # "les 2 prochaines semaines"
        ranked = token.value == "rank" or (
            token.kind == "num" and (token.ordinal or token.spelled)
        )
        if ranked and (self.kind(index + 1, "weekday") or self.word(index + 1, "week")):
            return "vague", index + 2  # "le 1er mercredi", "la 2e semaine"
        if self.word(index, "en") and self.kind(index + 1, "month"):
            return "month_only", index + 2  # "en décembre"
        if (
            self.word(index, "in", "every")
            and self.tokens[index].text != "in"
            and self.kind(index + 1, "num")
            and self.word(index + 2, "day", "week")
        ):
            return "vague", index + 3  # "pendant 3 jours", "for 3 days"
        if (
            self.word(index, "dapres")
            and self.tokens[index].text not in ("after", "following")
            and not self.according_to(index)
        ):
            return "vague", index + 1  # "la suivante" with nothing before it
        return None

    def parse(self) -> Parsed:
        """All the items of the message, with what makes it vague or ambiguous."""
        parsed = Parsed()
        texts = {token.text for token in self.tokens if token.kind == "other"}
        parsed.future_tense = bool(texts & FUTURE_MARKERS)
        parsed.past_tense = bool(texts & PAST_MARKERS)
        excluded = False
        last_end = 0
        index = 0
        while index < len(self.tokens):
            token = self.tokens[index]
            previous = parsed.placed[-1] if parsed.placed else None
            early = self.relative_to_previous(index, previous) or self.span(index)
            counted = early[0] if early is not None else None
            if early is not None and isinstance(counted, Count):
                index = early[1]
                if counted.unit == "day":
                    parsed.counts.append(counted.count)
                    parsed.vague.append("duration")
                else:
                    parsed.vague.append("vague")  # "2 semaines": which ones?
                    parsed.attached_vague = True
                last_end = index
                continue
            vague = None if early is not None else self.vague_at(index)
            if vague is not None:
                parsed.vague.append(vague[0])
                parsed.attached_vague = True
                index = vague[1]
                continue
            if self.word(index, "except"):
                excluded = True
                index += 1
                continue
            found: tuple[Item, int] | None = None
            if early is not None and not isinstance(early[0], Count):
                found = early[0], early[1]
            for rule in (self.every, self.range_, self.period, self.point):
                if found is not None:
                    break
                found = rule(index)
            if found is None:
                if token.kind == "other" and token.text in VAGUE_WORDS:
                    detail = "holidays" if token.text in ("vacances", "holidays") else "vague"
                    parsed.vague.append(detail)
                elif token.kind == "month":
                    parsed.vague.append("month_only")
                    parsed.attached_vague = True
                elif self.is_plural_weekday_at(index):
                    parsed.vague.append("open_ended")
                index += 1
                continue
            item, end = found
            between = self.tokens[last_end:index]
            glue = frozenset(
                str(t.value) for t in between if t.kind in ("word", "punct") and t.value
            )
            clean = all(
                (t.kind == "word" and t.value in _GLUE_WORDS)
                or (t.kind == "punct" and t.value in _GLUE_PUNCT)
                for t in between
            )
            if isinstance(item, Vague):
                parsed.vague.append(item.detail)
                if item.detail in ("open_ended", "vague"):
                    parsed.attached_vague = True
            else:
                parsed.placed.append(Placed(item, index, end, excluded, glue, clean))
            last_end = end
            index = max(end, index + 1)
        _share_modifiers(parsed.placed)
        _propagate_months(parsed.placed)
        parsed.placed = _bind_periods(parsed.placed)
        return parsed

    def is_plural_weekday_at(self, index: int) -> bool:
        """True for a plural weekday ("mercredis") at `index`."""
        token = self.tok(index)
        return token is not None and is_plural_weekday(token)


def _month_before(month: int, year: int | None) -> tuple[int, int | None]:
    """The month before, with its year when known."""
    if month > 1:
        return month - 1, year
    return 12, None if year is None else year - 1


def _lend_month(point: Point, month: int, year: int | None, next_day: int) -> Point:
    """Give a bare day the month of the next day written ("les 3, 10 et 17 décembre")."""
    assert point.day is not None
    if point.day > next_day:
        month, year = _month_before(month, year)
    return replace(point, month=month, year=year)


def _propagate_months(placed: list[Placed]) -> None:
    """Lend each explicit month to the bare days written just before it, right to left."""
    carry: tuple[int, int | None, int] | None = None  # month, year, day of the next item
    for entry in reversed(placed):
        item = entry.item
        if isinstance(item, Range) and item.start is not None and item.end is not None:
            end = item.end
            if item.start.bare_day and end.bare_day and carry is not None:
                item.end = _lend_month(end, *carry)
                item.start = _lend_month(item.start, carry[0], carry[1], item.end.day or 31)
            first = item.start
        elif isinstance(item, Point):
            if carry is not None and item.bare_day:
                entry.item = item = _lend_month(item, *carry)
            first = item
        else:
            carry = None
            continue
        linked = entry.clean and entry.glue <= _LIST_GLUE
        dated = first.month is not None and first.day is not None and first.offset is None
        carry = None
        if linked and dated and first.month is not None and first.day is not None:
            carry = (first.month, first.year, first.day)


def _share_modifiers(placed: list[Placed]) -> None:
    """ "mardi et jeudi prochains": the modifier written last applies to the whole list."""
    for position in range(len(placed) - 1, 0, -1):
        item = placed[position].item
        if not (isinstance(item, Point) and item.modifier in ("next", "last", "en8", "en15")):
            continue
        if item.day is not None:
            continue
        run = position
        while run > 0:
            previous = placed[run - 1].item
            linked = placed[run].clean and placed[run].glue <= _LIST_GLUE
            if not (linked and isinstance(previous, Point) and previous.bare_weekday):
                break
            placed[run - 1].item = replace(previous, modifier=item.modifier)
            run -= 1


def _bindable(item: Item) -> bool:
    """True for bare days, weekdays and ranges of them (they can take a period)."""
    if isinstance(item, Point):
        return item.bare_day or item.bare_weekday
    if isinstance(item, Range) and item.start is not None and item.end is not None:
        return _bindable(item.start) and _bindable(item.end)
    return False


def _bind(item: Item, period: Period) -> Item:
    """The item placed inside `period`."""
    if isinstance(item, Point):
        return replace(item, within=period)
    assert isinstance(item, Range) and item.start is not None and item.end is not None
    return Range(replace(item.start, within=period), replace(item.end, within=period))


_BIND_AFTER = frozenset({"de", "du", "of", "in", "the", ",", "en"})
_BIND_BEFORE = frozenset({",", "the", "in"})
_LIST_GLUE = frozenset({",", "and", "the"})


def _bind_periods(placed: list[Placed]) -> list[Placed]:
    """Put bare days in the week/month written right after or before them."""
    result: list[Placed] = []
    index = 0
    while index < len(placed):
        entry = placed[index]
        item = entry.item
        if (
            isinstance(item, Period)
            and entry.clean
            and entry.glue <= _BIND_AFTER
            and result
            and _bindable(result[-1].item)
            and result[-1].excluded == entry.excluded
        ):
            # Bind the run of bare items before the period.
            run_start = len(result) - 1
            while (
                run_start > 0
                and result[run_start].clean
                and result[run_start].glue <= _LIST_GLUE
                and _bindable(result[run_start - 1].item)
            ):
                run_start -= 1
            for position in range(run_start, len(result)):
                result[position].item = _bind(result[position].item, item)
            index += 1
            continue
        if isinstance(item, Period) and item.kind == "week":
            run_end = index + 1
            while run_end < len(placed):
                following = placed[run_end]
                allowed = _BIND_BEFORE if run_end == index + 1 else _LIST_GLUE
                if not (
                    following.clean
                    and following.glue <= allowed
                    and isinstance(following.item, Point)
                    and following.item.bare_weekday
                ):
                    break
                run_end += 1
            if run_end > index + 1:
                for following in placed[index + 1 : run_end]:
                    following.item = _bind(following.item, item)
                    result.append(following)
                index = run_end
                continue
        result.append(entry)
        index += 1
    return result


def parse(tokens: list[Token]) -> Parsed:
    """Read the items of a tokenised message."""
    return _Parser(tokens).parse()
