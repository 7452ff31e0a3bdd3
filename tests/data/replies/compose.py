"""How the corpus of staff replies was written: `python tests/data/replies/compose.py`.

The corpus is the files beside this script (`*.eml`, `*.expected.txt`, `index.yaml`); this
script wrote them and can write them again after a case is added to `CASES`. Each reply
answers one of the notifications of `threads.yaml`, whose text is written by the product's own
`mail.staff_mail` from the thread's facts, as the service received it. Each mail client quotes
it its own way, in its own language (attribution, header block, separator, `>` quoting or
none, line wrapping, HTML, mobile footer, charset and transfer encoding), from what these
clients write; the staff member's words, in `CASES`, are the expected reduced text. A few
cases are irregular on purpose (an attribution glued to the text, a `>` line the staff member
wrote, a wrong charset, a client language the reducer has no markers for).

Nothing here is copied from a public corpus: the mails are written for this project.
"""

from __future__ import annotations

import html
import sys
import textwrap
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from mail.staff_mail import _join, channel_words, family_lines, words  # noqa: E402
from store.deadlines import format_moment  # noqa: E402
from store.messaging import _subject  # noqa: E402
from store.models.enums import Channel  # noqa: E402
from store.staff_notices import FamilyFacts  # noqa: E402

HERE = Path(__file__).parent
PARIS = ZoneInfo("Europe/Paris")
DOMAIN = "portail-famille.example"
OUR_NAME = "Portail Famille"
OUR_FROM = f"ne-pas-repondre@{DOMAIN}"
OUTLOOK_LINK = "<https://aka.ms/o0ukef>"

WEEKDAYS = {
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "pt": "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
    "nl": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    "pl": "poniedziałek wtorek środa czwartek piątek sobota niedziela",
    "sv": "måndag tisdag onsdag torsdag fredag lördag söndag",
    "da": "mandag tirsdag onsdag torsdag fredag lørdag søndag",
}
MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre "
    "novembre dicembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
    "nl": "januari februari maart april mei juni juli augustus september oktober november "
    "december",
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia",
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "da": "januar februar marts april maj juni juli august september oktober november december",
}
SHORT_MONTHS = {
    "fr": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "de": "Jan. Feb. März Apr. Mai Juni Juli Aug. Sept. Okt. Nov. Dez.",
    "es": "ene feb mar abr may jun jul ago sept oct nov dic",
    "it": "gen feb mar apr mag giu lug ago set ott nov dic",
    "pt": "jan. fev. mar. abr. mai. jun. jul. ago. set. out. nov. dez.",
    "nl": "jan feb mrt apr mei jun jul aug sep okt nov dec",
    "pl": "sty lut mar kwi maj cze lip sie wrz paź lis gru",
}
SHORT_DAYS = {
    "fr": "lun. mar. mer. jeu. ven. sam. dim.",
    "en": "Mon Tue Wed Thu Fri Sat Sun",
    "de": "Mo. Di. Mi. Do. Fr. Sa. So.",
    "es": "lun mar mié jue vie sáb dom",
    "it": "lun mar mer gio ven sab dom",
    "pt": "seg. ter. qua. qui. sex. sáb. dom.",
    "nl": "ma di wo do vr za zo",
    "pl": "pon. wt. śr. czw. pt. sob. niedz.",
}


def stable(name: str) -> int:
    """A number made from a name, the same at every run (for Message-IDs)."""
    return zlib.crc32(name.encode()) * 7919 + len(name)


def _pick(table: dict[str, str], lang: str, index: int) -> str:
    return table[lang].split(" ")[index]


# Threads and their notifications ------------------------------------------------------------


@dataclass
class Thread:
    """A thread of threads.yaml and the notification the staff member answers."""

    id: str
    facts: dict[str, Any]
    sent_at: datetime
    subject: str
    text: str
    service: str
    service_email: str
    token: str

    @property
    def reply_to(self) -> str:
        return f"reply+{self.token}@{DOMAIN}"

    @property
    def message_id(self) -> str:
        return f"<thread-{self.facts['thread_id']}@{DOMAIN}>"

    @property
    def lines(self) -> list[str]:
        return self.text.rstrip("\n").split("\n")


def load_threads() -> dict[str, Thread]:
    threads = {}
    for facts in yaml.safe_load((HERE / "threads.yaml").read_text("utf-8")):
        messages = facts["messages"]
        first, last = messages[0], messages[-1]
        if _subject(first["body"]) != facts["subject"]:
            raise SystemExit(f"{facts['id']}: subject should be {_subject(first['body'])!r}")
        family = FamilyFacts(
            0,
            facts["family"]["code"],
            facts["family"]["name"],
            tuple(facts["guardians"]),
            tuple(facts["children"]),
        )
        at = last["at"]
        at = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        intro = words(
            "staffmail.message.intro",
            author=last["author"],
            service=facts["service"],
            channel=channel_words(Channel(last["channel"])),
            when=format_moment(at, "fr"),
        )
        text = _join(
            [intro],
            [last["body"]],
            family_lines(family),
            [
                words("staffmail.message.reply_hint"),
                words("staffmail.message.thread", thread_id=facts["thread_id"]),
            ],
        )
        subject = words("staffmail.subject.message", family=family.name, subject=facts["subject"])
        if len(messages) > 1:
            subject = words("staffmail.subject.follow_up", subject=subject)
        threads[facts["id"]] = Thread(
            facts["id"],
            facts,
            at.astimezone(PARIS),
            subject,
            text,
            facts["service"],
            facts["service_email"],
            facts["token"],
        )
    return threads


# The staff member's side ----------------------------------------------------------------------


@dataclass
class Staff:
    name: str
    address: str


STAFF = {
    "sophie": Staff("Sophie Martin", "sophie.martin@mairie-montclar.fr"),
    "nadia": Staff("Nadia Belkacem", "n.belkacem@mairie-montclar.fr"),
    "julien": Staff("Julien Roux", "j.roux@mairie-montclar.fr"),
    "yasmina": Staff("Yasmina Haddad", "y.haddad@mairie-montclar.fr"),
    "mehdi": Staff("Mehdi Aït Ouali", "m.aitouali@mairie-montclar.fr"),
    "free": Staff("Régie Montclar", "regie.montclar@free.fr"),
    "orange": Staff("Accueil Mairie", "mairie.montclar@orange.fr"),
    "sfr": Staff("ALAE Montclar", "alae.montclar@sfr.fr"),
    "laposte": Staff("Centre de loisirs", "cdl.montclar@laposte.net"),
}


@dataclass
class Case:
    """One reply: who answers what, from which client, and the words they wrote."""

    name: str
    client: str
    lang: str
    thread: str
    text: str  # what the staff member wrote, as the parent must read it
    staff: str = "sophie"
    sig: str | None = None  # a "-- " signature, dropped
    layout: str = "top"  # top | bottom | inline
    inline: list[tuple[int, int, str]] = field(default_factory=list)  # (from, to, answer)
    form: str = "both"  # plain | html | both
    variant: str = ""
    note: str = ""


# Dates as the clients write them -----------------------------------------------------------


def d(thread: Thread) -> datetime:
    return thread.sent_at


def hm(at: datetime) -> str:
    return f"{at:%H:%M}"


def gmail_attribution(lang: str, at: datetime) -> str:
    wd, mo = at.weekday(), at.month - 1
    who = f"{OUR_NAME} <{OUR_FROM}>"
    day, year, time = at.day, at.year, hm(at)
    sd = SHORT_DAYS.get(lang, "")
    sm = SHORT_MONTHS.get(lang, "")
    if lang == "fr":
        return f"Le {sd.split()[wd]} {day} {sm.split()[mo]} {year} à {time}, {who} a écrit :"
    if lang == "en":
        hour = at.hour % 12 or 12
        ampm = "AM" if at.hour < 12 else "PM"
        return (
            f"On {sd.split()[wd]}, {sm.split()[mo]} {day}, {year} at {hour}:{at:%M} {ampm} "
            f"{who} wrote:"
        )
    if lang == "de":
        return f"Am {sd.split()[wd]}, {day}. {sm.split()[mo]} {year} um {time} Uhr schrieb {who}:"
    if lang == "es":
        return (
            f"El {sd.split()[wd]}, {day} {sm.split()[mo]} {year} a las {time}, {OUR_NAME} "
            f"(<{OUR_FROM}>) escribió:"
        )
    if lang == "it":
        return (
            f"Il giorno {sd.split()[wd]} {day} {sm.split()[mo]} {year} alle ore {time} {who} "
            "ha scritto:"
        )
    if lang == "pt":
        return (
            f"Em {sd.split()[wd]}, {day} de {sm.split()[mo]} de {year} às {time}, {who} escreveu:"
        )
    if lang == "nl":
        return f"Op {sd.split()[wd]} {day} {sm.split()[mo]} {year} om {time} schreef {who}:"
    if lang == "pl":
        return f"{sd.split()[wd]}, {day} {sm.split()[mo]} {year} o {time} {who} napisał(a):"
    if lang == "ar":
        digits = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
        date = f"{day} نوفمبر {year}".translate(digits) if at.month == 11 else f"{day}"
        if at.month == 12:
            date = f"{day} ديسمبر {year}".translate(digits)
        clock = f"{at.hour % 12 or 12}:{at:%M}".translate(digits)
        who = f"\u202a{OUR_NAME}\u202c <\u202a{OUR_FROM}\u202c>"
        return f"في الثلاثاء، {date} في {clock} ص كتب {who}:"
    if lang == "tr":
        weekday = ["Pzt", "Sal", "Çar", "Per", "Cum", "Cmt", "Paz"][wd]
        months = ["Oca", "Şub", "Mar", "Nis", "May", "Haz", "Tem", "Ağu", "Eyl", "Eki"]
        month = [*months, "Kas", "Ara"][mo]
        return f"{who}, {day} {month} {year} {weekday}, {time} tarihinde şunu yazdı:"
    raise KeyError(lang)


def apple_attribution(lang: str, at: datetime) -> str:
    who = f"{OUR_NAME} <{OUR_FROM}>"
    day, year, time, mo = at.day, at.year, hm(at), at.month - 1
    sm = SHORT_MONTHS[lang].split() if lang in SHORT_MONTHS else []
    return {
        "fr": f"Le {day} {sm[mo] if sm else ''} {year} à {time}, {who} a écrit :",
        "en": f"On {day} {sm[mo] if sm else ''} {year}, at {time}, {who} wrote:",
        "de": f"Am {at:%d.%m.%Y} um {time} schrieb {who}:",
        "es": f"El {day} {sm[mo] if sm else ''} {year}, a las {time}, {who} escribió:",
        "it": f"Il giorno {day} {sm[mo] if sm else ''} {year}, alle ore {time}, {who} ha scritto:",
        "pt": f"Em {day} de {sm[mo] if sm else ''} de {year}, à(s) {time}, {who} escreveu:",
        "nl": f"Op {day} {sm[mo] if sm else ''} {year} om {time} heeft {who} het volgende "
        "geschreven:",
        "pl": f"Wiadomość napisana przez {who} w dniu {at:%d.%m.%Y}, o godz. {time}:",
    }[lang]


def thunderbird_attribution(lang: str, at: datetime) -> str:
    time = hm(at)
    return {
        "fr": f"Le {at:%d/%m/%Y} à {time}, {OUR_NAME} a écrit :",
        "en": f"On {at:%d/%m/%Y} {time}, {OUR_NAME} wrote:",
        "de": f"Am {at:%d.%m.%y} um {time} schrieb {OUR_NAME}:",
        "es": f"El {at:%d/%m/%y} a las {time}, {OUR_NAME} escribió:",
        "it": f"Il {at:%d/%m/%y} {time}, {OUR_NAME} ha scritto:",
        "pt": f"Em {at:%d/%m/%Y} {time}, {OUR_NAME} escreveu:",
        "nl": f"Op {at:%d-%m-%Y} om {time} schreef {OUR_NAME}:",
        "pl": f"W dniu {at:%d.%m.%Y} o {time}, {OUR_NAME} pisze:",
    }[lang]


def roundcube_attribution(lang: str, at: datetime) -> str:
    stamp = f"{at:%Y-%m-%d %H:%M}"
    return {
        "fr": f"Le {stamp}, {OUR_NAME} a écrit :",
        "en": f"On {stamp}, {OUR_NAME} wrote:",
        "de": f"Am {stamp}, schrieb {OUR_NAME}:",
        "es": f"El {stamp}, {OUR_NAME} escribió:",
        "it": f"Il {stamp} {OUR_NAME} ha scritto:",
        "pt": f"Em {stamp}, {OUR_NAME} escreveu:",
        "nl": f"Op {stamp}, schreef {OUR_NAME}:",
        "pl": f"W dniu {stamp}, {OUR_NAME} napisał(a):",
    }[lang]


def long_date(lang: str, at: datetime) -> str:
    """Outlook's "Sent:" date in its language."""
    wd, mo, day, year, time = at.weekday(), at.month - 1, at.day, at.year, hm(at)
    if lang == "cs":
        return f"{at:%d.%m.%Y} {time}"
    if lang == "ar":
        return f"{at:%d/%m/%Y} {time}"
    weekday, month = _pick(WEEKDAYS, lang, wd), _pick(MONTHS, lang, mo)
    if lang == "en":
        hour = at.hour % 12 or 12
        return f"{weekday}, {month} {day}, {year} {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"
    if lang == "de":
        return f"{weekday}, {day}. {month} {year} {time}"
    if lang in ("es", "pt"):
        return f"{weekday}, {day} de {month} de {year} {time}"
    if lang == "pl":
        return f"{weekday}, {day} {month} {year} {time}"
    if lang == "sv":
        return f"den {day} {month} {year} {time}"
    if lang == "da":
        return f"{day}. {month} {year} {time}"
    if lang == "cs":
        return f"{at:%d.%m.%Y} {time}"
    if lang == "ar":
        return f"{at:%d/%m/%Y} {time}"
    return f"{weekday} {day} {month} {year} {time}"


OUTLOOK_KEYS = {
    "fr": ("De", "Envoyé", "À", "Cc", "Objet", " "),
    "en": ("From", "Sent", "To", "Cc", "Subject", ""),
    "de": ("Von", "Gesendet", "An", "Cc", "Betreff", ""),
    "es": ("De", "Enviado el", "Para", "CC", "Asunto", ""),
    "it": ("Da", "Inviato", "A", "Cc", "Oggetto", ""),
    "pt": ("De", "Enviado", "Para", "Cc", "Assunto", ""),
    "nl": ("Van", "Verzonden", "Aan", "CC", "Onderwerp", ""),
    "pl": ("Od", "Wysłano", "Do", "DW", "Temat", ""),
    "sv": ("Från", "Skickat", "Till", "Kopia", "Ämne", ""),
    "da": ("Fra", "Sendt", "Til", "Cc", "Emne", ""),
    "cs": ("Od", "Odesláno", "Komu", "Kopie", "Předmět", ""),
    "ar": ("من", "تم الإرسال", "إلى", "نسخة", "الموضوع", ""),
}
OUTLOOK_ORIGINAL = {
    "fr": "-----Message d'origine-----",
    "en": "-----Original Message-----",
    "de": "-----Ursprüngliche Nachricht-----",
    "es": "-----Mensaje original-----",
    "it": "-----Messaggio originale-----",
    "pt": "-----Mensagem original-----",
    "nl": "-----Oorspronkelijk bericht-----",
    "pl": "-----Wiadomość oryginalna-----",
}
OUTLOOK_MOBILE = {
    "fr": "Obtenir Outlook pour iOS",
    "en": "Get Outlook for iOS",
    "de": "Outlook für iOS beziehen",
    "es": "Obtener Outlook para iOS",
    "it": "Ottieni Outlook per iOS",
    "pt": "Obter o Outlook para iOS",
    "nl": "Outlook voor iOS downloaden",
    "pl": "Pobierz aplikację Outlook dla systemu iOS",
}
IPHONE = {
    "fr": "Envoyé de mon iPhone",
    "en": "Sent from my iPhone",
    "de": "Von meinem iPhone gesendet",
    "es": "Enviado desde mi iPhone",
    "it": "Inviato da iPhone",
    "pt": "Enviado do meu iPhone",
    "nl": "Verstuurd vanaf mijn iPhone",
    "pl": "Wysłane z iPhone’a",
}
SAMSUNG = {
    "fr": ("Envoyé depuis mon appareil Galaxy", "-------- Message d'origine --------", "Date"),
    "en": ("Sent from my Galaxy", "-------- Original message --------", "Date"),
    "de": ("Von meinem Galaxy gesendet", "-------- Ursprüngliche Nachricht --------", "Datum"),
    "es": ("Enviado desde mi Galaxy", "-------- Mensaje original --------", "Fecha"),
    "it": ("Inviato dal mio Galaxy", "-------- Messaggio originale --------", "Data"),
    "pt": ("Enviado do meu Galaxy", "-------- Mensagem original --------", "Data"),
    "nl": ("Verzonden vanaf mijn Galaxy", "-------- Oorspronkelijk bericht --------", "Datum"),
    "pl": ("Wysłane z mojego Galaxy", "-------- Oryginalna wiadomość --------", "Data"),
}
ZIMBRA = {
    "fr": ("----- Mail original -----", "De", "À", "Envoyé", "Objet"),
    "en": ("----- Original Message -----", "From", "To", "Sent", "Subject"),
    "de": ("----- Ursprüngliche Mail -----", "Von", "An", "Gesendet", "Betreff"),
    "es": ("----- Mensaje original -----", "De", "Para", "Enviados", "Asunto"),
    "it": ("----- Messaggio originale -----", "Da", "A", "Inviato", "Oggetto"),
    "pt": ("----- Mensagem original -----", "De", "Para", "Enviadas", "Assunto"),
    "nl": ("----- Oorspronkelijk bericht -----", "Van", "Aan", "Verzonden", "Onderwerp"),
    "pl": ("----- Oryginalna wiadomość -----", "Od", "Do", "Wysłane", "Temat"),
}
REPLY_PREFIX = {
    "fr": "RE",
    "en": "RE",
    "de": "AW",
    "es": "RE",
    "it": "R",
    "pt": "RE",
    "nl": "RE",
    "pl": "RE",
    "sv": "SV",
    "da": "SV",
}


# Text shapes ----------------------------------------------------------------------------------


def quote(lines: list[str], prefix: str = "> ", width: int | None = None) -> list[str]:
    out = []
    for line in lines:
        if not line:
            out.append(prefix.rstrip())
            continue
        pieces = (
            textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
            if width
            else [line]
        )
        out += [prefix + piece for piece in pieces]
    return out


def wrap(text: str, width: int = 76) -> list[str]:
    out = []
    for line in text.split("\n"):
        out += textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
    return out


OWN = "\x00"  # marks a line the staff member wrote, never a quote, for `flowed`


def flowed(lines: list[str], width: int = 72) -> str:
    """format=flowed (RFC 3676): soft breaks end with a space; quoted lines keep their `>`;
    a line of the staff member's own starting with `>` (marked `OWN`) is space-stuffed."""
    out = []
    for line in lines:
        own = line.startswith(OWN)
        line = line.removeprefix(OWN)
        depth = 0 if own else len(line) - len(line.lstrip(">"))
        content = line[depth:].lstrip(" ") if depth else line
        prefix = ">" * depth + (" " if depth else "")
        if content == "-- ":
            out.append(content)
            continue
        pieces = textwrap.wrap(
            content, width - len(prefix), break_long_words=False, break_on_hyphens=False
        )
        if not pieces:
            out.append(prefix.rstrip())
            continue
        if not depth and pieces[0].startswith((" ", "From ", ">")):
            pieces[0] = " " + pieces[0]
        out += [prefix + piece + " " for piece in pieces[:-1]] + [prefix + pieces[-1]]
    return "\n".join(out)


def html_lines(lines: list[str], tag: str = "div") -> str:
    return "".join(f"<{tag}>{html.escape(line, quote=False) or '<br>'}</{tag}>" for line in lines)


def html_br(lines: list[str]) -> str:
    return "<br>\n".join(html.escape(line, quote=False) for line in lines)


def text_with_sig(case: Case, own: bool = False) -> list[str]:
    lines = [OWN + line if own else line for line in case.text.split("\n")]
    if case.sig:
        lines += ["", "-- ", *case.sig.split("\n")]
    return lines


# Messages -------------------------------------------------------------------------------------


def envelope(case: Case, thread: Thread, message_id: str, at: datetime) -> EmailMessage:
    staff = STAFF[case.staff]
    message = EmailMessage()
    message["From"] = f"{staff.name} <{staff.address}>"
    message["To"] = f"{OUR_NAME} <{thread.reply_to}>"
    prefix = REPLY_PREFIX.get(case.lang, "Re") if case.client.startswith("outlook") else "Re"
    message["Subject"] = f"{prefix}: {thread.subject}"
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    message["In-Reply-To"] = thread.message_id
    message["References"] = thread.message_id
    return message


def body(
    message: EmailMessage,
    plain: str | None,
    html_text: str | None,
    *,
    charset: str = "utf-8",
    cte: str = "quoted-printable",
    flowed_text: bool = False,
) -> EmailMessage:
    params = {"format": "flowed"} if flowed_text else {}
    if plain is not None:
        message.set_content(plain, charset=charset, cte=cte, params=params)
        if html_text is not None:
            message.add_alternative(html_text, subtype="html", charset=charset, cte=cte)
    else:
        assert html_text is not None
        message.set_content(html_text, subtype="html", charset=charset, cte=cte)
    return message


def reply_time(thread: Thread) -> datetime:
    return thread.sent_at.replace(minute=(thread.sent_at.minute + 23) % 60)


def gmail(case: Case, thread: Thread) -> EmailMessage:
    at = thread.sent_at
    attribution = gmail_attribution(case.lang, at)
    quoted = quote(thread.lines, width=74)
    mine = text_with_sig(case)
    if case.variant == "glued":
        # The attribution left on the text's last line (a client that lost the line break).
        plain_lines = [*mine[:-1], f"{mine[-1]} {attribution}", *quoted]
    elif case.layout == "bottom":
        plain_lines = [*wrap(attribution), *quoted, "", *mine]
    elif case.layout == "inline":
        plain_lines = [*wrap(attribution)]
        for start, end, answer in case.inline:
            plain_lines += [*quote(thread.lines[start:end], width=74), "", *answer.split("\n"), ""]
        plain_lines.pop()
    else:
        plain_lines = [*mine, "", *wrap(attribution), *quoted]
    plain = "\n".join(plain_lines) + "\n"
    gmail_quote = (
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        f"{html.escape(attribution, quote=False)}<br></div>"
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
        f'rgb(204,204,204);padding-left:1ex">{html_br(thread.lines)}</blockquote></div>'
    )
    if case.layout == "bottom":
        html_text = f'<div dir="ltr">{gmail_quote}<div><br></div>{html_lines(mine)}</div>'
    else:
        html_text = f'<div dir="ltr">{html_lines(mine)}</div><br>{gmail_quote}'
    message = envelope(
        case,
        thread,
        f"<CAJ{stable(case.name) % 10**12:012d}Gm8@mail.gmail.com>",
        reply_time(thread),
    )
    return body(
        message,
        None if case.form == "html" else plain,
        None if case.form == "plain" else html_text,
    )


def outlook_header(case: Case, thread: Thread, lang: str | None = None) -> list[str]:
    lang = lang or case.lang
    keys = OUTLOOK_KEYS[lang]
    space = keys[5]
    sender = f"{OUR_NAME} <{OUR_FROM}>"
    if case.variant == "reply-to-shown":
        sender = f"{OUR_NAME} <{thread.reply_to}>"
    lines = [
        f"{keys[0]}{space}: {sender}",
        f"{keys[1]}{space}: {long_date(lang, thread.sent_at)}",
        f"{keys[2]}{space}: {thread.service} <{thread.service_email}>",
        f"{keys[4]}{space}: {thread.subject}",
    ]
    if case.variant == "date-first":
        lines = [
            f"Date{space}: {long_date(lang, thread.sent_at)}",
            f"{keys[0]}{space}: {sender}",
            f"{keys[2]}{space}: {thread.service} <{thread.service_email}>",
            f"{keys[4]}{space}: {thread.subject}",
        ]
    return lines


def outlook(case: Case, thread: Thread) -> EmailMessage:
    """Outlook desktop (Windows): history below a header block, unquoted; windows-1252."""
    header = outlook_header(case, thread)
    mine = text_with_sig(case)
    if case.variant == "original-message":
        plain_lines = [*mine, "", OUTLOOK_ORIGINAL[case.lang], *header, "", *thread.lines]
    elif case.variant == "own-earlier-reply":
        # Answering again from the Sent folder: the first answer, to our reply address, shows.
        keys = OUTLOOK_KEYS[case.lang]
        staff = STAFF[case.staff]
        first = [
            f"{keys[0]}{keys[5]}: {staff.name} <{staff.address}>",
            f"{keys[1]}{keys[5]}: {long_date(case.lang, reply_time(thread))}",
            f"{keys[2]}{keys[5]}: {OUR_NAME} <{thread.reply_to}>",
            f"{keys[4]}{keys[5]}: {REPLY_PREFIX[case.lang]}: {thread.subject}",
        ]
        earlier = case.note.split("\n")
        plain_lines = [
            *mine,
            "",
            *first,
            "",
            *earlier,
            "",
            *header,
            "",
            *thread.lines,
        ]
    else:
        plain_lines = [*mine, "", *header, "", *thread.lines]
    plain = "\r\n".join(plain_lines) + "\r\n"
    keys = OUTLOOK_KEYS[case.lang]
    head_html = "<br>\n".join(
        f"<b>{html.escape(line.split(':', 1)[0], quote=False)}:</b>"
        f"{html.escape(line.split(':', 1)[1], quote=False)}"
        for line in header
    )
    html_text = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt;} --></style></head>"
        f'<body lang="{case.lang.upper()}"><div class="WordSection1">'
        + "".join(
            f'<p class="MsoNormal">{html.escape(line, quote=False) or "<o:p>&nbsp;</o:p>"}</p>'
            for line in mine
        )
        + '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        f'<p class="MsoNormal">{head_html}</p></div><p class="MsoNormal">&nbsp;</p>'
        f"<div>{html_br(thread.lines)}</div></div></body></html>"
    )
    message = envelope(
        case,
        thread,
        f"<PR3P195MB{stable(case.name) % 10**10:010d}@PR3P195MB0851.EURP195.PROD.OUTLOOK.COM>",
        reply_time(thread),
    )
    message["Thread-Topic"] = thread.subject
    message["Thread-Index"] = "AQHbPeOaXy2vL7o3JkKcvR0b5xk5TQ=="
    message["Content-Language"] = {"en": "en-US", "pt": "pt-PT"}.get(
        case.lang, f"{case.lang}-{case.lang.upper()}"
    )
    charset = "windows-1252" if case.lang in ("fr", "en", "de", "es", "it", "pt", "nl") else None
    try:
        plain.encode(charset or "utf-8")
    except UnicodeEncodeError:
        charset = None
    return body(
        message,
        None if case.form == "html" else plain,
        None if case.form == "plain" else html_text,
        charset=charset or "utf-8",
    )


def outlook_web(case: Case, thread: Thread) -> EmailMessage:
    """Outlook on the web / Outlook.com: a rule of underscores, then the header block."""
    header = outlook_header(case, thread)
    mine = text_with_sig(case)
    rule = "_" * 32
    if case.variant == "no-blank-before-rule":
        plain_lines = [*mine, rule, *header, "", *thread.lines]
    elif case.variant == "no-header":
        # A gateway that turned the reply into text lost the header block: only the rule.
        plain_lines = [*mine, "", rule, "", *thread.lines]
    else:
        plain_lines = [*mine, "", rule, *header, "", *thread.lines]
    plain = "\n".join(plain_lines) + "\n"
    head_html = "<br>\n".join(
        f"<b>{html.escape(line.split(':', 1)[0], quote=False)}:</b>"
        f"{html.escape(line.split(':', 1)[1], quote=False)}"
        for line in header
    )
    html_text = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        '</style></head><body dir="ltr">'
        + "".join(
            '<div style="font-family: Aptos, Calibri, Helvetica, sans-serif; font-size: 12pt;">'
            f"{html.escape(line, quote=False) or '<br>'}</div>"
            for line in mine
        )
        + '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"'
        f' color="#000000">{head_html}</font><div>&nbsp;</div></div>'
        f'<div class="PlainText">{html_br(thread.lines)}</div></body></html>'
    )
    message = envelope(
        case,
        thread,
        f"<AM9P190MB{stable(case.name) % 10**10:010d}@AM9P190MB1234.EURP190.PROD.OUTLOOK.COM>",
        reply_time(thread),
    )
    message["Content-Language"] = f"{case.lang}-{case.lang.upper()}"
    return body(
        message,
        None if case.form == "html" else plain,
        None if case.form == "plain" else html_text,
    )


def outlook_mobile(case: Case, thread: Thread) -> EmailMessage:
    header = outlook_header(case, thread)
    header[1] = f"{OUTLOOK_KEYS[case.lang][1]}{OUTLOOK_KEYS[case.lang][5]}: " + long_date(
        "en", thread.sent_at
    )
    mine = text_with_sig(case)
    plain_lines = [
        *mine,
        "",
        OUTLOOK_MOBILE[case.lang] + OUTLOOK_LINK,
        "_" * 32,
        *header,
        "",
        *thread.lines,
    ]
    html_text = (
        f'<html><body><div dir="ltr">{html_lines(mine)}</div><div dir="ltr"><br></div>'
        f'<div id="ms-outlook-mobile-signature"><div dir="ltr">'
        f'<a href="https://aka.ms/o0ukef">{OUTLOOK_MOBILE[case.lang]}</a></div></div>'
        '<div id="mail-editor-reference-message-container"><hr style="display:inline-block;'
        'width:98%"><div id="divRplyFwdMsg">'
        + "<br>".join(html.escape(line, quote=False) for line in header)
        + f"</div><div>{html_br(thread.lines)}</div></div></body></html>"
    )
    message = envelope(
        case,
        thread,
        f"<DB9PR10MB{stable(case.name) % 10**10:010d}@DB9PR10MB7345.EURPRD10.PROD.OUTLOOK.COM>",
        reply_time(thread),
    )
    return body(message, "\n".join(plain_lines) + "\n", html_text)


def iphone(case: Case, thread: Thread) -> EmailMessage:
    """Apple Mail on iPhone: footer, then the attribution inside the quote (or, forwarded
    through a gateway, the history unquoted)."""
    attribution = apple_attribution(case.lang, thread.sent_at)
    mine = case.text.split("\n")
    if case.variant == "unquoted-history":
        history = [attribution, "", "\ufeff" + thread.lines[0], *thread.lines[1:]]
    else:
        history = quote([attribution, "", "\ufeff" + thread.lines[0], *thread.lines[1:]])
    plain_lines = [*mine, "", IPHONE[case.lang], "", *history]
    html_text = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        f'<body dir="auto">{html_lines(mine)}<div><br></div>'
        f'<div dir="ltr">{html.escape(IPHONE[case.lang], quote=False)}</div><div dir="ltr"><br>'
        '<blockquote type="cite">'
        f"{html.escape(attribution, quote=False)}<br><br></blockquote></div>"
        f'<blockquote type="cite"><div dir="ltr">{html_br(thread.lines)}</div></blockquote>'
        "</body></html>"
    )
    message = envelope(
        case,
        thread,
        f"<5E1C{stable(case.name) % 10**8:08d}-6B2A-4C41-9F7D-0D3A8E2B1C55@mairie-montclar.fr>",
        reply_time(thread),
    )
    message["X-Mailer"] = "iPhone Mail (22B83)"
    plain = "\n".join(plain_lines) + "\n"
    return body(message, plain, None if case.form == "plain" else html_text)


def apple_mail(case: Case, thread: Thread) -> EmailMessage:
    """Apple Mail on macOS: the attribution inside the quote."""
    attribution = apple_attribution(case.lang, thread.sent_at)
    mine = text_with_sig(case)
    quoted = quote([attribution, "", *thread.lines])
    plain_lines = [*quoted, "", *mine] if case.layout == "bottom" else [*mine, "", *quoted]
    html_text = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: '
        f'after-white-space;">{html_lines(mine)}<div><br><blockquote type="cite"><div>'
        f'{html.escape(attribution, quote=False)}</div><br class="Apple-interchange-newline">'
        f"<div><div>{html_br(thread.lines)}</div></div></blockquote></div><br></body></html>"
    )
    message = envelope(
        case,
        thread,
        f"<8A3F{stable(case.name) % 10**8:08d}-21B4-4E0C-A8D1-7C2F5B9E0A13@mairie-montclar.fr>",
        reply_time(thread),
    )
    message["X-Mailer"] = "Apple Mail (2.3826.300.87.4)"
    return body(
        message,
        None if case.form == "html" else "\n".join(plain_lines) + "\n",
        None if case.form == "plain" else html_text,
    )


def thunderbird(case: Case, thread: Thread) -> EmailMessage:
    """Thunderbird: format=flowed, attribution then `> ` quoting, "-- " signature."""
    attribution = thunderbird_attribution(case.lang, thread.sent_at)
    mine = text_with_sig(case, own=True)
    quoted = quote(thread.lines)
    if case.layout == "bottom":
        lines = [attribution, *quoted, "", *mine]
    elif case.layout == "inline":
        lines = [attribution]
        for start, end, answer in case.inline:
            own = [OWN + line for line in answer.split("\n")]
            lines += [*quote(thread.lines[start:end]), "", *own, ""]
        lines.pop()
        if case.sig:
            lines += ["", "-- ", *case.sig.split("\n")]
    else:
        lines = [*mine, "", attribution, *quoted]
    message = envelope(
        case,
        thread,
        f"<b7e2{stable(case.name) % 10**8:08d}-4c1e-9a55-2f3d8e0b6a71@mairie-montclar.fr>",
        reply_time(thread),
    )
    message["User-Agent"] = "Mozilla Thunderbird"
    message["Content-Language"] = case.lang
    charset = "windows-1252" if case.variant == "cp1252" else "utf-8"
    return body(message, flowed(lines) + "\n", None, charset=charset, cte="8bit", flowed_text=True)


def zimbra(case: Case, thread: Thread) -> EmailMessage:
    """Zimbra webmail: "----- Mail original -----" and its header block; history quoted with
    `> ` or not, as the user chose."""
    separator, from_key, to_key, sent_key, subject_key = ZIMBRA[case.lang]
    at = thread.sent_at
    weekday = _pick(WEEKDAYS, case.lang, at.weekday()).capitalize()
    month = _pick(MONTHS, case.lang, at.month - 1).capitalize()
    header = [
        separator,
        f'{from_key}: "{OUR_NAME}" <{OUR_FROM}>',
        f'{to_key}: "{thread.service}" <{thread.service_email}>',
        f"{sent_key}: {weekday} {at.day} {month} {at.year} {at:%H:%M:%S}",
        f"{subject_key}: {thread.subject}",
    ]
    history = quote(thread.lines) if case.variant == "quoted" else thread.lines
    mine = text_with_sig(case)
    plain = "\n".join([*mine, "", *header, "", *history]) + "\n"
    html_text = (
        '<html><body><div style="font-family: arial, helvetica, sans-serif; font-size: 12pt; '
        f'color: #000000">{html_lines(mine)}<div><br></div>'
        '<hr id="zwchr" data-marker="__DIVIDER__">'
        '<div data-marker="__HEADERS__"><blockquote style="border-left:2px solid #1010FF;'
        "margin-left:5px;padding-left:5px;color:#000;font-weight:normal;font-style:normal;"
        'text-decoration:none;font-family:Helvetica,Arial,sans-serif;font-size:12pt;">'
        + "<br>".join(
            f"<b>{html.escape(line.split(':', 1)[0], quote=False)}: </b>"
            f"{html.escape(line.split(':', 1)[1].strip(), quote=False)}"
            for line in header[1:]
        )
        + f'<br></blockquote></div><div data-marker="__QUOTED_TEXT__"><blockquote '
        f'style="border-left:2px solid #1010FF;margin-left:5px;padding-left:5px;">'
        f"{html_br(thread.lines)}</blockquote></div></div></body></html>"
    )
    message = envelope(
        case,
        thread,
        f"<{stable(case.name) % 10**10}.2291847.1795525541000.JavaMail.zimbra@mairie-montclar.fr>",
        reply_time(thread),
    )
    message["X-Mailer"] = "Zimbra 9.0.0_GA_4546 (ZimbraWebClient - FF120 (Win)/9.0.0_GA_4546)"
    return body(
        message,
        None if case.form == "html" else plain,
        None if case.form == "plain" else html_text,
        cte="base64" if case.form == "html" else "quoted-printable",
    )


def free(case: Case, thread: Thread) -> EmailMessage:
    """Free's webmail (Zimbra): "- Le …, X a écrit :" then quoted lines."""
    at = thread.sent_at
    month = _pick(SHORT_MONTHS, "en", at.month - 1)
    attribution = f"- Le {at.day} {month} {at:%y}, à {hm(at)}, {OUR_NAME} {OUR_FROM} a écrit :"
    mine = text_with_sig(case)
    if case.variant == "mail-original":
        plain_lines = [
            *mine,
            "",
            "----- Mail original -----",
            f"De: {OUR_NAME} <{OUR_FROM}>",
            f"À: {STAFF[case.staff].address}",
            f"Envoyé: {_pick(WEEKDAYS, 'fr', at.weekday()).capitalize()} {at.day} "
            f"{_pick(MONTHS, 'fr', at.month - 1).capitalize()} {at.year} {at:%H:%M:%S}",
            f"Objet: {thread.subject}",
            "",
            *quote(thread.lines),
        ]
    else:
        plain_lines = [*mine, "", attribution, *quote(thread.lines)]
    message = envelope(
        case,
        thread,
        f"<{stable(case.name) % 10**9}.41823.1795525541234.JavaMail.root"
        "@zimbra61-e11.priv.proxad.net>",
        reply_time(thread),
    )
    message["X-Mailer"] = "Zimbra 8.8.15_GA_4581 (zclient/8.8.15_GA_4581)"
    return body(message, "\n".join(plain_lines) + "\n", None)


def orange(case: Case, thread: Thread) -> EmailMessage:
    """Orange's webmail: "> Message du …" and its quoted header block."""
    at = thread.sent_at
    header = [
        f"Message du {at:%d/%m/%y %H:%M}",
        f'De : "{OUR_NAME}" <{OUR_FROM}>',
        f"A : {STAFF[case.staff].address}",
        "Copie à : ",
        f"Objet : {thread.subject}",
        "",
    ]
    mine = text_with_sig(case)
    plain = "\n".join([*mine, "", *quote([*header, *thread.lines])]) + "\n"
    html_text = (
        f'<html><body>{html_br(mine)}<br><br><blockquote style="border-left: 2px solid blue; '
        f'padding-left: 5px; margin-left: 5px;">{html_br(header)}<br>{html_br(thread.lines)}'
        "</blockquote></body></html>"
    )
    message = envelope(
        case,
        thread,
        f"<{stable(case.name) % 10**9}.11822.1795525541000.JavaMail.www@wwinf1f22>",
        reply_time(thread),
    )
    message["X-Originating-IP"] = "[90.12.34.56]"
    return body(
        message,
        None if case.form == "html" else plain,
        None if case.form == "plain" else html_text,
        charset="iso-8859-1" if case.variant == "latin1" else "utf-8",
    )


def sfr(case: Case, thread: Thread) -> EmailMessage:
    """SFR's webmail: the header block unquoted ("Message du : / De : / A : / Copie à : /
    Sujet :"), then the history."""
    at = thread.sent_at
    header = [
        f"Message du : {at:%d/%m/%Y %H:%M}",
        f'De : "{OUR_NAME}" <{OUR_FROM}>',
        f"A : {STAFF[case.staff].address}",
        "Copie à :",
        f"Sujet : {thread.subject}",
    ]
    mine = text_with_sig(case)
    plain = "\n".join([*mine, "", "", *header, "", *thread.lines]) + "\n"
    message = envelope(
        case, thread, f"<{stable(case.name) % 10**9}@webmail.sfr.fr>", reply_time(thread)
    )
    return body(message, plain, None)


def laposte(case: Case, thread: Thread) -> EmailMessage:
    """La Poste's webmail (Open-Xchange): HTML only; an attribution, a blockquote."""
    at = thread.sent_at
    attribution = f"Le {at:%d/%m/%Y} à {hm(at)}, « {OUR_NAME} » <{OUR_FROM}> a écrit :"
    mine = text_with_sig(case)
    html_text = (
        '<!doctype html><html><head><meta charset="UTF-8"></head><body>'
        f'<div class="default-style">{html_lines(mine, "p")}</div>'
        f'<blockquote type="cite"><div>{html.escape(attribution, quote=False)}</div>'
        f'<div class="ox-quote">{html_br(thread.lines)}</div></blockquote></body></html>'
    )
    message = envelope(
        case,
        thread,
        f"<{stable(case.name) % 10**9}.5213.1795525541@laposte.net>",
        reply_time(thread),
    )
    message["X-Mailer"] = "Open-Xchange Mailer v7.10.6-Rev54"
    return body(message, None, html_text)


def roundcube(case: Case, thread: Thread) -> EmailMessage:
    attribution = roundcube_attribution(case.lang, thread.sent_at)
    mine = text_with_sig(case, own=True)
    if case.layout == "bottom":
        lines = [attribution, "", *quote(thread.lines), "", *mine]
    else:
        lines = [*mine, "", attribution, "", *quote(thread.lines)]
    message = envelope(
        case, thread, f"<{stable(case.name) % 16**24:024x}@mairie-montclar.fr>", reply_time(thread)
    )
    message["User-Agent"] = "Roundcube Webmail/1.6.9"
    if case.form == "html":
        html_text = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />'
            "</head><body style='font-size: 10pt; font-family: Verdana,Geneva,sans-serif'>"
            f"<p>{html_br(case.text.split(chr(10)))}</p>"
            + (
                f'<div id="signature"><div class="pre">-- <br>{html_br(case.sig.split(chr(10)))}'
                "</div></div>"
                if case.sig
                else ""
            )
            + f"<p>{html.escape(attribution, quote=False)}</p>"
            '<blockquote type="cite" style="padding: 0 0.4em; border-left: #1010ff 2px solid; '
            f'margin: 0"><div class="pre" style="margin: 0;">{html_br(thread.lines)}</div>'
            "</blockquote></body></html>"
        )
        return body(message, None, html_text)
    return body(message, flowed(lines) + "\n", None, cte="8bit", flowed_text=True)


def samsung(case: Case, thread: Thread) -> EmailMessage:
    footer, separator, date_key = SAMSUNG[case.lang]
    keys = OUTLOOK_KEYS[case.lang]
    at = thread.sent_at
    header = [
        separator,
        f"{keys[0]}{keys[5]}: {OUR_NAME} <{OUR_FROM}>",
        f"{date_key}{keys[5]}: {at:%d/%m/%Y %H:%M} (GMT+01:00)",
        f"{keys[2]}{keys[5]}: {thread.service_email}",
        f"{keys[4]}{keys[5]}: {thread.subject}",
    ]
    mine = case.text.split("\n")
    plain = "\n".join([*mine, "", "", "", footer, "", *header, "", *thread.lines]) + "\n"
    message = envelope(
        case, thread, f"<{stable(case.name) % 10**10}@email.android.com>", reply_time(thread)
    )
    return body(message, plain, None)


def notes(case: Case, thread: Thread) -> EmailMessage:
    """HCL (Lotus) Notes: the header block with padded keys, the history unquoted."""
    at = thread.sent_at
    header = [
        f"De :        {OUR_NAME} <{OUR_FROM}>",
        f"A :        {thread.service_email}",
        f"Date :        {at:%d/%m/%Y %H:%M}",
        f"Objet :        {thread.subject}",
    ]
    mine = text_with_sig(case)
    plain = "\n".join([*mine, "", "", "", *header, "", "", "", *thread.lines]) + "\n"
    message = envelope(
        case,
        thread,
        f"<OF{stable(case.name):X}.C1258A2B-ONC1258A2B@mairie-montclar.fr>",
        reply_time(thread),
    )
    message["X-Mailer"] = "HCL Notes Release 12.0.2 November 03, 2022"
    return body(message, plain, None, charset="windows-1252")


def groupwise(case: Case, thread: Thread) -> EmailMessage:
    """GroupWise: a ">>> sender date >>>" line, then the history unquoted."""
    at = thread.sent_at
    mine = text_with_sig(case)
    line = f">>> {OUR_NAME} <{OUR_FROM}> {at:%d/%m/%Y %H:%M} >>>"
    plain = "\n".join([*mine, "", line, *thread.lines]) + "\n"
    message = envelope(
        case,
        thread,
        f"<5F3A{stable(case.name) % 10**8:08d}@gw.mairie-montclar.fr>",
        reply_time(thread),
    )
    message["X-Mailer"] = "GroupWise Internet Agent 18.4.1"
    return body(message, plain, None)


def yahoo(case: Case, thread: Thread) -> EmailMessage:
    """Yahoo Mail: an indented attribution, the history unquoted below it."""
    at = thread.sent_at
    weekday = _pick(WEEKDAYS, "fr", at.weekday())
    month = _pick(MONTHS, "fr", at.month - 1)
    attribution = (
        f"Le {weekday} {at.day} {month} {at.year}, {at:%H:%M:%S} UTC+1, {OUR_NAME} "
        f"<{OUR_FROM}> a écrit :"
    )
    mine = text_with_sig(case)
    plain = (
        "\n".join(
            [*mine, "", "", f"    {attribution}  ", " ", *[f" {line}" for line in thread.lines]]
        )
        + "\n"
    )
    message = envelope(
        case,
        thread,
        f"<{stable(case.name)}.{stable(case.name) % 9973}@mail.yahoo.com>",
        reply_time(thread),
    )
    message["X-Mailer"] = "WebService/1.1.21797 YMailNorrin"
    return body(message, plain, None)


CLIENTS = {
    "notes": ("HCL Notes", notes),
    "groupwise": ("GroupWise", groupwise),
    "yahoo": ("Yahoo Mail", yahoo),
    "gmail": ("Gmail", gmail),
    "outlook": ("Outlook desktop", outlook),
    "outlook_web": ("Outlook web", outlook_web),
    "outlook_mobile": ("Outlook mobile", outlook_mobile),
    "iphone": ("Apple Mail iPhone", iphone),
    "apple_mail": ("Apple Mail macOS", apple_mail),
    "thunderbird": ("Thunderbird", thunderbird),
    "zimbra": ("Zimbra", zimbra),
    "free": ("Free webmail", free),
    "orange": ("Orange webmail", orange),
    "sfr": ("SFR webmail", sfr),
    "laposte": ("La Poste webmail", laposte),
    "roundcube": ("Roundcube", roundcube),
    "samsung": ("Samsung Email", samsung),
}


def boundary(case: Case) -> str:
    """A multipart boundary the way the client writes its own, the same at every run."""
    number = stable(case.name)
    if case.client == "gmail":
        return f"000000000000{number % 16**12:012x}"
    if case.client.startswith("outlook"):
        return f"_000_PR3P195MB{number % 10**10:010d}PR3P195MB0851EURP_"
    if case.client in ("iphone", "apple_mail"):
        return f"Apple-Mail-{number % 16**8:08X}-21B4-4E0C-A8D1-7C2F5B9E0A13"
    return f"=_{number % 16**16:016x}"


def write(cases: list[Case], threads: dict[str, Thread], force: bool = False) -> None:
    index = []
    for number, case in enumerate(cases, 1):
        stem = f"{number:03d}-{case.client.replace('_', '-')}-{case.lang}-{case.name}"
        thread = threads[case.thread]
        client_name, build = CLIENTS[case.client]
        message = build(case, thread)
        if message.is_multipart():
            message.set_boundary(boundary(case))
        eml = HERE / f"{stem}.eml"
        expected = HERE / f"{stem}.expected.txt"
        if force or not eml.exists():
            raw = message.as_bytes(policy=SMTP)
            if case.variant.startswith("charset:"):
                raw = mislabel(raw, case.variant.removeprefix("charset:"))
            eml.write_bytes(raw)
            expected.write_text(case.text + "\n", encoding="utf-8")
        form = case.form if case.form != "both" else "plain+html"
        if case.client in (
            "thunderbird",
            "free",
            "sfr",
            "samsung",
            "notes",
            "groupwise",
            "yahoo",
        ) or (case.client == "iphone" and case.form == "plain"):
            form = "plain"
        if case.client == "laposte":
            form = "html"
        entry: dict[str, Any] = {
            "file": eml.name,
            "expected": expected.name,
            "thread": case.thread,
            "client": client_name,
            "language": case.lang,
            "form": form,
            "layout": case.layout,
        }
        if case.variant:
            entry["variant"] = case.variant
        index.append(entry)
    header = (
        "# Staff replies to our notifications, one per file, with the text the parent must "
        "read\n# (*.expected.txt). Written by compose.py; `thread` names the notification "
        "answered\n# (threads.yaml).\n"
    )
    (HERE / "index.yaml").write_text(
        header + yaml.safe_dump(index, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def mislabel(raw: bytes, how: str) -> bytes:
    """A one-part plain text mail whose declared charset (`how`: "declared>actual") is not the
    one its text is written in; sent 8bit."""
    declared, actual = how.split(">")
    original = message_from_bytes(raw, _class=EmailMessage, policy=SMTP)
    assert isinstance(original, EmailMessage) and not original.is_multipart()
    content = original.get_content()
    flowed_param = "; format=flowed" if original.get_param("format") == "flowed" else ""
    message = EmailMessage()
    for name, value in original.items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            message[name] = value
    message["MIME-Version"] = "1.0"
    message["Content-Type"] = f"text/plain; charset={declared}{flowed_param}"
    message["Content-Transfer-Encoding"] = "8bit"
    head = message.as_bytes(policy=SMTP).split(b"\r\n\r\n", 1)[0]
    return (
        head
        + b"\r\n\r\n"
        + content.replace("\r\n", "\n").replace("\n", "\r\n").encode(actual, errors="replace")
    )


if __name__ == "__main__":
    from cases import CASES  # noqa: E402  (the cases, beside this script)

    write(CASES, load_threads(), force="--force" in sys.argv)
