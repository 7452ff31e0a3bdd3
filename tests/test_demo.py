"""`portail demo`: a newcomer chats with the real bot through the terminal demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import smtplib
import subprocess
import sys
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import select

from bot.demo import (
    DemoSession,
    demo_database_url,
    format_keyboard,
    numbered_buttons,
    shown_url,
)
from bot.demo_command import add_demo_command, cmd_demo
from bot.settings import Settings
from fake_telegram import ChatMessage
from store.models import Booking
from store.models.enums import BookingState
from tests.conftest import DEMO_TODAY as TODAY
from tests.family_file_helpers import tiny_pdf

ROOT = Path(__file__).resolve().parent.parent

ACTIVITY = "CL Élémentaire Mercredis – Journée avec repas"
BUTTON = re.compile(r"\[(\d+)\] ?(.+?)(?=\s+\[\d+\]|\s{2,}|$)")


def number_of(lines: list[str], label: str, *, prefix: bool = False) -> str:
    """The number printed before the button `label` (the latest one printed)."""
    for line in reversed(lines):
        for number, shown in BUTTON.findall(line):
            shown = shown.strip()
            if shown == label or (prefix and shown.startswith(label)):
                return number
    raise AssertionError(f"no button {label!r} in:\n" + "\n".join(lines))


async def test_a_newcomer_books_a_day_then_cancels_it(demo: DemoSession) -> None:
    screen = await demo.start()
    joined = "\n".join(screen)
    assert "Bonjour Camille" in joined
    assert "Que souhaitez-vous faire ?" in joined
    assert any(line.startswith("   [1] 📅 Réserver des jours") for line in screen)

    screen = await demo.handle_line(number_of(screen, "📅 Réserver des jours"))
    assert screen[0] == "👆 📅 Réserver des jours"
    # Famille Martin has one child, Lucas: the bot goes straight to his activities.
    assert any(line.startswith("🤖 (modifié) Quelle activité") for line in screen)
    screen = await demo.handle_line(number_of(screen, ACTIVITY))
    assert "novembre 2026" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "▶"))
    assert "décembre 2026" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "2"))
    screen = await demo.handle_line(number_of(screen, "Valider (1)"))
    assert any("Lucas" in line and "4,80 €" in line for line in screen)
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    assert "réservé" in "\n".join(screen)

    screen = await demo.handle_line(number_of(screen, "☰ Menu"))
    screen = await demo.handle_line(number_of(screen, "🗑 Annuler des jours"))
    screen = await demo.handle_line(number_of(screen, "mer. 2 déc. · Lucas", prefix=True))
    screen = await demo.handle_line(number_of(screen, "Valider (1)"))
    assert "annulation gratuite" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    assert "annulé" in "\n".join(screen)

    assert demo.portal is not None
    async with demo.portal.sessions() as session:
        [booking] = await session.scalars(select(Booking))
    assert (booking.day, booking.state) == (date(2026, 12, 2), BookingState.CANCELLED)

    assert await demo.handle_line("/quit") == ["Au revoir !"]
    assert demo.done


async def test_typed_lines_that_are_not_taps(demo: DemoSession) -> None:
    await demo.start()
    assert (await demo.handle_line("42"))[0].startswith("(Pas de bouton n°42")
    assert any("/quit" in line for line in await demo.handle_line("/demo"))
    again = await demo.handle_line("")
    assert any(line.startswith("   [1] 📅 Réserver des jours") for line in again)
    answer = await demo.handle_line("bonjour")
    assert any("Que souhaitez-vous faire ?" in line for line in answer)


def test_calendar_keyboards_print_one_compact_line_per_row() -> None:
    def button(label: str, data: str) -> dict[str, str]:
        return {"text": label, "callback_data": data}

    noop = "bk:noop"
    message = ChatMessage(
        message_id=1,
        chat_id=1,
        from_bot=True,
        date=0,
        text="Calendrier",
        reply_markup={
            "inline_keyboard": [
                [button(letter, noop) for letter in "LMMJVSD"],
                [button(" ", noop)] * 7,
                [button(" ", noop), button(" ", noop), button("2", "d:2"), button("⛔3", "d:3")]
                + [button(" ", noop)] * 3,
                [button("◀", "m:11"), button("décembre 2026", noop), button("▶", "m:01")],
                [button("Valider (0)", "review"), button("✖ Abandonner", "abort")],
            ]
        },
    )
    numbers = [n for row in numbered_buttons(message) for n, _ in row if n]
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert format_keyboard(message) == [
        "   L      M      M      J      V      S      D",
        "                 [1]2   [2]⛔3",
        "   [3] ◀   décembre 2026   [4] ▶",
        "   [5] Valider (0)   [6] ✖ Abandonner",
    ]


def test_the_demo_subcommand_and_its_options() -> None:
    parser = argparse.ArgumentParser(prog="portail")
    add_demo_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["demo", "--today", "2026-11-24", "--email", "julie.bernard@exemple.fr"]
    )
    assert args.handler is cmd_demo
    assert (args.today, args.email, args.reset) == (TODAY, "julie.bernard@exemple.fr", False)
    # By default the demo plays on DATABASE_URL, the database `portail import` loads.
    url = "postgresql+asyncpg://u:secret@db/p"
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    assert demo_database_url(parser.parse_args(["demo"]).database, settings) == url
    assert demo_database_url("x.sqlite3", settings) == "sqlite+aiosqlite:///x.sqlite3"
    assert shown_url(settings.database_url) == "postgresql+asyncpg://u:***@db/p"


def _environment() -> dict[str, str]:
    """The environment of a `portail` subprocess run in a test's folder: the default settings
    (paths under that folder's var/, no .env there)."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "DOCUMENTS_DIR", "TELEGRAM_TOKEN", "PAYMENT_URL_TEMPLATE"):
        environment.pop(name, None)
    return environment


def test_make_run_imports_into_the_database_the_demo_plays_on(tmp_path: Path) -> None:
    """`make run` does `portail import examples/demo.yaml` then `portail demo`: one database."""
    environment = _environment()
    for command in (["db", "upgrade"], ["import", str(ROOT / "examples" / "demo.yaml")]):
        step = subprocess.run(
            [sys.executable, "-m", "bot.cli", *command],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=environment,
        )
        assert step.returncode == 0, step.stderr
    result = subprocess.run(
        [sys.executable, "-m", "bot.demo_command", "--today", "2026-11-24"],
        # The welcome ends on the day's deadline reminder: /menu brings the menu back.
        input="/menu\n1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Base : var/portail.sqlite3" in out
    assert "Données de démo déjà chargées" in out  # loaded by `portail import` above
    assert "[1] 📅 Réserver des jours" in out
    assert out.index("Que souhaitez-vous faire ?") < out.index("Quelle activité ?")
    assert out.rstrip().endswith("Au revoir !")
    assert "Traceback" not in result.stderr + out
    assert sorted(path.name for path in (tmp_path / "var").glob("*.sqlite3")) == [
        "portail.sqlite3"
    ]
    assert (tmp_path / "var" / "documents").is_dir() and (tmp_path / "var" / "demo.log").exists()


async def test_a_six_digit_code_is_typed_as_text_and_links_by_email(demo: DemoSession) -> None:
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "🔌 Délier ce compte"))
    screen = await demo.handle_line(number_of(screen, "Oui, délier"))
    screen = await demo.handle_line("/start")
    screen = await demo.handle_line(number_of(screen, "✉️ Relier avec mon adresse e-mail"))
    screen = await demo.handle_line("camille.martin@exemple.fr")
    assert "Si cette adresse est connue" in "\n".join(screen)
    screen += await demo.wait_for("📧 ", 10)  # the code mail, sent through the outbox
    assert "📧 À camille.martin@exemple.fr : Votre code Portail Famille" in "\n".join(screen)
    [mail] = demo.mails
    code = re.search(r"\b(\d{6})\b", str(mail["Subject"])).group(1)

    screen = await demo.handle_line(code)
    assert not any("Pas de bouton" in line for line in screen)
    assert "relié" in "\n".join(screen)
    assert demo.user.sent_messages[-1].text == code


async def test_the_pay_button_prints_its_link_and_the_pdf_is_saved(demo: DemoSession) -> None:
    await demo.start()
    screen = await demo.handle_line("/solde")
    invoice = await demo.handle_line(number_of(screen, "FAC-2026-10-001", prefix=True))
    screen = await demo.handle_line(number_of(invoice, "💳 Payer en ligne"))
    assert screen[0] == "👆 💳 Payer en ligne"
    assert screen[1].startswith("🔗 https://") and "refdet=FAC-2026-10-001" in screen[1]

    screen = await demo.handle_line(number_of(invoice, "📄 PDF"))
    [saved] = [line for line in screen if "Enregistré : " in line]
    path = Path(saved.split("Enregistré : ", 1)[1])
    assert path.name == "facture-FAC-2026-10-001.pdf"
    assert (await asyncio.to_thread(path.read_bytes)).startswith(b"%PDF")
    assert path.parent == demo.downloads_dir


BROKEN_DEMO = """
import sys

import bot.demo
import bot.demo_command
import store.billing


async def overview(*args, **kwargs):
    raise RuntimeError("the billing database is on fire")


def mails(self):
    raise KeyError("no mail box")


store.billing.BillingService.overview = overview
bot.demo.DemoSession._all_mails = mails
sys.exit(bot.demo_command.main(sys.argv[1:]))
"""


def test_no_traceback_reaches_the_chat_the_log_file_has_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", BROKEN_DEMO, "--today", "2026-11-24"],
        input="/solde\n/mails\n/menu\n1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=_environment(),
    )
    assert result.returncode == 0, result.stderr
    chat = result.stdout + result.stderr
    assert "Traceback" not in chat and "on fire" not in chat
    assert "⚠ Erreur interne : update failed: RuntimeError — détails dans var/demo.log" in chat
    assert "détails dans var/demo.log" in chat.split("> /mails", 1)[1]
    assert "👆 📅 Réserver des jours" in chat  # the demo goes on
    assert chat.rstrip().endswith("Au revoir !")
    log = (tmp_path / "var" / "demo.log").read_text("utf-8")
    assert "Traceback" in log
    assert "RuntimeError: the billing database is on fire" in log
    assert "KeyError: 'no mail box'" in log


async def test_an_absence_with_a_certificate_the_balance_and_a_staff_reply(
    demo: DemoSession, tmp_path: Path, database_url: str
) -> None:
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "🤒 Signaler une absence"))
    screen = await demo.handle_line("mercredi 2 décembre")
    screen = await demo.handle_line(number_of(screen, "🤒 Maladie"))
    certificate = tmp_path / "certificat.pdf"
    certificate.write_bytes(tiny_pdf())
    screen = await demo.handle_line(f"/fichier {certificate}")
    assert screen[0] == "📎 certificat.pdf"
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    assert "ABS-" in "\n".join(screen)

    screen = await demo.handle_line("/solde")
    assert "FAC-2026-10-001" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "FAC-2026-10-001", prefix=True))
    assert "Restauration scolaire" in "\n".join(screen)

    screen = await demo.handle_line("/message")
    screen = await demo.handle_line(number_of(screen, "Centres de loisirs"))
    screen = await demo.handle_line("Bonjour, Lucas peut-il venir avec son vélo ?")
    screen = await demo.handle_line(number_of(screen, "📨 Envoyer", prefix=True))
    assert "envoyé" in "\n".join(screen)

    from bot.cli import build_parser
    from store.models import Thread

    async with demo.portal.sessions() as session:
        thread_id = await session.scalar(select(Thread.id))
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    args = build_parser().parse_args(
        [
            "staff",
            "reply",
            str(thread_id),
            "Oui, avec un casque.",
            "--as",
            "j.roux@montclar.example",
        ]
    )
    assert await asyncio.to_thread(args.handler, settings, args) == 0
    screen = await demo.wait_for("Oui, avec un casque.", 10)
    assert "Oui, avec un casque." in "\n".join(screen)


def _send_as_staff(port: int, notification: EmailMessage, text: str) -> None:
    """A staff member answers the notification from their mail client (as swaks would)."""
    answer = EmailMessage()
    answer["From"] = "Julien Roux <j.roux@montclar.example>"
    answer["To"] = notification["Reply-To"]
    answer["Subject"] = "RE: " + notification["Subject"]
    answer["Message-ID"] = make_msgid(domain="montclar.example")
    answer["In-Reply-To"] = notification["Message-ID"]
    answer.set_content(
        f"{text}\n\nJulien\n\nLe mar. 24 nov. 2026 à 10:00, Portail Famille a écrit :\n"
        "> Bonjour, Lucas peut-il venir avec son vélo ?\n"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(
            "j.roux@montclar.example",
            [notification["Reply-To"]],
            answer.as_bytes(policy=SMTP_POLICY),
        )


async def test_a_message_emails_the_service_and_its_email_answer_reaches_the_chat(
    demo: DemoSession,
) -> None:
    screen = await demo.start()
    assert f"127.0.0.1:{demo.mail_port}" in "\n".join(screen)
    screen = await demo.handle_line("/message")
    screen = await demo.handle_line(number_of(screen, "Centres de loisirs"))
    screen = await demo.handle_line("Bonjour, Lucas peut-il venir avec son vélo ?")
    screen = await demo.handle_line(number_of(screen, "📨 Envoyer", prefix=True))
    screen += await demo.wait_for("📧 ", 10)
    shown = "\n".join(screen)
    assert "📧 À centres-loisirs@montclar.example : [Portail Famille] Famille Martin" in shown
    [mail] = demo.mails
    assert mail["To"] == "centres-loisirs@montclar.example"
    assert f"--from j.roux@montclar.example --to {mail['Reply-To']}" in shown

    await asyncio.to_thread(_send_as_staff, demo.mail_port, mail, "Oui, avec un casque.")
    screen = await demo.wait_for("Oui, avec un casque.", 10)
    assert "Oui, avec un casque." in "\n".join(screen)
    assert "a écrit" not in "\n".join(screen)

    screen = await demo.handle_line("/repondre Et une gourde, merci.")
    assert screen[0].startswith("✉ j.roux@montclar.example répond par email")
    assert "Et une gourde, merci." in "\n".join(screen[1:])
    screen = await demo.handle_line("/mails")
    assert "── Email n° 1" in screen[1] and f"Reply-To: {mail['Reply-To']}" in screen
