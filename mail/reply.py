"""What a staff member wrote in a reply, without the history their mail client appended.

The robust rule is to cut at what we sent. A reply answers one of our notifications, whose
words are known when the reply comes in (`Sent`: the guardians' messages of the thread, the
names, subject and dates the notification showed, our fixed sentences, our reply address):
the part of the reply that repeats them is history, whatever the client's language, quoting
and line wrapping. Words are compared in runs of three, not lines: case, accents,
punctuation, `>` markers and where a client wrapped a line or turned HTML into text do not
matter. Names (a service, a family) may be in what the staff member writes too ("Restauration
scolaire" under their name): they add to a history found otherwise, never start one.

- Unquoted history (Outlook, Samsung, Zimbra without quoting, a phone or a gateway that sent
  the history as is) starts at the first line repeating what a guardian wrote from which most
  of the remaining words are ours, or at a line with our address; the paragraphs just above
  that head it (an attribution, a header block, a separator, our notification's first line)
  go with it.
- A quoted block (`> ...`) is history when an attribution heads it, it repeats our words,
  holds our address, a header block or a separator, or it is three lines or more and nothing
  the staff member wrote follows it; every quoted block below it is history too (an answer
  written between quotes is kept). Lines starting with `>` that the staff member wrote ("> 18
  ans", ">>> voir ci-dessous", a short table between their own lines) are kept.

The markers that mail clients write are the second line of defence, for a reply whose
history we cannot match (an older notification, a forwarded message), in French, English,
German, Spanish, Italian, Portuguese, Dutch and Polish: attributions ("Le … a écrit :", "On …
wrote:", "Am … schrieb …:", "El … escribió:", "Il … ha scritto:", "Em … escreveu:", "Op …
schreef …:", "W dniu … pisze:"), header blocks ("De : / Envoyé : / À : / Objet :", "From: /
Sent:", "Von: / Gesendet:", "Van: / Verzonden:", "Da: / Inviato:", "Od: / Wysłano:", a webmail's
"Message du : / Copie à : / Sujet :", Outlook.com's block starting with "Date :"), separators
("-----Original Message-----", "----- Mail original -----", "Begin forwarded message:", …),
an attribution on the same line as the text, and the mobile footers ("Envoyé de mon iPhone",
"Von meinem iPhone gesendet", "Enviado desde mi", "Inviato da", "Wysłane z", …), which end
what was written. Then the signature (from a `-- ` line) goes. The closing words a person
typed ("Cordialement, Sophie Martin") stay: they tell the parent who answered.

Our reply address (`reply+<token>@…`, known or not) and any address of our mail domain never
reach the parent: unquoted, such a line starts the history; whatever is left holding one is
dropped.

`tests/data/replies/` holds the corpus this is measured on (`bench/reply_reduction.py`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Words of a known text are matched in runs of this many (shorter runs match by chance).
RUN = 3
# A line repeats what we sent when this share of its words does.
KNOWN_LINE = 0.6
# Unquoted history starts at a line repeating what a guardian wrote nearly word for word.
START_LINE = 0.8
# Unquoted history: from its first line on, this share of the words repeats what we sent.
KNOWN_REST = 0.5
# A quoted block repeating this share of our words is history.
KNOWN_QUOTE = 0.5
# A quoted block this long that ends the reply is history even when nothing else tells it.
QUOTE_LINES = 3
# Our fixed sentences must cover this many words of a known history (else an attribution,
# header block or address must head it): a parent's words pasted in an answer are no history.
FIXED_WORDS = 6
MAX_HEAD_LINES = 4
# Only this much of a body is read (a reply is a few lines; what follows this much quoted
# history is not read, and a reply left empty is set aside, not relayed).
MAX_CHARS = 200_000
# A line of ours heading a history has this many words at least (a name alone may be the
# staff member's signature: "Restauration scolaire").
MIN_KNOWN_HEAD = 4

QUOTED = re.compile(r"^\s*>")
SIGNATURE = re.compile(r"^--\s*$")
UNDERSCORES = re.compile(r"^[\s_\-=*]{8,}$")
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
REPLY_ADDRESS = re.compile(r"reply\+[A-Za-z0-9_-]{8,}@[\w.-]+", re.IGNORECASE)
TIME = re.compile(r"\b\d{1,2}\s?[:hH.]\s?\d{2}\b|[٠-٩]{1,2}:[٠-٩]{2}")
YEAR = re.compile(r"\b(?:19|20)\d{2}\b|[٠-٩]{4}")
WORD = re.compile(r"[^\W_]+")

# "… a écrit :", "… wrote:", in the languages our staff's clients speak.
VERB = (
    r"(?:a\s+[ée]crit|wrote|writes|schrieb|geschrieben|escribi[óo]|ha\s+scritto|scrisse|"
    r"escreveu|schreef|het\s+volgende\s+geschreven|pisze|napisa[łl](?:\s*\(a\)|a)?|"
    r"napisana\s+przez|كتب)"
)
ATTRIBUTION_VERB = re.compile(VERB, re.IGNORECASE)
ATTRIBUTION_END = re.compile(r"[:：]\s*$")
# Where an attribution may start: its first word, capitalised (one glued to the end of the
# text, "Merci. Le mar. 24 nov. … a écrit :", starts at one of these too).
ATTRIBUTION_WORD = re.compile(r"(?:(?<=\s)|^)(?:-\s*)?(?:Le|On|Am|El|Il|Em|Op|W dniu|Dnia)\s")
ATTRIBUTION_START = re.compile(
    r"^(?:-\s*)?(?:le|on|am|el|il|em|op|w\s+dniu|dnia)\s.{4,300}?" + VERB + r"[^:\n]{0,120}[:：]",
    re.IGNORECASE,
)

# Header lines ("De : …"), by what they name; a block has several of them.
HEADER_KEYS = {
    "from": r"from|de|von|van|da|od|exp[ée]diteur|absender|remitente|mittente|remetente|"
    r"afzender|nadawca|message du",
    "date": r"date|datum|data|fecha|sent|envoy[ée](?:\s+le)?|gesendet|verzonden|verstuurd|"
    r"inviato(?:\s+il)?|enviad[oa](?:\s+(?:el|em))?|enviados|enviadas|wys[łl]ano|wys[łl]ane",
    "to": r"to|[àa]|an|aan|para|do|pour|destinataires?|empf[äa]nger|destinatari[oa]?|"
    r"destinat[áa]rio|ontvanger|adresat",
    "cc": r"cc|bcc|cci|ccn|cco|copie(?:\s+[àa])?|kopie|dw|udw",
    "subject": r"subject|objet|sujet|betreff|onderwerp|oggetto|asunto|assunto|temat|tema",
    "reply": r"reply-to|r[ée]pondre\s+[àa]|antwort\s+an|responder\s+a|rispondi\s+a|"
    r"beantwoorden|odpowied[źz]\s+do",
}
HEADER = re.compile(
    r"^[\s*>]*(?:" + "|".join(f"(?P<{name}>{keys})" for name, keys in HEADER_KEYS.items()) + r")"
    r"[\s*]*[:：](?:[\s*]|$)",
    re.IGNORECASE,
)
HEADER_WINDOW = 7
SEPARATOR = re.compile(
    r"^[\s>*]*-{1,}\s*(?:original message|message d['’]origine|message original|mail original|"
    r"courriel original|ursprüngliche (?:nachricht|mail)|originalnachricht|mensaje original|"
    r"messaggio originale|mensagem original|oorspronkelijk bericht|origineel bericht|"
    r"oryginalna wiadomość|wiadomość oryginalna|forwarded message|message transf[ée]r[ée]|"
    r"weitergeleitete (?:nachricht|mail)|mensaje reenviado|messaggio inoltrato|"
    r"mensagem (?:re)?encaminhada|doorgestuurd bericht|przekazana wiadomość|"
    r"wiadomość przekazana)\s*-{1,}[\s*]*$"
    r"|^[\s>*]*(?:d[ée]but du message r[ée]exp[ée]di[ée]|begin forwarded message|"
    r"anfang der weitergeleiteten (?:nachricht|e-mail)|(?:inicio|comienzo) del mensaje "
    r"reenviado|inizio messaggio inoltrato|in[íi]cio da mensagem (?:re)?encaminhada|"
    r"begin doorgestuurd bericht|początek przekazywanej wiadomości)\s*:[\s*]*$",
    re.IGNORECASE,
)
DEVICE = (
    r"(?:\S+\s+){0,3}?(?:iphone|ipad|ipod|smartphone|mobile|portable|android|samsung|galaxy|"
    r"appareil|handy|telefon|telefoon|telefone|telem[óo]vel|celular|m[óo]vil|cellulare|"
    r"outlook|yahoo|gmail|aol|gmx|web\.de|orange|free|sfr|bouygues|huawei|xiaomi|blackberry|"
    r"mail|courrier|tablet|tablette|tablete|tableta|appli|app|aplikacji)"
)
MOBILE_FOOTER = re.compile(
    r"^(?:envoy[ée]\s+(?:de|depuis|à partir de|avec|via)\s+" + DEVICE + r".{0,60}"
    r"|sent\s+(?:from|with|via|using)\s+" + DEVICE + r".{0,60}"
    r"|(?:get|t[ée]l[ée]charger|obtenir|obtener|ottieni|obter|download|pobierz)\s+"
    r"(?:o\s+|l['’]app\s+|aplikacj[eę]\s+)?outlook.{0,60}"
    r"|outlook\s+(?:f[üu]r|voor|for|pour|para|per|dla)\s+\S+\s+"
    r"(?:beziehen|herunterladen|downloaden|ophalen).{0,20}"
    r"|von\s+meinem\s+.{1,40}\s+gesendet.{0,20}"
    r"|gesendet\s+(?:von|mit|vom)\s+" + DEVICE + r".{0,60}"
    r"|enviado\s+(?:desde|con|do|da|pelo|a partir d[oe]l?)\s+" + DEVICE + r".{0,60}"
    r"|inviato\s+(?:da|dal|dal mio|con|tramite)\s+" + DEVICE + r".{0,60}"
    r"|(?:verzonden|verstuurd)\s+(?:vanaf|met|van|via)\s+" + DEVICE + r".{0,60}"
    r"|wys[łl]an[eoa]\s+(?:z|ze|przez)\s+" + DEVICE + r".{0,60})$",
    re.IGNORECASE,
)
TRAILING_LINK = re.compile(r"\s*<https?://[^>]*>\s*$")


@dataclass(frozen=True)
class Sent:
    """What we sent that a reply may quote back.

    `texts`: what the guardians wrote, that the notifications carried; `names`: the subject,
    service, authors, dates and family lines they showed (short: they may also be in what
    the staff member writes, so they only add to a history found otherwise). Our fixed
    sentences are added here. `addresses`: our reply address, or any other of ours; every
    address at their domains is taken as ours too (the inbound server answers for the whole
    mail domain)."""

    texts: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        texts: Iterable[str] = (),
        names: Iterable[str] = (),
        addresses: Iterable[str] = (),
    ) -> Sent:
        return cls(
            tuple(t for t in texts if t),
            tuple(n for n in names if n),
            tuple(a.strip().lower() for a in addresses if a),
        )


def normalize(text: str) -> str:
    """Unix new lines, no trailing spaces, no invisible characters, non-breaking spaces plain."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\xa0", " ").replace("\u202f", " ")
    text = re.sub(r"[\u200b\u200c\u200d\u200e\u200f\u2060\ufeff]", "", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def words(text: str) -> list[str]:
    """The words of a text, lower case, without accents."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return WORD.findall(plain)


@functools.cache
def fixed_runs() -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """Runs of words of the sentences every notification carries (the staff emails' catalog
    entries, in French and English, without their placeholders), and their two-word pieces
    ("sur Telegram")."""
    from conversations.kit.texts import CATALOG

    runs: set[tuple[str, ...]] = set()
    pairs: set[tuple[str, ...]] = set()
    for key, sentences in CATALOG.items():
        if not key.startswith("staffmail."):
            continue
        for sentence in sentences.values():
            for piece in re.split(r"\{[^}]*\}", sentence):
                runs |= _runs(words(piece))
                pairs |= _pair(words(piece))
    return frozenset(runs), frozenset(pairs)


def _runs(sequence: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(sequence[i : i + RUN]) for i in range(len(sequence) - RUN + 1)}


def _pair(sequence: Sequence[str]) -> set[tuple[str, ...]]:
    """A two-word name ("Centres de" is no name: only a whole one counts)."""
    return {tuple(sequence)} if len(sequence) == 2 else set()


class _Known:
    """Which words of each line repeat what we sent: any of it, what was written (the
    guardians' texts and our fixed sentences), our fixed sentences alone."""

    def __init__(self, lines: Sequence[str], sent: Sent, markers_only: bool = False):
        written: set[tuple[str, ...]] = set()
        names: set[tuple[str, ...]] = set()
        pairs: set[tuple[str, ...]] = set()
        fixed: frozenset[tuple[str, ...]] = frozenset()
        if not markers_only:
            for text in sent.texts:
                written |= _runs(words(text))
            for name in sent.names:
                names |= _runs(words(name))
                pairs |= _pair(words(name))
            fixed, fixed_pairs = fixed_runs()
            pairs |= fixed_pairs
        stream = [(index, word) for index, line in enumerate(lines) for word in words(line)]
        self.total = [0] * len(lines)
        self.covered = [0] * len(lines)
        self.written = [0] * len(lines)
        self.fixed = [0] * len(lines)
        marks = [0] * len(stream)  # 1: a name, 2: written, 4: fixed (or-ed)
        for index, _ in stream:
            self.total[index] += 1
        if written or names or fixed:
            for start in range(len(stream) - 1):
                run = tuple(word for _, word in stream[start : start + RUN])
                mark = (run in names) | (run in written) << 1 | (run in fixed) << 2
                if mark:
                    for offset in range(len(run)):
                        marks[start + offset] |= mark
                elif run[:2] in pairs:  # a two-word name: only adds to what is known
                    marks[start] |= 1
                    marks[start + 1] |= 1
        for position, (index, _) in enumerate(stream):
            mark = marks[position]
            self.covered[index] += bool(mark)
            self.written[index] += bool(mark & 6)
            self.fixed[index] += bool(mark & 4)

    def line(self, index: int) -> bool:
        """The line repeats what we sent."""
        return self._enough(self.covered[index], self.total[index])

    def written_line(self, index: int) -> bool:
        """The line repeats, nearly word for word, what was written (not only names or dates
        we showed): a staff member echoing a few of the parent's words adds their own."""
        total = self.total[index]
        return self._enough(self.written[index], total) and (
            self.written[index] >= START_LINE * total
        )

    @staticmethod
    def _enough(covered: int, total: int) -> bool:
        return total > 0 and covered >= min(RUN, total) and covered >= KNOWN_LINE * total

    def share(self, indexes: Iterable[int]) -> tuple[float, int]:
        """The share of the words of these lines that repeat what we sent, and how many of
        them are our fixed sentences."""
        chosen = list(indexes)
        total = sum(self.total[i] for i in chosen)
        if not total:
            return 0.0, 0
        return sum(self.covered[i] for i in chosen) / total, sum(self.fixed[i] for i in chosen)


class _Reply:
    """A reply's lines, and what tells its history apart."""

    def __init__(self, text: str, sent: Sent, markers_only: bool = False):
        self.lines = _unglue_attributions(normalize(text).split("\n"))
        self.sent = sent
        self.domains = {a.rpartition("@")[2] for a in sent.addresses if "@" in a}
        self.known = _Known(self.lines, sent, markers_only)
        self._rest: tuple[list[int], list[int], list[int]] | None = None

    # Lines ----------------------------------------------------------------------------------

    def blank(self, index: int) -> bool:
        return not self.lines[index].strip()

    def quoted(self, index: int) -> bool:
        return bool(QUOTED.match(self.lines[index]))

    def ours(self, line: str) -> bool:
        """The line holds our reply address or an address of our mail domain."""
        if REPLY_ADDRESS.search(line):
            return True
        lowered = line.lower()
        if any(address in lowered for address in self.sent.addresses):
            return True
        return any(
            email.rpartition("@")[2].lower() in self.domains for email in EMAIL.findall(line)
        )

    def paragraph_above(self, index: int) -> tuple[int, int] | None:
        """(first, last) line of the paragraph above `index`, blank lines skipped."""
        last = index - 1
        while last >= 0 and self.blank(last):
            last -= 1
        if last < 0:
            return None
        first = last
        while first > 0 and not self.blank(first - 1):
            first -= 1
        return first, last

    def attribution(self, first: int, last: int, *, loose: bool) -> bool:
        """Lines first..last are an attribution ("Le …, X a écrit :" with a time or an
        address). `loose` (where history is known to follow): also one without them, and in
        any language a line ending with a colon that holds a time and a year or an address."""
        if last - first >= MAX_HEAD_LINES:
            return False
        joined = " ".join(line.strip(" >") for line in self.lines[first : last + 1]).strip()
        if not joined or len(joined) > 400 or not ATTRIBUTION_END.search(joined):
            return False
        if ATTRIBUTION_VERB.search(joined) and (TIME.search(joined) or EMAIL.search(joined)):
            return True
        if self.ours(joined):
            return True
        if not loose:
            return False
        # Above a quote: "Le 3 déc., X a écrit :" without a time; in any language, a time
        # with a year or an address.
        if ATTRIBUTION_START.match(joined) and ATTRIBUTION_END.search(joined):
            return True
        return bool(TIME.search(joined)) and bool(YEAR.search(joined) or EMAIL.search(joined))

    def header_block(self, index: int) -> bool:
        """A header block ("De : / Envoyé : / À : / Objet :") starts at `index`."""
        first = HEADER.match(self.lines[index])
        if first is None:
            return False
        kinds = {first.lastgroup}
        seen = 1
        count = 1
        for line in self.lines[index + 1 :]:
            if seen >= HEADER_WINDOW or not line.strip():
                break
            seen += 1
            found = HEADER.match(line)
            if found:
                count += 1
                kinds.add(found.lastgroup)
        if count >= 3 and len(kinds & {"from", "date", "subject"}) >= 2:
            return True
        # "De : … / Envoyé : … / À : …" with our address: ours whatever its keys.
        block = self.lines[index : index + seen]
        return count >= 2 and any(self.ours(line) for line in block)

    def attribution_tail(self, first: int, last: int) -> int | None:
        """Where an attribution closing the paragraph first..last starts (it may follow the
        staff member's text without a blank line), or None. The longest one whose first line
        can start an attribution: a capitalised "Le/On/Am…", or a date, time or address."""
        found = None
        for start in range(last, max(first, last - MAX_HEAD_LINES + 1) - 1, -1):
            line = self.lines[start].strip(" >")
            opening = (
                ATTRIBUTION_WORD.match(line)
                or re.search(r"\d", line)
                or EMAIL.search(line)
                or self.ours(line)
            )
            if opening and self.attribution(start, last, loose=True):
                found = start
        return found

    def history_tail(self, first: int, last: int) -> int | None:
        """Where, in the paragraph first..last, the history heading lines begin: an
        attribution closing it, or all of it when it repeats our notification; from a
        separator, a header block or a line with our address down. None when the paragraph
        is the staff member's."""
        lines = range(first, last + 1)
        if all(self.known.line(i) and self.known.total[i] >= MIN_KNOWN_HEAD for i in lines):
            return first
        for index in lines:
            line = self.lines[index]
            if SEPARATOR.match(line) or UNDERSCORES.match(line) or self.ours(line):
                return index
            if self.header_block(index):
                return index
        return self.attribution_tail(first, last)

    def head_of(self, index: int) -> int:
        """`index` starts some history: the first line of the paragraphs heading it."""
        start = index
        while True:
            above = self.paragraph_above(start)
            if above is None:
                return start
            first, last = above
            quoted = [i for i in range(first, last + 1) if self.quoted(i)]
            if quoted:
                # Only the lines below the quote (which `drop_quotes` judges) may head this.
                if quoted[-1] == last:
                    return start
                tail = self.history_tail(quoted[-1] + 1, last)
                return start if tail is None else tail
            tail = self.history_tail(first, last)
            if tail is None:
                return start
            start = tail
            if tail > first:  # the top of the paragraph is the staff member's
                return start

    def unquoted_history(self) -> int:
        """The first line of the history appended without quotes (len(lines) if none)."""
        count = len(self.lines)
        for index in range(count):
            line = self.lines[index]
            if not line.strip() or self.quoted(index):
                continue
            if SEPARATOR.match(line) or self.header_block(index):
                return self.head_of(index)
            if MOBILE_FOOTER.match(_footer_text(line)):
                return index
            if self.ours(line):
                first = self._paragraph_start(index)
                tail = self.attribution_tail(first, index)
                if tail is not None and self._quote_follows(index):
                    continue  # the attribution of a quote: `drop_quotes` takes both
                return self.head_of(index if tail is None else tail)
            started = self._attribution_at(index)
            if started is not None:
                first, last = started
                after = last + 1
                while after < count and self.blank(after):
                    after += 1
                if after < count and not self.quoted(after):
                    return self.head_of(first)
            if self.known.written_line(index) and self._known_paragraph(index):
                return self.head_of(index)
        return count

    def _quote_follows(self, index: int) -> bool:
        """The next line after `index` that is not blank is quoted."""
        for following in range(index + 1, len(self.lines)):
            if not self.blank(following):
                return self.quoted(following)
        return False

    def _paragraph_start(self, index: int) -> int:
        while index > 0 and not self.blank(index - 1) and not self.quoted(index - 1):
            index -= 1
        return index

    def _attribution_at(self, index: int) -> tuple[int, int] | None:
        """The attribution (over 1 to 4 lines) starting at `index`, if one does."""
        line = self.lines[index].strip()
        length = attribution_prefix(line)
        if length is not None and line[length:].strip():
            return index, index  # an attribution with text after it on its line
        for last in range(index, min(index + MAX_HEAD_LINES, len(self.lines))):
            if last > index and (self.blank(last) or self.quoted(last)):
                return None
            if self.attribution(index, last, loose=False):
                return index, last
        return None

    def _known_paragraph(self, index: int) -> bool:
        """The rest of the paragraph starting at `index` repeats what we sent too (a parent's
        sentence pasted above the staff member's own answer is not history), and from there
        on the unquoted text is mostly ours."""
        following = index + 1
        while following < len(self.lines) and not self.blank(following):
            if not self.quoted(following) and not self.known.line(following):
                return False
            following += 1
        return self._known_from(index)

    def _known_from(self, index: int) -> bool:
        """From `index` on, the unquoted text is mostly ours: our notification, unquoted."""
        if self._rest is None:
            self._rest = self._unquoted_sums()
        total, covered, fixed = (sums[index] for sums in self._rest)
        if not total or covered < KNOWN_REST * total:
            return False
        return fixed >= FIXED_WORDS or self.head_of(index) < index

    def _unquoted_sums(self) -> tuple[list[int], list[int], list[int]]:
        """Per line, the words of the unquoted lines from it to the end: in all, repeating
        what we sent, of our fixed sentences (one pass, however long the history)."""
        count = len(self.lines)
        total, covered, fixed = [0] * (count + 1), [0] * (count + 1), [0] * (count + 1)
        for index in range(count - 1, -1, -1):
            own = 0 if self.quoted(index) else 1
            total[index] = total[index + 1] + own * self.known.total[index]
            covered[index] = covered[index + 1] + own * self.known.covered[index]
            fixed[index] = fixed[index + 1] + own * self.known.fixed[index]
        return total, covered, fixed

    def drop_quotes(self, end: int) -> list[str]:
        """Lines before `end` without the quoted history and the attributions heading it."""
        keep = [True] * end
        in_history = False
        index = 0
        while index < end:
            if not self.quoted(index):
                index += 1
                continue
            last = index
            while last + 1 < end and self.quoted(last + 1):
                last += 1
            above = self.paragraph_above(index)
            head = None
            if above is not None and not any(
                self.quoted(i) for i in range(above[0], above[1] + 1)
            ):
                head = self.attribution_tail(*above)
            if in_history or head is not None or self._quoted_history(index, last, end):
                in_history = True
                for i in range(index, last + 1):
                    keep[i] = False
                if head is not None and above is not None:
                    for i in range(head, above[1] + 1):
                        keep[i] = False
            index = last + 1
        return [line for line, kept in zip(self.lines[:end], keep, strict=True) if kept]

    def _ends(self, start: int, end: int) -> bool:
        """Nothing the staff member wrote follows `start` (before `end`): blank or quoted
        lines, a signature, a mobile footer."""
        for index in range(start, end):
            line = self.lines[index]
            if SIGNATURE.match(line):
                return True
            own = line.strip() and not self.quoted(index)
            if own and not MOBILE_FOOTER.match(_footer_text(line)):
                return False
        return True

    def _quoted_history(self, first: int, last: int, end: int) -> bool:
        """The quoted lines first..last, which no attribution heads, are history: they hold
        our words, our address, a header block or a separator, or they are a long quote that
        ends the reply. (A quote between the staff member's own lines is theirs to keep.)"""
        lines = range(first, last + 1)
        if last - first + 1 >= QUOTE_LINES and self._ends(last + 1, end):
            return True
        if any(self.ours(self.lines[i]) or SEPARATOR.match(self.lines[i]) for i in lines):
            return True
        if any(self.header_block(i) or self._attribution_at(i) for i in lines):
            return True
        share, _ = self.known.share(lines)
        return share >= KNOWN_QUOTE and sum(self.known.covered[i] for i in lines) >= RUN


def attribution_prefix(text: str) -> int | None:
    """The length of the attribution `text` starts with ("Le …, X a écrit :" with a time or
    an address in it), or None."""
    found = ATTRIBUTION_START.match(text)
    if found is None or not (TIME.search(found.group()) or EMAIL.search(found.group())):
        return None
    return found.end()


def _unglue_attributions(lines: list[str]) -> list[str]:
    """An attribution written on the same line as the text goes to a line of its own."""
    out: list[str] = []
    for line in lines:
        if not QUOTED.match(line):
            for start in ATTRIBUTION_WORD.finditer(line):
                before = line[: start.start()]
                if before.strip() and attribution_prefix(line[start.start() :]) is not None:
                    out += [before.rstrip(), line[start.start() :]]
                    break
            else:
                out.append(line)
            continue
        out.append(line)
    return out


def _footer_text(line: str) -> str:
    """A line without a trailing `<https://...>` link, as Outlook mobile writes its footer."""
    return TRAILING_LINK.sub("", line.strip())


def _drop_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if SIGNATURE.match(line):
            return lines[:index]
    return lines


def _tidy(lines: list[str]) -> str:
    """No leading or trailing blank lines, no decorative rules at the end, one blank at most."""
    while lines and (not lines[-1].strip() or UNDERSCORES.match(lines[-1])):
        lines.pop()
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def reduce_reply(text: str, sent: Sent | None = None, *, markers_only: bool = False) -> str:
    """Only the new text of a reply: history, quotes, signature and mobile footers removed.

    `sent`: what we sent that the reply may quote (the robust rule); without it, our fixed
    sentences and the mail clients' markers tell the history. `markers_only`: the markers
    alone (to measure the second line of defence)."""
    reply = _Reply(text[:MAX_CHARS], sent or Sent(), markers_only)
    lines = reply.drop_quotes(reply.unquoted_history())
    lines = _drop_signature(lines)
    lines = [line for line in lines if not MOBILE_FOOTER.match(_footer_text(line))]
    lines = [line for line in lines if not reply.ours(line)]
    return _tidy(lines)
