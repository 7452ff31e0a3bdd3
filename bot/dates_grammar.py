"""Grammar of date phrases for `bot.dates`: tokens become points, ranges, periods, recurrences.

Nothing here knows today's date: the items keep what the parent wrote ("le 12", "mercredi
prochain", "du 21 au 24 décembre") and `bot.dates` resolves them against `today`.
Unknown words are skipped, so whole sentences work; the link between two items is kept
(`Placed.glue`) so that "les 3, 10 et 17 décembre" lends the month to 3 and 10, and
"lundi et mardi de la semaine prochaine" puts both days in that week.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.dates_lexicon import (
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
# ("mercredi qui vient", "le prochain mercredi"), "en8"/"en15" = a week/two after the coming one.
Modifier = str


@dataclass
class Period:
    """A week, a weekend or a month, named relatively or by an anchor / a month name."""

    kind: str  # "week" | "weekend" | "month"
    ref: str | None = None  # "this" | "next" | "last"
    anchor: Point | None = None  # "la semaine du 14 décembre"
    month: int | None = None
    year: int | None = None


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

    @property
    def bare_day(self) -> bool:
        """A day number without month ("le 12", "mercredi 9")."""
        return (
            self.day is not None
            and self.month is None
            and self.offset is None
            and self.within is None
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
class Every:
    """Given weekdays (None: every day) within a scope ("tous les mercredis de janvier")."""

    weekdays: frozenset[int] | None
    scope: Range | Period | None


@dataclass
class Vague:
    """A phrase that names no precise days ("mi-décembre", "bientôt", "à partir de lundi")."""

    detail: str  # "vague" | "open_ended" | "holidays" | "month_only"


Item = Point | Range | Period | Every | Vague


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
        if self.word(j, "this", "next", "last") and self.kind(j + 1, "weekday"):
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
            if starter == "from" and self.word(j, "du", "de"):
                j += 1
        if self.word(j, "until"):
            end = self.point(j + 1, loose=True)
            if end is None or not isinstance(end[0], Point):
                return None
            return Range(None, end[0]), end[1]
        loose = starter is not None or self.range_to(j + 1) or self.range_to(j + 2)
        start = self.point(j, loose=loose)
        if start is None or not isinstance(start[0], Point):
            return None
        first, k = start
        joined = self.range_to(k) or (starter == "between" and self.word(k, "and"))
        if joined:
            end = self.point(k + 1, loose=True)
            if end is not None and isinstance(end[0], Point):
                last = end[0]
                if first.bare_day and last.month is not None and last.day is not None:
                    first = _lend_month(first, last.month, last.year, last.day)
                return Range(first, last), end[1]
        if starter == "from":
            if self.tokens[index].text in ("depuis", "since"):
                return Range(first, None, since=True), k
            return Vague("open_ended"), k
        return None

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
        if self.word(j, "this", "next", "last"):
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
        if self.word(index, "dapres"):
            return "vague", index + 1  # "et celle d'après", "la suivante"
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
            vague = self.vague_at(index)
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
            for rule in (self.every, self.range_, self.period, self.point):
                found = rule(index)
                if found is not None:
                    break
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
