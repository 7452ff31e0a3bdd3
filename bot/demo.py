"""`portail demo`: the real bot against a local fake Telegram, chatted with from the terminal.

No token and no network: the fake Bot API listens on loopback, the demo town
(`examples/demo.yaml`) is loaded into the product's database (`DATABASE_URL`, the one
`portail import` and `portail staff` use), and a fake Telegram user linked to a guardian
(Camille Martin by default, `--email` for another) plays the parent. The bot's messages are
printed with their buttons numbered; typing a short number (one or two digits) taps that
button, anything else is sent as text — a 6-digit code too. A link button prints its URL; a
file the bot sends (an invoice's PDF) is saved under `var/demo-downloads/`, its path printed.

Logs go to a file (`var/demo.log`), never into the chat: an error shows as one short line.

Email too, on loopback: the services' notification emails go to a mail sink of the demo (shown
as 📧, in full with /mails), and the demo's inbound mail server takes the services' answers —
`/repondre TEXTE` answers the latest email as the service would from its mailbox, or any SMTP
client (swaks, smtplib) can, to the `reply+…` address the email gives.

`DemoSession` is the whole demo without a terminal (what the tests drive); `run_terminal` is the
thin loop that reads stdin and prints; `play` runs it for `portail demo`, whose options
`bot.demo_command` registers without importing this module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import smtplib
import sys
import threading
import unicodedata
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default as default_policy
from email.utils import make_msgid
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.smtp import SMTP
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from telegram.warnings import PTBUserWarning

from bot.demo_history import book_last_month
from bot.portal import Portal
from bot.runner import running_bot
from bot.settings import Settings
from dates import warm_up
from fake_telegram import CallbackAnswer, ChatMessage, FakeTelegram, FakeUser
from mail.inbound import InboundMailServer, running_smtp
from store import migrate
from store.actors import NotFound
from store.clock import Clock, system_clock
from store.deadlines import PARIS
from store.importer import ImportFileError, import_file
from store.leases import worker_identity
from store.models import Guardian
from store.runtime import UpdateLedger
from store.staff_notices import reply_senders

logger = logging.getLogger(__name__)

# Package data (`examples/demo.yaml` links to it): the demo runs from an installed wheel too.
DEMO_DATA = Path(__file__).resolve().parent / "demo_town.yaml"
DEFAULT_EMAIL = "camille.martin@exemple.fr"
DEFAULT_LOG = Path("var/demo.log")
# Where the files the bot sends (invoice PDFs) are saved, next to the documents folder.
DOWNLOADS = "demo-downloads"
# The pay button of an invoice, when PAYMENT_URL_TEMPLATE is not set (see .env.example).
DEMO_PAYMENT_URL = (
    "https://www.payfip.gouv.fr/tpi/paiement.web?numcli=000000&exer={year}"
    "&refdet={invoice_number}&montant={amount_cents}"
)
# A typed number this short taps a button; a longer one (a 6-digit code) is sent as text.
MAX_TAP_DIGITS = 2
WIDTH = 80
BOT = "🤖 "
INDENT = "   "
QUIT_COMMANDS = frozenset({"/quit", "/exit", "/q"})
HELP_COMMAND = "/demo"
# What the phone can send besides text and files, to see how the bot answers it.
OTHER_KINDS = {
    "/sticker": "sticker",
    "/vocal": "voice",
    "/position": "location",
    "/contact": "contact",
    "/video": "video",
}
SEND_FILE = "/fichier"
SEND_PHOTO = "/photo"
SHOW_MAILS = "/mails"
REPLY_MAIL = "/repondre"
# The authserv-id of the MTA the demo plays in front of its mail server: a reply sent with
# /repondre is vouched for by it, as a real service's mail is (decisions need it).
DEMO_AUTHSERV_ID = "mx.demo.portail-famille.example"
MAIL = "📧 "
LOOPBACK = "127.0.0.1"
FILE_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
# A keyboard row this long is a grid (the booking calendar): printed compactly, in columns.
GRID_ROW = 4
INTERNAL_ERROR = "⚠ Erreur interne : voir le journal de la démo."
POLL_SECONDS = 0.05
_FRENCH_SPACES = re.compile(r" (?=[:;!?»])")
_UNSAFE_NAME = re.compile(r"[^\w.-]+")

HELP = [
    "Comment jouer :",
    "  • un numéro [n] (1 ou 2 chiffres) touche ce bouton du dernier message qui en a ;",
    "  • un nombre plus long (un code à 6 chiffres) est envoyé tel quel ;",
    "  • un bouton lien (💳 Payer en ligne) affiche son adresse ; un fichier reçu (PDF)",
    "    est enregistré, son chemin affiché ;",
    "  • le reste est envoyé au bot, commandes comprises (/menu, /annuler…) ;",
    "  • /fichier CHEMIN envoie un fichier (PDF, JPG, PNG) ; /photo CHEMIN, une photo ;",
    "  • /sticker, /vocal, /position, /contact, /video envoient ce que le téléphone enverrait ;",
    "  • 📧 : un email reçu par un service ; /mails les montre en entier ;",
    "  • /repondre TEXTE répond au dernier email, comme le service depuis sa messagerie ;",
    "  • Entrée seule réaffiche les derniers boutons ; /demo affiche ce rappel (/aide est",
    "    l'aide du bot) ;",
    "  • /quit ou Ctrl-D pour quitter.",
]


def _read_file(argument: str) -> tuple[Path, bytes]:
    path = Path(argument).expanduser()
    return path, path.read_bytes()


def sqlite_url(path: Path) -> str:
    """The async SQLAlchemy URL of a SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


def demo_database_url(option: str | None, settings: Settings) -> str:
    """The demo's database: `--database` (a URL, or a SQLite file), else `DATABASE_URL` —
    the database `portail import` and `portail staff` use."""
    if not option:
        return settings.database_url
    return option if "://" in option else sqlite_url(Path(option))


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def shown_url(url: str) -> str:
    """A database URL as printed: the file of a SQLite URL, else the URL without password."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "?"


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name the bot gave, safe to write in the downloads folder."""
    cleaned = _UNSAFE_NAME.sub("_", Path(name or "").name).strip("._")
    return cleaned or fallback


class LogNotices(logging.Handler):
    """Errors logged while the demo runs, kept as one short line each for the chat; the log
    file has them in full, tracebacks included."""

    def __init__(self, log_file: Path) -> None:
        super().__init__(logging.ERROR)
        self.log_file = log_file
        self._lines: deque[str] = deque(maxlen=20)

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        summary = record.getMessage().split("\n", 1)[0][:100]
        what = f"{summary} ({error})" if error and error not in summary else summary
        self._lines.append(f"⚠ Erreur interne : {what} — détails dans {self.log_file}")

    def drain(self) -> list[str]:
        """The lines logged since the last call."""
        self.acquire()  # the handler's own lock, as `emit` holds it
        try:
            lines = list(self._lines)
            self._lines.clear()
        finally:
            self.release()
        return lines


def configure_logging(log_file: Path, level: str) -> tuple[LogNotices, Callable[[], None]]:
    """Send every log record to `log_file`, errors also to a `LogNotices` the chat shows.

    The terminal is the chat: nothing is logged to it. Returns the notices and a function
    that puts the previous logging back.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    notices = LogNotices(log_file)
    root.handlers = [to_file, notices]
    root.setLevel(level.upper())
    logging.captureWarnings(True)

    def restore() -> None:
        logging.captureWarnings(False)
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        to_file.close()

    return notices, restore


def demo_clock(today: date) -> Clock:
    """A clock that starts at 09:00 (Paris) on `today` and then runs at the real pace."""
    start = datetime.combine(today, time(9, 0), tzinfo=PARIS)
    offset = start - system_clock()
    return lambda: system_clock() + offset


def display_width(label: str) -> int:
    """Columns a label takes in a terminal (emoji and wide characters count two)."""
    width = 0
    for index, char in enumerate(label):
        if unicodedata.combining(char) or char in "\ufe0f\u200d":
            continue
        wide = unicodedata.east_asian_width(char) in "WF"
        emoji_style = label[index + 1 : index + 2] == "\ufe0f"
        width += 2 if wide or emoji_style else 1
    return width


def _pad(label: str, width: int) -> str:
    return label + " " * max(width - display_width(label), 0)


def numbered_buttons(message: ChatMessage) -> list[list[tuple[int | None, str]]]:
    """The keyboard of `message` row by row, each button with its number (None: not tappable).

    Blank cells and buttons that share their action with others (the calendar's weekday
    letters and month title, which do nothing) are shown but not numbered.
    """
    actions: dict[str, int] = {}
    for row in message.inline_keyboard:
        for button in row:
            action = str(button.get("callback_data", button.get("url", "")))
            actions[action] = actions.get(action, 0) + 1
    rows: list[list[tuple[int | None, str]]] = []
    number = 0
    for row in message.inline_keyboard:
        cells: list[tuple[int | None, str]] = []
        for button in row:
            label = str(button["text"])
            action = str(button.get("callback_data", button.get("url", "")))
            if label.strip() and actions[action] == 1:
                number += 1
                cells.append((number, label))
            else:
                cells.append((None, label))
        rows.append(cells)
    return rows


def format_keyboard(message: ChatMessage) -> list[str]:
    """One line per keyboard row: `[1] 📅 Réserver des jours`; grid rows compact, in columns."""
    rows = numbered_buttons(message)
    grid = [row for row in rows if len(row) >= GRID_ROW]
    cell_width = max(
        (
            display_width(_cell(number, label, compact=True))
            for row in grid
            for number, label in row
        ),
        default=0,
    )
    lines = []
    for row in rows:
        if not any(label.strip() for _, label in row):
            continue  # a week of the calendar with no open day
        if len(row) >= GRID_ROW:
            cells = [_pad(_cell(number, label, compact=True), cell_width) for number, label in row]
            lines.append(INDENT + " ".join(cells).rstrip())
        else:
            lines.append(INDENT + "   ".join(_cell(number, label) for number, label in row))
    return lines


def _cell(number: int | None, label: str, *, compact: bool = False) -> str:
    if number is None:
        return label.strip() if not compact else label
    return f"[{number}]{'' if compact else ' '}{label}"


def wrap(paragraph: str, width: int) -> list[str]:
    """Lines of at most `width` columns, never breaking before « : ; ! ? » or after «."""
    glued = _FRENCH_SPACES.sub("\xa0", paragraph.replace("« ", "«\xa0"))
    lines: list[str] = []
    current = ""
    for word in re.split(r"[ \t]+", glued.strip()):
        if current and display_width(f"{current} {word}") > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return [line.replace("\xa0", " ") for line in lines]


def _picture_suffix(data: bytes) -> str:
    """A photo's file name suffix from its first bytes: PNG or JPEG."""
    return ".png" if data.startswith(b"\x89PNG") else ".jpg"


def format_message(
    message: ChatMessage, *, edited: bool = False, saved: Path | None = None
) -> list[str]:
    """A bot message as printed: a blank line, its text wrapped to 80 columns, its buttons;
    where its file was `saved`, if it has one."""
    body = message.text if message.text is not None else message.caption or ""
    extras = []
    if message.document is not None:
        extras.append(f"[document : {message.document.filename or 'sans nom'}]")
    if message.photo is not None:
        extras.append("[photo]")
    paragraphs = [*body.split("\n"), *extras]
    if edited:
        paragraphs[0] = f"(modifié) {paragraphs[0]}"
    lines = [line for paragraph in paragraphs for line in wrap(paragraph, WIDTH - len(INDENT))]
    printed = ["", BOT + lines[0], *(INDENT + line if line else "" for line in lines[1:])]
    if saved is not None:
        printed.append(f"{INDENT}Enregistré : {saved}")  # not wrapped: a path to copy
    return [*printed, *format_keyboard(message)]


class MailSink:
    """The demo's SMTP relay: keeps the emails the product sends (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def mail_text(message: EmailMessage) -> str:
    """The plain text of an email, with plain line ends."""
    part = message.get_body(("plain",))
    content = part.get_content() if isinstance(part, EmailMessage) else ""
    return str(content).replace("\r\n", "\n")


def mail_files(message: EmailMessage) -> list[str]:
    """The names of an email's attachments."""
    return [part.get_filename() or "sans nom" for part in message.iter_attachments()]


def format_mail_summary(message: EmailMessage, reply_hint: str | None) -> list[str]:
    """An email a service received, in a few lines: to whom, its subject, how to answer."""
    lines = wrap(f"{MAIL}À {message['To']} : {message['Subject']}", WIDTH - len(INDENT))
    printed = ["", lines[0], *(INDENT + line for line in lines[1:])]
    printed += [f"{INDENT}Pièce jointe : {name}" for name in mail_files(message)]
    if reply_hint:
        printed.append(INDENT + reply_hint)
    return printed


def format_mail(number: int, message: EmailMessage) -> list[str]:
    """An email in full: its headers, text and attachments."""
    lines = ["", f"── Email n° {number} " + "─" * 40]
    for header in ("From", "To", "Subject", "Reply-To", "Message-ID", "In-Reply-To", "Date"):
        if message[header]:
            lines.append(f"{header}: {message[header]}")
    lines.append("")
    for paragraph in mail_text(message).rstrip("\n").split("\n"):
        lines += wrap(paragraph, WIDTH) if paragraph else [""]
    lines += [f"[pièce jointe : {name}]" for name in mail_files(message)]
    return lines


def staff_answer(
    notification: EmailMessage, sender: str, text: str, domain: str, authserv_id: str = ""
) -> tuple[str, bytes]:
    """A service's answer to a notification, as a mail client writes it: the new text above
    the quoted email; with `authserv_id`, the MTA's verdict on its sender on top (DMARC pass
    for its domain). Returns the address it goes to and its bytes."""
    to = str(notification["Reply-To"])
    answer = EmailMessage()
    answer["From"] = sender
    answer["To"] = to
    answer["Subject"] = f"RE: {notification['Subject']}"
    answer["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or domain)
    answer["In-Reply-To"] = str(notification["Message-ID"])
    answer["References"] = str(notification["Message-ID"])
    quoted = "\n".join(f"> {line}" for line in mail_text(notification).splitlines())
    answer.set_content(f"{text}\n\nLe service a écrit :\n{quoted}\n")
    raw = answer.as_bytes(policy=SMTP_POLICY)
    if authserv_id:
        sender_domain = sender.rpartition("@")[2] or domain
        verdict = f"Authentication-Results: {authserv_id}; dmarc=pass header.from={sender_domain}"
        raw = verdict.encode() + b"\r\n" + raw
    return to, raw


def _smtp_send(port: int, sender: str, to: str, raw: bytes) -> None:
    with smtplib.SMTP(LOOPBACK, port, timeout=10) as client:
        client.sendmail(sender, [to], raw)


class DemoSession:
    """The demo without a terminal: start it, feed it lines, read what it would print.

    The database at `database_url` must already be migrated (`store.migrate.upgrade`).
    """

    def __init__(
        self,
        database_url: str,
        *,
        documents_dir: Path,
        downloads_dir: Path | None = None,
        notices: LogNotices | None = None,
        data_file: Path = DEMO_DATA,
        email: str = DEFAULT_EMAIL,
        today: date | None = None,
        settings: Settings | None = None,
        reply_timeout: float = 5.0,
        settle: float = 0.4,
        mail_port: int = 0,
        reminders: bool = False,
    ) -> None:
        self.database_url = database_url
        # With `today`, the deadline reminders due that morning are sent after the welcome
        # (Lucas's November Wednesdays booked beforehand, for "Comme le mois dernier").
        self.reminders = reminders
        self.documents_dir = documents_dir
        self.downloads_dir = downloads_dir or documents_dir.parent / DOWNLOADS
        self.notices = notices
        self.data_file = data_file
        self.email = email
        self.today = today
        self.base_settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
        self.reply_timeout = reply_timeout
        self.settle = settle
        self.done = False
        self.server: FakeTelegram | None = None
        self.portal: Portal | None = None
        self._user: FakeUser | None = None
        self._stack = contextlib.AsyncExitStack()
        self._seen: dict[int, int] = {}
        self._deleted: set[int] = set()
        self._saved: dict[tuple[int, int], Path] = {}
        self.mail_port = mail_port
        self.mail_sink = MailSink()
        self.mail_server: InboundMailServer | None = None
        self._mails_shown = 0
        self._reply_senders: dict[str, str] = {}

    @property
    def mails(self) -> list[EmailMessage]:
        """Every email the services received so far (the demo's mail sink)."""
        return self.mail_sink.messages

    @property
    def user(self) -> FakeUser:
        """The fake Telegram user playing the parent (after `start`)."""
        if self._user is None:
            raise RuntimeError("the demo is not started")
        return self._user

    def clock(self) -> Clock:
        """The real clock, or one starting at 09:00 on `today`."""
        return system_clock if self.today is None else demo_clock(self.today)

    async def start(self) -> list[str]:
        """Load the demo town, start the fake Telegram and the bot, link the parent.

        Returns the lines to print: what was loaded, then the bot's welcome and menu.
        Raises `ImportFileError` for a bad data file and `NotFound` for an unknown email.
        """
        try:
            return await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> list[str]:
        self.documents_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.server = await self._stack.enter_async_context(FakeTelegram())
        relay_port = await self._start_mail_sink()
        settings = self.base_settings.model_copy(
            update={
                "database_url": self.database_url,
                "documents_dir": self.documents_dir,
                "telegram_token": self.server.token,
                "telegram_api_url": self.server.url,
                "telegram_bot_username": self.server.bot_username,
                "smtp_host": LOOPBACK,
                "smtp_port": relay_port,
                "smtp_starttls": "never",  # the demo's own mail sink, on loopback
                "smtp_username": "",
                "smtp_password": "",
                "payment_url_template": (
                    self.base_settings.payment_url_template or DEMO_PAYMENT_URL
                ),
                "reminders_enabled": self.reminders,
                "mail_authserv_id": self.base_settings.mail_authserv_id or DEMO_AUTHSERV_ID,
            }
        )
        self.portal = Portal.from_settings(settings, self.clock())
        self._stack.push_async_callback(self.portal.close)
        # The local Bot API numbers its updates from 1 again: those of a former demo on this
        # database must not be taken for them.
        await UpdateLedger(self.portal.sessions, self.clock(), timedelta(0)).forget_all()
        report = await import_file(self.portal.sessions, self.data_file)
        loaded = "chargées" if report.changed else "déjà chargées"
        first_name = await self._guardian_first_name()
        token = await self.portal.linking.create_invite(self.email, timedelta(hours=1))
        warm_up()  # as `portail run` does: typed dates answer at once
        await self._stack.enter_async_context(running_bot(self.portal, poll_timeout=1.0))
        self.mail_server = await self._stack.enter_async_context(
            running_smtp(self.portal, LOOPBACK, self.mail_port)
        )
        self.mail_port = self.mail_server.port
        self._reply_senders = await reply_senders(self.portal.sessions)
        self._user = self.server.add_user(first_name=first_name, language_code="fr")
        lines = [
            f"Données de démo {loaded} ({self.data_file.name}) ; "
            f"date du jour : {self.portal.today():%d/%m/%Y}.",
            *wrap(
                "Emails : ceux que reçoivent les services s'affichent ici (📧, /mails) ; "
                f"le serveur de mail de la démo écoute sur {LOOPBACK}:{self.mail_port} "
                "(réponses des services : /repondre TEXTE, ou swaks, smtplib).",
                WIDTH,
            ),
            "",
            f"{first_name} ouvre son lien d'invitation, ce qui envoie au bot :",
            f"  /start {token}",
        ]
        await self.user.send_command(f"/start {token}")
        lines += await self._collect(
            self.reply_timeout * 2, until=lambda _: self._latest_keyboard()
        )
        if self.reminders and self.today is not None:
            await book_last_month(self.portal, self.today)
            reminded = await self.portal.reminders.tick(worker_identity())
            if reminded.queued:
                # Shown before the first prompt: a reminder landing later would renumber
                # the buttons under the parent's fingers.
                lines += await self._collect(self.reply_timeout * 2)
        return lines

    async def _start_mail_sink(self) -> int:
        """The relay the product sends its emails to, on loopback; returns its port."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(self.mail_sink, hostname="relais.demo"), LOOPBACK, 0
        )

        async def close() -> None:
            server.close()
            await server.wait_closed()

        self._stack.push_async_callback(close)
        return int(server.sockets[0].getsockname()[1])

    async def _guardian_first_name(self) -> str:
        assert self.portal is not None
        async with self.portal.sessions() as session:
            name = await session.scalar(
                select(Guardian.first_name).where(
                    func.lower(Guardian.email) == self.email.strip().lower()
                )
            )
        if name is None:
            raise NotFound(f"no guardian has the email {self.email}")
        return name

    async def handle_line(self, line: str) -> list[str]:
        """Act on one typed line and return what to print (the bot's answers, in order)."""
        lines = self.poll()
        entry = line.strip()
        if entry in QUIT_COMMANDS:
            self.done = True
            return [*lines, "Au revoir !"]
        if entry == HELP_COMMAND:
            return [*lines, *HELP]
        if not entry:
            latest = self._latest_keyboard()
            return [*lines, *(format_message(latest) if latest else [])]
        if entry.isdigit() and len(entry) <= MAX_TAP_DIGITS:
            return [*lines, *await self._tap(int(entry))]
        command, _, argument = entry.partition(" ")
        if command in (SEND_FILE, SEND_PHOTO):
            return [*lines, *await self._send_file(command, argument.strip())]
        if entry in OTHER_KINDS:
            await self.user.send_kind(OTHER_KINDS[entry])
            return [*lines, *await self._collect(self.reply_timeout)]
        if command == SHOW_MAILS:
            return [*lines, *self._all_mails()]
        if command == REPLY_MAIL:
            return [*lines, *await self._answer_mail(argument.strip())]
        if entry.startswith("/"):
            await self.user.send_command(entry)
        else:
            await self.user.send_text(entry)
        return [*lines, *await self._collect(self.reply_timeout)]

    async def _send_file(self, command: str, argument: str) -> list[str]:
        """Send a file from disk, as a document or as a photo straight from the phone."""
        try:
            path, data = await asyncio.to_thread(_read_file, argument)
        except OSError as error:
            return [f"(Impossible de lire {argument or 'ce fichier'} : {error.strerror})"]
        if command == SEND_PHOTO:
            await self.user.send_photo(data)
        else:
            mime = FILE_TYPES.get(path.suffix.lower(), "application/octet-stream")
            await self.user.send_document(data, path.name, mime)
        return [f"📎 {path.name}", *await self._collect(self.reply_timeout)]

    def _all_mails(self) -> list[str]:
        if not self.mails:
            return ["(Aucun email reçu par les services pour l'instant.)"]
        return [
            line for number, mail in enumerate(self.mails, 1) for line in format_mail(number, mail)
        ]

    async def _answer_mail(self, text: str) -> list[str]:
        """Answer the latest email that can be answered, as its service would."""
        answerable = [mail for mail in self.mails if mail["Reply-To"]]
        if not text or not answerable:
            return ["(Usage : /repondre TEXTE, après un 📧 auquel on peut répondre.)"]
        notification = answerable[-1]
        assert self.portal is not None
        sender = self._reply_sender(notification)
        settings = self.portal.settings
        to, raw = staff_answer(
            notification, sender, text, settings.mail_domain, settings.mail_authserv_id
        )
        try:
            await asyncio.to_thread(_smtp_send, self.mail_port, sender, to, raw)
        except (OSError, smtplib.SMTPException) as error:
            return [f"(Le serveur de mail de la démo a refusé la réponse : {error})"]
        lines = wrap(f"✉ {sender} répond par email : « {text} »", WIDTH)
        return [*lines, *await self._collect(self.reply_timeout)]

    def _reply_sender(self, notification: EmailMessage) -> str:
        """Who answers a service's email: a staff member of that service (or its address)."""
        service_email = str(notification["To"]).strip()
        return self._reply_senders.get(service_email.lower(), service_email)

    def _new_mails(self) -> list[str]:
        """The emails received since the last call, in a few lines each."""
        lines: list[str] = []
        for mail in self.mails[self._mails_shown :]:
            hint = None
            if mail["Reply-To"]:
                sender = self._reply_sender(mail)
                hint = (
                    f"Répondre : /repondre TEXTE, ou swaks --server {LOOPBACK}:{self.mail_port}"
                    f" --from {sender} --to {mail['Reply-To']} --body TEXTE"
                )
            lines += format_mail_summary(mail, hint)
        self._mails_shown = len(self.mails)
        return lines

    async def _tap(self, number: int) -> list[str]:
        message = self._latest_keyboard()
        if message is None:
            return ["(Aucun bouton à toucher pour l'instant.)"]
        labels = {n: label for row in numbered_buttons(message) for n, label in row if n}
        if number not in labels:
            return [f"(Pas de bouton n°{number} : choisissez entre 1 et {len(labels)}.)"]
        label = labels[number]
        lines = [f"👆 {label}"]
        button = message.button(label)
        if "callback_data" not in button:
            # A link: Telegram opens it in the browser, the bot hears nothing.
            url = button.get("url")
            return [*lines, f"🔗 {url}" if url else "(Ce bouton ne fait rien dans la démo.)"]
        answer: CallbackAnswer | None = await self.user.tap(
            label, message=message, timeout=self.reply_timeout
        )
        if answer is None:
            lines.append("(Le bot n'a pas répondu à ce bouton.)")
        elif answer.text:
            lines += wrap(("⚠ " if answer.show_alert else "💬 ") + answer.text, WIDTH)
        # A notice alone (a day that cannot be booked) usually comes without a new message.
        wait = self.settle if answer is None or answer.text else self.reply_timeout
        return lines + await self._collect(wait)

    def poll(self) -> list[str]:
        """What the bot sent or edited since the last call, formatted, without waiting."""
        if self._user is None:
            return []
        lines: list[str] = []
        for message in self._user.messages:
            version = len(message.history) + 1
            seen = self._seen.get(message.message_id)
            if message.deleted:
                if seen is not None and message.message_id not in self._deleted:
                    first = (message.text or message.caption or "").split("\n")[0]
                    lines += ["", f"{BOT}(message supprimé) {first[:60]}"]
                self._deleted.add(message.message_id)
            elif seen is None:
                lines += format_message(message, saved=self._save_file(message))
            elif version > seen:
                # An edited picture (another month of the planning) is a new file to look at.
                saved = self._save_file(message, version) if message.photo is not None else None
                lines += format_message(message, edited=True, saved=saved)
            self._seen[message.message_id] = version
        notices = self.notices.drain() if self.notices is not None else []
        return lines + self._new_mails() + [line for notice in notices for line in ["", notice]]

    def _save_file(self, message: ChatMessage, version: int = 0) -> Path | None:
        """Write the file of a bot message (of one version of it) to the downloads folder;
        its path (None if none)."""
        stored = message.document or message.photo
        if not message.from_bot or stored is None:
            return None
        key = (message.message_id, version)
        if key not in self._saved:
            suffix = "" if message.document is not None else _picture_suffix(stored.data)
            edition = f"-{version}" if version else ""
            default = f"fichier-{message.message_id}{edition}{suffix}"
            name = default if version else safe_filename(stored.filename, default)
            self.downloads_dir.mkdir(parents=True, exist_ok=True)
            path = self.downloads_dir / name
            path.write_bytes(stored.data)
            self._saved[key] = path
        return self._saved[key]

    async def wait(self, timeout: float | None = None) -> list[str]:  # noqa: ASYNC109
        """What the bot says within `timeout` seconds (default `reply_timeout`), settled."""
        return await self._collect(self.reply_timeout if timeout is None else timeout)

    async def wait_for(self, text: str, timeout: float) -> list[str]:  # noqa: ASYNC109
        """What the bot says until a line holds `text` (or `timeout` seconds pass), settled.

        Mails and relayed replies arrive from background workers in no fixed order, so a
        caller expecting one of them waits for it rather than for the first output.
        """
        return await self._collect(
            timeout, until=lambda lines: any(text in line for line in lines)
        )

    async def _collect(
        self, first_wait: float, until: Callable[[list[str]], object] | None = None
    ) -> list[str]:
        """Wait up to `first_wait` for output (or for `until(lines)`), then until it is quiet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + first_wait
        lines = self.poll()
        while loop.time() < deadline and (not lines if until is None else not until(lines)):
            await asyncio.sleep(POLL_SECONDS)
            lines += self.poll()
        quiet_since = loop.time()
        while lines and loop.time() - quiet_since < self.settle:
            await asyncio.sleep(POLL_SECONDS)
            more = self.poll()
            if more:
                lines += more
                quiet_since = loop.time()
        return lines

    def _latest_keyboard(self) -> ChatMessage | None:
        if self._user is None:
            return None
        for message in reversed(self._user.messages):
            if not message.deleted and message.inline_keyboard:
                return message
        return None

    async def close(self) -> None:
        """Stop the bot, close the database and the fake Telegram (idempotent)."""
        self.done = True
        await self._stack.aclose()


def intro_lines(
    database: str, today: date | None, email: str = DEFAULT_EMAIL, log_file: Path = DEFAULT_LOG
) -> list[str]:
    """The short explanation printed before the chat starts."""
    when = "horloge réelle" if today is None else f"{today:%d/%m/%Y}, 9 h"
    lines = [
        "Portail Famille — démo locale : le vrai bot, un faux Telegram, aucun réseau.",
        f"Vous jouez un parent de la ville de démo ({email} ; un autre : --email).",
        f"Base : {database} ; date : {when} ; journal : {log_file}.",
    ]
    return [part for line in lines for part in wrap(line, WIDTH)] + HELP


def _start_reader(loop: asyncio.AbstractEventLoop, stream: TextIO) -> asyncio.Queue[str | None]:
    """Read `stream` line by line in a daemon thread (None at end of file)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def read() -> None:
        try:
            for line in stream:
                put(line)
        finally:
            put(None)

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()
    return queue


async def run_terminal(
    session: DemoSession, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> None:
    """The chat loop: print the bot's messages as they come, act on each typed line."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()

    def emit(lines: Sequence[str]) -> None:
        for line in lines:
            stdout.write(line + "\n")
        stdout.flush()

    def prompt() -> None:
        stdout.write("\n> ")
        stdout.flush()

    try:
        emit(await session.start())
        queue = _start_reader(asyncio.get_running_loop(), stdin)
        while not session.done:
            prompt()
            while True:
                try:
                    async with asyncio.timeout(0.25):
                        line = await queue.get()
                    break
                except TimeoutError:
                    spontaneous = session.poll()  # e.g. a waitlist place freed
                    if spontaneous:
                        emit(["", *spontaneous])
                        prompt()
            if line is None:
                emit(["", "Au revoir !"])
                break
            if not interactive:
                emit([line.rstrip("\n")])  # show the piped line after the prompt
            try:
                emit(await session.handle_line(line))
            except Exception:
                # Into the log file, with its traceback; the chat gets one short line.
                logger.exception("the demo could not act on a typed line")
                fallback = [] if session.notices is not None else [INTERNAL_ERROR]
                emit([*session.poll(), *fallback])
    finally:
        await session.close()


async def run_demo(
    settings: Settings,
    url: str,
    *,
    today: date | None = None,
    reminders: bool = False,
    email: str = DEFAULT_EMAIL,
    data_file: Path = DEMO_DATA,
    notices: LogNotices | None = None,
    log_file: Path = DEFAULT_LOG,
) -> int:
    """Run the terminal demo on a migrated database until /quit or end of input."""
    session = DemoSession(
        url,
        documents_dir=settings.documents_dir,
        notices=notices,
        data_file=data_file,
        email=email,
        today=today,
        settings=settings,
        reminders=reminders,
    )
    for line in intro_lines(shown_url(url), today, email, log_file):
        print(line, flush=True)
    try:
        await run_terminal(session)
    except ImportFileError as error:
        print(f"{data_file} was not imported, nothing changed:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except NotFound:
        print(f"No guardian has the email {email} in {data_file.name}.", file=sys.stderr)
        return 2
    except Exception as error:
        logger.exception("the demo stopped")
        print(f"\nLa démo s'est arrêtée ({type(error).__name__}) : voir {log_file}.")
        return 1
    return 0


def play(settings: Settings, args: argparse.Namespace) -> int:
    """`portail demo` (options: `bot.demo_command`): migrate the database, then chat with the
    bot in the terminal."""
    url = demo_database_url(args.database, settings)
    if args.reset:
        database = sqlite_file(url)
        if database is None:
            print(f"--reset only empties a SQLite file, not {shown_url(url)}.", file=sys.stderr)
            return 2
        for suffix in ("", "-wal", "-shm", "-journal"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
    log_file = Path(args.log or DEFAULT_LOG)
    notices, restore_logging = configure_logging(log_file, settings.log_level)
    # httpx logs every request URL (with the token); the others, a few lines per update or PDF.
    for noisy in ("httpx", "apscheduler", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)
    try:
        migrate.upgrade(url)
        return asyncio.run(
            run_demo(
                settings,
                url,
                today=args.today,
                reminders=args.today is not None,
                email=args.email or DEFAULT_EMAIL,
                data_file=Path(args.data or DEMO_DATA),
                notices=notices,
                log_file=log_file,
            )
        )
    except KeyboardInterrupt:
        print("\nAu revoir !", flush=True)
        return 130
    except Exception as error:
        logger.exception("the demo could not start")
        print(f"La démo n'a pas pu démarrer ({type(error).__name__}) : voir {log_file}.")
        return 1
    finally:
        restore_logging()
