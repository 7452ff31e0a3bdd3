"""A mail part's bytes to text, even when its declared charset is wrong.

Mail clients and gateways get the charset wrong in a few usual ways: UTF-8 text labelled
ISO-8859-1 or US-ASCII, Windows-1252 text labelled UTF-8, a Central European text
(Windows-1250, ISO-8859-2) labelled as Western, or no label at all. The order:

1. Text that is valid UTF-8 is UTF-8, whatever the label says: non-ASCII bytes that happen to
   form valid UTF-8 are vanishingly rare in any other charset (UTF-16 and UTF-32, which a
   label does tell, excepted).
2. Otherwise the declared charset and the usual single-byte ones of our staff's languages
   (Windows-1252, ISO-8859-15, Windows-1250, ISO-8859-2, the old Mac Roman) are tried; the
   one whose text has the fewest characters foreign to those languages wins, the declared
   one on a tie.
3. When every one of them leaves foreign characters (another script: Cyrillic, Greek,
   Arabic, Hebrew, Turkish, Baltic), `charset-normalizer` guesses among those scripts' usual
   charsets, and its guess is taken if it reads as that script.

Short texts are too short for a statistical guess alone (charset-normalizer reads a
Portuguese "inscrição" as Windows-1250 "inscriçăo"): hence the letters our languages use
decide first.
"""

from __future__ import annotations

import codecs
import unicodedata

from charset_normalizer import from_bytes

# Single-byte charsets tried when the text is not UTF-8, after the declared one.
USUAL = ("cp1252", "iso8859_15", "cp1250", "iso8859_2", "mac_roman")
# Other scripts' usual charsets, among which charset-normalizer guesses (left free, it reads a
# short Russian text as Japanese).
OTHER_SCRIPTS = (
    "cp1251",
    "koi8_r",
    "koi8_u",
    "iso8859_5",
    "cp1253",
    "iso8859_7",
    "cp1256",
    "iso8859_6",
    "cp1255",
    "iso8859_8",
    "cp1254",
    "cp1257",
)
# Labels read as their superset (what the sending software really meant).
SUPERSETS = {"iso8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
# Letters of French, English, German, Spanish, Italian, Portuguese, Dutch and Polish, and the
# punctuation their texts use beyond ASCII.
OUR_LETTERS = frozenset(
    "àâäæçéèêëîïôœùûüÿÀÂÄÆÇÉÈÊËÎÏÔŒÙÛÜŸáíóúñÁÍÓÚÑ¿¡ãõÃÕßòìÒÌºª"
    "ąćęłńśźżĄĆĘŁŃŚŹŻ"
    "«»‹›–—‘’‚“”„…•·°€£§©®™×÷±µ¼½¾"
)


def _codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip('"').lower()).name
    except LookupError:
        return None
    return SUPERSETS.get(name, name)


def foreign(text: str) -> int:
    """How many characters of `text` are neither ASCII nor of our languages' letters and
    punctuation (letters of other scripts count only when they are mixed with Latin words)."""
    count = 0
    for index, char in enumerate(text):
        if char.isascii():
            continue
        if char in OUR_LETTERS:
            # A symbol glued to the letters of a word ("£ukasz", "s±") is a letter misread.
            following = text[index + 1 : index + 2]
            if unicodedata.category(char)[0] == "S" and following.isalpha():
                count += 1
            continue
        category = unicodedata.category(char)
        if category in ("Lu", "Ll", "Lo") and "LATIN" not in unicodedata.name(char, "LATIN"):
            continue  # a letter of another script: judged by charset-normalizer, below
        if category.startswith("Z"):
            continue
        count += 1
    return count


def decode_text(payload: bytes, declared: str | None) -> str:
    """The text of a part's bytes (see the module's docstring); never fails."""
    if payload.isascii():
        return payload.decode("ascii")
    codec = _codec(declared)
    if codec is not None and codec.startswith(("utf-16", "utf-32")):
        return payload.decode(codec, errors="replace")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = [c for c in (codec, *USUAL) if c is not None and c != "utf-8"]
    readings: list[tuple[int, int, str]] = []
    for order, candidate in enumerate(dict.fromkeys(candidates)):
        try:
            text = payload.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        readings.append((foreign(text), order, text))
    best = min(readings, default=None)
    if best is not None and best[0] == 0:
        return best[2]
    guess = from_bytes(payload, cp_isolation=list(OTHER_SCRIPTS)).best()
    if guess is not None:
        guessed = str(guess)
        if best is None or _other_script(guessed) or foreign(guessed) < best[0]:
            return guessed
    if best is not None:
        return best[2]
    return payload.decode("utf-8", errors="replace")


def _other_script(text: str) -> bool:
    """Most letters of `text` are of a script other than Latin (Cyrillic, Greek, Arabic…)."""
    letters = [c for c in text if c.isalpha() and not c.isascii()]
    others = [c for c in letters if "LATIN" not in unicodedata.name(c, "LATIN")]
    return bool(letters) and len(others) * 2 > len(letters)
